/* conn-connect - the birth of an outbound connection: the request carried
 * to its loop, the non-blocking connect() with its deadline, and the
 * report of a connection that never opened; see conn-connect.h. Once
 * connected, conn.c and conn-tls.c drive it as any other. */
#include "core/conn-connect.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn-internal.h"

#define CONN_CONNECT_TIMEOUT_S 30

static const char *const conn_connect_error_names[] = {
	[CONN_CONNECT_REFUSED] = "connection refused",
	[CONN_CONNECT_UNREACHABLE] = "unreachable",
	[CONN_CONNECT_TIMEOUT] = "timeout",
	[CONN_CONNECT_TLS] = "TLS handshake failed",
	[CONN_CONNECT_SHUTDOWN] = "server shutdown",
	[CONN_CONNECT_ERROR] = "error",
};
_Static_assert(sizeof(conn_connect_error_names) / sizeof(conn_connect_error_names[0]) ==
	       CONN_CONNECT__COUNT, "conn_connect_error_names");

const char *conn_connect_error_name(enum conn_connect_error why)
{
	return (unsigned)why < CONN_CONNECT__COUNT ? conn_connect_error_names[why] : "?";
}

static const char *const conn_tls_peer_names[] = {
	[CONN_TLS_PEER_NONE] = "none",
	[CONN_TLS_PEER_VERIFIED] = "verified",
	[CONN_TLS_PEER_UNVERIFIED] = "unverified",
};
_Static_assert(sizeof(conn_tls_peer_names) / sizeof(conn_tls_peer_names[0]) == CONN_TLS_PEER__COUNT,
	       "conn_tls_peer_names");

const char *conn_tls_peer_name(enum conn_tls_peer peer)
{
	return (unsigned)peer < CONN_TLS_PEER__COUNT ? conn_tls_peer_names[peer] : "?";
}

void *conn_connect_arg(const struct conn *conn)
{
	return conn->outbound != NULL ? conn->outbound->req.arg : NULL;
}

bool conn_is_outbound(const struct conn *conn)
{
	return conn->outbound != NULL;
}

static enum conn_connect_error conn_connect_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
		return CONN_CONNECT_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return CONN_CONNECT_UNREACHABLE;
	case ETIMEDOUT:
		return CONN_CONNECT_TIMEOUT;
	default:
		return CONN_CONNECT_ERROR;
	}
}

void conn_connect_fail(struct conn *conn, enum conn_connect_error why)
{
	if (conn->outbound == NULL || conn->outbound->error_set)
		return;
	conn->outbound->error = why;
	conn->outbound->error_set = true;
}

/* Give up connecting: the teardown reports it. */
static void conn_connect_abandon(struct conn *conn, enum conn_connect_error why, int err)
{
	char remote[48];
	uint16_t port;

	conn_addr_text(&conn->remote, remote, sizeof(remote), &port);
	conn_connect_fail(conn, why);
	conn_log(conn, LOG_LEVEL_INFO, "msg=\"connect failed\" port=%u error=\"%s\"%s%s%s", port,
		 conn_connect_error_name(why), err != 0 ? " errno=\"" : "",
		 err != 0 ? strerror(err) : "", err != 0 ? "\"" : "");
	conn->broken = true;
	conn_close(conn, conn_connect_error_name(why));
}

void conn_connect_gone(struct conn *conn)
{
	struct conn_outbound *out = conn->outbound;

	if (out->req.failed == NULL)
		return;
	conn->depth++;
	out->req.failed(out->req.arg, out->error_set ? out->error : CONN_CONNECT_ERROR);
	conn->depth--;
}

static void conn_connect_timeout_cb(uv_timer_t *timer)
{
	struct conn *conn = timer->data;

	if (conn->state != CONN_STATE_CONNECTING || conn->closing) {
		conn_deadline_cb(timer);
		return;
	}
	conn_connect_abandon(conn, CONN_CONNECT_TIMEOUT, 0);
	conn_settle(conn);
}

/* Connected: the connection is open (or starts its implicit TLS). */
static void conn_connect_established(struct conn *conn)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	uint16_t port;
	char remote[48];
	int one = 1;

	if (getsockname(conn->fd, (struct sockaddr *)&local, &llen) == 0)
		conn_addr_text(&local, conn->local_ip, sizeof(conn->local_ip), &conn->local_port);
	setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_addr_text(&conn->remote, remote, sizeof(remote), &port);
	uv_timer_stop(&conn->idle);
	conn->state = CONN_STATE_OPEN;
	conn->active_ms = uv_now(&conn->loop->uv);
	conn_log(conn, LOG_LEVEL_INFO, "msg=\"connected\" port=%u local=%s:%u%s%s%s", port,
		 conn->local_ip, conn->local_port, conn->outbound->req.server_name[0] != '\0' ?
		 " server=\"" : "", conn->outbound->req.server_name,
		 conn->outbound->req.server_name[0] != '\0' ? "\"" : "");
	conn_deadline_arm(conn);
	if (conn->svc->implicit_tls)
		conn_tls_begin(conn);
	else
		conn_open(conn);
}

void conn_connect_ready(struct conn *conn)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err != 0)
		conn_connect_abandon(conn, conn_connect_errno(err), err);
	else
		conn_connect_established(conn);
}

static socklen_t conn_sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* On the loop: the request posted by conn_connect. */
static void conn_connect_run(void *arg)
{
	struct conn_outbound *out = arg;
	const struct conn_connect *req = &out->req;
	struct loop *loop = loop_current();
	struct conn *conn;
	uint16_t port;
	int fd;

	fd = loop->stopping ? -1 : socket(req->remote.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
					  SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (!loop->stopping)
			log_event(LOG_LEVEL_ERROR, req->service->name, NULL, NULL,
				  "msg=\"cannot create a socket\" error=\"%s\"", strerror(errno));
		if (req->failed != NULL)
			req->failed(req->arg, loop->stopping ? CONN_CONNECT_SHUTDOWN : CONN_CONNECT_ERROR);
		free(out);
		loop_conn_gone(loop);
		return;
	}
	conn = conn_new(loop, req->service, fd);
	conn->outbound = out;
	out->greeting = true;
	if (req->greeting_timeout > 0)
		conn->idle_timeout = req->greeting_timeout;
	conn->remote = req->remote;
	conn_addr_text(&conn->remote, conn->remote_ip, sizeof(conn->remote_ip), &port);
	conn->born_ns = uv_hrtime();
	conn->state = CONN_STATE_CONNECTING;
	uv_timer_start(&conn->idle, conn_connect_timeout_cb,
		       (uint64_t)(req->connect_timeout > 0 ? req->connect_timeout :
				  CONN_CONNECT_TIMEOUT_S) * 1000, 0);
	if (req->source.ss_family != AF_UNSPEC &&
	    bind(fd, (const struct sockaddr *)&req->source, conn_sockaddr_len(&req->source)) < 0)
		conn_connect_abandon(conn, CONN_CONNECT_ERROR, errno);
	else if (connect(fd, (const struct sockaddr *)&req->remote,
			 conn_sockaddr_len(&req->remote)) == 0)
		conn_connect_established(conn);
	else if (errno != EINPROGRESS)
		conn_connect_abandon(conn, conn_connect_errno(errno), errno);
	conn_settle(conn);
}

void conn_connect(struct loop *loop, const struct conn_connect *req)
{
	struct conn_outbound *out = calloc(1, sizeof(*out));

	if (out == NULL)
		abort();
	out->req = *req;
	out->req.server_name[sizeof(out->req.server_name) - 1] = '\0';
	/* counted now, as an accepted socket is: the loop cannot end
	 * before the request has become a connection or failed */
	atomic_fetch_add(&loop->nconns, 1);
	loop_post(loop, conn_connect_run, out);
}
