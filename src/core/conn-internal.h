/* conn-internal - what loop.c, listener.c and conn*.c share inside the core:
 * the loop and connection structures, the accept hand-off, and the helpers
 * conn.c, conn-tls.c and conn-job.c call in each other. Nothing outside
 * src/core includes this (tests may, for counters). */
#ifndef TERN_CORE_CONN_INTERNAL_H
#define TERN_CORE_CONN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/types.h>
#include <uv.h>

#include "core/conn.h"
#include "core/conn-connect.h"
#include "core/job-limit.h"
#include "core/listener.h"
#include "core/loop.h"
#include "core/tls.h"

struct core;
struct listener;

/* One queued loop_post() call. */
struct loop_post_item {
	struct loop_post_item *next;
	void (*fn)(void *arg);
	void *arg;
};

struct loop {
	uv_loop_t uv;
	uv_async_t async;
	uv_timer_t shutdown_timer;
	pthread_t thread;
	bool thread_started;
	struct core *core;

	pthread_mutex_t lock;            /* guards the post queue */
	struct loop_post_item *head, *tail;

	atomic_uint nconns;              /* connections given to this loop */
	struct conn *conns;              /* live connections (loop thread only) */
	/* Connections not logged in yet (has_login), oldest first (loop
	 * thread only), and the birth time of the oldest for the main
	 * thread's choice of whom to close under pressure (UINT64_MAX: none). */
	struct conn *preauth_head, *preauth_tail;
	atomic_uint_fast64_t preauth_oldest;
	/* Connections that are only closing (flushing their last reply or
	 * lingering for the client's FIN), in the order they began to close
	 * (loop thread only), and how many (for the accepting thread): under
	 * pressure one of them is cut before anyone not logged in. */
	struct conn *closing_head, *closing_tail;
	atomic_uint closing_count;
	/* Work not tied to a connection (loop-work.c, loop thread only):
	 * live timers, hooks waiting for the stop, jobs whose done has not
	 * run (the loop does not end before it has). */
	struct loop_timer *timers;
	struct loop_stop_hook *stop_hooks;
	unsigned jobs;
	struct dns *dns;                 /* its resolver (dns.c), made at the first lookup */
	bool stopping;                   /* shutdown asked (loop thread only) */
	bool closed;                     /* handles closed (loop thread only) */
	bool in_posts;                   /* running posted calls (loop thread only) */
};

/* Create a loop (uv_loop_init, async); run it on a new thread with
 * loop_thread_start(); loop_join_until() waits for it to end after
 * shutdown, until `deadline` (CLOCK_REALTIME): 0 when it ended, -1 when
 * it still runs. */
struct loop *loop_new(struct core *core);
int loop_thread_start(struct loop *loop);
int loop_join_until(struct loop *loop, const struct timespec *deadline);
void loop_free(struct loop **loop);
/* Posted by the core on SIGTERM: every session gets protocol->timeout and
 * is closed; the loop ends when its last connection is gone. */
void loop_shutdown(void *loop);
/* Called by conn.c when a connection is freed. */
void loop_conn_gone(struct loop *loop);
/* End the loop if it is stopping and nothing is left on it (no
 * connection, no loop job). */
void loop_maybe_finish(struct loop *loop);
/* loop-work.c: run (and forget) the stop hooks; close the timers still
 * open when the loop ends. */
void loop_run_stop_hooks(struct loop *loop);
void loop_work_close(struct loop *loop);
/* dns.c: whether answers wait to be handed over (the loop does not end
 * before they are: after the stop, every query is answered at once);
 * close the loop's resolver when the loop ends. */
bool dns_loop_busy(const struct loop *loop);
void dns_loop_close(struct loop *loop);
/* loop_post() target, from the accepting thread when the server is nearly
 * full: cut a connection of this loop that is only closing, else close
 * the oldest connection that has not logged in, this loop's or (the
 * accepting thread runs ahead of the loops in a burst) another loop's
 * that is older. */
void loop_evict_preauth(void *loop);

/* An accepted socket on its way to a loop (created on the main thread). */
struct conn_accept {
	int fd;
	struct listener *listener;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	char remote_ip[48];
	bool local;                   /* a UNIX socket: cred holds the peer's */
	struct ucred cred;
	uint64_t born_ns;             /* uv_hrtime() at accept */
};
/* loop_post() target: turns an accepted socket into a connection. */
void conn_accepted(void *accept);
/* On the loop thread: protocol->timeout(why), then close with `why` as the
 * reason (after the running job, if there is one). Shutdown, eviction. */
void conn_end(struct conn *conn, enum conn_end why);
/* Close at once (shutdown deadline passed); waits for a running job. */
void conn_abort(struct conn *conn);
struct conn *conn_next(const struct conn *conn);

/* ---- one connection (conn.c, conn-tls.c, conn-job.c) ---- */

enum conn_state {
	CONN_STATE_OPEN,         /* plain, or TLS established (0: where calloc starts) */
	CONN_STATE_HANDSHAKE,    /* TLS handshake running */
	CONN_STATE_LINGER,       /* output sent, SHUT_WR done, waiting for EOF */
	CONN_STATE_DEAD,         /* torn down, handles closing */
	CONN_STATE_CONNECTING,   /* outbound: connect() in progress */
};

/* A conn_send_file() in progress (conn-send.c); allocated for it, so an
 * idle connection does not carry it. */
struct conn_send {
	int fd;
	uint64_t off;                  /* next byte of the file to send */
	uint64_t left;                 /* bytes of the range still to send */
	conn_send_filter_fn *filter;   /* NULL: raw */
	conn_send_done_fn *done;
	void *arg;
	bool use_sendfile;             /* raw, large, and the connection can */
	bool want_write;               /* sendfile met a full socket */
	bool reading;                  /* its read job runs (the one job allowed) */
	bool no_nowait;                /* the file system refuses RWF_NOWAIT */
	bool ended;                    /* `result` is final (an error, or the filter stopped) */
	enum conn_send_result result;
	char *piece;                   /* the read job's buffer (and the filter's) */
	ssize_t job_read;              /* the read job's result, and its errno */
	int job_errno;
};

struct conn {
	struct loop *loop;
	const struct core_service *svc; /* its listener's, or an outbound connection's own */
	struct core *core;
	const struct config *cfg;
	const struct protocol *protocol;
	void *session;
	struct conn *next, *prev;      /* loop->conns */

	int fd;
	uv_poll_t poll;
	int poll_events;
	uv_timer_t idle;               /* the deadlines (conn-deadline.c); while closing: the flush deadline */
	uv_timer_t user;               /* conn_timer() */
	uv_timer_t kick;               /* run conn_settle() soon */
	uv_work_t work;
	int handles;                   /* uv handles not closed yet */

	SSL *ssl;
	enum conn_state state;
	bool tls_on;
	bool ssl_fatal;                /* no SSL_shutdown after a fatal error */
	bool handshake_read;           /* handshake waits for readable (else writable) */
	bool read_wants_write, write_wants_read;

	struct buf in;
	size_t line_pending;           /* bytes of the last conn_line() to drop */
	bool skipping;                 /* discarding an over-long line up to its LF */
	struct buf out;
	size_t out_pos;                /* out.data[out_pos..len) is still to send */
	size_t out_high;
	size_t out_hard;               /* the hard cap on queued output (conn.c) */
	bool out_overflow;             /* the hard cap was hit: closing */
	unsigned idle_timeout;         /* seconds; the service's, or conn_set_idle_timeout() */

	bool opened;                   /* protocol->open was called */
	bool starttls;                 /* TLS asked for, handshake not started */
	bool out_blocked;              /* above the high-water mark */
	bool user_paused;
	bool closing, eof, broken, aborting;
	bool hup;                      /* the peer's FIN seen while not reading */
	bool stalled;                  /* the protocol took nothing of the buffered input */
	bool job;
	bool end_after_job;            /* conn_end() waits for the job */
	struct conn_send *send;        /* conn_send_file() in progress, or NULL */
	bool ktls_send;                /* TLS records are written by the kernel */
	enum conn_end end_why;         /* of conn_end(), once called */
	int depth;                     /* protocol code on the stack */

	void (*job_work)(void *arg);
	void (*job_done)(void *arg);
	void *job_arg;
	struct job_limit *job_limit;   /* the job holds or waits for a slot of it */
	struct job_limit_waiter job_waiter;
	bool job_queued;               /* not started: waiting for a slot (loop
	                                * thread's view) or in conn_job_wait */
	void (*timer_cb)(void *session);

	/* Deadlines (conn-deadline.c), in uv_now() milliseconds. */
	uint64_t active_ms;            /* last input or output progress */
	uint64_t partial_ms;           /* an unfinished line/block is awaited since */
	uint64_t partial_bytes;        /* bytes of it received since partial_ms */
	bool partial_on;               /* waiting for the rest of a line or block */
	bool in_block;                 /* conn_input_unfinished() */
	bool preauth;                  /* on loop->preauth_* (has_login, not logged in) */
	struct conn *preauth_next, *preauth_prev;
	bool on_closing;               /* on loop->closing_* */
	struct conn *closing_next, *closing_prev;
	uint64_t born_ns;              /* uv_hrtime() when the accepting thread took it */

	const char *close_reason;
	uint64_t bytes_in, bytes_out, start_ms;
	char sid[12];
	char remote_ip[48];
	char local_ip[48];
	uint16_t local_port;
	struct sockaddr_storage remote;
	bool local;                    /* a UNIX socket: cred holds the peer's */
	struct ucred cred;

	/* Outbound connections (conn-connect.c); NULL for accepted ones. */
	struct conn_outbound *outbound;
	bool tls_failed;               /* a handshake failed (conn_tls_failed) */
	long tls_verify;               /* outbound: SSL_get_verify_result after the handshake */
	bool tls_peer_cert;            /* outbound: the server showed a certificate */
};

/* What an outbound connection keeps of its request (conn-connect.c). */
struct conn_outbound {
	struct conn_connect req;
	enum conn_connect_error error; /* why it never opened, once known */
	bool error_set;
	bool greeting;                 /* nothing read yet: the greeting timeout applies */
};

/* conn_sock_read/write: > 0 bytes, 0 EOF, or one of these. */
#define CONN_IO_AGAIN (-2)
#define CONN_IO_ERROR (-1)

/* conn.c */
/* Run everything that may follow an event; a no-op with protocol code on
 * the stack (see the top of conn.c). */
void conn_settle(struct conn *conn);
/* Bytes queued and not sent yet. */
size_t conn_queued(const struct conn *conn);
/* Room for n bytes at the end of the output queue, to be filled and
 * handed over with conn_output_commit (conn_write without a copy); NULL
 * when nothing may be queued (closing at the hard cap, broken). */
char *conn_output_reserve(struct conn *conn, size_t n);
void conn_output_commit(struct conn *conn, size_t n);
/* The end of conn_end and of a job conn_end waited for: protocol->timeout
 * (not in the middle of a conn_send_file, whose bytes it would join),
 * then conn_close. */
void conn_end_close(struct conn *conn);
/* Make conn_settle() run soon, from the loop (never recursively). */
void conn_kick(struct conn *conn);
/* conn-deadline.c: (re)arm the deadline timer for what the connection is
 * waiting for now; note input/output progress; follow the unfinished
 * input; the timer's callback (also the close and linger deadlines); the
 * pre-authentication list. */
void conn_deadline_arm(struct conn *conn);
void conn_deadline_progress(struct conn *conn);
void conn_deadline_track(struct conn *conn, bool can_read);
void conn_deadline_cb(uv_timer_t *timer);
void conn_preauth_add(struct conn *conn);
void conn_preauth_remove(struct conn *conn);
/* The list of connections that are only closing: joined by conn_close()
 * (not by one closed to make room, which goes at once), left at teardown. */
void conn_closing_add(struct conn *conn);
void conn_closing_remove(struct conn *conn);
/* Call protocol->open; close when it refuses. */
void conn_open(struct conn *conn);
/* A new connection on `loop` for socket fd (already non-blocking): the
 * fields every connection has, its handles, its place on loop->conns.
 * The caller fills in the addresses and logs the connect. */
struct conn *conn_new(struct loop *loop, const struct core_service *svc, int fd);
/* "192.0.2.1" or "2001:db8::1" and the port of a socket address. */
void conn_addr_text(const struct sockaddr_storage *ss, char *out, size_t outsize, uint16_t *port_r);

/* conn-connect.c: the socket became writable while connecting; an
 * outbound connection that never opened ends (calls req.failed); the
 * reason it failed, unless one is known already. */
void conn_connect_ready(struct conn *conn);
void conn_connect_gone(struct conn *conn);
void conn_connect_fail(struct conn *conn, enum conn_connect_error why);
/* The client context of outbound TLS (listener.c), created on first use:
 * a new reference, or NULL when it cannot be made (logged). */
SSL_CTX *core_client_ctx(struct core *core);

/* conn-tls.c: socket I/O, plain or through OpenSSL. */
ssize_t conn_sock_read(struct conn *conn, char *p, size_t n);
ssize_t conn_sock_write(struct conn *conn, const char *p, size_t n);
/* Send n bytes of file fd from offset off straight from the page cache:
 * sendfile(2), or SSL_sendfile under kernel TLS (only when
 * conn_can_sendfile). > 0 bytes, 0 at the file's end, CONN_IO_AGAIN, or
 * CONN_IO_ERROR with errno. */
ssize_t conn_sock_sendfile(struct conn *conn, int fd, uint64_t off, size_t n);
/* Plain TCP, or TLS whose records the kernel writes. */
bool conn_can_sendfile(const struct conn *conn);
/* Drive the handshake one step (on poll events in CONN_STATE_HANDSHAKE). */
void conn_handshake(struct conn *conn);
/* Start TLS now (implicit TLS at accept, or a due STARTTLS). */
void conn_tls_begin(struct conn *conn);

/* conn-job.c: from conn_settle only; a job that has not started (waiting
 * for a slot or in conn_job_wait) ends when the connection closes or its
 * client goes. True when done ran. */
bool conn_job_cancel(struct conn *conn);

/* conn-send.c, from conn_settle only: go on with a conn_send_file while
 * output has room, and end it (done) when it is complete, has failed, or
 * the connection closes. True when done was called: settle again. */
bool conn_send_step(struct conn *conn);
/* For tests: reads done in jobs, and bytes sent by sendfile, so far in
 * the process. */
void conn_send_counters(uint64_t *job_reads_r, uint64_t *sendfile_bytes_r);

/* What a connection needs from its listener and the core (listener.c). */
const struct core_service *listener_service(const struct listener *l);
struct core *listener_core(const struct listener *l);
const struct config *core_config(const struct core *core);
struct tls *core_tls(const struct core *core);
/* The limit of concurrent password jobs (conn_auth_limit). */
struct job_limit *core_auth_limit(const struct core *core);
/* Give back the per-address and total slots taken at accept. */
void core_conn_release(struct core *core, const char *ip);
/* Count connections waiting to log in (the accepting thread counts them
 * in; -1 when one logs in or goes), and report that an eviction asked
 * for by the accepting thread has been carried out (or found nobody to
 * close). */
void core_preauth_count(struct core *core, int delta);
void core_eviction_done(struct core *core);
/* Count connections that are only closing (+1 when one begins to close,
 * -1 at its teardown); they can make room too. */
void core_closing_count(struct core *core, int delta);
/* The loop whose oldest connection not logged in is the oldest of all, as
 * far as the loops have published it (loop 0 when none has). */
struct loop *core_oldest_preauth_loop(struct core *core);
/* Where to make room: a loop with a connection that is only closing, else
 * core_oldest_preauth_loop(). */
struct loop *core_eviction_loop(struct core *core);
/* Record the largest output queue seen (for tests). */
void core_note_output(size_t len);

#endif
