/* test-queue-relay-cache - the relay's idle connection cache
 * (src/queue/queue-relay-cache.c) with real SMTP client sessions on the
 * real core against a scripted peer (smtp-peer.h): a connection parked
 * after its message holds its destination's slot; a group of another
 * policy, another implicit-TLS setting or another destination never
 * takes it; evicted (by a group of another policy, or of another
 * destination when all [queue] connections are taken), it QUITs and
 * gives its slot back; closed by
 * the server while idle, it gives its slot back; the cache off, full, or
 * a connection past its reuse limits keeps nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conn-harness.h"
#include "smtp-peer.h"

#include "core/loop.h"
#include "queue/queue-relay.h"
#include "smtp/smtp-client.h"

static struct harness t_h;

static struct {
	struct config cfg;
	struct queue q;
	struct queue_relay r;
	struct queue_relay_msg m;
	struct queue_relay_group g;
	struct smtp_client_policy policy, other;
	struct smtp_client_rcpt rcpt;
	struct smtp_client_message msg;
	int fd;
	char path[64];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	bool delivered, put, taken[3], counted, evicted;
} t;

static void *t_open(struct conn *conn)
{
	(void)conn;
	return NULL;
}

static void t_noop(void *session)
{
	(void)session;
}

static const struct protocol t_protocol = {
	.name = "none", .open = t_open, .input = t_noop, .close = t_noop,
};

static void rcpt_done(void *arg, size_t index, const struct smtp_client_result *r)
{
	(void)arg;
	(void)index;
	t.delivered = r->status == SMTP_CLIENT_DELIVERED;
}

/* The message's done: its connection goes idle in the cache. */
static void msg_done(void *arg, struct smtp_client *client, enum smtp_client_next next)
{
	(void)arg;
	(void)next;
	t.put = queue_relay_cache_put(&t.g, client);
}

static void closed(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&t.lock);
	t.closed = true;
	pthread_cond_broadcast(&t.cond);
	pthread_mutex_unlock(&t.lock);
}

/* A relay with one group to the peer at `port`, its slot taken. */
static void relay_init(uint16_t port, unsigned cache_time)
{
	static const char body[] = "Subject: t\r\n\r\nhello\r\n";

	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	t.cfg.queue.connection_cache_time = cache_time;
	t.cfg.queue.connection_reuse_time = 300;
	t.cfg.queue.destination_concurrency = 1;
	t.q.cfg = &t.cfg;
	t.r.q = &t.q;
	t.r.max_sessions = 10;
	t.m.r = &t.r;
	t.g.m = &t.m;
	t.policy = (struct smtp_client_policy){
		.tls = SMTP_CLIENT_TLS_NONE, .helo_name = "client.test",
		.timeouts = { 5, 5, 5, 5, 5, 5, 0 },
	};
	t.other = t.policy;
	snprintf(t.g.dest, sizeof(t.g.dest), "127.0.0.1:%u", port);
	t.g.policy = t.g.target.policy = &t.policy;
	assert_true(queue_relay_slot_take(&t.r, t.g.dest));
	t.g.has_slot = true;
	snprintf(t.path, sizeof(t.path), "/tmp/tern-test-cache-XXXXXX");
	t.fd = mkstemp(t.path);
	assert_true(t.fd >= 0);
	assert_int_equal(write(t.fd, body, sizeof(body) - 1), (ssize_t)(sizeof(body) - 1));
	t.rcpt.address = "a@peer.test";
	t.msg = (struct smtp_client_message){
		.sender = "s@client.test", .rcpts = &t.rcpt, .n_rcpts = 1, .fd = t.fd,
		.length = sizeof(body) - 1, .rcpt_done = rcpt_done, .done = msg_done,
	};
}

/* Deliver the message to the peer; the group's address is the peer's. */
static void relay_send(uint16_t port)
{
	struct smtp_client_target target = { .policy = &t.policy, .closed = closed };
	struct sockaddr_in *sin = (struct sockaddr_in *)&target.remote;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t.g.addrs[0] = target.remote;
	t.g.n_addrs = 1;
	smtp_client_start(core_loop(t_h.core, 0), &target, &t.msg);
}

static void relay_wait(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&t.lock);
	while (!t.closed)
		if (pthread_cond_timedwait(&t.cond, &t.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&t.lock);
	assert_true(t.closed);
	usleep(50000);   /* the loop is past the close */
	close(t.fd);
	unlink(t.path);
}

/* On the relay's loop: groups of another policy, implicit TLS or
 * destination do not take the idle connection; it holds the slot; one
 * of another policy that finds no slot makes it QUIT. */
static void probe(void *arg)
{
	struct queue_relay_group g = t.g;

	(void)arg;
	g.policy = &t.other;   /* the same settings, another policy */
	t.taken[0] = queue_relay_cache_take(&g);
	g = t.g;
	g.implicit_tls = true;
	t.taken[1] = queue_relay_cache_take(&g);
	g = t.g;
	snprintf(g.dest, sizeof(g.dest), "mx:elsewhere.test");
	t.taken[2] = queue_relay_cache_take(&g);
	t.counted = !queue_relay_slot_take(&t.r, t.g.dest);
	g = t.g;
	g.policy = &t.other;
	t.evicted = queue_relay_cache_evict(&g);   /* its slot given back */
}

/* The session up to the 250 to its end of data. */
#define DELIVERED ">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", \
		  "<DATA", ">354 go", "D", ">250 one"

/* One message to a peer that runs `script`, its connection offered to
 * the cache ([queue] connection_cache_time, connection_reuse_time as
 * given), `probe_fn` run on the loop 300 ms in (NULL: none); until the
 * session ends. */
static void cache_run(const char *const *script, unsigned cache_time, unsigned reuse_time,
		      void (*probe_fn)(void *arg))
{
	struct peer *p = malloc(sizeof(*p));

	assert_non_null(p);
	peer_start(p, script);
	relay_init(p->port, cache_time);
	t.cfg.queue.connection_reuse_time = reuse_time;
	relay_send(p->port);
	if (probe_fn != NULL) {
		usleep(300000);
		loop_post(core_loop(t_h.core, 0), probe_fn, NULL);
	}
	relay_wait();
	peer_finish(p);
	free(p);
	assert_true(t.delivered);
	assert_int_equal(t.r.n_idle, 0);
}

static void test_key(void **state)
{
	static const char *const script[] = {
		DELIVERED, "<QUIT", ">221 bye", "E", NULL,
	};

	(void)state;
	cache_run(script, 30, 300, probe);
	assert_true(t.put);
	assert_false(t.g.has_slot);   /* the idle connection's */
	assert_false(t.taken[0]);
	assert_false(t.taken[1]);
	assert_false(t.taken[2]);
	assert_true(t.counted);
	assert_true(t.evicted);
	assert_int_equal(t.r.n_counts, 0);
	free(t.r.counts);
}

/* On the loop: all [queue] connections taken (one, the idle one's), a
 * group of another destination makes it QUIT and takes its slot. */
static void probe_total(void *arg)
{
	struct queue_relay_group g = t.g;

	(void)arg;
	t.r.max_sessions = 1;
	snprintf(g.dest, sizeof(g.dest), "mx:elsewhere.test");
	assert_true(queue_relay_slot_take(&t.r, g.dest) == false);
	t.evicted = queue_relay_cache_evict(&g);
	t.counted = queue_relay_slot_take(&t.r, g.dest);
	queue_relay_slot_put(&t.r, g.dest);
}

static void test_evict_for_another(void **state)
{
	static const char *const script[] = {
		DELIVERED, "<QUIT", ">221 bye", "E", NULL,
	};

	(void)state;
	cache_run(script, 30, 300, probe_total);
	assert_true(t.put);
	assert_true(t.evicted);
	assert_true(t.counted);   /* the slot it gave back */
	assert_int_equal(t.r.n_counts, 0);
	free(t.r.counts);
}

/* Closed by the server while idle: dropped, its slot given back. */
static void test_server_closes(void **state)
{
	static const char *const script[] = { DELIVERED, "X", NULL };

	(void)state;
	cache_run(script, 30, 300, NULL);
	assert_true(t.put);
	assert_int_equal(t.r.n_counts, 0);
	free(t.r.counts);
}

/* The cache off ([queue] connection_cache_time = 0), or a connection
 * past connection_reuse_time: nothing kept, the slot stays the group's
 * and the session QUITs. */
static void test_not_kept(void **state)
{
	static const char *const script[] = {
		DELIVERED, "<QUIT", ">221 bye", "E", NULL,
	};

	(void)state;
	for (int k = 0; k < 2; k++) {
		/* reuse time 0: every connection is too old */
		cache_run(script, k == 0 ? 0 : 30, k == 0 ? 300 : 0, NULL);
		assert_false(t.put);
		assert_true(t.g.has_slot);
		free(t.r.counts);
	}
}

static int setup(void **state)
{
	(void)state;
	conn_harness_start(&t_h, &t_protocol, NULL, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	conn_harness_stop(&t_h);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_evict_for_another),
		cmocka_unit_test(test_server_closes),
		cmocka_unit_test(test_not_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
