/* test-utf8 - well-formed UTF-8 (core/utf8): whole texts and one
 * character at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"

static size_t char_len(const char *s, size_t len)
{
	return utf8_char_len((const unsigned char *)s, len);
}

static bool valid(const char *s)
{
	return utf8_valid((const unsigned char *)s, strlen(s));
}

static void test_char_len(void **state)
{
	(void)state;
	assert_int_equal(char_len("a", 1), 1);
	assert_int_equal(char_len("\xc3\xa9x", 3), 2);          /* é */
	assert_int_equal(char_len("\xe2\x82\xac", 3), 3);       /* € */
	assert_int_equal(char_len("\xf0\x9f\x98\x80", 4), 4);   /* U+1F600 */
	assert_int_equal(char_len("", 0), 0);
	assert_int_equal(char_len("\0", 1), 0);                 /* NUL */
	assert_int_equal(char_len("\xc3", 1), 0);               /* cut short */
	assert_int_equal(char_len("\xe2\x82\xac", 2), 0);       /* cut by len */
	assert_int_equal(char_len("\x80", 1), 0);               /* continuation */
	assert_int_equal(char_len("\xc0\xaf", 2), 0);           /* overlong '/' */
	assert_int_equal(char_len("\xe0\x80\xaf", 3), 0);       /* overlong */
	assert_int_equal(char_len("\xed\xa0\x80", 3), 0);       /* surrogate */
	assert_int_equal(char_len("\xf4\x90\x80\x80", 4), 0);   /* > U+10FFFF */
	assert_int_equal(char_len("\xc3\x28", 2), 0);           /* bad continuation */
	assert_int_equal(char_len("\xff", 1), 0);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(valid(""));
	assert_true(valid("plain ASCII"));
	assert_true(valid("j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_false(valid("j\xc3"));
	assert_false(valid("\xed\xbf\xbf"));
	assert_false(utf8_valid((const unsigned char *)"a\0b", 3));
}

static void test_decode_encode(void **state)
{
	static const uint32_t cps[] = { 0x41, 0xe9, 0x7ff, 0x800, 0x20ac, 0xffff, 0x10000, 0x10ffff };
	unsigned char b[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		size_t n = utf8_encode(cps[i], b);

		assert_int_equal(utf8_char_len(b, n), n);
		assert_int_equal(utf8_decode(b, n), cps[i]);
	}
}

static void test_cut_tail(void **state)
{
	(void)state;
	assert_int_equal(utf8_cut_tail((const unsigned char *)"abc", 3), 0);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"a\xc3", 2), 1);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"a\xc3\xa9", 3), 0);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"\xe2\x82", 2), 2);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"\xf0\x9f\x98", 3), 3);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"\xf0\x9f\x98\x80", 4), 0);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"\x80\x80\x80", 3), 0);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"\xff", 1), 0);
	assert_int_equal(utf8_cut_tail((const unsigned char *)"", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_char_len),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_decode_encode),
		cmocka_unit_test(test_cut_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
