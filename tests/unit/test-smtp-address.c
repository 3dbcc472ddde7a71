/* test-smtp-address - RFC 5321 paths, mailboxes and domains: the forms
 * real mail uses, the odd forms the RFC allows, broken ones, the length
 * limits, UTF-8 under SMTPUTF8 only, and the routing tricks reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-address.h"

static struct smtp_address addr;
static size_t used;

static enum smtp_address_result path(const char *text, enum smtp_path_kind kind, bool utf8)
{
	return smtp_address_parse_path(text, strlen(text), kind, utf8, &addr, &used);
}

static enum smtp_address_result rev(const char *text)
{
	return path(text, SMTP_PATH_REVERSE, false);
}

static enum smtp_address_result fwd(const char *text)
{
	return path(text, SMTP_PATH_FORWARD, false);
}

static void assert_written(const char *want)
{
	char out[SMTP_ADDRESS_TEXT_MAX];

	assert_int_equal(smtp_address_write(&addr, out), strlen(want));
	assert_string_equal(out, want);
}

static void test_plain(void **state)
{
	(void)state;
	assert_int_equal(rev("<User.Name@Example.ORG>"), SMTP_ADDRESS_OK);
	assert_int_equal(used, 23);
	assert_string_equal(addr.local, "User.Name");
	assert_string_equal(addr.domain, "example.org");
	assert_false(addr.quoted || addr.literal || addr.utf8 || addr.null_path || addr.postmaster);
	assert_int_equal(addr.tricks, 0);
	assert_written("User.Name@example.org");

	/* The path ends at its ">"; what follows is the caller's. */
	assert_int_equal(rev("<a@b.c> SIZE=10"), SMTP_ADDRESS_OK);
	assert_int_equal(used, 7);
	/* atext, digits and hyphens. */
	assert_int_equal(fwd("<a!#$&'*+-/=?^_`{|}~z@x-1.example>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "a!#$&'*+-/=?^_`{|}~z");
	assert_string_equal(addr.domain, "x-1.example");
	assert_int_equal(fwd("<postmaster@localhost>"), SMTP_ADDRESS_OK);
	assert_false(addr.postmaster);
	assert_string_equal(addr.domain, "localhost");
	assert_int_equal(fwd("<a@123.example>"), SMTP_ADDRESS_OK);
}

static void test_null_and_postmaster(void **state)
{
	(void)state;
	assert_int_equal(rev("<>"), SMTP_ADDRESS_OK);
	assert_true(addr.null_path);
	assert_int_equal(used, 2);
	assert_string_equal(addr.local, "");
	assert_written("");
	assert_int_equal(rev("<> BODY=8BITMIME"), SMTP_ADDRESS_OK);
	assert_int_equal(used, 2);
	assert_int_equal(fwd("<>"), SMTP_ADDRESS_NULL_PATH);

	/* RFC 5321 4.1.1.3: <Postmaster> without a domain, any case, RCPT only. */
	assert_int_equal(fwd("<Postmaster>"), SMTP_ADDRESS_OK);
	assert_true(addr.postmaster);
	assert_int_equal(used, 12);
	assert_string_equal(addr.local, "Postmaster");
	assert_string_equal(addr.domain, "");
	assert_written("Postmaster");
	assert_int_equal(fwd("<pOSTMASTER> NOTIFY=NEVER"), SMTP_ADDRESS_OK);
	assert_true(addr.postmaster);
	assert_string_equal(addr.local, "pOSTMASTER");
	assert_int_equal(rev("<postmaster>"), SMTP_ADDRESS_NO_DOMAIN);
	assert_int_equal(fwd("<user>"), SMTP_ADDRESS_NO_DOMAIN);
	assert_int_equal(fwd("<postmasters>"), SMTP_ADDRESS_NO_DOMAIN);
}

static void test_quoted(void **state)
{
	(void)state;
	assert_int_equal(fwd("<\"a b\"@example.org>"), SMTP_ADDRESS_OK);
	assert_true(addr.quoted);
	assert_string_equal(addr.local, "a b");
	assert_written("\"a b\"@example.org");
	/* quoted-pairs: the backslash goes, the octet stays. */
	assert_int_equal(fwd("<\"Joe\\,Smith\\\"\\\\\"@example.org>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "Joe,Smith\"\\");
	assert_written("\"Joe,Smith\\\"\\\\\"@example.org");
	/* A quoted Dot-string is the same address: written without quotes. */
	assert_int_equal(fwd("<\"john.doe\"@example.org>"), SMTP_ADDRESS_OK);
	assert_true(addr.quoted);
	assert_string_equal(addr.local, "john.doe");
	assert_written("john.doe@example.org");
	assert_int_equal(fwd("<\"\"@example.org>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "");
	assert_written("\"\"@example.org");
	/* ">" inside the quotes does not end the path. */
	assert_int_equal(fwd("<\"a>b\"@example.org> X"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "a>b");
	assert_int_equal(used, 19);
	assert_int_equal(fwd("<\"..a.\"@example.org>"), SMTP_ADDRESS_OK);
	assert_written("\"..a.\"@example.org");

	assert_int_equal(fwd("<\"abc@example.org>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<\"a\\"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<\"a\tb\"@example.org>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<\"a\\\tb\"@example.org>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<\"a\"b@example.org>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<\"a\"@>"), SMTP_ADDRESS_BAD_DOMAIN);
}

static void test_broken(void **state)
{
	(void)state;
	assert_int_equal(rev(""), SMTP_ADDRESS_NO_BRACKETS);
	assert_int_equal(rev("a@b"), SMTP_ADDRESS_NO_BRACKETS);
	assert_int_equal(rev(" <a@b>"), SMTP_ADDRESS_NO_BRACKETS);
	assert_int_equal(rev("<"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a@b"), SMTP_ADDRESS_UNTERMINATED);
	assert_int_equal(rev("<a@b.>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@.b>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@b..c>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@-b.c>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@b-.c>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@b_c.d>"), SMTP_ADDRESS_BAD_DOMAIN);  /* RFC 5321 4.1.2: no '_' */
	assert_int_equal(rev("<a@b c>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a@@b>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<@b>"), SMTP_ADDRESS_BAD_ROUTE);
	assert_int_equal(rev("<.a@b>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a.@b>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a..b@c>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a b@c>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a(b)@c>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a,b@c>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a@b>>"), SMTP_ADDRESS_OK);   /* the caller sees the second '>' */
	assert_int_equal(used, 5);
	assert_int_equal(rev("< a@b>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(rev("<a@b >"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(rev("<a>"), SMTP_ADDRESS_NO_DOMAIN);
	assert_int_equal(smtp_address_parse_path("<a\0b@c>", 7, SMTP_PATH_REVERSE, true, &addr,
						 &used), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(smtp_address_parse_path("<a@b\0>", 6, SMTP_PATH_REVERSE, true, &addr,
						 &used), SMTP_ADDRESS_BAD_DOMAIN);
	assert_string_equal(smtp_address_result_text(SMTP_ADDRESS_BAD_DOMAIN), "invalid domain");
	assert_string_equal(smtp_address_result_text(SMTP_ADDRESS__COUNT), "invalid address");
}

static void test_source_route(void **state)
{
	(void)state;
	/* RFC 5321 4.1.2 A-d-l: accepted, ignored, reported. */
	assert_int_equal(fwd("<@hosta.int,@jkl.org:userc@d.bar.org>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "userc");
	assert_string_equal(addr.domain, "d.bar.org");
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_SOURCE_ROUTE);
	assert_int_equal(used, 37);
	assert_written("userc@d.bar.org");
	assert_int_equal(rev("<@[192.0.2.1]:a@b>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_SOURCE_ROUTE);

	assert_int_equal(fwd("<@a.b>"), SMTP_ADDRESS_BAD_ROUTE);
	assert_int_equal(fwd("<@a,b:c@d>"), SMTP_ADDRESS_BAD_ROUTE);
	assert_int_equal(fwd("<@a,:c@d>"), SMTP_ADDRESS_BAD_ROUTE);
	assert_int_equal(fwd("<@:c@d>"), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(fwd("<@a;b:c@d>"), SMTP_ADDRESS_BAD_ROUTE);
	assert_int_equal(fwd("<@a:>"), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(fwd("<@a:Postmaster>"), SMTP_ADDRESS_NO_DOMAIN);
}

static void test_tricks(void **state)
{
	(void)state;
	assert_int_equal(fwd("<user%remote.example@local.example>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_PERCENT);
	assert_int_equal(fwd("<remote!user@local.example>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_BANG);
	assert_int_equal(fwd("<\"user@remote.example\"@local.example>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_QUOTED_AT);
	assert_string_equal(addr.local, "user@remote.example");
	assert_written("\"user@remote.example\"@local.example");
	assert_int_equal(fwd("<\"u\\@r%x!y\"@local>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_QUOTED_AT | SMTP_ADDRESS_TRICK_PERCENT |
					      SMTP_ADDRESS_TRICK_BANG);
	assert_int_equal(fwd("<@relay.example:a%b@local>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, SMTP_ADDRESS_TRICK_SOURCE_ROUTE | SMTP_ADDRESS_TRICK_PERCENT);
	assert_int_equal(fwd("<plain+tag@local>"), SMTP_ADDRESS_OK);
	assert_int_equal(addr.tricks, 0);
}

static void test_literals(void **state)
{
	char domain[SMTP_DOMAIN_MAX + 1];
	bool literal;

	(void)state;
	assert_int_equal(fwd("<a@[192.0.2.1]>"), SMTP_ADDRESS_OK);
	assert_true(addr.literal);
	assert_string_equal(addr.domain, "[192.0.2.1]");
	assert_int_equal(fwd("<a@[IPv6:2001:DB8:0:0:0:0:0:1]>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.domain, "[IPv6:2001:db8::1]");
	assert_int_equal(fwd("<a@[ipv6:::ffff:192.0.2.1]>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.domain, "[IPv6:::ffff:192.0.2.1]");
	assert_int_equal(fwd("<a@[IPv6:::1]>"), SMTP_ADDRESS_OK);
	assert_string_equal(addr.domain, "[IPv6:::1]");

	assert_int_equal(fwd("<a@[192.0.2.256]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[192.0.2]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[1.2.3.4.5]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[2001:db8::1]>"), SMTP_ADDRESS_BAD_LITERAL);   /* no tag */
	assert_int_equal(fwd("<a@[IPv6:2001:db8::1::2]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[IPv6:]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[x400:whatever]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[1.2.3.4>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[1.2.3.4]"), SMTP_ADDRESS_UNTERMINATED);
	assert_int_equal(fwd("<a@[1.2.3.4]x>"), SMTP_ADDRESS_UNTERMINATED);
	assert_int_equal(fwd("<a@[1.2[3.4]>"), SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(fwd("<a@[1.2 3.4]>"), SMTP_ADDRESS_BAD_LITERAL);

	assert_int_equal(smtp_address_parse_domain("[10.0.0.1]", 10, domain, &literal),
			 SMTP_ADDRESS_OK);
	assert_true(literal);
	assert_string_equal(domain, "[10.0.0.1]");
	assert_int_equal(smtp_address_parse_domain("Mail.Example.COM", 16, domain, &literal),
			 SMTP_ADDRESS_OK);
	assert_false(literal);
	assert_string_equal(domain, "mail.example.com");
	assert_int_equal(smtp_address_parse_domain("[10.0.0.1]x", 11, domain, &literal),
			 SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(smtp_address_parse_domain("my_pc", 5, domain, &literal),
			 SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(smtp_address_parse_domain("", 0, domain, &literal),
			 SMTP_ADDRESS_BAD_DOMAIN);
	/* EHLO is ASCII only (RFC 6531 3.7.1). */
	assert_int_equal(smtp_address_parse_domain("b\xc3\xbc" "cher.example", 14, domain, &literal),
			 SMTP_ADDRESS_NON_ASCII);
}

static void test_lengths(void **state)
{
	char text[700];
	char domain[SMTP_DOMAIN_MAX + 1];
	char out[SMTP_DOMAIN_MAX + 1];
	bool literal;
	size_t n;

	(void)state;
	/* Local part: 64 octets fit, 65 do not. */
	memset(text, 'l', sizeof(text));
	text[0] = '<';
	memcpy(text + 65, "@d>", 4);
	assert_int_equal(fwd(text), SMTP_ADDRESS_OK);
	assert_int_equal(strlen(addr.local), 64);
	memset(text, 'l', sizeof(text));
	text[0] = '<';
	memcpy(text + 66, "@d>", 4);
	assert_int_equal(fwd(text), SMTP_ADDRESS_LOCAL_TOO_LONG);
	/* Quoted: the quotes count; 62 octets inside. */
	memset(text, 'q', sizeof(text));
	memcpy(text, "<\"", 2);
	memcpy(text + 64, "\"@d>", 5);
	assert_int_equal(fwd(text), SMTP_ADDRESS_OK);
	assert_int_equal(strlen(addr.local), 62);
	memset(text, 'q', sizeof(text));
	memcpy(text, "<\"", 2);
	memcpy(text + 65, "\"@d>", 5);
	assert_int_equal(fwd(text), SMTP_ADDRESS_LOCAL_TOO_LONG);

	/* Label: 63 octets fit, 64 do not. */
	memset(text, 'd', sizeof(text));
	memcpy(text, "<a@", 3);
	memcpy(text + 3 + 63, ">", 2);
	assert_int_equal(fwd(text), SMTP_ADDRESS_OK);
	memset(text, 'd', sizeof(text));
	memcpy(text, "<a@", 3);
	memcpy(text + 3 + 64, ">", 2);
	assert_int_equal(fwd(text), SMTP_ADDRESS_LABEL_TOO_LONG);

	/* Domain: 255 octets (four labels of 63) fit, 257 do not. */
	n = 0;
	for (int i = 0; i < 3; i++) {
		memset(domain + n, 'a' + i, 63);
		n += 63;
		domain[n++] = '.';
	}
	memset(domain + n, 'd', 63);
	domain[n + 63] = '\0';
	assert_int_equal(strlen(domain), 255);
	assert_int_equal(smtp_address_parse_domain(domain, 255, out, &literal), SMTP_ADDRESS_OK);
	assert_string_equal(out, domain);
	snprintf(text, sizeof(text), "a@%s", domain);
	assert_int_equal(smtp_address_parse_mailbox(text, strlen(text), false, &addr),
			 SMTP_ADDRESS_OK);
	assert_int_equal(strlen(addr.domain), 255);
	snprintf(text, sizeof(text), "a@%s.b", domain);
	assert_int_equal(smtp_address_parse_mailbox(text, strlen(text), false, &addr),
			 SMTP_ADDRESS_DOMAIN_TOO_LONG);
	snprintf(text, sizeof(text), "<a@%s.b>", domain);
	assert_int_equal(fwd(text), SMTP_ADDRESS_DOMAIN_TOO_LONG);
	/* A domain of 255 does not fit in a path of 256. */
	snprintf(text, sizeof(text), "<a@%s>", domain);
	assert_int_equal(fwd(text), SMTP_ADDRESS_PATH_TOO_LONG);

	/* Path: 256 octets including "<", ">" and any route. */
	memset(text, 'l', sizeof(text));
	text[0] = '<';
	snprintf(text + 60, sizeof(text) - 60, "@%.189s>", domain);
	assert_int_equal(strlen(text), 251);
	assert_int_equal(fwd(text), SMTP_ADDRESS_OK);
	snprintf(text, sizeof(text), "<@a.example:l@%.189s>", domain);
	assert_int_equal(fwd(text), SMTP_ADDRESS_OK);
	snprintf(text, sizeof(text), "<@%.63s:l@%.189s>", domain, domain);
	assert_int_equal(fwd(text), SMTP_ADDRESS_PATH_TOO_LONG);
	snprintf(text, sizeof(text), "<@%.189s,@%.189s:l@x>", domain, domain);
	assert_int_equal(fwd(text), SMTP_ADDRESS_PATH_TOO_LONG);
	/* The literal of a domain too long. */
	memset(text, '1', sizeof(text));
	memcpy(text, "<a@[", 4);
	memcpy(text + 300, "]>", 3);
	assert_int_equal(fwd(text), SMTP_ADDRESS_DOMAIN_TOO_LONG);
}

static void test_utf8(void **state)
{
	(void)state;
	/* RFC 6531 3.3: only when the caller says SMTPUTF8 was given. */
	assert_int_equal(fwd("<j\xc3\xb6rg@b\xc3\xbc" "cher.Example>"), SMTP_ADDRESS_NON_ASCII);
	assert_int_equal(path("<j\xc3\xb6rg@b\xc3\xbc" "cher.Example>", SMTP_PATH_FORWARD, true),
			 SMTP_ADDRESS_OK);
	assert_true(addr.utf8);
	assert_string_equal(addr.local, "j\xc3\xb6rg");
	/* The U-label is kept as given; the ASCII label lower-cased. */
	assert_string_equal(addr.domain, "b\xc3\xbc" "cher.example");
	assert_written("j\xc3\xb6rg@b\xc3\xbc" "cher.example");
	assert_int_equal(path("<J\xc3\xb6rg@B\xc3\xbc" "CHER.EXAMPLE>", SMTP_PATH_FORWARD, true),
			 SMTP_ADDRESS_OK);
	assert_string_equal(addr.domain, "B\xc3\xbc" "CHER.example");
	assert_int_equal(path("<\"\xe2\x82\xac uro\"@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_OK);
	assert_true(addr.utf8);
	assert_string_equal(addr.local, "\xe2\x82\xac uro");
	assert_int_equal(path("<ascii@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_OK);
	assert_false(addr.utf8);
	assert_int_equal(path("<a@\xe4\xbe\x8b\xe3\x81\x88.jp>", SMTP_PATH_FORWARD, true),
			 SMTP_ADDRESS_OK);
	assert_true(addr.utf8);

	/* Well-formed only. */
	assert_int_equal(path("<j\xc3@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_BAD_UTF8);
	assert_int_equal(path("<j\xc0\xafx@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_BAD_UTF8);
	assert_int_equal(path("<a@\xed\xa0\x80.x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_BAD_UTF8);
	assert_int_equal(path("<\"\xff\"@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_BAD_UTF8);
	assert_int_equal(path("<\"\xc3\xb6\"@x>", SMTP_PATH_FORWARD, false), SMTP_ADDRESS_NON_ASCII);
	/* A quoted-pair stays ASCII (RFC 6531 does not extend it). */
	assert_int_equal(path("<\"\\\xc3\xb6\"@x>", SMTP_PATH_FORWARD, true), SMTP_ADDRESS_BAD_LOCAL);
	/* A UTF-8 local part of 64 octets fits, not 65. */
	assert_int_equal(path("<\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6@x>",
			      SMTP_PATH_FORWARD, true), SMTP_ADDRESS_OK);
	assert_int_equal(path("<a\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
			      "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6@x>",
			      SMTP_PATH_FORWARD, true), SMTP_ADDRESS_LOCAL_TOO_LONG);
}

static void test_mailbox(void **state)
{
	(void)state;
	assert_int_equal(smtp_address_parse_mailbox("e+x@Example.org", 15, false, &addr),
			 SMTP_ADDRESS_OK);
	assert_string_equal(addr.local, "e+x");
	assert_string_equal(addr.domain, "example.org");
	assert_int_equal(smtp_address_parse_mailbox("\"a b\"@[10.0.0.1]", 16, false, &addr),
			 SMTP_ADDRESS_OK);
	assert_true(addr.quoted && addr.literal);
	assert_int_equal(smtp_address_parse_mailbox("<a@b>", 5, false, &addr), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(smtp_address_parse_mailbox("a@b>", 4, false, &addr), SMTP_ADDRESS_BAD_DOMAIN);
	assert_int_equal(smtp_address_parse_mailbox("a@[1.2.3.4]>", 12, false, &addr),
			 SMTP_ADDRESS_BAD_LITERAL);
	assert_int_equal(smtp_address_parse_mailbox("a", 1, false, &addr), SMTP_ADDRESS_NO_DOMAIN);
	assert_int_equal(smtp_address_parse_mailbox("", 0, false, &addr), SMTP_ADDRESS_BAD_LOCAL);
	assert_int_equal(smtp_address_parse_mailbox("\xc3\xb6@x", 4, false, &addr),
			 SMTP_ADDRESS_NON_ASCII);
	assert_int_equal(smtp_address_parse_mailbox("\xc3\xb6@x", 4, true, &addr), SMTP_ADDRESS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_null_and_postmaster),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_source_route),
		cmocka_unit_test(test_tricks),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_mailbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
