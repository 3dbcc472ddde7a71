/* test-mail-address - the address-list reader (mail-address.h): plain and
 * named mailboxes, groups, comments, quoted local parts, domain literals,
 * the obsolete route, a local part alone, and the broken forms, each of
 * which costs its own element only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-address.h"

/* The addresses read, joined by " | ". */
struct collected {
	char text[2048];
	unsigned n;
};

static void collect(void *ctx, const char *addr, size_t len)
{
	struct collected *c = ctx;
	size_t used = strlen(c->text);

	assert_int_equal(strlen(addr), len);
	snprintf(c->text + used, sizeof(c->text) - used, "%s%s", c->n > 0 ? " | " : "", addr);
	c->n++;
}

/* value gives `want` with `errors` broken elements. */
static void check(const char *value, const char *want, unsigned errors)
{
	struct collected c = { .text = "" };
	unsigned got = mail_address_list(value, strlen(value), collect, &c);

	if (strcmp(c.text, want) != 0 || got != errors)
		fail_msg("\"%s\": got \"%s\" with %u errors, want \"%s\" with %u", value, c.text, got,
			 want, errors);
}

static void test_mailboxes(void **state)
{
	(void)state;
	check("a@example.org", "a@example.org", 0);
	check(" a@example.org , b@example.net ", "a@example.org | b@example.net", 0);
	check("Alice <alice@example.org>", "alice@example.org", 0);
	check("\"Smith, John\" <john@example.org>, Bob Q. Public <bob@example.org>",
	      "john@example.org | bob@example.org", 0);
	check("alice@example.org (Alice), (who) bob @ example . org",
	      "alice@example.org | bob@example.org", 0);
	check("Nested (a (b) \\) c) <x@y.example>", "x@y.example", 0);
	check("\"quoted local\"@example.org", "\"quoted local\"@example.org", 0);
	check("\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org", 0);
	check("first.last@example.org", "first.last@example.org", 0);
	check("x@[192.0.2.1], y@[IPv6:2001:db8::1]", "x@[192.0.2.1] | y@[IPv6:2001:db8::1]", 0);
	check("<@hop1,@hop2:user@example.org>", "user@example.org", 0);
	check("jörg@bücher.example", "jörg@bücher.example", 0);
	/* sendmail's unqualified names, for the caller to qualify */
	check("root", "root", 0);
	check("root, Admin <admin>", "root | admin", 0);
	/* empty elements and an empty list */
	check("", "", 0);
	check(" , a@b.example,, ,", "a@b.example", 0);
}

static void test_groups(void **state)
{
	(void)state;
	check("undisclosed-recipients:;", "", 0);
	check("team: a@example.org, B <b@example.org>;, c@example.org",
	      "a@example.org | b@example.org | c@example.org", 0);
	check("team: a@example.org", "a@example.org", 0);
	check("team: a@example.org; junk", "a@example.org", 1);
	/* no groups inside groups */
	check("a: b: c@example.org;;", "", 2);
}

static void test_broken(void **state)
{
	(void)state;
	check("<a@example.org", "", 1);
	check("\"open@example.org, b@example.org", "", 1);
	check("(open a@example.org", "", 1);
	check("a@, b@example.org", "b@example.org", 1);
	check("@example.org, b@example.org", "b@example.org", 1);
	check(".a@example.org, a.@example.org, a..b@example.org, ok@example.org",
	      "ok@example.org", 3);
	check("a@b@c, d@example.org", "d@example.org", 1);
	check("a@example.org junk, b@example.org", "b@example.org", 1);
	check("<>, b@example.org", "b@example.org", 1);
	check("Name <a@example.org> trailing, b@example.org", "b@example.org", 1);
	check("x@[1.2[3]], y@example.org", "y@example.org", 1);
	check("bad\001ctl@example.org, y@example.org", "y@example.org", 1);
	check("\"ctl\001\"@example.org, y@example.org", "y@example.org", 1);
	check("\"pair\\\001\"@example.org, y@example.org", "y@example.org", 1);
	check("; , y@example.org", "y@example.org", 1);
	check(">, y@example.org", "y@example.org", 1);
	check("a@example.org\\", "", 1);
	{
		/* NUL is a control character like the others */
		static const char nul[] = "a\0b@example.org, c@example.org";
		struct collected c = { .text = "" };

		assert_int_equal(mail_address_list(nul, sizeof(nul) - 1, collect, &c), 1);
		assert_string_equal(c.text, "c@example.org");
	}
}

static void test_bound(void **state)
{
	char value[1200];

	(void)state;
	/* MAIL_ADDRESS_MAX octets exactly, then one more */
	memset(value, 'a', MAIL_ADDRESS_MAX - 12);
	snprintf(value + MAIL_ADDRESS_MAX - 12, sizeof(value) - (MAIL_ADDRESS_MAX - 12),
		 "@example.org");
	check(value, value, 0);
	memset(value, 'a', MAIL_ADDRESS_MAX - 11);
	snprintf(value + MAIL_ADDRESS_MAX - 11, sizeof(value) - (MAIL_ADDRESS_MAX - 11),
		 "@example.org, b@example.org");
	check(value, "b@example.org", 1);
	/* a long display name costs nothing */
	memset(value, 'n', 1000);
	snprintf(value + 1000, sizeof(value) - 1000, " <a@example.org>");
	check(value, "a@example.org", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailboxes),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
