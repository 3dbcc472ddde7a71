/* test-imap-list - LIST's pattern matcher (RFC 9051 6.3.9): "*" and "%"
 * at either end and in the middle, the hierarchy delimiter, empty
 * patterns and names, and patterns that would take a backtracking
 * matcher exponential time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-commands.h"

static void test_wildcards(void **state)
{
	(void)state;
	assert_true(imap_list_match("*", "INBOX"));
	assert_true(imap_list_match("*", "a/b/c"));
	assert_true(imap_list_match("%", "INBOX"));
	assert_false(imap_list_match("%", "a/b"));
	assert_true(imap_list_match("a/%", "a/b"));
	assert_false(imap_list_match("a/%", "a/b/c"));
	assert_true(imap_list_match("a/*", "a/b/c"));
	assert_false(imap_list_match("a/*", "a"));
	assert_true(imap_list_match("a*", "a"));
	assert_true(imap_list_match("%/%", "a/b"));
	assert_true(imap_list_match("*c", "a/b/c"));
	assert_true(imap_list_match("a%c", "abbc"));
	assert_false(imap_list_match("a%c", "ab/c"));
	assert_true(imap_list_match("Sent", "Sent"));
	assert_false(imap_list_match("Sent", "sent"));
	assert_false(imap_list_match("Sent", "Sent2"));
}

static void test_empty_and_hard(void **state)
{
	char name[4096], pattern[200];

	(void)state;
	assert_true(imap_list_match("", ""));
	assert_false(imap_list_match("", "a"));
	assert_true(imap_list_match("*", ""));
	assert_true(imap_list_match("%", ""));
	assert_false(imap_list_match("a", ""));
	/* "*a*a*a...b" against "aaaa...": quadratic here, not exponential */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (size_t i = 0; i + 2 < sizeof(pattern); i += 2) {
		pattern[i] = '*';
		pattern[i + 1] = 'a';
	}
	pattern[sizeof(pattern) - 2] = 'b';
	pattern[sizeof(pattern) - 1] = '\0';
	assert_false(imap_list_match(pattern, name));
	pattern[sizeof(pattern) - 2] = '*';
	assert_true(imap_list_match(pattern, name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_empty_and_hard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
