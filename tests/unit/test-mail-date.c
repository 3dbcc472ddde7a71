/* test-mail-date - the day of a Date: header (mail/mail-date.h), for
 * SEARCH SENTON and its kin: the RFC 5322 forms, the obsolete ones and
 * broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-date.h"

static uint32_t day(const char *s)
{
	return mail_date_parse_day(s, strlen(s));
}

static void test_parse_day(void **state)
{
	(void)state;
	assert_int_equal(day(" Tue, 1 Dec 2026 12:00:00 +0100"), 20261201);
	assert_int_equal(day("Fri, 21 Nov 1997 09:55:06 -0600"), 19971121);
	assert_int_equal(day("21 Nov 1997 09:55:06 GMT"), 19971121);        /* no day name */
	assert_int_equal(day("Thu,\r\n 13\r\n  Feb\r\n   1969 23:32 -0330 (NT)"), 19690213);
	assert_int_equal(day("(comment) Mon (x) , 01 jan 2001 00:00"), 20010101);
	assert_int_equal(day("Mon 01 JAN 2001 00:00"), 20010101);            /* no comma */
	assert_int_equal(day("1 Jan 49 00:00"), 20490101);                   /* 4.3 years */
	assert_int_equal(day("1 Jan 50 00:00"), 19500101);
	assert_int_equal(day("1 Jan 103 00:00"), 20030101);
	assert_int_equal(day("29 Feb 2024"), 20240229);
	/* Broken. */
	assert_int_equal(day(""), 0);
	assert_int_equal(day("yesterday"), 0);
	assert_int_equal(day("Tue, Dec 1 2026"), 0);
	assert_int_equal(day("32 Jan 2026"), 0);
	assert_int_equal(day("0 Jan 2026"), 0);
	assert_int_equal(day("29 Feb 2023"), 0);
	assert_int_equal(day("1 Foo 2026"), 0);
	assert_int_equal(day("1 Jan 2"), 0);
	assert_int_equal(day("1 Jan 20261"), 0);
	assert_int_equal(day("1 Ja"), 0);
	assert_int_equal(day("(unclosed comment"), 0);
	assert_int_equal(day("2026-12-01"), 0);
}

static void test_month(void **state)
{
	(void)state;
	assert_int_equal(mail_date_month("Jan", 3), 1);
	assert_int_equal(mail_date_month("dEC", 3), 12);
	assert_int_equal(mail_date_month("De@", 3), 0);
	assert_int_equal(mail_date_month("Decem", 5), 0);
	assert_string_equal(mail_date_month_name(1), "Jan");
	assert_string_equal(mail_date_month_name(12), "Dec");
	assert_string_equal(mail_date_month_name(13), "Jan");
	assert_int_equal(mail_date_day(2026, 12, 1), 20261201);
	assert_int_equal(mail_date_day(2026, 13, 1), 0);
	assert_int_equal(mail_date_day(1900, 2, 29), 0);
	assert_int_equal(mail_date_day(2000, 2, 29), 20000229);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_day),
		cmocka_unit_test(test_month),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
