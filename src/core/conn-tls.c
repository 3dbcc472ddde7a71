/* conn-tls - the TLS side of a connection: reads and writes through
 * OpenSSL (which owns the socket once TLS is on), the handshake and its
 * deadline, implicit TLS and the STARTTLS upgrade; see conn.h. */
#include "core/conn.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conn-internal.h"
#include "core/tls.h"

#define CONN_HANDSHAKE_S 30           /* [limits] tls_handshake_timeout when unset */

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
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"tls\" version=%s cipher=%s ktls=%s",
			 SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl),
			 conn->ktls_send ? "yes" : "no");
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

		conn_log(conn, LOG_LEVEL_INFO, "msg=\"TLS handshake failed\" error=\"%s\"",
			 why != NULL ? why : (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ?
					      "connection closed" : "unknown"));
	}
	ERR_clear_error();
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
	conn->ssl_fatal = true;
	conn_close(conn, "TLS handshake timeout");
	conn_settle(conn);
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
	SSL_CTX *ctx = tls_ctx_acquire(core_tls(conn->core), listener_service(conn->listener)->tls_policy);

	conn->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, conn->fd) != 1) {
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"cannot start TLS\"");
		conn->broken = true;
		conn_close(conn, "TLS setup failed");
		return;
	}
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
	return core_tls(conn->core) != NULL && !conn->tls_on && conn->ssl == NULL;
}

int conn_starttls(struct conn *conn)
{
	if (!conn_tls_available(conn) || conn->starttls || conn->state != CONN_STATE_OPEN)
		return -1;
	conn->starttls = true;
	conn_kick(conn);
	return 0;
}
