/* test-queue-relay - the reports outbound delivery owes a sender who asked
 * for NOTIFY=SUCCESS (queue-relay.c), with the real queue, core loops and
 * SMTP client against a scripted server on 127.0.0.1 (the relayhost): a
 * server that offers DSN gets NOTIFY and ORCPT and the sender gets no
 * report from tern (RFC 3461 5.2.1: that server's own is the one; tern
 * sent a false "delivered" one, found against Postfix); one without DSN
 * gets neither and the sender gets "relayed" (5.2.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/listener.h"
#include "core/log.h"
#include "queue-harness.h"

/* ---- the server: one session, one message, its MAIL and RCPT kept ---- */

struct t_peer {
	int lfd, fd;
	uint16_t port;
	bool dsn;                    /* offer DSN in the EHLO reply */
	pthread_t thread;
	char in[8192];
	size_t len;
	char mail[1024], rcpt[1024];  /* the client's lines */
	bool message;                /* a message came to its end (".") */
};

static void t_say(struct t_peer *p, const char *text)
{
	size_t n = strlen(text);

	assert_int_equal(send(p->fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The next line without its CRLF into line; false at EOF. */
static bool t_line(struct t_peer *p, char *line, size_t cap)
{
	for (;;) {
		char *lf = memchr(p->in, '\n', p->len);
		ssize_t n;

		if (lf != NULL) {
			size_t total = (size_t)(lf - p->in) + 1, l = total - 1;

			if (l > 0 && p->in[l - 1] == '\r')
				l--;
			snprintf(line, cap, "%.*s", (int)l, p->in);
			memmove(p->in, p->in + total, p->len - total);
			p->len -= total;
			return true;
		}
		if (p->len == sizeof(p->in) ||
		    (n = recv(p->fd, p->in + p->len, sizeof(p->in) - p->len, 0)) <= 0)
			return false;
		p->len += (size_t)n;
	}
}

static void *t_peer_run(void *arg)
{
	struct t_peer *p = arg;
	struct timeval tv = { .tv_sec = 10 };
	char line[1024];

	if ((p->fd = accept(p->lfd, NULL, NULL)) < 0)
		return NULL;
	setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t_say(p, "220 peer.test ESMTP\r\n");
	while (t_line(p, line, sizeof(line))) {
		if (strncmp(line, "EHLO ", 5) == 0) {
			t_say(p, p->dsn ? "250-peer.test\r\n250-DSN\r\n250 8BITMIME\r\n"
					: "250-peer.test\r\n250 8BITMIME\r\n");
		} else if (strncmp(line, "MAIL ", 5) == 0) {
			snprintf(p->mail, sizeof(p->mail), "%s", line);
			t_say(p, "250 2.1.0 ok\r\n");
		} else if (strncmp(line, "RCPT ", 5) == 0) {
			snprintf(p->rcpt, sizeof(p->rcpt), "%s", line);
			t_say(p, "250 2.1.5 ok\r\n");
		} else if (strcmp(line, "DATA") == 0) {
			t_say(p, "354 go ahead\r\n");
			while (t_line(p, line, sizeof(line)) && strcmp(line, ".") != 0)
				;
			p->message = true;
			t_say(p, "250 2.0.0 queued as PEER1\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			t_say(p, "221 2.0.0 bye\r\n");
			break;
		} else {
			t_say(p, "502 5.5.1 not here\r\n");
		}
	}
	close(p->fd);
	return NULL;
}

static void t_peer_start(struct t_peer *p, bool dsn)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(p, 0, sizeof(*p));
	p->dsn = dsn;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(p->lfd, 1), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sin, &sl), 0);
	p->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&p->thread, NULL, t_peer_run, p), 0);
}

/* ---- the queue with its relay on a running core ---- */

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

/* The queue with p as its relayhost, plain SMTP. */
static void t_relay_start(struct t_relay *r, const struct t_peer *p)
{
	char extra[128], *error = NULL;

	qh_setup(&r->h, "queue-relay");
	snprintf(extra, sizeof(extra), "[queue]\nrelayhost = 127.0.0.1:%u\nrelayhost_tls = none\n",
		 (unsigned)p->port);
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

/* Alice's message to a remote address with NOTIFY=SUCCESS and ORCPT,
 * through p, until the queue is done with it; the statistics then. */
static void t_send_success_request(struct t_relay *r, struct t_peer *p, struct queue_stats *st)
{
	const struct queue_rcpt rcpt = {
		.address = "friend@remote.example", .local = false,
		.orcpt = "rfc822;friend@remote.example", .notify = QUEUE_NOTIFY_SUCCESS,
	};
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);

	assert_int_equal(qh_send(r->h.queue, &env, "Subject: out\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r->h, 1));
	pthread_join(p->thread, NULL);
	close(p->lfd);
	assert_true(p->message);
	/* a report is committed before its message is taken out */
	queue_stats(r->h.queue, st);
}

static void test_dsn_server_no_report(void **state)
{
	struct t_peer p;
	struct t_relay r;
	struct queue_stats st;

	(void)state;
	t_peer_start(&p, true);
	t_relay_start(&r, &p);
	t_send_success_request(&r, &p, &st);
	/* RFC 3461 5.2.1 (c), (d): passed on */
	assert_non_null(strstr(p.rcpt, " NOTIFY=SUCCESS"));
	assert_non_null(strstr(p.rcpt, " ORCPT=rfc822;friend@remote.example"));
	/* the one message committed is Alice's: no report */
	assert_int_equal(st.committed, 1);
	assert_int_equal(qh_inbox_count(&r.h, QH_ALICE), 0);
	t_relay_stop(&r);
}

static void test_plain_server_relayed(void **state)
{
	struct t_peer p;
	struct t_relay r;
	struct queue_stats st;
	char *text = NULL;

	(void)state;
	t_peer_start(&p, false);
	t_relay_start(&r, &p);
	t_send_success_request(&r, &p, &st);
	assert_null(strstr(p.rcpt, "NOTIFY="));
	assert_null(strstr(p.mail, "RET="));
	/* 5.2.2: the report, delivered to Alice locally */
	assert_int_equal(st.committed, 2);
	for (unsigned waited = 0; waited < QH_WAIT_MS && qh_inbox_count(&r.h, QH_ALICE) < 1;
	     waited += 10)
		qh_sleep_ms(10);
	assert_int_equal(qh_inbox(&r.h, QH_ALICE, &text, 1), 1);
	assert_non_null(strstr(text, "\r\nAction: relayed\r\n"));
	assert_non_null(strstr(text, "\r\nFinal-Recipient: rfc822; friend@remote.example\r\n"));
	free(text);
	t_relay_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsn_server_no_report),
		cmocka_unit_test(test_plain_server_relayed),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
