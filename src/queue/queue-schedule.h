/* queue-schedule - when a recipient that could not be delivered is tried
 * again, when the queue gives up on it, and when its sender is told that
 * it is late: pure functions of the message's arrival, the tries made and
 * the time now, so that a restart (which keeps arrival and attempts in
 * queue.db) changes nothing. No I/O.
 *
 * The backoff is exponential: `retry_first` seconds after the first
 * failed try, doubling after each further one, never more than
 * `retry_max`; no try is set later than the expiry, so that the last one
 * is made when the lifetime ends. At arrival + `lifetime` the recipient
 * has expired: its failure is final (RFC 5321 4.5.4.1: give up after
 * 4-5 days). At arrival + `delay_warning` (0: never) its sender gets one
 * "delayed" report (RFC 3464), when that comes before the expiry. */
#ifndef TERN_QUEUE_QUEUE_SCHEDULE_H
#define TERN_QUEUE_QUEUE_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

struct config;

struct queue_schedule {
	int64_t retry_first;     /* seconds; at least 1 */
	int64_t retry_max;       /* seconds; at least retry_first */
	int64_t lifetime;        /* seconds from arrival; at least 1 */
	int64_t delay_warning;   /* seconds from arrival; 0: no warning */
};

/* The schedule of [queue] retry_first, retry_max, lifetime and
 * delay_warning (a retry_max below retry_first is taken as retry_first). */
void queue_schedule_from_config(struct queue_schedule *s, const struct config *cfg);

/* Seconds to wait after `attempts` failed tries (attempts >= 1; 0 is
 * taken as 1): retry_first * 2^(attempts-1), at most retry_max. */
int64_t queue_schedule_delay(const struct queue_schedule *s, unsigned attempts);

/* When the queue gives up on a message that arrived at `arrival`. */
int64_t queue_schedule_expiry(const struct queue_schedule *s, int64_t arrival);

/* Whether a recipient of a message that arrived at `arrival` has expired
 * at `now`: its last failure is final. */
bool queue_schedule_expired(const struct queue_schedule *s, int64_t arrival, int64_t now);

/* The next try after `attempts` failed tries, the last at `now`: now plus
 * the delay, but not after the expiry (and never before now). */
int64_t queue_schedule_next(const struct queue_schedule *s, int64_t arrival, unsigned attempts,
			    int64_t now);

/* Whether a delay warning is due at `now` for a recipient still not
 * delivered (the caller sends it once): the warning time has come and
 * the expiry has not. */
bool queue_schedule_warn_due(const struct queue_schedule *s, int64_t arrival, int64_t now);

#endif
