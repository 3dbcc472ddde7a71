/* test-dkim-canon - DKIM's relaxed canonicalisation: the example of RFC
 * 6376 3.4.5, every way of cutting the body into pieces giving the same
 * output, and broken input (no body, no final CRLF, long lines, bare CR
 * and LF, 8-bit and NUL bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-header.h"
#include "mailauth/dkim-canon.h"

static void collect(void *ctx, const char *data, size_t len)
{
	struct buf *out = ctx;

	assert_true(len > 0);
	assert_int_equal(buf_append(out, data, len), 0);
}

/* The canonical body of in[0..len) fed in pieces of `step` octets (0:
 * whole); a malloc'd string (the test inputs hold no NUL unless said). */
static char *canon_body_step(const char *in, size_t len, size_t step, size_t *out_len)
{
	struct dkim_body_canon c;
	struct buf out;
	char *s;

	buf_init(&out, 0);
	dkim_body_canon_init(&c, collect, &out);
	if (step == 0)
		step = len > 0 ? len : 1;
	for (size_t at = 0; at < len; at += step)
		dkim_body_canon_feed(&c, in + at, len - at < step ? len - at : step);
	dkim_body_canon_finish(&c);
	assert_int_equal(c.length, out.len);
	s = malloc(out.len + 1);
	assert_non_null(s);
	if (out.len > 0)
		memcpy(s, out.data, out.len);
	s[out.len] = '\0';
	*out_len = out.len;
	buf_release(&out);
	return s;
}

/* The same result whole, byte by byte, and cut in two at every point. */
static void check_body_len(const char *in, size_t len, const char *expected, size_t expected_len)
{
	size_t got_len;
	char *got = canon_body_step(in, len, 0, &got_len);

	assert_int_equal(got_len, expected_len);
	assert_memory_equal(got, expected, expected_len);
	free(got);
	got = canon_body_step(in, len, 1, &got_len);
	assert_int_equal(got_len, expected_len);
	assert_memory_equal(got, expected, expected_len);
	free(got);
	for (size_t k = 1; k < len; k++) {
		struct dkim_body_canon c;
		struct buf out;

		buf_init(&out, 0);
		dkim_body_canon_init(&c, collect, &out);
		dkim_body_canon_feed(&c, in, k);
		dkim_body_canon_feed(&c, in + k, 0);
		dkim_body_canon_feed(&c, in + k, len - k);
		dkim_body_canon_finish(&c);
		assert_int_equal(out.len, expected_len);
		if (expected_len > 0)
			assert_memory_equal(out.data, expected, expected_len);
		buf_release(&out);
	}
}

static void check_body(const char *in, const char *expected)
{
	check_body_len(in, strlen(in), expected, strlen(expected));
}

/* The relaxed form of every field of a header, one after the other. */
static void check_header(const char *in, const char *expected)
{
	const struct mail_header_limits limits = { 65536, 4096 };
	struct mail_header_parser p;
	struct mail_header_field f;
	enum mail_header_result r;
	struct buf out;

	buf_init(&out, 0);
	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, in, strlen(in));
	mail_header_parser_finish(&p);
	while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED) {
		if (r == MAIL_HEADER_FIELD)
			assert_int_equal(dkim_canon_header(f.name, f.name_len, f.value,
							   f.value_len, true, &out), 0);
	}
	assert_int_equal(r, MAIL_HEADER_END);
	assert_int_equal(out.len, strlen(expected));
	assert_memory_equal(out.data, expected, out.len);
	mail_header_parser_deinit(&p);
	buf_release(&out);
}

/* RFC 6376 3.4.5, example 1. */
static void test_rfc6376_example(void **state)
{
	(void)state;
	check_header("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n", "a:X\r\nb:Y Z\r\n");
	check_body(" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

static void test_header_forms(void **state)
{
	struct buf out;

	(void)state;
	/* RFC 6376 3.4.2's own example, and white space only */
	check_header("SUBJect: AbC\r\n", "subject:AbC\r\n");
	check_header("X-Empty:   \t \r\n", "x-empty:\r\n");
	check_header("X-Folded:\r\n  a\r\n\t\r\n b  c\r\n", "x-folded:a b c\r\n");
	/* obs-optional: white space before the colon goes */
	check_header("To \t: a@b\r\n", "to:a@b\r\n");
	/* 8-bit and a bare CR in a value are kept as they are */
	check_header("Subject: caf\xc3\xa9 \r x\r\n", "subject:caf\xc3\xa9 \r x\r\n");
	/* a line that is no field is not one to canonicalise */
	check_header("no colon here\r\nFrom: a@b\r\n\r\n", "from:a@b\r\n");
	/* the field being made: no CRLF */
	buf_init(&out, 0);
	assert_int_equal(dkim_canon_header("DKIM-Signature", 14, " v=1;\r\n\tb=", 10, false, &out), 0);
	assert_int_equal(out.len, strlen("dkim-signature:v=1; b="));
	assert_memory_equal(out.data, "dkim-signature:v=1; b=", out.len);
	buf_release(&out);
	/* a bound that is reached is an error, never an overflow */
	buf_init(&out, 8);
	assert_int_equal(dkim_canon_header("Subject", 7, " long value", 11, true, &out), -1);
	buf_release(&out);
}

static void test_body_edges(void **state)
{
	(void)state;
	/* RFC 6376 3.4.4: an empty body, or only empty lines, is empty */
	check_body("", "");
	check_body("\r\n", "");
	check_body("\r\n\r\n  \r\n\t\r\n", "");
	/* no CRLF at the end: one is added, after the white space goes */
	check_body("abc", "abc\r\n");
	check_body("abc \t", "abc\r\n");
	check_body("   ", "");
	/* empty lines inside the body stay, those at the end go */
	check_body("a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	check_body("\r\n\r\na\r\n", "\r\n\r\na\r\n");
	/* white space at the start of a line is one SP */
	check_body("\t\t x  y\t\r\n", " x y\r\n");
	/* a bare CR or LF is a byte of its line */
	check_body("a\rb\r\n", "a\rb\r\n");
	check_body("a\nb\r\n", "a\nb\r\n");
	check_body("a\r", "a\r\r\n");
	check_body("a \r \r\n", "a \r\r\n");
	check_body("\r\r\n", "\r\r\n");
	/* 8-bit bytes pass */
	check_body("caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n");
	/* NUL is a byte like any other */
	check_body_len("a\0b\r\n", 5, "a\0b\r\n", 5);
}

/* A line far longer than the canonicaliser's run buffer, and many empty
 * lines held back before more text. */
static void test_body_long(void **state)
{
	size_t n = 300000, got_len;
	char *in = malloc(n + 2), *expected = malloc(n + 2), *got;

	(void)state;
	assert_non_null(in);
	assert_non_null(expected);
	for (size_t i = 0; i < n; i++)
		in[i] = expected[i] = (char)('a' + i % 26);
	in[n] = expected[n] = '\r';
	in[n + 1] = expected[n + 1] = '\n';
	got = canon_body_step(in, n + 2, 4093, &got_len);
	assert_int_equal(got_len, n + 2);
	assert_memory_equal(got, expected, n + 2);
	free(got);
	/* 100,000 empty lines, then a line: all of them stay */
	for (size_t i = 0; i < 200000; i++)
		in[i] = i % 2 == 0 ? '\r' : '\n';
	memcpy(in + 200000, "x\r\n", 3);
	got = canon_body_step(in, 200003, 777, &got_len);
	assert_int_equal(got_len, 200003);
	assert_memory_equal(got, in, 200003);
	free(got);
	free(in);
	free(expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_example),
		cmocka_unit_test(test_header_forms),
		cmocka_unit_test(test_body_edges),
		cmocka_unit_test(test_body_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
