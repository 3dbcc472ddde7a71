/* queue-schedule - the retry schedule, the expiry and the delay warning
 * as pure functions; see queue-schedule.h. */
#include "queue/queue-schedule.h"

#include "core/config.h"

void queue_schedule_from_config(struct queue_schedule *s, const struct config *cfg)
{
	s->retry_first = cfg->queue.retry_first > 0 ? cfg->queue.retry_first : 1;
	s->retry_max = cfg->queue.retry_max;
	if (s->retry_max < s->retry_first)
		s->retry_max = s->retry_first;
	s->lifetime = cfg->queue.lifetime > 0 ? cfg->queue.lifetime : 1;
	s->delay_warning = cfg->queue.delay_warning;
}

int64_t queue_schedule_delay(const struct queue_schedule *s, unsigned attempts)
{
	int64_t delay = s->retry_first;

	/* doubling, stopped at the cap before it can overflow */
	for (unsigned i = 1; i < attempts && delay < s->retry_max; i++)
		delay = delay > s->retry_max / 2 ? s->retry_max : delay * 2;
	return delay < s->retry_max ? delay : s->retry_max;
}

int64_t queue_schedule_expiry(const struct queue_schedule *s, int64_t arrival)
{
	return arrival + s->lifetime;
}

bool queue_schedule_expired(const struct queue_schedule *s, int64_t arrival, int64_t now)
{
	return now >= queue_schedule_expiry(s, arrival);
}

int64_t queue_schedule_next(const struct queue_schedule *s, int64_t arrival, unsigned attempts,
			    int64_t now)
{
	int64_t next = now + queue_schedule_delay(s, attempts);
	int64_t expiry = queue_schedule_expiry(s, arrival);

	if (next > expiry)
		next = expiry;
	return next > now ? next : now;
}

bool queue_schedule_warn_due(const struct queue_schedule *s, int64_t arrival, int64_t now)
{
	return s->delay_warning > 0 && now >= arrival + s->delay_warning &&
	       !queue_schedule_expired(s, arrival, now);
}
