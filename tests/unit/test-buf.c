/* test-buf - the bounded buffer (core/buf) and log_escape (core/log). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/log.h"

static void assert_content(const struct buf *b, const char *expected)
{
	assert_int_equal(b->len, strlen(expected));
	assert_memory_equal(b->data, expected, b->len);
}

static void test_cap(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_append_str(&b, "hello"), 0);
	assert_int_equal(buf_append_str(&b, "world!"), -1);    /* 11 > 10 */
	assert_content(&b, "hello");
	assert_int_equal(buf_printf(&b, "%s", "123456"), -1);
	assert_content(&b, "hello");
	assert_null(buf_reserve(&b, 6));
	assert_content(&b, "hello");
	assert_string_equal(b.data, "hello");    /* still NUL-terminated */

	/* exactly up to the cap is fine */
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	p = buf_reserve(&b, 1);
	assert_non_null(p);
	*p = 'X';
	buf_commit(&b, 1);
	assert_content(&b, "hello1234X");
	assert_int_equal(buf_append(&b, "y", 1), -1);
	assert_null(buf_reserve(&b, 1));
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_content(&b, "hello1234X");
	/* a huge request does not overflow the check */
	assert_null(buf_reserve(&b, SIZE_MAX));
	assert_null(buf_reserve(&b, SIZE_MAX - 5));

	/* consuming makes room again */
	buf_consume(&b, 5);
	assert_content(&b, "1234X");
	assert_int_equal(buf_append_str(&b, "abcde"), 0);
	assert_content(&b, "1234Xabcde");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);

	buf_reset(&b);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(buf_append_str(&b, "again"), 0);    /* usable after release */
	assert_content(&b, "again");
	buf_release(&b);

	/* max 0: no cap */
	buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%04d", i), 0);
	assert_int_equal(b.len, 4000);
	assert_memory_equal(b.data + 3996, "0999", 4);
	buf_release(&b);
}

/* Split a byte stream into lines as a protocol session does, feeding it in
 * chunks of `chunk` bytes. Returns the lines joined with '|' (malloc'd);
 * a trailing incomplete line is returned after '#'. */
static char *split_lines(const char *in, size_t in_len, size_t chunk)
{
	struct buf b, out;
	size_t line_len, total;

	buf_init(&b, 0);
	buf_init(&out, 0);
	for (size_t off = 0; off < in_len; off += chunk) {
		size_t n = in_len - off < chunk ? in_len - off : chunk;

		assert_int_equal(buf_append(&b, in + off, n), 0);
		while (buf_line(&b, &line_len, &total)) {
			assert_true(line_len <= total);
			assert_int_equal(buf_append(&out, b.data, line_len), 0);
			assert_int_equal(buf_append(&out, "|", 1), 0);
			buf_consume(&b, total);
		}
	}
	assert_int_equal(buf_append(&out, "#", 1), 0);
	if (b.len > 0)
		assert_int_equal(buf_append(&out, b.data, b.len), 0);
	buf_release(&b);
	if (out.data == NULL)
		return strdup("");
	return out.data;
}

static void test_lines(void **state)
{
	static const struct {
		const char *in;
		const char *lines;
	} cases[] = {
		{ "USER a\r\nPASS b\r\n", "USER a|PASS b|#" },
		{ "bare\nlf\n", "bare|lf|#" },
		{ "mixed\r\nbare\npartial", "mixed|bare|#partial" },
		{ "no line end", "#no line end" },
		{ "\r\n\n\r\n", "|||#" },
		{ "cr\rin\rmiddle\r\n", "cr\rin\rmiddle|#" },
		{ "two cr\r\r\n", "two cr\r|#" },
		{ "ends in cr\r", "#ends in cr\r" },
		{ "", "#" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		char *whole = split_lines(cases[i].in, len, len > 0 ? len : 1);

		assert_string_equal(whole, cases[i].lines);
		for (size_t chunk = 1; chunk <= 3; chunk++) {
			char *pieces = split_lines(cases[i].in, len, chunk);

			assert_string_equal(pieces, whole);
			free(pieces);
		}
		free(whole);
	}

	/* a line on its own: lengths with and without the line end */
	struct buf b;
	size_t line_len = 99, total = 99;

	buf_init(&b, 64);
	assert_false(buf_line(&b, &line_len, &total));
	buf_append_str(&b, "abc\r");
	assert_false(buf_line(&b, &line_len, &total));
	buf_append_str(&b, "\nxyz");
	assert_true(buf_line(&b, &line_len, &total));
	assert_int_equal(line_len, 3);
	assert_int_equal(total, 5);
	buf_consume(&b, total);
	assert_content(&b, "xyz");
	buf_append_str(&b, "\n");
	assert_true(buf_line(&b, &line_len, &total));
	assert_int_equal(line_len, 3);
	assert_int_equal(total, 4);
	buf_release(&b);
}

static void test_log_escape(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(log_escape(out, sizeof(out), "plain text", 100), "plain text");
	assert_string_equal(log_escape(out, sizeof(out), "say \"hi\"", 100), "say \\\"hi\\\"");
	assert_string_equal(log_escape(out, sizeof(out), "back\\slash", 100), "back\\\\slash");
	assert_string_equal(log_escape(out, sizeof(out), "a\r\nb\tc\x7f\xff", 100),
			    "a\\x0d\\x0ab\\x09c\\x7f\\xff");
	assert_string_equal(log_escape(out, sizeof(out), "", 100), "");

	/* max_in bounds the reading: the input need not be NUL-terminated */
	char raw[4] = { 'a', 'b', 'c', 'd' };
	assert_string_equal(log_escape(out, sizeof(out), raw, sizeof(raw)), "abcd");
	assert_string_equal(log_escape(out, sizeof(out), raw, 2), "ab");

	/* output too small: cut, marked with an ellipsis, always terminated */
	char in[200];
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	log_escape(out, sizeof(out), in, sizeof(in));
	assert_true(strlen(out) < sizeof(out));
	assert_true(strlen(out) > 40);
	assert_string_equal(out + strlen(out) - 3, "...");

	/* escapes are never cut in half */
	memset(in, '\n', sizeof(in) - 1);
	log_escape(out, sizeof(out), in, sizeof(in));
	assert_true(strlen(out) < sizeof(out));
	size_t body = strlen(out) - 3;
	assert_string_equal(out + body, "...");
	assert_int_equal(body % 4, 0);
	for (size_t i = 0; i < body; i += 4)
		assert_memory_equal(out + i, "\\x0a", 4);

	/* tiny outputs */
	char one[1] = { 'q' };
	log_escape(one, sizeof(one), "abc", 3);
	assert_int_equal(one[0], '\0');
	char small[8];
	log_escape(small, sizeof(small), "abcdefghijkl", 12);
	assert_true(strlen(small) < sizeof(small));
	assert_string_equal(log_escape(out, 0, "abc", 3), out);    /* no write at all */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_log_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
