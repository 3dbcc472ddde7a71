/* test-cidr - network lists and membership (core/cidr), as [smtp]
 * trusted_networks uses them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cidr.h"

static struct cidr_list *parse_ok(const char *text)
{
	struct cidr_list *list = NULL;
	char *error = NULL;

	if (cidr_list_parse(text, &list, &error) < 0)
		fail_msg("'%s': %s", text, error);
	assert_null(error);
	return list;
}

static void parse_fails(const char *text, const char *expected)
{
	struct cidr_list *list = NULL;
	char *error = NULL;

	assert_int_equal(cidr_list_parse(text, &list, &error), -1);
	assert_null(list);
	assert_non_null(error);
	assert_string_equal(error, expected);
	free(error);
}

static void test_match(void **state)
{
	struct cidr_list *list = parse_ok(" 192.0.2.0/24, 10.0.0.0/8,127.0.0.1 , 2001:db8::/32,"
					  "::1, 198.51.100.128/25 ");

	(void)state;
	assert_int_equal(cidr_list_count(list), 6);
	assert_true(cidr_list_match(list, "192.0.2.0"));
	assert_true(cidr_list_match(list, "192.0.2.255"));
	assert_false(cidr_list_match(list, "192.0.3.1"));
	assert_true(cidr_list_match(list, "10.255.255.255"));
	assert_false(cidr_list_match(list, "11.0.0.1"));
	assert_true(cidr_list_match(list, "127.0.0.1"));
	assert_false(cidr_list_match(list, "127.0.0.2"));
	assert_true(cidr_list_match(list, "198.51.100.128"));
	assert_true(cidr_list_match(list, "198.51.100.255"));
	assert_false(cidr_list_match(list, "198.51.100.127"));
	assert_true(cidr_list_match(list, "2001:db8::1"));
	assert_true(cidr_list_match(list, "2001:db8:ffff:ffff::"));
	assert_false(cidr_list_match(list, "2001:db9::1"));
	assert_true(cidr_list_match(list, "::1"));
	assert_false(cidr_list_match(list, "::2"));
	/* An IPv4-mapped IPv6 address is its IPv4 address. */
	assert_true(cidr_list_match(list, "::ffff:192.0.2.7"));
	assert_false(cidr_list_match(list, "::ffff:192.0.3.7"));
	/* Not addresses. */
	assert_false(cidr_list_match(list, "localhost"));
	assert_false(cidr_list_match(list, ""));
	assert_false(cidr_list_match(list, NULL));
	cidr_list_free(&list);
	assert_null(list);
}

static void test_edges(void **state)
{
	struct cidr_list *list;

	(void)state;
	/* The empty list holds nothing: loopback is not trusted by default. */
	list = parse_ok("");
	assert_int_equal(cidr_list_count(list), 0);
	assert_false(cidr_list_match(list, "127.0.0.1"));
	cidr_list_free(&list);
	list = parse_ok("   ");
	assert_int_equal(cidr_list_count(list), 0);
	cidr_list_free(&list);
	assert_false(cidr_list_match(NULL, "127.0.0.1"));

	/* /0 is everything of its family, and only of it. */
	list = parse_ok("0.0.0.0/0");
	assert_true(cidr_list_match(list, "203.0.113.9"));
	assert_false(cidr_list_match(list, "2001:db8::1"));
	cidr_list_free(&list);
	list = parse_ok("::/0");
	assert_true(cidr_list_match(list, "2001:db8::1"));
	assert_false(cidr_list_match(list, "203.0.113.9"));
	cidr_list_free(&list);

	/* Odd prefixes compare the bits of a partial byte. */
	list = parse_ok("192.0.2.64/27, 2001:db8:8000::/33");
	assert_true(cidr_list_match(list, "192.0.2.95"));
	assert_false(cidr_list_match(list, "192.0.2.96"));
	assert_false(cidr_list_match(list, "192.0.2.63"));
	assert_true(cidr_list_match(list, "2001:db8:ffff::1"));
	assert_false(cidr_list_match(list, "2001:db8:7fff::1"));
	cidr_list_free(&list);
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("192.0.2.1/24",
		    "'192.0.2.1/24': address bits set beyond the prefix (write the network address)");
	parse_fails("2001:db8::1/32",
		    "'2001:db8::1/32': address bits set beyond the prefix (write the network address)");
	parse_fails("192.0.2.0/33", "'192.0.2.0/33': an IPv4 prefix is at most 32 bits");
	parse_fails("::/129", "'::/129': an IPv6 prefix is at most 128 bits");
	parse_fails("192.0.2.0/", "'192.0.2.0/': the prefix must be a number of bits");
	parse_fails("192.0.2.0/2x", "'192.0.2.0/2x': the prefix must be a number of bits");
	parse_fails("192.0.2.0/0024", "'192.0.2.0/0024': the prefix must be a number of bits");
	parse_fails("mail.example.org", "'mail.example.org': not an IP address or ADDRESS/PREFIX");
	parse_fails("192.0.2.0/24,", "empty element in the network list");
	parse_fails("192.0.2.0/24,,10.0.0.0/8", "empty element in the network list");
	parse_fails(",192.0.2.0/24", "empty element in the network list");
	parse_fails("[::1]", "'[::1]': not an IP address or ADDRESS/PREFIX");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
