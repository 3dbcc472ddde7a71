/* mail-header-run - drive the header reader over an input in a given
 * chunking and write down what it reported, one line per result, so that
 * tests/unit/test-mail-header.c and tests/fuzz/fuzz-mail-header.c can
 * compare chunkings (and expected transcripts) as strings. Along the way it
 * checks what must hold for any input, and aborts when it does not: items
 * follow each other without gaps, names and values are the input's bytes
 * at the offsets given, nothing kept is longer than the bound, and the
 * parser holds no pointer into a chunk after NEED_MORE (each chunk is a
 * copy freed at once). */
#ifndef TERN_TESTS_MAIL_HEADER_RUN_H
#define TERN_TESTS_MAIL_HEADER_RUN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mail/mail-header.h"

static void mhr_escape(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			buf_append_str(out, "\\r");
		else if (c == '\n')
			buf_append_str(out, "\\n");
		else if (c == '\t')
			buf_append_str(out, "\\t");
		else if (c == '\\')
			buf_append_str(out, "\\\\");
		else if (c < 32 || c >= 127)
			buf_printf(out, "\\x%02x", c);
		else
			buf_append(out, &c, 1);
	}
}

/* Check one item against the input and append its line. *next_r is where
 * the next item must start. */
static void mhr_item(struct buf *out, const char *in, size_t in_len,
		     const struct mail_header_limits *limits, enum mail_header_result r,
		     const struct mail_header_field *f, size_t *next_r)
{
	size_t kept = f->name_len + (f->name != NULL ? 1 : 0) + f->value_len;

	if (f->offset != *next_r || f->length == 0 || f->offset + f->length > in_len ||
	    f->value_offset < f->offset || f->value_offset + f->value_length > f->offset + f->length ||
	    f->value_len > f->value_length || f->truncated != (f->value_len < f->value_length) ||
	    memcmp(f->value, in + f->value_offset, f->value_len) != 0 || kept > limits->max_field)
		abort();
	if (r == MAIL_HEADER_FIELD &&
	    (f->name_len == 0 || memcmp(f->name, in + f->offset, f->name_len) != 0))
		abort();
	if (r == MAIL_HEADER_MALFORMED && (f->name != NULL || f->value_offset != f->offset))
		abort();
	*next_r = f->offset + f->length;
	buf_printf(out, "%s %zu+%zu ", mail_header_result_name(r), f->offset, f->length);
	if (f->name != NULL) {
		mhr_escape(out, f->name, f->name_len);
		buf_append_str(out, " ");
	}
	buf_append_str(out, "[");
	mhr_escape(out, f->value, f->value_len);
	buf_printf(out, "] %zu+%zu%s\n", f->value_offset, f->value_length,
		   f->truncated ? " truncated" : "");
}

/* Feed in[0..len) in chunks of sizes[0], sizes[1], ... (cycling through
 * the n_sizes sizes; a 0 pushes nothing), then finish. Returns the
 * transcript (malloc'd, NUL-terminated). */
static char *mhr_run(const char *in, size_t len, const struct mail_header_limits *limits,
		     const size_t *sizes, size_t n_sizes)
{
	struct mail_header_parser p;
	struct mail_header_field f;
	struct buf out;
	size_t off = 0, next = 0, i = 0, zeros = 0;
	enum mail_header_result r = MAIL_HEADER_NEED_MORE;

	buf_init(&out, 0);
	mail_header_parser_init(&p, limits);
	while (off < len) {
		size_t n = sizes[i++ % n_sizes];
		char *chunk;

		/* A cycle of zeros would never end. */
		if (n == 0 && ++zeros > n_sizes)
			n = 1;
		if (n > len - off)
			n = len - off;
		if (n > 0)
			zeros = 0;
		chunk = malloc(n + 1);
		if (chunk == NULL)
			abort();
		memcpy(chunk, in + off, n);
		mail_header_parser_push(&p, chunk, n);
		off += n;
		while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
		       r == MAIL_HEADER_MALFORMED)
			mhr_item(&out, in, len, limits, r, &f, &next);
		memset(chunk, 0xAA, n);
		free(chunk);
		if (r != MAIL_HEADER_NEED_MORE)
			break;
	}
	if (r == MAIL_HEADER_NEED_MORE) {
		mail_header_parser_finish(&p);
		while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
		       r == MAIL_HEADER_MALFORMED)
			mhr_item(&out, in, len, limits, r, &f, &next);
	} else if (off < len) {
		/* After the end, further bytes are ignored. */
		mail_header_parser_push(&p, in + off, len - off);
	}
	if (r != MAIL_HEADER_END && r != MAIL_HEADER_TOO_LARGE)
		abort();
	if (r == MAIL_HEADER_END &&
	    (f.offset != next || f.offset + f.length > len || f.offset + f.length > limits->max_header))
		abort();
	if (r == MAIL_HEADER_TOO_LARGE && (f.offset != next || f.offset > limits->max_header))
		abort();
	buf_printf(&out, "%s %zu+%zu\n", mail_header_result_name(r), f.offset, f.length);
	/* The end is said again, and the parser holds nothing. */
	if (mail_header_parser_next(&p, &f) != r || f.offset != next || p.kept.cap != 0)
		abort();
	mail_header_parser_deinit(&p);
	if (out.data == NULL)
		abort();
	return out.data;
}

#endif
