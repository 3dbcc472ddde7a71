/* conn - one client connection on its loop: birth, line input with a hard
 * cap, output and back-pressure, idle timeout, the orderly close, and the
 * driver (conn_settle) that ties them together; see conn.h.
 *
 * Re-entrancy rule: protocol callbacks run with conn->depth > 0 and may
 * only set flags (close, pause, starttls...). Everything with effects on the
 * connection's life (flushing, starting TLS, tearing down, calling
 * protocol->close) happens in conn_settle(), which runs at the end of every
 * libuv callback, when no protocol code is on the stack. TLS is in
 * conn-tls.c, jobs and conn_timer() in conn-job.c, file sends in
 * conn-send.c. */
#include "core/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conn-internal.h"

#define CONN_READ_CHUNK 16383         /* + NUL = 16 KiB of buffer */
#define CONN_CLOSE_MS 5000            /* flushing on close may take this long */
#define CONN_LINGER_MS 2000           /* after shutdown(SHUT_WR), wait for the peer's FIN */
#define CONN_SETTLE_ROUNDS 64
/* Queued output may exceed the high-water mark (replies after a producer
 * stopped, one piece of up to CONN_OUTPUT_PIECE_MAX it wrote while under
 * it) up to this many times it plus one piece; beyond, something writes
 * without looking, and the connection is closed rather than memory
 * spent. */
#define CONN_OUTPUT_HARD_FACTOR 4
#define CONN_OUTPUT_PIECE_MAX (1024 * 1024)

static void conn_update_poll(struct conn *conn);

/* ---- identity ---- */

static pthread_once_t conn_seed_once = PTHREAD_ONCE_INIT;
static uint64_t conn_seed;
static atomic_uint_fast64_t conn_counter;

static void conn_seed_init(void)
{
	if (getrandom(&conn_seed, sizeof(conn_seed), 0) != sizeof(conn_seed))
		conn_seed = (uint64_t)time(NULL) * 2654435761u;
}

/* 10 base32 characters of a bijective mix of a counter (unique for 2^50
 * connections) with a random seed (not guessable across restarts). */
static void conn_make_sid(char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	const uint64_t mask = (1ull << 50) - 1;
	uint64_t x;

	pthread_once(&conn_seed_once, conn_seed_init);
	x = (atomic_fetch_add(&conn_counter, 1) + conn_seed) & mask;
	x ^= x >> 23;
	x = (x * 0x2127599bf4325c37ull) & mask;
	x ^= x >> 27;
	x = (x * 0x880355f21e6d1965ull) & mask;
	x ^= x >> 31;
	for (int i = 9; i >= 0; i--) {
		out[i] = alphabet[x & 31];
		x >>= 5;
	}
	out[10] = '\0';
}

const char *conn_id(const struct conn *conn) { return conn->sid; }
const char *conn_remote_ip(const struct conn *conn) { return conn->remote_ip; }
const char *conn_local_ip(const struct conn *conn) { return conn->local_ip; }
uint16_t conn_local_port(const struct conn *conn) { return conn->local_port; }
const struct config *conn_config(const struct conn *conn) { return conn->cfg; }
void *conn_context(const struct conn *conn) { return conn->svc->context; }
struct loop *conn_loop(const struct conn *conn) { return conn->loop; }
bool conn_is_tls(const struct conn *conn) { return conn->tls_on; }
struct conn *conn_next(const struct conn *conn) { return conn->next; }

/* The client's EOF alone is not closing: a client may half-close after
 * its last command (printf ... | nc -N) and still read every reply; the
 * connection closes once what it sent is processed (conn_settle_once). */
bool conn_is_closing(const struct conn *conn)
{
	return conn->closing || conn->broken || conn->state == CONN_STATE_DEAD;
}

bool conn_client_gone(const struct conn *conn)
{
	return conn->eof || conn->hup || conn_is_closing(conn);
}

bool conn_peer_cred(const struct conn *conn, uid_t *uid_r, gid_t *gid_r, pid_t *pid_r)
{
	if (!conn->local)
		return false;
	*uid_r = conn->cred.uid;
	*gid_r = conn->cred.gid;
	*pid_r = conn->cred.pid;
	return true;
}

bool conn_is_loopback(const struct conn *conn)
{
	if (conn->remote.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&conn->remote;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (conn->remote.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&conn->remote)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

void conn_log(const struct conn *conn, enum log_level level, const char *fmt, ...)
{
	char text[1800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_event(level, conn->svc->name, conn->sid, conn->remote_ip, "%s", text);
}

/* ---- scheduling ---- */

static void conn_kick_cb(uv_timer_t *timer)
{
	conn_settle(timer->data);
}

/* Make conn_settle() run soon, from the loop (never recursively). */
void conn_kick(struct conn *conn)
{
	if (conn->state != CONN_STATE_DEAD && conn->depth == 0 &&
	    !uv_is_active((uv_handle_t *)&conn->kick))
		uv_timer_start(&conn->kick, conn_kick_cb, 0, 0);
}

size_t conn_queued(const struct conn *conn)
{
	return conn->out.len - conn->out_pos;
}

/* ---- input ---- */

static bool conn_can_read(const struct conn *conn)
{
	return conn->state == CONN_STATE_OPEN && !conn->closing && !conn->eof && !conn->broken &&
	       !conn->job && conn->send == NULL && !conn->user_paused && !conn->out_blocked &&
	       !conn->starttls && (conn->skipping || conn->in.max == 0 || conn->in.len < conn->in.max);
}

/* Drop what is buffered of an over-long line, up to and including its LF. */
static void conn_skip(struct conn *conn)
{
	const char *lf = memchr(conn->in.data, '\n', conn->in.len);

	if (lf == NULL) {
		buf_reset(&conn->in);
		return;
	}
	buf_consume(&conn->in, (size_t)(lf - conn->in.data) + 1);
	conn->skipping = false;
}

static void conn_read(struct conn *conn)
{
	bool got = false;

	while (conn_can_read(conn)) {
		size_t room = conn->in.max == 0 ? CONN_READ_CHUNK : conn->in.max - conn->in.len;
		char *p;
		ssize_t n;

		if (room > CONN_READ_CHUNK)
			room = CONN_READ_CHUNK;
		if (conn->skipping && room == 0)
			room = CONN_READ_CHUNK < conn->in.max ? CONN_READ_CHUNK : conn->in.max;
		p = buf_reserve(&conn->in, room);
		if (p == NULL)
			break;
		n = conn_sock_read(conn, p, room);
		if (n > 0) {
			buf_commit(&conn->in, (size_t)n);
			conn->bytes_in += (uint64_t)n;
			if (conn->partial_on)
				conn->partial_bytes += (uint64_t)n;
			got = true;
			if (conn->skipping)
				conn_skip(conn);
			/* A plain socket that gave less than asked for had no
			 * more: the poll (level-triggered) tells when more comes,
			 * instead of a read that would only find nothing. TLS
			 * may hold decrypted bytes back (conn_settle_once). */
			if (!conn->tls_on && (size_t)n < room)
				break;
		} else if (n == 0) {
			conn->eof = true;
		} else {
			if (n == CONN_IO_ERROR) {
				conn->broken = true;
				conn_close(conn, "read error");
			}
			break;
		}
	}
	if (conn->in.len == 0)
		buf_release(&conn->in);
	if (got && conn->outbound != NULL && conn->outbound->greeting) {
		/* The greeting's deadline is over. */
		conn->outbound->greeting = false;
		conn->idle_timeout = conn->svc->limits.idle_timeout;
	}
	if (got)
		conn_deadline_progress(conn);
}

static void conn_drop_line(struct conn *conn)
{
	if (conn->line_pending > 0) {
		buf_consume(&conn->in, conn->line_pending);
		conn->line_pending = 0;
	}
}

enum conn_line conn_line(struct conn *conn, const char **line_r, size_t *len_r)
{
	size_t len, total;

	conn_drop_line(conn);
	*line_r = NULL;
	*len_r = 0;
	if (conn->skipping || conn->starttls || conn->closing)
		return CONN_LINE_NONE;
	if (!buf_line(&conn->in, &len, &total)) {
		if (conn->in.max > 0 && conn->in.len >= conn->in.max) {
			buf_reset(&conn->in);
			conn->skipping = true;
			return CONN_LINE_TOO_LONG;
		}
		return CONN_LINE_NONE;
	}
	conn->in.data[len] = '\0';
	conn->line_pending = total;
	*line_r = conn->in.data;
	*len_r = len;
	return CONN_LINE_OK;
}

struct buf *conn_input(struct conn *conn)
{
	conn_drop_line(conn);
	return &conn->in;
}

void conn_set_input_max(struct conn *conn, size_t max)
{
	conn->in.max = max;
}

void conn_pause_input(struct conn *conn)
{
	conn->user_paused = true;
}

void conn_resume_input(struct conn *conn)
{
	conn->user_paused = false;
	conn_kick(conn);
}

static bool conn_dispatchable(const struct conn *conn)
{
	return conn->state == CONN_STATE_OPEN && conn->session != NULL && !conn->closing &&
	       !conn->broken && !conn->job && conn->send == NULL && !conn->user_paused &&
	       !conn->out_blocked && !conn->starttls && conn->in.len > 0;
}

/* Feed buffered input to the protocol while it makes progress. */
static void conn_dispatch(struct conn *conn)
{
	conn->stalled = false;
	while (conn_dispatchable(conn)) {
		size_t before = conn->in.len;

		conn->depth++;
		conn->protocol->input(conn->session);
		conn->depth--;
		conn_drop_line(conn);
		/* A line taken is progress: the next line has a clock of its
		 * own. Bytes of a block taken are not: its clock runs from the
		 * block's start to its end (conn_input_unfinished), or a
		 * trickle would restart it with every byte. */
		if (conn->in.len < before && !conn->in_block)
			conn->partial_on = false;
		if (conn->in.len == 0) {
			buf_release(&conn->in);
			break;
		}
		if (conn->in.len == before) {
			/* An incomplete line: wait for more, or (after EOF) close. */
			conn->stalled = conn_dispatchable(conn);
			break;
		}
	}
}

/* ---- output ---- */

/* A producer that sees conn_output_full() stops; remember it, so that
 * protocol->drained is called once the queue is down to half. */
static void conn_output_added(struct conn *conn)
{
	if (conn_queued(conn) >= conn->out_high)
		conn->out_blocked = true;
	conn_kick(conn);
}

/* Whether `len` more bytes may be queued; past the hard cap the
 * connection is closed (once) and the bytes dropped. */
static bool conn_output_room(struct conn *conn, size_t len)
{
	if (conn->state == CONN_STATE_DEAD || conn->state == CONN_STATE_LINGER || conn->broken ||
	    conn->out_overflow)
		return false;
	if (len <= conn->out_hard && conn_queued(conn) <= conn->out_hard - len)
		return true;
	conn_log(conn, LOG_LEVEL_ERROR, "msg=\"output over its hard cap\" queued=%zu adding=%zu cap=%zu",
		 conn_queued(conn), len, conn->out_hard);
	conn->out_overflow = true;
	conn->broken = true;
	conn_close(conn, "output over its hard cap");
	return false;
}

void conn_write(struct conn *conn, const void *data, size_t len)
{
	if (!conn_output_room(conn, len))
		return;
	buf_append(&conn->out, data, len);
	conn_output_added(conn);
}

char *conn_output_reserve(struct conn *conn, size_t n)
{
	if (!conn_output_room(conn, n))
		return NULL;
	return buf_reserve(&conn->out, n);
}

void conn_output_commit(struct conn *conn, size_t n)
{
	buf_commit(&conn->out, n);
	conn_output_added(conn);
}

void conn_printf(struct conn *conn, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(text)) {
		conn_write(conn, text, (size_t)n);
		return;
	}
	if (!conn_output_room(conn, (size_t)n))
		return;
	va_start(ap, fmt);
	buf_vprintf(&conn->out, fmt, ap);
	va_end(ap);
	conn_output_added(conn);
}

bool conn_output_full(const struct conn *conn)
{
	return conn_queued(conn) >= conn->out_high;
}

static void conn_flush(struct conn *conn)
{
	size_t sent = 0;

	if (conn->state != CONN_STATE_OPEN || conn->broken)
		return;
	core_note_output(conn_queued(conn));
	while (conn->out_pos < conn->out.len) {
		ssize_t n = conn_sock_write(conn, conn->out.data + conn->out_pos,
					    conn->out.len - conn->out_pos);

		if (n > 0) {
			conn->out_pos += (size_t)n;
			sent += (size_t)n;
		} else {
			if (n != CONN_IO_AGAIN) {
				conn->broken = true;
				conn_close(conn, "write error");
			}
			break;
		}
	}
	conn->bytes_out += sent;
	if (conn->out_pos == conn->out.len) {
		conn->out_pos = 0;
		buf_release(&conn->out);
	} else if (conn->out_pos > conn_queued(conn)) {
		/* Compact when what is left is smaller than what was sent. */
		buf_consume(&conn->out, conn->out_pos);
		conn->out_pos = 0;
	}
	if (sent > 0)
		conn_deadline_progress(conn);
}

/* ---- closing ---- */

void conn_close(struct conn *conn, const char *reason)
{
	if (conn->closing || conn->state == CONN_STATE_DEAD)
		return;
	conn->closing = true;
	conn->close_reason = reason;
	conn_preauth_remove(conn);
	/* Only accepted connections hold slots that closing ones free. */
	if (conn->end_why != CONN_END_BUSY && conn->outbound == NULL)
		conn_closing_add(conn);
	uv_timer_start(&conn->idle, conn_deadline_cb, CONN_CLOSE_MS, 0);
	uv_timer_stop(&conn->user);
	conn_kick(conn);
}

static void conn_free(struct conn *conn)
{
	struct loop *loop = conn->loop;

	conn_preauth_remove(conn);
	conn_closing_remove(conn);
	close(conn->fd);
	SSL_free(conn->ssl);
	buf_release(&conn->in);
	buf_release(&conn->out);
	if (conn->outbound == NULL)
		core_conn_release(conn->core, conn->remote_ip);
	free(conn->outbound);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		loop->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
	loop_conn_gone(loop);
}

static void conn_handle_closed(uv_handle_t *handle)
{
	struct conn *conn = handle->data;

	if (--conn->handles == 0)
		conn_free(conn);
}

/* The end: called from conn_settle() only, never with a job running. */
static void conn_teardown(struct conn *conn)
{
	double secs = (double)(uv_now(&conn->loop->uv) - conn->start_ms) / 1000.0;

	conn->state = CONN_STATE_DEAD;
	conn_closing_remove(conn);
	if (conn->session != NULL && conn->protocol->close != NULL)
		conn->protocol->close(conn->session);
	conn->session = NULL;
	if (conn->outbound != NULL && !conn->opened)
		conn_connect_gone(conn);
	conn_log(conn, LOG_LEVEL_INFO,
		 "msg=\"disconnect\" reason=\"%s\" in=%llu out=%llu duration=%.3f",
		 conn->close_reason != NULL ? conn->close_reason :
		 conn->eof ? "client closed" : "closed",
		 (unsigned long long)conn->bytes_in, (unsigned long long)conn->bytes_out, secs);
	uv_close((uv_handle_t *)&conn->poll, conn_handle_closed);
	uv_close((uv_handle_t *)&conn->idle, conn_handle_closed);
	uv_close((uv_handle_t *)&conn->user, conn_handle_closed);
	uv_close((uv_handle_t *)&conn->kick, conn_handle_closed);
}

/* Everything is sent: say goodbye (close_notify, FIN), then wait briefly
 * for the client's FIN so that closing with unread input does not reset
 * the connection before the client has read our last reply. */
static void conn_linger(struct conn *conn)
{
	if (conn->tls_on && !conn->ssl_fatal) {
		ERR_clear_error();
		SSL_shutdown(conn->ssl);
		ERR_clear_error();
	}
	shutdown(conn->fd, SHUT_WR);
	conn->state = CONN_STATE_LINGER;
	uv_timer_start(&conn->idle, conn_deadline_cb, CONN_LINGER_MS, 0);
}

static void conn_linger_read(struct conn *conn)
{
	char sink[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(conn->fd, sink, sizeof(sink), 0);

		if (n > 0)
			continue;
		if (n == 0)
			conn->eof = true;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn->broken = true;
		return;
	}
}

/* A connection cut in the middle of something (a job, a file send, output
 * waiting for the client) says where it stood: if a response ever stalls
 * again, the log tells which wake-up it was waiting for. */
static void conn_log_busy(const struct conn *conn, enum conn_end why)
{
	if (!conn->job && conn->send == NULL && !conn->out_blocked && conn_queued(conn) == 0)
		return;
	conn_log(conn, LOG_LEVEL_INFO,
		 "msg=\"ending while busy\" why=\"%s\" job=%d job_queued=%d send=%d "
		 "send_reading=%d send_want_write=%d out_blocked=%d queued=%zu paused=%d "
		 "poll=%d write_wants_read=%d",
		 conn_end_reason(why), conn->job, conn->job_queued, conn->send != NULL,
		 conn->send != NULL && conn->send->reading, conn->send != NULL && conn->send->want_write,
		 conn->out_blocked, conn_queued(conn), conn->user_paused, conn->poll_events,
		 conn->write_wants_read);
}

void conn_end(struct conn *conn, enum conn_end why)
{
	if (conn->state == CONN_STATE_DEAD || conn->closing)
		return;
	conn_log_busy(conn, why);
	conn->end_why = why;
	if (conn->outbound != NULL && !conn->opened)
		conn_connect_fail(conn, why == CONN_END_SHUTDOWN ? CONN_CONNECT_SHUTDOWN :
				  CONN_CONNECT_TIMEOUT);
	if (conn->job && conn->job_queued) {
		/* Not started yet: dropped rather than waited for. */
		conn_close(conn, conn_end_reason(why));
		conn_settle(conn);
		return;
	}
	if (conn->job) {
		conn->end_after_job = true;
		return;
	}
	conn_end_close(conn);
	conn_settle(conn);
}

void conn_end_close(struct conn *conn)
{
	if (conn->state == CONN_STATE_OPEN && conn->session != NULL && conn->send == NULL &&
	    conn->protocol->timeout != NULL) {
		conn->depth++;
		conn->protocol->timeout(conn->session, conn->end_why);
		conn->depth--;
	}
	conn_close(conn, conn_end_reason(conn->end_why));
}

void conn_abort(struct conn *conn)
{
	if (conn->state == CONN_STATE_DEAD)
		return;
	conn->aborting = true;
	conn_close(conn, "shutdown timeout");
	conn_settle(conn);
}

/* ---- the driver ---- */

/* One pass of everything that may follow an event; see the top comment. */
static bool conn_settle_once(struct conn *conn)
{
	bool again = false;

	if (conn->job)
		return conn_job_cancel(conn);
	if (conn->send != NULL && conn_is_closing(conn))
		return conn_send_step(conn);   /* ends it: done runs before close */
	if (conn->aborting || (conn->closing && conn->broken) ||
	    (conn->closing && (conn->state == CONN_STATE_HANDSHAKE ||
			       conn->state == CONN_STATE_CONNECTING)) ||
	    (conn->state == CONN_STATE_LINGER && (conn->eof || conn->broken))) {
		conn_teardown(conn);
		return false;
	}
	if (conn->state != CONN_STATE_OPEN)
		return false;

	conn_dispatch(conn);
	conn_flush(conn);
	if (conn->job)
		return conn_job_cancel(conn);
	if (conn->send != NULL && conn_send_step(conn))
		return true;
	if (conn->job)
		return false;   /* the send reads in a job */
	if (!conn->out_blocked && conn_queued(conn) >= conn->out_high) {
		conn->out_blocked = true;
	} else if (conn->out_blocked && conn_queued(conn) < conn->out_high / 2) {
		conn->out_blocked = false;
		/* A send is its own producer: the session waits for its done. */
		if (conn->session != NULL && !conn->closing && conn->send == NULL &&
		    conn->protocol->drained != NULL) {
			conn->depth++;
			conn->protocol->drained(conn->session);
			conn->depth--;
		}
		again = true;
	}
	if (conn->starttls && conn_queued(conn) == 0 && !conn->closing && !conn->broken) {
		conn_tls_begin(conn);
		return conn->state == CONN_STATE_OPEN;
	}
	if (conn_can_read(conn) && conn->tls_on && SSL_has_pending(conn->ssl)) {
		/* OpenSSL holds decrypted bytes the socket will not signal. */
		conn_read(conn);
		again = true;
	}
	/* After the client's EOF, every complete command it sent is still
	 * answered; close when nothing is left to do (an incomplete last line
	 * is dropped). A session that paused itself (timer, producer) or a
	 * drained callback that just resumed it comes back here later. */
	if (conn->eof && !conn->closing && !conn->job && conn->send == NULL && !conn->out_blocked &&
	    !conn->user_paused && !conn->starttls && !again &&
	    (conn->in.len == 0 || conn->stalled || conn->state != CONN_STATE_OPEN))
		conn_close(conn, "client closed");
	if (conn->closing && !conn->job) {
		if (conn->broken || conn->eof) {
			if (conn->broken || conn_queued(conn) == 0) {
				conn_teardown(conn);
				return false;
			}
		} else if (conn_queued(conn) == 0) {
			/* Closed to make room: the slot is wanted now, and
			 * the busy line is no loss if a reset overtakes it. */
			if (conn->end_why == CONN_END_BUSY) {
				conn_teardown(conn);
				return false;
			}
			conn_linger(conn);
		}
	}
	return again;
}

void conn_settle(struct conn *conn)
{
	int round;

	if (conn->depth > 0)
		return;
	for (round = 0; round < CONN_SETTLE_ROUNDS; round++) {
		if (conn->state == CONN_STATE_DEAD)
			return;
		if (!conn_settle_once(conn))
			break;
	}
	if (conn->state == CONN_STATE_DEAD)
		return;
	if (round == CONN_SETTLE_ROUNDS)
		conn_kick(conn);
	if (conn->state == CONN_STATE_OPEN)
		conn_deadline_track(conn, conn_can_read(conn));
	conn_update_poll(conn);
}

static void conn_poll_cb(uv_poll_t *poll, int status, int events);

static void conn_update_poll(struct conn *conn)
{
	int ev = 0;

	switch (conn->state) {
	case CONN_STATE_CONNECTING:
		ev = UV_WRITABLE;
		break;
	case CONN_STATE_HANDSHAKE:
		ev = conn->handshake_read ? UV_READABLE : UV_WRITABLE;
		break;
	case CONN_STATE_LINGER:
		ev = UV_READABLE;
		break;
	case CONN_STATE_OPEN:
		if (conn->broken)
			break;
		if (conn_can_read(conn))
			ev |= conn->read_wants_write ? UV_WRITABLE : UV_READABLE;
		else if (!conn->eof && !conn->hup)
			ev |= UV_DISCONNECT;   /* conn_client_gone() while paused */
		if (conn_queued(conn) > 0)
			ev |= conn->write_wants_read ? UV_READABLE : UV_WRITABLE;
		else if (conn->send != NULL && conn->send->want_write)
			ev |= UV_WRITABLE;     /* sendfile met a full socket */
		break;
	case CONN_STATE_DEAD:
		return;
	}
	if (ev == conn->poll_events)
		return;
	conn->poll_events = ev;
	if (ev == 0)
		uv_poll_stop(&conn->poll);
	else
		uv_poll_start(&conn->poll, ev, conn_poll_cb);
}

static void conn_poll_cb(uv_poll_t *poll, int status, int events)
{
	struct conn *conn = poll->data;

	if (conn->state == CONN_STATE_CONNECTING) {
		conn_connect_ready(conn);   /* SO_ERROR says what a failed status means */
	} else if (status < 0) {
		conn->broken = true;
		conn_close(conn, "socket error");
	} else if (conn->state == CONN_STATE_HANDSHAKE) {
		conn_handshake(conn);
	} else if (conn->state == CONN_STATE_LINGER) {
		conn_linger_read(conn);
	} else if (conn->state == CONN_STATE_OPEN) {
		if (events & UV_DISCONNECT)
			conn->hup = true;
		if ((events & UV_WRITABLE) || (conn->write_wants_read && (events & UV_READABLE)))
			conn_flush(conn);
		if (conn_can_read(conn) &&
		    ((events & UV_READABLE) || (conn->read_wants_write && (events & UV_WRITABLE))))
			conn_read(conn);
	}
	conn_settle(conn);
}

/* ---- birth ---- */

void conn_addr_text(const struct sockaddr_storage *ss, char *out, size_t outsize, uint16_t *port_r)
{
	snprintf(out, outsize, "unknown");
	*port_r = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outsize);
		*port_r = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, out, (socklen_t)outsize);
		*port_r = ntohs(sin6->sin6_port);
	}
}

static void conn_handle_init(struct conn *conn, uv_handle_t *handle)
{
	handle->data = conn;
	conn->handles++;
}

/* The client is connected, with TLS when the listener wants it. */
void conn_open(struct conn *conn)
{
	conn->opened = true;
	conn->depth++;
	conn->session = conn->protocol->open(conn);
	conn->depth--;
	if (conn->session == NULL)
		conn_close(conn, "refused by protocol");
}

struct conn *conn_new(struct loop *loop, const struct core_service *svc, int fd)
{
	const struct config *cfg = core_config(loop->core);
	struct conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		abort();
	conn->loop = loop;
	conn->svc = svc;
	conn->core = loop->core;
	conn->cfg = cfg;
	conn->protocol = svc->protocol;
	conn->fd = fd;
	conn->idle_timeout = svc->limits.idle_timeout;
	buf_init(&conn->in, svc->limits.line_length > 0 ? svc->limits.line_length : 8192);
	buf_init(&conn->out, 0);
	conn->out_high = cfg->limits.output_buffer > 0 ? (size_t)cfg->limits.output_buffer : 262144;
	conn->out_hard = conn->out_high * CONN_OUTPUT_HARD_FACTOR + CONN_OUTPUT_PIECE_MAX;
	conn->start_ms = conn->active_ms = uv_now(&loop->uv);
	conn_make_sid(conn->sid);
	if (uv_poll_init(&loop->uv, &conn->poll, conn->fd) != 0)
		abort();
	conn_handle_init(conn, (uv_handle_t *)&conn->poll);
	uv_timer_init(&loop->uv, &conn->idle);
	conn_handle_init(conn, (uv_handle_t *)&conn->idle);
	uv_timer_init(&loop->uv, &conn->user);
	conn_handle_init(conn, (uv_handle_t *)&conn->user);
	uv_timer_init(&loop->uv, &conn->kick);
	conn_handle_init(conn, (uv_handle_t *)&conn->kick);
	conn->next = loop->conns;
	if (loop->conns != NULL)
		loop->conns->prev = conn;
	loop->conns = conn;
	return conn;
}

void conn_accepted(void *arg)
{
	struct conn_accept *acc = arg;
	struct loop *loop = loop_current();
	struct core *core = listener_core(acc->listener);
	const struct core_service *svc = listener_service(acc->listener);
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct conn *conn;
	int one = 1;

	if (loop->stopping) {
		close(acc->fd);
		if (svc->protocol->has_login)
			core_preauth_count(core, -1);
		core_conn_release(core, acc->remote_ip);
		free(acc);
		loop_conn_gone(loop);
		return;
	}
	conn = conn_new(loop, svc, acc->fd);
	conn->remote = acc->remote;
	snprintf(conn->remote_ip, sizeof(conn->remote_ip), "%s", acc->remote_ip);
	conn->local = acc->local;
	conn->cred = acc->cred;
	conn->born_ns = acc->born_ns;
	free(acc);
	if (conn->local)
		snprintf(conn->local_ip, sizeof(conn->local_ip), "unix");
	else if (getsockname(conn->fd, (struct sockaddr *)&local, &llen) == 0)
		conn_addr_text(&local, conn->local_ip, sizeof(conn->local_ip), &conn->local_port);
	if (!conn->local)
		setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (conn->local)
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"connect\" local=unix pid=%ld",
			 (long)conn->cred.pid);
	else
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"connect\" local=%s:%u%s", conn->local_ip,
			 conn->local_port, svc->implicit_tls ? " tls=implicit" : "");
	if (conn->protocol->has_login)
		conn_preauth_add(conn);
	conn_deadline_arm(conn);
	if (!svc->implicit_tls) {
		conn_open(conn);
	} else if (core_tls(core) == NULL) {
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"no certificate loaded for implicit TLS\"");
		conn->broken = true;
		conn_close(conn, "no certificate");
	} else {
		conn_tls_begin(conn);
	}
	conn_settle(conn);
}
