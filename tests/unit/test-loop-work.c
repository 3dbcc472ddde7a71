/* test-loop-work - timers, jobs and stop hooks of a loop that belong to
 * no connection, on the real core: a timer fires after its delay and can
 * be replaced or stopped, a job's done runs on the loop, the stop hook
 * runs once at the stop, a timer pending then never fires, and the loop
 * closes a timer its owner left open. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/listener.h"
#include "core/loop.h"

struct world {
	struct config cfg;
	struct core *core;
	pthread_t thread;
	struct loop *loop;
	struct loop_timer *fast, *replaced, *stopped, *at_stop, *left_open;
	atomic_int fast_fired, replaced_fired, stopped_fired, at_stop_fired;
	atomic_int job_worked, job_done_on_loop, hook_ran;
	uint64_t started_ms, replaced_ms;
	struct loop_stop_hook *hook, *cancelled;
	atomic_bool ready;
};

static void *run(void *arg)
{
	struct world *w = arg;

	core_run(w->core, false);
	return NULL;
}

static void on_fast(void *arg)
{
	struct world *w = arg;

	atomic_fetch_add(&w->fast_fired, 1);
}

static void on_replaced(void *arg)
{
	struct world *w = arg;

	w->replaced_ms = loop_now_ms(w->loop) - w->started_ms;
	atomic_fetch_add(&w->replaced_fired, 1);
}

static void on_stopped(void *arg)
{
	struct world *w = arg;

	atomic_fetch_add(&w->stopped_fired, 1);
}

static void on_at_stop(void *arg)
{
	struct world *w = arg;

	atomic_fetch_add(&w->at_stop_fired, 1);
}

static void job_work(void *arg)
{
	struct world *w = arg;

	usleep(20 * 1000);
	atomic_fetch_add(&w->job_worked, 1);
}

static void job_done(void *arg)
{
	struct world *w = arg;

	if (loop_current() == w->loop && atomic_load(&w->job_worked) == 1)
		atomic_fetch_add(&w->job_done_on_loop, 1);
}

static void hook(void *arg)
{
	struct world *w = arg;

	w->hook = NULL;     /* the loop frees it */
	atomic_fetch_add(&w->hook_ran, 1);
	/* the owner lets go of what it started */
	assert_true(loop_on_stop(w->loop, hook, w) == NULL);
	loop_timer_free(&w->fast);
	loop_timer_free(&w->replaced);
	loop_timer_free(&w->stopped);
}

static void never(void *arg)
{
	(void)arg;
	fail_msg("a cancelled hook ran");
}

static void setup_on_loop(void *arg)
{
	struct world *w = arg;

	w->loop = loop_current();
	w->started_ms = loop_now_ms(w->loop);
	w->fast = loop_timer_new(w->loop, on_fast, w);
	loop_timer_start(w->fast, 10);
	w->replaced = loop_timer_new(w->loop, on_replaced, w);
	loop_timer_start(w->replaced, 5);
	loop_timer_start(w->replaced, 150);     /* replaces the first deadline */
	w->stopped = loop_timer_new(w->loop, on_stopped, w);
	loop_timer_start(w->stopped, 20);
	loop_timer_stop(w->stopped);
	assert_false(loop_timer_pending(w->stopped));
	w->at_stop = loop_timer_new(w->loop, on_at_stop, w);
	loop_timer_start(w->at_stop, 60000);    /* pending when the server stops */
	assert_true(loop_timer_pending(w->at_stop));
	w->left_open = loop_timer_new(w->loop, on_at_stop, w);
	loop_job(w->loop, job_work, job_done, w);
	w->hook = loop_on_stop(w->loop, hook, w);
	w->cancelled = loop_on_stop(w->loop, never, w);
	loop_stop_cancel(&w->cancelled);
	assert_null(w->cancelled);
	atomic_store(&w->ready, true);
}

static void test_loop_work(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char *error = NULL;

	(void)state;
	w->cfg.server.hostname = "localhost";
	w->cfg.server.threads = 1;
	w->cfg.server.shutdown_timeout = 2;
	w->cfg.limits.connections = 100;
	assert_int_equal(core_new(&w->cfg, &w->core, &error), 0);
	assert_int_equal(core_loop_count(w->core), 1);
	assert_null(core_loop(w->core, 1));
	assert_int_equal(pthread_create(&w->thread, NULL, run, w), 0);
	loop_post(core_loop(w->core, 0), setup_on_loop, w);
	for (int i = 0; i < 200 && atomic_load(&w->replaced_fired) == 0; i++)
		usleep(10 * 1000);
	assert_true(atomic_load(&w->ready));
	assert_int_equal(atomic_load(&w->fast_fired), 1);
	assert_int_equal(atomic_load(&w->replaced_fired), 1);
	assert_true(w->replaced_ms >= 150);
	assert_int_equal(atomic_load(&w->stopped_fired), 0);
	assert_int_equal(atomic_load(&w->job_done_on_loop), 1);
	assert_int_equal(atomic_load(&w->hook_ran), 0);

	core_stop(w->core);
	pthread_join(w->thread, NULL);
	assert_int_equal(atomic_load(&w->hook_ran), 1);
	assert_int_equal(atomic_load(&w->at_stop_fired), 0);
	core_free(&w->core);
	/* closed by the loop at its end: freeing only frees them now */
	loop_timer_free(&w->at_stop);
	loop_timer_free(&w->left_open);
	assert_null(w->at_stop);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
