/* fuzz-smtp-reply - libFuzzer harness for the SMTP client's reply parser:
 * the input is a stream of replies, parsed one after the other, once
 * whole and once in pieces whose sizes the first byte picks; both must
 * give the same replies, and every reply must be bounded and consistent
 * (code 200-559, an enhanced code of the code's class, printable text of
 * the length it says); each is also read as an EHLO reply, which offers
 * nothing unless it is a 250 and only known mechanisms. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-client-ehlo.h"
#include "smtp/smtp-client-reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(const struct smtp_client_reply *r)
{
	if (r->code < 200 || r->code > 559 || r->lines == 0 || r->lines > SMTP_CLIENT_REPLY_LINES_MAX ||
	    r->text_len > SMTP_CLIENT_REPLY_TEXT_MAX || strlen(r->text) != r->text_len)
		__builtin_trap();
	if (r->enhanced[0] != '\0' && r->enhanced[0] != (char)('0' + r->code / 100))
		__builtin_trap();
	for (size_t i = 0; i < r->text_len; i++)
		if ((r->text[i] < 32 || r->text[i] > 126) && r->text[i] != '\t' && r->text[i] != '\n')
			__builtin_trap();
	{
		struct smtp_client_ehlo ehlo;

		smtp_client_ehlo_parse(r, &ehlo);
		if ((r->code != 250 && ehlo.exts != 0) || ehlo.exts >= 1u << SMTP_CLIENT_EXT__COUNT ||
		    ehlo.auth >= 1u << SMTP_AUTH__COUNT ||
		    (ehlo.auth != 0 && !smtp_client_ehlo_has(&ehlo, SMTP_CLIENT_EXT_AUTH)))
			__builtin_trap();
	}
}

/* Parse every reply of in[0..len) in pieces of `step` bytes (0: whole);
 * the codes go to codes[], their count is returned. */
static size_t fuzz_run(struct smtp_client_reply_parser *p, const char *in, size_t len, size_t step,
		       unsigned *codes, size_t max, bool *error_r)
{
	size_t off = 0, n = 0;

	*error_r = false;
	smtp_client_reply_init(p);
	while (off < len && n < max) {
		size_t piece = step == 0 || step > len - off ? len - off : step, used;
		enum smtp_client_reply_result r = smtp_client_reply_feed(p, in + off, piece, &used);

		if (used > piece)
			__builtin_trap();
		if (r == SMTP_CLIENT_REPLY_ERROR) {
			*error_r = true;
			break;
		}
		off += used;
		if (r == SMTP_CLIENT_REPLY_DONE) {
			fuzz_check(smtp_client_reply_get(p));
			codes[n++] = smtp_client_reply_get(p)->code;
			smtp_client_reply_init(p);
		} else if (used != piece) {
			__builtin_trap();
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_client_reply_parser p;
	unsigned a[64], b[64];
	size_t na, nb;
	bool ea, eb;

	if (size < 1)
		return 0;
	na = fuzz_run(&p, (const char *)data + 1, size - 1, 0, a, 64, &ea);
	nb = fuzz_run(&p, (const char *)data + 1, size - 1, (size_t)data[0] % 17 + 1, b, 64, &eb);
	if (na != nb || ea != eb || memcmp(a, b, na * sizeof(a[0])) != 0)
		__builtin_trap();
	return 0;
}
