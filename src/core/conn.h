/* conn - one client connection, as protocols see it.
 *
 * The core owns the socket: plain TCP, implicit TLS, the STARTTLS upgrade,
 * timeouts, back-pressure, the per-address limit. A protocol module never
 * calls read/write/SSL_/uv_; it describes itself with a struct protocol and
 * talks to its connection only through the functions below. Everything here
 * runs on the connection's own loop thread (the I/O thread it was given at
 * accept, or that conn_connect made it on, and keeps for life); none of it
 * is thread-safe unless it says so. Connections the server opens itself
 * are conn-connect.h's; what is said here holds for them too.
 *
 * Input: bytes are read into a buffer capped at the service's line_length
 * (config.h struct config_conn; a protocol may raise it); the protocol
 * takes lines with conn_line() or raw bytes with conn_input(). Buffered
 * input stays where it is while a job runs (or the session waits): the
 * core reads nothing more into the buffer and moves nothing in it until
 * the job's done has run, so a pointer into conn_input()'s data taken
 * before the job is valid in done. Input callbacks stop while input is paused,
 * while a job runs, and while queued output is above the high-water mark
 * ([limits] output_buffer), so a client that pipelines without reading costs
 * bounded memory.
 *
 * Output: conn_write() queues bytes. A producer of large output (RETR,
 * FETCH) checks conn_output_full() and stops, then continues in
 * protocol->drained; a producer writes pieces of at most 1 MiB. Queued
 * output has a hard cap too (4 times [limits] output_buffer, plus 1 MiB):
 * a write beyond it is dropped and the connection closed, so a session
 * that writes without looking cannot exhaust memory. A message body (a
 * range of a file) goes out with conn_send_file(): the core produces it
 * without blocking the loop on the disk, with sendfile where it can.
 *
 * Deadlines (conn-deadline.c): a connection is cut, with protocol->timeout
 * first, when it sends nothing for its idle timeout; when a line (or a
 * block, see conn_input_unfinished) has started arriving and does not keep
 * [limits] min_input_rate after a grace of slow_input_timeout; and, for a
 * protocol with a login phase (has_login), when it has not logged in within
 * [limits] login_timeout. When the server's connection limit is nearly
 * reached, the oldest connections still waiting to log in are closed first
 * to make room; authenticated ones never are.
 *
 * Lifetime: protocol->close is called exactly once, after which the session
 * must not touch the conn. It is never called while a job is running: the
 * core waits for the job's done callback first. */
#ifndef TERN_CORE_CONN_H
#define TERN_CORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/job-limit.h"
#include "core/log.h"

struct conn;
struct loop;

/* Why the core ends a session the client did not end. */
enum conn_end {
	CONN_END_IDLE,       /* no input for the idle timeout */
	CONN_END_SHUTDOWN,   /* the server is stopping (SIGTERM/SIGINT) */
	CONN_END_LOGIN_TIMEOUT, /* not logged in within [limits] login_timeout */
	CONN_END_SLOW_INPUT, /* an unfinished line or block below [limits] min_input_rate */
	CONN_END_BUSY,       /* connection limit nearly reached: the oldest
	                      * connection not logged in makes room */
	CONN_END__COUNT
};
/* "idle timeout", "login timeout", ...: the reason in the disconnect log. */
const char *conn_end_reason(enum conn_end why);

/* What a protocol module exports; the serve command maps listeners to one. */
struct protocol {
	const char *name;       /* "pop3": the service name in logs */
	/* The client is connected (for implicit TLS: the handshake is done).
	 * Write the greeting; return the session, or NULL to close at once. */
	void *(*open)(struct conn *conn);
	/* New input is buffered: take lines with conn_line() until it returns
	 * CONN_LINE_NONE, or until the session pauses itself. */
	void (*input)(void *session);
	/* Optional: queued output fell below the low-water mark. */
	void (*drained)(void *session);
	/* The STARTTLS handshake asked for with conn_starttls() completed:
	 * forget everything learned before it (RFC 3207 4.2, RFC 2595 3.1). */
	void (*tls_ready)(void *session);
	/* Optional: the session is about to be cut, for `why`; write a last
	 * reply if the protocol has one. The core closes the connection
	 * afterwards. */
	void (*timeout)(void *session, enum conn_end why);
	/* The connection is gone (closed by either side, or an I/O error).
	 * Free the session. */
	void (*close)(void *session);
	/* Optional: the line a client refused by the per-address or total
	 * connection limit gets on a plain listener ("-ERR [SYS/TEMP] ...\r\n"),
	 * with one non-blocking write before the close. On implicit-TLS
	 * listeners the connection is just closed. */
	const char *busy_reply;
	/* The protocol has a login phase (POP3, IMAP, submission): until the
	 * session calls conn_authenticated(), the connection has [limits]
	 * login_timeout seconds in all and may be closed to make room when
	 * the server is nearly full (CONN_END_LOGIN_TIMEOUT, CONN_END_BUSY). */
	bool has_login;
	/* Descriptors one session of the protocol holds at once, its socket
	 * included, for fitting [limits] connections to the descriptor limit
	 * (0: 7, a POP3 session's: the socket, its account's index.db, -wal,
	 * -shm, lock and msg/ folder, and the message being read). The
	 * largest of the listening protocols' figures applies. */
	unsigned session_fds;
};

enum conn_line {
	CONN_LINE_NONE,      /* no complete line buffered yet */
	CONN_LINE_OK,        /* *line_r is the next line, without CRLF/LF, NUL-terminated */
	CONN_LINE_TOO_LONG,  /* a line over the cap was discarded (up to its LF);
	                      * reply with the protocol's error and go on */
};

/* Take the next line. The returned pointer stays valid until the next call
 * of conn_line() or the return from protocol->input, whichever is first.
 * *len_r is the length (a line may contain NUL bytes). */
enum conn_line conn_line(struct conn *conn, const char **line_r, size_t *len_r);

/* Raw access to buffered input (for DATA, literals): consume what you use
 * with buf_consume(). Do not mix with a pending conn_line() pointer. */
struct buf *conn_input(struct conn *conn);
/* Raise or lower the input cap for this connection (bytes); it starts at
 * the service's line_length ([pop3], [smtp], [imap]). */
void conn_set_input_max(struct conn *conn, size_t max);
/* Change this connection's idle timeout (seconds, 0 = none); it starts at
 * the service's idle_timeout. For a protocol state that waits longer
 * (IMAP IDLE) or shorter. */
void conn_set_idle_timeout(struct conn *conn, unsigned seconds);
/* The session is inside a block whose end has not arrived (SMTP DATA, an
 * IMAP literal), so the minimum input rate applies even while nothing is
 * buffered; false again once the block is complete. An incomplete line
 * left in the buffer counts as unfinished without this. */
void conn_input_unfinished(struct conn *conn, bool unfinished);

/* The client has logged in: the login deadline no longer applies and the
 * connection is never closed to make room (protocols with has_login). */
void conn_authenticated(struct conn *conn);

/* Queue output. The high-water mark is kept by pausing input and
 * producers; past the hard cap (see the top) the bytes are dropped and the
 * connection closes. */
void conn_write(struct conn *conn, const void *data, size_t len);
void conn_printf(struct conn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when queued output is at or above the high-water mark. */
bool conn_output_full(const struct conn *conn);

/* Stop and restart input callbacks (and socket reads). Resuming with input
 * already buffered schedules protocol->input from the loop, never
 * recursively. */
void conn_pause_input(struct conn *conn);
void conn_resume_input(struct conn *conn);

/* Ask for TLS: once the output queued so far is sent, any input buffered
 * (and any the peer sent before the handshake) is discarded, the TLS
 * handshake runs, and protocol->tls_ready is called. Input is paused
 * meanwhile. On an outbound connection the handshake is the client's
 * (conn-connect.h). Returns -1 when TLS is already on or asked for, or
 * (accepted connections) no certificate is loaded. */
int conn_starttls(struct conn *conn);
bool conn_is_tls(const struct conn *conn);
bool conn_tls_available(const struct conn *conn);
/* The TLS version ("TLSv1.3") and cipher ("TLS_AES_256_GCM_SHA384") once
 * TLS is established, or NULL: for logs and Received headers. */
const char *conn_tls_version(const struct conn *conn);
const char *conn_tls_cipher(const struct conn *conn);

/* Flush queued output, then close. No input callbacks after this; close is
 * called once the socket is closed. `reason` goes to the log. */
void conn_close(struct conn *conn, const char *reason);
/* True once conn_close() was called or the peer went away. */
bool conn_is_closing(const struct conn *conn);
/* True once the client has gone or is going: closing, or its end of file
 * or a reset was seen, even while input is paused (the socket is watched
 * for it whenever the connection is not reading). A half-closed client may
 * still read replies; this is for dropping work it is waiting for in a
 * queue or a delay. */
bool conn_client_gone(const struct conn *conn);

/* Run work(arg) on the libuv thread pool, then done(arg) on this
 * connection's loop. Input is paused from now until done returns (done may
 * start another job, pause or close). If the client disconnects meanwhile,
 * done still runs (conn_is_closing() is then true) and protocol->close
 * comes after it. At most one job per connection at a time. */
void conn_job(struct conn *conn, void (*work)(void *arg), void (*done)(void *arg), void *arg);

/* Like conn_job, but at most job_limit_max(limit) jobs of that class run at
 * once in the whole process (so a burst of logins cannot fill the thread
 * pool that fsync and store jobs of other sessions need); the others wait
 * in the class's queue at priority `prio` (FIFO within it), with input
 * paused as for conn_job. Returns false, starting nothing (done is not
 * called), when that queue is at its bound: refuse with a temporary error.
 * A job that waits is dropped (work skipped, done runs) once the connection
 * closes or its client goes (conn_client_gone(), also when that was seen
 * before the call, or when a slot is handed to it afterwards); a job that
 * got a slot at once runs. protocol->close comes after done. */
bool conn_job_limited(struct conn *conn, struct job_limit *limit, enum job_limit_prio prio,
		      void (*work)(void *arg), void (*done)(void *arg), void *arg);
/* The core's limit for password verification jobs:
 * max(1, thread pool size / 2) slots; its queue holds [auth] hash_queue
 * waiters (0: max(64, 16 x slots)). */
struct job_limit *conn_auth_limit(const struct conn *conn);

/* A job without work: done(arg) runs on this loop after `ms` milliseconds,
 * with input paused and protocol->close held back as for conn_job. The wait
 * ends at once, and done runs, when the connection closes, its client goes
 * (conn_client_gone()) or the server stops. It uses the connection's timer:
 * a pending conn_timer() is cancelled. */
void conn_job_wait(struct conn *conn, uint64_t ms, void (*done)(void *arg), void *arg);

/* Wait for work that another part of the server does (a group commit of
 * the queue, later a DNS answer): like conn_job, but no work is run here.
 * Input is paused, and the close waits for it, as for a job (a shutdown
 * waits at most its bounded time). Returns the token for whoever does the
 * work: it calls conn_await_done(token) exactly once, from any thread,
 * and done(arg) then runs on this connection's loop (done may start a job
 * or another wait). At most one job or wait per connection at a time. */
struct conn_await;
struct conn_await *conn_await(struct conn *conn, void (*done)(void *arg), void *arg);
void conn_await_done(struct conn_await *await);

/* True from the start of a conn_job, conn_job_limited (also while it
 * waits for a slot), conn_job_wait or conn_await until its done is
 * called, and from the start of a conn_send_file until its done is
 * called: while it is true, starting another job or send aborts. For a
 * session that reacts to events arriving on their own (a mailbox change
 * notification must not start a second job). Inside done it is false
 * unless done started more. */
bool conn_job_running(const struct conn *conn);

/* From protocol->close only: run work(arg) on the thread pool once the
 * connection is gone, with nothing called back; for releasing what may
 * block (closing a database checkpoints and fsyncs). The loop does not
 * end before the work has run. */
void conn_job_after_close(struct conn *conn, void (*work)(void *arg), void *arg);

/* Call cb(session) after `ms` milliseconds on this loop (one timer per
 * connection, shared with conn_job_wait; a new call replaces the old one;
 * ms = 0 cancels). Input is not paused by this: pause it yourself if the
 * session must wait. */
void conn_timer(struct conn *conn, uint64_t ms, void (*cb)(void *session));

/* ---- a file's bytes to the client (conn-send.c) ---- */

/* How a conn_send_file() ended: the `result` of its done callback. */
enum conn_send_result {
	CONN_SEND_OK,        /* the whole range went out in order (or the filter ended it) */
	CONN_SEND_SHORT,     /* the file ended inside the range: fewer bytes went out */
	CONN_SEND_IO_ERROR,  /* reading the file failed (logged): part of it went out */
	CONN_SEND_CLOSED,    /* the connection is closing: the rest does not go out */
	CONN_SEND__COUNT
};
/* "ok", "short", "io-error", "closed": for logs. */
const char *conn_send_result_name(enum conn_send_result result);

/* A transformation of the bytes on their way (POP3's byte-stuffing):
 * called on the loop with the next piece of the range, in order (pieces
 * of at most 64 KiB, of any size down to 1 byte); it writes what the
 * client gets with conn_write(). Returning true ends the send there (TOP
 * has sent its lines): done follows with CONN_SEND_OK. */
typedef bool conn_send_filter_fn(void *arg, const char *data, size_t len);
typedef void conn_send_done_fn(void *arg, enum conn_send_result result);

/* Send bytes [off, off + len) of the regular file `fd` to the client,
 * after the output queued so far, through `filter`, or exactly as they
 * are when filter is NULL (an IMAP literal). The core is the producer: it
 * reads on the loop only what the page cache holds (preadv2 RWF_NOWAIT)
 * and anything else in a job on the thread pool, so a cold disk never
 * blocks the loop; it stops at the high-water mark and goes on as the
 * client reads, so a slow reader costs at most [limits] output_buffer
 * plus one piece (and what the filter adds). A raw range of 64 KiB or more
 * whose pages are cached goes out with sendfile(2) on a plain connection
 * and SSL_sendfile under kernel TLS ([tls] ktls), once everything queued
 * before it is sent; otherwise through the output queue.
 *
 * Input is paused from now until done returns, as for a job; done(arg,
 * result) runs on this loop, never from within this call, and may write
 * (a trailer), start another send or a job, pause or close. Until then
 * the session writes nothing (its bytes would overtake the range) and
 * protocol->drained is not called. `fd` is the caller's and must stay
 * open until done; the core does not close it. If the connection closes
 * meanwhile, done runs with CONN_SEND_CLOSED, before protocol->close.
 * Output progress counts as activity for the idle timeout. At most one
 * send, and not while a job runs (conn_job_running()). len = 0 is valid. */
void conn_send_file(struct conn *conn, int fd, uint64_t off, uint64_t len,
		    conn_send_filter_fn *filter, conn_send_done_fn *done, void *arg);
/* True from conn_send_file until its done is called. */
bool conn_send_running(const struct conn *conn);

/* Identity, for logs and policy. */
const char *conn_id(const struct conn *conn);          /* short unique session id */
/* "127.0.0.1", "::1"; "uid:1000" on a UNIX socket */
const char *conn_remote_ip(const struct conn *conn);
/* A connection on a UNIX socket (core_listen_unix): the peer's uid, gid
 * and pid as the kernel recorded them at connect (SO_PEERCRED), which
 * the client cannot choose. False, leaving the outputs alone, for TCP. */
bool conn_peer_cred(const struct conn *conn, uid_t *uid_r, gid_t *gid_r, pid_t *pid_r);
bool conn_is_loopback(const struct conn *conn);
const char *conn_local_ip(const struct conn *conn);
uint16_t conn_local_port(const struct conn *conn);
const struct config *conn_config(const struct conn *conn);
/* The pointer the serve command attached to this connection's listener
 * (the protocol's shared context: directory, store root...). */
void *conn_context(const struct conn *conn);
struct loop *conn_loop(const struct conn *conn);

/* Log one event for this connection: service, session id and remote address
 * are filled in. */
void conn_log(const struct conn *conn, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
