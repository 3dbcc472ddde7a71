/* loop - one I/O thread with its own uv_loop, the loop_post() queue, and the
 * loop's part of a graceful shutdown; see loop.h and conn-internal.h. */
#include "core/loop.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/conn-internal.h"
#include "core/log.h"

static _Thread_local struct loop *loop_tls;

struct loop *loop_current(void)
{
	return loop_tls;
}

/* Run everything posted so far, in order. */
static void loop_run_posts(struct loop *loop)
{
	struct loop_post_item *item;

	loop->in_posts = true;
	pthread_mutex_lock(&loop->lock);
	item = loop->head;
	loop->head = loop->tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (item != NULL) {
		struct loop_post_item *next = item->next;

		item->fn(item->arg);
		free(item);
		item = next;
	}
	loop->in_posts = false;
}

static void loop_finish(struct loop *loop);

static void loop_async_cb(uv_async_t *handle)
{
	struct loop *loop = handle->data;

	loop_run_posts(loop);
	loop_finish(loop);
}

void loop_post(struct loop *loop, void (*fn)(void *arg), void *arg)
{
	struct loop_post_item *item = malloc(sizeof(*item));

	if (item == NULL)
		abort();
	item->next = NULL;
	item->fn = fn;
	item->arg = arg;
	pthread_mutex_lock(&loop->lock);
	if (loop->tail != NULL)
		loop->tail->next = item;
	else
		loop->head = item;
	loop->tail = item;
	pthread_mutex_unlock(&loop->lock);
	uv_async_send(&loop->async);
}

struct loop *loop_new(struct core *core)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		abort();
	loop->core = core;
	pthread_mutex_init(&loop->lock, NULL);
	atomic_init(&loop->nconns, 0);
	atomic_init(&loop->preauth_oldest, UINT64_MAX);
	atomic_init(&loop->closing_count, 0);
	if (uv_loop_init(&loop->uv) != 0)
		abort();
	uv_async_init(&loop->uv, &loop->async, loop_async_cb);
	loop->async.data = loop;
	uv_timer_init(&loop->uv, &loop->shutdown_timer);
	loop->shutdown_timer.data = loop;
	return loop;
}

static void *loop_thread_main(void *arg)
{
	struct loop *loop = arg;

	loop_tls = loop;
	uv_run(&loop->uv, UV_RUN_DEFAULT);
	loop_tls = NULL;
	return NULL;
}

int loop_thread_start(struct loop *loop)
{
	if (pthread_create(&loop->thread, NULL, loop_thread_main, loop) != 0)
		return -1;
	loop->thread_started = true;
	return 0;
}

int loop_join_until(struct loop *loop, const struct timespec *deadline)
{
	if (loop->thread_started) {
		if (pthread_timedjoin_np(loop->thread, NULL, deadline) != 0)
			return -1;
		loop->thread_started = false;
	}
	return 0;
}

/* The last connection is gone after shutdown: close our handles so that
 * uv_run returns. Posts that arrive meanwhile are still run. */
static void loop_finish(struct loop *loop)
{
	if (loop->closed || loop->in_posts || !loop->stopping || loop->conns != NULL ||
	    loop->jobs > 0 || dns_loop_busy(loop))
		return;
	loop->closed = true;
	loop_run_posts(loop);
	loop_work_close(loop);
	dns_loop_close(loop);
	uv_close((uv_handle_t *)&loop->async, NULL);
	uv_close((uv_handle_t *)&loop->shutdown_timer, NULL);
}

void loop_maybe_finish(struct loop *loop)
{
	loop_finish(loop);
}

void loop_conn_gone(struct loop *loop)
{
	atomic_fetch_sub(&loop->nconns, 1);
	loop_finish(loop);
}

static void loop_shutdown_deadline(uv_timer_t *timer)
{
	struct loop *loop = timer->data;
	struct conn *conn, *next;

	for (conn = loop->conns; conn != NULL; conn = next) {
		next = conn_next(conn);
		conn_abort(conn);
	}
}

void loop_shutdown(void *arg)
{
	struct loop *loop = arg;
	const struct config *cfg = core_config(loop->core);
	struct conn *conn, *next;

	if (loop->stopping)
		return;
	loop->stopping = true;
	loop_run_stop_hooks(loop);
	for (conn = loop->conns; conn != NULL; conn = next) {
		next = conn_next(conn);
		conn_end(conn, CONN_END_SHUTDOWN);
	}
	if (loop->conns != NULL) {
		uv_timer_start(&loop->shutdown_timer, loop_shutdown_deadline,
			       (uint64_t)cfg->server.shutdown_timeout * 1000, 0);
		uv_unref((uv_handle_t *)&loop->shutdown_timer);
	}
	loop_finish(loop);
}

void loop_free(struct loop **loopp)
{
	struct loop *loop = *loopp;

	if (loop == NULL)
		return;
	if (!loop->closed) {
		/* Never ran (start-up failed): close the handles here. */
		loop_run_stop_hooks(loop);
		loop->stopping = true;
		loop_finish(loop);
		uv_run(&loop->uv, UV_RUN_DEFAULT);
	}
	if (uv_loop_close(&loop->uv) != 0)
		log_error("msg=\"loop still has open handles at exit\"");
	pthread_mutex_destroy(&loop->lock);
	free(loop);
	*loopp = NULL;
}
