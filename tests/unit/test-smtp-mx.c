/* test-smtp-mx - MX ordering (RFC 5321 5.1, RFC 7505): preference order,
 * every order among equal preferences reached, ourselves and everything
 * not better dropped, the loop when we are the best, the implicit MX,
 * the null MX, DNS failures, bracketed literals and bad names skipped,
 * numeric exchangers kept (as Postfix); and
 * the order of an exchanger's addresses under each address preference. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-mx.h"

/* An MX answer from "pref host" pairs. */
static struct dns_answer *mx_answer(size_t n, const unsigned *prefs, const char *const *hosts)
{
	struct dns_answer *a = dns_answer_status(DNS_TYPE_MX, n > 0 ? DNS_OK : DNS_NODATA);

	a->u.mx = calloc(n > 0 ? n : 1, sizeof(*a->u.mx));
	for (size_t i = 0; i < n; i++) {
		a->u.mx[i].preference = (uint16_t)prefs[i];
		a->u.mx[i].host = strdup(hosts[i]);
	}
	a->count = n;
	return a;
}

/* A "random" source that always picks the first choice. */
static uint32_t pick_zero(uint32_t bound)
{
	(void)bound;
	return 0;
}

static const char *const self[] = { "Mail.Example.NET." };

static void test_order(void **state)
{
	static const unsigned prefs[] = { 30, 10, 20, 10 };
	static const char *const hosts[] = { "c.example.org", "A.example.org.", "b.example.org",
					     "a2.example.org" };
	struct dns_answer *a = mx_answer(4, prefs, hosts);
	struct smtp_mx_list list;

	(void)state;
	assert_int_equal(smtp_mx_order("example.org", a, self, 1, pick_zero, &list), SMTP_MX_OK);
	assert_int_equal(list.count, 4);
	assert_false(list.implicit);
	assert_int_equal(list.hosts[0].preference, 10);
	assert_int_equal(list.hosts[1].preference, 10);
	assert_int_equal(list.hosts[2].preference, 20);
	assert_string_equal(list.hosts[2].name, "b.example.org");
	assert_string_equal(list.hosts[3].name, "c.example.org");
	/* names are lower case, without the final dot */
	assert_true(strcmp(list.hosts[0].name, "a.example.org") == 0 ||
		    strcmp(list.hosts[1].name, "a.example.org") == 0);
	dns_answer_free(&a);
}

/* Among equal preferences every order comes up (with the real random source). */
static void test_random_among_equals(void **state)
{
	static const unsigned prefs[] = { 10, 10, 10, 5 };
	static const char *const hosts[] = { "x.test", "y.test", "z.test", "first.test" };
	struct dns_answer *a = mx_answer(4, prefs, hosts);
	struct smtp_mx_list list;
	int seen[3] = { 0 };

	(void)state;
	for (int round = 0; round < 300; round++) {
		assert_int_equal(smtp_mx_order("example.test", a, NULL, 0, NULL, &list), SMTP_MX_OK);
		assert_string_equal(list.hosts[0].name, "first.test");
		seen[list.hosts[1].name[0] - 'x']++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(seen[i] > 30);
	dns_answer_free(&a);
}

static void test_self(void **state)
{
	static const unsigned prefs[] = { 10, 20, 20, 30, 5 };
	static const char *const hosts[] = { "mx1.example.org", "mail.example.net", "mx2.example.org",
					     "mx3.example.org", "best.example.org" };
	struct dns_answer *a = mx_answer(5, prefs, hosts);
	struct smtp_mx_list list;

	(void)state;
	/* we are at 20: 20 and above go, also the other 20 */
	assert_int_equal(smtp_mx_order("example.org", a, self, 1, pick_zero, &list), SMTP_MX_OK);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.hosts[0].name, "best.example.org");
	assert_string_equal(list.hosts[1].name, "mx1.example.org");
	dns_answer_free(&a);

	/* we are the best: the mail loops back */
	{
		static const unsigned p2[] = { 20, 10 };
		static const char *const h2[] = { "backup.example.org", "MAIL.example.net" };

		a = mx_answer(2, p2, h2);
		assert_int_equal(smtp_mx_order("example.org", a, self, 1, pick_zero, &list),
				 SMTP_MX_LOOP);
		assert_int_equal(list.count, 0);
		assert_int_equal(smtp_mx_result_status(SMTP_MX_LOOP)->code, 554);
		assert_string_equal(smtp_mx_result_status(SMTP_MX_LOOP)->enhanced, "5.4.6");
		dns_answer_free(&a);
	}
}

static void test_implicit_and_failures(void **state)
{
	struct dns_answer *a = mx_answer(0, NULL, NULL);
	struct smtp_mx_list list;

	(void)state;
	/* RFC 5321 5.1: no MX records, the domain itself */
	assert_int_equal(smtp_mx_order("Example.ORG.", a, self, 1, NULL, &list), SMTP_MX_OK);
	assert_true(list.implicit);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.hosts[0].name, "example.org");
	assert_int_equal(list.hosts[0].preference, 0);
	/* ... unless that is us */
	assert_int_equal(smtp_mx_order("mail.example.net", a, self, 1, NULL, &list), SMTP_MX_LOOP);
	/* or no name */
	assert_int_equal(smtp_mx_order("[192.0.2.1]", a, self, 1, NULL, &list), SMTP_MX_NO_DOMAIN);
	assert_int_equal(smtp_mx_order("a..b", a, self, 1, NULL, &list), SMTP_MX_NO_DOMAIN);
	dns_answer_free(&a);

	a = dns_answer_status(DNS_TYPE_MX, DNS_NXDOMAIN);
	assert_int_equal(smtp_mx_order("nope.example", a, self, 1, NULL, &list), SMTP_MX_NO_DOMAIN);
	assert_int_equal(smtp_mx_result_status(SMTP_MX_NO_DOMAIN)->code, 550);
	dns_answer_free(&a);
	a = dns_answer_status(DNS_TYPE_MX, DNS_TEMPFAIL);
	assert_int_equal(smtp_mx_order("slow.example", a, self, 1, NULL, &list), SMTP_MX_TEMPFAIL);
	assert_int_equal(smtp_mx_result_status(SMTP_MX_TEMPFAIL)->code / 100, 4);
	assert_int_equal(list.count, 0);
	dns_answer_free(&a);
	a = dns_answer_status(DNS_TYPE_MX, DNS_BADNAME);
	assert_int_equal(smtp_mx_order("x", a, self, 1, NULL, &list), SMTP_MX_NO_DOMAIN);
	dns_answer_free(&a);
}

static void test_null_mx(void **state)
{
	static const unsigned prefs[] = { 0, 10 };
	static const char *const hosts[] = { "", "mx.example.org" };
	struct dns_answer *a = mx_answer(1, prefs, hosts);
	struct smtp_mx_list list;

	(void)state;
	/* RFC 7505: "0 ." alone: no mail, at once */
	assert_int_equal(smtp_mx_order("example.org", a, self, 1, NULL, &list), SMTP_MX_NULL);
	assert_int_equal(smtp_mx_result_status(SMTP_MX_NULL)->code, 556);
	assert_string_equal(smtp_mx_result_status(SMTP_MX_NULL)->enhanced, "5.1.10");
	dns_answer_free(&a);
	/* beside another record it is a mistake: the other is used */
	a = mx_answer(2, prefs, hosts);
	assert_int_equal(smtp_mx_order("example.org", a, self, 1, NULL, &list), SMTP_MX_OK);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.hosts[0].name, "mx.example.org");
	dns_answer_free(&a);
}

static void test_unusable(void **state)
{
	static const unsigned prefs[] = { 10, 20, 30, 30, 40 };
	static const char *const hosts[] = { "[192.0.2.9]", "bad name.test", "192.0.2.1.",
					     "2001:db8::1", "ok.test" };
	struct dns_answer *a = mx_answer(5, prefs, hosts);
	struct smtp_mx_list list;

	(void)state;
	/* as Postfix: a bracketed literal and a bad name are skipped, an
	 * exchanger written as a numeric address is kept (dns_lookup answers
	 * it with itself) */
	assert_int_equal(smtp_mx_order("example.test", a, self, 1, NULL, &list), SMTP_MX_OK);
	assert_int_equal(list.count, 3);
	assert_int_equal(list.hosts[0].preference, 30);
	assert_true((strcmp(list.hosts[0].name, "192.0.2.1") == 0 &&
		     strcmp(list.hosts[1].name, "2001:db8::1") == 0) ||
		    (strcmp(list.hosts[1].name, "192.0.2.1") == 0 &&
		     strcmp(list.hosts[0].name, "2001:db8::1") == 0));
	assert_string_equal(list.hosts[2].name, "ok.test");
	dns_answer_free(&a);
	/* nothing usable left: a temporary failure */
	a = mx_answer(2, prefs, hosts);
	assert_int_equal(smtp_mx_order("example.test", a, self, 1, NULL, &list), SMTP_MX_NO_HOST);
	assert_int_equal(smtp_mx_result_status(SMTP_MX_NO_HOST)->code / 100, 4);
	dns_answer_free(&a);
}

static void test_addresses(void **state)
{
	const char *texts[] = { "192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2" };
	struct dns_addr addrs[4];
	char out[64];
	size_t n;

	(void)state;
	for (int pref = 0; pref < ADDRESS_PREFERENCE__COUNT; pref++) {
		static const char *const want[][4] = {
			[ADDRESS_PREFER_IPV6] = { "2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2" },
			[ADDRESS_PREFER_IPV4] = { "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2" },
			[ADDRESS_IPV6_ONLY] = { "2001:db8::1", "2001:db8::2", NULL, NULL },
			[ADDRESS_IPV4_ONLY] = { "192.0.2.1", "192.0.2.2", NULL, NULL },
		};

		for (int i = 0; i < 4; i++) {
			memset(&addrs[i], 0, sizeof(addrs[i]));
			addrs[i].family = strchr(texts[i], ':') != NULL ? AF_INET6 : AF_INET;
			assert_int_equal(inet_pton(addrs[i].family, texts[i], &addrs[i].u), 1);
		}
		n = smtp_mx_order_addresses(addrs, 4, (enum address_preference)pref);
		assert_int_equal(n, pref >= ADDRESS_IPV6_ONLY ? 2 : 4);
		for (size_t i = 0; i < n; i++) {
			inet_ntop(addrs[i].family, &addrs[i].u, out, sizeof(out));
			assert_string_equal(out, want[pref][i]);
		}
	}
	assert_int_equal(smtp_mx_order_addresses(addrs, 0, ADDRESS_PREFER_IPV6), 0);
	assert_false(smtp_mx_wants(ADDRESS_IPV4_ONLY, AF_INET6));
	assert_true(smtp_mx_wants(ADDRESS_IPV4_ONLY, AF_INET));
	assert_false(smtp_mx_wants(ADDRESS_IPV6_ONLY, AF_INET));
	assert_true(smtp_mx_wants(ADDRESS_PREFER_IPV4, AF_INET6));
	{
		enum address_preference p;

		assert_int_equal(address_preference_parse("ipv4-only", &p), 0);
		assert_int_equal(p, ADDRESS_IPV4_ONLY);
		assert_int_equal(address_preference_parse("IPv4", &p), -1);
		assert_string_equal(address_preference_name(ADDRESS_PREFER_IPV6), "ipv6");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_random_among_equals),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_implicit_and_failures),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
