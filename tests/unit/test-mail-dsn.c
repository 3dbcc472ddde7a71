/* test-mail-dsn - the DSN writer (mail/mail-dsn.h): the RFC 3464 parts and
 * fields of a failure, a delay and a success report, what is returned of
 * the original per RET and size, RFC 6533 for SMTPUTF8 mail, values made
 * safe for header lines, and the inputs it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-dsn.h"

static const char original[] =
	"Received: from client by mx.example.org; Tue, 1 Dec 2026 12:00:00 +0000\r\n"
	"From: alice@example.org\r\n"
	"Subject: hello\r\n"
	"\r\n"
	"the body\r\n";

#define T0 1764590400 /* 2025-12-01 12:00:00 UTC */

static struct mail_dsn base(const struct mail_dsn_rcpt *rcpts, size_t n)
{
	return (struct mail_dsn){
		.reporting_mta = "mx.example.org",
		.to = "alice@example.org",
		.arrival = T0,
		.now = T0 + 60,
		.token = "ABCDEFGH.1",
		.rcpts = rcpts,
		.n_rcpts = n,
		.ret = MAIL_DSN_RETURN_HEADERS,
		.message = original,
		.message_len = sizeof(original) - 1,
	};
}

/* Every line ends in CRLF, none longer than 998 octets. */
static void check_lines(const char *s, size_t len)
{
	size_t start = 0;

	assert_true(len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
		} else if (s[i] == '\n') {
			assert_true(i > 0 && s[i - 1] == '\r');
			assert_true(i - 1 - start <= 998);
			start = i + 1;
		}
	}
}

static char *write_ok(const struct mail_dsn *d, size_t *len_r)
{
	char *out = mail_dsn_write(d, len_r);

	assert_non_null(out);
	assert_int_equal(strlen(out), *len_r);
	check_lines(out, *len_r);
	return out;
}

static void test_failed(void **state)
{
	const struct mail_dsn_rcpt r[] = { {
		.address = "bob@remote.example",
		.orcpt = "rfc822;Bob@remote.example",
		.action = MAIL_DSN_FAILED,
		.status = "5.1.1",
		.remote_mta = "mx.remote.example",
		.diagnostic_type = "smtp",
		.diagnostic = "550 5.1.1 <bob@remote.example>: no such user",
		.last_attempt = T0 + 30,
	} };
	struct mail_dsn d = base(r, 1);
	size_t len;
	char *out;

	(void)state;
	d.envid = "QQ314159";
	d.ret = MAIL_DSN_RETURN_FULL;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"));
	assert_non_null(strstr(out, "To: <alice@example.org>\r\n"));
	assert_non_null(strstr(out, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(out, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(out, "Message-ID: <ABCDEFGH.1@mx.example.org>\r\n"));
	assert_non_null(strstr(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
				    "\tboundary=\"ABCDEFGH.1/mx.example.org\"\r\n"));
	/* the fields, in RFC 3464's order */
	assert_non_null(strstr(out, "Content-Type: message/delivery-status\r\n\r\n"
				    "Reporting-MTA: dns; mx.example.org\r\n"
				    "Original-Envelope-Id: QQ314159\r\n"
				    "Arrival-Date: "));
	assert_non_null(strstr(out, "\r\n\r\nOriginal-Recipient: rfc822;Bob@remote.example\r\n"
				    "Final-Recipient: rfc822; bob@remote.example\r\n"
				    "Action: failed\r\n"
				    "Status: 5.1.1\r\n"
				    "Remote-MTA: dns; mx.remote.example\r\n"
				    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such user\r\n"
				    "Last-Attempt-Date: "));
	assert_null(strstr(out, "Will-Retry-Until"));
	/* RET=FULL on a failure: the whole message */
	assert_non_null(strstr(out, "Content-Type: message/rfc822\r\n\r\n" "Received: from client"));
	assert_non_null(strstr(out, "the body\r\n\r\n--ABCDEFGH.1/mx.example.org--\r\n"));
	assert_null(strstr(out, "Content-Transfer-Encoding"));
	assert_non_null(strstr(out, "<bob@remote.example>: failed\r\n    550 5.1.1"));
	free(out);
}

static void test_delayed_headers_only(void **state)
{
	const struct mail_dsn_rcpt r[] = { {
		.address = "carol@example.net",
		.action = MAIL_DSN_DELAYED,
		.status = "4.2.2",
		.diagnostic_type = "X-tern",
		.diagnostic = "mailbox over quota",
		.last_attempt = T0 + 30,
		.will_retry_until = T0 + 432000,
	} };
	struct mail_dsn d = base(r, 1);
	size_t len;
	char *out;

	(void)state;
	/* RFC 3461 4.3: FULL applies to failures only */
	d.ret = MAIL_DSN_RETURN_FULL;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_null(strstr(out, "Original-Envelope-Id"));
	assert_null(strstr(out, "Original-Recipient"));
	assert_non_null(strstr(out, "Action: delayed\r\nStatus: 4.2.2\r\n"
				    "Diagnostic-Code: X-tern; mailbox over quota\r\n"));
	assert_non_null(strstr(out, "Will-Retry-Until: "));
	assert_non_null(strstr(out, "Content-Type: text/rfc822-headers\r\n\r\nReceived: from"));
	assert_null(strstr(out, "the body"));
	assert_null(strstr(out, "message/rfc822"));
	free(out);
}

static void test_delivered_and_mixed(void **state)
{
	struct mail_dsn_rcpt r[] = {
		{ .address = "dave@example.org", .action = MAIL_DSN_DELIVERED, .status = "2.0.0" },
		{ .address = "erin@example.org", .action = MAIL_DSN_FAILED, .status = "bogus" },
	};
	struct mail_dsn d = base(r, 1);
	size_t len;
	char *out;

	(void)state;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Subject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(out, "Action: delivered\r\nStatus: 2.0.0\r\n"));
	assert_null(strstr(out, "Diagnostic-Code"));
	free(out);
	/* a failure among them names the report; a bad status becomes 5.0.0 */
	d.n_rcpts = 2;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Subject: Undelivered Mail"));
	assert_non_null(strstr(out, "Action: failed\r\nStatus: 5.0.0\r\n"));
	free(out);
	/* no status at all */
	r[1].status = NULL;
	r[1].action = MAIL_DSN_DELAYED;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Action: delayed\r\nStatus: 4.0.0\r\n"));
	free(out);
	/* no original */
	d.message = NULL;
	out = write_ok(&d, &len);
	assert_null(strstr(out, "rfc822-headers"));
	free(out);
}

static void test_unsafe_values(void **state)
{
	char diag[2000];
	struct mail_dsn_rcpt r[] = { {
		.address = "x\r\nBcc: victim@example.org",
		.action = MAIL_DSN_FAILED,
		.diagnostic_type = "smtp",
		.diagnostic = diag,
	} };
	struct mail_dsn d = base(r, 1);
	size_t len;
	char *out;

	(void)state;
	memset(diag, 'a', sizeof(diag) - 1);
	diag[sizeof(diag) - 1] = '\0';
	d.envid = "id\twith\x7f" "controls\xc3\xa9";
	out = write_ok(&d, &len);
	assert_null(strstr(out, "\r\nBcc:"));
	assert_non_null(strstr(out, "Final-Recipient: rfc822; x??Bcc: victim@example.org\r\n"));
	assert_non_null(strstr(out, "Original-Envelope-Id: id?with?controls??\r\n"));
	/* cut at MAIL_DSN_VALUE_MAX */
	{
		const char *p = strstr(out, "Diagnostic-Code: smtp; ");
		size_t n = 0;

		assert_non_null(p);
		p += strlen("Diagnostic-Code: smtp; ");
		while (p[n] == 'a')
			n++;
		assert_int_equal(n, MAIL_DSN_VALUE_MAX);
	}
	free(out);
}

static void test_sizes(void **state)
{
	const struct mail_dsn_rcpt r[] = { { .address = "f@example.org",
					     .action = MAIL_DSN_FAILED } };
	struct mail_dsn d = base(r, 1);
	size_t big = MAIL_DSN_RETURN_MAX + 10, len;
	char *msg = malloc(big), *out;

	(void)state;
	/* too big to return whole: its header alone */
	memset(msg, 'b', big);
	memcpy(msg, "Subject: big\r\n\r\n", 16);
	d.ret = MAIL_DSN_RETURN_FULL;
	d.message = msg;
	d.message_len = big;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Content-Type: text/rfc822-headers\r\n\r\nSubject: big\r\n\r\n"));
	assert_true(len < 4096);
	free(out);
	/* an endless header: cut after its last whole line within the bound */
	for (size_t i = 0; i + 10 < big; i += 10)
		memcpy(msg + i, "X-Pad: 1\r\n", 10);
	msg[big - 1] = 'z';
	out = write_ok(&d, &len);
	assert_true(len > MAIL_DSN_HEADER_MAX / 2 && len < MAIL_DSN_HEADER_MAX + 4096);
	free(out);
	/* a message of one line without a line end */
	d.message = "Subject: x";
	d.message_len = 10;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Subject: x\r\n\r\n--"));
	free(out);
	free(msg);
}

static void test_utf8(void **state)
{
	static const char msg8[] = "Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n";
	const struct mail_dsn_rcpt r[] = { {
		.address = "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
		.orcpt = "utf-8;j\xc3\xb6rg@b\xc3\xbc" "cher.example",
		.action = MAIL_DSN_FAILED,
	} };
	struct mail_dsn d = base(r, 1);
	size_t len;
	char *out;

	(void)state;
	d.message = msg8;
	d.message_len = sizeof(msg8) - 1;
	d.ret = MAIL_DSN_RETURN_FULL;
	d.utf8 = true;
	out = write_ok(&d, &len);
	/* RFC 6533 */
	assert_non_null(strstr(out, "report-type=global-delivery-status;"));
	assert_non_null(strstr(out, "Content-Type: message/global-delivery-status\r\n"));
	assert_non_null(strstr(out, "Final-Recipient: utf-8; j\xc3\xb6rg@b\xc3\xbc" "cher.example\r\n"));
	assert_non_null(strstr(out, "Original-Recipient: utf-8;j\xc3\xb6rg"));
	assert_non_null(strstr(out, "Content-Type: message/global\r\n"
				    "Content-Transfer-Encoding: 8bit\r\n\r\nSubject: caf\xc3\xa9"));
	free(out);
	/* without SMTPUTF8: no 8-bit address bytes; an 8-bit body is declared */
	d.utf8 = false;
	out = write_ok(&d, &len);
	assert_non_null(strstr(out, "Final-Recipient: rfc822; j??rg@b??cher.example\r\n"));
	assert_non_null(strstr(out, "Content-Type: message/rfc822\r\n"
				    "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(out, "MIME-Version: 1.0\r\nContent-Type: multipart/report; "));
	free(out);
}

static void test_refused(void **state)
{
	const struct mail_dsn_rcpt r[] = { { .address = "g@example.org" } };
	const struct mail_dsn_rcpt empty[] = { { .address = "" } };
	const struct mail_dsn_rcpt bad_action[] = { { .address = "g@example.org",
						      .action = MAIL_DSN__COUNT } };
	struct mail_dsn d;
	size_t len = 1;

	(void)state;
	d = base(r, 0);
	assert_null(mail_dsn_write(&d, &len));
	assert_int_equal(len, 0);
	d = base(empty, 1);
	assert_null(mail_dsn_write(&d, &len));
	d = base(bad_action, 1);
	assert_null(mail_dsn_write(&d, &len));
	d = base(r, 1);
	d.to = "";
	assert_null(mail_dsn_write(&d, &len));
	d = base(r, 1);
	d.reporting_mta = NULL;
	assert_null(mail_dsn_write(&d, &len));
	d = base(r, 1);
	d.token = "has space";
	assert_null(mail_dsn_write(&d, &len));
	d.token = "";
	assert_null(mail_dsn_write(&d, &len));
	d.token = "01234567890123456789012345678901234567890";
	assert_null(mail_dsn_write(&d, &len));
}

static void test_status_parse(void **state)
{
	char out[16];

	(void)state;
	assert_true(mail_dsn_status_parse("5.1.1 user unknown", out));
	assert_string_equal(out, "5.1.1");
	assert_true(mail_dsn_status_parse("4.7.999", out));
	assert_string_equal(out, "4.7.999");
	assert_true(mail_dsn_status_parse("2.0.0", out));
	assert_false(mail_dsn_status_parse("3.1.1", out));
	assert_false(mail_dsn_status_parse("5.1", out));
	assert_false(mail_dsn_status_parse("5..1", out));
	assert_false(mail_dsn_status_parse("5.1.1000", out));
	assert_false(mail_dsn_status_parse("5.1111.1", out));
	assert_false(mail_dsn_status_parse("5.1.1.1", out));
	assert_false(mail_dsn_status_parse("5.1.1x", out));
	assert_false(mail_dsn_status_parse("", out));
	assert_false(mail_dsn_status_parse(NULL, out));
	assert_string_equal(mail_dsn_action_name(MAIL_DSN_EXPANDED), "expanded");
	assert_string_equal(mail_dsn_action_name(MAIL_DSN__COUNT), "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_delayed_headers_only),
		cmocka_unit_test(test_delivered_and_mixed),
		cmocka_unit_test(test_unsafe_values),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_status_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
