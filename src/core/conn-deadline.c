/* conn-deadline - when the core cuts a connection its client did not end:
 * the idle timeout, the login deadline of protocols with a login phase, the
 * minimum input rate of an unfinished line or block, and (while closing)
 * the flush and linger deadlines, all on the one timer `conn->idle`; and
 * the per-loop lists of connections not logged in yet, oldest first, and
 * of connections that are only closing, from which the server makes room
 * when it is nearly full. See conn.h. */
#include "core/conn.h"

#include <stdlib.h>

#include "core/conn-internal.h"

/* A deadline that passes while a job runs is looked at again this much
 * later: the job decides (a login that succeeds ends the login deadline). */
#define CONN_DEADLINE_RECHECK_MS 1000

static const char *const conn_end_reasons[] = {
	[CONN_END_IDLE] = "idle timeout",
	[CONN_END_SHUTDOWN] = "server shutdown",
	[CONN_END_LOGIN_TIMEOUT] = "login timeout",
	[CONN_END_SLOW_INPUT] = "input too slow",
	[CONN_END_BUSY] = "server busy, closed to make room",
};
_Static_assert(sizeof(conn_end_reasons) / sizeof(conn_end_reasons[0]) == CONN_END__COUNT,
	       "conn_end_reasons");

const char *conn_end_reason(enum conn_end why)
{
	return (unsigned)why < CONN_END__COUNT ? conn_end_reasons[why] : "closed";
}

/* The earliest deadline that applies now (uv_now() ms), and which it is;
 * UINT64_MAX when none does. */
static uint64_t conn_deadline_next(const struct conn *conn, enum conn_end *why_r)
{
	const struct config *cfg = conn->cfg;
	uint64_t at = UINT64_MAX;

	*why_r = CONN_END_IDLE;
	if (conn->idle_timeout > 0)
		at = conn->active_ms + (uint64_t)conn->idle_timeout * 1000;
	if (conn->preauth && cfg->limits.login_timeout > 0) {
		uint64_t t = conn->start_ms + (uint64_t)cfg->limits.login_timeout * 1000;

		if (t < at) {
			at = t;
			*why_r = CONN_END_LOGIN_TIMEOUT;
		}
	}
	if (conn->partial_on && cfg->limits.min_input_rate > 0) {
		/* The grace, plus one second for every min_input_rate bytes
		 * received: a transfer that keeps the rate never runs out. */
		uint64_t t = conn->partial_ms + (uint64_t)cfg->limits.slow_input_timeout * 1000 +
			     conn->partial_bytes * 1000 / cfg->limits.min_input_rate;

		if (t < at) {
			at = t;
			*why_r = CONN_END_SLOW_INPUT;
		}
	}
	return at;
}

void conn_deadline_arm(struct conn *conn)
{
	enum conn_end why;
	uint64_t at, now;

	/* While closing, in the handshake and while lingering, the timer
	 * carries those phases' own deadlines. */
	if (conn->closing || conn->state != CONN_STATE_OPEN)
		return;
	at = conn_deadline_next(conn, &why);
	if (at == UINT64_MAX) {
		uv_timer_stop(&conn->idle);
		return;
	}
	now = uv_now(&conn->loop->uv);
	uv_timer_start(&conn->idle, conn_deadline_cb, at > now ? at - now : 0, 0);
}

void conn_deadline_progress(struct conn *conn)
{
	conn->active_ms = uv_now(&conn->loop->uv);
	conn_deadline_arm(conn);
}

void conn_deadline_track(struct conn *conn, bool can_read)
{
	bool waiting = can_read && (conn->in.len > 0 || conn->skipping || conn->in_block);

	if (waiting == conn->partial_on)
		return;
	conn->partial_on = waiting;
	if (waiting) {
		conn->partial_ms = uv_now(&conn->loop->uv);
		conn->partial_bytes = 0;
	}
	conn_deadline_arm(conn);
}

void conn_set_idle_timeout(struct conn *conn, unsigned seconds)
{
	if (conn->outbound != NULL)
		conn->outbound->greeting = false;   /* the session's choice stands */
	conn->idle_timeout = seconds;
	conn_deadline_arm(conn);
}

void conn_input_unfinished(struct conn *conn, bool unfinished)
{
	if (conn->in_block != unfinished)
		conn->partial_on = false;   /* a block starts or ends: a new clock */
	conn->in_block = unfinished;
	conn_kick(conn);
}

void conn_deadline_cb(uv_timer_t *timer)
{
	struct conn *conn = timer->data;
	enum conn_end why;
	uint64_t at, now;

	if (conn->state == CONN_STATE_DEAD)
		return;
	if (conn->closing || conn->state == CONN_STATE_LINGER) {
		/* The flush or the lingering close took too long. */
		conn->aborting = true;
		conn_settle(conn);
		return;
	}
	at = conn_deadline_next(conn, &why);
	now = uv_now(&conn->loop->uv);
	if (at > now) {
		conn_deadline_arm(conn);
		return;
	}
	if (conn->job) {
		/* Nothing is expected of the client while its job runs. */
		conn->active_ms = now;
		if (why == CONN_END_IDLE)
			conn_deadline_arm(conn);
		else
			uv_timer_start(&conn->idle, conn_deadline_cb, CONN_DEADLINE_RECHECK_MS, 0);
		return;
	}
	conn_end(conn, why);
}

/* ---- connections waiting to log in ---- */

static void conn_preauth_publish(struct loop *loop)
{
	atomic_store(&loop->preauth_oldest,
		     loop->preauth_head != NULL ? loop->preauth_head->born_ns : UINT64_MAX);
}

void conn_preauth_add(struct conn *conn)
{
	struct loop *loop = conn->loop;

	conn->preauth = true;
	conn->preauth_next = NULL;
	conn->preauth_prev = loop->preauth_tail;
	if (loop->preauth_tail != NULL)
		loop->preauth_tail->preauth_next = conn;
	else
		loop->preauth_head = conn;
	loop->preauth_tail = conn;
	conn_preauth_publish(loop);
}

void conn_preauth_remove(struct conn *conn)
{
	struct loop *loop = conn->loop;

	if (!conn->preauth)
		return;
	conn->preauth = false;
	if (conn->preauth_prev != NULL)
		conn->preauth_prev->preauth_next = conn->preauth_next;
	else
		loop->preauth_head = conn->preauth_next;
	if (conn->preauth_next != NULL)
		conn->preauth_next->preauth_prev = conn->preauth_prev;
	else
		loop->preauth_tail = conn->preauth_prev;
	conn->preauth_next = conn->preauth_prev = NULL;
	conn_preauth_publish(loop);
	core_preauth_count(conn->core, -1);
}

void conn_authenticated(struct conn *conn)
{
	conn_preauth_remove(conn);
	conn_deadline_arm(conn);
}

/* ---- connections that are only closing ---- */

void conn_closing_add(struct conn *conn)
{
	struct loop *loop = conn->loop;

	if (conn->on_closing)
		return;
	conn->on_closing = true;
	conn->closing_next = NULL;
	conn->closing_prev = loop->closing_tail;
	if (loop->closing_tail != NULL)
		loop->closing_tail->closing_next = conn;
	else
		loop->closing_head = conn;
	loop->closing_tail = conn;
	atomic_fetch_add(&loop->closing_count, 1);
	core_closing_count(conn->core, 1);
}

void conn_closing_remove(struct conn *conn)
{
	struct loop *loop = conn->loop;

	if (!conn->on_closing)
		return;
	conn->on_closing = false;
	if (conn->closing_prev != NULL)
		conn->closing_prev->closing_next = conn->closing_next;
	else
		loop->closing_head = conn->closing_next;
	if (conn->closing_next != NULL)
		conn->closing_next->closing_prev = conn->closing_prev;
	else
		loop->closing_tail = conn->closing_prev;
	conn->closing_next = conn->closing_prev = NULL;
	atomic_fetch_sub(&loop->closing_count, 1);
	core_closing_count(conn->core, -1);
}

/* The first connection of the loop that is only closing and can go at
 * once (not waiting for a job), or NULL. */
static struct conn *loop_closing_victim(struct loop *loop)
{
	struct conn *conn = loop->closing_head;

	while (conn != NULL && conn->job)
		conn = conn->closing_next;
	return conn;
}

/* ---- making room ---- */

static void loop_evict_preauth_here(void *arg)
{
	struct loop *loop = arg;
	struct conn *conn = loop_closing_victim(loop);

	if (conn != NULL) {
		/* Its last reply is flushing, or sent and waiting for the
		 * client's FIN: a client that neither reads nor closes must
		 * not hold the slot for the flush or linger deadline. */
		core_eviction_done(loop->core);
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"cutting a closing connection to make room\" "
			 "state=%s", conn->state == CONN_STATE_LINGER ? "linger" : "flush");
		conn->aborting = true;
		conn_settle(conn);
		return;
	}
	conn = loop->preauth_head;
	/* Not one whose login is being checked right now: it may be a user
	 * about to get in. */
	while (conn != NULL && conn->job && !conn->job_queued)
		conn = conn->preauth_next;
	core_eviction_done(loop->core);
	if (conn == NULL)
		return;
	conn_log(conn, LOG_LEVEL_INFO, "msg=\"closing the oldest connection not logged in to make room\" age=%.1f",
		 (double)(uv_now(&loop->uv) - conn->start_ms) / 1000.0);
	/* Off the list now, so that the next eviction picks another. */
	conn_preauth_remove(conn);
	conn_end(conn, CONN_END_BUSY);
}

void loop_evict_preauth(void *arg)
{
	struct loop *loop = arg;
	struct loop *oldest = core_oldest_preauth_loop(loop->core);

	if (loop_closing_victim(loop) == NULL && oldest != loop &&
	    atomic_load(&oldest->preauth_oldest) < atomic_load(&loop->preauth_oldest))
		loop_post(oldest, loop_evict_preauth_here, oldest);
	else
		loop_evict_preauth_here(loop);
}
