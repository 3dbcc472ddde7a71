/* loop-work - timers, thread-pool jobs and stop hooks that belong to a
 * loop rather than to a connection (the queue manager's retries and
 * expiry); see loop.h. */
#include "core/loop.h"

#include <stdlib.h>

#include "core/conn-internal.h"

struct loop_timer {
	uv_timer_t uv;
	struct loop *loop;
	void (*cb)(void *arg);
	void *arg;
	struct loop_timer *next, *prev;   /* loop->timers, until closed */
	bool closed;                      /* the handle is closed (by the loop at its end) */
	bool freed;                       /* the owner let go: free once closed */
};

struct loop_stop_hook {
	struct loop_stop_hook *next, *prev;
	struct loop *loop;
	void (*fn)(void *arg);
	void *arg;
};

struct loop_job {
	uv_work_t req;
	struct loop *loop;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

uint64_t loop_now_ms(struct loop *loop)
{
	return uv_now(&loop->uv);
}

/* ---- timers ---- */

static void loop_timer_cb(uv_timer_t *handle)
{
	struct loop_timer *timer = handle->data;

	if (!timer->loop->stopping)
		timer->cb(timer->arg);
}

struct loop_timer *loop_timer_new(struct loop *loop, void (*cb)(void *arg), void *arg)
{
	struct loop_timer *timer = calloc(1, sizeof(*timer));

	if (timer == NULL)
		abort();
	timer->loop = loop;
	timer->cb = cb;
	timer->arg = arg;
	uv_timer_init(&loop->uv, &timer->uv);
	timer->uv.data = timer;
	timer->next = loop->timers;
	if (loop->timers != NULL)
		loop->timers->prev = timer;
	loop->timers = timer;
	return timer;
}

void loop_timer_start(struct loop_timer *timer, uint64_t ms)
{
	if (timer->closed || timer->loop->stopping)
		return;
	uv_timer_start(&timer->uv, loop_timer_cb, ms, 0);
}

void loop_timer_stop(struct loop_timer *timer)
{
	if (!timer->closed)
		uv_timer_stop(&timer->uv);
}

bool loop_timer_pending(const struct loop_timer *timer)
{
	return !timer->closed && !timer->loop->stopping &&
	       uv_is_active((const uv_handle_t *)&timer->uv);
}

static void loop_timer_closed(uv_handle_t *handle)
{
	struct loop_timer *timer = handle->data;

	timer->closed = true;
	if (timer->freed)
		free(timer);
}

/* Off the loop's list, and its handle closing. */
static void loop_timer_close(struct loop_timer *timer)
{
	struct loop *loop = timer->loop;

	if (timer->prev != NULL)
		timer->prev->next = timer->next;
	else
		loop->timers = timer->next;
	if (timer->next != NULL)
		timer->next->prev = timer->prev;
	timer->next = timer->prev = NULL;
	uv_close((uv_handle_t *)&timer->uv, loop_timer_closed);
}

void loop_timer_free(struct loop_timer **timerp)
{
	struct loop_timer *timer = *timerp;

	if (timer == NULL)
		return;
	*timerp = NULL;
	if (timer->closed) {
		free(timer);
		return;
	}
	timer->freed = true;
	if (!uv_is_closing((uv_handle_t *)&timer->uv))
		loop_timer_close(timer);
}

void loop_work_close(struct loop *loop)
{
	while (loop->timers != NULL)
		loop_timer_close(loop->timers);
}

/* ---- jobs ---- */

static void loop_job_work_cb(uv_work_t *req)
{
	struct loop_job *job = req->data;

	job->work(job->arg);
}

static void loop_job_done_cb(uv_work_t *req, int status)
{
	struct loop_job *job = req->data;
	struct loop *loop = job->loop;

	(void)status;
	job->done(job->arg);
	free(job);
	loop->jobs--;
	loop_maybe_finish(loop);
}

void loop_job(struct loop *loop, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
	struct loop_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		abort();
	job->loop = loop;
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->req.data = job;
	loop->jobs++;
	if (uv_queue_work(&loop->uv, &job->req, loop_job_work_cb, loop_job_done_cb) != 0)
		abort();
}

/* ---- stop hooks ---- */

struct loop_stop_hook *loop_on_stop(struct loop *loop, void (*fn)(void *arg), void *arg)
{
	struct loop_stop_hook *hook;

	if (loop->stopping)
		return NULL;
	hook = calloc(1, sizeof(*hook));
	if (hook == NULL)
		abort();
	hook->loop = loop;
	hook->fn = fn;
	hook->arg = arg;
	hook->next = loop->stop_hooks;
	if (loop->stop_hooks != NULL)
		loop->stop_hooks->prev = hook;
	loop->stop_hooks = hook;
	return hook;
}

static void loop_hook_unlink(struct loop_stop_hook *hook)
{
	struct loop *loop = hook->loop;

	if (hook->prev != NULL)
		hook->prev->next = hook->next;
	else
		loop->stop_hooks = hook->next;
	if (hook->next != NULL)
		hook->next->prev = hook->prev;
}

void loop_stop_cancel(struct loop_stop_hook **hookp)
{
	struct loop_stop_hook *hook = *hookp;

	if (hook == NULL)
		return;
	*hookp = NULL;
	loop_hook_unlink(hook);
	free(hook);
}

void loop_run_stop_hooks(struct loop *loop)
{
	while (loop->stop_hooks != NULL) {
		struct loop_stop_hook *hook = loop->stop_hooks;

		loop_hook_unlink(hook);
		hook->fn(hook->arg);
		free(hook);
	}
}
