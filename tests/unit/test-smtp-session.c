/* test-smtp-session - the SMTP session of port 25 through the real
 * connection layer (smtp-harness.h): transcripts of what a client sees,
 * and what reaches the queue. Sequencing, replies and enhanced codes,
 * relay decisions with every routing trick, recipients through the
 * directory, DATA and BDAT with the smuggling endings, the Received
 * header, the bounds of a session, STARTTLS and the pregreet test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "smtp-harness.h"
#include "store/store.h"

static int setup(void **state)
{
	(void)state;
	smtp_harness_start(SMTP_SERVICE_MX, "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_harness_stop();
	return 0;
}

/* MAIL and one RCPT accepted. */
static void smtp_envelope(struct client *c, const char *from, const char *to)
{
	char line[512], want[600];

	snprintf(line, sizeof(line), "MAIL FROM:<%s>", from);
	snprintf(want, sizeof(want), "250 2.1.0 Sender <%s> OK", from);
	smtp_cmd(c, line, want);
	snprintf(line, sizeof(line), "RCPT TO:<%s>", to);
	snprintf(want, sizeof(want), "250 2.1.5 Recipient <%s> OK", to);
	smtp_cmd(c, line, want);
}

/* EHLO and the exact reply of port 25 (never AUTH). */
static void expect_ehlo(struct client *c, bool starttls)
{
	client_send(c, "EHLO client.example\r\n");
	expect_line(c, "250-localhost Hello client.example [127.0.0.1]");
	expect_line(c, "250-PIPELINING");
	expect_line(c, "250-SIZE 100000");
	expect_line(c, "250-8BITMIME");
	expect_line(c, "250-ENHANCEDSTATUSCODES");
	if (starttls)
		expect_line(c, "250-STARTTLS");
	expect_line(c, "250-SMTPUTF8");
	expect_line(c, "250-CHUNKING");
	expect_line(c, "250 DSN");
}

static void test_greeting_ehlo_helo(void **state)
{
	struct client c;

	(void)state;
	smtp_connect(&c);
	/* Port 25: STARTTLS offered, never AUTH. */
	expect_ehlo(&c, true);
	/* RFC 2034 3: no enhanced codes in replies to EHLO/HELO, errors too. */
	smtp_cmd(&c, "EHLO", "501 Argument required: a domain name is required");
	smtp_cmd(&c, "HELO bad..name", "501 Invalid domain name: invalid domain");
	smtp_cmd(&c, "HELO [192.0.2.1]", "250 localhost Hello [192.0.2.1] [127.0.0.1]");
	/* After HELO no extension may be used (RFC 5321 4.1.1.1). */
	smtp_cmd(&c, "MAIL FROM:<a@remote.example> SIZE=10", "555 5.5.4 Unsupported parameter: unknown parameter");
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	assert_true(smtp_closed(&c));
	client_close(&c);
}

static void test_sequencing(void **state)
{
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "503 5.5.1 Send EHLO or HELO first");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "503 5.5.1 Need MAIL before RCPT");
	smtp_cmd(&c, "DATA", "503 5.5.1 Need MAIL and RCPT before DATA");
	smtp_cmd(&c, "AUTH PLAIN", "503 5.5.1 Send EHLO first");
	smtp_cmd(&c, "FROB", "500 5.5.2 Unknown command");
	smtp_cmd(&c, "NOOP", "250 2.0.0 Ok");
	smtp_cmd(&c, "VRFY alice", "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
	smtp_cmd(&c, "EXPN team", "502 5.5.1 EXPN is not available");
	client_send(&c, "HELP\r\n");
	expect_line(&c, "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
	assert_string_equal(smtp_last_line(&c), "214 2.0.0 See RFC 5321 and https://www.rfc-editor.org/rfc/rfc5321");
	smtp_ehlo(&c);
	smtp_cmd(&c, "AUTH PLAIN", "503 5.5.1 Authentication not enabled: use the submission port");
	smtp_cmd(&c, "QUIT now", "501 5.5.4 No argument allowed");
	smtp_cmd(&c, "MAIL TO:<a@b.example>", "501 5.5.4 Syntax error in arguments: syntax: MAIL FROM:<address>");
	smtp_cmd(&c, "MAIL FROM:<a@b.example> FOO=1", "555 5.5.4 Unsupported parameter: unknown parameter");
	smtp_cmd(&c, "MAIL FROM:<a@b.example> SIZE=100001",
		 "552 5.3.4 Message size exceeds fixed maximum message size (100000 octets)");
	smtp_cmd(&c, "MAIL FROM:<a@b.example> SIZE=99999999999999999999999",
		 "501 5.5.4 Invalid parameter: SIZE= needs a number of octets");
	/* A space after the colon, as real clients send. */
	smtp_cmd(&c, "MAIL FROM: <a@b.example> SIZE=100000", "250 2.1.0 Sender <a@b.example> OK");
	smtp_cmd(&c, "MAIL FROM:<a@b.example>", "503 5.5.1 Nested MAIL command: send RSET first");
	smtp_cmd(&c, "STARTTLS", "503 5.5.1 STARTTLS inside a mail transaction: send RSET first");
	smtp_cmd(&c, "DATA", "503 5.5.1 Need RCPT before DATA");
	smtp_cmd(&c, "RCPT TO:<nobody@example.org>", "550 5.1.1 No such user here");
	/* Every RCPT refused: RFC 2920 3.1. */
	smtp_cmd(&c, "DATA", "554 5.5.1 No valid recipients");
	smtp_cmd(&c, "RSET", "250 2.0.0 Ok");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "503 5.5.1 Need MAIL before RCPT");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

/* Port 25 without trusted networks: local domains only, and no trick
 * gets past. */
static void test_relay_denied(void **state)
{
	static const char *const tricks[] = {
		"RCPT TO:<friend%remote.example@example.org>",      /* percent hack */
		"RCPT TO:<remote.example!friend@example.org>",      /* bang path */
		"RCPT TO:<\"friend@remote.example\"@example.org>",  /* quoted @ */
		"RCPT TO:<friend%remote.example@remote.example>",
	};
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<someone@remote.example>", "250 2.1.0 Sender <someone@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<friend@remote.example>", "554 5.7.1 Relaying denied");
	smtp_cmd(&c, "RCPT TO:<friend@[192.0.2.1]>", "554 5.7.1 Relaying denied");
	/* A source route is ignored: its final mailbox decides, the hops never. */
	smtp_cmd(&c, "RCPT TO:<@example.org:friend@remote.example>", "554 5.7.1 Relaying denied");
	smtp_cmd(&c, "RCPT TO:<@example.org,@example.net:friend@remote.example>", "554 5.7.1 Relaying denied");
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++)
		smtp_cmd(&c, tricks[i],
			 "554 5.7.1 Relaying denied: no routing by the local part (%, !, quoted @)");
	/* Local domains in any case. */
	smtp_cmd(&c, "RCPT TO:<@remote.example:Alice@EXAMPLE.org>", "250 2.1.5 Recipient <Alice@example.org> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	assert_int_equal(fake_queue.begun, 0);
}

static void test_recipients(void **state)
{
	struct fake_queued *q;
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<>", "250 2.1.0 Sender <> OK");
	smtp_cmd(&c, "RCPT TO:<unknown@example.org>", "550 5.1.1 No such user here");
	smtp_cmd(&c, "RCPT TO:<loop1@example.org>", "451 4.3.0 Temporary failure, please try again later");
	/* alias fan-out; sub-address; catch-all; postmaster (bare, any case);
	 * an alias to an external address is forwarding, not relaying. */
	smtp_cmd(&c, "RCPT TO:<team@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;team+2Bx@example.org",
		 "250 2.1.5 Recipient <team@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<bob+lists@example.org>", "250 2.1.5 Recipient <bob+lists@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<whoever@example.net>", "250 2.1.5 Recipient <whoever@example.net> OK");
	smtp_cmd(&c, "RCPT TO:<postmaster@example.org>", "250 2.1.5 Recipient <postmaster@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<fwd@example.org>", "250 2.1.5 Recipient <fwd@example.org> OK");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: hi\r\n\r\nhello\r\n.", "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_string_equal(q->sender, "");
	/* Each final recipient once: alice (team, postmaster), bob, carol. */
	assert_int_equal(q->n_rcpts, 4);
	assert_string_equal(q->rcpts[0], "alice@example.org");
	assert_true(q->local[0]);
	assert_string_equal(q->orcpt[0], "rfc822;team+x@example.org");
	assert_int_equal(q->notify[0], QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	assert_string_equal(q->rcpts[1], "bob@example.org");
	assert_string_equal(q->rcpts[2], "carol@example.net");
	assert_null(q->orcpt[2]);
	assert_int_equal(q->notify[2], 0);
	assert_string_equal(q->rcpts[3], "friend@remote.example");
	assert_false(q->local[3]);
	assert_string_equal(q->helo, "client.example");
	assert_string_equal(q->client_ip, "127.0.0.1");
	assert_null(q->auth_user);
	/* Several RCPTs: the Received header names none. */
	assert_null(strstr(q->data, "\tfor <"));
	assert_string_equal(smtp_body(q), "Subject: hi\r\n\r\nhello\r\n");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

/* The second time, the directory's cache answers on the loop
 * (dir_resolve_cached): the same replies, in the order asked, pipelined
 * among lookups that need a job; the same recipients queued; and a change
 * to the directory is seen at once. */
static void test_recipients_cached(void **state)
{
	static const char *const rcpts =
		"RCPT TO:<team@example.org>\r\n"
		"RCPT TO:<unknown@example.org>\r\n"
		"RCPT TO:<dave@example.org>\r\n"   /* a quota: always a job */
		"RCPT TO:<Bob+x@Example.org>\r\n"
		"RCPT TO:<fwd@example.org>\r\n"
		"RCPT TO:<whoever@example.net>\r\n";
	struct fake_queued *q;
	struct client c;

	(void)state;
	for (int round = 0; round < 2; round++) {
		smtp_connect(&c);
		smtp_ehlo(&c);
		client_send(&c, "MAIL FROM:<a@remote.example>\r\n");
		client_send(&c, rcpts);
		client_send(&c, "DATA\r\n");
		expect_line(&c, "250 2.1.0 Sender <a@remote.example> OK");
		expect_line(&c, "250 2.1.5 Recipient <team@example.org> OK");
		expect_line(&c, "550 5.1.1 No such user here");
		expect_line(&c, "250 2.1.5 Recipient <dave@example.org> OK");
		expect_line(&c, "250 2.1.5 Recipient <Bob+x@example.org> OK");
		expect_line(&c, "250 2.1.5 Recipient <fwd@example.org> OK");
		expect_line(&c, "250 2.1.5 Recipient <whoever@example.net> OK");
		expect_line(&c, "354 End data with <CR><LF>.<CR><LF>");
		smtp_cmd(&c, "Subject: hi\r\n\r\nhello\r\n.", round == 0 ?
			 "250 2.0.0 Ok: queued as FAKEQUEUEID00000" :
			 "250 2.0.0 Ok: queued as FAKEQUEUEID00001");
		q = smtp_queued((size_t)round);
		assert_int_equal(q->n_rcpts, 5);
		assert_string_equal(q->rcpts[0], "alice@example.org");
		assert_string_equal(q->rcpts[1], "bob@example.org");
		assert_string_equal(q->rcpts[2], "dave@example.org");
		assert_string_equal(q->rcpts[3], "friend@remote.example");
		assert_false(q->local[3]);
		assert_string_equal(q->rcpts[4], "carol@example.net");
		smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
		client_close(&c);
	}
	/* A change between two RCPTs of one session. */
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<unknown@example.org>", "550 5.1.1 No such user here");
	assert_int_equal(dir_alias_add(t_dir, "unknown@example.org", "alice@example.org"), DIR_OK);
	smtp_cmd(&c, "RCPT TO:<unknown@example.org>", "250 2.1.5 Recipient <unknown@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<fwd@example.org>", "250 2.1.5 Recipient <fwd@example.org> OK");
	assert_int_equal(dir_alias_del(t_dir, "fwd@example.org"), DIR_OK);
	assert_int_equal(dir_alias_del(t_dir, "unknown@example.org"), DIR_OK);
	smtp_cmd(&c, "RCPT TO:<fwd@example.org>", "550 5.1.1 No such user here");
	smtp_cmd(&c, "RCPT TO:<unknown@example.org>", "550 5.1.1 No such user here");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void test_data_received(void **state)
{
	struct fake_queued *q;
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<j\xc3\xb6rg@remote.example> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1",
		 "250 2.1.0 Sender <j\xc3\xb6rg@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	/* Dot-stuffing undone; 8-bit and long lines kept as they are. */
	client_send(&c, "Subject: caf\xc3\xa9\r\n\r\n..leading dot\r\n.\r\n");
	assert_string_equal(smtp_last_line(&c), "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_string_equal(q->sender, "j\xc3\xb6rg@remote.example");
	assert_true(q->smtputf8);
	/* BODY= is a claim: the queue sees the content itself */
	assert_false(q->eightbit);
	assert_int_equal(q->ret, QUEUE_RET_HDRS);
	assert_string_equal(q->envid, "QQ+1");
	assert_string_equal(smtp_body(q), "Subject: caf\xc3\xa9\r\n\r\n.leading dot\r\n");
	/* RFC 5321 4.4 with RFC 6531 4.3's keyword; one RCPT: FOR. */
	assert_true(strncmp(q->data, "Received: from client.example ([127.0.0.1])\r\n"
			    "\tby localhost (tern) with UTF8SMTP id FAKEQUEUEID00000\r\n"
			    "\tfor <alice@example.org>;\r\n\t", 110) == 0);
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

/* None of the endings of the 2023 smuggling class ends a message or
 * starts a second one: a bare CR or LF is refused once the real end
 * (CRLF.CRLF) came, and what looked like commands stays message text. */
static void test_smuggling(void **state)
{
	static const struct {
		const char *ending;
		size_t len;
		const char *reply;
	} cases[] = {
		{ "\n.\n", 3, "554 5.5.2 Bare LF in message, lines must end with CRLF" },
		{ "\r.\r", 3, "554 5.5.2 Bare CR in message, lines must end with CRLF" },
		{ "\r.\n", 3, "554 5.5.2 Bare CR in message, lines must end with CRLF" },
		{ "\n.\r", 3, "554 5.5.2 Bare LF in message, lines must end with CRLF" },
		{ "\n.\r\n", 4, "554 5.5.2 Bare LF in message, lines must end with CRLF" },
		{ "\r\n.\n", 4, "554 5.5.2 Bare LF in message, lines must end with CRLF" },
		{ "\r.\r\n", 4, "554 5.5.2 Bare CR in message, lines must end with CRLF" },
		{ "\r\n.\r", 4, "554 5.5.2 Bare CR in message, lines must end with CRLF" },
		/* No bare line end: one message, the "commands" its text. */
		{ "\r\n\0.\r\n", 6, NULL },
		{ "\r\n.\0\r\n", 6, NULL },
	};
	static const char smuggled[] = "MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.org>\r\n"
				       "DATA\r\nsmuggled\r\n.\r\n";
	size_t accepted = 0;
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512], want[64];
		size_t n;

		smtp_envelope(&c, "a@remote.example", "alice@example.org");
		smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
		n = (size_t)snprintf(msg, sizeof(msg), "Subject: %zu\r\n\r\nfirst", i);
		memcpy(msg + n, cases[i].ending, cases[i].len);
		n += cases[i].len;
		memcpy(msg + n, smuggled, sizeof(smuggled) - 1);
		n += sizeof(smuggled) - 1;
		assert_int_equal(send(c.fd, msg, n, 0), (ssize_t)n);
		/* Exactly one reply, for the whole of it. */
		if (cases[i].reply != NULL) {
			assert_string_equal(smtp_last_line(&c), cases[i].reply);
		} else {
			snprintf(want, sizeof(want), "250 2.0.0 Ok: queued as FAKEQUEUEID%05zu", i);
			assert_string_equal(smtp_last_line(&c), want);
			accepted++;
		}
		/* In step: the next reply is this NOOP's; the transaction is over. */
		smtp_cmd(&c, "NOOP", "250 2.0.0 Ok");
		smtp_cmd(&c, "RCPT TO:<bob@example.org>", "503 5.5.1 Need MAIL before RCPT");
	}
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	assert_int_equal(fake_queue_wait(accepted), accepted);
	assert_int_equal(fake_queue.begun, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < accepted; i++) {
		const struct fake_queued *q = smtp_queued(i);

		/* One recipient: the smuggled RCPT never counted. */
		assert_int_equal(q->n_rcpts, 1);
		assert_non_null(memmem(q->data, q->len, "\r\nMAIL FROM:<evil@remote.example>\r\n", 35));
	}
}

static void tweak_errors(struct config *cfg)
{
	/* Ten refused messages in a row: no tarpit to wait through. */
	cfg->limits.errors_per_session = 100;
}

static int setup_errors(void **state)
{
	t_tweak = tweak_errors;
	return setup(state);
}

static void test_bdat(void **state)
{
	struct fake_queued *q;
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	/* RFC 3030 2: a chunk is read even when its BDAT is refused, so its
	 * octets never become commands. */
	client_send(&c, "BDAT 12\r\nQUIT\r\nQUIT\r\n");
	assert_string_equal(smtp_last_line(&c), "503 5.5.1 Need MAIL and RCPT before BDAT");
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	/* Two chunks pipelined, the first with a line split across them, a
	 * line of "." (no stuffing in BDAT), no final CRLF: one is added. */
	client_send(&c, "BDAT 22\r\nSubject: chunks\r\n\r\n.\r\nBDAT 6 LAST\r\nab\r\ncd");
	assert_string_equal(smtp_last_line(&c), "250 2.0.0 22 octets received");
	assert_string_equal(smtp_last_line(&c), "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_string_equal(smtp_body(q), "Subject: chunks\r\n\r\n.\r\nab\r\ncd\r\n");
	assert_non_null(strstr(q->data, "with ESMTP id FAKEQUEUEID00000\r\n\tfor <bob@example.org>;"));

	/* BDAT 0 LAST ends a message; DATA cannot follow BDAT. */
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	client_send(&c, "BDAT 10\r\nSubject:\r\n");
	assert_string_equal(smtp_last_line(&c), "250 2.0.0 10 octets received");
	smtp_cmd(&c, "DATA", "503 5.5.1 DATA after BDAT: send RSET first");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "503 5.5.1 RCPT after BDAT: send RSET first");
	smtp_cmd(&c, "BDAT 0 LAST", "250 2.0.0 Ok: queued as FAKEQUEUEID00001");
	assert_string_equal(smtp_body(smtp_queued(1)), "Subject:\r\n");

	/* A bare LF in a chunk fails it; the chunks pipelined after it are
	 * read and dropped until RSET. */
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	client_send(&c, "BDAT 4\r\na\nb\rBDAT 5\r\nQUIT\nBDAT 3 LAST\r\nxyz");
	assert_string_equal(smtp_last_line(&c), "554 5.5.2 Bare LF in message, lines must end with CRLF");
	assert_string_equal(smtp_last_line(&c), "503 5.5.1 The transaction failed: send RSET");
	assert_string_equal(smtp_last_line(&c), "503 5.5.1 The transaction failed: send RSET");
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "503 5.5.1 Nested MAIL command: send RSET first");
	smtp_cmd(&c, "RSET", "250 2.0.0 Ok");

	/* Sizes: over the limit, and one that does not fit 64 bits. */
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	client_send(&c, "BDAT 100001 LAST\r\n");
	for (int i = 0; i < 100; i++) {
		char chunk[1001];

		memset(chunk, 'x', 1000);
		chunk[1000] = '\0';
		client_send(&c, chunk);
	}
	client_send(&c, "y");
	assert_string_equal(smtp_last_line(&c), "552 5.3.4 Message too big");
	smtp_cmd(&c, "RSET", "250 2.0.0 Ok");
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "BDAT 99999999999999999999 LAST", "501 5.5.4 Syntax error in arguments: invalid chunk size");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	assert_int_equal(fake_queue.n_queued, 2);
	assert_int_equal(fake_queue.aborts, 2);
}

static void test_message_limits(void **state)
{
	struct client c;
	char line[128];

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	/* [limits] message_size: read to the end, then 552. */
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	for (int i = 0; i < 1001; i++) {
		snprintf(line, sizeof(line), "%099d\r\n", i);
		client_send(&c, line);
	}
	smtp_cmd(&c, ".", "552 5.3.4 Message too big");
	/* [smtp] max_received: 50 Received fields pass, 51 do not. */
	for (int hops = 50; hops <= 51; hops++) {
		smtp_envelope(&c, "a@remote.example", "bob@example.org");
		smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
		for (int i = 0; i < hops; i++) {
			snprintf(line, sizeof(line), "Received: from hop%d.example by hop%d.example;\r\n"
				 "\tTue, 1 Dec 2026 10:00:00 +0000\r\n", i, i + 1);
			client_send(&c, line);
		}
		client_send(&c, "Subject: loop\r\n\r\nReceived: in the body does not count\r\n");
		smtp_cmd(&c, ".", hops == 50 ? "250 2.0.0 Ok: queued as FAKEQUEUEID00001"
					     : "554 5.4.6 Too many hops (Received headers): a mail loop?");
	}
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	assert_int_equal(fake_queue_wait(1), 1);
}

/* A message larger than the queue's memory part is flushed by jobs as it
 * arrives, and arrives whole. */
static void test_streamed(void **state)
{
	struct fake_queued *q;
	struct client c;
	char line[128];

	(void)state;
	fake_queue.memory_max = 4096;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	client_send(&c, "Subject: big\r\n\r\n");
	for (int i = 0; i < 900; i++) {
		snprintf(line, sizeof(line), "%0*d\r\n", 60 + i % 40, i);
		client_send(&c, line);
	}
	smtp_cmd(&c, ".", "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_true(fake_queue.flushes >= 1);
	/* What went in past a full memory part is at most one input buffer
	 * (SMTP_DATA_INPUT_MAX) per flush. */
	assert_true(fake_queue.adds_past_full <= fake_queue.flushes * 64 * 1024);
	assert_true(strlen(smtp_body(q)) > 70000);
	/* A flush that fails: the message is read to its end, then 451. */
	fake_queue.flush_error = QUEUE_ERR_IO;
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	for (int i = 0; i < 1200; i++) {
		snprintf(line, sizeof(line), "%070d\r\n", i);
		client_send(&c, line);
	}
	smtp_cmd(&c, ".", "451 4.3.0 Temporary failure, please try again later");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void test_queue_failures(void **state)
{
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	fake_queue.no_space = true;
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "452 4.3.1 Insufficient system storage, please try again later");
	fake_queue.no_space = false;
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	fake_queue.refuse_begin = true;
	smtp_cmd(&c, "DATA", "451 4.3.0 Temporary failure, please try again later");
	fake_queue.refuse_begin = false;
	/* The commit fails: 451, never 250. */
	fake_queue.commit_error = QUEUE_ERR_IO;
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: x\r\n\r\nx\r\n.", "451 4.3.0 Temporary failure, please try again later");
	fake_queue.commit_error = QUEUE_OK;
	/* The 250 waits for the commit, however long it takes. */
	fake_queue.commit_delay_ms = 300;
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: x\r\n\r\nx\r\n.", "250 2.0.0 Ok: queued as FAKEQUEUEID00001");
	assert_int_equal(fake_queue.n_queued, 1);
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void tweak_bounds(struct config *cfg)
{
	cfg->limits.recipients = 3;
	cfg->limits.errors_per_session = 6;
}

static void test_bounds(void **state)
{
	struct client c;
	char line[2100];

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	/* 452 4.5.3 past [limits] recipients, not counted as errors. */
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<carol@example.net>", "250 2.1.5 Recipient <carol@example.net> OK");
	for (int i = 0; i < 10; i++)
		smtp_cmd(&c, "RCPT TO:<team@example.org>", "452 4.5.3 Too many recipients");
	smtp_cmd(&c, "RSET", "250 2.0.0 Ok");
	/* A line over 1036 octets. */
	memset(line, 'a', 1100);
	memcpy(line, "NOOP ", 5);
	line[1100] = '\0';
	smtp_cmd(&c, line, "500 5.5.2 Line too long");
	/* [limits] errors_per_session: from half of it a tarpit, at it 421. */
	smtp_cmd(&c, "FROB", "500 5.5.2 Unknown command");
	smtp_cmd(&c, "FROB", "500 5.5.2 Unknown command");
	{
		double t0 = now_s();

		smtp_cmd(&c, "FROB", "500 5.5.2 Unknown command");
		smtp_cmd(&c, "NOOP", "250 2.0.0 Ok");
		assert_true(now_s() - t0 >= 0.9);
	}
	smtp_cmd(&c, "FROB", "500 5.5.2 Unknown command");
	client_send(&c, "FROB\r\n");
	expect_line(&c, "500 5.5.2 Unknown command");
	expect_line(&c, "421 4.7.0 localhost Too many errors");
	assert_true(smtp_closed(&c));
	client_close(&c);

	/* NOOP floods and commands before MAIL are bounded too. */
	smtp_connect(&c);
	for (int i = 0; i < 50; i++)
		smtp_cmd(&c, "HELO client.example", "250 localhost Hello client.example [127.0.0.1]");
	client_send(&c, "NOOP\r\n");
	expect_line(&c, "421 4.7.0 localhost Too many commands before MAIL");
	assert_true(smtp_closed(&c));
	client_close(&c);
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	for (int i = 0; i < 99; i++)
		smtp_cmd(&c, "NOOP", "250 2.0.0 Ok");
	client_send(&c, "RSET\r\n");
	expect_line(&c, "421 4.7.0 localhost Too many commands that do nothing");
	assert_true(smtp_closed(&c));
	client_close(&c);

	/* So do empty chunks that are not the last: they add nothing. */
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	for (int i = 0; i < 100; i++)
		client_send(&c, "BDAT 0\r\n");
	for (int i = 0; i < 99; i++)
		expect_line(&c, "250 2.0.0 0 octets received");
	expect_line(&c, "421 4.7.0 localhost Too many commands that do nothing");
	assert_true(smtp_closed(&c));
	client_close(&c);
}

static int setup_bounds(void **state)
{
	t_tweak = tweak_bounds;
	return setup(state);
}

/* STARTTLS: nothing pipelined behind it survives; the client starts
 * again with EHLO; the trace names TLS. */
static void tweak_overshoot(struct config *cfg)
{
	cfg->limits.recipients = 1;
	cfg->limits.errors_per_session = 2;
}

static int setup_overshoot(void **state)
{
	t_tweak = tweak_overshoot;
	return setup(state);
}

/* A client that never stops sending RCPT past [limits] recipients: the
 * first 1,000 452s are free (SMTP_RCPT_OVERSHOOT_MAX, smtp-session.h),
 * each one after them is an error, so [limits] errors_per_session ends
 * the session. */
static void test_recipient_overshoot(void **state)
{
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<alice@example.org>", "250 2.1.5 Recipient <alice@example.org> OK");
	/* Pipelined (RFC 2920): 1,000 free ones, then two errors. */
	for (int i = 0; i < 1002; i++)
		client_send(&c, "RCPT TO:<bob@example.org>\r\n");
	for (int i = 0; i < 1002; i++)
		expect_line(&c, "452 4.5.3 Too many recipients");
	expect_line(&c, "421 4.7.0 localhost Too many errors");
	assert_true(smtp_closed(&c));
	client_close(&c);
}

static void test_starttls(void **state)
{
	struct fake_queued *q;
	struct client c;
	char want[128];

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	client_send(&c, "STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n");
	expect_line(&c, "220 2.0.0 Ready to start TLS");
	assert_int_equal(client_tls(&c, 0), 1);
	/* The injected MAIL is gone: this one gets 503 for want of EHLO. */
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "503 5.5.1 Send EHLO or HELO first");
	/* No STARTTLS once TLS is on. */
	expect_ehlo(&c, false);
	smtp_cmd(&c, "STARTTLS", "503 5.5.1 TLS already active");
	smtp_envelope(&c, "a@remote.example", "alice@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: tls\r\n\r\nx\r\n.", "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	snprintf(want, sizeof(want), "\t(using %s with cipher %s)\r\n\tby localhost (tern) with ESMTPS id",
		 SSL_get_version(c.ssl), SSL_get_cipher_name(c.ssl));
	assert_non_null(strstr(q->data, want));
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

/* [smtp] trusted_networks: such a client relays through port 25. */
static void test_trusted_relay(void **state)
{
	struct fake_queued *q;
	struct client c;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_envelope(&c, "app@example.org", "someone@remote.example");
	/* Routing tricks are then ordinary local parts. */
	smtp_cmd(&c, "RCPT TO:<x%y@remote.example>", "250 2.1.5 Recipient <x%y@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<x%y@example.org>", "550 5.1.1 No such user here");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: out\r\n\r\nx\r\n.", "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_int_equal(q->n_rcpts, 2);
	assert_string_equal(q->rcpts[0], "someone@remote.example");
	assert_false(q->local[0]);
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static int setup_trusted(void **state)
{
	(void)state;
	smtp_harness_start(SMTP_SERVICE_MX, "127.0.0.0/8");
	return 0;
}

static void test_quota(void **state)
{
	struct store_account *acct = NULL;
	struct client c;
	char msg[200];

	(void)state;
	/* dave has a quota of 100 octets: fill it. */
	memset(msg, 'x', sizeof(msg));
	assert_int_equal(store_open(t_h.dir, "dave@example.org", &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", msg, sizeof(msg), 0, NULL, 0, NULL), STORE_OK);
	store_close(&acct);
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_cmd(&c, "MAIL FROM:<a@remote.example>", "250 2.1.0 Sender <a@remote.example> OK");
	smtp_cmd(&c, "RCPT TO:<dave@example.org>", "452 4.2.2 Mailbox full, please try again later");
	smtp_cmd(&c, "RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void tweak_timeouts(struct config *cfg)
{
	cfg->smtp.conn.idle_timeout = 3;
	cfg->smtp.data_timeout = 1;
}

static int setup_timeouts(void **state)
{
	t_tweak = tweak_timeouts;
	return setup(state);
}

/* RFC 5321 4.5.3.2: a timeout per command ([smtp] idle_timeout) and one
 * per data block ([smtp] data_timeout); the message waiting is given up. */
static void test_timeouts(void **state)
{
	struct client c;
	double t0;

	(void)state;
	smtp_connect(&c);
	smtp_ehlo(&c);
	smtp_envelope(&c, "a@remote.example", "bob@example.org");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	client_send(&c, "Subject: slow\r\n");
	t0 = now_s();
	expect_line(&c, "421 4.4.2 localhost Timeout exceeded");
	assert_true(now_s() - t0 >= 0.9 && now_s() - t0 < 2.5);
	assert_true(smtp_closed(&c));
	client_close(&c);
	smtp_connect(&c);
	smtp_ehlo(&c);
	t0 = now_s();
	expect_line(&c, "421 4.4.2 localhost Timeout exceeded");
	assert_true(now_s() - t0 >= 2.9);
	client_close(&c);
	assert_int_equal(fake_queue.aborts, 1);
}

static void tweak_pregreet(struct config *cfg)
{
	cfg->smtp.pregreet_delay = 1;
}

static int setup_pregreet(void **state)
{
	t_tweak = tweak_pregreet;
	return setup(state);
}

/* The greeting's last line comes after the delay; a client that talks
 * before it is refused; one that waited is greeted at once next time. */
static void test_pregreet(void **state)
{
	struct client c;
	double t0;

	(void)state;
	client_connect_from(&c, t_h.port, "127.0.0.2");
	expect_line(&c, "220-localhost ESMTP tern");
	client_send(&c, "EHLO bot.example\r\n");
	expect_line(&c, "554 5.5.1 localhost Protocol error: talking before the greeting");
	assert_true(smtp_closed(&c));
	client_close(&c);
	/* Refused is not passed: the wait again. */
	t0 = now_s();
	client_connect_from(&c, t_h.port, "127.0.0.2");
	expect_line(&c, "220-localhost ESMTP tern");
	expect_line(&c, T_GREETING);
	assert_true(now_s() - t0 >= 0.9);
	smtp_ehlo(&c);
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	/* Passed: remembered. */
	t0 = now_s();
	client_connect_from(&c, t_h.port, "127.0.0.2");
	expect_line(&c, T_GREETING);
	assert_true(now_s() - t0 < 0.5);
	client_close(&c);
	/* Another address is tested. */
	client_connect_from(&c, t_h.port, "127.0.0.3");
	expect_line(&c, "220-localhost ESMTP tern");
	client_close(&c);
}

static void test_pregreet_table(void **state)
{
	struct smtp_pregreet *p = smtp_pregreet_new(8);

	(void)state;
	assert_false(smtp_pregreet_passed(p, "192.0.2.1", 1000));
	smtp_pregreet_remember(p, "192.0.2.1", 1000);
	assert_true(smtp_pregreet_passed(p, "192.0.2.1", 1000 + SMTP_PREGREET_REMEMBER - 1));
	assert_false(smtp_pregreet_passed(p, "192.0.2.1", 1000 + SMTP_PREGREET_REMEMBER));
	assert_true(smtp_pregreet_passed(p, "::ffff:192.0.2.1", 1001));
	assert_false(smtp_pregreet_passed(p, "192.0.2.2", 1001));
	assert_false(smtp_pregreet_passed(p, "not an address", 1001));
	smtp_pregreet_remember(p, "garbage", 1001);
	/* A full table forgets the oldest, never fails. */
	for (int i = 0; i < 100; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "2001:db8::%x", i);
		smtp_pregreet_remember(p, ip, 2000 + i);
	}
	assert_true(smtp_pregreet_passed(p, "2001:db8::63", 2100));
	smtp_pregreet_free(&p);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_ehlo_helo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequencing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipients_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smuggling, setup_errors, teardown),
		cmocka_unit_test_setup_teardown(test_bdat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup_bounds, teardown),
		cmocka_unit_test_setup_teardown(test_recipient_overshoot, setup_overshoot, teardown),
		cmocka_unit_test_setup_teardown(test_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trusted_relay, setup_trusted, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup_timeouts, teardown),
		cmocka_unit_test_setup_teardown(test_pregreet, setup_pregreet, teardown),
		cmocka_unit_test(test_pregreet_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
