/* test-queue-route - the transport table and the smarthost's address:
 * names, IPv4 and [IPv6] hosts with and without a port, TLS policies,
 * the lookup without case and final dot, and broken input (every
 * prefix and each rule broken once) refused with a reason, never a
 * crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue-route.h"

static void test_host_forms(void **state)
{
	struct queue_route r;

	(void)state;
	assert_null(queue_route_parse_host("smtp.example.org", 16, &r));
	assert_string_equal(r.host, "smtp.example.org");
	assert_int_equal(r.port, 25);
	assert_null(queue_route_parse_host("192.0.2.1:587", 13, &r));
	assert_string_equal(r.host, "192.0.2.1");
	assert_int_equal(r.port, 587);
	assert_null(queue_route_parse_host("[2001:db8::1]:465", 17, &r));
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.port, 465);
	assert_null(queue_route_parse_host("[::1]", 5, &r));
	assert_string_equal(r.host, "::1");
	assert_int_equal(r.port, 25);
	/* only the first len bytes count */
	assert_null(queue_route_parse_host("a.example:2525,junk", 14, &r));
	assert_int_equal(r.port, 2525);
}

static void test_host_broken(void **state)
{
	static const char *const bad[] = {
		"", ":25", "host:", "host:0", "host:65536", "host:123456", "host:2x",
		"[::1", "[::1]x", "[::1]:", "[nothost]", "2001:db8::1", "ho st", "host/x",
		"h\xc3\xa9st",
	};
	struct queue_route r;
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(queue_route_parse_host(bad[i], strlen(bad[i]), &r));
	memset(big, 'a', sizeof(big));
	assert_non_null(queue_route_parse_host(big, sizeof(big), &r));
}

static void test_table(void **state)
{
	struct queue_route *routes;
	size_t n;

	(void)state;
	assert_null(queue_route_parse_table("", &routes, &n));
	assert_int_equal(n, 0);
	assert_null(routes);
	assert_null(queue_route_parse_table(
		" Example.ORG.=mx.example.net:2525/encrypt, b.test=127.0.0.1 ,c.test=[::1]:26/none",
		&routes, &n));
	assert_int_equal(n, 3);
	assert_string_equal(routes[0].domain, "example.org");
	assert_string_equal(routes[0].host, "mx.example.net");
	assert_int_equal(routes[0].port, 2525);
	assert_int_equal(routes[0].tls, SMTP_CLIENT_TLS_ENCRYPT);
	assert_int_equal(routes[1].port, 25);
	assert_int_equal(routes[1].tls, SMTP_CLIENT_TLS_MAY);
	assert_int_equal(routes[2].tls, SMTP_CLIENT_TLS_NONE);
	assert_string_equal(routes[2].host, "::1");

	assert_ptr_equal(queue_route_find(routes, n, "EXAMPLE.org"), &routes[0]);
	assert_ptr_equal(queue_route_find(routes, n, "b.test."), &routes[1]);
	assert_null(queue_route_find(routes, n, "sub.example.org"));
	assert_null(queue_route_find(routes, n, "example.or"));
	assert_null(queue_route_find(routes, n, ""));
	free(routes);
}

static void test_table_broken(void **state)
{
	static const char *const bad[] = {
		"example.org", "=host", "example.org=", "exa mple.org=host", "ex_ample.org=host",
		"example.org=host/", "example.org=host/sometimes", "example.org=host:99999",
		"a.test=host, b.test", ".=host", "a.test=[::1", "a..test=host", ".a.test=host",
		"a.test..=host",
	};
	static const char good[] = "a.test=[2001:db8::2]:2525/verify";
	struct queue_route *routes = (struct queue_route *)1;
	size_t n = 7;
	char prefix[sizeof(good)];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(queue_route_parse_table(bad[i], &routes, &n));
		assert_null(routes);
		assert_int_equal(n, 0);
	}
	/* every prefix parses or is refused, never read past */
	for (size_t len = 0; len < sizeof(good); len++) {
		memcpy(prefix, good, len);
		prefix[len] = '\0';
		if (queue_route_parse_table(prefix, &routes, &n) == NULL)
			free(routes);
	}
}

static void test_table_bound(void **state)
{
	size_t len = (QUEUE_ROUTE_MAX + 1) * 12 + 1;
	char *text = malloc(len), *p = text;
	struct queue_route *routes;
	size_t n;

	(void)state;
	assert_non_null(text);
	for (unsigned i = 0; i <= QUEUE_ROUTE_MAX; i++)
		p += sprintf(p, "d%04u.t=h,", i % 10000);
	assert_string_equal(queue_route_parse_table(text, &routes, &n), "too many entries");
	assert_null(routes);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_forms),
		cmocka_unit_test(test_host_broken),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_broken),
		cmocka_unit_test(test_table_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
