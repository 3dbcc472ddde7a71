/* test-queue-schedule - the retry schedule, the expiry and the delay
 * warning (queue/queue-schedule.h): the defaults of the configuration,
 * the doubling and its cap, the last try at the expiry, odd settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/config.h"
#include "queue/queue-schedule.h"

static const struct queue_schedule defaults = {
	.retry_first = 300, .retry_max = 14400, .lifetime = 432000, .delay_warning = 14400,
};

static void test_config_defaults(void **state)
{
	struct config cfg;
	struct queue_schedule s;
	char *error = NULL;

	(void)state;
	assert_int_equal(config_load_string(&cfg, "t.conf", "", &error), 0);
	queue_schedule_from_config(&s, &cfg);
	assert_int_equal(s.retry_first, 300);
	assert_int_equal(s.retry_max, 14400);
	assert_int_equal(s.lifetime, 5 * 86400);
	assert_int_equal(s.delay_warning, 4 * 3600);
	assert_true(cfg.queue.srs);
	config_free(&cfg);
	/* a cap below the first delay is the first delay */
	assert_int_equal(config_load_string(&cfg, "t.conf", "[queue]\nretry_max = 10\n", &error),
			 0);
	queue_schedule_from_config(&s, &cfg);
	assert_int_equal(s.retry_max, 300);
	config_free(&cfg);
	/* out of range */
	assert_int_equal(config_load_string(&cfg, "t.conf", "[queue]\nlifetime = 0\n", &error), -1);
	free(error);
}

static void test_delay(void **state)
{
	(void)state;
	assert_int_equal(queue_schedule_delay(&defaults, 0), 300);
	assert_int_equal(queue_schedule_delay(&defaults, 1), 300);
	assert_int_equal(queue_schedule_delay(&defaults, 2), 600);
	assert_int_equal(queue_schedule_delay(&defaults, 3), 1200);
	assert_int_equal(queue_schedule_delay(&defaults, 6), 9600);
	assert_int_equal(queue_schedule_delay(&defaults, 7), 14400);
	assert_int_equal(queue_schedule_delay(&defaults, 1000), 14400);
	assert_int_equal(queue_schedule_delay(&defaults, UINT32_MAX), 14400);
	/* a cap that is not a power of two times the first delay */
	const struct queue_schedule odd = { .retry_first = 7, .retry_max = 50, .lifetime = 1 };
	assert_int_equal(queue_schedule_delay(&odd, 3), 28);
	assert_int_equal(queue_schedule_delay(&odd, 4), 50);
	/* huge figures do not overflow */
	const struct queue_schedule big = { .retry_first = INT64_MAX / 3, .retry_max = INT64_MAX,
					    .lifetime = 1 };
	assert_int_equal(queue_schedule_delay(&big, 64), INT64_MAX);
}

static void test_next_and_expiry(void **state)
{
	const int64_t t0 = 1764547200;

	(void)state;
	assert_int_equal(queue_schedule_next(&defaults, t0, 1, t0 + 10), t0 + 310);
	assert_int_equal(queue_schedule_next(&defaults, t0, 3, t0 + 1000), t0 + 2200);
	/* never past the expiry: the last try is made when the lifetime ends */
	assert_int_equal(queue_schedule_expiry(&defaults, t0), t0 + 432000);
	assert_int_equal(queue_schedule_next(&defaults, t0, 40, t0 + 430000), t0 + 432000);
	/* past it: now (the caller sees it expired) */
	assert_int_equal(queue_schedule_next(&defaults, t0, 40, t0 + 500000), t0 + 500000);
	assert_false(queue_schedule_expired(&defaults, t0, t0 + 431999));
	assert_true(queue_schedule_expired(&defaults, t0, t0 + 432000));
	/* a clock that went back: not expired, a try later */
	assert_false(queue_schedule_expired(&defaults, t0, t0 - 100));
	assert_int_equal(queue_schedule_next(&defaults, t0, 1, t0 - 100), t0 + 200);
}

static void test_warning(void **state)
{
	const int64_t t0 = 1764547200;
	struct queue_schedule s = defaults;

	(void)state;
	assert_false(queue_schedule_warn_due(&s, t0, t0 + 14399));
	assert_true(queue_schedule_warn_due(&s, t0, t0 + 14400));
	assert_true(queue_schedule_warn_due(&s, t0, t0 + 431999));
	/* expired: the bounce says it, not a warning */
	assert_false(queue_schedule_warn_due(&s, t0, t0 + 432000));
	/* off */
	s.delay_warning = 0;
	assert_false(queue_schedule_warn_due(&s, t0, t0 + 20000));
	/* a warning time after the lifetime never comes */
	s.delay_warning = 500000;
	assert_false(queue_schedule_warn_due(&s, t0, t0 + 450000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_next_and_expiry),
		cmocka_unit_test(test_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
