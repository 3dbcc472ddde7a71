/* test-imap-date - IMAP's date-time (imap-date.h): every form of the day,
 * zones either side of UTC, dates that do not exist and broken text, and
 * what is written read back the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-date.h"

static int64_t parse_ok(const char *text)
{
	int64_t when = -1;

	if (!imap_date_time_parse(text, strlen(text), &when))
		fail_msg("refused: '%s'", text);
	return when;
}

static void test_forms(void **state)
{
	(void)state;
	/* RFC 9051 8 example: 17-Jul-1996 02:44:25 -0700 = 09:44:25 UTC */
	assert_int_equal(parse_ok("17-Jul-1996 02:44:25 -0700"), 837596665);
	assert_int_equal(parse_ok("17-jul-1996 09:44:25 +0000"), 837596665);
	assert_int_equal(parse_ok("17-Jul-1996 11:44:25 +0200"), 837596665);
	/* the day as " 7", "07" and "7" */
	assert_int_equal(parse_ok(" 7-Feb-2026 00:00:00 +0000"), parse_ok("07-Feb-2026 00:00:00 +0000"));
	assert_int_equal(parse_ok("7-Feb-2026 00:00:00 +0000"), parse_ok("07-Feb-2026 00:00:00 +0000"));
	assert_int_equal(parse_ok("01-Jan-1970 00:00:00 +0000"), 0);
	parse_ok("29-Feb-2024 12:00:00 +0000");
	parse_ok("31-Dec-2099 23:59:60 +1400");
}

static void test_broken(void **state)
{
	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
		"17-Jux-1996 02:44:25 -0700", "32-Jan-2020 00:00:00 +0000",
		"29-Feb-2023 00:00:00 +0000", "00-Jan-2020 00:00:00 +0000",
		"17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000",
		"17-Jul-1996 02:44:25 +2400", "17-Jul-1969 02:44:25 +0000",
		"17-Jul-96 02:44:25 +0000", "17 Jul 1996 02:44:25 +0000",
		"117-Jul-1996 02:44:25 +0000", "17-Jul-1996 02:44:25 -07000",
		"1a-Jul-1996 02:44:25 +0000", "01-Jan-1970 00:00:00 +0100",
		"  7-Feb-2026 00:00:00 +0000",
	};
	int64_t when;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (imap_date_time_parse(bad[i], strlen(bad[i]), &when))
			fail_msg("accepted: '%s'", bad[i]);
	/* a NUL inside is not a date */
	assert_false(imap_date_time_parse("17-Jul-1996\0002:44:25 +0000", 26, &when));
}

static void test_write(void **state)
{
	char out[IMAP_DATE_TIME_MAX];
	int64_t values[] = { 0, 837596665, 1700000000, 4102444799 };

	(void)state;
	imap_date_time_write(837596665, out);
	assert_string_equal(out, "17-Jul-1996 09:44:25 +0000");
	imap_date_time_write(1770422400, out);
	assert_string_equal(out, "07-Feb-2026 00:00:00 +0000");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		imap_date_time_write(values[i], out);
		assert_int_equal(parse_ok(out), values[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
