/* conn-harness - the real I/O core in-process, for unit tests: a tern core
 * with real loops serving a test protocol on 127.0.0.1 (a plain and an
 * implicit-TLS listener), and blocking client sockets, plain or OpenSSL, to
 * drive it. Include it from one file per test executable (test-conn.c,
 * test-auth-login.c) after <cmocka.h>. */
#ifndef TERN_TESTS_CONN_HARNESS_H
#define TERN_TESTS_CONN_HARNESS_H

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conn.h"
#include "core/listener.h"

#define HARNESS_UNUSED __attribute__((unused))

/* ---- the server under test ---- */

struct harness {
	struct config cfg;
	struct core *core;
	pthread_t thread;
	uint16_t port, tls_port;
	uint16_t login_port;          /* with a login_protocol */
	char dir[64];
	char unix_path[96];           /* with harness_unix_protocol */
};

static HARNESS_UNUSED void *harness_run(void *arg)
{
	struct harness *h = arg;

	core_run(h->core, false);
	return NULL;
}

/* Set before conn_harness_start (which clears it again): also serve
 * this protocol, with that context, on a UNIX socket at h->unix_path
 * (h->dir/HARNESS_UNIX_NAME). */
static const struct protocol *harness_unix_protocol;
static void *harness_unix_context;
#define HARNESS_UNIX_NAME "test.sock"

/* Serve `protocol` (with `context` as conn_context) on a plain and an
 * implicit-TLS listener of 127.0.0.1, and `login_protocol` (when not NULL)
 * on a third, plain one, from a fresh data folder; `tweak` may change the
 * configuration first. */
static HARNESS_UNUSED void conn_harness_start(struct harness *h, const struct protocol *protocol,
					      const struct protocol *login_protocol, void *context,
					      void (*tweak)(struct config *cfg))
{
	struct addr_spec spec;
	struct sockaddr_in *sin = (struct sockaddr_in *)&spec.sa;
	char *error = NULL;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/tern-test-conn-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	h->cfg.server.hostname = "localhost";
	h->cfg.server.data_dir = h->dir;
	h->cfg.server.threads = 2;
	h->cfg.server.shutdown_timeout = 3;
	h->cfg.tls.cert = "";
	h->cfg.tls.key = "";
	/* every listener's limits (a tweak may change them) */
	h->cfg.pop3.conn.line_length = 64;
	h->cfg.pop3.conn.idle_timeout = 60;
	h->cfg.limits.connections_per_ip = 50;
	h->cfg.limits.connections = 1000;
	h->cfg.limits.output_buffer = 65536;
	if (tweak != NULL)
		tweak(&h->cfg);

	memset(&spec, 0, sizeof(spec));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	spec.sa_len = sizeof(*sin);
	snprintf(spec.text, sizeof(spec.text), "127.0.0.1:0");
	assert_int_equal(core_new(&h->cfg, &h->core, &error), 0);
	{
		struct core_service plain = {
			.name = "test", .protocol = protocol, .context = context,
			.tls_policy = TLS_POLICY_CLIENT, .limits = h->cfg.pop3.conn,
		};
		struct core_service tls = plain, login = plain;

		tls.name = "tests";
		tls.implicit_tls = true;
		login.name = "testlogin";
		login.protocol = login_protocol;
		assert_int_equal(core_listen(h->core, &plain, &spec, 1, &error), 0);
		assert_int_equal(core_listen(h->core, &tls, &spec, 1, &error), 0);
		if (login_protocol != NULL)
			assert_int_equal(core_listen(h->core, &login, &spec, 1, &error), 0);
		if (harness_unix_protocol != NULL) {
			struct core_service local = plain;

			local.name = "testlocal";
			local.protocol = harness_unix_protocol;
			local.context = harness_unix_context;
			snprintf(h->unix_path, sizeof(h->unix_path), "%s/%s", h->dir,
				 HARNESS_UNIX_NAME);
			if (core_listen_unix(h->core, &local, h->unix_path, &error) < 0)
				fail_msg("unix listener: %s", error);
			harness_unix_protocol = NULL;
		}
	}
	if (core_tls_load(h->core, &error) < 0)
		fail_msg("tls: %s", error);
	h->port = core_listener_port(h->core, 0);
	h->tls_port = core_listener_port(h->core, 1);
	if (login_protocol != NULL)
		h->login_port = core_listener_port(h->core, 2);
	assert_true(h->port > 0 && h->tls_port > 0);
	assert_int_equal(pthread_create(&h->thread, NULL, harness_run, h), 0);
}

static HARNESS_UNUSED int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Stop the server: every connection must be gone; the folder is removed. */
static HARNESS_UNUSED void conn_harness_stop(struct harness *h)
{
	core_stop(h->core);
	pthread_join(h->thread, NULL);
	assert_int_equal(core_connection_count(h->core), 0);
	core_free(&h->core);
	nftw(h->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the server side of test protocols ---- */

/* Answer a line the test protocol does not know: itself in capitals. */
static HARNESS_UNUSED void harness_echo_upper(struct conn *conn, const char *line, size_t len)
{
	char up[256];
	size_t i;

	for (i = 0; i < len && i < sizeof(up) - 1; i++)
		up[i] = (char)(line[i] >= 'a' && line[i] <= 'z' ? line[i] - 32 : line[i]);
	up[i] = '\0';
	conn_printf(conn, "%s\r\n", up);
}

/* ---- a client ---- */

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[8192];
	size_t len;
	char line[8192];
};

/* Connect to 127.0.0.1:port from the loopback address `from` ("127.0.0.7";
 * NULL: the kernel's choice), with a receive buffer of `rcvbuf` bytes set
 * before the connect so that the TCP window starts small (0: the
 * default). */
static HARNESS_UNUSED void client_connect_with(struct client *c, uint16_t port, const char *from,
					       int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };

	memset(c, 0, sizeof(*c));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (from != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
		assert_int_equal(bind(c->fd, (struct sockaddr *)&src, sizeof(src)), 0);
	}
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

static HARNESS_UNUSED void client_connect_from(struct client *c, uint16_t port, const char *from)
{
	client_connect_with(c, port, from, 0);
}

static HARNESS_UNUSED void client_connect(struct client *c, uint16_t port)
{
	client_connect_with(c, port, NULL, 0);
}

/* Connect to the UNIX socket at path; 0, or -1 with errno. */
static HARNESS_UNUSED int client_connect_unix(struct client *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };

	memset(c, 0, sizeof(*c));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;

		close(c->fd);
		c->fd = -1;
		errno = err;
		return -1;
	}
	return 0;
}

/* Returns 1 on success, 0 when the handshake failed. */
static HARNESS_UNUSED int client_tls(struct client *c, int max_version)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	if (max_version != 0) {
		SSL_CTX_set_security_level(c->ctx, 0);
		SSL_CTX_set_min_proto_version(c->ctx, 0);
		SSL_CTX_set_max_proto_version(c->ctx, max_version);
		SSL_CTX_set_cipher_list(c->ctx, "ALL:@SECLEVEL=0");
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	return SSL_connect(c->ssl) == 1;
}

static HARNESS_UNUSED void client_close(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	ERR_clear_error();
	c->ssl = NULL;
	c->ctx = NULL;
}

static HARNESS_UNUSED void client_send(struct client *c, const char *text)
{
	size_t n = strlen(text);

	if (c->ssl != NULL)
		assert_int_equal(SSL_write(c->ssl, text, (int)n), (int)n);
	else
		assert_int_equal(send(c->fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

static HARNESS_UNUSED ssize_t client_recv(struct client *c, char *p, size_t n)
{
	if (c->ssl != NULL) {
		int r = SSL_read(c->ssl, p, (int)n);

		return r > 0 ? r : 0;
	}
	return recv(c->fd, p, n, 0);
}

/* The next line without CRLF, or NULL at EOF/error/timeout. */
static HARNESS_UNUSED const char *client_line(struct client *c)
{
	for (;;) {
		char *lf = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (lf != NULL) {
			size_t total = (size_t)(lf - c->buf) + 1;
			size_t len = total - 1;

			if (len > 0 && c->buf[len - 1] == '\r')
				len--;
			memcpy(c->line, c->buf, len);
			c->line[len] = '\0';
			memmove(c->buf, c->buf + total, c->len - total);
			c->len -= total;
			return c->line;
		}
		if (c->len == sizeof(c->buf))
			return NULL;
		n = client_recv(c, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static HARNESS_UNUSED void expect_line(struct client *c, const char *want)
{
	const char *got = client_line(c);

	if (got == NULL)
		fail_msg("expected \"%s\", got EOF", want);
	assert_string_equal(got, want);
}

static HARNESS_UNUSED double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
