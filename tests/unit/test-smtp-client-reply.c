/* test-smtp-client-reply - the SMTP client's reply parser: single and
 * multiline replies, enhanced codes (and what is not one), bare LF,
 * pipelined replies read one after the other, and broken replies (bad
 * codes, separators, a code that changes, endless lines, endless
 * replies), every input fed whole and one byte at a time with the same
 * result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-client-reply.h"

/* Feed `in` whole, then byte by byte: both must end the same way after
 * the same number of bytes; the parser of the whole feed is returned. */
static enum smtp_client_reply_result feed_both(struct smtp_client_reply_parser *whole,
					       const char *in, size_t len, size_t *used_r)
{
	static struct smtp_client_reply_parser bytes;
	enum smtp_client_reply_result r1, r2 = SMTP_CLIENT_REPLY_MORE;
	size_t used = 0, total = 0;

	smtp_client_reply_init(whole);
	r1 = smtp_client_reply_feed(whole, in, len, used_r);
	smtp_client_reply_init(&bytes);
	for (size_t i = 0; i < len && r2 == SMTP_CLIENT_REPLY_MORE; i++) {
		r2 = smtp_client_reply_feed(&bytes, in + i, 1, &used);
		total += used;
	}
	assert_int_equal(r1, r2);
	if (r1 == SMTP_CLIENT_REPLY_DONE) {
		assert_int_equal(*used_r, total);
		assert_int_equal(whole->reply.code, bytes.reply.code);
		assert_string_equal(whole->reply.enhanced, bytes.reply.enhanced);
		assert_string_equal(whole->reply.text, bytes.reply.text);
		assert_int_equal(whole->reply.lines, bytes.reply.lines);
	}
	if (r1 == SMTP_CLIENT_REPLY_ERROR)
		assert_int_equal(smtp_client_reply_error(whole), smtp_client_reply_error(&bytes));
	return r1;
}

static const struct smtp_client_reply *parse_ok(struct smtp_client_reply_parser *p, const char *in)
{
	size_t used;

	assert_int_equal(feed_both(p, in, strlen(in), &used), SMTP_CLIENT_REPLY_DONE);
	assert_int_equal(used, strlen(in));
	return smtp_client_reply_get(p);
}

static enum smtp_client_reply_error parse_error(const char *in, size_t len)
{
	struct smtp_client_reply_parser *p = malloc(sizeof(*p));
	enum smtp_client_reply_error e;
	size_t used;

	assert_int_equal(feed_both(p, in, len, &used), SMTP_CLIENT_REPLY_ERROR);
	e = smtp_client_reply_error(p);
	/* it stays broken */
	assert_int_equal(smtp_client_reply_feed(p, "250 ok\r\n", 8, &used), SMTP_CLIENT_REPLY_ERROR);
	free(p);
	return e;
}

static void test_single(void **state)
{
	struct smtp_client_reply_parser *p = malloc(sizeof(*p));
	const struct smtp_client_reply *r;

	(void)state;
	r = parse_ok(p, "220 mx.example.org ESMTP ready\r\n");
	assert_int_equal(r->code, 220);
	assert_string_equal(r->enhanced, "");
	assert_string_equal(r->text, "mx.example.org ESMTP ready");
	assert_int_equal(r->lines, 1);

	r = parse_ok(p, "250 2.1.0 Ok\r\n");
	assert_int_equal(r->code, 250);
	assert_string_equal(r->enhanced, "2.1.0");
	assert_string_equal(r->text, "Ok");

	r = parse_ok(p, "550 5.1.1 <nobody@example.org>: Recipient address rejected\n");
	assert_int_equal(r->code, 550);
	assert_string_equal(r->enhanced, "5.1.1");
	assert_string_equal(r->text, "<nobody@example.org>: Recipient address rejected");

	/* the code alone (RFC 5321 4.2), and an enhanced code alone */
	r = parse_ok(p, "250\r\n");
	assert_int_equal(r->code, 250);
	assert_string_equal(r->text, "");
	r = parse_ok(p, "452 4.5.3\r\n");
	assert_string_equal(r->enhanced, "4.5.3");
	assert_string_equal(r->text, "");

	/* not enhanced codes: another class, too many digits, no space, 354 */
	r = parse_ok(p, "550 4.1.1 wrong class\r\n");
	assert_string_equal(r->enhanced, "");
	assert_string_equal(r->text, "4.1.1 wrong class");
	r = parse_ok(p, "250 2.1000.0 x\r\n");
	assert_string_equal(r->enhanced, "");
	r = parse_ok(p, "250 2.1.0x\r\n");
	assert_string_equal(r->enhanced, "");
	r = parse_ok(p, "354 3.0.0 go on\r\n");
	assert_string_equal(r->enhanced, "");
	assert_string_equal(r->text, "3.0.0 go on");
	r = parse_ok(p, "250 2.999.999 max\r\n");
	assert_string_equal(r->enhanced, "2.999.999");

	/* control characters and 8-bit text are kept as '?' */
	r = parse_ok(p, "554 5.7.1 bad\x01text \xc3\xa9\r\n");
	assert_string_equal(r->text, "bad?text ??");
	free(p);
}

static void test_multiline(void **state)
{
	struct smtp_client_reply_parser *p = malloc(sizeof(*p));
	const struct smtp_client_reply *r;
	const char *ehlo = "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
			   "250-STARTTLS\r\n250 SMTPUTF8\r\n";

	(void)state;
	r = parse_ok(p, ehlo);
	assert_int_equal(r->code, 250);
	assert_int_equal(r->lines, 5);
	assert_string_equal(r->text, "mx.example.org Hello\nPIPELINING\nSIZE 52428800\nSTARTTLS\nSMTPUTF8");

	r = parse_ok(p, "550-5.7.1 first line\r\n550-5.7.1 second\r\n550 5.7.1\r\n");
	assert_string_equal(r->enhanced, "5.7.1");
	assert_string_equal(r->text, "first line\nsecond\n");

	/* a bare "250-" line and a last line without text */
	r = parse_ok(p, "250-\r\n250\r\n");
	assert_int_equal(r->lines, 2);
	assert_string_equal(r->text, "\n");

	/* pipelined replies (RFC 2920): one after the other from one input */
	{
		const char *in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 go";
		size_t len = strlen(in), off = 0, used;
		unsigned codes[3];

		for (int i = 0; i < 3; i++) {
			smtp_client_reply_init(p);
			assert_int_equal(smtp_client_reply_feed(p, in + off, len - off, &used),
					 SMTP_CLIENT_REPLY_DONE);
			codes[i] = smtp_client_reply_get(p)->code;
			off += used;
			/* feeding a done parser takes nothing */
			assert_int_equal(smtp_client_reply_feed(p, in + off, len - off, &used),
					 SMTP_CLIENT_REPLY_DONE);
			assert_int_equal(used, 0);
		}
		assert_int_equal(codes[0], 250);
		assert_int_equal(codes[2], 550);
		smtp_client_reply_init(p);
		assert_int_equal(smtp_client_reply_feed(p, in + off, len - off, &used),
				 SMTP_CLIENT_REPLY_MORE);
		assert_int_equal(used, len - off);
		assert_int_equal(smtp_client_reply_feed(p, "\r\n", 2, &used), SMTP_CLIENT_REPLY_DONE);
		assert_int_equal(smtp_client_reply_get(p)->code, 354);
	}
	free(p);
}

static void test_broken(void **state)
{
	char *big = malloc(SMTP_CLIENT_REPLY_LINE_MAX + 16);
	char *many = malloc((SMTP_CLIENT_REPLY_LINES_MAX + 1) * 6 + 1);
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_error("hello\r\n", 7), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("\r\n", 2), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("25\r\n", 4), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("150 old\r\n", 9), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("650 new\r\n", 9), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("260 x\r\n", 7), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("25x ok\r\n", 8), SMTP_CLIENT_REPLY_BAD_CODE);
	assert_int_equal(parse_error("2500 ok\r\n", 9), SMTP_CLIENT_REPLY_BAD_SEPARATOR);
	assert_int_equal(parse_error("250_ok\r\n", 8), SMTP_CLIENT_REPLY_BAD_SEPARATOR);
	assert_int_equal(parse_error("250\0ok\r\n", 8), SMTP_CLIENT_REPLY_BAD_SEPARATOR);
	assert_int_equal(parse_error("250-a\r\n251 b\r\n", 14), SMTP_CLIENT_REPLY_CODE_MISMATCH);
	assert_int_equal(parse_error("250-a\r\nnot a code\r\n", 19), SMTP_CLIENT_REPLY_BAD_CODE);

	/* a line of exactly the bound passes; one more octet does not */
	memcpy(big, "250 ", 4);
	memset(big + 4, 'x', SMTP_CLIENT_REPLY_LINE_MAX - 6);
	memcpy(big + SMTP_CLIENT_REPLY_LINE_MAX - 2, "\r\n", 2);
	{
		struct smtp_client_reply_parser *p = malloc(sizeof(*p));
		size_t used;

		assert_int_equal(feed_both(p, big, SMTP_CLIENT_REPLY_LINE_MAX, &used),
				 SMTP_CLIENT_REPLY_DONE);
		free(p);
	}
	memset(big + 4, 'x', SMTP_CLIENT_REPLY_LINE_MAX - 5);
	memcpy(big + SMTP_CLIENT_REPLY_LINE_MAX - 1, "\r\n", 2);
	assert_int_equal(parse_error(big, SMTP_CLIENT_REPLY_LINE_MAX + 1),
			 SMTP_CLIENT_REPLY_LINE_TOO_LONG);
	/* endless: no line end ever */
	memset(big + 4, 'x', SMTP_CLIENT_REPLY_LINE_MAX + 10);
	assert_int_equal(parse_error(big, SMTP_CLIENT_REPLY_LINE_MAX + 14),
			 SMTP_CLIENT_REPLY_LINE_TOO_LONG);

	for (int i = 0; i <= SMTP_CLIENT_REPLY_LINES_MAX; i++) {
		memcpy(many + n, "250-\r\n", 6);
		n += 6;
	}
	assert_int_equal(parse_error(many, n), SMTP_CLIENT_REPLY_TOO_MANY_LINES);
	assert_string_equal(smtp_client_reply_error_name(SMTP_CLIENT_REPLY_CODE_MISMATCH),
			    "reply code changed within a multiline reply");
	free(big);
	free(many);
}

/* Text beyond the bound is dropped, and says so. */
static void test_truncated(void **state)
{
	struct smtp_client_reply_parser *p = malloc(sizeof(*p));
	size_t line = 1000, n = 0, used;
	char *in = malloc(20 * (line + 8));

	(void)state;
	for (int i = 0; i < 20; i++) {
		memcpy(in + n, i < 19 ? "250-" : "250 ", 4);
		memset(in + n + 4, 'a' + i, line);
		memcpy(in + n + 4 + line, "\r\n", 2);
		n += line + 6;
	}
	assert_int_equal(feed_both(p, in, n, &used), SMTP_CLIENT_REPLY_DONE);
	assert_int_equal(used, n);
	assert_true(p->reply.truncated);
	assert_int_equal(p->reply.text_len, SMTP_CLIENT_REPLY_TEXT_MAX);
	assert_int_equal(strlen(p->reply.text), SMTP_CLIENT_REPLY_TEXT_MAX);
	assert_int_equal(p->reply.lines, 20);
	free(in);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
