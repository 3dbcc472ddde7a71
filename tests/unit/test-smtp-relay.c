/* test-smtp-relay - the relay decision (smtp-relay.h), case by case: who
 * may relay, what the routing tricks get, and what each answer of the
 * directory means for a client that may relay and for one that may not.
 * The session's own tests (test-smtp-session, test-smtp-submission)
 * drive the same cases end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "smtp/smtp-address.h"
#include "smtp/smtp-relay.h"

static void test_who_may_relay(void **state)
{
	(void)state;
	/* Port 25: trusted networks only; there is no login there. */
	assert_false(smtp_relay_allowed(SMTP_SERVICE_MX, false, false));
	assert_true(smtp_relay_allowed(SMTP_SERVICE_MX, false, true));
	assert_false(smtp_relay_allowed(SMTP_SERVICE_MX, true, false));
	/* Submission: a login, whatever the address. */
	assert_false(smtp_relay_allowed(SMTP_SERVICE_SUBMISSION, false, false));
	assert_false(smtp_relay_allowed(SMTP_SERVICE_SUBMISSION, false, true));
	assert_true(smtp_relay_allowed(SMTP_SERVICE_SUBMISSION, true, false));
	/* The sendmail socket: a local user, known by uid, always. */
	assert_true(smtp_relay_allowed(SMTP_SERVICE_LOCAL, false, false));
	assert_false(smtp_relay_allowed(SMTP_SERVICE__COUNT, true, true));
}

static void test_tricks(void **state)
{
	static const unsigned routing[] = {
		SMTP_ADDRESS_TRICK_PERCENT,
		SMTP_ADDRESS_TRICK_BANG,
		SMTP_ADDRESS_TRICK_QUOTED_AT,
		SMTP_ADDRESS_TRICK_PERCENT | SMTP_ADDRESS_TRICK_SOURCE_ROUTE,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(routing) / sizeof(routing[0]); i++) {
		assert_int_equal(smtp_relay_precheck(false, routing[i]), SMTP_RELAY_TRICK);
		assert_int_equal(smtp_relay_precheck(true, routing[i]), SMTP_RELAY_LOCAL);
	}
	/* A source route alone is ignored, not refused: the mailbox decides. */
	assert_int_equal(smtp_relay_precheck(false, SMTP_ADDRESS_TRICK_SOURCE_ROUTE), SMTP_RELAY_LOCAL);
	assert_int_equal(smtp_relay_precheck(false, 0), SMTP_RELAY_LOCAL);
}

static void test_decide(void **state)
{
	(void)state;
	/* Local recipients, whoever asks. */
	assert_int_equal(smtp_relay_decide(false, DIR_OK, true), SMTP_RELAY_LOCAL);
	assert_int_equal(smtp_relay_decide(true, DIR_OK, true), SMTP_RELAY_LOCAL);
	/* A domain that is not local: relaying. */
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_NO_DOMAIN, false), SMTP_RELAY_DENIED);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_NO_DOMAIN, false), SMTP_RELAY_EXTERNAL);
	/* What the directory cannot take: unknown at a local domain, a
	 * foreign address (a literal, a quoted local part) elsewhere. */
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_INVALID, true), SMTP_RELAY_UNKNOWN);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_INVALID, true), SMTP_RELAY_UNKNOWN);
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_INVALID, false), SMTP_RELAY_DENIED);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_INVALID, false), SMTP_RELAY_EXTERNAL);
	/* Unknown users are unknown, even to clients that may relay. */
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_NOT_FOUND, true), SMTP_RELAY_UNKNOWN);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_NOT_FOUND, true), SMTP_RELAY_UNKNOWN);
	/* Broken aliases and a failing directory: try again later. */
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_LOOP, true), SMTP_RELAY_MISCONFIG);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_LIMIT, true), SMTP_RELAY_MISCONFIG);
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_TEMP, true), SMTP_RELAY_TEMP);
	assert_int_equal(smtp_relay_decide(true, DIR_ERR_TEMP, false), SMTP_RELAY_TEMP);
	/* Nothing unexpected ever relays. */
	assert_int_equal(smtp_relay_decide(false, DIR_ERR_EXISTS, false), SMTP_RELAY_TEMP);
	assert_int_equal(smtp_relay_decide(false, (enum dir_error)99, false), SMTP_RELAY_TEMP);
}

/* Every combination a client that may not relay can produce: none is
 * EXTERNAL. */
static void test_never_open(void **state)
{
	(void)state;
	for (unsigned e = 0; e <= DIR_ERR__COUNT; e++)
		for (int local = 0; local < 2; local++)
			assert_int_not_equal(smtp_relay_decide(false, (enum dir_error)e, local),
					     SMTP_RELAY_EXTERNAL);
	assert_string_equal(smtp_relay_verdict_name(SMTP_RELAY_DENIED), "relay-denied");
	assert_string_equal(smtp_relay_verdict_name(SMTP_RELAY__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_may_relay),
		cmocka_unit_test(test_tricks),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_never_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
