/* test-smtp-client-ehlo - the SMTP client's reading of EHLO replies
 * (keywords in any case, SIZE with and without a limit and with a bad
 * one, AUTH in both forms, unknown and broken lines ignored, the first
 * line never a keyword) and its wire form of a message (dot-stuffing for
 * DATA only, every bare CR and LF made CRLF, a last line ended, the same
 * bytes whether fed whole or one byte at a time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-client-body.h"
#include "smtp/smtp-client-ehlo.h"

static struct smtp_client_ehlo parse(const char *text)
{
	struct smtp_client_ehlo e;

	smtp_client_ehlo_parse(text, strlen(text), &e);
	return e;
}

static void test_ehlo_keywords(void **state)
{
	struct smtp_client_ehlo e;

	(void)state;
	e = parse("mx.example Hello\nPIPELINING\nsize 35882577\n8bitmime\nSMTPUTF8\nCHUNKING\nDSN\n"
		  "STARTTLS\nAUTH PLAIN LOGIN CRAM-MD5\nENHANCEDSTATUSCODES");
	assert_int_equal(e.ext, SMTP_CLIENT_EXT_PIPELINING | SMTP_CLIENT_EXT_SIZE |
				SMTP_CLIENT_EXT_8BITMIME | SMTP_CLIENT_EXT_SMTPUTF8 |
				SMTP_CLIENT_EXT_CHUNKING | SMTP_CLIENT_EXT_DSN |
				SMTP_CLIENT_EXT_STARTTLS | SMTP_CLIENT_EXT_AUTH |
				SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES);
	assert_int_equal(e.size_max, 35882577);
	assert_int_equal(e.mechs, SMTP_CLIENT_MECH_PLAIN | SMTP_CLIENT_MECH_LOGIN);

	/* the first line is the greeting, whatever it says */
	e = parse("PIPELINING");
	assert_int_equal(e.ext, 0);
	/* SIZE without a number, or with a broken or huge one: no limit */
	e = parse("x\nSIZE");
	assert_int_equal(e.ext, SMTP_CLIENT_EXT_SIZE);
	assert_int_equal(e.size_max, 0);
	e = parse("x\nSIZE 12x");
	assert_int_equal(e.size_max, 0);
	e = parse("x\nSIZE 999999999999999999999");
	assert_int_equal(e.size_max, 0);
	/* the old AUTH= form; a mechanism only as a whole word */
	e = parse("x\nAUTH=LOGIN\nAUTH PLAINX");
	assert_int_equal(e.ext, SMTP_CLIENT_EXT_AUTH);
	assert_int_equal(e.mechs, SMTP_CLIENT_MECH_LOGIN);
	/* near misses and junk are nothing */
	e = parse("x\nPIPELININGX\nSTART TLS\n\n \n8BITMIME=1\nDSN-X\n\xff\xfe");
	assert_int_equal(e.ext, 0);
	e = parse("");
	assert_int_equal(e.ext, 0);
}

/* Feed `in` whole and a byte at a time: both give `want`. */
static void body_check(const char *in, size_t len, bool dots, const char *want, size_t want_len)
{
	struct smtp_client_body b;
	char *out = malloc(SMTP_CLIENT_BODY_OUT_MAX(len) + SMTP_CLIENT_BODY_END_MAX);
	char *out2 = malloc(2 * len + 2 * SMTP_CLIENT_BODY_END_MAX + 2);
	size_t n, n2 = 0;

	assert_non_null(out);
	assert_non_null(out2);
	smtp_client_body_init(&b, dots);
	n = smtp_client_body_feed(&b, in, len, out);
	assert_true(n <= SMTP_CLIENT_BODY_OUT_MAX(len));
	n += smtp_client_body_finish(&b, out + n);
	assert_int_equal(b.out, n);
	smtp_client_body_init(&b, dots);
	for (size_t i = 0; i < len; i++) {
		size_t k = smtp_client_body_feed(&b, in + i, 1, out2 + n2);

		assert_true(k <= SMTP_CLIENT_BODY_OUT_MAX(1));
		n2 += k;
	}
	n2 += smtp_client_body_finish(&b, out2 + n2);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, n);
	assert_int_equal(n2, n);
	assert_memory_equal(out2, want, n);
	/* never a bare CR or LF */
	for (size_t i = 0; i < n; i++) {
		if (out[i] == '\r')
			assert_true(i + 1 < n && out[i + 1] == '\n');
		if (out[i] == '\n')
			assert_true(i > 0 && out[i - 1] == '\r');
	}
	free(out);
	free(out2);
}

#define BODY_CHECK(in, dots, want) body_check(in, sizeof(in) - 1, dots, want, sizeof(want) - 1)

static void test_body(void **state)
{
	(void)state;
	BODY_CHECK("a\r\nb\r\n", true, "a\r\nb\r\n");
	BODY_CHECK(".\r\n", true, "..\r\n");
	BODY_CHECK(".\r\n", false, ".\r\n");
	BODY_CHECK("a\nb\rc\r\r\nd", true, "a\r\nb\r\nc\r\n\r\nd\r\n");
	BODY_CHECK("\r\r\r", true, "\r\n\r\n\r\n");
	BODY_CHECK("\r.", true, "\r\n..\r\n");
	BODY_CHECK("a.b\n.c\r\n..", true, "a.b\r\n..c\r\n...\r\n");
	BODY_CHECK("x\0y\n", true, "x\0y\r\n");
	BODY_CHECK("", true, "");
	/* the smuggling shape: a bare-LF "." stays data */
	BODY_CHECK("a\n.\nMAIL FROM:<x>\r\n", true, "a\r\n..\r\nMAIL FROM:<x>\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
