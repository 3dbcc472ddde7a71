/* test-smtp-client-cmd - the SMTP client's MAIL and RCPT lines: the
 * parameters only for the extensions offered, xtext in ENVID and ORCPT,
 * NOTIFY's words, NEVER alone, and when a message needs SMTPUTF8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "smtp/smtp-client-cmd.h"

static void test_mail(void **state)
{
	static const struct smtp_client_rcpt rcpts[] = { { .address = "a@b.test" } };
	struct smtp_client_message msg = {
		.sender = "s@b.test", .rcpts = rcpts, .n_rcpts = 1, .length = 1234,
		.envid = "id+1=\xc3\xa9", .ret = QUEUE_RET_FULL, .eightbit = true,
	};
	struct smtp_client_cmd_ext none = { 0 }, all = { true, true, true };
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	smtp_client_cmd_mail(&b, &msg, &none);
	assert_string_equal(b.data, "MAIL FROM:<s@b.test> BODY=8BITMIME\r\n");
	smtp_client_cmd_mail(&b, &msg, &all);
	assert_string_equal(b.data, "MAIL FROM:<s@b.test> SIZE=1234 BODY=8BITMIME RET=FULL "
				    "ENVID=id+2B1+3D+C3+A9\r\n");
	assert_false(smtp_client_cmd_needs_utf8(&msg));
	msg.sender = "";
	msg.eightbit = false;
	msg.ret = QUEUE_RET_DEFAULT;
	msg.envid = NULL;
	smtp_client_cmd_mail(&b, &msg, &all);
	assert_string_equal(b.data, "MAIL FROM:<> SIZE=1234\r\n");
	msg.smtputf8 = true;
	assert_true(smtp_client_cmd_needs_utf8(&msg));
	smtp_client_cmd_mail(&b, &msg, &all);
	assert_string_equal(b.data, "MAIL FROM:<> SIZE=1234 SMTPUTF8\r\n");
	buf_release(&b);
}

static void test_rcpt(void **state)
{
	struct smtp_client_rcpt r = {
		.address = "j\xc3\xb6@b.test",
		.notify = QUEUE_NOTIFY_DELAY | QUEUE_NOTIFY_SUCCESS,
		.orcpt = "utf-8;j\xc3\xb6@b.test",
	};
	struct smtp_client_message msg = { .sender = "s@b.test", .rcpts = &r, .n_rcpts = 1 };
	struct smtp_client_cmd_ext none = { 0 }, dsn = { .dsn = true };
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_true(smtp_client_cmd_needs_utf8(&msg));
	smtp_client_cmd_rcpt(&b, &r, &none);
	assert_string_equal(b.data, "RCPT TO:<j\xc3\xb6@b.test>\r\n");
	smtp_client_cmd_rcpt(&b, &r, &dsn);
	assert_string_equal(b.data, "RCPT TO:<j\xc3\xb6@b.test> NOTIFY=SUCCESS,DELAY "
				    "ORCPT=utf-8;j+C3+B6@b.test\r\n");
	r.notify = QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_FAILURE;
	r.orcpt = "no-semicolon";
	smtp_client_cmd_rcpt(&b, &r, &dsn);
	assert_string_equal(b.data, "RCPT TO:<j\xc3\xb6@b.test> NOTIFY=NEVER\r\n");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
