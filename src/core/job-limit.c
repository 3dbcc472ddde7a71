/* job-limit - a counted slot limit with a FIFO of waiters under one mutex;
 * see job-limit.h. */
#include "core/job-limit.h"

#include <pthread.h>
#include <stdlib.h>

struct job_limit {
	pthread_mutex_t lock;
	unsigned max;
	unsigned running;
	unsigned waiting;
	struct job_limit_waiter *head, *tail;
};

struct job_limit *job_limit_new(unsigned max)
{
	struct job_limit *limit = calloc(1, sizeof(*limit));

	if (limit == NULL)
		abort();
	pthread_mutex_init(&limit->lock, NULL);
	limit->max = max > 0 ? max : 1;
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
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		limit->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		limit->tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = false;
	limit->waiting--;
}

bool job_limit_enter(struct job_limit *limit, struct job_limit_waiter *w)
{
	bool run;

	pthread_mutex_lock(&limit->lock);
	/* Never overtake a waiter, even if a slot is free for a moment (it is
	 * then already promised to the head of the queue). */
	run = limit->running < limit->max && limit->head == NULL;
	if (run) {
		limit->running++;
	} else {
		w->next = NULL;
		w->prev = limit->tail;
		if (limit->tail != NULL)
			limit->tail->next = w;
		else
			limit->head = w;
		limit->tail = w;
		w->queued = true;
		limit->waiting++;
	}
	pthread_mutex_unlock(&limit->lock);
	return run;
}

struct job_limit_waiter *job_limit_leave(struct job_limit *limit)
{
	struct job_limit_waiter *w;

	pthread_mutex_lock(&limit->lock);
	w = limit->head;
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
