/* conn-connect - outbound connections: a connection the server opens to
 * another server (the SMTP client of the queue manager), on any loop.
 *
 * Once connected it is a connection like an accepted one (conn.h): the
 * same line reading and input cap, output queue and back-pressure, jobs,
 * timers, deadlines (idle timeout, minimum input rate of an unfinished
 * line) and orderly close, driven by the protocol's callbacks. What
 * differs: it counts against no per-address or total limit of the
 * listeners (the queue manager keeps its own per-destination limits), it
 * is never closed to make room, and its TLS is the client's side:
 * conn_starttls() (or implicit TLS in the request) runs a client
 * handshake with SNI, the check of the server's certificate against the
 * system store (plus [tls] ca_file) and the request's server name
 * (SSL_set1_host), and the request's policy saying whether a failed check
 * ends the handshake. */
#ifndef TERN_CORE_CONN_CONNECT_H
#define TERN_CORE_CONN_CONNECT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/conn.h"
#include "core/listener.h"

/* How an outbound connection that never reached protocol->open ended. */
enum conn_connect_error {
	CONN_CONNECT_REFUSED,      /* ECONNREFUSED or a reset: nothing listens */
	CONN_CONNECT_UNREACHABLE,  /* no route to the host or network */
	CONN_CONNECT_TIMEOUT,      /* no connection within connect_timeout */
	CONN_CONNECT_TLS,          /* implicit TLS: the handshake failed, or the
	                            * certificate check that the policy requires */
	CONN_CONNECT_SHUTDOWN,     /* the server is stopping */
	CONN_CONNECT_ERROR,        /* anything else (socket, bind to the source: logged) */
	CONN_CONNECT__COUNT
};
/* "connection refused", "timeout", ...: for logs and delivery reports. */
const char *conn_connect_error_name(enum conn_connect_error why);

/* Whether the server's certificate must pass the check. */
enum conn_tls_verify {
	/* Check and record the result (conn_tls_peer), but go on whatever
	 * it is: opportunistic TLS (RFC 7435, Postfix's `may`). */
	CONN_TLS_VERIFY_LOG,
	/* The handshake fails unless the chain verifies and, when the
	 * request names a server, the certificate names it. */
	CONN_TLS_VERIFY_REQUIRE,
	CONN_TLS_VERIFY__COUNT
};

/* What the check of the server's certificate found. */
enum conn_tls_peer {
	CONN_TLS_PEER_NONE,        /* no TLS (yet), or an accepted connection */
	CONN_TLS_PEER_VERIFIED,    /* the chain verifies and names the server */
	CONN_TLS_PEER_UNVERIFIED,  /* it does not (conn_tls_peer_error says why) */
	CONN_TLS_PEER__COUNT
};
/* "none", "verified", "unverified": for logs and Received headers. */
const char *conn_tls_peer_name(enum conn_tls_peer peer);

/* One connection to open. */
struct conn_connect {
	/* Its name (in logs), protocol, context (conn_context), implicit
	 * TLS, and limits (line length; idle timeout after the greeting).
	 * Not copied: it must outlive the connection. */
	const struct core_service *service;
	struct sockaddr_storage remote;   /* AF_INET or AF_INET6, with the port */
	struct sockaddr_storage source;   /* the local address to bind; AF_UNSPEC: the kernel's choice */
	/* The server's name: sent as SNI and matched against its
	 * certificate; "" sends none and checks the chain only. An address
	 * literal is not sent as SNI (RFC 6066 3) but matched as an IP. */
	char server_name[256];
	enum conn_tls_verify verify;
	unsigned connect_timeout;         /* seconds until connected; 0 = 30 (a handshake then has [limits] tls_handshake_timeout) */
	/* seconds from the connect until the first byte arrives; then the
	 * service's idle timeout applies (unless the session has set its
	 * own with conn_set_idle_timeout); 0 = the service's idle timeout */
	unsigned greeting_timeout;
	void *arg;                        /* conn_connect_arg() */
	/* Called on the loop instead of protocol->open when the connection
	 * ends before it was open (never from within conn_connect itself);
	 * not called once protocol->open has run: the session's close says
	 * the rest. */
	void (*failed)(void *arg, enum conn_connect_error why);
};

/* Open a connection on `loop` (from any thread: the request is copied
 * and carried out on the loop). On success protocol->open(conn) runs on
 * that loop once connected (after the handshake with implicit TLS), and
 * the connection goes on as an accepted one would; otherwise `failed`.
 * A request that reaches a stopping loop fails with CONN_CONNECT_SHUTDOWN;
 * none may be made once the loop has ended (its owner stops asking in
 * its loop_on_stop hook). */
void conn_connect(struct loop *loop, const struct conn_connect *req);

/* The request's arg, for protocol->open; NULL for accepted connections. */
void *conn_connect_arg(const struct conn *conn);
bool conn_is_outbound(const struct conn *conn);

/* After the TLS handshake of an outbound connection: whether the server's
 * certificate passed the check, and if not, why ("certificate has
 * expired", "hostname mismatch"; NULL when it passed). */
enum conn_tls_peer conn_tls_peer(const struct conn *conn);
const char *conn_tls_peer_error(const struct conn *conn);
/* A TLS handshake on this connection failed (the connection is closing):
 * for a client whose STARTTLS failed, which then connects again without
 * TLS or defers. conn_tls_failed and conn_tls_peer_error may be called
 * from protocol->close. */
bool conn_tls_failed(const struct conn *conn);

#endif
