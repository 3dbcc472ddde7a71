/* test-imap-session - the IMAP protocol module on the real core: real
 * loops serving it on loopback (conn-harness.h), a real directory, login
 * driver and store in a fresh data folder, and clients on sockets, plain
 * and TLS. Transcripts of what a client sees: the greeting, pipelined
 * commands answered in order, literals and their "+ ", the login rules,
 * the error limit, bad lines, APPEND streamed in pieces, a client gone
 * in the middle of a literal, the autologout; STORE (UNCHANGEDSINCE)
 * losing a race to another session (RFC 7162 3.1.3). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>

#include "conn-harness.h"
#include "dir/auth-throttle.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "imap/imap.h"
#include "store/store.h"

#define T_USER "user@example.org"
#define T_PASSWORD "secret"
/* AUTHENTICATE PLAIN initial response: "\0user@example.org\0secret" */
#define T_PLAIN_OK "AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0"
#define T_MSG "Subject: hello\r\n\r\nbody\r\n"

static char *t_hash;
static struct harness t_h;
static struct imap_context t_ctx;
static bool t_started;
static unsigned t_ip;

static struct {
	unsigned idle_timeout;
	unsigned errors;
	bool plaintext_loopback;
} t_conf;

static void tweak(struct config *cfg)
{
	/* the harness's listeners take [pop3]'s limits; the session reads
	 * [imap]'s for its parser */
	cfg->pop3.conn.line_length = 65536;
	cfg->pop3.conn.idle_timeout = t_conf.idle_timeout;
	cfg->imap.conn = cfg->pop3.conn;
	cfg->limits.login_timeout = 0;
	cfg->limits.errors_per_session = t_conf.errors;
	cfg->limits.auth_failures = 3;
	cfg->limits.message_size = 1024 * 1024;
	cfg->auth.allow_plaintext_loopback = t_conf.plaintext_loopback;
	cfg->auth.attempts_per_ip = 8;
}

static size_t inbox_count(void)
{
	struct store_account *acct;
	struct store_mailbox box;
	size_t n;

	assert_int_equal(store_open(t_h.dir, T_USER, &acct), STORE_OK);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	n = box.messages;
	store_mailbox_free(&box);
	store_close(&acct);
	return n;
}

static void t_start(void)
{
	struct store_account *acct;
	char *error = NULL;

	conn_harness_start(&t_h, &imap_protocol, NULL, &t_ctx, tweak);
	t_started = true;
	assert_int_equal(dir_open(t_h.dir, &t_ctx.dir, &error), 0);
	assert_int_equal(store_root_open(t_h.dir, &t_ctx.store), STORE_OK);
	t_ctx.hostname = "mail.example.org";
	assert_int_equal(dir_domain_add(t_ctx.dir, "example.org"), DIR_OK);
	assert_int_equal(dir_user_add(t_ctx.dir, T_USER, t_hash, 0), DIR_OK);
	assert_int_equal(store_open(t_h.dir, T_USER, &acct), STORE_OK);
	store_close(&acct);
}

static int group_setup(void **state)
{
	(void)state;
	t_hash = password_hash(T_PASSWORD);
	return t_hash == NULL;
}

static int group_teardown(void **state)
{
	(void)state;
	free(t_hash);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	t_conf.idle_timeout = 60;
	t_conf.errors = 20;
	t_conf.plaintext_loopback = true;
	auth_throttle_reset();
	t_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!t_started)
		return 0;
	conn_harness_stop(&t_h);
	t_started = false;
	dir_close(&t_ctx.dir);
	store_root_close(&t_ctx.store);
	memset(&t_ctx, 0, sizeof(t_ctx));
	return 0;
}

/* ---- clients ---- */

/* The next line starts with `prefix`. */
static void expect_prefix(struct client *c, const char *prefix)
{
	const char *line = client_line(c);

	assert_non_null(line);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fail_msg("expected '%s...', got '%s'", prefix, line);
}

static void start(struct client *c)
{
	char ip[32];

	t_ip++;
	snprintf(ip, sizeof(ip), "127.2.%u.%u", t_ip / 250, t_ip % 250 + 1);
	client_connect_from(c, t_h.port, ip);
	expect_prefix(c, "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
}

static void login(struct client *c)
{
	start(c);
	client_send(c, "a AUTHENTICATE PLAIN " T_PLAIN_OK "\r\n");
	expect_prefix(c, "a OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
}

static void expect_closed(struct client *c)
{
	char byte;
	ssize_t n = client_recv(c, &byte, 1);

	if (n < 0)
		assert_int_equal(errno, ECONNRESET);
	else
		assert_int_equal(n, 0);
}

/* ---- tests ---- */

static void test_capability_noop_logout(void **state)
{
	struct client c;

	(void)state;
	start(&c);
	client_send(&c, "a CAPABILITY\r\n");
	expect_prefix(&c, "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE");
	expect_line(&c, "a OK CAPABILITY completed");
	client_send(&c, "b NOOP\r\nc LOGOUT\r\n");
	expect_line(&c, "b OK NOOP completed");
	expect_line(&c, "* BYE Logging out");
	expect_line(&c, "c OK LOGOUT completed");
	expect_closed(&c);
	client_close(&c);
}

static void test_pipelined_in_order(void **state)
{
	struct client c;
	char text[4096] = "";
	char want[32];

	(void)state;
	login(&c);
	/* a LOGIN-free mix, all in one packet, each answered in order */
	for (int i = 0; i < 30; i++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "p%d %s\r\n", i, i % 2 ? "NOOP" : "NAMESPACE");
		strcat(text, cmd);
	}
	client_send(&c, text);
	for (int i = 0; i < 30; i++) {
		if (i % 2 == 0)
			expect_line(&c, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
		snprintf(want, sizeof(want), "p%d OK", i);
		expect_prefix(&c, want);
	}
	client_close(&c);
}

static void test_literal_login(void **state)
{
	struct client c;

	(void)state;
	start(&c);
	/* a synchronizing literal gets exactly "+ " and text */
	client_send(&c, "a LOGIN {16}\r\n");
	expect_line(&c, "+ Ready for literal data");
	client_send(&c, T_USER " {6+}\r\n" T_PASSWORD "\r\n");
	expect_prefix(&c, "a OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
	client_close(&c);
}

static void test_sasl_continuation(void **state)
{
	struct client c;

	(void)state;
	start(&c);
	client_send(&c, "a AUTHENTICATE PLAIN\r\n");
	expect_line(&c, "+ ");
	client_send(&c, T_PLAIN_OK "\r\nb NOOP\r\n");
	expect_prefix(&c, "a OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
	/* the line after the response, in the same packet, is a command */
	expect_line(&c, "b OK NOOP completed");
	client_close(&c);
}

static void test_plaintext_refused(void **state)
{
	struct client c;

	(void)state;
	teardown(state);
	t_conf.plaintext_loopback = false;
	t_start();
	client_connect(&c, t_h.port);
	expect_prefix(&c, "* OK [CAPABILITY");
	assert_non_null(strstr(c.line, "LOGINDISABLED"));
	assert_null(strstr(c.line, "AUTH=PLAIN"));
	client_send(&c, "a LOGIN " T_USER " " T_PASSWORD "\r\n");
	expect_line(&c, "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections");
	client_close(&c);
	/* over TLS it is allowed, and the capabilities say so */
	client_connect(&c, t_h.tls_port);
	assert_int_equal(client_tls(&c, 0), 1);
	expect_prefix(&c, "* OK [CAPABILITY");
	assert_non_null(strstr(c.line, "AUTH=PLAIN"));
	client_send(&c, "a CAPABILITY\r\nb LOGIN " T_USER " " T_PASSWORD "\r\n");
	expect_prefix(&c, "* CAPABILITY ");
	expect_line(&c, "a OK CAPABILITY completed");
	expect_prefix(&c, "b OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
	client_close(&c);
}

static void test_wrong_password(void **state)
{
	struct client c;

	(void)state;
	start(&c);
	client_send(&c, "a LOGIN " T_USER " wrong\r\n");
	expect_line(&c, "a NO [AUTHENTICATIONFAILED] Authentication failed");
	client_send(&c, "b LOGIN " T_USER " " T_PASSWORD "\r\n");
	expect_prefix(&c, "b OK [CAPABILITY IMAP4rev1 IMAP4rev2 ");
	client_close(&c);
}

static void test_bad_lines(void **state)
{
	struct client c;

	(void)state;
	start(&c);
	client_send(&c, "(\r\n");
	expect_prefix(&c, "* BAD");
	client_send(&c, "a FROB\r\nb SELECT INBOX\r\nc NOOP x\r\nd NOOP\r\n");
	expect_line(&c, "a BAD [CLIENTBUG] Unknown command");
	expect_line(&c, "b BAD [CLIENTBUG] SELECT not allowed in the not authenticated state");
	expect_line(&c, "c BAD NOOP takes no arguments");
	expect_line(&c, "d OK NOOP completed");
	client_close(&c);
}

static void test_error_limit(void **state)
{
	struct client c;

	(void)state;
	teardown(state);
	t_conf.errors = 2;
	t_start();
	start(&c);
	client_send(&c, "a X\r\nb X\r\nc NOOP\r\n");
	expect_line(&c, "a BAD [CLIENTBUG] Unknown command");
	expect_line(&c, "b BAD [CLIENTBUG] Unknown command");
	expect_line(&c, "* BYE Too many errors");
	expect_closed(&c);
	client_close(&c);
}

static void test_append_in_pieces(void **state)
{
	struct client c;
	const char *msg = T_MSG;

	(void)state;
	login(&c);
	client_send(&c, "a APPEND INBOX (\\Seen) {24}\r\n");
	expect_line(&c, "+ Ready for literal data");
	/* a byte at a time: the literal, then the end of the command */
	for (const char *p = msg; *p != '\0'; p++) {
		char one[2] = { *p, '\0' };

		client_send(&c, one);
	}
	client_send(&c, "\r\n");
	expect_prefix(&c, "a OK [APPENDUID ");
	assert_int_equal(inbox_count(), 1);
	/* over the size limit: refused before the "+ " */
	client_send(&c, "b APPEND INBOX {2000000}\r\nc NOOP\r\n");
	expect_prefix(&c, "b NO [TOOBIG]");
	expect_line(&c, "c OK NOOP completed");
	client_close(&c);
}

static void test_append_client_gone(void **state)
{
	struct client c;

	(void)state;
	login(&c);
	client_send(&c, "a APPEND INBOX {100000}\r\n");
	expect_line(&c, "+ Ready for literal data");
	client_send(&c, "Subject: cut\r\n\r\nhalf of it");
	client_close(&c);
	/* nothing stored; the next session works */
	login(&c);
	client_send(&c, "b STATUS INBOX (MESSAGES)\r\n");
	expect_line(&c, "* STATUS \"INBOX\" (MESSAGES 0)");
	expect_line(&c, "b OK STATUS completed");
	client_close(&c);
	assert_int_equal(inbox_count(), 0);
}

/* Every line up to and including the one starting with `tag` ("a "),
 * appended to all (CRLF after each); returns the tagged line. */
static const char *lines_until(struct client *c, const char *tag, char *all, size_t size)
{
	all[0] = '\0';
	for (;;) {
		const char *line = client_line(c);

		assert_non_null(line);
		assert_true(strlen(all) + strlen(line) + 3 < size);
		strcat(all, line);
		strcat(all, "\r\n");
		if (strncmp(line, tag, strlen(tag)) == 0)
			return line;
	}
}

static void append_one(struct client *c)
{
	char all[1024];

	client_send(c, "ap APPEND INBOX {24+}\r\n" T_MSG "\r\n");
	assert_non_null(strstr(lines_until(c, "ap ", all, sizeof(all)), "ap OK [APPENDUID "));
}

/* RFC 7162 3.1.3: session a reads MODSEQs, session b changes message 1,
 * then a's STORE (UNCHANGEDSINCE) of 1:3 leaves 1 alone and names it in
 * [MODIFIED] (a number for STORE, a UID for UID STORE); the others
 * change, each FETCH carrying UID and MODSEQ, even .SILENT. */
static void test_store_unchangedsince_race(void **state)
{
	struct client a, b;
	char all[4096], want[64];
	const char *line;
	unsigned long long m1, m2, m3;

	(void)state;
	login(&a);
	login(&b);
	for (int i = 0; i < 3; i++)
		append_one(&a);
	client_send(&a, "s SELECT INBOX (CONDSTORE)\r\n");
	line = lines_until(&a, "s ", all, sizeof(all));
	assert_string_equal(line, "s OK [READ-WRITE] SELECT completed");
	assert_non_null(strstr(all, "* OK [HIGHESTMODSEQ "));
	client_send(&a, "f FETCH 1:3 (MODSEQ)\r\n");
	lines_until(&a, "f ", all, sizeof(all));
	assert_int_equal(sscanf(strstr(all, "* 1 FETCH (MODSEQ ("), "* 1 FETCH (MODSEQ (%llu))", &m1), 1);
	assert_int_equal(sscanf(strstr(all, "* 3 FETCH (MODSEQ ("), "* 3 FETCH (MODSEQ (%llu))", &m3), 1);
	assert_true(m3 > m1);

	/* b flags message 1: its MODSEQ passes what a knows of it */
	client_send(&b, "s SELECT INBOX\r\nt STORE 1 +FLAGS.SILENT (\\Flagged)\r\n");
	assert_string_equal(lines_until(&b, "t ", all, sizeof(all)), "t OK STORE completed");

	snprintf(want, sizeof(want), "c STORE 1:3 (UNCHANGEDSINCE %llu) +FLAGS.SILENT (\\Seen)\r\n",
		 m3);
	client_send(&a, want);
	line = lines_until(&a, "c ", all, sizeof(all));
	assert_string_equal(line, "c OK [MODIFIED 1] Conditional STORE failed for some messages");
	/* .SILENT, but CONDSTORE: UID and the new MODSEQ, one for both */
	assert_int_equal(sscanf(strstr(all, "* 2 FETCH (UID 2 MODSEQ ("), "* 2 FETCH (UID 2 MODSEQ (%llu))",
				&m2), 1);
	snprintf(want, sizeof(want), "* 3 FETCH (UID 3 MODSEQ (%llu))", m2);
	assert_non_null(strstr(all, want));
	assert_null(strstr(all, "* 1 FETCH (UID 1 MODSEQ"));

	/* message 1 kept its flags (b's only); the others got \Seen */
	client_send(&a, "d FETCH 1:3 (FLAGS)\r\n");
	lines_until(&a, "d ", all, sizeof(all));
	/* (rev1: a was the first to select them, \Recent here) */
	assert_non_null(strstr(all, "* 1 FETCH (FLAGS (\\Flagged \\Recent))"));
	assert_non_null(strstr(all, "* 2 FETCH (FLAGS (\\Seen \\Recent))"));
	assert_non_null(strstr(all, "* 3 FETCH (FLAGS (\\Seen \\Recent))"));

	/* UID STORE names UIDs; UNCHANGEDSINCE 0 fails wherever a message is */
	client_send(&a, "e UID STORE 2:3 (UNCHANGEDSINCE 0) -FLAGS (\\Seen)\r\n");
	line = lines_until(&a, "e ", all, sizeof(all));
	assert_string_equal(line, "e OK [MODIFIED 2:3] Conditional STORE failed for some messages");
	assert_null(strstr(all, "FETCH (UID 2"));

	/* a malformed modifier changes nothing */
	client_send(&a, "g STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)\r\n"
			"h STORE 1 (UNCHANGEDSINCE 99999999999999999999) +FLAGS (\\Seen)\r\n"
			"i STORE 1 (FOO 1) +FLAGS (\\Seen)\r\n");
	expect_prefix(&a, "g BAD ");
	expect_prefix(&a, "h BAD ");
	expect_prefix(&a, "i BAD ");
	client_close(&a);
	client_close(&b);
}

static void test_autologout(void **state)
{
	struct client c;

	(void)state;
	teardown(state);
	t_conf.idle_timeout = 1;
	t_start();
	login(&c);
	expect_line(&c, "* BYE Autologout; idle for too long");
	expect_closed(&c);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_noop_logout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_literal_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_continuation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plaintext_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autologout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_unchangedsince_race, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
