/* test-queue-relay-reuse - outbound connections reused between messages,
 * with the real queue, core loops, relay and SMTP client against a
 * scripted relayhost (smtp-peer.h): a message sent after the previous one
 * was delivered goes over the connection kept idle ([queue]
 * connection_cache_time); when the server has dropped it meanwhile (a
 * 421 to RSET), the message goes at once over a new connection and is
 * delivered, never deferred for it (its retry would be 300 s away). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/listener.h"
#include "core/log.h"
#include "queue-harness.h"
#include "smtp-peer.h"

struct t_relay {
	struct qh h;
	struct core *core;
	pthread_t thread;
};

static void *t_core_run(void *arg)
{
	core_run(arg, false);
	return NULL;
}

/* The queue with 127.0.0.1:port as its relayhost, plain SMTP. */
static void t_relay_start(struct t_relay *r, uint16_t port)
{
	char extra[192], *error = NULL;

	qh_setup(&r->h, "queue-relay-reuse");
	snprintf(extra, sizeof(extra), "[queue]\nrelayhost = 127.0.0.1:%u\nrelayhost_tls = none\n"
		 "connection_cache_time = 30\n", (unsigned)port);
	qh_config(&r->h, extra);
	assert_int_equal(core_new(&r->h.cfg, &r->core, &error), 0);
	qh_open(&r->h);
	assert_int_equal(queue_relay_start(r->h.queue, core_loop(r->core, 0),
					   2 * QUEUE_RELAY_SESSION_FDS, &error),
			 0);
	assert_int_equal(pthread_create(&r->thread, NULL, t_core_run, r->core), 0);
}

static void t_relay_stop(struct t_relay *r)
{
	core_stop(r->core);
	pthread_join(r->thread, NULL);
	qh_teardown(&r->h);
	core_free(&r->core);
}

/* A message to a remote address, until the queue has finished `n`. */
static void t_send(struct t_relay *r, const char *body, uint64_t n)
{
	const struct queue_rcpt rcpt = { .address = "friend@remote.example", .local = false };
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);

	assert_int_equal(qh_send(r->h.queue, &env, body, NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r->h, n));
}

#define SESSION ">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", \
		"<DATA", ">354 go", "D"

static void test_idle_reused(void **state)
{
	static const char *const script[] = {
		SESSION, ">250 one", "<RSET", ">250 ok", "<MAIL", ">250 ok", "<RCPT", ">250 ok",
		"<DATA", ">354 go", "D", ">250 two", "E", NULL,
	};
	struct peer *p = malloc(sizeof(*p));
	struct t_relay r;

	(void)state;
	assert_non_null(p);
	peer_start(p, script);
	t_relay_start(&r, p->port);
	t_send(&r, "Subject: one\r\n\r\nfirst\r\n", 1);
	t_send(&r, "Subject: two\r\n\r\nsecond\r\n", 2);
	t_relay_stop(&r);   /* the idle connection QUITs */
	peer_finish(p);
	assert_non_null(strstr(p->data, "first"));
	assert_non_null(strstr(p->data, "second"));
	free(p);
}

static void test_dropped_fresh(void **state)
{
	static const char *const first[] = {
		SESSION, ">250 one", "<RSET", ">421 4.4.2 idle too long", "X", NULL,
	};
	static const char *const fresh[] = { SESSION, ">250 two", "E", NULL };
	struct peer *p = malloc(2 * sizeof(*p));
	struct t_relay r;

	(void)state;
	assert_non_null(p);
	peer_start(&p[0], first);
	peer_next(&p[1], &p[0], fresh);
	t_relay_start(&r, p[0].port);
	t_send(&r, "Subject: one\r\n\r\nfirst\r\n", 1);
	t_send(&r, "Subject: two\r\n\r\nsecond\r\n", 2);
	t_relay_stop(&r);
	peer_finish(&p[0]);
	peer_finish(&p[1]);
	assert_non_null(strstr(p[0].data, "first"));
	assert_non_null(strstr(p[1].data, "second"));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_reused),
		cmocka_unit_test(test_dropped_fresh),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
