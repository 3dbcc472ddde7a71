/* test-job-limit - the slot limit and its queues of waiters: hand-over
 * order, priorities, the bound on the queue, cancelling a waiter (a
 * connection closed while its job waited), and the cap holding under
 * threads. The connection side is in test-conn.c. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/job-limit.h"

static void test_fifo_handover(void **state)
{
	struct job_limit *limit = job_limit_new(2, 0);
	struct job_limit_waiter w[5] = { 0 };

	(void)state;
	assert_int_equal(job_limit_max(limit), 2);
	assert_int_equal(job_limit_enter(limit, &w[0], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &w[1], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &w[2], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &w[3], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &w[4], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_running(limit), 2);
	assert_int_equal(job_limit_waiting(limit), 3);

	/* A finished job hands its slot to the oldest waiter. */
	assert_ptr_equal(job_limit_leave(limit), &w[2]);
	assert_int_equal(job_limit_running(limit), 2);
	assert_int_equal(job_limit_waiting(limit), 2);
	/* Handed a slot already: cancelling is too late. */
	assert_false(job_limit_cancel(limit, &w[2]));

	/* A waiter in the middle goes away (its connection closed). */
	assert_true(job_limit_cancel(limit, &w[3]));
	assert_false(job_limit_cancel(limit, &w[3]));
	assert_int_equal(job_limit_waiting(limit), 1);
	assert_ptr_equal(job_limit_leave(limit), &w[4]);
	assert_null(job_limit_leave(limit));
	assert_null(job_limit_leave(limit));
	assert_int_equal(job_limit_running(limit), 0);
	assert_int_equal(job_limit_waiting(limit), 0);

	/* Empty again: the next one runs at once. */
	assert_int_equal(job_limit_enter(limit, &w[0], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_RUN);
	assert_null(job_limit_leave(limit));
	job_limit_free(&limit);
	assert_null(limit);
}

static void test_cancel_head_and_tail(void **state)
{
	struct job_limit *limit = job_limit_new(0, 0);   /* taken as 1 */
	struct job_limit_waiter a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

	(void)state;
	assert_int_equal(job_limit_max(limit), 1);
	assert_int_equal(job_limit_enter(limit, &a, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &b, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &c, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_true(job_limit_cancel(limit, &b));     /* the head */
	assert_true(job_limit_cancel(limit, &c));     /* the last one */
	assert_int_equal(job_limit_waiting(limit), 0);
	/* The queue is consistent afterwards. */
	assert_int_equal(job_limit_enter(limit, &d, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_ptr_equal(job_limit_leave(limit), &d);
	assert_null(job_limit_leave(limit));
	assert_int_equal(job_limit_running(limit), 0);
	job_limit_free(&limit);
}

/* Every waiter of the high priority gets a slot before any low one; FIFO
 * within each. */
static void test_priorities(void **state)
{
	struct job_limit *limit = job_limit_new(1, 0);
	struct job_limit_waiter run = { 0 }, low1 = { 0 }, low2 = { 0 }, high1 = { 0 },
				high2 = { 0 };

	(void)state;
	assert_int_equal(job_limit_enter(limit, &run, JOB_LIMIT_PRIO_LOW), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &low1, JOB_LIMIT_PRIO_LOW), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &high1, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &low2, JOB_LIMIT_PRIO_LOW), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &high2, JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_waiting(limit), 4);
	assert_ptr_equal(job_limit_leave(limit), &high1);
	/* A cancelled high waiter does not hold the low ones back. */
	assert_true(job_limit_cancel(limit, &high2));
	assert_ptr_equal(job_limit_leave(limit), &low1);
	assert_ptr_equal(job_limit_leave(limit), &low2);
	assert_null(job_limit_leave(limit));
	assert_int_equal(job_limit_running(limit), 0);
	assert_int_equal(job_limit_waiting(limit), 0);
	job_limit_free(&limit);
}

/* The queue holds at most queue_max waiters of both priorities together;
 * the excess is refused, not queued, and a place freed is usable again. */
static void test_queue_bound(void **state)
{
	struct job_limit *limit = job_limit_new(2, 3);
	struct job_limit_waiter w[8] = { 0 };

	(void)state;
	assert_int_equal(job_limit_queue_max(limit), 3);
	assert_int_equal(job_limit_enter(limit, &w[0], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &w[1], JOB_LIMIT_PRIO_LOW), JOB_LIMIT_RUN);
	assert_int_equal(job_limit_enter(limit, &w[2], JOB_LIMIT_PRIO_LOW), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &w[3], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &w[4], JOB_LIMIT_PRIO_LOW), JOB_LIMIT_QUEUED);
	assert_int_equal(job_limit_enter(limit, &w[5], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_FULL);
	assert_int_equal(job_limit_enter(limit, &w[6], JOB_LIMIT_PRIO_LOW), JOB_LIMIT_FULL);
	assert_false(w[5].queued);
	assert_int_equal(job_limit_waiting(limit), 3);
	assert_int_equal(job_limit_running(limit), 2);
	/* A refused waiter was never queued: cancelling it is a no-op. */
	assert_false(job_limit_cancel(limit, &w[5]));
	assert_true(job_limit_cancel(limit, &w[4]));
	assert_int_equal(job_limit_enter(limit, &w[5], JOB_LIMIT_PRIO_HIGH), JOB_LIMIT_QUEUED);
	assert_ptr_equal(job_limit_leave(limit), &w[3]);
	assert_ptr_equal(job_limit_leave(limit), &w[5]);
	assert_ptr_equal(job_limit_leave(limit), &w[2]);
	assert_null(job_limit_leave(limit));
	assert_null(job_limit_leave(limit));
	assert_int_equal(job_limit_running(limit), 0);
	job_limit_free(&limit);
}

/* ---- threads: the cap holds, every waiter gets its turn ---- */

#define T_THREADS 8
#define T_ROUNDS 2000
#define T_MAX 3

struct t_waiter {
	struct job_limit_waiter w;
	atomic_bool go;
};

static struct job_limit *t_limit;
static atomic_int t_running, t_peak, t_total;

static void t_leave(void)
{
	struct job_limit_waiter *next;

	atomic_fetch_sub(&t_running, 1);
	next = job_limit_leave(t_limit);
	if (next != NULL)
		atomic_store(&((struct t_waiter *)next->owner)->go, true);
}

static void *t_thread(void *arg)
{
	struct t_waiter me = { 0 };

	(void)arg;
	me.w.owner = &me;
	for (int i = 0; i < T_ROUNDS; i++) {
		int now;

		atomic_store(&me.go, false);
		if (job_limit_enter(t_limit, &me.w, (i & 1) ? JOB_LIMIT_PRIO_LOW : JOB_LIMIT_PRIO_HIGH) !=
		    JOB_LIMIT_RUN) {
			while (!atomic_load(&me.go))
				sched_yield();
		}
		now = atomic_fetch_add(&t_running, 1) + 1;
		for (int peak = atomic_load(&t_peak); now > peak &&
		     !atomic_compare_exchange_weak(&t_peak, &peak, now);)
			;
		atomic_fetch_add(&t_total, 1);
		t_leave();
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[T_THREADS];

	(void)state;
	t_limit = job_limit_new(T_MAX, 0);
	for (int i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, t_thread, NULL), 0);
	for (int i = 0; i < T_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_true(atomic_load(&t_peak) <= T_MAX);
	assert_true(atomic_load(&t_peak) >= 1);
	assert_int_equal(atomic_load(&t_total), T_THREADS * T_ROUNDS);
	assert_int_equal(job_limit_running(t_limit), 0);
	assert_int_equal(job_limit_waiting(t_limit), 0);
	job_limit_free(&t_limit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_handover),
		cmocka_unit_test(test_cancel_head_and_tail),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
