/* test-pop3-session - the POP3 session driven through a fake connection,
 * directory and store (fake-pop3.h): transcripts of what a client sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "fake-pop3.h"

#define GREETING "+OK mail.example.org tern POP3 server ready\r\n"
#define MSG1 "Subject: one\r\n\r\nHello\r\n.dot line\r\n"
#define MSG2 "Subject: two\r\nFrom: a@b\r\n\r\nl1\r\nl2\r\nl3\r\n"
#define MSG3 "Subject: three\r\n\r\nno final line end"

static void expect(struct conn *c, const char *want)
{
	char *got = fake_take(c);

	assert_string_equal(got, want);
	free(got);
}

static int setup(void **state)
{
	(void)state;
	fake_store_reset();
	fake_store_add(MSG1, strlen(MSG1));
	fake_store_add(MSG2, strlen(MSG2));
	fake_store_add(MSG3, strlen(MSG3));
	fake_auth_verifies = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* Every session released its lock, account and readers. */
	assert_false(fake_store.locked);
	assert_int_equal(fake_store.opens, 0);
	assert_int_equal(fake_store.readers, 0);
	fake_store_reset();
	return 0;
}

static struct conn *start(void)
{
	struct conn *c = fake_conn_new(&pop3_protocol);

	fake_open(c);
	expect(c, GREETING);
	return c;
}

static struct conn *login(void)
{
	struct conn *c = start();

	assert_false(c->authenticated);
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	expect(c, "+OK Send your password\r\n+OK Logged in.\r\n");
	/* the core no longer holds the login deadline against it */
	assert_true(c->authenticated);
	/* the session idles holding its account open: caches given back */
	assert_true(fake_store.releases > 0);
	return c;
}

static void test_greeting_quit(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_send(c, "quit\r\n");
	expect(c, "+OK Bye\r\n");
	assert_true(c->closing);
	fake_free(c);
}

static void test_capa(void **state)
{
	struct conn *c = fake_conn_new(&pop3_protocol);

	(void)state;
	/* Not loopback, no TLS yet: no USER/SASL, STLS offered. */
	c->loopback = false;
	fake_open(c);
	expect(c, GREETING);
	fake_send(c, "CAPA\r\n");
	expect(c, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		  "AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION tern\r\n.\r\n");
	/* Plaintext refused, without even asking the directory. */
	fake_send(c, "USER " FAKE_USER "\r\n");
	expect(c, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n");
	fake_send(c, "AUTH PLAIN AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0\r\n");
	expect(c, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n");
	fake_send(c, "PASS x\r\n");
	expect(c, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n");
	assert_int_equal(fake_auth_verifies, 0);

	/* STLS: what was pipelined behind it is discarded. */
	fake_send(c, "STLS\r\nUSER evil\r\n");
	expect(c, "+OK Begin TLS negotiation\r\n");
	assert_true(c->starttls_pending);
	fake_tls_handshake(c);
	expect(c, "");
	fake_send(c, "PASS " FAKE_PASSWORD "\r\n");
	expect(c, "-ERR No user name given: send USER first\r\n");
	fake_send(c, "CAPA\r\n");
	expect(c, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		  "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\n"
		  "IMPLEMENTATION tern\r\n.\r\n");
	fake_send(c, "STLS\r\n");
	expect(c, "-ERR Already using TLS\r\n");
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\nCAPA\r\nSTLS\r\n");
	expect(c, "+OK Send your password\r\n+OK Logged in.\r\n"
		  "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		  "AUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION tern\r\n.\r\n"
		  "-ERR STLS not allowed in the TRANSACTION state\r\n");
	fake_free(c);
}

static void test_user_pass_fail(void **state)
{
	struct conn *c = start();

	(void)state;
	/* The driver answers after its delays; nothing else is read meanwhile. */
	c->hold_jobs = true;
	fake_send(c, "USER " FAKE_USER "\r\nPASS wrong\r\nNOOP\r\n");
	expect(c, "+OK Send your password\r\n");
	assert_true(c->paused);
	assert_int_equal(fake_auth_verifies, 1);
	assert_string_equal(fake_auth_authcid, FAKE_USER);
	assert_string_equal(fake_auth_authzid, "");
	c->hold_jobs = false;
	fake_run(c);
	expect(c, "-ERR [AUTH] Authentication failed\r\n"
		  "-ERR NOOP not allowed in the AUTHORIZATION state\r\n");
	/* A password with spaces is one argument (RFC 1939 7). */
	fake_send(c, "USER " FAKE_USER "\r\nPASS secret with spaces\r\n");
	expect(c, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
	/* The third failure hangs up. */
	fake_send(c, "USER x\r\nPASS y\r\n");
	expect(c, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
	assert_true(c->closing);
	fake_free(c);
}

static void test_user_pass_ok(void **state)
{
	struct conn *c = login();

	(void)state;
	assert_int_equal(fake_auth_verifies, 1);
	assert_true(fake_store.locked);
	fake_send(c, "USER x\r\n");
	expect(c, "-ERR USER not allowed in the TRANSACTION state\r\n");
	fake_send(c, "STAT\r\n");
	expect(c, "+OK 3 108\r\n");
	fake_free(c);
	assert_false(fake_store.locked);
}

static void test_tempfail(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_send(c, "USER tempfail\r\nPASS x\r\n");
	expect(c, "+OK Send your password\r\n"
		  "-ERR [SYS/TEMP] Temporary server failure, try again later\r\n");
	fake_store.open_error = STORE_ERR_IO;
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	expect(c, "+OK Send your password\r\n"
		  "-ERR [SYS/TEMP] Temporary server failure, try again later\r\n");
	assert_false(fake_store.locked);
	fake_free(c);
}

static void test_auth_plain(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_send(c, "AUTH PLAIN AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0\r\n");
	expect(c, "+OK Logged in.\r\n");
	fake_send(c, "AUTH PLAIN\r\n");
	expect(c, "-ERR AUTH not allowed in the TRANSACTION state\r\n");
	fake_free(c);

	/* Without initial response: an empty challenge "+ ". */
	c = start();
	fake_send(c, "AUTH plain\r\n");
	expect(c, "+ \r\n");
	fake_send(c, "AHVzZXJAZXhhbXBsZS5vcmcAd3Jvbmc=\r\n");
	expect(c, "-ERR [AUTH] Authentication failed\r\n");
	fake_send(c, "AUTH PLAIN\r\n");
	expect(c, "+ \r\n");
	fake_send(c, "AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0\r\n");
	expect(c, "+OK Logged in.\r\n");
	fake_free(c);

	/* An authzid that is someone else is refused. */
	c = start();
	fake_send(c, "AUTH PLAIN b3RoZXIAdXNlckBleGFtcGxlLm9yZwBzZWNyZXQ=\r\n");
	expect(c, "-ERR [AUTH] Authentication failed\r\n");
	assert_string_equal(fake_auth_authzid, "other");
	fake_free(c);
}

static void test_auth_login_cancel(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_send(c, "AUTH LOGIN\r\n");
	expect(c, "+ VXNlcm5hbWU6\r\n");
	fake_send(c, "*\r\n");
	expect(c, "-ERR Authentication cancelled\r\n");
	fake_send(c, "AUTH LOGIN\r\n");
	expect(c, "+ VXNlcm5hbWU6\r\n");
	fake_send(c, "not base64!\r\n");
	expect(c, "-ERR Invalid SASL response\r\n");
	fake_send(c, "AUTH CRAM-MD5\r\n");
	expect(c, "-ERR Unsupported authentication mechanism\r\n");
	fake_send(c, "AUTH\r\n");
	expect(c, "+OK Supported mechanisms follow\r\nPLAIN\r\nLOGIN\r\n.\r\n");
	fake_send(c, "AUTH LOGIN\r\n");
	expect(c, "+ VXNlcm5hbWU6\r\n");
	fake_send(c, "dXNlckBleGFtcGxlLm9yZw==\r\n");
	expect(c, "+ UGFzc3dvcmQ6\r\n");
	fake_send(c, "c2VjcmV0\r\n");
	expect(c, "+OK Logged in.\r\n");
	fake_free(c);
}

static void test_auth_long_response(void **state)
{
	struct conn *c = start();
	unsigned char msg[300];
	char line[600];
	int n;

	(void)state;
	/* A SASL response is not a command: longer than 255 is fine (a
	 * well-formed PLAIN message with a 250-octet wrong password)... */
	fake_send(c, "AUTH PLAIN\r\n");
	expect(c, "+ \r\n");
	memset(msg, 'x', sizeof(msg));
	memcpy(msg, "\0" FAKE_USER "\0", sizeof(FAKE_USER) + 1);
	n = EVP_EncodeBlock((unsigned char *)line, msg, (int)(sizeof(FAKE_USER) + 1 + 250));
	assert_true(n > 255);
	memcpy(line + n, "\r\n", 3);
	fake_send(c, line);
	expect(c, "-ERR [AUTH] Authentication failed\r\n");
	/* ...but not over [pop3] line_length. */
	c->cfg.pop3.conn.line_length = 300;
	fake_send(c, "AUTH PLAIN\r\n");
	expect(c, "+ \r\n");
	fake_send(c, line);
	expect(c, "-ERR Line too long\r\n");
	fake_send(c, "NOOP\r\n");
	expect(c, "-ERR NOOP not allowed in the AUTHORIZATION state\r\n");
	fake_free(c);
}

static void test_in_use(void **state)
{
	struct conn *c1 = login();
	struct conn *c2 = start();

	(void)state;
	fake_send(c2, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	expect(c2, "+OK Send your password\r\n"
		   "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n");
	/* Still in AUTHORIZATION: once the other session ends, it works. */
	fake_free(c1);
	fake_send(c2, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	expect(c2, "+OK Send your password\r\n+OK Logged in.\r\n");
	fake_free(c2);
}

static void test_listings(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_send(c, "LIST\r\n");
	expect(c, "+OK 3 messages (108 octets)\r\n1 34\r\n2 39\r\n3 35\r\n.\r\n");
	fake_send(c, "LIST 2\r\nLIST 4\r\nLIST 0\r\nLIST x\r\nLIST 1 2\r\n");
	expect(c, "+OK 2 39\r\n-ERR No such message, only 3 messages in maildrop\r\n"
		  "-ERR Invalid message number\r\n-ERR Invalid message number\r\n"
		  "-ERR Too many arguments\r\n");
	fake_send(c, "UIDL\r\n");
	expect(c, "+OK Unique-ID listing follows\r\n1 5eed000100000001\r\n"
		  "2 5eed000100000002\r\n3 5eed000100000003\r\n.\r\n");
	fake_send(c, "UIDL 3\r\n");
	expect(c, "+OK 3 5eed000100000003\r\n");
	fake_send(c, "DELE 2\r\nSTAT\r\nLIST\r\nUIDL\r\nLIST 2\r\nUIDL 2\r\nRETR 2\r\nTOP 2 1\r\nDELE 2\r\n");
	expect(c, "+OK Message 2 deleted\r\n+OK 2 69\r\n"
		  "+OK 2 messages (69 octets)\r\n1 34\r\n3 35\r\n.\r\n"
		  "+OK Unique-ID listing follows\r\n1 5eed000100000001\r\n3 5eed000100000003\r\n.\r\n"
		  "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
		  "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
		  "-ERR Message 2 already deleted\r\n");
	fake_send(c, "RSET\r\nSTAT\r\nNOOP\r\n");
	expect(c, "+OK Maildrop has 3 messages (108 octets)\r\n+OK 3 108\r\n+OK Nothing happens\r\n");
	fake_free(c);
}

static void test_retr_top(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_store.read_max = 3;   /* stuffing across chunk boundaries */
	fake_send(c, "RETR 1\r\n");
	expect(c, "+OK 34 octets\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n");
	fake_send(c, "RETR 3\r\n");
	expect(c, "+OK 35 octets\r\nSubject: three\r\n\r\nno final line end\r\n.\r\n");
	fake_send(c, "TOP 2 0\r\nTOP 2 2\r\nTOP 1 99\r\nTOP 1\r\nTOP 1 -1\r\n");
	expect(c, "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\n.\r\n"
		  "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\nl1\r\nl2\r\n.\r\n"
		  "+OK Top of message follows\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n"
		  "-ERR Missing argument\r\n-ERR Invalid number of lines\r\n");
	/* A message the store cannot open. */
	fake_store.reader_error = STORE_ERR_IO;
	fake_send(c, "RETR 1\r\nNOOP\r\n");
	expect(c, "-ERR [SYS/TEMP] Temporary server failure, try again later\r\n+OK Nothing happens\r\n");
	fake_store.reader_error = STORE_OK;
	/* A read error after the +OK: all that is left is to hang up. */
	fake_store.read_fails = true;
	fake_send(c, "RETR 1\r\n");
	expect(c, "+OK 34 octets\r\n");
	assert_true(c->closing);
	fake_free(c);
}

static void test_back_pressure(void **state)
{
	struct conn *c;
	char *big, *got;
	struct buf all;
	size_t i, len = 600 * 1000, rounds = 0;
	const char *tail = "x\r\n.\r\n+OK Nothing happens\r\n";

	(void)state;
	big = malloc(len);
	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (i % 100 == 98) ? '\r' : (i % 100 == 99) ? '\n' : (i % 100 == 0) ? '.' : 'x';
	fake_store_add(big, len);
	c = login();
	c->high_water = 100000;
	fake_send(c, "RETR 4\r\nNOOP\r\n");
	buf_init(&all, 0);
	for (;;) {
		got = fake_take(c);
		buf_append_str(&all, got);
		free(got);
		/* The producer stops at the mark; NOOP waits behind it. */
		assert_true(c->queued < c->high_water + 70 * 1000);
		if (strstr(all.data, "+OK Nothing happens\r\n") != NULL)
			break;
		assert_true(c->paused);
		fake_drain(c);
		assert_true(++rounds < 100);
	}
	assert_true(rounds >= 3);
	/* +OK line, 6000 lines each one '.' longer, terminator, NOOP reply. */
	assert_int_equal(all.len, strlen("+OK 600000 octets\r\n") + len + 6000 + 3 +
			 strlen("+OK Nothing happens\r\n"));
	assert_string_equal(all.data + all.len - strlen(tail), tail);
	buf_release(&all);
	free(big);
	fake_free(c);
}

static void test_quit_expunges(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_send(c, "DELE 1\r\nDELE 3\r\nQUIT\r\nNOOP\r\n");
	expect(c, "+OK Message 1 deleted\r\n+OK Message 3 deleted\r\n"
		  "+OK Bye, 2 messages deleted\r\n");
	assert_true(c->closing);
	assert_int_equal(fake_store.n, 1);
	assert_int_equal(fake_store.msgs[0].uid, 2);
	fake_free(c);

	/* UIDs stay the same in the next session. */
	c = login();
	fake_send(c, "UIDL\r\n");
	expect(c, "+OK Unique-ID listing follows\r\n1 5eed000100000002\r\n.\r\n");
	fake_free(c);
}

static void test_quit_expunge_fails(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_store.expunge_error = STORE_ERR_IO;
	fake_send(c, "DELE 1\r\nQUIT\r\n");
	expect(c, "+OK Message 1 deleted\r\n"
		  "-ERR [SYS/TEMP] Temporary server failure, try again later\r\n");
	assert_true(c->closing);
	assert_int_equal(fake_store.n, 3);
	fake_free(c);
}

static void test_drop_deletes_nothing(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_send(c, "DELE 1\r\nDELE 2\r\n");
	expect(c, "+OK Message 1 deleted\r\n+OK Message 2 deleted\r\n");
	fake_free(c);
	assert_int_equal(fake_store.n, 3);
	assert_int_equal(fake_store.expunges, 0);

	/* Dropped while a RETR's open job runs. */
	c = login();
	c->hold_jobs = true;
	fake_send(c, "DELE 1\r\nRETR 2\r\nQUIT\r\n");
	expect(c, "+OK Message 1 deleted\r\n");
	assert_non_null(c->job_work);
	fake_free(c);
	assert_int_equal(fake_store.n, 3);
	/* Dropped while the login driver works: it answers GONE. */
	c = start();
	c->hold_jobs = true;
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	assert_non_null(c->job_work);
	fake_free(c);
}

/* The credentials go to the shared login driver, which answers once: its
 * temporary refusals become [SYS/TEMP]; when the client is gone nothing is
 * written; after OK the maildrop is opened in a job of its own. */
static void test_login_driver_answers(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_send(c, "USER busy\r\nPASS x\r\n");
	expect(c, "+OK Send your password\r\n"
		  "-ERR [SYS/TEMP] Temporary server failure, try again later\r\n");
	/* Not an authentication failure: the session goes on. */
	assert_false(c->closing);
	fake_send(c, "AUTH PLAIN AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0\r\nSTAT\r\n");
	expect(c, "+OK Logged in.\r\n+OK 3 108\r\n");
	assert_int_equal(fake_auth_verifies, 2);
	assert_int_equal(c->jobs_run, 3);   /* busy; the login; the maildrop */
	fake_free(c);

	/* The client went while the check ran: nothing written, nothing held. */
	c = start();
	c->hold_jobs = true;
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\n");
	expect(c, "+OK Send your password\r\n");
	c->closing = true;
	c->hold_jobs = false;
	fake_run(c);
	expect(c, "");
	assert_false(fake_store.locked);
	fake_free(c);
}

static void test_pipelining(void **state)
{
	struct conn *c = start();

	(void)state;
	fake_store.read_max = 5;
	fake_send(c, "USER " FAKE_USER "\r\nPASS " FAKE_PASSWORD "\r\nSTAT\r\nRETR 1\r\n"
		  "LIST 1\r\nTOP 2 1\r\nUIDL 1\r\nQUIT\r\n");
	expect(c, "+OK Send your password\r\n+OK Logged in.\r\n+OK 3 108\r\n"
		  "+OK 34 octets\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n"
		  "+OK 1 34\r\n"
		  "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\nl1\r\n.\r\n"
		  "+OK 1 5eed000100000001\r\n+OK Bye\r\n");
	fake_free(c);
}

static void test_errors(void **state)
{
	struct conn *c = start();
	char line[400];
	const char nul[] = "NO\0OP\r\n";
	unsigned i;

	(void)state;
	fake_send(c, "\r\n   \r\nFOO\r\nSTAT\r\nLISTING\r\n");
	expect(c, "-ERR Empty command\r\n-ERR Empty command\r\n-ERR Unknown command\r\n"
		  "-ERR STAT not allowed in the AUTHORIZATION state\r\n-ERR Unknown command\r\n");
	memset(line, 'a', sizeof(line));
	memcpy(line, "USER ", 5);
	memcpy(line + 300, "\r\n", 3);
	fake_send(c, line);
	expect(c, "-ERR Line too long\r\n");
	fake_send_bytes(c, nul, sizeof(nul) - 1);
	expect(c, "-ERR Invalid character in command\r\n");
	fake_send(c, "USER \xff\xfe\r\n");
	expect(c, "+OK Send your password\r\n");
	for (i = 7; i < 19; i++)
		fake_send(c, "XYZ\r\n");
	expect(c, "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Unknown command\r\n"
		  "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Unknown command\r\n"
		  "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Unknown command\r\n"
		  "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Unknown command\r\n");
	assert_false(c->closing);
	fake_send(c, "XYZ\r\nNOOP\r\n");
	expect(c, "-ERR Unknown command\r\n-ERR Too many errors\r\n");
	assert_true(c->closing);
	fake_free(c);
}

static void test_timeout(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_send(c, "DELE 1\r\n");
	expect(c, "+OK Message 1 deleted\r\n");
	c->proto->timeout(c->session, CONN_END_IDLE);
	expect(c, "-ERR Disconnected for inactivity.\r\n");
	fake_free(c);
	assert_int_equal(fake_store.n, 3);
}

static void test_shutdown_reply(void **state)
{
	struct conn *c = login();

	(void)state;
	fake_send(c, "DELE 1\r\n");
	expect(c, "+OK Message 1 deleted\r\n");
	c->proto->timeout(c->session, CONN_END_SHUTDOWN);
	expect(c, "-ERR [SYS/TEMP] Server shutting down, try again later.\r\n");
	fake_free(c);
	/* RFC 1939 6: no QUIT, no UPDATE state: nothing deleted */
	assert_int_equal(fake_store.n, 3);
}

static void test_auth_commands_bound(void **state)
{
	struct conn *c = start();
	unsigned i;

	(void)state;
	/* DESIGN 7: commands before authentication are bounded, errors or not. */
	for (i = 0; i < 50; i++) {
		fake_send(c, "CAPA\r\n");
		free(fake_take(c));
	}
	assert_false(c->closing);
	fake_send(c, "CAPA\r\n");
	expect(c, "-ERR Too many commands before authentication\r\n");
	assert_true(c->closing);
	fake_free(c);

	/* After login the bound no longer applies. */
	c = login();
	for (i = 0; i < 60; i++) {
		fake_send(c, "NOOP\r\n");
		expect(c, "+OK Nothing happens\r\n");
	}
	fake_free(c);
}

static void test_timeout_in_producer(void **state)
{
	struct conn *c;
	char *big = malloc(300000), *got;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 300000);
	for (size_t i = 99; i < 300000; i += 100)
		big[i] = '\n';
	fake_store_add(big, 300000);
	c = login();
	c->high_water = 100000;
	fake_send(c, "RETR 4\r\n");
	free(fake_take(c));
	assert_true(c->paused);
	/* Shutting down mid-RETR: no "-ERR" line inside the message body. */
	c->proto->timeout(c->session, CONN_END_SHUTDOWN);
	got = fake_take(c);
	assert_null(strstr(got, "-ERR"));
	free(got);
	fake_free(c);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_pass_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_pass_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_login_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_long_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retr_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_expunges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_expunge_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_driver_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_commands_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_in_producer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
