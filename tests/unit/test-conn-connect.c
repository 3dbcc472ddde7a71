/* test-conn-connect - outbound connections on the real core: a client
 * protocol connecting from the server's own loops to its listeners over
 * loopback (greeting, lines, STARTTLS as the client with the certificate
 * verified, unverified but tolerated, and required but failing), and the
 * ends before open: refused, connect timeout, greeting timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn-harness.h"
#include "core/conn-connect.h"

/* ---- the server side: a greeting, STARTTLS, lines echoed in capitals ---- */

static void *srv_open(struct conn *conn)
{
	conn_printf(conn, "220 hello\r\n");
	return conn;
}

static void srv_input(void *session)
{
	struct conn *conn = session;
	const char *line;
	size_t len;

	while (conn_line(conn, &line, &len) == CONN_LINE_OK) {
		if (strcmp(line, "STARTTLS") == 0) {
			conn_printf(conn, "220 go ahead\r\n");
			conn_starttls(conn);
			return;
		}
		if (strcmp(line, "QUIT") == 0) {
			conn_printf(conn, "221 bye\r\n");
			conn_close(conn, "quit");
			return;
		}
		harness_echo_upper(conn, line, len);
	}
}

static void srv_tls_ready(void *session)
{
	(void)session;
}

static void srv_close(void *session)
{
	(void)session;
}

static const struct protocol srv_protocol = {
	.name = "srv", .open = srv_open, .input = srv_input, .tls_ready = srv_tls_ready,
	.close = srv_close,
};

/* ---- the client side ---- */

/* What one outbound connection saw; the test waits for `done`. */
struct outcome {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	bool starttls;                /* ask for STARTTLS after the greeting */
	bool opened, failed, timed_out, tls_failed;
	enum conn_connect_error error;
	enum conn_tls_peer peer;
	char version[32], cipher[64], peer_error[128];
	char lines[512];              /* the server's lines, joined by '|' */
};

static void outcome_init(struct outcome *o, bool starttls)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	o->starttls = starttls;
}

static void outcome_finish(struct outcome *o)
{
	pthread_mutex_lock(&o->lock);
	o->done = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static void outcome_wait(struct outcome *o)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 15;
	pthread_mutex_lock(&o->lock);
	while (!o->done)
		if (pthread_cond_timedwait(&o->cond, &o->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&o->lock);
	assert_true(o->done);
}

struct csession {
	struct conn *conn;
	struct outcome *o;
	bool in_tls;
};

static void *cli_open(struct conn *conn)
{
	struct csession *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->conn = conn;
	s->o = conn_connect_arg(conn);
	s->o->opened = true;
	assert_true(conn_is_outbound(conn));
	return s;
}

static void cli_note(struct csession *s, const char *line)
{
	size_t n = strlen(s->o->lines);

	snprintf(s->o->lines + n, sizeof(s->o->lines) - n, "%s%s", n > 0 ? "|" : "", line);
}

static void cli_input(void *session)
{
	struct csession *s = session;
	const char *line;
	size_t len;

	while (conn_line(s->conn, &line, &len) == CONN_LINE_OK) {
		cli_note(s, line);
		if (strcmp(line, "220 hello") == 0) {
			conn_printf(s->conn, s->o->starttls ? "STARTTLS\r\n" : "ping\r\n");
		} else if (strcmp(line, "220 go ahead") == 0) {
			assert_int_equal(conn_starttls(s->conn), 0);
			return;
		} else if (strcmp(line, "PING") == 0) {
			conn_printf(s->conn, "QUIT\r\n");
		} else if (strcmp(line, "221 bye") == 0) {
			conn_close(s->conn, "done");
			return;
		}
	}
}

static void cli_tls_ready(void *session)
{
	struct csession *s = session;
	const char *error = conn_tls_peer_error(s->conn);

	snprintf(s->o->version, sizeof(s->o->version), "%s", conn_tls_version(s->conn));
	snprintf(s->o->cipher, sizeof(s->o->cipher), "%s", conn_tls_cipher(s->conn));
	s->o->peer = conn_tls_peer(s->conn);
	snprintf(s->o->peer_error, sizeof(s->o->peer_error), "%s", error != NULL ? error : "");
	conn_printf(s->conn, "ping\r\n");
}

static void cli_timeout(void *session, enum conn_end why)
{
	struct csession *s = session;

	if (why == CONN_END_IDLE)
		s->o->timed_out = true;
}

static void cli_close(void *session)
{
	struct csession *s = session;
	const char *error = conn_tls_peer_error(s->conn);

	s->o->tls_failed = conn_tls_failed(s->conn);
	if (s->o->tls_failed)
		snprintf(s->o->peer_error, sizeof(s->o->peer_error), "%s", error != NULL ? error : "");
	outcome_finish(s->o);
	free(s);
}

static const struct protocol cli_protocol = {
	.name = "client", .open = cli_open, .input = cli_input, .tls_ready = cli_tls_ready,
	.timeout = cli_timeout, .close = cli_close,
};

static const struct core_service cli_service = {
	.name = "test-out", .protocol = &cli_protocol,
	.limits = { .idle_timeout = 10, .line_length = 512 },
};

static void cli_failed(void *arg, enum conn_connect_error why)
{
	struct outcome *o = arg;

	o->failed = true;
	o->error = why;
	outcome_finish(o);
}

static void connect_to(struct harness *h, uint16_t port, struct outcome *o, const char *name,
		       enum conn_tls_verify verify, unsigned connect_timeout, unsigned greeting)
{
	struct conn_connect req = {
		.service = &cli_service, .verify = verify, .arg = o, .failed = cli_failed,
		.connect_timeout = connect_timeout, .greeting_timeout = greeting,
	};
	struct sockaddr_in *sin = (struct sockaddr_in *)&req.remote;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req.server_name, sizeof(req.server_name), "%s", name);
	conn_connect(core_loop(h->core, 1), &req);
	outcome_wait(o);
}

/* [tls] ca_file = the server's own generated certificate, so that it
 * verifies (harness_start runs the tweak before the pair exists: the
 * path is fixed, the file is read at the first outbound handshake). */
static char trust_path[128];
static void trust_own(struct config *cfg)
{
	snprintf(trust_path, sizeof(trust_path), "%s/tls/cert.pem", cfg->server.data_dir);
	cfg->tls.ca_file = trust_path;
}

static void test_plain(void **state)
{
	struct harness h;
	struct outcome o;

	(void)state;
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	outcome_init(&o, false);
	connect_to(&h, h.port, &o, "", CONN_TLS_VERIFY_LOG, 5, 5);
	assert_true(o.opened);
	assert_false(o.failed);
	assert_string_equal(o.lines, "220 hello|PING|221 bye");
	assert_int_equal(o.peer, CONN_TLS_PEER_NONE);
	conn_harness_stop(&h);
}

static void test_starttls_verified(void **state)
{
	struct harness h;
	struct outcome o;

	(void)state;
	conn_harness_start(&h, &srv_protocol, NULL, NULL, trust_own);
	outcome_init(&o, true);
	connect_to(&h, h.port, &o, "localhost", CONN_TLS_VERIFY_REQUIRE, 5, 5);
	assert_true(o.opened);
	assert_false(o.tls_failed);
	assert_string_equal(o.lines, "220 hello|220 go ahead|PING|221 bye");
	assert_true(strncmp(o.version, "TLSv1.", 6) == 0);
	assert_true(o.cipher[0] != '\0');
	assert_int_equal(o.peer, CONN_TLS_PEER_VERIFIED);
	assert_string_equal(o.peer_error, "");
	assert_string_equal(conn_tls_peer_name(o.peer), "verified");

	/* the same certificate under another name does not verify */
	outcome_init(&o, true);
	connect_to(&h, h.port, &o, "mx.other.example", CONN_TLS_VERIFY_LOG, 5, 5);
	assert_int_equal(o.peer, CONN_TLS_PEER_UNVERIFIED);
	assert_string_equal(o.peer_error, "hostname mismatch");
	assert_string_equal(o.lines, "220 hello|220 go ahead|PING|221 bye");
	conn_harness_stop(&h);
}

static void test_starttls_unverified(void **state)
{
	struct harness h;
	struct outcome o;

	(void)state;
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	/* opportunistic: a self-signed certificate is noted, not fatal */
	outcome_init(&o, true);
	connect_to(&h, h.port, &o, "localhost", CONN_TLS_VERIFY_LOG, 5, 5);
	assert_false(o.tls_failed);
	assert_int_equal(o.peer, CONN_TLS_PEER_UNVERIFIED);
	assert_string_equal(o.peer_error, "self-signed certificate");
	assert_string_equal(o.lines, "220 hello|220 go ahead|PING|221 bye");

	/* required: the handshake fails, and the session is told */
	outcome_init(&o, true);
	connect_to(&h, h.port, &o, "localhost", CONN_TLS_VERIFY_REQUIRE, 5, 5);
	assert_true(o.opened);
	assert_true(o.tls_failed);
	assert_string_equal(o.peer_error, "self-signed certificate");
	assert_string_equal(o.lines, "220 hello|220 go ahead");
	conn_harness_stop(&h);
}

/* A service with implicit TLS: the handshake before open. */
static const struct core_service cli_tls_service = {
	.name = "test-outs", .protocol = &cli_protocol, .implicit_tls = true,
	.limits = { .idle_timeout = 10, .line_length = 512 },
};

static void test_implicit_tls(void **state)
{
	struct harness h;
	struct outcome o;
	struct conn_connect req = {
		.service = &cli_tls_service, .verify = CONN_TLS_VERIFY_REQUIRE, .failed = cli_failed,
		.server_name = "localhost",
	};
	struct sockaddr_in *sin = (struct sockaddr_in *)&req.remote;

	(void)state;
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(h.tls_port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* not trusted: required verification fails before open */
	outcome_init(&o, false);
	req.arg = &o;
	conn_connect(core_loop(h.core, 0), &req);
	outcome_wait(&o);
	assert_false(o.opened);
	assert_true(o.failed);
	assert_int_equal(o.error, CONN_CONNECT_TLS);
	/* tolerated: open after the handshake */
	outcome_init(&o, false);
	req.verify = CONN_TLS_VERIFY_LOG;
	conn_connect(core_loop(h.core, 0), &req);
	/* the client waits for "220 hello" before it says anything */
	outcome_wait(&o);
	assert_true(o.opened);
	assert_string_equal(o.lines, "220 hello|PING|221 bye");
	conn_harness_stop(&h);
}

/* A port nothing listens on: bound and closed again. */
static uint16_t dead_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void test_refused(void **state)
{
	struct harness h;
	struct outcome o;

	(void)state;
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	outcome_init(&o, false);
	connect_to(&h, dead_port(), &o, "", CONN_TLS_VERIFY_LOG, 5, 5);
	assert_false(o.opened);
	assert_true(o.failed);
	assert_int_equal(o.error, CONN_CONNECT_REFUSED);
	conn_harness_stop(&h);
}

/* A listener with a backlog of 0 that never accepts: once one connection
 * fills it, the kernel drops further SYNs and a connect hangs. */
static void test_connect_timeout(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct harness h;
	struct outcome o;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), filler[4];
	double start;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	for (int i = 0; i < 4; i++) {
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	outcome_init(&o, false);
	start = now_s();
	connect_to(&h, ntohs(sin.sin_port), &o, "", CONN_TLS_VERIFY_LOG, 1, 5);
	assert_true(o.failed);
	assert_int_equal(o.error, CONN_CONNECT_TIMEOUT);
	assert_true(now_s() - start < 5);
	conn_harness_stop(&h);
	for (int i = 0; i < 4; i++)
		close(filler[i]);
	close(lfd);
}

/* Accepted (by the kernel) but silent: the greeting timeout cuts it. */
static void test_greeting_timeout(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct harness h;
	struct outcome o;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	conn_harness_start(&h, &srv_protocol, NULL, NULL, NULL);
	outcome_init(&o, false);
	connect_to(&h, ntohs(sin.sin_port), &o, "", CONN_TLS_VERIFY_LOG, 5, 1);
	assert_true(o.opened);
	assert_true(o.timed_out);
	assert_string_equal(o.lines, "");
	conn_harness_stop(&h);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_starttls_verified),
		cmocka_unit_test(test_starttls_unverified),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_greeting_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
