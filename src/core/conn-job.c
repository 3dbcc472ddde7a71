/* conn-job - work a connection hands to the libuv thread pool (conn_job,
 * conn_job_limited with its process-wide slots, conn_job_after_close), the
 * work-less wait conn_job_wait, and the per-connection timer conn_timer();
 * see conn.h. */
#include "core/conn.h"

#include <stdlib.h>

#include "core/conn-internal.h"
#include "core/job-limit.h"

/* ---- jobs and timers ---- */

static void conn_work_cb(uv_work_t *req)
{
	struct conn *conn = req->data;

	conn->job_work(conn->job_arg);
}

/* The job is over (or was never run): call done; no settling here. */
static void conn_job_finish(struct conn *conn)
{
	conn->job = false;
	conn->depth++;
	conn->job_done(conn->job_arg);
	conn->depth--;
	/* Ending (shutdown, eviction): done may have started more work; a job
	 * that has to wait (for a slot or in conn_job_wait) is not waited for. */
	if (conn->end_after_job && (!conn->job || conn->job_queued) && !conn->closing)
		conn_end_close(conn);
}

static void conn_limit_start(void *arg);

/* Give back the slot of a limited job: the next waiter, whatever loop
 * its connection lives on, starts there. */
static void conn_limit_release(struct conn *conn)
{
	struct job_limit *limit = conn->job_limit;
	struct job_limit_waiter *next;

	if (limit == NULL)
		return;
	conn->job_limit = NULL;
	next = job_limit_leave(limit);
	if (next != NULL) {
		struct conn *other = next->owner;

		/* `other` cannot go away meanwhile: its job flag holds it. */
		loop_post(other->loop, conn_limit_start, other);
	}
}

static void conn_after_work_cb(uv_work_t *req, int status)
{
	struct conn *conn = req->data;

	(void)status;
	conn_limit_release(conn);
	conn_job_finish(conn);
	conn_settle(conn);
}

static void conn_job_queue(struct conn *conn)
{
	conn->work.data = conn;
	if (uv_queue_work(&conn->loop->uv, &conn->work, conn_work_cb, conn_after_work_cb) != 0)
		abort();
}

/* On the connection's loop: its waiting job was handed a slot. */
static void conn_limit_start(void *arg)
{
	struct conn *conn = arg;

	conn->job_queued = false;
	if (!conn_client_gone(conn)) {
		conn_job_queue(conn);
		return;
	}
	/* Closed or gone while it waited: the work is not worth doing. */
	conn_limit_release(conn);
	conn_job_finish(conn);
	conn_settle(conn);
}

/* From conn_settle only: a job that has not started (waiting for a slot,
 * or a conn_job_wait) ends at once when the connection closes or its
 * client goes. Returns true when done ran. */
bool conn_job_cancel(struct conn *conn)
{
	if (!conn->job_queued || !conn_client_gone(conn))
		return false;
	if (conn->job_limit != NULL) {
		if (!job_limit_cancel(conn->job_limit, &conn->job_waiter))
			return false;   /* a slot is on its way: conn_limit_start ends it */
		conn->job_limit = NULL;
	} else {
		uv_timer_stop(&conn->user);
	}
	conn->job_queued = false;
	conn_job_finish(conn);
	return true;
}

static void conn_job_begin(struct conn *conn, void (*work)(void *arg), void (*done)(void *arg),
			   void *arg)
{
	if (conn->job || (conn->send != NULL && !conn->send->reading)) {
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"%s\"", conn->job ?
			 "second job started while one runs" : "job started during a file send");
		abort();
	}
	conn->job = true;
	conn->job_work = work;
	conn->job_done = done;
	conn->job_arg = arg;
}

void conn_job(struct conn *conn, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	conn_job_begin(conn, work, done, arg);
	conn_job_queue(conn);
}

bool conn_job_limited(struct conn *conn, struct job_limit *limit, enum job_limit_prio prio,
		      void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	if (limit == NULL) {
		conn_job(conn, work, done, arg);
		return true;
	}
	conn->job_waiter.owner = conn;
	switch (job_limit_enter(limit, &conn->job_waiter, prio)) {
	case JOB_LIMIT_RUN:
		conn_job_begin(conn, work, done, arg);
		conn->job_limit = limit;
		conn_job_queue(conn);
		return true;
	case JOB_LIMIT_QUEUED:
		conn_job_begin(conn, work, done, arg);
		conn->job_limit = limit;
		/* conn_settle drops it if the client is gone or goes */
		conn->job_queued = true;
		return true;
	case JOB_LIMIT_FULL:
	default:
		return false;
	}
}

/* On the connection's loop: the awaited work is done. */
static void conn_await_finish(void *arg)
{
	struct conn *conn = arg;

	conn_job_finish(conn);
	conn_settle(conn);
}

struct conn_await *conn_await(struct conn *conn, void (*done)(void *arg), void *arg)
{
	conn_job_begin(conn, NULL, done, arg);
	/* The token is the connection: its job flag keeps it alive until
	 * conn_await_finish has run. */
	return (struct conn_await *)conn;
}

void conn_await_done(struct conn_await *await)
{
	struct conn *conn = (struct conn *)await;

	loop_post(conn->loop, conn_await_finish, conn);
}

bool conn_job_running(const struct conn *conn)
{
	return conn->job || conn->send != NULL;
}

struct job_limit *conn_auth_limit(const struct conn *conn)
{
	return core_auth_limit(conn->core);
}

/* A job that outlives its connection (conn_job_after_close). */
struct conn_orphan {
	uv_work_t req;
	void (*work)(void *arg);
	void *arg;
};

static void conn_orphan_work_cb(uv_work_t *req)
{
	struct conn_orphan *orphan = req->data;

	orphan->work(orphan->arg);
}

static void conn_orphan_done_cb(uv_work_t *req, int status)
{
	(void)status;
	free(req->data);
}

void conn_job_after_close(struct conn *conn, void (*work)(void *arg), void *arg)
{
	struct conn_orphan *orphan = calloc(1, sizeof(*orphan));

	if (orphan == NULL)
		abort();
	orphan->work = work;
	orphan->arg = arg;
	orphan->req.data = orphan;
	if (uv_queue_work(&conn->loop->uv, &orphan->req, conn_orphan_work_cb,
			  conn_orphan_done_cb) != 0)
		abort();
}

/* The wait of a conn_job_wait is over. */
static void conn_wait_cb(uv_timer_t *timer)
{
	struct conn *conn = timer->data;

	if (!conn->job || !conn->job_queued || conn->job_limit != NULL)
		return;
	conn->job_queued = false;
	conn_job_finish(conn);
	conn_settle(conn);
}

void conn_job_wait(struct conn *conn, uint64_t ms, void (*done)(void *arg), void *arg)
{
	conn_job_begin(conn, NULL, done, arg);
	conn->job_limit = NULL;
	conn->job_queued = true;   /* not started: conn_settle ends it early */
	conn->timer_cb = NULL;
	uv_timer_start(&conn->user, conn_wait_cb, ms, 0);
}

static void conn_user_timer_cb(uv_timer_t *timer)
{
	struct conn *conn = timer->data;

	if (conn->state == CONN_STATE_OPEN && !conn->closing && conn->session != NULL &&
	    conn->timer_cb != NULL) {
		conn->depth++;
		conn->timer_cb(conn->session);
		conn->depth--;
	}
	conn_settle(conn);
}

void conn_timer(struct conn *conn, uint64_t ms, void (*cb)(void *session))
{
	if (conn->state == CONN_STATE_DEAD)
		return;
	conn->timer_cb = cb;
	if (ms == 0 || cb == NULL)
		uv_timer_stop(&conn->user);
	else
		uv_timer_start(&conn->user, conn_user_timer_cb, ms, 0);
}
