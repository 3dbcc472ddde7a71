/* job-limit - a process-wide cap on how many jobs of one class (password
 * hashing) run on the thread pool at once, with a FIFO of the jobs waiting
 * for a slot. Thread-safe: connections on different loops share one limit.
 * It knows nothing of connections; conn_job_limited() (conn.h) builds on it. */
#ifndef TERN_CORE_JOB_LIMIT_H
#define TERN_CORE_JOB_LIMIT_H

#include <stdbool.h>

/* One waiting job, embedded in its owner (no allocation when queued).
 * The limit only links it; `owner` is for the caller. */
struct job_limit_waiter {
	struct job_limit_waiter *next, *prev;
	void *owner;
	bool queued;                  /* under the limit's lock */
};

struct job_limit;

/* A limit of `max` running jobs (0 is taken as 1). Never fails. */
struct job_limit *job_limit_new(unsigned max);
/* Free the limit; nothing may be running or waiting any more. */
void job_limit_free(struct job_limit **limit);

/* Take a slot for `w`: true when one was free (run the job now); false
 * when `w` was put at the end of the queue (it will come out of
 * job_limit_leave). */
bool job_limit_enter(struct job_limit *limit, struct job_limit_waiter *w);
/* A job of this class ended: its slot passes to the oldest waiter, which is
 * returned (start it; it now holds the slot), or is freed (NULL). */
struct job_limit_waiter *job_limit_leave(struct job_limit *limit);
/* Take `w` out of the queue: true when it was still waiting (it holds no
 * slot); false when job_limit_leave already handed it a slot. */
bool job_limit_cancel(struct job_limit *limit, struct job_limit_waiter *w);

/* For tests and metrics. */
unsigned job_limit_max(const struct job_limit *limit);
unsigned job_limit_running(struct job_limit *limit);
unsigned job_limit_waiting(struct job_limit *limit);

#endif
