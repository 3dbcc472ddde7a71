/* job-limit - a counted slot limit with one FIFO of waiters per priority
 * under one mutex; see job-limit.h. */
#include "core/job-limit.h"

#include <pthread.h>
#include <stdlib.h>

struct job_limit_queue {
	struct job_limit_waiter *head, *tail;
};

struct job_limit {
	pthread_mutex_t lock;
	unsigned max;
	unsigned queue_max;
	unsigned running;
	unsigned waiting;
	struct job_limit_queue queues[JOB_LIMIT_PRIO__COUNT];
};

struct job_limit *job_limit_new(unsigned max, unsigned queue_max)
{
	struct job_limit *limit = calloc(1, sizeof(*limit));

	if (limit == NULL)
		abort();
	pthread_mutex_init(&limit->lock, NULL);
	limit->max = max > 0 ? max : 1;
	limit->queue_max = queue_max;
	return limit;
}

void job_limit_free(struct job_limit **limitp)
{
	struct job_limit *limit = *limitp;

	if (limit == NULL)
		return;
	pthread_mutex_destroy(&limit->lock);
	free(limit);
	*limitp = NULL;
}

static void job_limit_unlink(struct job_limit *limit, struct job_limit_waiter *w)
{
	struct job_limit_queue *q = &limit->queues[w->prio];

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = false;
	limit->waiting--;
}

enum job_limit_entry job_limit_enter(struct job_limit *limit, struct job_limit_waiter *w,
				     enum job_limit_prio prio)
{
	enum job_limit_entry entry;
	struct job_limit_queue *q;

	if ((unsigned)prio >= JOB_LIMIT_PRIO__COUNT)
		prio = JOB_LIMIT_PRIO_LOW;
	pthread_mutex_lock(&limit->lock);
	if (limit->running < limit->max && limit->waiting == 0) {
		limit->running++;
		entry = JOB_LIMIT_RUN;
	} else if (limit->queue_max != 0 && limit->waiting >= limit->queue_max) {
		entry = JOB_LIMIT_FULL;
	} else {
		q = &limit->queues[prio];
		w->prio = prio;
		w->next = NULL;
		w->prev = q->tail;
		if (q->tail != NULL)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
		w->queued = true;
		limit->waiting++;
		entry = JOB_LIMIT_QUEUED;
	}
	pthread_mutex_unlock(&limit->lock);
	return entry;
}

struct job_limit_waiter *job_limit_leave(struct job_limit *limit)
{
	struct job_limit_waiter *w = NULL;

	pthread_mutex_lock(&limit->lock);
	for (int p = 0; p < JOB_LIMIT_PRIO__COUNT && w == NULL; p++)
		w = limit->queues[p].head;
	if (w != NULL)
		job_limit_unlink(limit, w);   /* the slot passes on: running stays */
	else if (limit->running > 0)
		limit->running--;
	pthread_mutex_unlock(&limit->lock);
	return w;
}

bool job_limit_cancel(struct job_limit *limit, struct job_limit_waiter *w)
{
	bool was_queued;

	pthread_mutex_lock(&limit->lock);
	was_queued = w->queued;
	if (was_queued)
		job_limit_unlink(limit, w);
	pthread_mutex_unlock(&limit->lock);
	return was_queued;
}

unsigned job_limit_max(const struct job_limit *limit)
{
	return limit->max;
}

unsigned job_limit_queue_max(const struct job_limit *limit)
{
	return limit->queue_max;
}

unsigned job_limit_running(struct job_limit *limit)
{
	unsigned n;

	pthread_mutex_lock(&limit->lock);
	n = limit->running;
	pthread_mutex_unlock(&limit->lock);
	return n;
}

unsigned job_limit_waiting(struct job_limit *limit)
{
	unsigned n;

	pthread_mutex_lock(&limit->lock);
	n = limit->waiting;
	pthread_mutex_unlock(&limit->lock);
	return n;
}
