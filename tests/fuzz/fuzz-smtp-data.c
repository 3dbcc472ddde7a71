/* fuzz-smtp-data - libFuzzer harness for the DATA/BDAT message reader and
 * the BDAT tracker. The first byte picks the mode and the size limit, the
 * second seeds the chunk sizes; the rest is what the client sends. The
 * input is fed whole and in pseudo-random chunks, and both must agree to
 * the byte. A DATA message that ended without error must be its input
 * lines with the stuffing dots removed, as a line-by-line reference
 * unstuffer sees them; the output never holds a bare CR or
 * LF, and never more than the limit. In RAW mode the chunks are BDAT
 * chunks, cut by the tracker. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "smtp/smtp-bdat.h"
#include "smtp/smtp-data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_outcome {
	struct buf out;
	bool ended;
	size_t consumed;
	enum smtp_data_error error;
	uint64_t size, lines;
	bool line_open;
};

static void fuzz_collect(void *ctx, uint64_t offset, const char *data, size_t len)
{
	struct buf *out = ctx;

	if (offset != out->len || len == 0 || buf_append(out, data, len) != 0)
		__builtin_trap();
}

/* chunk == 0: pseudo-random chunk sizes from seed; else that size. */
static void fuzz_run(const char *in, size_t len, enum smtp_data_mode mode, uint64_t max,
		     size_t chunk, uint32_t seed, struct fuzz_outcome *o)
{
	struct smtp_data d;
	struct smtp_bdat b;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	buf_init(&o->out, 0);
	smtp_data_init(&d, mode, max, fuzz_collect, &o->out);
	smtp_bdat_init(&b);
	while (off < len) {
		size_t n, used;

		seed = seed * 1103515245u + 12345u;
		n = chunk != 0 ? chunk : (size_t)(seed >> 16) % 17 + 1;
		if (n > len - off)
			n = len - off;
		if (mode == SMTP_DATA_MODE_RAW) {
			/* Each piece is one BDAT chunk, the last one LAST. */
			if (smtp_bdat_chunk(&b, n, off + n == len, UINT64_MAX) != SMTP_BDAT_OK ||
			    smtp_bdat_take(&b, n + 5) != n || b.remaining != 0)
				__builtin_trap();
		}
		if (smtp_data_feed(&d, in + off, n, &used) == SMTP_DATA_END) {
			if (mode != SMTP_DATA_MODE_DOT || used == 0 || used > n)
				__builtin_trap();
			o->ended = true;
			o->consumed = off + used;
			break;
		}
		if (used != n)
			__builtin_trap();
		off += n;
	}
	if (mode == SMTP_DATA_MODE_RAW) {
		(void)smtp_data_finish(&d);
		if (len > 0 && !smtp_bdat_complete(&b))
			__builtin_trap();
	}
	o->error = smtp_data_error(&d);
	o->size = d.size;
	o->lines = d.lines;
	o->line_open = smtp_data_line_open(&d);
}

static void fuzz_check_output(const struct fuzz_outcome *o, uint64_t max)
{
	const char *out = o->out.data;
	size_t len = o->out.len;

	if (len > max || len > o->size)
		__builtin_trap();
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			__builtin_trap();
		if (out[i] == '\r' && i + 1 < len && out[i + 1] != '\n')
			__builtin_trap();
	}
	if (o->error == SMTP_DATA_ERROR_NONE && len != o->size)
		__builtin_trap();
}

/* DOT mode, ended without error: the input up to its final ".\r\n" is
 * CRLF-separated lines, and the output is those lines with the first "."
 * of each removed (RFC 5321 4.5.2), checked line by line. */
static void fuzz_check_unstuffed(const struct fuzz_outcome *o, const char *in)
{
	struct buf want;
	size_t i = 0, end = o->consumed - 3;

	if (o->consumed < 3 || memcmp(in + end, ".\r\n", 3) != 0 ||
	    (end >= 2 && memcmp(in + end - 2, "\r\n", 2) != 0) || end == 1)
		__builtin_trap();
	buf_init(&want, 0);
	while (i < end) {
		const char *crlf = memmem(in + i, end - i, "\r\n", 2);
		size_t line_end = (size_t)(crlf - in);

		if (crlf == NULL)
			__builtin_trap();
		if (in[i] == '.')
			i++;
		buf_append(&want, in + i, line_end + 2 - i);
		i = line_end + 2;
	}
	if (want.len != o->out.len || (want.len > 0 && memcmp(want.data, o->out.data, want.len) != 0))
		__builtin_trap();
	buf_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits[] = { UINT64_MAX, 0, 1, 7, 64, 1000 };
	struct fuzz_outcome whole, pieces, bytes;
	enum smtp_data_mode mode;
	uint64_t max;
	const char *in;

	if (size < 2)
		return 0;
	mode = (data[0] & 1) != 0 ? SMTP_DATA_MODE_RAW : SMTP_DATA_MODE_DOT;
	max = limits[(data[0] >> 1) % (sizeof(limits) / sizeof(limits[0]))];
	in = (const char *)data + 2;
	size -= 2;

	fuzz_run(in, size, mode, max, size + 1, 0, &whole);
	fuzz_run(in, size, mode, max, 0, data[1], &pieces);
	fuzz_run(in, size, mode, max, 1, 0, &bytes);
	for (const struct fuzz_outcome *o = &pieces; o != NULL; o = o == &pieces ? &bytes : NULL) {
		if (o->ended != whole.ended || o->consumed != whole.consumed ||
		    o->error != whole.error || o->size != whole.size || o->lines != whole.lines ||
		    o->line_open != whole.line_open || o->out.len != whole.out.len ||
		    (whole.out.len > 0 && memcmp(o->out.data, whole.out.data, whole.out.len) != 0))
			__builtin_trap();
	}
	fuzz_check_output(&whole, max);
	if (mode == SMTP_DATA_MODE_DOT && whole.ended && whole.error == SMTP_DATA_ERROR_NONE)
		fuzz_check_unstuffed(&whole, in);
	if (smtp_data_error_status(whole.error)->text == NULL)
		__builtin_trap();
	buf_release(&whole.out);
	buf_release(&pieces.out);
	buf_release(&bytes.out);
	return 0;
}
