/* test-conn - the I/O core in-process: a tiny line protocol served on
 * 127.0.0.1 by real loops, driven by plain and OpenSSL client sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn-harness.h"
#include "core/conn.h"
#include "core/job-limit.h"
#include "core/listener.h"

/* ---- the test protocol ---- */

struct tsession {
	struct conn *conn;
	uint64_t big_left;
	bool job_started, job_done;
	bool in_block;                /* BLOCK: raw bytes up to a '.' */
	size_t block_bytes;
};

static atomic_int t_open, t_closed, t_jobs_done, t_close_during_job;
/* Limited jobs (LJOB): the limit they share, how many run at once. */
static struct job_limit *t_limit;
static atomic_int t_ljob_running, t_ljob_peak, t_ljob_worked, t_ljob_skipped;
/* While set, a limited job's work does not end (at most 10 s): a test
 * that must see something happen while the slot is held sets it. */
static atomic_bool t_ljob_gate;
/* conn_job_wait (WAIT): how many ended early because the client went. */
static atomic_int t_wait_cut;

static void *t_open_cb(struct conn *conn)
{
	struct tsession *s = calloc(1, sizeof(*s));

	s->conn = conn;
	atomic_fetch_add(&t_open, 1);
	conn_printf(conn, "HELLO\r\n");
	return s;
}

static void t_big_produce(struct tsession *s)
{
	static char chunk[65536];

	if (chunk[0] != 'x')
		memset(chunk, 'x', sizeof(chunk));
	while (s->big_left > 0 && !conn_output_full(s->conn)) {
		size_t n = s->big_left < sizeof(chunk) ? (size_t)s->big_left : sizeof(chunk);

		conn_write(s->conn, chunk, n);
		s->big_left -= n;
		if (s->big_left == 0)
			conn_write(s->conn, "\r\n", 2);
	}
}

static void t_job_work(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
}

static void t_job_done(void *arg)
{
	struct tsession *s = arg;

	s->job_done = true;
	atomic_fetch_add(&t_jobs_done, 1);
	conn_printf(s->conn, "JOB done\r\n");
}

struct tljob {
	struct tsession *s;
	bool worked;
};

static void t_ljob_work(void *arg)
{
	struct tljob *j = arg;
	int now = atomic_fetch_add(&t_ljob_running, 1) + 1;

	for (int peak = atomic_load(&t_ljob_peak);
	     now > peak && !atomic_compare_exchange_weak(&t_ljob_peak, &peak, now);)
		;
	usleep(200 * 1000);
	for (int i = 0; i < 1000 && atomic_load(&t_ljob_gate); i++)
		usleep(10 * 1000);
	atomic_fetch_sub(&t_ljob_running, 1);
	atomic_fetch_add(&t_ljob_worked, 1);
	j->worked = true;
}

static void t_ljob_done(void *arg)
{
	struct tljob *j = arg;
	struct tsession *s = j->s;

	s->job_done = true;
	if (!j->worked) {
		/* Dropped: closed, or the client went while it waited. */
		atomic_fetch_add(&t_ljob_skipped, 1);
		assert_true(conn_client_gone(s->conn));
		conn_close(s->conn, "client gone");
	} else if (!conn_is_closing(s->conn)) {
		conn_printf(s->conn, "LJOB done\r\n");
	}
	free(j);
}

static void t_hang_work(void *arg)
{
	(void)arg;
	sleep(60);
}

static void t_wait_done(void *arg)
{
	struct tsession *s = arg;

	s->job_done = true;
	if (conn_client_gone(s->conn)) {
		atomic_fetch_add(&t_wait_cut, 1);
		conn_close(s->conn, "client gone");
	} else {
		conn_printf(s->conn, "WAIT done\r\n");
	}
}

static void t_jobwait_done(void *arg)
{
	struct tsession *s = arg;

	conn_job_wait(s->conn, 5000, t_wait_done, s);
}

/* AWAIT: the work is done by another thread, which reports back. */
static void *t_await_thread(void *arg)
{
	usleep(100 * 1000);
	conn_await_done(arg);
	return NULL;
}

static void t_await_done(void *arg)
{
	struct tsession *s = arg;

	s->job_done = true;
	atomic_fetch_add(&t_jobs_done, 1);
	conn_printf(s->conn, "AWAIT done\r\n");
}

static void t_await_start(struct tsession *s)
{
	pthread_t thread;

	s->job_started = true;
	s->job_done = false;
	if (pthread_create(&thread, NULL, t_await_thread, conn_await(s->conn, t_await_done, s)) != 0)
		abort();
	pthread_detach(thread);
}

static void t_close_timer(void *session)
{
	struct tsession *s = session;

	conn_close(s->conn, "test close");
}

/* False when the queue was full ("LJOB busy" written). */
static bool t_ljob_start(struct tsession *s)
{
	struct tljob *j = calloc(1, sizeof(*j));

	j->s = s;
	if (!conn_job_limited(s->conn, t_limit, JOB_LIMIT_PRIO_HIGH, t_ljob_work, t_ljob_done, j)) {
		free(j);
		conn_printf(s->conn, "LJOB busy\r\n");
		return false;
	}
	s->job_started = true;
	s->job_done = false;
	return true;
}

/* BLOCK mode: consume raw input up to a '.', as SMTP DATA will. */
static bool t_block_input(struct tsession *s)
{
	struct buf *in = conn_input(s->conn);
	const char *dot = memchr(in->data, '.', in->len);
	size_t n = dot != NULL ? (size_t)(dot - in->data) + 1 : in->len;

	s->block_bytes += dot != NULL ? n - 1 : n;
	buf_consume(in, n);
	if (dot == NULL)
		return false;
	s->in_block = false;
	conn_input_unfinished(s->conn, false);
	conn_printf(s->conn, "BLOCK %zu\r\n", s->block_bytes);
	return true;
}

static void t_input(void *session)
{
	struct tsession *s = session;
	const char *line;
	size_t len;

	while (s->big_left == 0) {
		if (s->in_block) {
			if (!t_block_input(s))
				return;
			continue;
		}
		enum conn_line r = conn_line(s->conn, &line, &len);

		if (r == CONN_LINE_NONE)
			return;
		if (r == CONN_LINE_TOO_LONG) {
			conn_printf(s->conn, "ERR too long\r\n");
			continue;
		}
		if (strcmp(line, "STARTTLS") == 0) {
			conn_printf(s->conn, "OK starttls\r\n");
			if (conn_starttls(s->conn) < 0)
				conn_printf(s->conn, "ERR no tls\r\n");
			return;
		}
		if (strcmp(line, "TLS?") == 0) {
			conn_printf(s->conn, "TLS %s\r\n", conn_is_tls(s->conn) ? "yes" : "no");
		} else if (strcmp(line, "CLOSING?") == 0) {
			conn_printf(s->conn, "CLOSING %s\r\n", conn_is_closing(s->conn) ? "yes" : "no");
		} else if (strncmp(line, "BIG ", 4) == 0) {
			s->big_left = strtoull(line + 4, NULL, 10);
			t_big_produce(s);
		} else if (strcmp(line, "JOB") == 0) {
			s->job_started = true;
			s->job_done = false;
			conn_job(s->conn, t_job_work, t_job_done, s);
			return;
		} else if (strcmp(line, "LJOB") == 0) {
			if (t_ljob_start(s))
				return;
		} else if (strcmp(line, "JOBWAIT") == 0) {
			/* A job whose done starts a long wait. */
			s->job_started = true;
			s->job_done = false;
			conn_job(s->conn, t_job_work, t_jobwait_done, s);
			return;
		} else if (strncmp(line, "WAIT ", 5) == 0) {
			s->job_started = true;
			s->job_done = false;
			conn_job_wait(s->conn, strtoull(line + 5, NULL, 10), t_wait_done, s);
			return;
		} else if (strcmp(line, "LJOBCLOSE") == 0) {
			/* Closed (by a timer) while the job waits for a slot. */
			conn_timer(s->conn, 50, t_close_timer);
			t_ljob_start(s);
			return;
		} else if (strcmp(line, "HANG") == 0) {
			s->job_started = true;
			conn_job(s->conn, t_hang_work, t_job_done, s);
			return;
		} else if (strcmp(line, "LOGIN") == 0) {
			conn_authenticated(s->conn);
			conn_printf(s->conn, "LOGGED IN\r\n");
		} else if (strcmp(line, "BLOCK") == 0) {
			s->in_block = true;
			s->block_bytes = 0;
			conn_input_unfinished(s->conn, true);
		} else if (strcmp(line, "AWAIT") == 0) {
			t_await_start(s);
			return;
		} else if (strncmp(line, "IDLE ", 5) == 0) {
			conn_set_idle_timeout(s->conn, (unsigned)atoi(line + 5));
			conn_printf(s->conn, "IDLE set\r\n");
		} else if (strcmp(line, "FLOOD") == 0) {
			/* Writes without looking at conn_output_full. */
			static char junk[65536];

			for (int i = 0; i < 256 && !conn_is_closing(s->conn); i++)
				conn_write(s->conn, junk, sizeof(junk));
			return;
		} else if (strcmp(line, "TLSINFO") == 0) {
			conn_printf(s->conn, "TLSINFO %s %s\r\n",
				    conn_tls_version(s->conn) != NULL ? conn_tls_version(s->conn) : "-",
				    conn_tls_cipher(s->conn) != NULL ? "cipher" : "-");
		} else if (strcmp(line, "AUTHMAX") == 0) {
			conn_printf(s->conn, "AUTHMAX %u\r\n", job_limit_max(conn_auth_limit(s->conn)));
		} else if (strcmp(line, "QUIT") == 0) {
			conn_printf(s->conn, "BYE\r\n");
			conn_close(s->conn, "quit");
			return;
		} else {
			harness_echo_upper(s->conn, line, len);
		}
	}
}

static void t_drained(void *session)
{
	t_big_produce(session);
}

static void t_tls_ready(void *session)
{
	(void)session;
}

static void t_timeout(void *session, enum conn_end why)
{
	struct tsession *s = session;

	if (why == CONN_END_IDLE || why == CONN_END_SHUTDOWN)
		conn_printf(s->conn, "TIMEOUT\r\n");
	else
		conn_printf(s->conn, "END %s\r\n", conn_end_reason(why));
}

static void t_close(void *session)
{
	struct tsession *s = session;

	if (s->job_started && !s->job_done)
		atomic_fetch_add(&t_close_during_job, 1);
	atomic_fetch_add(&t_closed, 1);
	free(s);
}

static const struct protocol test_protocol = {
	.name = "test",
	.open = t_open_cb,
	.input = t_input,
	.drained = t_drained,
	.tls_ready = t_tls_ready,
	.timeout = t_timeout,
	.close = t_close,
	.busy_reply = "BUSY try later\r\n",
};

/* The same with a login phase (LOGIN ends it). */
static const struct protocol test_login_protocol = {
	.name = "testlogin",
	.open = t_open_cb,
	.input = t_input,
	.drained = t_drained,
	.tls_ready = t_tls_ready,
	.timeout = t_timeout,
	.close = t_close,
	.busy_reply = "BUSY try later\r\n",
	.has_login = true,
};

/* ---- the server under test (conn-harness.h) ---- */

static void harness_start(struct harness *h, void (*tweak)(struct config *cfg))
{
	conn_harness_start(h, &test_protocol, &test_login_protocol, NULL, tweak);
}

static void harness_stop(struct harness *h)
{
	conn_harness_stop(h);
	assert_int_equal(atomic_load(&t_open), atomic_load(&t_closed));
}

/* ---- tests ---- */

static void test_echo_and_pipelining(void **state)
{
	struct harness h;
	struct client c;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "hello\r\n");
	expect_line(&c, "HELLO");
	client_send(&c, "a\r\nb\nc\r\nTLS?\r\n");
	expect_line(&c, "A");
	expect_line(&c, "B");
	expect_line(&c, "C");
	expect_line(&c, "TLS no");
	/* One byte at a time. */
	for (const char *p = "split\r\n"; *p != '\0'; p++) {
		char one[2] = { *p, '\0' };

		client_send(&c, one);
		usleep(2000);
	}
	expect_line(&c, "SPLIT");
	client_send(&c, "QUIT\r\n");
	expect_line(&c, "BYE");
	assert_null(client_line(&c));
	client_close(&c);
	harness_stop(&h);
}

static void test_line_too_long(void **state)
{
	struct harness h;
	struct client c;
	char *huge = malloc(300001);

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	memset(huge, 'a', 300000);
	huge[300000] = '\0';
	client_send(&c, huge);
	client_send(&c, "\r\nok\r\n");
	expect_line(&c, "ERR too long");
	expect_line(&c, "OK");
	/* Exactly at the cap with the line end inside: 62 + CRLF = 64. */
	memset(huge, 'b', 62);
	memcpy(huge + 62, "\r\n", 3);
	client_send(&c, huge);
	huge[62] = '\0';
	for (int i = 0; i < 62; i++)
		huge[i] = 'B';
	expect_line(&c, huge);
	client_send(&c, "again\r\n");
	expect_line(&c, "AGAIN");
	free(huge);
	client_close(&c);
	harness_stop(&h);
}

static void test_starttls_injection(void **state)
{
	struct harness h;
	struct client c;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "STARTTLS\r\nECHO x\r\n");
	expect_line(&c, "OK starttls");
	assert_int_equal(c.len, 0);
	assert_true(client_tls(&c, 0));
	client_send(&c, "TLS?\r\n");
	/* "ECHO X" here would mean the injected line ran. */
	expect_line(&c, "TLS yes");
	client_send(&c, "STARTTLS\r\n");
	expect_line(&c, "OK starttls");
	expect_line(&c, "ERR no tls");
	client_send(&c, "QUIT\r\n");
	expect_line(&c, "BYE");
	client_close(&c);
	harness_stop(&h);
}

static void test_implicit_tls(void **state)
{
	struct harness h;
	struct client c;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.tls_port);
	assert_true(client_tls(&c, 0));
	expect_line(&c, "HELLO");
	client_send(&c, "TLS?\r\nabc\r\n");
	expect_line(&c, "TLS yes");
	expect_line(&c, "ABC");
	client_close(&c);

	/* TLS 1.1 is refused. */
	client_connect(&c, h.tls_port);
	assert_false(client_tls(&c, TLS1_1_VERSION));
	client_close(&c);

	/* A plain-text client on the TLS port gets nothing and is cut. */
	client_connect(&c, h.tls_port);
	client_send(&c, "hello\r\n");
	assert_null(client_line(&c));
	client_close(&c);
	harness_stop(&h);
}

static void test_slow_reader(void **state)
{
	const size_t total = 50u * 1024 * 1024;
	struct harness h;
	struct client c;
	static char chunk[65536];
	size_t got = 0;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "BIG 52428800\r\nafter\r\n");
	while (got < total + 2) {
		size_t want = sizeof(chunk);
		ssize_t n;

		/* Slow for the first 2 MB, then as fast as we can. */
		if (got < 2 * 1024 * 1024) {
			want = 16384;
			usleep(1000);
		}
		if (want > total + 2 - got)
			want = total + 2 - got;
		n = recv(c.fd, chunk, want, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	expect_line(&c, "AFTER");
	/* The queue never grew much past the high-water mark plus one chunk. */
	assert_true(core_peak_output() <= h.cfg.limits.output_buffer + 2 * sizeof(chunk));
	client_close(&c);
	harness_stop(&h);
}

static void tweak_idle(struct config *cfg)
{
	cfg->pop3.conn.idle_timeout = 1;
}

static void test_idle_timeout(void **state)
{
	struct harness h;
	struct client c;
	double t0;

	(void)state;
	harness_start(&h, tweak_idle);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	t0 = now_s();
	expect_line(&c, "TIMEOUT");
	assert_true(now_s() - t0 > 0.8);
	assert_null(client_line(&c));
	client_close(&c);
	harness_stop(&h);
}

static void tweak_per_ip(struct config *cfg)
{
	cfg->limits.connections_per_ip = 2;
}

static void test_per_ip_limit(void **state)
{
	struct harness h;
	struct client a, b, c;
	bool ok = false;

	(void)state;
	harness_start(&h, tweak_per_ip);
	client_connect(&a, h.port);
	expect_line(&a, "HELLO");
	client_connect(&b, h.port);
	expect_line(&b, "HELLO");
	/* Refused with the protocol's line on a plain listener... */
	client_connect(&c, h.port);
	expect_line(&c, "BUSY try later");
	assert_null(client_line(&c));
	client_close(&c);
	/* ...and silently on an implicit-TLS one. */
	client_connect(&c, h.tls_port);
	assert_int_equal(recv(c.fd, c.buf, sizeof(c.buf), 0), 0);
	client_close(&c);
	client_close(&a);
	for (int i = 0; i < 100 && !ok; i++) {
		usleep(20000);
		client_connect(&c, h.port);
		ok = client_line(&c) != NULL;
		client_close(&c);
	}
	assert_true(ok);
	client_close(&b);
	harness_stop(&h);
}

static void test_job(void **state)
{
	struct harness h;
	struct client c;
	int done_before;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	/* Input waits for the job. */
	client_send(&c, "JOB\r\nafter\r\n");
	expect_line(&c, "JOB done");
	expect_line(&c, "AFTER");
	client_close(&c);

	/* The client goes away while the job runs: done still runs, close
	 * comes after it. */
	done_before = atomic_load(&t_jobs_done);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "JOB\r\n");
	client_close(&c);
	for (int i = 0; i < 200 && atomic_load(&t_open) != atomic_load(&t_closed); i++)
		usleep(10000);
	assert_int_equal(atomic_load(&t_open), atomic_load(&t_closed));
	assert_int_equal(atomic_load(&t_jobs_done), done_before + 1);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
	harness_stop(&h);
}

static void tweak_handshake(struct config *cfg)
{
	cfg->limits.tls_handshake_timeout = 1;
}

static void test_handshake_timeout(void **state)
{
	struct harness h;
	struct client c;
	double t0;

	(void)state;
	harness_start(&h, tweak_handshake);
	/* Implicit TLS: connected, but no ClientHello. */
	client_connect(&c, h.tls_port);
	t0 = now_s();
	assert_int_equal(recv(c.fd, c.buf, sizeof(c.buf), 0), 0);
	assert_true(now_s() - t0 > 0.8);
	assert_true(now_s() - t0 < 10);
	client_close(&c);

	/* STARTTLS, then silence. */
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "STARTTLS\r\n");
	expect_line(&c, "OK starttls");
	t0 = now_s();
	assert_int_equal(recv(c.fd, c.buf, sizeof(c.buf), 0), 0);
	assert_true(now_s() - t0 > 0.8);
	assert_true(now_s() - t0 < 10);
	client_close(&c);

	/* A handshake in time is not cut afterwards by the deadline. */
	client_connect(&c, h.tls_port);
	assert_true(client_tls(&c, 0));
	expect_line(&c, "HELLO");
	usleep(1300 * 1000);
	client_send(&c, "TLS?\r\n");
	expect_line(&c, "TLS yes");
	client_close(&c);
	harness_stop(&h);
}

static void ljob_reset_counters(unsigned max, unsigned queue_max)
{
	t_limit = job_limit_new(max, queue_max);
	atomic_store(&t_ljob_peak, 0);
	atomic_store(&t_ljob_worked, 0);
	atomic_store(&t_ljob_skipped, 0);
	atomic_store(&t_wait_cut, 0);
}

static void test_job_limited(void **state)
{
	struct harness h;
	struct client a, b, c;
	char want[32];

	(void)state;
	ljob_reset_counters(1, 0);
	harness_start(&h, NULL);
	client_connect(&a, h.port);
	expect_line(&a, "HELLO");
	client_connect(&b, h.port);
	expect_line(&b, "HELLO");
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");

	/* The core's own limit for password jobs: half the pool. */
	snprintf(want, sizeof(want), "AUTHMAX %d",
		 atoi(getenv("UV_THREADPOOL_SIZE")) / 2 > 0 ? atoi(getenv("UV_THREADPOOL_SIZE")) / 2 : 1);
	client_send(&a, "AUTHMAX\r\n");
	expect_line(&a, want);

	/* a runs; b waits for the slot; c waits and is closed meanwhile:
	 * its work is skipped, done still runs, close comes after it. */
	client_send(&a, "LJOB\r\nafter\r\n");
	usleep(50 * 1000);
	client_send(&b, "LJOB\r\nafter\r\n");
	client_send(&c, "LJOBCLOSE\r\n");
	expect_line(&a, "LJOB done");
	expect_line(&a, "AFTER");
	expect_line(&b, "LJOB done");
	expect_line(&b, "AFTER");
	assert_null(client_line(&c));
	client_close(&c);
	assert_int_equal(atomic_load(&t_ljob_peak), 1);
	assert_int_equal(atomic_load(&t_ljob_worked), 2);
	assert_int_equal(atomic_load(&t_ljob_skipped), 1);
	assert_int_equal(job_limit_running(t_limit), 0);
	assert_int_equal(job_limit_waiting(t_limit), 0);

	/* Shutdown: the running job finishes, the waiting one is dropped. */
	client_send(&a, "LJOB\r\n");
	usleep(50 * 1000);
	client_send(&b, "LJOB\r\n");
	usleep(50 * 1000);
	core_stop(h.core);
	expect_line(&a, "LJOB done");
	expect_line(&a, "TIMEOUT");
	assert_null(client_line(&a));
	assert_null(client_line(&b));
	client_close(&a);
	client_close(&b);
	harness_stop(&h);
	assert_int_equal(atomic_load(&t_ljob_worked), 3);
	assert_int_equal(atomic_load(&t_ljob_skipped), 2);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
	assert_int_equal(job_limit_running(t_limit), 0);
	assert_int_equal(job_limit_waiting(t_limit), 0);
	job_limit_free(&t_limit);
}

static void test_shutdown_finishes_jobs(void **state)
{
	struct harness h;
	struct client c, idle;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&idle, h.port);
	expect_line(&idle, "HELLO");
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "JOB\r\n");
	usleep(20000);
	core_stop(h.core);
	expect_line(&c, "JOB done");
	expect_line(&c, "TIMEOUT");
	assert_null(client_line(&c));
	expect_line(&idle, "TIMEOUT");
	assert_null(client_line(&idle));
	client_close(&c);
	client_close(&idle);
	harness_stop(&h);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
}

static void test_half_close(void **state)
{
	struct harness h;
	struct client c;
	double t0;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	/* The client sends its last commands, then its FIN (nc -N, scripts):
	 * every complete command is still answered, the job's included; the
	 * incomplete last line is dropped and the server closes at once. */
	client_send(&c, "a\r\nJOB\r\nCLOSING?\r\nb\r\npartial");
	shutdown(c.fd, SHUT_WR);
	t0 = now_s();
	expect_line(&c, "A");
	expect_line(&c, "JOB done");
	expect_line(&c, "CLOSING no");
	expect_line(&c, "B");
	assert_null(client_line(&c));
	assert_true(now_s() - t0 < 5);
	client_close(&c);

	/* Only an incomplete line, then FIN: closed, not kept until idle. */
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "no line end");
	shutdown(c.fd, SHUT_WR);
	t0 = now_s();
	assert_null(client_line(&c));
	assert_true(now_s() - t0 < 5);
	client_close(&c);
	harness_stop(&h);
}

/* Out of descriptors, the spare one tells a client the server is busy,
 * and accepting goes on once descriptors are free again (it used to
 * resume with no callback and crash at the next connection). */
static void test_accept_out_of_descriptors(void **state)
{
	struct harness h;
	struct client c;
	struct rlimit saved, low;
	int fillers[512];
	int n = 0;

	(void)state;
	harness_start(&h, NULL);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < (int)(sizeof(fillers) / sizeof(fillers[0]))) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			break;
		fillers[n++] = fd;
	}
	assert_true(n > 0 && n < (int)(sizeof(fillers) / sizeof(fillers[0])));
	close(fillers[--n]);           /* one left: the client's socket */
	client_connect(&c, h.port);
	expect_line(&c, "BUSY try later");
	assert_null(client_line(&c));
	client_close(&c);
	for (int i = 0; i < 16; i++)
		close(fillers[--n]);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "still\r\n");
	expect_line(&c, "STILL");
	client_close(&c);
	while (n > 0)
		close(fillers[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	harness_stop(&h);
}

static void tweak_login(struct config *cfg)
{
	cfg->limits.login_timeout = 1;
}

/* A protocol with a login phase: a client that does not log in is cut
 * after login_timeout in all, even while it keeps sending; one that
 * logged in is not. A protocol without one is not cut. */
static void test_login_deadline(void **state)
{
	struct harness h;
	struct client slow, in, plain;
	const char *line;
	double t0;

	(void)state;
	harness_start(&h, tweak_login);
	client_connect(&slow, h.login_port);
	expect_line(&slow, "HELLO");
	client_connect(&in, h.login_port);
	expect_line(&in, "HELLO");
	client_send(&in, "LOGIN\r\n");
	expect_line(&in, "LOGGED IN");
	client_connect(&plain, h.port);
	expect_line(&plain, "HELLO");
	t0 = now_s();
	for (int i = 0; i < 4; i++) {
		usleep(200 * 1000);
		client_send(&slow, "x\r\n");
	}
	do {
		line = client_line(&slow);
	} while (line != NULL && strcmp(line, "X") == 0);
	assert_non_null(line);
	assert_string_equal(line, "END login timeout");
	assert_null(client_line(&slow));
	assert_true(now_s() - t0 < 3);
	usleep(500 * 1000);
	client_send(&in, "ping\r\n");
	expect_line(&in, "PING");
	client_send(&plain, "ping\r\n");
	expect_line(&plain, "PING");
	client_close(&slow);
	client_close(&in);
	client_close(&plain);
	harness_stop(&h);
}

static void tweak_rate(struct config *cfg)
{
	cfg->limits.slow_input_timeout = 1;
	cfg->limits.min_input_rate = 10;
}

static void trickle(struct client *c, int bytes, int every_ms)
{
	for (int i = 0; i < bytes; i++) {
		if (send(c->fd, "y", 1, MSG_NOSIGNAL) != 1)
			return;
		usleep((useconds_t)every_ms * 1000);
	}
}

/* An unfinished line or block must keep min_input_rate after the grace:
 * one byte every 400 ms is cut; a block that keeps the rate for longer
 * than the grace is not, though nothing stays buffered. */
static void test_slow_input(void **state)
{
	struct harness h;
	struct client c;
	char chunk[51];
	double t0;

	(void)state;
	harness_start(&h, tweak_rate);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	t0 = now_s();
	trickle(&c, 12, 400);
	expect_line(&c, "END input too slow");
	assert_null(client_line(&c));
	assert_true(now_s() - t0 < 4.5);
	client_close(&c);

	/* A block: the rate applies with nothing buffered, and the bytes
	 * the session takes out of the buffer do not restart its clock: it
	 * is cut while it trickles, not only once it stops. */
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "BLOCK\r\n");
	t0 = now_s();
	trickle(&c, 12, 400);
	expect_line(&c, "END input too slow");
	assert_true(now_s() - t0 < 4.5);
	client_close(&c);

	/* 500 bytes/s for 2.5 s: well above the rate, past the grace. */
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "BLOCK\r\n");
	memset(chunk, 'z', 50);
	chunk[50] = '\0';
	for (int i = 0; i < 25; i++) {
		client_send(&c, chunk);
		usleep(100 * 1000);
	}
	client_send(&c, ".");
	expect_line(&c, "BLOCK 1250");
	/* Whole lines, slowly, are not unfinished input. */
	for (int i = 0; i < 3; i++) {
		usleep(700 * 1000);
		client_send(&c, "line\r\n");
		expect_line(&c, "LINE");
	}
	client_close(&c);
	harness_stop(&h);
}

static void tweak_pressure(struct config *cfg)
{
	cfg->limits.connections = 10;
}

/* Near the connection limit, each new connection closes the oldest one
 * still waiting to log in; a logged-in one and one of a protocol
 * without a login phase are never closed for it. */
static void test_pressure_evicts_preauth(void **state)
{
	struct harness h;
	struct client in, plain, pre[11];

	(void)state;
	harness_start(&h, tweak_pressure);
	client_connect(&in, h.login_port);
	expect_line(&in, "HELLO");
	client_send(&in, "LOGIN\r\n");
	expect_line(&in, "LOGGED IN");
	client_connect(&plain, h.port);
	expect_line(&plain, "HELLO");
	for (int i = 0; i < 7; i++) {
		client_connect(&pre[i], h.login_port);
		expect_line(&pre[i], "HELLO");
	}
	/* 9 of 10: every new connection now makes room. */
	for (int i = 7; i < 11; i++) {
		client_connect(&pre[i], h.login_port);
		expect_line(&pre[i], "HELLO");
		expect_line(&pre[i - 7], "END server busy, closed to make room");
		assert_null(client_line(&pre[i - 7]));
		client_close(&pre[i - 7]);
	}
	client_send(&in, "ping\r\n");
	expect_line(&in, "PING");
	client_send(&plain, "ping\r\n");
	expect_line(&plain, "PING");
	client_send(&pre[4], "ping\r\n");
	expect_line(&pre[4], "PING");
	for (int i = 4; i < 11; i++)
		client_close(&pre[i]);
	client_close(&in);
	client_close(&plain);
	harness_stop(&h);
}

static void tweak_short_shutdown(struct config *cfg)
{
	cfg->server.shutdown_timeout = 1;
}

/* A job that never ends does not keep the server from exiting: after
 * shutdown_timeout plus the grace the process exits (status 0). In a
 * child process, since that exit ends the process. */
static void test_shutdown_bounded(void **state)
{
	pid_t pid;
	int status = -1;
	double t0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct harness h;
		struct client c;

		harness_start(&h, tweak_short_shutdown);
		client_connect(&c, h.port);
		expect_line(&c, "HELLO");
		client_send(&c, "HANG\r\n");
		usleep(100 * 1000);
		core_stop(h.core);
		pthread_join(h.thread, NULL);
		_exit(3);              /* core_run returned: the job was waited for */
	}
	t0 = now_s();
	while (now_s() - t0 < 30) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		usleep(50 * 1000);
	}
	if (!WIFEXITED(status))
		kill(pid, SIGKILL);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(now_s() - t0 > 4 && now_s() - t0 < 20);
}

/* Connect and read the greeting. */
static void client_hello(struct client *c, uint16_t port)
{
	client_connect(c, port);
	expect_line(c, "HELLO");
}

/* c's limited job takes the slot (and holds it 200 ms). */
static void ljob_hold_slot(struct client *c)
{
	client_send(c, "LJOB\r\n");
	usleep(30 * 1000);
}

/* A job waiting for a slot is dropped, without its work, as soon as its
 * client goes: FIN (even a half-close), reset, or end of file already read
 * with the command. One that gets a slot at once still runs for a
 * half-closed client, whose pipelined commands are all answered. */
static void test_job_limited_client_gone(void **state)
{
	struct harness h;
	struct client a, b, c;
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	(void)state;
	ljob_reset_counters(1, 0);
	harness_start(&h, NULL);
	client_hello(&a, h.port);
	client_hello(&b, h.port);

	/* b waits behind a, then half-closes: dropped before a is done
	 * (a's job is held until then), not when its slot frees. */
	atomic_store(&t_ljob_gate, true);
	ljob_hold_slot(&a);
	client_send(&b, "LJOB\r\n");
	usleep(30 * 1000);
	shutdown(b.fd, SHUT_WR);
	assert_null(client_line(&b));
	assert_int_equal(atomic_load(&t_ljob_worked), 0);
	atomic_store(&t_ljob_gate, false);
	client_close(&b);
	expect_line(&a, "LJOB done");
	assert_int_equal(atomic_load(&t_ljob_worked), 1);
	assert_int_equal(atomic_load(&t_ljob_skipped), 1);

	/* The command and the FIN together, the slot taken: dropped at once. */
	atomic_store(&t_ljob_gate, true);
	ljob_hold_slot(&a);
	client_hello(&b, h.port);
	client_send(&b, "LJOB\r\n");
	shutdown(b.fd, SHUT_WR);
	assert_null(client_line(&b));
	assert_int_equal(atomic_load(&t_ljob_worked), 1);
	atomic_store(&t_ljob_gate, false);
	client_close(&b);
	expect_line(&a, "LJOB done");
	assert_int_equal(atomic_load(&t_ljob_worked), 2);
	assert_int_equal(atomic_load(&t_ljob_skipped), 2);

	/* A reset while it waits. */
	ljob_hold_slot(&a);
	client_hello(&b, h.port);
	client_send(&b, "LJOB\r\n");
	usleep(30 * 1000);
	setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	client_close(&b);
	expect_line(&a, "LJOB done");
	for (int i = 0; i < 100 && atomic_load(&t_ljob_skipped) < 3; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&t_ljob_skipped), 3);
	assert_int_equal(atomic_load(&t_ljob_worked), 3);

	/* A free slot: the half-closed client's job runs, and what it
	 * pipelined behind it is answered. */
	client_hello(&c, h.port);
	client_send(&c, "LJOB\r\nafter\r\n");
	shutdown(c.fd, SHUT_WR);
	expect_line(&c, "LJOB done");
	expect_line(&c, "AFTER");
	assert_null(client_line(&c));
	client_close(&c);
	assert_int_equal(atomic_load(&t_ljob_worked), 4);
	assert_int_equal(atomic_load(&t_ljob_peak), 1);
	client_close(&a);
	harness_stop(&h);
	assert_int_equal(job_limit_running(t_limit), 0);
	assert_int_equal(job_limit_waiting(t_limit), 0);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
	job_limit_free(&t_limit);
}

/* Over the queue's bound a job is refused at once, nothing started. */
static void test_job_limited_queue_full(void **state)
{
	struct harness h;
	struct client a, b, c;

	(void)state;
	ljob_reset_counters(1, 1);
	harness_start(&h, NULL);
	client_hello(&a, h.port);
	client_hello(&b, h.port);
	client_hello(&c, h.port);
	ljob_hold_slot(&a);
	client_send(&b, "LJOB\r\n");
	usleep(30 * 1000);
	client_send(&c, "LJOB\r\nafter\r\n");
	expect_line(&c, "LJOB busy");
	expect_line(&c, "AFTER");
	expect_line(&a, "LJOB done");
	expect_line(&b, "LJOB done");
	assert_int_equal(atomic_load(&t_ljob_worked), 2);
	client_close(&a);
	client_close(&b);
	client_close(&c);
	harness_stop(&h);
	job_limit_free(&t_limit);
}

/* conn_job_wait: input waits for it; it ends early when the client goes
 * and when the server stops. */
static void test_job_wait(void **state)
{
	struct harness h;
	struct client c, d;
	double t0;

	(void)state;
	ljob_reset_counters(1, 0);
	harness_start(&h, NULL);
	client_hello(&c, h.port);
	t0 = now_s();
	client_send(&c, "WAIT 300\r\nafter\r\n");
	expect_line(&c, "WAIT done");
	assert_true(now_s() - t0 > 0.25);
	expect_line(&c, "AFTER");

	/* The client half-closes while it waits: cut at once. */
	client_send(&c, "WAIT 5000\r\n");
	usleep(50 * 1000);
	t0 = now_s();
	shutdown(c.fd, SHUT_WR);
	assert_null(client_line(&c));
	assert_true(now_s() - t0 < 1);
	client_close(&c);
	assert_int_equal(atomic_load(&t_wait_cut), 1);

	/* Shutdown does not wait for it, nor for one started by the done of
	 * a job that was running when the server began to stop. */
	client_hello(&c, h.port);
	client_send(&c, "WAIT 5000\r\n");
	usleep(50 * 1000);
	client_hello(&d, h.port);
	client_send(&d, "JOBWAIT\r\n");
	usleep(20 * 1000);
	t0 = now_s();
	core_stop(h.core);
	assert_null(client_line(&c));
	expect_line(&d, "TIMEOUT");
	assert_null(client_line(&d));
	assert_true(now_s() - t0 < 1);
	client_close(&c);
	client_close(&d);
	harness_stop(&h);
	assert_int_equal(atomic_load(&t_wait_cut), 3);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
	job_limit_free(&t_limit);
}

/* conn_await: input waits for work done on another thread, whose report
 * runs done on the loop; a client that goes meanwhile is closed only
 * after it. */
static void test_await(void **state)
{
	struct harness h;
	struct client c;
	int before;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "AWAIT\r\nafter\r\n");
	expect_line(&c, "AWAIT done");
	expect_line(&c, "AFTER");
	before = atomic_load(&t_jobs_done);
	client_send(&c, "AWAIT\r\n");
	usleep(20 * 1000);
	client_close(&c);
	harness_stop(&h);
	assert_int_equal(atomic_load(&t_jobs_done), before + 1);
	assert_int_equal(atomic_load(&t_close_during_job), 0);
}

/* A session changes its own idle timeout; the TLS version and cipher are
 * there once TLS is on. */
static void test_idle_per_connection_and_tls_info(void **state)
{
	struct harness h;
	struct client c, other;
	double t0;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_connect(&other, h.port);
	expect_line(&other, "HELLO");
	client_send(&c, "TLSINFO\r\nIDLE 1\r\n");
	expect_line(&c, "TLSINFO - -");
	expect_line(&c, "IDLE set");
	t0 = now_s();
	expect_line(&c, "TIMEOUT");
	assert_true(now_s() - t0 > 0.8 && now_s() - t0 < 5);
	client_close(&c);
	client_send(&other, "still\r\n");
	expect_line(&other, "STILL");
	client_close(&other);
	client_connect(&c, h.tls_port);
	assert_true(client_tls(&c, 0));
	expect_line(&c, "HELLO");
	client_send(&c, "TLSINFO\r\n");
	expect_line(&c, "TLSINFO TLSv1.3 cipher");
	client_close(&c);
	harness_stop(&h);
}

/* A session raises its idle timeout above the service's for a long
 * state (IMAP IDLE: 31 minutes against [imap] idle_timeout 1800): it is
 * not cut at the service's timeout, however long it stays silent, and
 * is cut at its own once it lowers it again. */
static void test_idle_raised_for_long_state(void **state)
{
	struct harness h;
	struct client c;
	double t0;

	(void)state;
	harness_start(&h, tweak_idle);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "IDLE 1860\r\n");
	expect_line(&c, "IDLE set");
	usleep(2500 * 1000);           /* 2.5 times the service's timeout */
	client_send(&c, "ping\r\n");
	expect_line(&c, "PING");
	usleep(1500 * 1000);
	client_send(&c, "IDLE 2\r\n");
	expect_line(&c, "IDLE set");
	t0 = now_s();
	expect_line(&c, "TIMEOUT");
	assert_true(now_s() - t0 > 1.8 && now_s() - t0 < 5);
	assert_null(client_line(&c));
	client_close(&c);
	harness_stop(&h);
}

/* Output past the hard cap (4 x output_buffer + 1 MiB) closes the
 * connection instead of growing without bound; the server goes on. */
static void test_output_hard_cap(void **state)
{
	struct harness h;
	struct client c;
	char sink[65536];
	size_t got = 0;
	ssize_t n;

	(void)state;
	harness_start(&h, NULL);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "FLOOD\r\n");
	while ((n = recv(c.fd, sink, sizeof(sink), 0)) > 0)
		got += (size_t)n;
	assert_true(got <= 4 * h.cfg.limits.output_buffer + 1024 * 1024);
	assert_true(core_peak_output() <= 4 * h.cfg.limits.output_buffer + 1024 * 1024);
	client_close(&c);
	client_connect(&c, h.port);
	expect_line(&c, "HELLO");
	client_close(&c);
	harness_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_pipelining),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_per_ip_limit),
		cmocka_unit_test(test_job),
		cmocka_unit_test(test_shutdown_finishes_jobs),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_job_limited),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_accept_out_of_descriptors),
		cmocka_unit_test(test_login_deadline),
		cmocka_unit_test(test_slow_input),
		cmocka_unit_test(test_pressure_evicts_preauth),
		cmocka_unit_test(test_shutdown_bounded),
		cmocka_unit_test(test_await),
		cmocka_unit_test(test_idle_per_connection_and_tls_info),
		cmocka_unit_test(test_idle_raised_for_long_state),
		cmocka_unit_test(test_output_hard_cap),
		cmocka_unit_test(test_job_limited_client_gone),
		cmocka_unit_test(test_job_limited_queue_full),
		cmocka_unit_test(test_job_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
