/* test-number - bounded decimal numbers and hex digits (core/number). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/number.h"

static bool parse(const char *text, uint64_t max, uint64_t *v)
{
	return number_parse_u64(text, strlen(text), max, v);
}

static void test_numbers(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(parse("1", UINT32_MAX, &v));
	assert_int_equal(v, 1);
	assert_true(parse("4294967295", UINT32_MAX, &v));
	assert_int_equal(v, 4294967295u);
	assert_false(parse("4294967296", UINT32_MAX, &v));
	assert_true(parse("18446744073709551615", UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_false(parse("18446744073709551616", UINT64_MAX, &v));
	assert_false(parse("99999999999999999999999", UINT64_MAX, &v));
	assert_false(parse("", UINT32_MAX, &v));
	assert_false(parse("-1", UINT32_MAX, &v));
	assert_false(parse("+1", UINT32_MAX, &v));
	assert_false(parse(" 1", UINT32_MAX, &v));
	assert_false(parse("1a", UINT32_MAX, &v));
	assert_false(parse("5", 3, &v));
	assert_true(parse("007", 9, &v));
	assert_int_equal(v, 7);
	assert_true(parse("0", 0, &v));
	assert_int_equal(v, 0);
}

static void test_length(void **state)
{
	uint64_t v = 0;

	(void)state;
	/* Only the given length counts: the text need not be NUL-terminated. */
	assert_true(number_parse_u64("123 LAST", 3, UINT64_MAX, &v));
	assert_int_equal(v, 123);
	assert_false(number_parse_u64("12\0" "3", 4, UINT64_MAX, &v));
	assert_false(number_parse_u64("1", 0, UINT64_MAX, &v));
}

static void test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(number_hex_digit('0'), 0);
	assert_int_equal(number_hex_digit('9'), 9);
	assert_int_equal(number_hex_digit('a'), 10);
	assert_int_equal(number_hex_digit('F'), 15);
	assert_int_equal(number_hex_digit('g'), -1);
	assert_int_equal(number_hex_digit('G'), -1);
	assert_int_equal(number_hex_digit(' '), -1);
	assert_int_equal(number_hex_digit('/'), -1);
	assert_int_equal(number_hex_digit(0xe9), -1);
	assert_int_equal(number_hex_digit('\0'), -1);
}

static void test_base64_digit(void **state)
{
	(void)state;
	assert_int_equal(number_base64_digit('A'), 0);
	assert_int_equal(number_base64_digit('Z'), 25);
	assert_int_equal(number_base64_digit('a'), 26);
	assert_int_equal(number_base64_digit('z'), 51);
	assert_int_equal(number_base64_digit('0'), 52);
	assert_int_equal(number_base64_digit('9'), 61);
	assert_int_equal(number_base64_digit('+'), 62);
	assert_int_equal(number_base64_digit('/'), 63);
	assert_int_equal(number_base64_digit('='), -1);
	assert_int_equal(number_base64_digit('-'), -1);
	assert_int_equal(number_base64_digit(','), -1);
	assert_int_equal(number_base64_digit(0xc3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_base64_digit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
