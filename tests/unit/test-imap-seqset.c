/* test-imap-seqset - sequence sets read by the RFC 9051 9 grammar ("*",
 * reversed ranges, "$", no 0, no leading zeros, bounded), merged, looked
 * up, and UID lists written back compactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-seqset.h"

/* The set as "lo-hi,lo-hi", or "BAD". */
static char *ranges(const char *s, uint32_t star, size_t max)
{
	struct imap_seqset set;
	struct buf out;

	buf_init(&out, 0);
	if (!imap_seqset_parse(s, star, max, &set)) {
		buf_append_str(&out, "BAD");
	} else {
		if (set.saved)
			buf_append_str(&out, "$");
		for (size_t i = 0; i < set.n; i++) {
			assert_true(set.ranges[i].lo <= set.ranges[i].hi);
			assert_true(set.ranges[i].lo > 0);
			if (i > 0)
				assert_true(set.ranges[i].lo > set.ranges[i - 1].hi + 1);
			buf_printf(&out, "%s%u-%u", i > 0 ? "," : "", set.ranges[i].lo,
				   set.ranges[i].hi);
		}
		imap_seqset_free(&set);
		assert_null(set.ranges);
	}
	buf_append(&out, "", 1);
	return out.data;
}

static void check(const char *s, uint32_t star, const char *want)
{
	char *got = ranges(s, star, 100);

	assert_string_equal(got, want);
	free(got);
}

static void test_parse(void **state)
{
	(void)state;
	check("1", 10, "1-1");
	check("1:3", 10, "1-3");
	check("3:1", 10, "1-3");
	check("*", 10, "10-10");
	check("1:*", 10, "1-10");
	check("*:4", 10, "4-10");
	check("15:*", 10, "10-15");
	check("2,4:7,9,12:*", 15, "2-2,4-7,9-9,12-15");
	check("9,1,5:3", 10, "1-1,3-5,9-9");
	check("1:3,2:6,8,7", 10, "1-8");
	check("4294967295", 1, "4294967295-4294967295");
	check("1:4294967295,5", 1, "1-4294967295");
	check("4294967295,4294967294,1", 1, "1-1,4294967294-4294967295");
	check("$", 10, "$");
	/* In an empty mailbox "*" is 0: alone it holds nothing. */
	check("*", 0, "");
	check("1:*", 0, "");
	check("3,1:*", 0, "3-3");
	check("*,*:*", 0, "");
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"", "0", "0:5", "5:0", "01", "1:05", "4294967296", "1,", ",1", "1,,2",
		"1:", ":1", "1:2:3", "a", "1 ", " 1", "-1", "+1", "1:*x", "**", "$,1",
		"1,$", "$$", "1;2", "99999999999999999999",
	};
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = ranges(bad[i], 10, 100);
		if (strcmp(got, "BAD") != 0)
			print_error("\"%s\" accepted\n", bad[i]);
		assert_string_equal(got, "BAD");
		free(got);
	}
	/* Bounded before merging. */
	got = ranges("1,2,3", 10, 3);
	assert_string_equal(got, "1-3");
	free(got);
	got = ranges("1,2,3,4", 10, 3);
	assert_string_equal(got, "BAD");
	free(got);
}

static void test_contains(void **state)
{
	struct imap_seqset set;

	(void)state;
	assert_true(imap_seqset_parse("2,4:6,10:*", 20, 10, &set));
	assert_false(imap_seqset_contains(&set, 0));
	assert_false(imap_seqset_contains(&set, 1));
	assert_true(imap_seqset_contains(&set, 2));
	assert_false(imap_seqset_contains(&set, 3));
	assert_true(imap_seqset_contains(&set, 4));
	assert_true(imap_seqset_contains(&set, 6));
	assert_false(imap_seqset_contains(&set, 7));
	assert_true(imap_seqset_contains(&set, 20));
	assert_false(imap_seqset_contains(&set, 21));
	imap_seqset_free(&set);
	assert_true(imap_seqset_parse("$", 20, 10, &set));
	assert_true(set.saved);
	assert_false(imap_seqset_contains(&set, 1));
	imap_seqset_free(&set);
}

static void check_write(const uint32_t *nums, size_t n, const char *want)
{
	struct buf out;

	buf_init(&out, 0);
	imap_seqset_write(&out, nums, n);
	buf_append(&out, "", 1);
	assert_string_equal(out.data, want);
	buf_release(&out);
}

static void test_write(void **state)
{
	static const uint32_t a[] = { 1, 2, 3, 7, 9, 10 };
	static const uint32_t b[] = { 5 };
	static const uint32_t c[] = { 1, 1, 2, 4, 4 };
	static const uint32_t d[] = { 4294967294, 4294967295 };
	static const uint32_t e[] = { 1, 4294967295 };

	(void)state;
	check_write(a, 6, "1:3,7,9:10");
	check_write(b, 1, "5");
	check_write(a, 0, "");
	check_write(c, 5, "1:2,4");
	check_write(d, 2, "4294967294:4294967295");
	check_write(e, 2, "1,4294967295");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
