/* fuzz-smtp-client-data - libFuzzer harness for the outgoing message
 * encoder: any bytes, encoded in pieces whose size the first byte picks,
 * must read back through tern's strict DATA reader (smtp-data.h) without
 * an error, end exactly at the end of what was encoded, and give the
 * message with its line ends made CRLF; the BDAT encoding must hold no
 * bare CR or LF. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-client-data.h"
#include "smtp/smtp-data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_collect {
	char *buf;
	size_t len;
};

static void fuzz_out(void *ctx, uint64_t offset, const char *data, size_t len)
{
	struct fuzz_collect *c = ctx;

	if (offset != c->len)
		__builtin_trap();
	memcpy(c->buf + c->len, data, len);
	c->len += len;
}

static size_t fuzz_encode(bool dot, const char *in, size_t len, size_t step, char *out)
{
	struct smtp_client_data d;
	size_t n = 0;

	smtp_client_data_init(&d, dot);
	for (size_t off = 0; off < len;) {
		size_t piece = step > len - off ? len - off : step;
		size_t w = smtp_client_data_encode(&d, in + off, piece, out + n);

		if (w > SMTP_CLIENT_DATA_OUT_MAX(piece))
			__builtin_trap();
		n += w;
		off += piece;
	}
	n += smtp_client_data_end(&d, out + n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len = size > 0 ? size - 1 : 0, step = size > 0 ? (size_t)data[0] % 13 + 1 : 1;
	char *wire = malloc(SMTP_CLIENT_DATA_OUT_MAX(len) + SMTP_CLIENT_DATA_END_MAX);
	struct fuzz_collect c = { .buf = malloc(2 * len + 2) };
	struct smtp_data reader;
	size_t n, used = 0, crlf = 0, j = 0;
	enum smtp_data_status st;

	if (wire == NULL || c.buf == NULL)
		abort();
	n = fuzz_encode(true, in, len, step, wire);
	smtp_data_init(&reader, SMTP_DATA_MODE_DOT, UINT64_MAX, fuzz_out, &c);
	st = smtp_data_feed(&reader, wire, n, &used);
	if (st != SMTP_DATA_END || used != n || smtp_data_error(&reader) != SMTP_DATA_ERROR_NONE)
		__builtin_trap();
	/* what came back: the input's non-line-end bytes in order, CRLFs between */
	for (size_t i = 0; i < c.len; i++) {
		if (c.buf[i] == '\r' || c.buf[i] == '\n') {
			crlf++;
			continue;
		}
		while (j < len && (in[j] == '\r' || in[j] == '\n'))
			j++;
		if (j >= len || in[j] != c.buf[i])
			__builtin_trap();
		j++;
	}
	while (j < len && (in[j] == '\r' || in[j] == '\n'))
		j++;
	if (j != len || crlf % 2 != 0 || (c.len > 0 && (c.len < 2 || c.buf[c.len - 1] != '\n')))
		__builtin_trap();
	/* BDAT: no bare CR or LF */
	n = fuzz_encode(false, in, len, step, wire);
	for (size_t i = 0; i < n; i++)
		if ((wire[i] == '\r' && (i + 1 >= n || wire[i + 1] != '\n')) ||
		    (wire[i] == '\n' && (i == 0 || wire[i - 1] != '\r')))
			__builtin_trap();
	free(wire);
	free(c.buf);
	return 0;
}
