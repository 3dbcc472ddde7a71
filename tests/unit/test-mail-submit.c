/* test-mail-submit - the header of a locally submitted message
 * (mail-submit.h): Bcc and Resent-Bcc removed, Date, Message-ID and From
 * added only when missing, the -t recipients, a message without a
 * header, one without a final line end, a broken address, a header past
 * the bound, a text line longer than the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-date.h"
#include "mail/mail-submit.h"

/* 1 Dec 2026 11:05:57 UTC */
#define NOW ((time_t)1796122957)

struct rcpts {
	char text[1024];
};

static void collect(void *ctx, const char *addr, size_t len)
{
	struct rcpts *r = ctx;
	size_t used = strlen(r->text);

	(void)len;
	snprintf(r->text + used, sizeof(r->text) - used, "%s%s", used > 0 ? " " : "", addr);
}

static struct rcpts t_rcpts;

static struct mail_submit sub(bool extract, const char *name)
{
	memset(&t_rcpts, 0, sizeof(t_rcpts));
	return (struct mail_submit){
		.from_addr = "alice@mail.example",
		.from_name = name,
		.message_id = "<20261201.1@mail.example>",
		.now = NOW,
		.rcpt = extract ? collect : NULL,
		.ctx = &t_rcpts,
	};
}

/* The header made of `in`, and where its body starts. */
static void run(const struct mail_submit *s, const char *in, const char *want, size_t want_body)
{
	struct buf out;
	size_t body = 9999;
	const char *field = "x";

	buf_init(&out, strlen(in) + 1024);
	assert_int_equal(mail_submit_header(s, in, strlen(in), true, &out, &body, &field),
			 MAIL_SUBMIT_OK);
	assert_null(field);
	assert_non_null(out.data);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("got\n%.*s\nwant\n%s", (int)out.len, out.data, want);
	assert_int_equal(body, want_body);
	buf_release(&out);
}

static void test_complete_header_kept(void **state)
{
	static const char in[] = "From: Bob <bob@example.org>\r\n"
				 "To: carol@example.org\r\n"
				 "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
				 "message-id: <x@example.org>\r\n"
				 "Subject: folded\r\n\tline\r\n"
				 "\r\n"
				 "body\r\n";
	struct mail_submit s = sub(false, NULL);

	(void)state;
	run(&s, in, "From: Bob <bob@example.org>\r\n"
		    "To: carol@example.org\r\n"
		    "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
		    "message-id: <x@example.org>\r\n"
		    "Subject: folded\r\n\tline\r\n"
		    "\r\n",
	    strlen(in) - strlen("body\r\n"));
}

static void test_added_and_bcc(void **state)
{
	static const char in[] = "To: root, Carol <carol@example.org>\r\n"
				 "Cc: team: dave@example.org;\r\n"
				 "BCC: secret@example.org,\r\n hidden@example.org\r\n"
				 "Resent-bcc: resent@example.org\r\n"
				 "Subject: cron\r\n"
				 "\r\n"
				 "output\r\n";
	char date[MAIL_DATE_MAX], want[1024];
	struct mail_submit s = sub(true, "Cron \"Daemon\"\r\nX: y");

	(void)state;
	assert_int_equal(mail_date_write(NOW, date, sizeof(date)), 0);
	snprintf(want, sizeof(want),
		 "To: root, Carol <carol@example.org>\r\n"
		 "Cc: team: dave@example.org;\r\n"
		 "Subject: cron\r\n"
		 "Date: %s\r\n"
		 "Message-ID: <20261201.1@mail.example>\r\n"
		 "From: \"Cron \\\"Daemon\\\"  X: y\" <alice@mail.example>\r\n"
		 "\r\n",
		 date);
	run(&s, in, want, strlen(in) - strlen("output\r\n"));
	assert_string_equal(t_rcpts.text,
			    "root carol@example.org dave@example.org secret@example.org "
			    "hidden@example.org resent@example.org");
	/* without -t nothing is read, and Bcc goes all the same */
	s = sub(false, NULL);
	snprintf(want, sizeof(want),
		 "To: root, Carol <carol@example.org>\r\n"
		 "Cc: team: dave@example.org;\r\n"
		 "Subject: cron\r\n"
		 "Date: %s\r\n"
		 "Message-ID: <20261201.1@mail.example>\r\n"
		 "From: alice@mail.example\r\n"
		 "\r\n",
		 date);
	run(&s, in, want, strlen(in) - strlen("output\r\n"));
	assert_string_equal(t_rcpts.text, "");
}

static void test_no_header(void **state)
{
	struct mail_submit s = sub(true, NULL);
	char date[MAIL_DATE_MAX], want[512];

	(void)state;
	assert_int_equal(mail_date_write(NOW, date, sizeof(date)), 0);
	snprintf(want, sizeof(want),
		 "Date: %s\r\nMessage-ID: <20261201.1@mail.example>\r\n"
		 "From: alice@mail.example\r\n\r\n",
		 date);
	/* plain text: all of it is body */
	run(&s, "hello world\r\nmore\r\n", want, 0);
	/* a field, then text: the text is body */
	snprintf(want, sizeof(want),
		 "Subject: x\r\nDate: %s\r\nMessage-ID: <20261201.1@mail.example>\r\n"
		 "From: alice@mail.example\r\n\r\n",
		 date);
	run(&s, "Subject: x\r\nnot a field\r\n", want, strlen("Subject: x\r\n"));
	/* a header without its last line end, and nothing else */
	run(&s, "Subject: x", want, strlen("Subject: x"));
	/* nothing at all */
	snprintf(want, sizeof(want),
		 "Date: %s\r\nMessage-ID: <20261201.1@mail.example>\r\n"
		 "From: alice@mail.example\r\n\r\n",
		 date);
	run(&s, "", want, 0);
	assert_string_equal(t_rcpts.text, "");
}

static void test_refused(void **state)
{
	struct mail_submit s = sub(true, NULL);
	const char *field = NULL;
	struct buf out;
	size_t body;
	char *big;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(mail_submit_header(&s, "To: a@example.org\r\nCc: <broken\r\n\r\n", 34, true,
					    &out, &body, &field),
			 MAIL_SUBMIT_BAD_ADDRESS);
	assert_string_equal(field, "Cc");
	buf_release(&out);
	/* a header that does not end within the bound */
	big = malloc(MAIL_SUBMIT_HEADER_MAX);
	assert_non_null(big);
	memcpy(big, "X-Long: ", 8);
	memset(big + 8, 'a', MAIL_SUBMIT_HEADER_MAX - 8);
	buf_init(&out, MAIL_SUBMIT_HEADER_MAX + 1024);
	assert_int_equal(mail_submit_header(&s, big, MAIL_SUBMIT_HEADER_MAX, false, &out, &body,
					    &field),
			 MAIL_SUBMIT_TOO_LARGE);
	buf_release(&out);
	free(big);
}

/* big[0..len): prefix, then letters, then CRLF. */
static void long_line(char *big, size_t len, const char *prefix)
{
	for (size_t i = 0; i < len - 2; i++)
		big[i] = (char)('a' + i % 26);
	memcpy(big, prefix, strlen(prefix));
	memcpy(big + len - 2, "\r\n", 2);
}

/* A first line longer than the bound that is no field (a base64 blob,
 * text on one line) is body, as any text is; a field that long is not. */
static void test_long_text_line(void **state)
{
	struct mail_submit s = sub(false, NULL);
	size_t len = MAIL_SUBMIT_HEADER_MAX + 100, body = 9999;
	const char *field = NULL;
	struct buf out;
	char *big = malloc(len);

	(void)state;
	assert_non_null(big);
	buf_init(&out, len + 1024);
	long_line(big, len, "");
	assert_int_equal(mail_submit_header(&s, big, len, false, &out, &body, &field),
			 MAIL_SUBMIT_OK);
	assert_int_equal(body, 0);
	assert_non_null(out.data);
	assert_true(out.len > 5 && memcmp(out.data, "Date:", 5) == 0);
	/* after a field, and with spaces in it */
	buf_reset(&out);
	long_line(big, len, "Subject: x\r\nSome text ");
	assert_int_equal(mail_submit_header(&s, big, len, false, &out, &body, &field),
			 MAIL_SUBMIT_OK);
	assert_int_equal(body, strlen("Subject: x\r\n"));
	assert_true(memcmp(out.data, "Subject: x\r\nDate:", strlen("Subject: x\r\nDate:")) == 0);
	/* a field name and a colon: a field too large */
	buf_reset(&out);
	long_line(big, len, "X-Long: ");
	assert_int_equal(mail_submit_header(&s, big, len, false, &out, &body, &field),
			 MAIL_SUBMIT_TOO_LARGE);
	buf_release(&out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_header_kept),
		cmocka_unit_test(test_added_and_bcc),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_text_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
