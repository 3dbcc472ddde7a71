/* test-smtp-client-ehlo - the extensions of EHLO replies as real servers
 * send them (Postfix, Exchange's old AUTH= form), SIZE with and without
 * a limit and with junk, case, unknown keywords, the greeting line never
 * taken for an extension, a reply that is no 250, and one whose text was
 * cut (the cut line not read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-client-ehlo.h"

static struct smtp_client_ehlo parse(const char *text)
{
	static struct smtp_client_reply_parser p;
	struct smtp_client_ehlo ehlo;
	size_t used;

	smtp_client_reply_init(&p);
	assert_int_equal(smtp_client_reply_feed(&p, text, strlen(text), &used), SMTP_CLIENT_REPLY_DONE);
	smtp_client_ehlo_parse(smtp_client_reply_get(&p), &ehlo);
	return ehlo;
}

static void test_postfix(void **state)
{
	struct smtp_client_ehlo e = parse("250-mx.example.org\r\n250-PIPELINING\r\n"
					  "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
					  "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
					  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
					  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");

	(void)state;
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_PIPELINING));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_SIZE));
	assert_int_equal(e.size_max, 10240000);
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_STARTTLS));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_AUTH));
	assert_int_equal(e.auth, (1u << SMTP_AUTH_PLAIN) | (1u << SMTP_AUTH_LOGIN));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_8BITMIME));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_DSN));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_SMTPUTF8));
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_CHUNKING));
	assert_false(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_BINARYMIME));
	assert_string_equal(smtp_client_ext_name(SMTP_CLIENT_EXT_CHUNKING), "CHUNKING");
}

static void test_variants(void **state)
{
	struct smtp_client_ehlo e;

	(void)state;
	/* the old form, lower case, other mechanisms */
	e = parse("250-mail.example.com Hello\r\n250-auth=login cram-md5\r\n250-size\r\n250 pipelining\r\n");
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_AUTH));
	assert_int_equal(e.auth, 1u << SMTP_AUTH_LOGIN);
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_SIZE));
	assert_int_equal(e.size_max, 0);
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_PIPELINING));

	/* a SIZE that is no number is no SIZE; words that only start alike are no keyword */
	e = parse("250-x\r\n250-SIZE lots\r\n250-STARTTLSX\r\n250-8BITMIMEY\r\n250 SIZE 99999999999999999999999\r\n");
	assert_false(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_SIZE));
	assert_false(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_STARTTLS));
	assert_false(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_8BITMIME));

	/* the greeting line names the server, it offers nothing */
	e = parse("250 STARTTLS\r\n");
	assert_int_equal(e.exts, 0);
	/* nothing but a 250 offers anything */
	e = parse("502 5.5.1 EHLO not implemented\r\n");
	assert_int_equal(e.exts, 0);
	e = parse("250-x\r\n250-\r\n250-=\r\n250-  \r\n250 AUTH\r\n");
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_AUTH));
	assert_int_equal(e.auth, 0);
}

/* A reply longer than the text kept: the line cut at the bound is not
 * read ("SIZE 10240000" cut to "SIZE 1" would bounce every message as
 * too big), the lines before it are. */
static void test_truncated(void **state)
{
	char text[16384];
	size_t n = 0;
	struct smtp_client_ehlo e;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "250-x\r\n250-PIPELINING\r\n");
	/* the text kept: "x\nPIPELINING" (12), then lines of '\n' + 996 */
	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "250-X-%0994d\r\n", i);
	/* 7,988, and '\n' + 196: 8,185; "\nSIZE 1" fills the 8,192 */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "250-%0196d\r\n", 0);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "250 SIZE 10240000\r\n");
	e = parse(text);
	assert_true(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_PIPELINING));
	assert_int_equal(e.size_max, 0);
	assert_false(smtp_client_ehlo_has(&e, SMTP_CLIENT_EXT_SIZE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
