/* fuzz-mail-text - libFuzzer harness for the SEARCH text reader
 * (mail/mail-text.h): a message (after a byte choosing the piece size)
 * parsed by the MIME parser, then read whole and in pieces: the same
 * fields and text, every range asked for inside the message, in order;
 * and the header-only reader (no structure) gives the same top fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mail/mail-mime.h"
#include "mail/mail-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_field(void *ctx, bool top, const char *name, size_t name_len, const char *value,
		       size_t value_len)
{
	struct buf *b = ctx;

	buf_append(b, top ? "T" : "I", 1);
	buf_append(b, name, name_len);
	buf_append(b, ":", 1);
	buf_append(b, value, value_len);
	buf_append(b, "\n", 1);
}

static void fuzz_body(void *ctx, const char *text, size_t len)
{
	buf_append(ctx, text, len);
}

static void fuzz_part_end(void *ctx)
{
	buf_append(ctx, "|", 1);
}

static const struct mail_text_sink fuzz_sink = { fuzz_field, fuzz_body, fuzz_part_end };

static void fuzz_read(const struct mail_structure *st, const uint8_t *msg, size_t len,
		      size_t step, struct buf *out)
{
	struct mail_text *t = mail_text_new(st, &fuzz_sink, out);
	uint64_t off, want, last = 0;

	while (mail_text_want(t, &off, &want)) {
		size_t n = want < step ? (size_t)want : step;

		if (st == NULL) {
			/* header-only: everything from where it is */
			if (off != last)
				abort();
			if (n > len - off)
				n = len - (size_t)off;
			if (n == 0)
				break;
		} else if (off < last || off + want > len || want == 0) {
			abort();
		}
		mail_text_push(t, msg + off, n);
		last = off + n;
	}
	mail_text_end(t);
	mail_text_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_mime_parser *p;
	struct mail_structure *st;
	struct buf a, b;
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 13 + 1;
	p = mail_mime_parser_new();
	mail_mime_parser_push(p, data + 1, size - 1);
	st = mail_mime_parser_finish(&p);
	buf_init(&a, 0);
	buf_init(&b, 0);
	fuzz_read(st, data + 1, size - 1, SIZE_MAX, &a);
	fuzz_read(st, data + 1, size - 1, step, &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	/* The top header alone: the first lines of the full reading. */
	buf_reset(&b);
	fuzz_read(NULL, data + 1, size - 1, step, &b);
	if (b.len > a.len || (b.len > 0 && memcmp(a.data, b.data, b.len) != 0))
		abort();
	buf_release(&a);
	buf_release(&b);
	mail_structure_free(&st);
	return 0;
}
