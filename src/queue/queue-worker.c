/* queue-worker - the queue's own loop thread: it starts delivery jobs on
 * libuv's thread pool as soon as committed recipients wait (one job per
 * account at a time, so that what arrives for an account meanwhile goes
 * into its next job as one batch; a job goes on to other waiting accounts
 * before it ends), scans queue.db for due recipients (at
 * the start, at each retry time, after a flush or a release), refills
 * the pool of pre-created files, and closes the store handles delivery
 * left open once they are idle. It never blocks: the scans, the refills,
 * the closes and the deliveries are jobs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "queue/queue-private.h"

/* Recipients per delivery job (one store transaction), and per scan. */
#define QUEUE_JOB_BATCH 256
#define QUEUE_SCAN_BATCH 1000
/* Accounts one delivery job takes in turn before it gives its thread
 * back (to the other jobs of libuv's pool). */
#define QUEUE_JOB_ACCOUNTS 16

struct queue_worker {
	struct queue *q;
	struct queue_active *active;
	uv_loop_t loop;
	uv_async_t async;
	uv_timer_t timer;
	uv_timer_t expire;       /* closes idle store handles, while any is open */
	pthread_t thread;
	bool thread_started;
	/* under the active set's lock */
	bool stopping, closed;
	bool scan_wanted, scan_running, refill_wanted, refill_running;
	bool expire_armed, expire_running, handles_left;
	bool scan_when_idle;     /* scan again once no delivery runs or waits */
	int64_t started;         /* the first scan reports what a crash left unreported */
	unsigned jobs, jobs_max;
	int64_t next_retry;      /* the earliest retry known, 0 when none */
	int64_t timer_at;        /* what the timer is set for, 0 when idle */
};

enum queue_job_kind {
	QUEUE_JOB_DELIVER,
	QUEUE_JOB_SCAN,
	QUEUE_JOB_REFILL,
	QUEUE_JOB_EXPIRE,
};

struct queue_job {
	uv_work_t req;
	struct queue_worker *w;
	enum queue_job_kind kind;
	char *address;
	struct queue_entry *entries;
};

int64_t queue_now(void)
{
	return (int64_t)time(NULL);
}

struct queue_active *queue_worker_active(struct queue *q)
{
	return q->worker->active;
}

/* Half of libuv's pool, as the core gives password checks, so that
 * deliveries never take every thread the sessions' jobs need. */
static unsigned queue_jobs_max(void)
{
	const char *v = getenv("UV_THREADPOOL_SIZE");
	unsigned long n = v != NULL ? strtoul(v, NULL, 10) : 4;

	return n >= 4 ? (unsigned)(n > 1024 ? 512 : n / 2) : 1;
}

/* Under the lock: a smaller retry time. */
static void queue_worker_retry_at(struct queue_worker *w, int64_t when)
{
	if (when > 0 && (w->next_retry == 0 || when < w->next_retry))
		w->next_retry = when;
}

/* --- jobs -------------------------------------------------------------- */

static bool queue_scan_add(void *ctx, const struct queue_db_due *due)
{
	struct queue_worker *w = ctx;

	queue_active_add(w->active, due->id, due->size, due->arrival, due->idx, due->address,
			 due->notify);
	return true;
}

static void queue_scan(struct queue_worker *w)
{
	int64_t now = queue_now(), when = 0, started;
	size_t n = 0;
	enum db_result r;

	queue_active_lock(w->active);
	started = w->started;
	w->started = 0;
	queue_active_unlock(w->active);
	if (started != 0)
		(void)queue_report_unreported(w->q, true, started, NULL, 0);
	queue_db_delete_again(w->q->db);

	queue_active_lock(w->active);
	r = queue_db_due(w->q->db, true, now, 0, QUEUE_SCAN_BATCH, queue_scan_add, w, &n);
	queue_active_unlock(w->active);
	if (r == DB_OK)
		r = queue_db_next_try(w->q->db, true, now, &when);
	queue_active_lock(w->active);
	queue_worker_retry_at(w, when);
	/* More than one batch due: look again once these are done (at once,
	 * the same oldest ones would come back, in flight); queue.db failed:
	 * in a minute. */
	if (n == QUEUE_SCAN_BATCH)
		w->scan_when_idle = true;
	if (r != DB_OK)
		queue_worker_retry_at(w, now + 60);
	queue_active_unlock(w->active);
}

/* A delivery job: its account, then, while other accounts wait, theirs in
 * turn (at most QUEUE_JOB_ACCOUNTS), so that deliveries that follow one
 * another cost no hand-off to the queue's loop and back: a wake-up each
 * way, the cost that dominates on a VM (bench/README.md). Each account's
 * retry time is noted as it ends (queue_job_done's dispatch sets the
 * timer). The next account is taken before the last is let go, so the
 * account the job ends with is the one queue_job_done lets go. */
static void queue_job_deliver(struct queue_job *job)
{
	struct queue_worker *w = job->w;

	for (unsigned k = 1;; k++) {
		int64_t next_try = queue_deliver_run(w->q, w->active, job->address, job->entries);
		struct queue_entry *entries = NULL;
		const char *address;

		queue_active_lock(w->active);
		queue_worker_retry_at(w, next_try);
		if (k < QUEUE_JOB_ACCOUNTS && !w->stopping &&
		    (entries = queue_active_take(w->active, QUEUE_JOB_BATCH, &address)) != NULL) {
			queue_active_account_done(w->active, job->address);
			free(job->address);
			if ((job->address = strdup(address)) == NULL)
				abort();
			job->entries = entries;
		}
		queue_active_unlock(w->active);
		if (entries == NULL)
			return;
	}
}

static void queue_job_work(uv_work_t *req)
{
	struct queue_job *job = req->data;
	struct queue *q = job->w->q;

	switch (job->kind) {
	case QUEUE_JOB_DELIVER:
		queue_job_deliver(job);
		break;
	case QUEUE_JOB_SCAN:
		queue_scan(job->w);
		break;
	case QUEUE_JOB_REFILL:
		queue_pool_refill(q);
		break;
	case QUEUE_JOB_EXPIRE:
		job->w->handles_left = queue_handles_expire(q->handles);
		break;
	}
}

static void queue_worker_dispatch(struct queue_worker *w);

static void queue_job_start(struct queue_worker *w, enum queue_job_kind kind,
			    const char *address, struct queue_entry *entries);

static void queue_expire_fired(uv_timer_t *timer)
{
	struct queue_worker *w = timer->data;

	queue_active_lock(w->active);
	if (!w->expire_running && !w->stopping) {
		w->expire_running = true;
		queue_job_start(w, QUEUE_JOB_EXPIRE, NULL, NULL);
	}
	queue_active_unlock(w->active);
}

static void queue_job_done(uv_work_t *req, int status)
{
	struct queue_job *job = req->data;
	struct queue_worker *w = job->w;

	(void)status;
	queue_active_lock(w->active);
	switch (job->kind) {
	case QUEUE_JOB_DELIVER:
		queue_active_account_done(w->active, job->address);
		w->jobs--;
		break;
	case QUEUE_JOB_SCAN:
		w->scan_running = false;
		break;
	case QUEUE_JOB_REFILL:
		w->refill_running = false;
		break;
	case QUEUE_JOB_EXPIRE:
		w->expire_running = false;
		/* nothing open any more: the timer rests until a delivery */
		if (!w->handles_left && !w->stopping && w->jobs == 0) {
			uv_timer_stop(&w->expire);
			w->expire_armed = false;
		}
		break;
	}
	if (job->kind == QUEUE_JOB_DELIVER && !w->expire_armed && !w->stopping) {
		w->expire_armed = true;
		uv_timer_start(&w->expire, queue_expire_fired, QUEUE_HANDLE_IDLE_MS,
			       QUEUE_HANDLE_IDLE_MS);
	}
	queue_active_unlock(w->active);
	free(job->address);
	free(job);
	queue_worker_dispatch(w);
}

static void queue_job_start(struct queue_worker *w, enum queue_job_kind kind,
			    const char *address, struct queue_entry *entries)
{
	struct queue_job *job = calloc(1, sizeof(*job));

	if (job == NULL || (address != NULL && (job->address = strdup(address)) == NULL))
		abort();
	job->w = w;
	job->kind = kind;
	job->entries = entries;
	job->req.data = job;
	uv_queue_work(&w->loop, &job->req, queue_job_work, queue_job_done);
}

/* --- the loop ---------------------------------------------------------- */

static void queue_timer_fired(uv_timer_t *timer)
{
	struct queue_worker *w = timer->data;

	queue_active_lock(w->active);
	w->timer_at = 0;
	if (w->next_retry <= queue_now()) {
		w->next_retry = 0;
		w->scan_wanted = true;
	}
	queue_active_unlock(w->active);
	queue_worker_dispatch(w);
}

/* Under the lock: the timer set for the earliest retry. */
static void queue_worker_arm(struct queue_worker *w)
{
	int64_t now = queue_now();

	if (w->next_retry == 0 || w->next_retry == w->timer_at)
		return;
	w->timer_at = w->next_retry;
	uv_timer_start(&w->timer, queue_timer_fired,
		       w->next_retry > now ? (uint64_t)(w->next_retry - now) * 1000 : 0, 0);
}

/* Start what can start: delivery jobs for waiting accounts (up to the
 * cap), a scan, a refill; or, when stopping and nothing runs, close. */
static void queue_worker_dispatch(struct queue_worker *w)
{
	struct queue_entry *entries;
	const char *address;

	queue_active_lock(w->active);
	if (w->stopping) {
		queue_active_drop_waiting(w->active);
		if (w->jobs == 0 && !w->scan_running && !w->refill_running && !w->expire_running &&
		    !w->closed) {
			w->closed = true;
			uv_close((uv_handle_t *)&w->async, NULL);
			uv_close((uv_handle_t *)&w->timer, NULL);
			uv_close((uv_handle_t *)&w->expire, NULL);
		}
		queue_active_unlock(w->active);
		return;
	}
	while (w->jobs < w->jobs_max &&
	       (entries = queue_active_take(w->active, QUEUE_JOB_BATCH, &address)) != NULL) {
		w->jobs++;
		queue_job_start(w, QUEUE_JOB_DELIVER, address, entries);
	}
	if (w->scan_when_idle && w->jobs == 0 && !w->scan_running) {
		w->scan_when_idle = false;
		w->scan_wanted = true;
	}
	if (w->scan_wanted && !w->scan_running) {
		w->scan_wanted = false;
		w->scan_running = true;
		queue_job_start(w, QUEUE_JOB_SCAN, NULL, NULL);
	}
	if (w->refill_wanted && !w->refill_running) {
		w->refill_wanted = false;
		w->refill_running = true;
		queue_job_start(w, QUEUE_JOB_REFILL, NULL, NULL);
	}
	queue_worker_arm(w);
	queue_active_unlock(w->active);
}

static void queue_async_cb(uv_async_t *async)
{
	queue_worker_dispatch(async->data);
}

static void *queue_worker_main(void *arg)
{
	struct queue_worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	return NULL;
}

int queue_worker_start(struct queue *q, char **error_r)
{
	struct queue_worker *w = calloc(1, sizeof(*w));
	int err;

	if (w == NULL)
		abort();
	w->q = q;
	w->active = queue_active_new();
	w->jobs_max = queue_jobs_max();
	/* what was queued before the start is due now */
	w->scan_wanted = true;
	w->started = queue_now();
	q->worker = w;
	if ((err = uv_loop_init(&w->loop)) != 0) {
		queue_active_free(&w->active);
		free(w);
		q->worker = NULL;
		return errmsg_set(error_r, "cannot start the queue's loop: %s", uv_strerror(err));
	}
	uv_async_init(&w->loop, &w->async, queue_async_cb);
	w->async.data = w;
	uv_timer_init(&w->loop, &w->timer);
	w->timer.data = w;
	uv_timer_init(&w->loop, &w->expire);
	w->expire.data = w;
	if ((err = pthread_create(&w->thread, NULL, queue_worker_main, w)) != 0) {
		queue_worker_stop(q);
		return errmsg_set(error_r, "cannot start the queue's worker: %s", strerror(err));
	}
	w->thread_started = true;
	uv_async_send(&w->async);
	return 0;
}

void queue_worker_stop(struct queue *q)
{
	struct queue_worker *w = q->worker;

	if (w == NULL)
		return;
	queue_active_lock(w->active);
	w->stopping = true;
	queue_active_unlock(w->active);
	if (w->thread_started) {
		uv_async_send(&w->async);
		queue_thread_join(w->thread, "deliveries");
	} else {
		uv_close((uv_handle_t *)&w->async, NULL);
		uv_close((uv_handle_t *)&w->timer, NULL);
		uv_close((uv_handle_t *)&w->expire, NULL);
		uv_run(&w->loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&w->loop);
	queue_active_free(&w->active);
	free(w);
	q->worker = NULL;
}

/* Wake the loop, with one of its wishes set (flag NULL: none). */
static void queue_worker_wake(struct queue_worker *w, bool *flag)
{
	queue_active_lock(w->active);
	if (flag != NULL)
		*flag = true;
	if (!w->closed)
		uv_async_send(&w->async);
	queue_active_unlock(w->active);
}

void queue_worker_kick(struct queue *q)
{
	queue_worker_wake(q->worker, NULL);
}

void queue_worker_rescan(struct queue *q)
{
	queue_worker_wake(q->worker, &q->worker->scan_wanted);
	queue_relay_kick(q, 0);
}

void queue_worker_refill(struct queue *q)
{
	queue_worker_wake(q->worker, &q->worker->refill_wanted);
}
