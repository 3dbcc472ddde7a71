/* conn-tls - the TLS side of a connection: reads and writes through
 * OpenSSL (which owns the socket once TLS is on), the handshake and its
 * deadline, implicit TLS and the STARTTLS upgrade; see conn.h. */
#include "core/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/conn-internal.h"
#include "core/tls.h"

#define CONN_HANDSHAKE_S 30           /* [limits] tls_handshake_timeout when unset */

static int conn_tls_client_setup(struct conn *conn);
static void conn_tls_note_peer(struct conn *conn);

/* ---- socket I/O: > 0 bytes, 0 EOF, CONN_IO_AGAIN, CONN_IO_ERROR ---- */

static ssize_t conn_ssl_result(struct conn *conn, int ret, size_t done, bool reading)
{
	int err;

	if (ret == 1)
		return (ssize_t)done;
	err = SSL_get_error(conn->ssl, ret);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		if (reading)
			conn->read_wants_write = false;
		else
			conn->write_wants_read = true;
		return CONN_IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			conn->read_wants_write = true;
		return CONN_IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		conn->ssl_fatal = true;
		ERR_clear_error();
		return CONN_IO_ERROR;
	}
}

ssize_t conn_sock_read(struct conn *conn, char *p, size_t n)
{
	ssize_t r;

	if (conn->tls_on) {
		size_t done = 0;
		int ret;

		ERR_clear_error();
		ret = SSL_read_ex(conn->ssl, p, n, &done);
		if (ret == 1)
			conn->read_wants_write = false;
		return conn_ssl_result(conn, ret, done, true);
	}
	r = recv(conn->fd, p, n, 0);
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CONN_IO_AGAIN : CONN_IO_ERROR;
}

ssize_t conn_sock_write(struct conn *conn, const char *p, size_t n)
{
	ssize_t r;

	if (conn->tls_on) {
		size_t done = 0;
		int ret;

		ERR_clear_error();
		ret = SSL_write_ex(conn->ssl, p, n, &done);
		if (ret == 1)
			conn->write_wants_read = false;
		return conn_ssl_result(conn, ret, done, false);
	}
	r = send(conn->fd, p, n, MSG_NOSIGNAL);
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CONN_IO_AGAIN : CONN_IO_ERROR;
}

bool conn_can_sendfile(const struct conn *conn)
{
	return !conn->tls_on || conn->ktls_send;
}

static bool conn_errno_again(void)
{
	/* EBUSY: kernel TLS waits for a record to be sent (OpenSSL retries it too). */
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == EBUSY;
}

ssize_t conn_sock_sendfile(struct conn *conn, int fd, uint64_t off, size_t n)
{
	off_t pos = (off_t)off;
	ssize_t r;

	if (conn->tls_on) {
		ERR_clear_error();
		r = SSL_sendfile(conn->ssl, fd, pos, n, 0);
		if (r >= 0)
			return r;
		if (conn_errno_again()) {
			ERR_clear_error();
			return CONN_IO_AGAIN;
		}
		conn->ssl_fatal = true;
		ERR_clear_error();
		return CONN_IO_ERROR;
	}
	r = sendfile(conn->fd, fd, &pos, n);
	if (r >= 0)
		return r;
	return conn_errno_again() ? CONN_IO_AGAIN : CONN_IO_ERROR;
}

/* ---- TLS ---- */

void conn_handshake(struct conn *conn)
{
	int ret, err;

	ERR_clear_error();
	ret = SSL_do_handshake(conn->ssl);
	if (ret == 1) {
		conn->state = CONN_STATE_OPEN;
		conn->tls_on = true;
		/* With SSL_OP_ENABLE_KTLS (tls.c), OpenSSL hands the keys to
		 * the kernel when its tls module takes them. */
		conn->ktls_send = BIO_get_ktls_send(SSL_get_wbio(conn->ssl));
		uv_timer_stop(&conn->idle);   /* the handshake deadline is over */
		conn_deadline_arm(conn);
		if (conn->outbound != NULL) {
			conn_tls_note_peer(conn);
			conn_log(conn, LOG_LEVEL_INFO,
				 "msg=\"tls\" version=%s cipher=%s ktls=%s peer=%s%s%s%s",
				 SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl),
				 conn->ktls_send ? "yes" : "no", conn_tls_peer_name(conn_tls_peer(conn)),
				 conn_tls_peer_error(conn) != NULL ? " verify_error=\"" : "",
				 conn_tls_peer_error(conn) != NULL ? conn_tls_peer_error(conn) : "",
				 conn_tls_peer_error(conn) != NULL ? "\"" : "");
		} else {
			conn_log(conn, LOG_LEVEL_INFO, "msg=\"tls\" version=%s cipher=%s ktls=%s",
				 SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl),
				 conn->ktls_send ? "yes" : "no");
		}
		if (!conn->opened) {
			conn_open(conn);
		} else if (conn->session != NULL && conn->protocol->tls_ready != NULL) {
			conn->depth++;
			conn->protocol->tls_ready(conn->session);
			conn->depth--;
		}
		return;
	}
	err = SSL_get_error(conn->ssl, ret);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		conn->handshake_read = err == SSL_ERROR_WANT_READ;
		return;
	}
	{
		unsigned long e = ERR_peek_error();
		const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

		if (conn->outbound != NULL)
			conn_tls_note_peer(conn);
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"TLS handshake failed\" error=\"%s\"%s%s%s",
			 why != NULL ? why : (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ?
					      "connection closed" : "unknown"),
			 conn_tls_peer_error(conn) != NULL ? " verify_error=\"" : "",
			 conn_tls_peer_error(conn) != NULL ? conn_tls_peer_error(conn) : "",
			 conn_tls_peer_error(conn) != NULL ? "\"" : "");
	}
	ERR_clear_error();
	conn->tls_failed = true;
	if (conn->outbound != NULL && !conn->opened)
		conn_connect_fail(conn, CONN_CONNECT_TLS);
	conn->ssl_fatal = true;
	conn->broken = true;
	conn->state = CONN_STATE_OPEN;
	conn_close(conn, "TLS handshake failed");
}

/* A handshake that does not finish in time frees its slot rather than
 * holding it for the whole idle timeout. */
static unsigned conn_handshake_secs(const struct conn *conn)
{
	unsigned secs = conn->cfg->limits.tls_handshake_timeout > 0 ?
			conn->cfg->limits.tls_handshake_timeout : CONN_HANDSHAKE_S;

	if (conn->idle_timeout > 0 && conn->idle_timeout < secs)
		secs = conn->idle_timeout;
	return secs;
}

static void conn_handshake_timeout_cb(uv_timer_t *timer)
{
	struct conn *conn = timer->data;

	if (conn->state != CONN_STATE_HANDSHAKE || conn->closing) {
		conn_deadline_cb(timer);
		return;
	}
	conn_log(conn, LOG_LEVEL_INFO, "msg=\"TLS handshake timeout\" seconds=%u",
		 conn_handshake_secs(conn));
	conn->tls_failed = true;
	if (conn->outbound != NULL && !conn->opened)
		conn_connect_fail(conn, CONN_CONNECT_TIMEOUT);
	conn->ssl_fatal = true;
	conn_close(conn, "TLS handshake timeout");
	conn_settle(conn);
}

/* ---- the client's side (outbound connections) ---- */

/* SNI and the name to check (RFC 6125 through SSL_set1_host, or the
 * address for a literal), and whether a failed check is fatal. */
static int conn_tls_client_setup(struct conn *conn)
{
	const struct conn_connect *req = &conn->outbound->req;
	struct in6_addr a6;
	struct in_addr a4;
	bool literal = inet_pton(AF_INET, req->server_name, &a4) == 1 ||
		       inet_pton(AF_INET6, req->server_name, &a6) == 1;

	SSL_set_connect_state(conn->ssl);
	SSL_set_verify(conn->ssl, req->verify == CONN_TLS_VERIFY_REQUIRE ? SSL_VERIFY_PEER :
		       SSL_VERIFY_NONE, NULL);
	if (req->server_name[0] == '\0')
		return 0;
	/* RFC 6066 3: no address literal in server_name */
	if (!literal && SSL_set_tlsext_host_name(conn->ssl, req->server_name) != 1)
		return -1;
	if (literal)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), req->server_name) == 1 ?
		       0 : -1;
	/* no wildcard in the middle of a label: the RFC 6125 6.4.3 subset */
	SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(conn->ssl, req->server_name) == 1 ? 0 : -1;
}

/* Keep what the check of the server's certificate found. OpenSSL runs
 * the check with SSL_VERIFY_NONE too and keeps its result. */
static void conn_tls_note_peer(struct conn *conn)
{
	X509 *peer = SSL_get0_peer_certificate(conn->ssl);

	conn->tls_peer_cert = peer != NULL;
	conn->tls_verify = SSL_get_verify_result(conn->ssl);
}

enum conn_tls_peer conn_tls_peer(const struct conn *conn)
{
	if (conn->outbound == NULL || !conn->tls_on)
		return CONN_TLS_PEER_NONE;
	return conn->tls_peer_cert && conn->tls_verify == X509_V_OK ? CONN_TLS_PEER_VERIFIED :
	       CONN_TLS_PEER_UNVERIFIED;
}

const char *conn_tls_peer_error(const struct conn *conn)
{
	if (conn->outbound == NULL || conn->ssl == NULL)
		return NULL;
	if (conn->tls_verify != X509_V_OK)
		return X509_verify_cert_error_string(conn->tls_verify);
	return conn->tls_on && !conn->tls_peer_cert ? "no certificate" : NULL;
}

bool conn_tls_failed(const struct conn *conn)
{
	return conn->tls_failed;
}

/* The idle timer carries the handshake's deadline until it is done. */
static void conn_handshake_deadline(struct conn *conn)
{
	uv_timer_start(&conn->idle, conn_handshake_timeout_cb,
		       (uint64_t)conn_handshake_secs(conn) * 1000, 0);
}

/* Start the handshake: for STARTTLS, only once the reply is sent, and with
 * every byte received so far thrown away (RFC 3207 4.2, RFC 2595 3.1; the
 * CVE-2011-0411 plaintext injection). */
void conn_tls_begin(struct conn *conn)
{
	SSL_CTX *ctx = conn->outbound != NULL ? core_client_ctx(conn->core) :
		       tls_ctx_acquire(core_tls(conn->core), conn->svc->tls_policy);

	conn->ssl = ctx != NULL ? SSL_new(ctx) : NULL;
	SSL_CTX_free(ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, conn->fd) != 1 ||
	    (conn->outbound != NULL && conn_tls_client_setup(conn) < 0)) {
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"cannot start TLS\"");
		ERR_clear_error();
		conn->tls_failed = true;
		if (conn->outbound != NULL && !conn->opened)
			conn_connect_fail(conn, CONN_CONNECT_TLS);
		conn->broken = true;
		conn_close(conn, "TLS setup failed");
		return;
	}
	if (conn->outbound == NULL)
		SSL_set_accept_state(conn->ssl);
	conn->starttls = false;
	conn->line_pending = 0;
	conn->skipping = false;
	buf_release(&conn->in);
	conn->state = CONN_STATE_HANDSHAKE;
	conn->handshake_read = true;
	conn_handshake_deadline(conn);
	conn_handshake(conn);
}

const char *conn_tls_version(const struct conn *conn)
{
	return conn->tls_on ? SSL_get_version(conn->ssl) : NULL;
}

const char *conn_tls_cipher(const struct conn *conn)
{
	return conn->tls_on ? SSL_get_cipher_name(conn->ssl) : NULL;
}

bool conn_tls_available(const struct conn *conn)
{
	return (conn->outbound != NULL || core_tls(conn->core) != NULL) && !conn->tls_on &&
	       conn->ssl == NULL;
}

int conn_starttls(struct conn *conn)
{
	if (!conn_tls_available(conn) || conn->starttls || conn->state != CONN_STATE_OPEN)
		return -1;
	conn->starttls = true;
	conn_kick(conn);
	return 0;
}
