/* fuzz-mail-header - libFuzzer harness for the RFC 5322 header reader
 * (mail/mail-header.h). Input: a byte for the header bound, a byte for the
 * field bound, 8 bytes of chunk sizes, then the message. The message is
 * read whole, one byte at a time and in the given chunks: the transcripts
 * must be equal, and tests/unit/mail-header-run.h checks each against the
 * input. The counter (fed in the same chunks), the finder and unfolding
 * must agree with what the parser reported. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/mail-header-run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SIZES 8

/* Unfold every field's value in place and into a copy: the same result,
 * never longer, every removed byte a line end. */
static void fuzz_unfold(const struct mail_header_field *f)
{
	char *a = malloc(f->value_len + 1), *b = malloc(f->value_len + 1);
	size_t na, nb, i, removed = 0;

	if (a == NULL || b == NULL)
		abort();
	memcpy(b, f->value, f->value_len);
	na = mail_header_unfold(f->value, f->value_len, a);
	nb = mail_header_unfold(b, f->value_len, b);
	if (na != nb || na > f->value_len || memcmp(a, b, na) != 0)
		abort();
	for (i = 0; i < f->value_len; i++)
		removed += f->value[i] == '\n' || f->value[i] == '\r';
	for (i = 0; i < na; i++)
		removed -= a[i] == '\n' || a[i] == '\r';
	if (removed != f->value_len - na)
		abort();
	free(a);
	free(b);
}

static void fuzz_helpers(const char *text, size_t len, const struct mail_header_limits *limits,
			 const size_t *sizes)
{
	struct mail_header_parser p;
	struct mail_header_counter c;
	struct mail_header_field f, first;
	enum mail_header_result r, end;
	unsigned received = 0;
	bool have_from = false, more = true;
	size_t off = 0, i = 0;

	memset(&first, 0, sizeof(first));
	mail_header_parser_init(&p, limits);
	mail_header_parser_push(&p, text, len);
	mail_header_parser_finish(&p);
	while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED) {
		fuzz_unfold(&f);
		if (r != MAIL_HEADER_FIELD)
			continue;
		received += mail_header_name_equals(f.name, f.name_len, "Received");
		if (!have_from && mail_header_name_equals(f.name, f.name_len, "from")) {
			first = f;
			have_from = true;
		}
	}
	mail_header_parser_deinit(&p);

	mail_header_counter_init(&c, limits, "received");
	while (more && off < len) {
		size_t n = sizes[i++ % FUZZ_SIZES] + 1;

		if (n > len - off)
			n = len - off;
		more = mail_header_counter_push(&c, text + off, n);
		off += n;
	}
	end = mail_header_counter_finish(&c);
	if (c.count != received || end != r)
		abort();
	mail_header_counter_deinit(&c);

	if (mail_header_find(text, len, limits, "FROM", &f) != have_from)
		abort();
	if (have_from && (f.offset != first.offset || f.length != first.length ||
			  f.value != text + first.value_offset || f.value_len != first.value_length ||
			  f.truncated))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_header_limits limits;
	size_t sizes[FUZZ_SIZES], whole, one = 1, i;
	const char *text;
	char *a, *b, *c;

	if (size < 2 + FUZZ_SIZES)
		return 0;
	limits.max_header = data[0] == 255 ? SIZE_MAX : (size_t)data[0] * 17;
	limits.max_field = (size_t)data[1] * 3 + 1;
	for (i = 0; i < FUZZ_SIZES; i++)
		sizes[i] = data[2 + i] % 40;
	text = (const char *)data + 2 + FUZZ_SIZES;
	size -= 2 + FUZZ_SIZES;
	whole = size;

	a = mhr_run(text, size, &limits, &whole, 1);
	b = mhr_run(text, size, &limits, &one, 1);
	c = mhr_run(text, size, &limits, sizes, FUZZ_SIZES);
	if (strcmp(a, b) != 0 || strcmp(a, c) != 0)
		abort();
	free(a);
	free(b);
	free(c);
	fuzz_helpers(text, size, &limits, sizes);
	return 0;
}
