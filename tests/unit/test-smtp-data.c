/* test-smtp-data - the DATA/BDAT message reader and the BDAT tracker:
 * dot-unstuffing, the end at CRLF.CRLF only, every smuggling ending, the
 * bare CR/LF rule, the size limit, long lines, RAW mode; every input fed
 * whole and in every chunk size, with the same result each time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "smtp/smtp-bdat.h"
#include "smtp/smtp-data.h"

/* What one run of the reader gave. */
struct outcome {
	struct buf out;
	bool ended;
	size_t consumed;       /* input up to the end, when ended */
	enum smtp_data_error error;
	uint64_t size;
	uint64_t lines;
	bool line_open;
};

static void collect(void *ctx, uint64_t offset, const char *data, size_t len)
{
	struct buf *out = ctx;

	/* Pieces come in order, each where the previous one stopped. */
	assert_int_equal(offset, out->len);
	assert_true(len > 0);
	assert_int_equal(buf_append(out, data, len), 0);
}

static void run(const char *in, size_t len, enum smtp_data_mode mode, uint64_t max,
		size_t chunk, struct outcome *o)
{
	struct smtp_data d;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	buf_init(&o->out, 0);
	smtp_data_init(&d, mode, max, collect, &o->out);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used;

		if (smtp_data_feed(&d, in + off, n, &used) == SMTP_DATA_END) {
			assert_true(used >= 1 && used <= n);
			o->ended = true;
			o->consumed = off + used;
			break;
		}
		assert_int_equal(used, n);
		off += n;
	}
	o->error = mode == SMTP_DATA_MODE_RAW ? smtp_data_finish(&d) : SMTP_DATA_ERROR_NONE;
	if (mode == SMTP_DATA_MODE_RAW)
		assert_int_equal(o->error, smtp_data_error(&d));
	o->error = smtp_data_error(&d);
	o->size = d.size;
	o->lines = d.lines;
	o->line_open = smtp_data_line_open(&d);
}

/* Feed in one piece and in every chunk size; all must agree. Returns the
 * whole-piece outcome (caller releases o->out). */
static void check_all(const char *in, size_t len, enum smtp_data_mode mode, uint64_t max,
		      struct outcome *whole)
{
	run(in, len, mode, max, len + 1, whole);
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct outcome o;

		run(in, len, mode, max, chunk, &o);
		assert_int_equal(o.ended, whole->ended);
		assert_int_equal(o.consumed, whole->consumed);
		assert_int_equal(o.error, whole->error);
		assert_int_equal(o.size, whole->size);
		assert_int_equal(o.lines, whole->lines);
		assert_int_equal(o.line_open, whole->line_open);
		assert_int_equal(o.out.len, whole->out.len);
		if (o.out.len > 0)
			assert_memory_equal(o.out.data, whole->out.data, o.out.len);
		buf_release(&o.out);
	}
}

/* DATA: `in` must end at `end_at` (0: never ends) with `error`, having
 * output `want`. */
static void check_data_n(const char *in, size_t len, size_t end_at, enum smtp_data_error error,
			 const char *want, size_t want_len)
{
	struct outcome o;

	check_all(in, len, SMTP_DATA_MODE_DOT, UINT64_MAX, &o);
	assert_int_equal(o.ended, end_at != 0);
	assert_int_equal(o.consumed, end_at);
	assert_int_equal(o.error, error);
	assert_int_equal(o.out.len, want_len);
	if (want_len > 0)
		assert_memory_equal(o.out.data, want, want_len);
	buf_release(&o.out);
}

static void check_data(const char *in, size_t end_at, enum smtp_data_error error, const char *want)
{
	check_data_n(in, strlen(in), end_at, error, want, strlen(want));
}

static void test_simple(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n.\r\n";
	struct outcome o;

	(void)state;
	check_data(msg, strlen(msg), SMTP_DATA_ERROR_NONE, "Subject: hi\r\n\r\nbody\r\n");
	check_all(msg, strlen(msg), SMTP_DATA_MODE_DOT, UINT64_MAX, &o);
	assert_int_equal(o.size, strlen(msg) - 3);
	assert_int_equal(o.lines, 3);
	assert_false(o.line_open);
	buf_release(&o.out);

	/* The end right after the 354: an empty message. */
	check_data(".\r\n", 3, SMTP_DATA_ERROR_NONE, "");
	check_all(".\r\n", 3, SMTP_DATA_MODE_DOT, UINT64_MAX, &o);
	assert_int_equal(o.size, 0);
	assert_int_equal(o.lines, 0);
	buf_release(&o.out);
	/* An empty line, then the end. */
	check_data("\r\n.\r\n", 5, SMTP_DATA_ERROR_NONE, "\r\n");
	/* Not ended yet. */
	check_data("a\r\nb\r\n", 0, SMTP_DATA_ERROR_NONE, "a\r\nb\r\n");
	check_data("a\r\n.", 0, SMTP_DATA_ERROR_NONE, "a\r\n");
	check_data("a\r\n.\r", 0, SMTP_DATA_ERROR_NONE, "a\r\n");
	check_data("", 0, SMTP_DATA_ERROR_NONE, "");
	/* What follows the end is the next command (RFC 2920). */
	check_data("a\r\n.\r\nQUIT\r\n", 6, SMTP_DATA_ERROR_NONE, "a\r\n");
	check_data(".\r\n.\r\n", 3, SMTP_DATA_ERROR_NONE, "");
}

static void test_unstuffing(void **state)
{
	(void)state;
	/* RFC 5321 4.5.2: a leading "." of a longer line is removed. */
	check_data("..\r\n.\r\n", 7, SMTP_DATA_ERROR_NONE, ".\r\n");
	check_data("...\r\n.\r\n", 8, SMTP_DATA_ERROR_NONE, "..\r\n");
	check_data(".x\r\n..y\r\n.\r\n", 12, SMTP_DATA_ERROR_NONE, "x\r\n.y\r\n");
	check_data("a.\r\n a\r\n. \r\n.\r\n", 15, SMTP_DATA_ERROR_NONE, "a.\r\n a\r\n \r\n");
	check_data("x\r\n..\r\n.\r\n", 10, SMTP_DATA_ERROR_NONE, "x\r\n.\r\n");
	/* Only at the start of a line. */
	check_data("a..b\r\n.\r\n", 9, SMTP_DATA_ERROR_NONE, "a..b\r\n");
}

static void test_octets(void **state)
{
	static const char msg[] = "8bit: \xc3\xa9\xff\r\nnul: a\0b\r\n\0\r\n.\r\n";
	static const char want[] = "8bit: \xc3\xa9\xff\r\nnul: a\0b\r\n\0\r\n";
	static char big[3 * 5000];
	struct outcome o;

	(void)state;
	/* Every octet but the line ends passes as it is, NUL included. */
	check_data_n(msg, sizeof(msg) - 1, sizeof(msg) - 1, SMTP_DATA_ERROR_NONE,
		     want, sizeof(want) - 1);
	/* Lines over 1,000 octets are kept as they are. */
	memset(big, 'x', sizeof(big));
	memcpy(big + 4990, "\r\n", 2);
	memcpy(big + 9000, "\r\n.\r\n", 5);
	run(big, 9005, SMTP_DATA_MODE_DOT, UINT64_MAX, 9005, &o);
	assert_true(o.ended);
	assert_int_equal(o.error, SMTP_DATA_ERROR_NONE);
	assert_int_equal(o.out.len, 9002);
	assert_memory_equal(o.out.data, big, 9002);
	assert_int_equal(o.lines, 2);
	buf_release(&o.out);
	run(big, 9005, SMTP_DATA_MODE_DOT, UINT64_MAX, 7, &o);
	assert_int_equal(o.out.len, 9002);
	assert_memory_equal(o.out.data, big, 9002);
	buf_release(&o.out);
}

/* The ending must not end the message: only the real CRLF.CRLF after the
 * smuggled transaction does, with `error`. */
static void check_smuggling(const char *ending, size_t ending_len, enum smtp_data_error error)
{
	static const char tail[] = "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.org>\r\n"
				   "DATA\r\nSubject: smuggled\r\n\r\nfake\r\n.\r\n";
	char in[512];
	size_t len, pos;

	for (int start = 0; start < 2; start++) {
		/* After some text, and right at the start of the data. */
		len = 0;
		if (start == 0) {
			memcpy(in, "Subject: real\r\n\r\nbody", 21);
			len = 21;
		}
		memcpy(in + len, ending, ending_len);
		len += ending_len;
		memcpy(in + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		pos = len;
		memcpy(in + len, "QUIT\r\n", 6);
		len += 6;

		struct outcome o;

		check_all(in, len, SMTP_DATA_MODE_DOT, UINT64_MAX, &o);
		assert_true(o.ended);
		assert_int_equal(o.consumed, pos);
		assert_int_equal(o.error, error);
		if (error == SMTP_DATA_ERROR_NONE) {
			/* No bare CR or LF: all of it is the one message's text
			 * (less the final ".\r\n" and a stuffing dot). */
			assert_true(o.out.len == pos - 3 || o.out.len == pos - 4);
			assert_non_null(memmem(o.out.data, o.out.len, "Subject: smuggled", 17));
		} else {
			/* Nothing after the first bare CR/LF was output. */
			assert_true(o.out.len <= (start == 0 ? 21u : 0u) + ending_len);
			assert_null(memmem(o.out.data == NULL ? "" : o.out.data, o.out.len,
					   "MAIL", 4));
		}
		buf_release(&o.out);
	}
}

static void test_smuggling(void **state)
{
	(void)state;
	check_smuggling("\n.\n", 3, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\r.\r", 3, SMTP_DATA_ERROR_BARE_CR);
	check_smuggling("\r.\n", 3, SMTP_DATA_ERROR_BARE_CR);
	check_smuggling("\n.\r", 3, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\n.\r\n", 4, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\r\n.\n", 4, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\r.\r\n", 4, SMTP_DATA_ERROR_BARE_CR);
	check_smuggling("\r\n.\r", 4, SMTP_DATA_ERROR_BARE_CR);
	check_smuggling("\r\n\0.\r\n", 6, SMTP_DATA_ERROR_NONE);
	check_smuggling("\r\n.\0\r\n", 6, SMTP_DATA_ERROR_NONE);
	/* And a few more of the family. */
	check_smuggling("\n\n.\n\n", 5, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\r\r\n.\r\r\n", 7, SMTP_DATA_ERROR_BARE_CR);
	check_smuggling("\r\n\n.\r\n", 6, SMTP_DATA_ERROR_BARE_LF);
	check_smuggling("\r\n \r\n.\r\n", 3, SMTP_DATA_ERROR_NONE);
}

static void test_bare_line_ends(void **state)
{
	struct outcome o;

	(void)state;
	/* Output stops at the first error; the end is still CRLF.CRLF. */
	check_data("ab\ncd\r\n.\r\n", 10, SMTP_DATA_ERROR_BARE_LF, "ab");
	check_data("ab\rcd\r\n.\r\n", 10, SMTP_DATA_ERROR_BARE_CR, "ab");
	check_data("ok\r\nab\r\rcd\r\n.\r\n", 15, SMTP_DATA_ERROR_BARE_CR, "ok\r\nab");
	check_data("\n.\r\n", 0, SMTP_DATA_ERROR_BARE_LF, "");
	check_data("\n.\r\n.\r\n", 7, SMTP_DATA_ERROR_BARE_LF, "");
	check_data("a\r\n.\n.\r\n", 0, SMTP_DATA_ERROR_BARE_LF, "a\r\n");
	check_data("a\r\n.\r.\r\n", 0, SMTP_DATA_ERROR_BARE_CR, "a\r\n");
	/* The first error is the one reported. */
	check_data("\r\n\rx\ny\r\n.\r\n", 11, SMTP_DATA_ERROR_BARE_CR, "\r\n");
	/* Counting goes on after an error (for the log). */
	check_all("a\nb\r\nc\r\n.\r\n", 11, SMTP_DATA_MODE_DOT, UINT64_MAX, &o);
	assert_int_equal(o.size, 8);
	assert_int_equal(o.lines, 2);
	buf_release(&o.out);
	assert_int_equal(smtp_data_error_status(SMTP_DATA_ERROR_BARE_LF)->code, 554);
	assert_string_equal(smtp_data_error_status(SMTP_DATA_ERROR_BARE_CR)->enhanced, "5.5.2");
	assert_string_equal(smtp_data_error_name(SMTP_DATA_ERROR_BARE_CR), "bare-cr");
	assert_string_equal(smtp_data_error_name(SMTP_DATA_ERROR__COUNT), "invalid");
	assert_int_equal(smtp_data_error_status(SMTP_DATA_ERROR_NONE)->code, 0);
}

static void test_size_limit(void **state)
{
	struct outcome o;

	(void)state;
	/* Exactly at the limit is fine; one over is TOO_BIG, and the rest is
	 * read to the end without output. */
	check_all("123\r\n.\r\n", 8, SMTP_DATA_MODE_DOT, 5, &o);
	assert_int_equal(o.error, SMTP_DATA_ERROR_NONE);
	assert_int_equal(o.out.len, 5);
	buf_release(&o.out);
	check_all("1234\r\nmore\r\n.\r\nQUIT\r\n", 21, SMTP_DATA_MODE_DOT, 5, &o);
	assert_true(o.ended);
	assert_int_equal(o.consumed, 15);
	assert_int_equal(o.error, SMTP_DATA_ERROR_TOO_BIG);
	assert_int_equal(o.out.len, 5);
	assert_memory_equal(o.out.data, "1234\r", 5);
	assert_int_equal(o.size, 12);
	buf_release(&o.out);
	/* Stuffing dots do not count (RFC 1870 5). */
	check_all("..\r\n.\r\n", 7, SMTP_DATA_MODE_DOT, 3, &o);
	assert_int_equal(o.error, SMTP_DATA_ERROR_NONE);
	buf_release(&o.out);
	check_all("x\r\n.\r\n", 6, SMTP_DATA_MODE_DOT, 0, &o);
	assert_int_equal(o.error, SMTP_DATA_ERROR_TOO_BIG);
	assert_int_equal(o.out.len, 0);
	buf_release(&o.out);
	/* A later bare LF does not replace TOO_BIG. */
	check_all("123456\n\r\n.\r\n", 12, SMTP_DATA_MODE_DOT, 5, &o);
	assert_int_equal(o.error, SMTP_DATA_ERROR_TOO_BIG);
	buf_release(&o.out);
	assert_int_equal(smtp_data_error_status(SMTP_DATA_ERROR_TOO_BIG)->code, 552);
	assert_string_equal(smtp_data_error_status(SMTP_DATA_ERROR_TOO_BIG)->enhanced, "5.3.4");
}

static void test_after_end(void **state)
{
	struct smtp_data d;
	struct buf out;
	size_t used = 99;

	(void)state;
	buf_init(&out, 0);
	smtp_data_init(&d, SMTP_DATA_MODE_DOT, UINT64_MAX, collect, &out);
	assert_int_equal(smtp_data_feed(&d, "a\r\n.\r\nb", 7, &used), SMTP_DATA_END);
	assert_int_equal(used, 6);
	assert_int_equal(smtp_data_feed(&d, "b", 1, &used), SMTP_DATA_END);
	assert_int_equal(used, 0);
	assert_int_equal(smtp_data_feed(&d, "", 0, &used), SMTP_DATA_END);
	assert_int_equal(out.len, 3);
	/* Feeding nothing changes nothing. */
	smtp_data_init(&d, SMTP_DATA_MODE_DOT, UINT64_MAX, collect, &out);
	assert_int_equal(smtp_data_feed(&d, "", 0, &used), SMTP_DATA_MORE);
	assert_int_equal(used, 0);
	buf_release(&out);
}

static void check_raw(const char *in, size_t len, enum smtp_data_error error, bool line_open,
		      size_t want_len)
{
	struct outcome o;

	check_all(in, len, SMTP_DATA_MODE_RAW, UINT64_MAX, &o);
	assert_false(o.ended);
	assert_int_equal(o.error, error);
	assert_int_equal(o.line_open, line_open);
	assert_int_equal(o.out.len, want_len);
	if (want_len > 0)
		assert_memory_equal(o.out.data, in, want_len);
	buf_release(&o.out);
}

static void test_raw(void **state)
{
	struct outcome o;

	(void)state;
	/* BDAT: no dots, no end marker; the bare CR/LF rule still holds. */
	check_raw("a\r\n.\r\n..\r\n", 10, SMTP_DATA_ERROR_NONE, false, 10);
	check_raw("a\r\nb", 4, SMTP_DATA_ERROR_NONE, true, 4);
	check_raw("", 0, SMTP_DATA_ERROR_NONE, false, 0);
	check_raw("a\r", 2, SMTP_DATA_ERROR_BARE_CR, true, 1);
	check_raw("a\nb", 3, SMTP_DATA_ERROR_BARE_LF, true, 1);
	check_raw("a\r\r\n", 4, SMTP_DATA_ERROR_BARE_CR, false, 1);
	check_raw("\xff\0\r\n", 4, SMTP_DATA_ERROR_NONE, false, 4);
	check_all("12345\r\n", 7, SMTP_DATA_MODE_RAW, 6, &o);
	assert_int_equal(o.error, SMTP_DATA_ERROR_TOO_BIG);
	assert_int_equal(o.out.len, 6);
	assert_int_equal(o.size, 7);
	buf_release(&o.out);
}

static void test_raw_chunks(void **state)
{
	struct smtp_data d;
	struct buf out;
	size_t used;

	(void)state;
	/* A CRLF split between two BDAT chunks is one line end. */
	buf_init(&out, 0);
	smtp_data_init(&d, SMTP_DATA_MODE_RAW, UINT64_MAX, collect, &out);
	assert_int_equal(smtp_data_feed(&d, "line\r", 5, &used), SMTP_DATA_MORE);
	assert_int_equal(out.len, 4);
	assert_true(smtp_data_line_open(&d));
	assert_int_equal(smtp_data_feed(&d, "\nnext\r\n", 7, &used), SMTP_DATA_MORE);
	assert_int_equal(smtp_data_finish(&d), SMTP_DATA_ERROR_NONE);
	assert_false(smtp_data_line_open(&d));
	assert_int_equal(out.len, 12);
	assert_memory_equal(out.data, "line\r\nnext\r\n", 12);
	assert_int_equal(d.lines, 2);
	buf_release(&out);
}

static void test_bdat(void **state)
{
	struct smtp_bdat b;

	(void)state;
	smtp_bdat_init(&b);
	assert_false(smtp_bdat_complete(&b));
	assert_int_equal(smtp_bdat_chunk(&b, 10, false, 100), SMTP_BDAT_OK);
	assert_int_equal(b.remaining, 10);
	assert_int_equal(smtp_bdat_take(&b, 4), 4);
	assert_int_equal(smtp_bdat_take(&b, 100), 6);
	assert_int_equal(smtp_bdat_take(&b, 100), 0);
	assert_false(smtp_bdat_complete(&b));
	assert_int_equal(smtp_bdat_chunk(&b, 90, true, 100), SMTP_BDAT_OK);
	assert_int_equal(b.total, 100);
	assert_false(smtp_bdat_complete(&b));
	assert_int_equal(smtp_bdat_take(&b, 90), 90);
	assert_true(smtp_bdat_complete(&b));
	/* RFC 3030 2: after LAST, 503, but the chunk is still to be skipped. */
	assert_int_equal(smtp_bdat_chunk(&b, 5, false, 100), SMTP_BDAT_AFTER_LAST);
	assert_int_equal(b.remaining, 5);
	assert_int_equal(b.total, 100);

	/* BDAT 0 LAST: an empty last chunk. */
	smtp_bdat_init(&b);
	assert_int_equal(smtp_bdat_chunk(&b, 0, true, 100), SMTP_BDAT_OK);
	assert_true(smtp_bdat_complete(&b));

	/* Over the limit: refused, the chunk still to be read and thrown away. */
	smtp_bdat_init(&b);
	assert_int_equal(smtp_bdat_chunk(&b, 60, false, 100), SMTP_BDAT_OK);
	assert_int_equal(smtp_bdat_take(&b, 60), 60);
	assert_int_equal(smtp_bdat_chunk(&b, 41, true, 100), SMTP_BDAT_TOO_BIG);
	assert_int_equal(b.remaining, 41);
	assert_int_equal(b.total, 60);
	assert_false(b.last);
	assert_int_equal(smtp_bdat_take(&b, 41), 41);
	assert_int_equal(smtp_bdat_chunk(&b, 40, true, 100), SMTP_BDAT_OK);
	assert_int_equal(b.total, 100);

	/* No overflow, whatever the sizes. */
	smtp_bdat_init(&b);
	assert_int_equal(smtp_bdat_chunk(&b, UINT64_MAX, false, UINT64_MAX), SMTP_BDAT_OK);
	assert_true(b.total == UINT64_MAX);
	b.remaining = 0;
	assert_int_equal(smtp_bdat_chunk(&b, 1, false, UINT64_MAX), SMTP_BDAT_TOO_BIG);
	assert_true(b.total == UINT64_MAX);
	smtp_bdat_init(&b);
	assert_int_equal(smtp_bdat_chunk(&b, UINT64_MAX, false, 10), SMTP_BDAT_TOO_BIG);
	/* take() never hands out more than a size_t. */
	assert_int_equal(smtp_bdat_take(&b, SIZE_MAX), SIZE_MAX);
	assert_true(b.remaining == UINT64_MAX - SIZE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_unstuffing),
		cmocka_unit_test(test_octets),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_bare_line_ends),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_raw_chunks),
		cmocka_unit_test(test_bdat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
