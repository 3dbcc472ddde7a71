/* job-limit - a process-wide cap on how many jobs of one class (password
 * hashing) run on the thread pool at once, with a bounded queue of the jobs
 * waiting for a slot in two priorities (FIFO within each). Thread-safe:
 * connections on different loops share one limit. It knows nothing of
 * connections; conn_job_limited() (conn.h) builds on it. */
#ifndef TERN_CORE_JOB_LIMIT_H
#define TERN_CORE_JOB_LIMIT_H

#include <stdbool.h>

/* Which waiters a free slot goes to first: every HIGH one before any LOW
 * one (for logins: addresses without recent failures before the others). */
enum job_limit_prio {
	JOB_LIMIT_PRIO_HIGH,
	JOB_LIMIT_PRIO_LOW,
	JOB_LIMIT_PRIO__COUNT
};

/* One waiting job, embedded in its owner (no allocation when queued).
 * The limit only links it; `owner` is for the caller. */
struct job_limit_waiter {
	struct job_limit_waiter *next, *prev;
	void *owner;
	enum job_limit_prio prio;     /* under the limit's lock */
	bool queued;                  /* under the limit's lock */
};

enum job_limit_entry {
	JOB_LIMIT_RUN,       /* a slot was free: run the job now */
	JOB_LIMIT_QUEUED,    /* waiting; it comes out of job_limit_leave */
	JOB_LIMIT_FULL,      /* the queue is at its bound: not queued, refuse */
};

struct job_limit;

/* A limit of `max` running jobs (0 is taken as 1) with at most
 * `queue_max` waiting (0: unbounded). Never fails. */
struct job_limit *job_limit_new(unsigned max, unsigned queue_max);
/* Free the limit; nothing may be running or waiting any more. */
void job_limit_free(struct job_limit **limit);

/* Take a slot for `w`, or queue it at the end of its priority (a free slot
 * is never taken while anything waits: it is already promised). */
enum job_limit_entry job_limit_enter(struct job_limit *limit, struct job_limit_waiter *w,
				     enum job_limit_prio prio);
/* A job of this class ended: its slot passes to the oldest waiter of the
 * highest priority, which is returned (start it; it now holds the slot), or
 * is freed (NULL). */
struct job_limit_waiter *job_limit_leave(struct job_limit *limit);
/* Take `w` out of the queue: true when it was still waiting (it holds no
 * slot); false when job_limit_leave already handed it a slot. */
bool job_limit_cancel(struct job_limit *limit, struct job_limit_waiter *w);

/* For tests and metrics. */
unsigned job_limit_max(const struct job_limit *limit);
unsigned job_limit_queue_max(const struct job_limit *limit);
unsigned job_limit_running(struct job_limit *limit);
unsigned job_limit_waiting(struct job_limit *limit);

#endif
