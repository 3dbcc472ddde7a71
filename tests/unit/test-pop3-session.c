/* test-pop3-session - the POP3 protocol module on the real core: real loops
 * serving it on loopback (conn-harness.h), a real directory, login driver
 * and store in a fresh data folder, and clients on sockets, plain and TLS.
 * Transcripts of what a client sees; failures of the directory and the
 * store are made for real (a table renamed, a trigger, a file that is a
 * directory). The store aborts on a blocking call from a loop thread
 * (store_check_off_loop), so every session here also checks that rule. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <uv.h>

#include "conn-harness.h"
#include "page-cache.h"
#include "core/conn-internal.h"
#include "dir/auth-throttle.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "pop3/pop3.h"
#include "store/store.h"

#define T_USER "user@example.org"
#define T_PASSWORD "secret"
/* AUTH PLAIN initial responses: "\0user@example.org\0secret", "...\0wrong". */
#define T_PLAIN_OK "AHVzZXJAZXhhbXBsZS5vcmcAc2VjcmV0"
#define T_PLAIN_WRONG "AHVzZXJAZXhhbXBsZS5vcmcAd3Jvbmc="
#define GREETING "+OK mail.example.org tern POP3 server ready"
#define TEMP_FAIL "-ERR [SYS/TEMP] Temporary server failure, try again later"
#define MSG1 "Subject: one\r\n\r\nHello\r\n.dot line\r\n"
#define MSG2 "Subject: two\r\nFrom: a@b\r\n\r\nl1\r\nl2\r\nl3\r\n"
#define MSG3 "Subject: three\r\n\r\nno final line end"
#define CHUNK 65536   /* what the core reads of a message at a time (conn-send.c) */

static char *t_hash;               /* {ARGON2ID} of T_PASSWORD, made once */
static struct harness t_h;
static struct pop3_context t_ctx;
static bool t_started;
static uint32_t t_uidvalidity;     /* of T_USER's INBOX */
static unsigned t_ip;              /* each client its own loopback address */
static int t_fds;                  /* descriptors open before the test */

/* The configuration of the next t_start(); setup() sets the defaults. */
static struct {
	unsigned line_length;
	unsigned idle_timeout;
	unsigned login_timeout;
	unsigned attempts_per_ip;
	uint64_t output_buffer;
	bool plaintext_loopback;
} t_conf;

static void tweak(struct config *cfg)
{
	cfg->pop3.conn.line_length = t_conf.line_length;
	cfg->pop3.conn.idle_timeout = t_conf.idle_timeout;
	cfg->limits.login_timeout = t_conf.login_timeout;
	cfg->limits.output_buffer = t_conf.output_buffer;
	cfg->limits.errors_per_session = 20;
	cfg->limits.auth_failures = 3;
	cfg->auth.allow_plaintext_loopback = t_conf.plaintext_loopback;
	cfg->auth.attempts_per_ip = t_conf.attempts_per_ip;
}

/* ---- the data folder ---- */

static char *t_path(const char *rel)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", t_h.dir, rel) > 0);
	return path;
}

/* Run SQL on a database of the data folder, as another process would. */
static void db_exec(const char *rel, const char *sql)
{
	char *path = t_path(rel);
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	free(path);
}

#define T_INDEX "mail/example.org/user/index.db"

/* The path of the file holding UID `uid` of T_USER's INBOX. */
static char *message_file(uint32_t uid)
{
	char *index = t_path(T_INDEX);
	char *path;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(index, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT f.name FROM messages m "
					    "JOIN files f ON f.id = m.file_id WHERE m.uid = ?", -1,
					    &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, uid);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(asprintf(&path, "%s/mail/example.org/user/msg/%s", t_h.dir,
			     (const char *)sqlite3_column_text(st, 0)) > 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(index);
	return path;
}

static uint32_t add_message(const char *data, size_t len)
{
	struct store_account *acct;
	uint32_t uid;

	assert_int_equal(store_open(t_h.dir, T_USER, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", data, len, 0, NULL, 0, &uid), STORE_OK);
	store_close(&acct);
	return uid;
}

/* How many messages T_USER's INBOX holds now. */
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

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Serve POP3 with t_conf from a fresh data folder: the domain example.org,
 * T_USER with MSG1..MSG3 in its INBOX. */
static void t_start(void)
{
	struct store_account *acct;
	struct store_mailbox box;
	char *error = NULL;

	conn_harness_start(&t_h, &pop3_protocol, NULL, &t_ctx, tweak);
	t_started = true;
	assert_int_equal(dir_open(t_h.dir, &t_ctx.dir, &error), 0);
	assert_int_equal(store_root_open(t_h.dir, &t_ctx.store), STORE_OK);
	t_ctx.hostname = "mail.example.org";
	assert_int_equal(dir_domain_add(t_ctx.dir, "example.org"), DIR_OK);
	assert_int_equal(dir_user_add(t_ctx.dir, T_USER, t_hash, 0), DIR_OK);
	add_message(MSG1, strlen(MSG1));
	add_message(MSG2, strlen(MSG2));
	add_message(MSG3, strlen(MSG3));
	assert_int_equal(store_open(t_h.dir, T_USER, &acct), STORE_OK);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	t_uidvalidity = box.uidvalidity;
	store_mailbox_free(&box);
	store_close(&acct);
}

static int group_setup(void **state)
{
	uv_loop_t loop;

	(void)state;
	/* libuv keeps a descriptor pair for signals from its first loop on:
	 * open it now, so that each test's count of descriptors is exact. */
	uv_loop_init(&loop);
	uv_loop_close(&loop);
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
	t_conf.line_length = 8192;
	t_conf.idle_timeout = 60;
	t_conf.login_timeout = 0;
	t_conf.attempts_per_ip = 1;   /* a second attempt in flight is BUSY */
	t_conf.output_buffer = 65536;
	t_conf.plaintext_loopback = true;
	auth_throttle_reset();
	t_fds = count_fds();
	return 0;
}

static int teardown(void **state)
{
	struct store_lock *lock;

	(void)state;
	if (!t_started)
		return 0;
	conn_harness_stop(&t_h);
	t_started = false;
	dir_close(&t_ctx.dir);
	store_root_close(&t_ctx.store);
	memset(&t_ctx, 0, sizeof(t_ctx));
	/* Every session let go of the maildrop, its account and readers. */
	assert_int_equal(store_lock(T_USER, "pop3", &lock), STORE_OK);
	store_unlock(&lock);
	assert_int_equal(count_fds(), t_fds);
	return 0;
}

/* ---- clients ---- */

static void start_from(struct client *c, const char *ip)
{
	client_connect_from(c, t_h.port, ip);
	expect_line(c, GREETING);
}

static void start(struct client *c)
{
	char ip[32];

	t_ip++;
	snprintf(ip, sizeof(ip), "127.1.%u.%u", t_ip / 250, t_ip % 250 + 1);
	start_from(c, ip);
}

static void send_bytes(struct client *c, const void *data, size_t len)
{
	assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The next lines are exactly `transcript` (lines ending in CRLF). */
static void expect(struct client *c, const char *transcript)
{
	const char *p = transcript;

	while (*p != '\0') {
		const char *end = strstr(p, "\r\n");
		char want[8192];

		assert_non_null(end);
		snprintf(want, sizeof(want), "%.*s", (int)(end - p), p);
		expect_line(c, want);
		p = end + 2;
	}
}

/* Exactly `n` bytes, whatever their lines. */
static void recv_exact(struct client *c, char *out, size_t n)
{
	size_t have = c->len < n ? c->len : n;

	memcpy(out, c->buf, have);
	memmove(c->buf, c->buf + have, c->len - have);
	c->len -= have;
	while (have < n) {
		ssize_t r = client_recv(c, out + have, n - have);

		assert_true(r > 0);
		have += (size_t)r;
	}
}

/* The server closed the connection and sent nothing more. */
static void expect_closed(struct client *c)
{
	char byte;
	ssize_t n;

	assert_int_equal(c->len, 0);
	n = client_recv(c, &byte, 1);
	if (n < 0)
		assert_int_equal(errno, ECONNRESET);   /* not a timeout */
	else
		assert_int_equal(n, 0);
}

static void login(struct client *c)
{
	start(c);
	client_send(c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\n");
	expect(c, "+OK Send your password\r\n+OK Logged in.\r\n");
}

/* QUIT without deletions, and the close that follows. */
static void bye(struct client *c)
{
	client_send(c, "QUIT\r\n");
	expect(c, "+OK Bye\r\n");
	expect_closed(c);
	client_close(c);
}

/* Hang up with a reset, as a client that crashes does. */
static void reset(struct client *c)
{
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	client_close(c);
}

/* Log in once the maildrop is free again (a dropped session lets go of
 * it on the thread pool, after its close). */
static void login_when_free(struct client *c)
{
	for (int i = 0; i < 200; i++) {
		const char *line;

		start(c);
		client_send(c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\n");
		expect_line(c, "+OK Send your password");
		line = client_line(c);
		assert_non_null(line);
		if (strcmp(line, "+OK Logged in.") == 0)
			return;
		assert_string_equal(line, "-ERR [IN-USE] Mailbox is locked by another POP3 session");
		bye(c);
		usleep(20 * 1000);
	}
	fail_msg("the maildrop stayed locked");
}

static void uidl(char *buf, size_t size, uint32_t uid)
{
	snprintf(buf, size, "%08x%08x", t_uidvalidity, uid);
}

/* ---- the blocking-call rule ---- */

static const char *t_offloop_dir;

static void *offloop_open(struct conn *conn)
{
	struct store_account *acct = NULL;

	(void)conn;
	/* On the loop thread: the store must refuse. */
	(void)store_open(t_offloop_dir, T_USER, &acct);
	store_close(&acct);
	return NULL;
}

static void offloop_input(void *session)
{
	(void)session;
}

static void offloop_close(void *session)
{
	(void)session;
}

static const struct protocol offloop_protocol = {
	.name = "offloop",
	.open = offloop_open,
	.input = offloop_input,
	.close = offloop_close,
};

/* First of all (the child of fork() must not inherit threads): a store
 * call from an I/O loop aborts the process with a log line naming it, so
 * the POP3 tests below would fail on any such call. */
static void test_store_refuses_loop_thread(void **state)
{
	char log_path[] = "/tmp/tern-test-offloop-XXXXXX";
	int log_fd = mkstemp(log_path);
	char text[4096] = "";
	char *dir;
	ssize_t n;
	int status;
	pid_t pid;

	(void)state;
	assert_true(log_fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct harness h;
		struct client c;

		alarm(20);   /* should the store not refuse */
		dup2(log_fd, STDERR_FILENO);
		conn_harness_start(&h, &offloop_protocol, NULL, NULL, NULL);
		t_offloop_dir = h.dir;
		fprintf(stderr, "dir=%s\n", h.dir);
		client_connect(&c, h.port);
		(void)client_line(&c);
		pause();
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	n = pread(log_fd, text, sizeof(text) - 1, 0);
	assert_true(n > 0);
	assert_non_null(strstr(text, "msg=\"blocking store call on an I/O loop\" function=store_account_load"));
	/* The data folder the child could not remove. */
	dir = strstr(text, "dir=");
	assert_non_null(dir);
	dir += 4;
	dir[strcspn(dir, "\n")] = '\0';
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	close(log_fd);
	unlink(log_path);
}

/* ---- sessions ---- */

static void test_greeting_quit(void **state)
{
	struct client c;

	(void)state;
	t_start();
	start(&c);
	client_send(&c, "quit\r\n");
	expect(&c, "+OK Bye\r\n");
	expect_closed(&c);
	client_close(&c);
}

static void test_capa_stls(void **state)
{
	struct client c;

	(void)state;
	/* No plaintext login from loopback either: USER/SASL only with TLS. */
	t_conf.plaintext_loopback = false;
	t_start();
	start(&c);
	client_send(&c, "CAPA\r\n");
	expect(&c, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION tern\r\n.\r\n");
	client_send(&c, "USER " T_USER "\r\nAUTH PLAIN " T_PLAIN_OK "\r\nPASS x\r\n");
	expect(&c, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n"
		   "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n"
		   "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections\r\n");

	/* STLS: what was pipelined behind it is discarded (RFC 2595 3.1). */
	client_send(&c, "STLS\r\nUSER evil\r\n");
	expect(&c, "+OK Begin TLS negotiation\r\n");
	assert_true(client_tls(&c, 0));
	client_send(&c, "PASS " T_PASSWORD "\r\n");
	expect(&c, "-ERR No user name given: send USER first\r\n");
	client_send(&c, "CAPA\r\n");
	expect(&c, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\n"
		   "IMPLEMENTATION tern\r\n.\r\n");
	client_send(&c, "STLS\r\n");
	expect(&c, "-ERR Already using TLS\r\n");
	client_send(&c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\nCAPA\r\nSTLS\r\n");
	expect(&c, "+OK Send your password\r\n+OK Logged in.\r\n"
		   "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION tern\r\n.\r\n"
		   "-ERR STLS not allowed in the TRANSACTION state\r\n");
	bye(&c);

	/* pop3s: TLS from the start, no STLS to offer. */
	client_connect(&c, t_h.tls_port);
	assert_true(client_tls(&c, 0));
	expect_line(&c, GREETING);
	client_send(&c, "CAPA\r\nAUTH PLAIN " T_PLAIN_OK "\r\nSTAT\r\n");
	expect(&c, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\n"
		   "IMPLEMENTATION tern\r\n.\r\n+OK Logged in.\r\n+OK 3 108\r\n");
	bye(&c);
}

static void test_user_pass_fail(void **state)
{
	struct client c;

	(void)state;
	t_start();
	start(&c);
	/* The driver answers after its delays; nothing else is read meanwhile,
	 * so the NOOP is answered after the failure. */
	client_send(&c, "USER " T_USER "\r\nPASS wrong\r\nNOOP\r\n");
	expect(&c, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n"
		   "-ERR NOOP not allowed in the AUTHORIZATION state\r\n");
	client_send(&c, "USER " T_USER "\r\nPASS secret with spaces\r\n");
	expect(&c, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
	/* The third failure hangs up. */
	client_send(&c, "USER x\r\nPASS y\r\n");
	expect(&c, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
	expect_closed(&c);
	client_close(&c);
}

static void test_user_pass_ok(void **state)
{
	struct client c;
	char *hash = password_hash("pass with  spaces");

	(void)state;
	t_start();
	login(&c);
	client_send(&c, "USER x\r\nSTAT\r\n");
	expect(&c, "-ERR USER not allowed in the TRANSACTION state\r\n+OK 3 108\r\n");
	bye(&c);

	/* A password with spaces is one argument, all of it (RFC 1939 7). */
	assert_non_null(hash);
	assert_int_equal(dir_user_add(t_ctx.dir, "spaces@example.org", hash, 0), DIR_OK);
	free(hash);
	start(&c);
	client_send(&c, "USER Spaces@Example.org\r\nPASS pass with  spaces\r\nSTAT\r\n");
	expect(&c, "+OK Send your password\r\n+OK Logged in.\r\n+OK 0 0\r\n");
	bye(&c);
}

static void test_tempfail(void **state)
{
	struct client c;
	char *path;
	int fd;

	(void)state;
	t_start();
	/* The directory unavailable: a temporary failure, not a wrong password. */
	db_exec("directory.db", "ALTER TABLE accounts RENAME TO accounts_away");
	start(&c);
	client_send(&c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\n");
	expect(&c, "+OK Send your password\r\n" TEMP_FAIL "\r\n");
	db_exec("directory.db", "ALTER TABLE accounts_away RENAME TO accounts");

	/* A store that cannot be opened (its folder is a file): temporary too,
	 * and the maildrop lock is not kept. */
	assert_int_equal(dir_user_add(t_ctx.dir, "empty@example.org", t_hash, 0), DIR_OK);
	path = t_path("mail/example.org/empty");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	client_send(&c, "USER empty@example.org\r\nPASS " T_PASSWORD "\r\n");
	expect(&c, "+OK Send your password\r\n" TEMP_FAIL "\r\n");
	assert_int_equal(unlink(path), 0);
	free(path);
	client_send(&c, "USER empty@example.org\r\nPASS " T_PASSWORD "\r\nSTAT\r\n");
	expect(&c, "+OK Send your password\r\n+OK Logged in.\r\n+OK 0 0\r\n");
	bye(&c);
}

static void test_auth_plain(void **state)
{
	struct client c;

	(void)state;
	t_start();
	start(&c);
	client_send(&c, "AUTH PLAIN " T_PLAIN_OK "\r\n");
	expect(&c, "+OK Logged in.\r\n");
	client_send(&c, "AUTH PLAIN\r\n");
	expect(&c, "-ERR AUTH not allowed in the TRANSACTION state\r\n");
	bye(&c);

	/* Without initial response: an empty challenge "+ ". */
	start(&c);
	client_send(&c, "AUTH plain\r\n");
	expect(&c, "+ \r\n");
	client_send(&c, T_PLAIN_WRONG "\r\n");
	expect(&c, "-ERR [AUTH] Authentication failed\r\n");
	client_send(&c, "AUTH PLAIN\r\n");
	expect(&c, "+ \r\n");
	client_send(&c, T_PLAIN_OK "\r\n");
	expect(&c, "+OK Logged in.\r\n");
	bye(&c);

	/* An authzid that is someone else is refused (no proxy logins). */
	start(&c);
	client_send(&c, "AUTH PLAIN b3RoZXJAZXhhbXBsZS5vcmcAdXNlckBleGFtcGxlLm9yZwBzZWNyZXQ=\r\n");
	expect(&c, "-ERR [AUTH] Authentication failed\r\n");
	/* ... the same account as authzid is fine. */
	client_send(&c, "AUTH PLAIN dXNlckBleGFtcGxlLm9yZwB1c2VyQGV4YW1wbGUub3JnAHNlY3JldA==\r\n");
	expect(&c, "+OK Logged in.\r\n");
	bye(&c);
}

static void test_auth_login_cancel(void **state)
{
	struct client c;

	(void)state;
	t_start();
	start(&c);
	client_send(&c, "AUTH LOGIN\r\n");
	expect(&c, "+ VXNlcm5hbWU6\r\n");
	client_send(&c, "*\r\n");
	expect(&c, "-ERR Authentication cancelled\r\n");
	client_send(&c, "AUTH LOGIN\r\n");
	expect(&c, "+ VXNlcm5hbWU6\r\n");
	client_send(&c, "not base64!\r\n");
	expect(&c, "-ERR Invalid SASL response\r\n");
	client_send(&c, "AUTH CRAM-MD5\r\nAUTH\r\n");
	expect(&c, "-ERR Unsupported authentication mechanism\r\n"
		   "+OK Supported mechanisms follow\r\nPLAIN\r\nLOGIN\r\n.\r\n");
	client_send(&c, "AUTH LOGIN\r\n");
	expect(&c, "+ VXNlcm5hbWU6\r\n");
	client_send(&c, "dXNlckBleGFtcGxlLm9yZw==\r\n");
	expect(&c, "+ UGFzc3dvcmQ6\r\n");
	client_send(&c, "c2VjcmV0\r\n");
	expect(&c, "+OK Logged in.\r\n");
	bye(&c);
}

/* A PLAIN response for T_USER with a wrong password of `n` octets. */
static void plain_response(char *line, size_t n)
{
	unsigned char msg[400];
	int len;

	assert_true(sizeof(T_USER) + 1 + n <= sizeof(msg));
	memset(msg, 'x', sizeof(msg));
	memcpy(msg, "\0" T_USER "\0", sizeof(T_USER) + 1);
	len = EVP_EncodeBlock((unsigned char *)line, msg, (int)(sizeof(T_USER) + 1 + n));
	memcpy(line + len, "\r\n", 3);
}

static void test_auth_long_response(void **state)
{
	struct client c;
	char line[600];

	(void)state;
	t_conf.line_length = 300;
	t_start();
	start(&c);
	/* A SASL response is not a command: longer than 255 is fine... */
	plain_response(line, 190);
	assert_true(strlen(line) > 255 + 2 && strlen(line) < 300);
	client_send(&c, "AUTH PLAIN\r\n");
	expect(&c, "+ \r\n");
	client_send(&c, line);
	expect(&c, "-ERR [AUTH] Authentication failed\r\n");
	/* ...but not over [pop3] line_length, and the exchange ends. */
	plain_response(line, 250);
	assert_true(strlen(line) > 300);
	client_send(&c, "AUTH PLAIN\r\n");
	expect(&c, "+ \r\n");
	client_send(&c, line);
	client_send(&c, "NOOP\r\n");
	expect(&c, "-ERR Line too long\r\n-ERR NOOP not allowed in the AUTHORIZATION state\r\n");
	bye(&c);
}

static void test_in_use(void **state)
{
	struct client c1, c2;

	(void)state;
	t_start();
	login(&c1);
	start(&c2);
	client_send(&c2, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\n");
	expect(&c2, "+OK Send your password\r\n"
		    "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n");
	/* Still in AUTHORIZATION; the other session lets go before its +OK
	 * to QUIT, so logging in again at once works. */
	bye(&c1);
	client_send(&c2, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\nSTAT\r\n");
	expect(&c2, "+OK Send your password\r\n+OK Logged in.\r\n+OK 3 108\r\n");
	bye(&c2);
}

static void test_listings(void **state)
{
	struct client c;
	char u1[17], u2[17], u3[17], want[1024];

	(void)state;
	t_start();
	uidl(u1, sizeof(u1), 1);
	uidl(u2, sizeof(u2), 2);
	uidl(u3, sizeof(u3), 3);
	login(&c);
	client_send(&c, "LIST\r\n");
	expect(&c, "+OK 3 messages (108 octets)\r\n1 34\r\n2 39\r\n3 35\r\n.\r\n");
	client_send(&c, "LIST 2\r\nLIST 4\r\nLIST 0\r\nLIST x\r\nLIST 1 2\r\n");
	expect(&c, "+OK 2 39\r\n-ERR No such message, only 3 messages in maildrop\r\n"
		   "-ERR Invalid message number\r\n-ERR Invalid message number\r\n"
		   "-ERR Too many arguments\r\n");
	client_send(&c, "UIDL\r\nUIDL 3\r\n");
	snprintf(want, sizeof(want), "+OK Unique-ID listing follows\r\n1 %s\r\n2 %s\r\n3 %s\r\n.\r\n"
		 "+OK 3 %s\r\n", u1, u2, u3, u3);
	expect(&c, want);
	client_send(&c, "DELE 2\r\nSTAT\r\nLIST\r\nUIDL\r\nLIST 2\r\nUIDL 2\r\nRETR 2\r\nTOP 2 1\r\n"
		   "DELE 2\r\n");
	snprintf(want, sizeof(want), "+OK Message 2 deleted\r\n+OK 2 69\r\n"
		 "+OK 2 messages (69 octets)\r\n1 34\r\n3 35\r\n.\r\n"
		 "+OK Unique-ID listing follows\r\n1 %s\r\n3 %s\r\n.\r\n"
		 "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
		 "-ERR Message 2 already deleted\r\n-ERR Message 2 already deleted\r\n"
		 "-ERR Message 2 already deleted\r\n", u1, u3);
	expect(&c, want);
	client_send(&c, "RSET\r\nSTAT\r\nNOOP\r\n");
	expect(&c, "+OK Maildrop has 3 messages (108 octets)\r\n+OK 3 108\r\n+OK Nothing happens\r\n");
	bye(&c);
}

static void test_retr_top(void **state)
{
	struct client c;

	(void)state;
	t_start();
	login(&c);
	client_send(&c, "RETR 1\r\nRETR 3\r\n");
	expect(&c, "+OK 34 octets\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n"
		   "+OK 35 octets\r\nSubject: three\r\n\r\nno final line end\r\n.\r\n");
	client_send(&c, "TOP 2 0\r\nTOP 2 2\r\nTOP 1 99\r\nTOP 1\r\nTOP 1 -1\r\n");
	expect(&c, "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\n.\r\n"
		   "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\nl1\r\nl2\r\n.\r\n"
		   "+OK Top of message follows\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n"
		   "-ERR Missing argument\r\n-ERR Invalid number of lines\r\n");
	bye(&c);
}

/* The message file cannot be opened, or read: the reply says so before
 * the +OK, or the connection ends after it. */
static void test_retr_store_errors(void **state)
{
	struct client c;
	char *file, *probe, reply[64];
	struct stat st;
	uint32_t uid;
	char *data;

	(void)state;
	t_start();
	/* A message as large as a folder is on this file system, so that a
	 * folder can stand in for its file and pass the size check. */
	probe = t_path("mail/example.org/user/probe");
	assert_int_equal(mkdir(probe, 0700), 0);
	assert_int_equal(stat(probe, &st), 0);
	assert_int_equal(rmdir(probe), 0);
	free(probe);
	data = malloc((size_t)st.st_size);
	assert_non_null(data);
	memset(data, 'x', (size_t)st.st_size);
	uid = add_message(data, (size_t)st.st_size);
	assert_int_equal(uid, 4);
	free(data);
	login(&c);

	/* A file that cannot be opened (a symbolic link to itself): a
	 * temporary failure, and the session goes on. */
	file = message_file(1);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(symlink(file, file), 0);
	client_send(&c, "RETR 1\r\nNOOP\r\n");
	expect(&c, TEMP_FAIL "\r\n+OK Nothing happens\r\n");
	free(file);
	/* A file that is gone: the store is damaged. */
	file = message_file(2);
	assert_int_equal(unlink(file), 0);
	client_send(&c, "TOP 2 1\r\nNOOP\r\n");
	expect(&c, "-ERR [SYS/PERM] Internal server error\r\n+OK Nothing happens\r\n");
	free(file);
	/* A file that opens but cannot be read: the +OK is out, all that is
	 * left is to hang up. */
	file = message_file(4);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkdir(file, 0700), 0);
	free(file);
	client_send(&c, "RETR 4\r\nNOOP\r\n");
	snprintf(reply, sizeof(reply), "+OK %lld octets", (long long)st.st_size);
	expect_line(&c, reply);
	expect_closed(&c);
	client_close(&c);
}

/* RFC 1939 3: byte-stuffing where the session's reads of the file split
 * the lines: a line start on the first byte of a read, on the last byte,
 * and a CRLF split between two reads. */
static void test_retr_chunk_boundaries(void **state)
{
	static const size_t starts[] = { 0, CHUNK, 2 * CHUNK - 1, 3 * CHUNK + 1, 3 * CHUNK + 50 };
	size_t n_lines = sizeof(starts) / sizeof(starts[0]);
	size_t len = starts[n_lines - 1];
	char *msg = malloc(len), *want = malloc(len + n_lines + 3);
	char *got_bytes = malloc(len + n_lines + 3);
	size_t w = 0;
	struct client c;
	char reply[64];

	(void)state;
	assert_non_null(msg);
	assert_non_null(want);
	/* Lines starting at `starts`, each ".xxx...x\r\n": the second starts
	 * a read, the third starts on a read's last byte, and the third's CR
	 * ends a read, its LF starting the next. */
	for (size_t i = 0; i + 1 < n_lines; i++) {
		size_t end = starts[i + 1];

		memset(msg + starts[i], 'x', end - starts[i]);
		msg[starts[i]] = '.';
		msg[end - 2] = '\r';
		msg[end - 1] = '\n';
		/* What the client gets: the same, each line with one more '.'. */
		want[w++] = '.';
		memcpy(want + w, msg + starts[i], end - starts[i]);
		w += end - starts[i];
	}
	memcpy(want + w, ".\r\n", 3);
	w += 3;
	t_start();
	add_message(msg, len);
	login(&c);
	client_send(&c, "RETR 4\r\nNOOP\r\n");
	snprintf(reply, sizeof(reply), "+OK %zu octets", len);
	expect_line(&c, reply);
	recv_exact(&c, got_bytes, w);
	assert_memory_equal(got_bytes, want, w);
	expect_line(&c, "+OK Nothing happens");
	bye(&c);
	free(msg);
	free(want);
	free(got_bytes);
}

/* A client that does not read: the session's output stops at the
 * high-water mark, the command behind waits, and all of it arrives. */
static void test_back_pressure(void **state)
{
	/* More than the socket buffers of both ends hold before the client
	 * reads. */
	const size_t len = 8 * 1000 * 1000;
	char *big = malloc(len);
	size_t got = 0;
	struct client c;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (i % 100 == 98) ? '\r' : (i % 100 == 99) ? '\n' : (i % 100 == 0) ? '.' : 'x';
	t_start();
	add_message(big, len);
	login(&c);
	client_send(&c, "RETR 4\r\nNOOP\r\n");
	usleep(200 * 1000);
	expect_line(&c, "+OK 8000000 octets");
	for (;;) {
		const char *line = client_line(&c);

		assert_non_null(line);
		if (strcmp(line, ".") == 0)
			break;
		/* 80,000 lines, each one '.' longer. */
		assert_int_equal(strlen(line), 99);
		assert_true(line[0] == '.' && line[1] == '.' && line[98] == 'x');
		got++;
	}
	assert_int_equal(got, 80000);
	expect_line(&c, "+OK Nothing happens");
	/* The queue never grew much past the mark: one read of the file. */
	assert_true(core_peak_output() <= t_conf.output_buffer + 2 * CHUNK);
	bye(&c);
	free(big);
}

/* Drop a message file's pages from the page cache. */
static void drop_cache(uint32_t uid)
{
	char *path = message_file(uid);

	assert_true(page_cache_drop(path));
	free(path);
}

/* A large message that is not in the page cache is read in jobs, never
 * on the loop, and arrives byte-stuffed and whole; TOP of it too. */
static void test_retr_cold_cache(void **state)
{
	const size_t len = 6u * 1000 * 1000;
	char *big = malloc(len);
	char *got_bytes = malloc(len + len / 100 + 3);
	size_t w = 0;
	uint64_t jobs0, jobs1, sendfiled0, sendfiled1;
	struct client c;
	uint32_t uid;

	(void)state;
	assert_non_null(big);
	assert_non_null(got_bytes);
	/* 60,000 lines of 100 bytes, each starting with '.' and numbered. */
	for (size_t i = 0; i < len; i += 100) {
		memset(big + i, 'a' + (char)(i / 100 % 26), 100);
		big[i] = '.';
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	t_start();
	uid = add_message(big, len);
	login(&c);
	drop_cache(uid);   /* after the login, which could read it */
	conn_send_counters(&jobs0, &sendfiled0);
	client_send(&c, "RETR 4\r\nNOOP\r\n");
	expect_line(&c, "+OK 6000000 octets");
	recv_exact(&c, got_bytes, len + len / 100 + 3);
	for (size_t i = 0; i < len; i += 100) {
		if (got_bytes[w] != '.' || memcmp(got_bytes + w + 1, big + i, 100) != 0)
			fail_msg("line %zu differs", i / 100);
		w += 101;
	}
	assert_memory_equal(got_bytes + w, ".\r\n", 3);
	expect_line(&c, "+OK Nothing happens");
	conn_send_counters(&jobs1, &sendfiled1);
	assert_true(jobs1 > jobs0);
	/* byte-stuffed: never by sendfile */
	assert_int_equal(sendfiled1, sendfiled0);

	drop_cache(uid);
	client_send(&c, "TOP 4 2\r\n");
	expect_line(&c, "+OK Top of message follows");
	/* no blank line: the whole message is the header */
	recv_exact(&c, got_bytes, len + len / 100 + 3);
	assert_memory_equal(got_bytes, "..", 2);
	assert_memory_equal(got_bytes + len + len / 100, ".\r\n", 3);
	bye(&c);
	free(big);
	free(got_bytes);
}

static void test_quit_expunges(void **state)
{
	struct client c;
	char want[256];

	(void)state;
	t_start();
	login(&c);
	client_send(&c, "DELE 1\r\nDELE 3\r\nQUIT\r\nNOOP\r\n");
	expect(&c, "+OK Message 1 deleted\r\n+OK Message 3 deleted\r\n"
		   "+OK Bye, 2 messages deleted\r\n");
	expect_closed(&c);
	client_close(&c);
	assert_int_equal(inbox_count(), 1);

	/* UIDs stay the same in the next session. */
	login(&c);
	client_send(&c, "UIDL\r\n");
	snprintf(want, sizeof(want), "+OK Unique-ID listing follows\r\n1 %08x%08x\r\n.\r\n",
		 t_uidvalidity, 2);
	expect(&c, want);
	bye(&c);
}

static void test_quit_expunge_fails(void **state)
{
	struct client c;

	(void)state;
	t_start();
	login(&c);
	db_exec(T_INDEX, "CREATE TRIGGER no_expunge BEFORE DELETE ON messages "
		"BEGIN SELECT RAISE(ABORT, 'test: the disk failed'); END");
	client_send(&c, "DELE 1\r\nQUIT\r\n");
	/* RFC 1939 6: -ERR when deleted messages could not be removed. */
	expect(&c, "+OK Message 1 deleted\r\n" TEMP_FAIL "\r\n");
	expect_closed(&c);
	client_close(&c);
	db_exec(T_INDEX, "DROP TRIGGER no_expunge");
	assert_int_equal(inbox_count(), 3);
}

/* RFC 1939 6: a session that ends without QUIT deletes nothing, wherever
 * it was cut, and lets go of everything it held. */
static void test_drop_deletes_nothing(void **state)
{
	struct client c;

	(void)state;
	t_start();
	login(&c);
	client_send(&c, "DELE 1\r\nDELE 2\r\n");
	expect(&c, "+OK Message 1 deleted\r\n+OK Message 2 deleted\r\n");
	client_close(&c);
	login_when_free(&c);
	client_send(&c, "STAT\r\n");
	expect(&c, "+OK 3 108\r\n");

	/* Reset while a RETR's open job runs. */
	client_send(&c, "DELE 1\r\nRETR 2\r\n");
	reset(&c);
	login_when_free(&c);
	client_send(&c, "STAT\r\n");
	expect(&c, "+OK 3 108\r\n");

	/* Reset while the login driver works: it answers nothing, holds
	 * nothing. */
	bye(&c);
	start(&c);
	client_send(&c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\n");
	reset(&c);
	start(&c);
	client_send(&c, "USER " T_USER "\r\nPASS wrong\r\n");
	reset(&c);
	login_when_free(&c);
	client_send(&c, "STAT\r\n");
	expect(&c, "+OK 3 108\r\n");
	bye(&c);
	assert_int_equal(inbox_count(), 3);
}

/* The shared login driver answers once: its temporary refusal (busy)
 * becomes [SYS/TEMP] and the session goes on. */
static void test_login_busy(void **state)
{
	struct client a, b;
	struct client *busy, *failed;
	const char *line_a, *line_b;

	(void)state;
	t_start();
	/* One failure from the address first, so that its next attempts are
	 * paced (and in flight) long enough; then two at once, with one
	 * attempt in flight allowed per address. */
	start_from(&a, "127.3.0.1");
	client_send(&a, "USER " T_USER "\r\nPASS wrong\r\n");
	expect(&a, "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
	bye(&a);
	start_from(&a, "127.3.0.1");
	start_from(&b, "127.3.0.1");
	client_send(&a, "USER " T_USER "\r\nPASS wrong\r\n");
	client_send(&b, "USER " T_USER "\r\nPASS wrong\r\n");
	expect_line(&a, "+OK Send your password");
	expect_line(&b, "+OK Send your password");
	/* Whichever the loops took second is refused at once. */
	line_a = client_line(&a);
	assert_non_null(line_a);
	line_b = client_line(&b);
	assert_non_null(line_b);
	busy = strcmp(line_a, TEMP_FAIL) == 0 ? &a : &b;
	failed = busy == &a ? &b : &a;
	assert_string_equal(busy->line, TEMP_FAIL);
	assert_string_equal(failed->line, "-ERR [AUTH] Authentication failed");
	bye(failed);
	/* Not an authentication failure: the session goes on. */
	client_send(busy, "AUTH PLAIN " T_PLAIN_OK "\r\nSTAT\r\n");
	expect(busy, "+OK Logged in.\r\n+OK 3 108\r\n");
	bye(busy);
}

static void test_pipelining(void **state)
{
	struct client c;
	char want[512];

	(void)state;
	t_start();
	start(&c);
	client_send(&c, "USER " T_USER "\r\nPASS " T_PASSWORD "\r\nSTAT\r\nRETR 1\r\n"
		   "LIST 1\r\nTOP 2 1\r\nUIDL 1\r\nQUIT\r\n");
	snprintf(want, sizeof(want), "+OK Send your password\r\n+OK Logged in.\r\n+OK 3 108\r\n"
		 "+OK 34 octets\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n"
		 "+OK 1 34\r\n"
		 "+OK Top of message follows\r\nSubject: two\r\nFrom: a@b\r\n\r\nl1\r\n.\r\n"
		 "+OK 1 %08x%08x\r\n+OK Bye\r\n", t_uidvalidity, 1);
	expect(&c, want);
	expect_closed(&c);
	client_close(&c);
}

static void test_errors(void **state)
{
	struct client c;
	char line[400];
	const char nul[] = "NO\0OP\r\n";

	(void)state;
	t_start();
	start(&c);
	client_send(&c, "\r\n   \r\nFOO\r\nSTAT\r\nLISTING\r\n");
	expect(&c, "-ERR Empty command\r\n-ERR Empty command\r\n-ERR Unknown command\r\n"
		   "-ERR STAT not allowed in the AUTHORIZATION state\r\n-ERR Unknown command\r\n");
	memset(line, 'a', sizeof(line));
	memcpy(line, "USER ", 5);
	memcpy(line + 300, "\r\n", 3);
	client_send(&c, line);
	expect(&c, "-ERR Line too long\r\n");
	send_bytes(&c, nul, sizeof(nul) - 1);
	expect(&c, "-ERR Invalid character in command\r\n");
	client_send(&c, "USER \xff\xfe\r\n");
	expect(&c, "+OK Send your password\r\n");
	/* Error 8 to 19: still there. */
	for (int i = 8; i < 20; i++) {
		client_send(&c, "XYZ\r\n");
		expect(&c, "-ERR Unknown command\r\n");
	}
	client_send(&c, "XYZ\r\nNOOP\r\n");
	expect(&c, "-ERR Unknown command\r\n-ERR Too many errors\r\n");
	expect_closed(&c);
	client_close(&c);
}

static void test_idle_timeout(void **state)
{
	struct client c;

	(void)state;
	t_conf.idle_timeout = 1;
	t_start();
	login(&c);
	client_send(&c, "DELE 1\r\n");
	expect(&c, "+OK Message 1 deleted\r\n");
	/* RFC 1939 3: the autologout timer; no UPDATE state follows. */
	expect(&c, "-ERR Disconnected for inactivity.\r\n");
	expect_closed(&c);
	client_close(&c);
	assert_int_equal(inbox_count(), 3);
}

/* The login deadline holds for a session that has not logged in, and no
 * longer for one that has. */
static void test_login_timeout(void **state)
{
	struct client in, out;

	(void)state;
	t_conf.login_timeout = 1;
	t_start();
	login(&in);
	start(&out);
	client_send(&out, "CAPA\r\n");
	while (strcmp(client_line(&out), ".") != 0)
		;
	expect(&out, "-ERR Disconnected: no login in time.\r\n");
	expect_closed(&out);
	client_close(&out);
	usleep(300 * 1000);
	client_send(&in, "NOOP\r\n");
	expect(&in, "+OK Nothing happens\r\n");
	bye(&in);
}

static void test_shutdown_reply(void **state)
{
	struct client c;

	(void)state;
	t_start();
	login(&c);
	client_send(&c, "DELE 1\r\n");
	expect(&c, "+OK Message 1 deleted\r\n");
	core_stop(t_h.core);
	expect(&c, "-ERR [SYS/TEMP] Server shutting down, try again later.\r\n");
	expect_closed(&c);
	client_close(&c);
	/* RFC 1939 6: no QUIT, no UPDATE state: nothing deleted. */
	assert_int_equal(inbox_count(), 3);
}

static void test_auth_commands_bound(void **state)
{
	struct client c;

	(void)state;
	t_start();
	start(&c);
	/* DESIGN 7: commands before authentication are bounded, errors or not. */
	for (int i = 0; i < 50; i++) {
		client_send(&c, "CAPA\r\n");
		while (strcmp(client_line(&c), ".") != 0)
			;
	}
	client_send(&c, "CAPA\r\n");
	expect(&c, "-ERR Too many commands before authentication\r\n");
	expect_closed(&c);
	client_close(&c);

	/* After login the bound no longer applies. */
	login(&c);
	for (int i = 0; i < 60; i++) {
		client_send(&c, "NOOP\r\n");
		expect(&c, "+OK Nothing happens\r\n");
	}
	bye(&c);
}

/* Shutting down in the middle of a RETR: no "-ERR" line inside the body;
 * the message is cut, which the client sees as a connection lost. */
static void test_shutdown_in_producer(void **state)
{
	/* More than the socket buffers of both ends hold. */
	const size_t len = 16u * 1024 * 1024;
	char *big = malloc(len);
	char buf[65536];
	size_t got = 0;
	struct client c;
	bool err_seen = false;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', len);
	for (size_t i = 99; i < len; i += 100)
		big[i] = '\n';
	t_start();
	add_message(big, len);
	free(big);
	login(&c);
	client_send(&c, "RETR 4\r\n");
	expect_line(&c, "+OK 16777216 octets");
	usleep(200 * 1000);
	core_stop(t_h.core);
	for (;;) {
		ssize_t n = recv(c.fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		/* Only the message's bytes (with CRLF line ends), no reply. */
		for (ssize_t i = 0; i < n; i++)
			err_seen |= strchr("x\r\n", buf[i]) == NULL;
		got += (size_t)n;
	}
	assert_false(err_seen);
	assert_true(got < len);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_refuses_loop_thread),
		cmocka_unit_test_setup_teardown(test_greeting_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capa_stls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_pass_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_pass_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_login_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_long_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retr_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retr_store_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retr_chunk_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retr_cold_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_expunges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_expunge_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_commands_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_in_producer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
