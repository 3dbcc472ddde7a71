/* fuzz-pop3-fake - for the fuzz-pop3 harness only: a fake connection, login
 * driver and store in memory, so that libFuzzer can run thousands of whole
 * POP3 sessions a second, deterministically, in one thread, without
 * sockets, loops or disk. It defines every conn_*, auth_* and store_*
 * symbol the pop3 module uses, so the linker never pulls the real ones.
 *
 * It is not the core: it knows only what the session needs (lines, a job
 * at a time, pausing, STLS, drained), and where the two differ the fuzzer
 * may find what the core would never do. The unit tests
 * (tests/unit/test-pop3-session.c) run sessions on the real core, the
 * real login driver and the real store instead. Include it from one file. */
#ifndef TERN_TESTS_FUZZ_POP3_FAKE_H
#define TERN_TESTS_FUZZ_POP3_FAKE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conn.h"
#include "dir/auth-login.h"
#include "dir/auth.h"
#include "dir/sasl.h"
#include "pop3/pop3.h"
#include "store/store.h"

#define FAKE_UNUSED __attribute__((unused))

/* ---- the connection ---- */

struct conn {
	const struct protocol *proto;
	void *session;
	struct config cfg;
	struct pop3_context ctx;
	struct buf in;
	struct buf out;           /* everything written, until fake_take */
	char *line;               /* the last line conn_line returned */
	size_t queued;            /* output not yet "sent"; full at high_water */
	size_t high_water;        /* 0: never full */
	bool paused;
	bool closing;
	bool closed;
	bool tls;
	bool tls_available;
	bool loopback;
	bool starttls_pending;
	void (*job_work)(void *arg);
	void (*job_done)(void *arg);
	void *job_arg;
	bool hold_jobs;           /* leave jobs pending (a slow thread pool) */
	/* conn_send_file, produced in pieces by fake_run */
	bool send_on;
	int send_fd;
	uint64_t send_off, send_left;
	conn_send_filter_fn *send_filter;
	conn_send_done_fn *send_done;
	void *send_arg;
	size_t send_piece;        /* bytes per piece; 0 = all at once */
};

/* True while a job runs "on the thread pool": the blocking store calls
 * below abort when called from the loop (DESIGN 3). */
static bool fake_in_pool;

static FAKE_UNUSED void fake_pool_run(void (*work)(void *arg), void *arg)
{
	fake_in_pool = true;
	work(arg);
	fake_in_pool = false;
}

static FAKE_UNUSED void fake_assert_pool(void)
{
	if (!fake_in_pool)
		abort();   /* blocking store call on the loop thread */
}

enum conn_line conn_line(struct conn *conn, const char **line_r, size_t *len_r)
{
	size_t len, total;

	free(conn->line);
	conn->line = NULL;
	if (!buf_line(&conn->in, &len, &total)) {
		if (conn->in.len > conn->cfg.pop3.conn.line_length) {
			/* Like the core: discard up to the LF that will come. */
			buf_reset(&conn->in);
			return CONN_LINE_TOO_LONG;
		}
		return CONN_LINE_NONE;
	}
	if (len > conn->cfg.pop3.conn.line_length) {
		buf_consume(&conn->in, total);
		return CONN_LINE_TOO_LONG;
	}
	conn->line = malloc(len + 1);
	if (conn->line == NULL)
		abort();
	memcpy(conn->line, conn->in.data, len);
	conn->line[len] = '\0';
	buf_consume(&conn->in, total);
	*line_r = conn->line;
	*len_r = len;
	return CONN_LINE_OK;
}

struct buf *conn_input(struct conn *conn)
{
	return &conn->in;
}

void conn_set_input_max(struct conn *conn, size_t max)
{
	(void)conn;
	(void)max;
}

void conn_write(struct conn *conn, const void *data, size_t len)
{
	if (conn->closed)
		abort();   /* writing after close */
	if (buf_append(&conn->out, data, len) < 0)
		abort();
	conn->queued += len;
}

void conn_printf(struct conn *conn, const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	conn_write(conn, text, (size_t)n);
}

bool conn_output_full(const struct conn *conn)
{
	return conn->high_water != 0 && conn->queued >= conn->high_water;
}

void conn_pause_input(struct conn *conn)
{
	conn->paused = true;
}

void conn_resume_input(struct conn *conn)
{
	conn->paused = false;
}

int conn_starttls(struct conn *conn)
{
	if (!conn->tls_available || conn->tls)
		return -1;
	conn->starttls_pending = true;
	conn->paused = true;
	return 0;
}

bool conn_is_tls(const struct conn *conn)
{
	return conn->tls;
}

bool conn_tls_available(const struct conn *conn)
{
	return conn->tls_available;
}

void conn_close(struct conn *conn, const char *reason)
{
	(void)reason;
	conn->closing = true;
}

void conn_authenticated(struct conn *conn)
{
	(void)conn;
}

bool conn_is_closing(const struct conn *conn)
{
	return conn->closing;
}

void conn_job(struct conn *conn, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	if (conn->job_work != NULL)
		abort();   /* at most one job at a time */
	conn->job_work = work;
	conn->job_done = done;
	conn->job_arg = arg;
}

void conn_send_file(struct conn *conn, int fd, uint64_t off, uint64_t len,
		    conn_send_filter_fn *filter, conn_send_done_fn *done, void *arg)
{
	if (conn->job_work != NULL || conn->send_on)
		abort();   /* as the core: not during a job or another send */
	conn->send_on = true;
	conn->send_fd = fd;
	conn->send_off = off;
	conn->send_left = len;
	conn->send_filter = filter;
	conn->send_done = done;
	conn->send_arg = arg;
}

const char *conn_send_result_name(enum conn_send_result result)
{
	return result == CONN_SEND_OK ? "ok" : "not-ok";
}

static FAKE_UNUSED void fake_send_end(struct conn *c, enum conn_send_result result)
{
	c->send_on = false;
	c->send_done(c->send_arg, result);
}

/* Produce the send while output has room, as the core does; false when
 * it waits for the client to read. */
static FAKE_UNUSED bool fake_send_run(struct conn *c)
{
	char piece[4096];

	while (c->send_on) {
		size_t want = c->send_left < sizeof(piece) ? (size_t)c->send_left : sizeof(piece);
		ssize_t n;

		if (c->closing) {
			fake_send_end(c, CONN_SEND_CLOSED);
			break;
		}
		if (c->send_left == 0) {
			fake_send_end(c, CONN_SEND_OK);
			break;
		}
		if (conn_output_full(c))
			return false;
		if (c->send_piece != 0 && want > c->send_piece)
			want = c->send_piece;
		n = pread(c->send_fd, piece, want, (off_t)c->send_off);
		if (n <= 0) {
			fake_send_end(c, n == 0 ? CONN_SEND_SHORT : CONN_SEND_IO_ERROR);
			break;
		}
		c->send_off += (uint64_t)n;
		c->send_left -= (uint64_t)n;
		if (c->send_filter == NULL)
			conn_write(c, piece, (size_t)n);
		else if (c->send_filter(c->send_arg, piece, (size_t)n))
			fake_send_end(c, CONN_SEND_OK);
	}
	return true;
}

void conn_job_after_close(struct conn *conn, void (*work)(void *arg), void *arg)
{
	(void)conn;
	fake_pool_run(work, arg);   /* the thread pool, at once */
}

const char *conn_id(const struct conn *conn)
{
	(void)conn;
	return "FAKE01";
}

const char *conn_remote_ip(const struct conn *conn)
{
	return conn->loopback ? "127.0.0.1" : "192.0.2.1";
}

bool conn_is_loopback(const struct conn *conn)
{
	return conn->loopback;
}

const char *conn_local_ip(const struct conn *conn)
{
	(void)conn;
	return "192.0.2.2";
}

uint16_t conn_local_port(const struct conn *conn)
{
	(void)conn;
	return 110;
}

const struct config *conn_config(const struct conn *conn)
{
	return &conn->cfg;
}

void *conn_context(const struct conn *conn)
{
	return (void *)&conn->ctx;
}

struct loop *conn_loop(const struct conn *conn)
{
	(void)conn;
	return NULL;
}

void conn_log(const struct conn *conn, enum log_level level, const char *fmt, ...)
{
	(void)conn;
	(void)level;
	(void)fmt;
}

/* ---- driving the connection ---- */

static FAKE_UNUSED struct conn *fake_conn_new(const struct protocol *proto)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->proto = proto;
	c->cfg.server.hostname = (char *)"mail.example.org";
	c->cfg.pop3.conn.line_length = 8192;
	c->cfg.limits.errors_per_session = 20;
	c->cfg.limits.auth_failures = 3;
	c->cfg.limits.output_buffer = 262144;
	c->ctx.hostname = "mail.example.org";
	c->ctx.store = NULL;
	c->loopback = true;
	c->tls_available = true;
	c->cfg.auth.allow_plaintext_loopback = true;
	buf_init(&c->in, 0);
	buf_init(&c->out, 0);
	return c;
}

/* Run everything that can run: jobs, then input while not paused. */
static FAKE_UNUSED void fake_run(struct conn *c)
{
	for (;;) {
		if (c->closed)
			return;
		if (c->job_work != NULL && c->hold_jobs)
			return;
		if (c->job_work != NULL) {
			void (*done)(void *) = c->job_done;
			void *arg = c->job_arg;

			fake_pool_run(c->job_work, arg);
			c->job_work = NULL;
			c->job_done = NULL;
			done(arg);
			continue;
		}
		if (c->send_on) {
			if (!fake_send_run(c))
				return;
			continue;
		}
		if (c->closing || c->paused || c->starttls_pending)
			return;
		{
			size_t len, total;
			size_t before = c->in.len;

			if (!buf_line(&c->in, &len, &total) &&
			    c->in.len <= c->cfg.pop3.conn.line_length)
				return;
			c->proto->input(c->session);
			if (c->in.len == before && !c->paused && c->job_work == NULL)
				return;   /* nothing consumed: avoid spinning */
		}
	}
}

static FAKE_UNUSED void fake_open(struct conn *c)
{
	c->session = c->proto->open(c);
	if (c->session == NULL)
		abort();
	fake_run(c);
}

static FAKE_UNUSED void fake_send_bytes(struct conn *c, const void *data, size_t len)
{
	if (c->closing)
		return;
	if (buf_append(&c->in, data, len) < 0)
		abort();
	fake_run(c);
}

/* The output written so far, as a string; the buffer is emptied. The
 * caller frees. */
static FAKE_UNUSED char *fake_take(struct conn *c)
{
	char *s = malloc(c->out.len + 1);

	if (s == NULL)
		abort();
	if (c->out.len > 0)
		memcpy(s, c->out.data, c->out.len);
	s[c->out.len] = '\0';
	buf_reset(&c->out);
	return s;
}

/* The client read everything queued: call drained as the core does
 * (not while a send produces). */
static FAKE_UNUSED void fake_drain(struct conn *c)
{
	c->queued = 0;
	if (!c->closing && !c->send_on && c->proto->drained != NULL)
		c->proto->drained(c->session);
	fake_run(c);
}

/* The TLS handshake asked for with STLS completes. */
static FAKE_UNUSED void fake_tls_handshake(struct conn *c)
{
	if (!c->starttls_pending)
		abort();
	c->starttls_pending = false;
	buf_reset(&c->in);   /* the core discards what came before */
	c->tls = true;
	c->paused = false;
	c->proto->tls_ready(c->session);
	fake_run(c);
}

/* The client went away (or the session closed): finish like the core. */
static FAKE_UNUSED void fake_free(struct conn *c)
{
	c->closing = true;
	c->hold_jobs = false;
	fake_run(c);   /* a running job still gets its done callback */
	if (c->job_work != NULL) {
		fake_pool_run(c->job_work, c->job_arg);
		c->job_work = NULL;
		c->job_done(c->job_arg);
	}
	if (c->send_on)
		fake_send_end(c, CONN_SEND_CLOSED);
	c->proto->close(c->session);
	c->closed = true;
	free(c->line);
	buf_release(&c->in);
	buf_release(&c->out);
	free(c);
}

/* ---- the login driver (dir/auth-login.h) over a one-user directory;
 * SASL is the real src/dir/sasl.c, which does no I/O ---- */

#define FAKE_USER "user@example.org"
#define FAKE_PASSWORD "secret"

struct fake_login {
	struct conn *conn;
	char *authcid, *authzid, *password;
	enum auth_login_result result;
	auth_login_done_fn *done;
	void *ctx;
};

const char *auth_login_result_name(enum auth_login_result result)
{
	return result == AUTH_LOGIN_OK ? "ok" : "not-ok";
}

/* The driver's checks: "tempfail" and "busy" as login names give those
 * answers; FAKE_USER with FAKE_PASSWORD (and no other authzid) logs in. */
static void fake_login_work(void *arg)
{
	struct fake_login *l = arg;

	if (strcmp(l->authcid, "tempfail") == 0)
		l->result = AUTH_LOGIN_TEMPFAIL;
	else if (strcmp(l->authcid, "busy") == 0)
		l->result = AUTH_LOGIN_BUSY;
	else if (l->authzid[0] != '\0' && strcmp(l->authzid, l->authcid) != 0)
		l->result = AUTH_LOGIN_FAILED;
	else if (strcmp(l->authcid, FAKE_USER) != 0 || strcmp(l->password, FAKE_PASSWORD) != 0)
		l->result = AUTH_LOGIN_FAILED;
	else
		l->result = AUTH_LOGIN_OK;
}

static void fake_login_done(void *arg)
{
	struct fake_login *l = arg;
	enum auth_login_result result = conn_is_closing(l->conn) ? AUTH_LOGIN_GONE : l->result;

	l->done(l->ctx, result, result == AUTH_LOGIN_OK ? FAKE_USER : NULL);
	free(l->authcid);
	free(l->authzid);
	free(l->password);
	free(l);
}

void auth_login_start(struct conn *conn, struct dir *dir, const char *authcid,
		      const char *authzid, const char *password, auth_login_done_fn *done,
		      void *ctx)
{
	struct fake_login *l = calloc(1, sizeof(*l));

	(void)dir;
	if (l == NULL)
		abort();
	l->conn = conn;
	l->authcid = strdup(authcid);
	l->authzid = strdup(authzid);
	l->password = strdup(password);
	l->done = done;
	l->ctx = ctx;
	if (l->authcid == NULL || l->authzid == NULL || l->password == NULL)
		abort();
	/* Asynchronous, like the real driver: a job the fake pool runs. */
	conn_job(conn, fake_login_work, fake_login_done, l);
}

bool auth_plaintext_allowed(bool is_tls, bool is_loopback, bool allow_plaintext_loopback)
{
	return is_tls || (is_loopback && allow_plaintext_loopback);
}

/* ---- the store: one INBOX in memory ---- */

#define FAKE_UIDVALIDITY 0x5eed0001u
#define FAKE_MSGS_MAX 64

struct fake_msg {
	uint32_t uid;
	char *data;
	size_t len;
};

static struct fake_store {
	struct fake_msg msgs[FAKE_MSGS_MAX];
	size_t n;
	uint32_t uidnext;
	bool locked;
	unsigned opens;           /* open accounts (for leak checks) */
	unsigned readers;
} fake_store;

struct store_account {
	int unused;
};

/* A message is opened as a memfd holding its bytes, so that the fake
 * conn_send_file reads it as the core reads the real file. */
struct store_reader {
	const struct fake_msg *msg;
	int fd;
};

struct store_lock {
	int unused;
};

static FAKE_UNUSED void fake_store_reset(void)
{
	size_t i;

	for (i = 0; i < fake_store.n; i++)
		free(fake_store.msgs[i].data);
	memset(&fake_store, 0, sizeof(fake_store));
	fake_store.uidnext = 1;
}

static FAKE_UNUSED uint32_t fake_store_add(const char *data, size_t len)
{
	struct fake_msg *m;

	if (fake_store.n == FAKE_MSGS_MAX)
		abort();
	m = &fake_store.msgs[fake_store.n++];
	m->uid = fake_store.uidnext++;
	m->data = malloc(len + 1);
	if (m->data == NULL)
		abort();
	memcpy(m->data, data, len);
	m->len = len;
	return m->uid;
}

const char *store_error_name(enum store_error error)
{
	return error == STORE_OK ? "ok" : "fake-error";
}

enum store_error store_account_get(struct store_root *root, const char *address,
				   struct store_account **acct_r)
{
	fake_assert_pool();
	(void)root;
	(void)address;
	*acct_r = calloc(1, sizeof(**acct_r));
	if (*acct_r == NULL)
		abort();
	fake_store.opens++;
	return STORE_OK;
}

void store_account_put(struct store_account **acct)
{
	fake_assert_pool();
	if (*acct == NULL)
		return;
	fake_store.opens--;
	free(*acct);
	*acct = NULL;
}

void store_release_memory(struct store_account *acct)
{
	fake_assert_pool();
	if (acct == NULL)
		abort();
}

enum store_error store_mailbox_get(struct store_account *acct, const char *name,
				   struct store_mailbox *box_r)
{
	(void)acct;
	if (strcmp(name, "INBOX") != 0)
		return STORE_ERR_NOT_FOUND;
	memset(box_r, 0, sizeof(*box_r));
	box_r->name = strdup(name);
	box_r->id = 1;
	box_r->uidvalidity = FAKE_UIDVALIDITY;
	box_r->uidnext = fake_store.uidnext;
	box_r->messages = (uint32_t)fake_store.n;
	return STORE_OK;
}

void store_mailbox_free(struct store_mailbox *box)
{
	free(box->name);
	box->name = NULL;
}

enum store_error store_message_list(struct store_account *acct,
				    const struct store_mailbox_ref *ref,
				    struct store_message **msgs_r, size_t *n_r)
{
	size_t i;

	(void)acct;
	(void)ref;
	*msgs_r = calloc(fake_store.n + 1, sizeof(**msgs_r));
	if (*msgs_r == NULL)
		abort();
	for (i = 0; i < fake_store.n; i++) {
		(*msgs_r)[i].uid = fake_store.msgs[i].uid;
		(*msgs_r)[i].size = fake_store.msgs[i].len;
	}
	*n_r = fake_store.n;
	return STORE_OK;
}

void store_messages_free(struct store_message *msgs, size_t n)
{
	(void)n;
	free(msgs);
}

enum store_error store_reader_open(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t uid, struct store_reader **reader_r)
{
	size_t i;

	(void)acct;
	(void)ref;
	for (i = 0; i < fake_store.n; i++) {
		if (fake_store.msgs[i].uid == uid) {
			*reader_r = calloc(1, sizeof(**reader_r));
			if (*reader_r == NULL)
				abort();
			(*reader_r)->msg = &fake_store.msgs[i];
			(*reader_r)->fd = memfd_create("fake-message", MFD_CLOEXEC);
			if ((*reader_r)->fd < 0 ||
			    write((*reader_r)->fd, fake_store.msgs[i].data, fake_store.msgs[i].len) !=
			    (ssize_t)fake_store.msgs[i].len)
				abort();
			fake_store.readers++;
			return STORE_OK;
		}
	}
	return STORE_ERR_NOT_FOUND;
}

ssize_t store_reader_pread(const struct store_reader *reader, void *buf, size_t len,
			   uint64_t offset)
{
	fake_assert_pool();
	return pread(reader->fd, buf, len, (off_t)offset);
}

int store_reader_fd(const struct store_reader *reader)
{
	return reader->fd;
}

uint64_t store_reader_size(const struct store_reader *reader)
{
	return reader->msg->len;
}

void store_reader_close(struct store_reader **reader)
{
	if (*reader == NULL)
		return;
	fake_store.readers--;
	close((*reader)->fd);
	free(*reader);
	*reader = NULL;
}

enum store_error store_expunge(struct store_account *acct, const struct store_mailbox_ref *ref,
			       const uint32_t *uids, size_t n)
{
	fake_assert_pool();
	size_t i, j, k;

	(void)acct;
	(void)ref;
	for (i = 0; i < n; i++) {
		for (j = 0; j < fake_store.n; j++) {
			if (fake_store.msgs[j].uid != uids[i])
				continue;
			free(fake_store.msgs[j].data);
			for (k = j; k + 1 < fake_store.n; k++)
				fake_store.msgs[k] = fake_store.msgs[k + 1];
			fake_store.n--;
			break;
		}
	}
	return STORE_OK;
}

enum store_error store_lock(const char *address, const char *purpose, struct store_lock **lock_r)
{
	fake_assert_pool();
	(void)address;
	(void)purpose;
	if (fake_store.locked)
		return STORE_ERR_LOCKED;
	fake_store.locked = true;
	*lock_r = calloc(1, sizeof(**lock_r));
	if (*lock_r == NULL)
		abort();
	return STORE_OK;
}

void store_unlock(struct store_lock **lock)
{
	fake_assert_pool();
	if (*lock == NULL)
		return;
	fake_store.locked = false;
	free(*lock);
	*lock = NULL;
}

#endif
