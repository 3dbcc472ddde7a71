/* test-smtp-local - the SMTP session on the sendmail socket
 * (SMTP_SERVICE_LOCAL) over a real UNIX socket: the peer's uid names the
 * sender in Received and in the envelope, it may relay without a login,
 * any envelope sender is taken, no AUTH is offered, and the limits of
 * port 25 hold (the size limit here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pwd.h>

#include "smtp-harness.h"

static int setup(void **state)
{
	(void)state;
	harness_unix_protocol = &smtp_protocol;
	harness_unix_context = &t_ctx;
	smtp_harness_start(SMTP_SERVICE_LOCAL, "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_harness_stop();
	return 0;
}

static void local_connect(struct client *c)
{
	assert_int_equal(client_connect_unix(c, t_h.unix_path), 0);
	expect_line(c, T_GREETING);
}

static void test_local_user(void **state)
{
	const struct passwd *pw = getpwuid(geteuid());
	struct fake_queued *q;
	struct client c;
	char want[256];
	const char *line;

	(void)state;
	assert_non_null(pw);
	local_connect(&c);
	client_send(&c, "EHLO localhost\r\n");
	while ((line = smtp_last_line(&c)) != NULL && strcmp(line, "250 DSN") != 0)
		fail_msg("EHLO: %s", line);
	/* any sender; a remote recipient without a login */
	smtp_cmd(&c, "MAIL FROM:<someone@elsewhere.example>",
		"250 2.1.0 Sender <someone@elsewhere.example> OK");
	smtp_cmd(&c, "RCPT TO:<friend@remote.example>",
		"250 2.1.5 Recipient <friend@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	client_send(&c, "Subject: local\r\n\r\nHello.\r\n.\r\n");
	line = smtp_last_line(&c);
	assert_true(strncmp(line, "250 2.0.0 Ok: queued as ", 24) == 0);
	q = smtp_queued(0);
	snprintf(want, sizeof(want),
		 "Received: from local user %s (uid %lu)\r\n\tby localhost (tern) id %s;\r\n",
		 pw->pw_name, (unsigned long)geteuid(), q->id);
	assert_true(strncmp(q->data, want, strlen(want)) == 0);
	assert_string_equal(smtp_body(q), "Subject: local\r\n\r\nHello.\r\n");
	assert_string_equal(q->sender, "someone@elsewhere.example");
	assert_string_equal(q->client_ip, "");
	assert_string_equal(q->helo, pw->pw_name);
	assert_null(q->auth_user);
	assert_int_equal(q->n_rcpts, 2);
	assert_false(q->local[0]);
	/* no AUTH here */
	smtp_cmd(&c, "AUTH PLAIN AGFsaWNlAFJpZ2h0LUhvcnNlLTE=",
		 "503 5.5.1 Authentication not enabled: use the submission port");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void test_size_limit(void **state)
{
	struct client c;
	char chunk[1001];

	(void)state;
	local_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<>", "250 2.1.0 Sender <> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	memset(chunk, 'x', 998);
	memcpy(chunk + 998, "\r\n", 3);
	/* [limits] message_size is 100,000 in the harness */
	for (int i = 0; i < 110; i++)
		client_send(&c, chunk);
	client_send(&c, ".\r\n");
	assert_true(strncmp(smtp_last_line(&c), "552 5.3.4 ", 10) == 0);
	client_close(&c);
	assert_int_equal(fake_queue.n_queued, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
