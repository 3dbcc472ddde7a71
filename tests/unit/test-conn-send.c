/* test-conn-send - conn_send_file on the real core: ranges of files sent
 * raw and through a filter, over plain TCP and TLS (with and without
 * [tls] ktls), from the page cache and from a cold cache (the job path),
 * to slow readers and to clients that go away; and conn_job_running. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn-harness.h"
#include "page-cache.h"
#include "core/conn-internal.h"
#include "core/conn.h"

/* ---- the test protocol ----
 *
 * SEND NAME OFF LEN MODE   send [OFF, OFF+LEN) of the file NAME in the
 *                          data folder; MODE raw, xor (each byte ^ 0x5a)
 *                          or stopN (raw through a filter that ends the
 *                          send after N bytes). Then "END result
 *                          running=R after=A ktls=K": R whether
 *                          conn_job_running/conn_send_running held during
 *                          the send, A whether either still held in done.
 * JOB                      a job of 100 ms: "JOB during=D after=A".
 * PRODUCE N SIZE MODE B    a resumable producer shaped like IMAP FETCH:
 *                          N items "ITEM i {SIZE}\r\n", SIZE bytes, " TAIL
 *                          i\r\n", the bytes those of the file "items" from
 *                          i * SIZE; MODE mem (written from memory) or file
 *                          (conn_send_file, the tail written in its done).
 *                          A job runs before every B items (FETCH's
 *                          batches), the producer goes on in its done; it
 *                          stops at conn_output_full and goes on in
 *                          drained. Then "PRODUCED".
 * anything else            echoed in capitals. */

struct ssession {
	struct conn *conn;
	int fd;
	int mode;                     /* 0 raw, 1 xor, 2 stop */
	uint64_t stop_after, seen;
	bool running_seen;
	bool job_during;
	/* PRODUCE */
	bool producing, waiting;      /* waiting: for drained */
	bool from_file;
	int item_fd;
	unsigned p_n, p_next, p_batch, p_in_batch, p_stage;
	uint64_t p_size;
	char *p_mem;
};

static atomic_int s_open, s_closed, s_results[CONN_SEND__COUNT];
static char s_dir[64];

static void *s_open_cb(struct conn *conn)
{
	struct ssession *s = calloc(1, sizeof(*s));

	s->conn = conn;
	s->fd = -1;
	s->item_fd = -1;
	atomic_fetch_add(&s_open, 1);
	conn_printf(conn, "HELLO\r\n");
	return s;
}

static bool s_filter(void *arg, const char *data, size_t len)
{
	struct ssession *s = arg;

	s->running_seen = conn_job_running(s->conn) && conn_send_running(s->conn);
	if (s->mode == 1) {
		char out[65536];

		assert_true(len <= sizeof(out));
		for (size_t i = 0; i < len; i++)
			out[i] = (char)(data[i] ^ 0x5a);
		conn_write(s->conn, out, len);
		return false;
	}
	if (s->seen + len >= s->stop_after) {
		conn_write(s->conn, data, (size_t)(s->stop_after - s->seen));
		s->seen = s->stop_after;
		return true;
	}
	conn_write(s->conn, data, len);
	s->seen += len;
	return false;
}

static void s_sent(void *arg, enum conn_send_result result)
{
	struct ssession *s = arg;
	bool after = conn_job_running(s->conn) || conn_send_running(s->conn);

	atomic_fetch_add(&s_results[result], 1);
	close(s->fd);
	s->fd = -1;
	if (result == CONN_SEND_CLOSED)
		return;
	conn_printf(s->conn, "END %s running=%d after=%d ktls=%d\r\n", conn_send_result_name(result),
		    s->mode == 0 ? 1 : s->running_seen, after, s->conn->ktls_send);
}

static void s_job_work(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
}

static void s_job_done(void *arg)
{
	struct ssession *s = arg;

	conn_printf(s->conn, "JOB during=%d after=%d\r\n", s->job_during, conn_job_running(s->conn));
}

static void s_send_cmd(struct ssession *s, const char *line)
{
	char name[32], mode[16], path[128];
	unsigned long long off, len;

	if (sscanf(line, "SEND %31s %llu %llu %15s", name, &off, &len, mode) != 4) {
		conn_printf(s->conn, "ERR syntax\r\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", s_dir, name);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(s->fd >= 0);
	s->mode = strcmp(mode, "raw") == 0 ? 0 : strcmp(mode, "xor") == 0 ? 1 : 2;
	s->stop_after = s->mode == 2 ? strtoull(mode + 4, NULL, 10) : 0;
	s->seen = 0;
	s->running_seen = false;
	conn_send_file(s->conn, s->fd, off, len, s->mode == 0 ? NULL : s_filter, s_sent, s);
	assert_true(conn_send_running(s->conn));
	assert_true(conn_job_running(s->conn));
}

/* ---- PRODUCE: the FETCH-shaped producer ---- */

static uint8_t s_byte(uint64_t i);
static void s_produce(struct ssession *s);

static void s_batch_work(void *arg)
{
	(void)arg;
	usleep(2000);   /* a batch's look-ups */
}

static void s_batch_done(void *arg)
{
	s_produce(arg);
}

static void s_item_sent(void *arg, enum conn_send_result result)
{
	struct ssession *s = arg;

	if (result == CONN_SEND_CLOSED)
		return;
	assert_int_equal(result, CONN_SEND_OK);
	s_produce(s);
}

static void s_produce(struct ssession *s)
{
	struct conn *conn = s->conn;

	while (s->p_next < s->p_n && !conn_is_closing(conn)) {
		uint64_t off = (uint64_t)s->p_next * s->p_size;

		if (s->p_stage == 0 && s->p_in_batch == 0) {
			s->p_in_batch = s->p_batch;
			conn_job(conn, s_batch_work, s_batch_done, s);
			return;
		}
		if (conn_output_full(conn)) {
			s->waiting = true;
			return;
		}
		if (s->p_stage == 0) {
			conn_printf(conn, "ITEM %u {%llu}\r\n", s->p_next, (unsigned long long)s->p_size);
			s->p_stage = 1;
		} else if (s->p_stage == 1) {
			s->p_stage = 2;
			if (s->from_file) {
				conn_send_file(conn, s->item_fd, off, s->p_size, NULL, s_item_sent, s);
				return;
			}
			for (uint64_t k = 0; k < s->p_size; k++)
				s->p_mem[k] = (char)s_byte(off + k);
			conn_write(conn, s->p_mem, (size_t)s->p_size);
		} else {
			conn_printf(conn, " TAIL %u\r\n", s->p_next);
			s->p_stage = 0;
			s->p_next++;
			s->p_in_batch--;
		}
	}
	if (s->p_next == s->p_n && !conn_is_closing(conn)) {
		conn_printf(conn, "PRODUCED\r\n");
		s->producing = false;
		free(s->p_mem);
		s->p_mem = NULL;
		if (s->item_fd >= 0)
			close(s->item_fd);
		s->item_fd = -1;
		conn_resume_input(conn);
	}
}

static void s_drained(void *session)
{
	struct ssession *s = session;

	if (!s->waiting)
		return;
	s->waiting = false;
	s_produce(s);
}

static void s_produce_cmd(struct ssession *s, const char *line)
{
	char mode[16], path[128];
	unsigned n, batch;
	unsigned long long size;

	if (sscanf(line, "PRODUCE %u %llu %15s %u", &n, &size, mode, &batch) != 4 || batch == 0) {
		conn_printf(s->conn, "ERR syntax\r\n");
		return;
	}
	s->from_file = strcmp(mode, "file") == 0;
	if (s->from_file) {
		snprintf(path, sizeof(path), "%s/items", s_dir);
		s->item_fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(s->item_fd >= 0);
	} else {
		s->p_mem = malloc((size_t)size);
		assert_non_null(s->p_mem);
	}
	s->p_n = n;
	s->p_size = size;
	s->p_batch = batch;
	s->p_next = s->p_in_batch = s->p_stage = 0;
	s->producing = true;
	conn_pause_input(s->conn);
	s_produce(s);
}

static void s_input(void *session)
{
	struct ssession *s = session;
	const char *line;
	size_t len;

	while (!conn_job_running(s->conn) && !s->producing &&
	       conn_line(s->conn, &line, &len) == CONN_LINE_OK) {
		if (strncmp(line, "PRODUCE ", 8) == 0) {
			s_produce_cmd(s, line);
		} else if (strncmp(line, "SEND ", 5) == 0) {
			s_send_cmd(s, line);
		} else if (strcmp(line, "JOB") == 0) {
			conn_job(s->conn, s_job_work, s_job_done, s);
			s->job_during = conn_job_running(s->conn);
		} else {
			harness_echo_upper(s->conn, line, len);
		}
	}
}

static void s_close(void *session)
{
	struct ssession *s = session;

	/* done always ran first, and closed the file */
	assert_int_equal(s->fd, -1);
	atomic_fetch_add(&s_closed, 1);
	if (s->item_fd >= 0)
		close(s->item_fd);
	free(s->p_mem);
	free(s);
}

static void s_tls_ready(void *session)
{
	(void)session;
}

static const struct protocol send_protocol = {
	.name = "sendtest",
	.open = s_open_cb,
	.input = s_input,
	.drained = s_drained,
	.tls_ready = s_tls_ready,
	.close = s_close,
};

/* ---- files ---- */

static uint8_t s_byte(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 9) + (i >> 17));
}

/* A file of `size` bytes of s_byte(), on disk (fsync'd); `cold`: its
 * pages are dropped from the cache, so reading it takes the job path. */
static void s_make_file(const char *name, uint64_t size, bool cold)
{
	char path[128];
	static uint8_t block[1 << 16];
	uint64_t done = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	while (done < size) {
		size_t n = size - done < sizeof(block) ? (size_t)(size - done) : sizeof(block);

		for (size_t i = 0; i < n; i++)
			block[i] = s_byte(done + i);
		assert_int_equal(write(fd, block, n), (ssize_t)n);
		done += n;
	}
	close(fd);
	if (cold)
		assert_true(page_cache_drop(path));
}

static void s_drop_cache(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", s_dir, name);
	assert_true(page_cache_drop(path));
}

/* ---- the client side ---- */

/* Read exactly n bytes (after what client_line buffered) and check them
 * against the file's bytes from `off`, transformed by `xor`; `delay_us`
 * between reads of `step` bytes while fewer than slow_bytes are read. */
static void s_expect_bytes(struct client *c, uint64_t off, uint64_t n, uint8_t xor,
			   uint64_t slow_bytes, useconds_t delay_us)
{
	static char chunk[1 << 16];
	uint64_t got = 0;

	while (got < n) {
		size_t want = sizeof(chunk);
		ssize_t r;

		if (got < slow_bytes) {
			want = 16384;
			usleep(delay_us);
		}
		if (want > n - got)
			want = (size_t)(n - got);
		if (c->len > 0) {
			r = (ssize_t)(c->len < want ? c->len : want);
			memcpy(chunk, c->buf, (size_t)r);
			memmove(c->buf, c->buf + r, c->len - (size_t)r);
			c->len -= (size_t)r;
		} else {
			r = client_recv(c, chunk, want);
		}
		if (r <= 0)
			fail_msg("EOF after %llu of %llu bytes", (unsigned long long)got,
				 (unsigned long long)n);
		for (ssize_t i = 0; i < r; i++)
			if ((uint8_t)chunk[i] != (uint8_t)(s_byte(off + got + (uint64_t)i) ^ xor))
				fail_msg("byte %llu differs", (unsigned long long)(got + (uint64_t)i));
		got += (uint64_t)r;
	}
}

/* "END ..." with the given result; its ktls= as a bool. */
static bool s_expect_end(struct client *c, const char *result)
{
	const char *line = client_line(c);
	char want[64];
	int ktls = -1;

	assert_non_null(line);
	snprintf(want, sizeof(want), "END %s running=1 after=0 ktls=", result);
	if (strncmp(line, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", line, want);
	ktls = atoi(line + strlen(want));
	return ktls == 1;
}

static void s_counters(uint64_t *jobs_r, uint64_t *sendfiled_r)
{
	conn_send_counters(jobs_r, sendfiled_r);
}

static struct harness s_h;

static void s_start(void (*tweak)(struct config *cfg))
{
	conn_harness_start(&s_h, &send_protocol, NULL, NULL, tweak);
	snprintf(s_dir, sizeof(s_dir), "%s", s_h.dir);
}

static void s_stop(void)
{
	conn_harness_stop(&s_h);
	assert_int_equal(atomic_load(&s_open), atomic_load(&s_closed));
}

/* ---- tests ---- */

/* Exact ranges, raw and filtered, cached (inline) and cold (job). */
static void test_ranges(void **state)
{
	struct client c;
	uint64_t jobs0, jobs1, sf0, sf1;
	const uint64_t size = 3u * 1024 * 1024 + 4321;

	(void)state;
	s_start(NULL);
	s_make_file("warm", size, false);
	s_make_file("cold", size, true);
	client_connect(&c, s_h.port);
	expect_line(&c, "HELLO");

	/* Small raw ranges: through the queue, to the byte. */
	client_send(&c, "SEND warm 0 1 raw\r\n");
	s_expect_bytes(&c, 0, 1, 0, 0, 0);
	s_expect_end(&c, "ok");
	client_send(&c, "SEND warm 12345 1000 raw\r\n");
	s_expect_bytes(&c, 12345, 1000, 0, 0, 0);
	s_expect_end(&c, "ok");
	client_send(&c, "SEND warm 0 0 raw\r\nafter\r\n");
	s_expect_end(&c, "ok");
	expect_line(&c, "AFTER");

	/* A large raw range, cached: by sendfile, not a byte through a job. */
	s_counters(&jobs0, &sf0);
	client_send(&c, "SEND warm 4097 2000000 raw\r\n");
	s_expect_bytes(&c, 4097, 2000000, 0, 0, 0);
	s_expect_end(&c, "ok");
	s_counters(&jobs1, &sf1);
	assert_int_equal(jobs1, jobs0);
	assert_int_equal(sf1 - sf0, 2000000);

	/* The same from a cold cache: the first piece comes from a job, the
	 * rest (read ahead) mostly by sendfile; the bytes are the same. */
	s_counters(&jobs0, &sf0);
	client_send(&c, "SEND cold 777 3000000 raw\r\n");
	s_expect_bytes(&c, 777, 3000000, 0, 0, 0);
	s_expect_end(&c, "ok");
	s_counters(&jobs1, &sf1);
	assert_true(jobs1 > jobs0);

	/* Filtered, cold and then cached: every byte once, in order. */
	s_drop_cache("cold");
	s_counters(&jobs0, &sf0);
	client_send(&c, "SEND cold 5 1500000 xor\r\n");
	s_expect_bytes(&c, 5, 1500000, 0x5a, 0, 0);
	s_expect_end(&c, "ok");
	s_counters(&jobs1, &sf1);
	assert_true(jobs1 > jobs0);
	assert_int_equal(sf1, sf0);
	client_send(&c, "SEND cold 5 1500000 xor\r\n");
	s_expect_bytes(&c, 5, 1500000, 0x5a, 0, 0);
	s_expect_end(&c, "ok");

	/* A filter that ends the send early (TOP). */
	client_send(&c, "SEND warm 100 500000 stop70001\r\n");
	s_expect_bytes(&c, 100, 70001, 0, 0, 0);
	s_expect_end(&c, "ok");

	/* Past the end of the file: what there is, then "short". */
	client_send(&c, "SEND warm 3145000 500000 raw\r\n");
	s_expect_bytes(&c, 3145000, size - 3145000, 0, 0, 0);
	s_expect_end(&c, "short");
	client_send(&c, "SEND cold 3145000 500000 xor\r\n");
	s_expect_bytes(&c, 3145000, size - 3145000, 0x5a, 0, 0);
	s_expect_end(&c, "short");
	client_send(&c, "SEND warm 9999999 10 raw\r\n");
	s_expect_end(&c, "short");

	/* Pipelined input waits for the send; the half-closed client still
	 * gets every byte. */
	client_send(&c, "SEND warm 0 300000 raw\r\nping\r\n");
	shutdown(c.fd, SHUT_WR);
	s_expect_bytes(&c, 0, 300000, 0, 0, 0);
	s_expect_end(&c, "ok");
	expect_line(&c, "PING");
	assert_null(client_line(&c));
	client_close(&c);
	s_stop();
}

/* conn_job_running: true from conn_job until done, false inside done. */
static void test_job_running(void **state)
{
	struct client c;

	(void)state;
	s_start(NULL);
	client_connect(&c, s_h.port);
	expect_line(&c, "HELLO");
	client_send(&c, "JOB\r\nafter\r\n");
	expect_line(&c, "JOB during=1 after=0");
	expect_line(&c, "AFTER");
	client_close(&c);
	s_stop();
}

/* 50 MB to a reader that is slow at first: the bytes are exact and the
 * output queue never grows past the high-water mark plus one piece
 * (sendfile keeps the body out of it altogether). */
static void test_slow_reader_large(void **state)
{
	const uint64_t size = 50u * 1024 * 1024;
	struct client c;
	uint64_t jobs0, sf0, jobs1, sf1;

	(void)state;
	s_start(NULL);
	s_make_file("big", size, false);
	client_connect(&c, s_h.port);
	expect_line(&c, "HELLO");
	s_counters(&jobs0, &sf0);
	client_send(&c, "SEND big 0 52428800 raw\r\n");
	s_expect_bytes(&c, 0, size, 0, 2 * 1024 * 1024, 1000);
	s_expect_end(&c, "ok");
	s_counters(&jobs1, &sf1);
	assert_true(sf1 - sf0 > size / 2);
	assert_true(core_peak_output() <= s_h.cfg.limits.output_buffer + 65536 + 256);

	/* Filtered, slow: bounded by the queue. */
	client_send(&c, "SEND big 1 20000000 xor\r\n");
	s_expect_bytes(&c, 1, 20000000, 0x5a, 2 * 1024 * 1024, 1000);
	s_expect_end(&c, "ok");
	assert_true(core_peak_output() <= s_h.cfg.limits.output_buffer + 65536 + 256);
	client_close(&c);
	s_stop();
}

/* A client that goes away in the middle of a send: done runs with
 * "closed" before close, on the sendfile, queue and job paths. */
static void test_client_goes(void **state)
{
	static const char *const cmds[] = {
		"SEND big 0 20000000 raw\r\n",   /* sendfile */
		"SEND big 0 20000000 xor\r\n",   /* the queue */
		"SEND cold 0 20000000 xor\r\n",  /* jobs */
	};
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	(void)state;
	s_start(NULL);
	s_make_file("big", 20000000, false);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int closed_before = atomic_load(&s_results[CONN_SEND_CLOSED]);
		struct client c;
		char sink[4096];

		if (i == 2)
			s_make_file("cold", 20000000, true);
		client_connect(&c, s_h.port);
		expect_line(&c, "HELLO");
		client_send(&c, cmds[i]);
		assert_true(recv(c.fd, sink, sizeof(sink), MSG_WAITALL) > 0);
		setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		client_close(&c);
		for (int k = 0; k < 500 && atomic_load(&s_results[CONN_SEND_CLOSED]) == closed_before; k++)
			usleep(10000);
		assert_int_equal(atomic_load(&s_results[CONN_SEND_CLOSED]), closed_before + 1);
	}
	for (int k = 0; k < 200 && atomic_load(&s_open) != atomic_load(&s_closed); k++)
		usleep(10000);
	s_stop();
}

/* TLS: the bytes are exact whichever way they go; with kernel TLS (when
 * this kernel offers it) a large raw range goes by SSL_sendfile, without
 * it (or with [tls] ktls = no) by SSL_write. */
static void s_tls_run(bool ktls_allowed)
{
	struct client c;
	uint64_t jobs0, sf0, jobs1, sf1;
	bool ktls;

	s_make_file("warm", 4000000, false);
	s_make_file("cold", 4000000, true);
	client_connect(&c, s_h.tls_port);
	assert_true(client_tls(&c, 0));
	expect_line(&c, "HELLO");
	s_counters(&jobs0, &sf0);
	client_send(&c, "SEND warm 3 3000000 raw\r\n");
	s_expect_bytes(&c, 3, 3000000, 0, 1024 * 1024, 500);
	ktls = s_expect_end(&c, "ok");
	s_counters(&jobs1, &sf1);
	print_message("TLS (ktls %s): kernel TLS %s\n", ktls_allowed ? "allowed" : "off",
		      ktls ? "on, SSL_sendfile" : "not on, SSL_write");
	if (!ktls_allowed)
		assert_false(ktls);
	if (ktls)
		assert_int_equal(sf1 - sf0, 3000000);
	else
		assert_int_equal(sf1, sf0);
	client_send(&c, "SEND cold 1000 2500000 raw\r\n");
	s_expect_bytes(&c, 1000, 2500000, 0, 0, 0);
	s_expect_end(&c, "ok");
	client_send(&c, "SEND cold 1000 100000 xor\r\n");
	s_expect_bytes(&c, 1000, 100000, 0x5a, 0, 0);
	s_expect_end(&c, "ok");
	client_close(&c);
}

static void tweak_ktls(struct config *cfg)
{
	cfg->tls.ktls = true;
}

static void tweak_no_ktls(struct config *cfg)
{
	cfg->tls.ktls = false;
}

static void test_tls(void **state)
{
	(void)state;
	s_start(tweak_ktls);
	s_tls_run(true);
	s_stop();
	s_start(tweak_no_ktls);
	s_tls_run(false);
	s_stop();
}

/* ---- the FETCH-shaped producer ---- */

/* One PRODUCE to a client whose receive buffer is 8 KiB and which pauses
 * 50 ms before every 50th item (as the slow reader of IMAP FETCH in the
 * e2e tests): every item arrives whole and in order. */
static void s_produce_run(bool tls, unsigned n, uint64_t size, const char *mode, unsigned batch,
			  bool cold)
{
	struct client c;
	char cmd[96], want[64];

	s_make_file("items", (uint64_t)n * size, cold);
	client_connect_with(&c, tls ? s_h.tls_port : s_h.port, NULL, 8192);
	if (tls)
		assert_true(client_tls(&c, 0));
	expect_line(&c, "HELLO");
	snprintf(cmd, sizeof(cmd), "PRODUCE %u %llu %s %u\r\n", n, (unsigned long long)size, mode,
		 batch);
	client_send(&c, cmd);
	for (unsigned i = 0; i < n; i++) {
		if (i % 50 == 0)
			usleep(50 * 1000);
		snprintf(want, sizeof(want), "ITEM %u {%llu}", i, (unsigned long long)size);
		expect_line(&c, want);
		s_expect_bytes(&c, (uint64_t)i * size, size, 0, 0, 0);
		snprintf(want, sizeof(want), " TAIL %u", i);
		expect_line(&c, want);
	}
	expect_line(&c, "PRODUCED");
	client_send(&c, "after\r\n");
	expect_line(&c, "AFTER");
	client_close(&c);
}

/* Every way the producer is resumed: from a job's done with the output
 * over the high-water mark (FETCH's first batch), from drained, from a
 * send's done that comes while the output is full, after a send's read
 * job (cold), by sendfile; over plain TCP and TLS. */
static void s_produce_all(void)
{
	for (int tls = 0; tls <= 1; tls++) {
		s_produce_run(tls, 400, 4400, "mem", 64, false);
		s_produce_run(tls, 400, 4400, "mem", 1, false);
		s_produce_run(tls, 300, 4400, "file", 64, false);
		s_produce_run(tls, 300, 4400, "file", 64, true);
		s_produce_run(tls, 40, 100000, "file", 8, false);
		s_produce_run(tls, 40, 100000, "file", 8, true);
	}
}

static void tweak_output_256k(struct config *cfg)
{
	cfg->limits.output_buffer = 262144;
}

static void test_producer_resumes(void **state)
{
	(void)state;
	s_start(NULL);   /* output_buffer 64 KiB */
	s_produce_all();
	s_stop();
	s_start(tweak_output_256k);
	s_produce_all();
	s_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_job_running),
		cmocka_unit_test(test_slow_reader_large),
		cmocka_unit_test(test_client_goes),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_producer_resumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
