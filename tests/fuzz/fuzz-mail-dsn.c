/* fuzz-mail-dsn - libFuzzer harness for the DSN writer (mail/mail-dsn.h):
 * the fields it copies come from the envelope and from remote servers'
 * replies, and the original from anyone. The input is cut into the
 * values and the message; whatever they hold, the report's lines end in
 * CRLF, none passes 998 octets outside the returned message, and the
 * report ends with its closing boundary. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FIELDS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *fields[FUZZ_FIELDS];
	const uint8_t *p = data, *end = data + size;
	struct mail_dsn_rcpt r;
	struct mail_dsn d;
	size_t len, body;
	char *out;
	const char *ret_start;

	if (size < 2)
		return 0;
	/* NUL-separated values first, then the original */
	for (size_t i = 0; i < FUZZ_FIELDS; i++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

		fields[i] = malloc(n + 1);
		if (fields[i] == NULL)
			abort();
		memcpy(fields[i], p, n);
		fields[i][n] = '\0';
		p = nul != NULL ? nul + 1 : end;
	}
	r = (struct mail_dsn_rcpt){
		.address = fields[0][0] != '\0' ? fields[0] : "x@y",
		.orcpt = fields[1],
		.action = (enum mail_dsn_action)(data[0] % MAIL_DSN__COUNT),
		.status = fields[2],
		.remote_mta = fields[3],
		.diagnostic_type = "smtp",
		.diagnostic = fields[4],
		.last_attempt = 1764590400,
		.will_retry_until = 1765022400,
	};
	d = (struct mail_dsn){
		.reporting_mta = "mx.example.org",
		.to = fields[5][0] != '\0' ? fields[5] : "a@b",
		.envid = fields[1],
		.arrival = 1764590400,
		.now = 1764590460,
		.token = "FUZZ",
		.utf8 = (data[1] & 1) != 0,
		.rcpts = &r,
		.n_rcpts = 1,
		.ret = (data[1] & 2) != 0 ? MAIL_DSN_RETURN_FULL : MAIL_DSN_RETURN_HEADERS,
		.message = (const char *)p,
		.message_len = (size_t)(end - p),
	};
	out = mail_dsn_write(&d, &len);
	if (out == NULL)
		__builtin_trap();
	/* the lines the writer makes, up to the returned part */
	/* the first of the two part headers is the writer's (the original
	 * may hold either after it) */
	{
		const char *h = strstr(out, "\r\n--FUZZ/mx.example.org\r\nContent-Description: Message Headers");
		const char *u = strstr(out, "\r\n--FUZZ/mx.example.org\r\nContent-Description: Undelivered");

		ret_start = h == NULL || (u != NULL && u < h) ? u : h;
	}
	body = ret_start != NULL ? (size_t)(ret_start - out) : len;
	for (size_t i = 0, start = 0; i < body; i++) {
		if ((out[i] == '\n') != (i > 0 && out[i - 1] == '\r' && out[i] == '\n'))
			__builtin_trap();
		if (out[i] == '\r' && (i + 1 >= len || out[i + 1] != '\n'))
			__builtin_trap();
		if (out[i] == '\n') {
			if (i - start > 999)
				__builtin_trap();
			start = i + 1;
		}
	}
	static const char closing[] = "\r\n--FUZZ/mx.example.org--\r\n";
	if (len < sizeof(closing) - 1 ||
	    memcmp(out + len - (sizeof(closing) - 1), closing, sizeof(closing) - 1) != 0)
		__builtin_trap();
	free(out);
	for (size_t i = 0; i < FUZZ_FIELDS; i++)
		free(fields[i]);
	return 0;
}
