/* test-queue-relay - the reports outbound delivery owes a sender who asked
 * for NOTIFY=SUCCESS (queue-relay.c), with the real queue, core loops and
 * SMTP client against a scripted server on 127.0.0.1 (the relayhost): a
 * server that offers DSN gets NOTIFY and ORCPT and the sender gets no
 * report from tern (RFC 3461 5.2.1: that server's own is the one; tern
 * sent a false "delivered" one, found against Postfix); one without DSN
 * gets neither and the sender gets "relayed" (5.2.2). And a deferral's
 * tries and next try kept over a restart (and listed with the server
 * that answered); a bounce's Diagnostic-Code,
 * the reply alone, and its Remote-MTA; 8-bit
 * content as the queue sees it, to servers with and without 8BITMIME;
 * a failed STARTTLS handshake under "may" followed by a plain retry;
 * a server that never greets holding only its own destination. A
 * message sent after the previous one was delivered going over the
 * connection kept idle ([queue] connection_cache_time: RSET, no new
 * connect); when the server has dropped it meanwhile (a 421 to RSET),
 * going at once over a new one, delivered, not deferred (its retry would
 * be 300 s away). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "core/listener.h"
#include "core/log.h"
#include "queue-harness.h"
#include "smtp-peer.h"

/* ---- the server: one session, one message, its MAIL and RCPT kept ---- */

struct t_peer {
	int lfd, fd;
	uint16_t port;
	bool dsn;                    /* offer DSN in the EHLO reply */
	const char *rcpt_reply;      /* the answer to RCPT; NULL: 250 */
	bool no_8bitmime;            /* no 8BITMIME in the EHLO reply */
	bool tls_breaks;             /* offer STARTTLS, answer 220, then no TLS: two sessions */
	unsigned starttls;           /* STARTTLS commands seen */
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

/* One session; false when it ended in a broken STARTTLS. */
static bool t_peer_session(struct t_peer *p)
{
	char line[1024];

	t_say(p, "220 peer.test ESMTP\r\n");
	while (t_line(p, line, sizeof(line))) {
		if (strncmp(line, "EHLO ", 5) == 0) {
			if (p->dsn)
				t_say(p, "250-peer.test\r\n250-DSN\r\n250 8BITMIME\r\n");
			else if (p->no_8bitmime)
				t_say(p, "250 peer.test\r\n");
			else if (p->tls_breaks)
				t_say(p, "250-peer.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
			else
				t_say(p, "250-peer.test\r\n250 8BITMIME\r\n");
		} else if (strcmp(line, "STARTTLS") == 0 && p->tls_breaks) {
			p->starttls++;
			t_say(p, "220 2.0.0 go ahead\r\nthis is no TLS handshake\r\n");
			return false;
		} else if (strncmp(line, "MAIL ", 5) == 0) {
			snprintf(p->mail, sizeof(p->mail), "%s", line);
			t_say(p, "250 2.1.0 ok\r\n");
		} else if (strncmp(line, "RCPT ", 5) == 0) {
			snprintf(p->rcpt, sizeof(p->rcpt), "%s", line);
			t_say(p, p->rcpt_reply != NULL ? p->rcpt_reply : "250 2.1.5 ok\r\n");
		} else if (strcmp(line, "RSET") == 0) {
			t_say(p, "250 2.0.0 ok\r\n");
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
	return true;
}

static void *t_peer_run(void *arg)
{
	struct t_peer *p = arg;
	struct timeval tv = { .tv_sec = 10 };
	bool done = false;

	while (!done) {
		if ((p->fd = accept(p->lfd, NULL, NULL)) < 0)
			return NULL;
		setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		p->len = 0;
		done = t_peer_session(p);
		close(p->fd);
	}
	return NULL;
}

/* How the peer behaves (t_peer's fields of the same names). */
struct t_peer_opts {
	bool dsn, no_8bitmime, tls_breaks;
	const char *rcpt_reply;
};

static void t_peer_start(struct t_peer *p, struct t_peer_opts opts)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(p, 0, sizeof(*p));
	p->dsn = opts.dsn;
	p->rcpt_reply = opts.rcpt_reply;
	p->no_8bitmime = opts.no_8bitmime;
	p->tls_breaks = opts.tls_breaks;
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

/* The core, the queue and its relay running on r's data folder. */
static void t_relay_run(struct t_relay *r)
{
	char *error = NULL;

	assert_int_equal(core_new(&r->h.cfg, &r->core, &error), 0);
	qh_open(&r->h);
	assert_int_equal(queue_relay_start(r->h.queue, core_loop(r->core, 0),
					   2 * QUEUE_RELAY_SESSION_FDS, &error),
			 0);
	assert_int_equal(pthread_create(&r->thread, NULL, t_core_run, r->core), 0);
}

/* The queue with these lines of configuration. */
static void t_relay_start_with(struct t_relay *r, const char *extra)
{
	qh_setup(&r->h, "queue-relay");
	qh_config(&r->h, extra);
	t_relay_run(r);
}

/* The queue with 127.0.0.1:port as its relayhost, TLS `tls`, an idle
 * connection kept for `cache_time` seconds. */
static void t_relay_start_to(struct t_relay *r, uint16_t port, const char *tls,
			     unsigned cache_time)
{
	char extra[192];

	snprintf(extra, sizeof(extra), "[queue]\nrelayhost = 127.0.0.1:%u\nrelayhost_tls = %s\n"
		 "connection_cache_time = %u\n", (unsigned)port, tls, cache_time);
	t_relay_start_with(r, extra);
}

/* The queue with p as its relayhost: no idle connection kept, so that
 * each session ends with QUIT at once (p's session waits for it). */
static void t_relay_start(struct t_relay *r, const struct t_peer *p)
{
	t_relay_start_to(r, p->port, p->tls_breaks ? "may" : "none", 0);
}

/* The server stopped and started again on the same data folder. */
static void t_relay_restart(struct t_relay *r)
{
	core_stop(r->core);
	pthread_join(r->thread, NULL);
	qh_close(&r->h);
	core_free(&r->core);
	t_relay_run(r);
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
	t_peer_start(&p, (struct t_peer_opts){ .dsn = true });
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
	t_peer_start(&p, (struct t_peer_opts){ 0 });
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

struct t_listed {
	unsigned attempts;
	int64_t next_try;
	char error[256], remote_mta[256];
	bool remote;
};

static void t_listed_cb(void *ctx, const struct queue_list_message *msg)
{
	struct t_listed *l = ctx;

	for (size_t i = 0; i < msg->n_rcpts; i++) {
		l->attempts = msg->rcpts[i].attempts;
		l->next_try = msg->rcpts[i].next_try;
		snprintf(l->error, sizeof(l->error), "%s",
			 msg->rcpts[i].error != NULL ? msg->rcpts[i].error : "");
		snprintf(l->remote_mta, sizeof(l->remote_mta), "%s",
			 msg->rcpts[i].remote_mta != NULL ? msg->rcpts[i].remote_mta : "");
		l->remote = msg->rcpts[i].remote;
	}
}

/* A deferral's tries and next try are queue.db's: a restart neither
 * tries again before it is due nor forgets the try made. */
static void test_deferral_survives_restart(void **state)
{
	const struct queue_rcpt rcpt = { .address = "friend@remote.example", .local = false };
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct t_peer p;
	struct t_relay r;
	struct t_listed l = { 0 };
	struct pollfd pfd;
	char *error = NULL;
	int64_t next;

	(void)state;
	t_peer_start(&p, (struct t_peer_opts){ .rcpt_reply = "451 4.7.1 try later\r\n" });
	t_relay_start(&r, &p);
	assert_int_equal(qh_send(r.h.queue, &env, "Subject: out\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	pthread_join(p.thread, NULL);
	for (unsigned waited = 0; waited < QH_WAIT_MS && l.attempts == 0; waited += 10) {
		qh_sleep_ms(10);
		assert_int_equal(queue_list(r.h.data, t_listed_cb, &l, &error), 0);
	}
	assert_int_equal(l.attempts, 1);
	/* the list names the server whose reply the error is, the error
	 * stays the reply alone (a later report's Diagnostic-Code) */
	assert_string_equal(l.error, "451 4.7.1 try later");
	assert_string_equal(l.remote_mta, "127.0.0.1");
	assert_true(l.remote);
	next = l.next_try;
	/* [queue] retry_first: 5 minutes */
	assert_true(next >= (int64_t)time(NULL) + 240);
	t_relay_restart(&r);
	pfd = (struct pollfd){ .fd = p.lfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1500), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(queue_list(r.h.data, t_listed_cb, &l, &error), 0);
	assert_int_equal(l.attempts, 1);
	assert_int_equal(l.next_try, next);
	close(p.lfd);
	t_relay_stop(&r);
}

/* A 550 to RCPT: the sender's report has the reply alone as its
 * Diagnostic-Code (RFC 3464 2.3.6), and the server as Remote-MTA. */
static void test_failed_report_has_the_reply(void **state)
{
	const struct queue_rcpt rcpt = { .address = "nobody@remote.example", .local = false };
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct t_peer p;
	struct t_relay r;
	char *text = NULL;

	(void)state;
	t_peer_start(&p, (struct t_peer_opts){ .rcpt_reply = "550 5.1.1 no such user\r\n" });
	t_relay_start(&r, &p);
	assert_int_equal(qh_send(r.h.queue, &env, "Subject: out\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r.h, 1));
	pthread_join(p.thread, NULL);
	close(p.lfd);
	for (unsigned waited = 0; waited < QH_WAIT_MS && qh_inbox_count(&r.h, QH_ALICE) < 1;
	     waited += 10)
		qh_sleep_ms(10);
	assert_int_equal(qh_inbox(&r.h, QH_ALICE, &text, 1), 1);
	assert_non_null(strstr(text, "\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
	assert_non_null(strstr(text, "\r\nRemote-MTA: dns; 127.0.0.1\r\n"));
	assert_non_null(strstr(text, "\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	assert_null(strstr(text, "said:"));
	free(text);
	t_relay_stop(&r);
}

/* Alice's message (the envelope claims nothing about 8 bits) through a
 * peer; true when it got there. */
static bool t_send_body(struct t_peer *p, bool no_8bitmime, const char *text)
{
	const struct queue_rcpt rcpt = { .address = "friend@remote.example", .local = false };
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct t_relay r;
	char *report = NULL;

	t_peer_start(p, (struct t_peer_opts){ .no_8bitmime = no_8bitmime });
	t_relay_start(&r, p);
	assert_int_equal(qh_send(r.h.queue, &env, text, NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r.h, 1));
	pthread_join(p->thread, NULL);
	close(p->lfd);
	if (!p->message) {
		/* RFC 6152 3: not sent as is; tern does not convert (a DKIM
		 * signature would break), it bounces */
		for (unsigned waited = 0; waited < QH_WAIT_MS && qh_inbox_count(&r.h, QH_ALICE) < 1;
		     waited += 10)
			qh_sleep_ms(10);
		assert_int_equal(qh_inbox(&r.h, QH_ALICE, &report, 1), 1);
		assert_non_null(strstr(report, "\r\nStatus: 5.6.3\r\n"));
		free(report);
	}
	t_relay_stop(&r);
	return p->message;
}

/* The queue's 8-bit flag is the content's, not BODY='s: ASCII goes to a
 * server without 8BITMIME (tern sendmail declares 8BITMIME for any
 * message), 8-bit goes with BODY=8BITMIME to one that has it and never
 * as is to one without. */
static void test_eightbit_is_the_content(void **state)
{
	static const char ascii[] = "Subject: plain\r\n\r\nascii only\r\n";
	static const char latin[] = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n";
	struct t_peer p;

	(void)state;
	assert_true(t_send_body(&p, true, ascii));
	assert_null(strstr(p.mail, "BODY="));
	assert_true(t_send_body(&p, false, latin));
	assert_non_null(strstr(p.mail, " BODY=8BITMIME"));
	assert_false(t_send_body(&p, true, latin));
}

/* Opportunistic TLS ("may", as Postfix): a STARTTLS handshake that
 * fails has the mail go again at once over a new connection without
 * TLS, which does not try STARTTLS again. */
static void test_failed_starttls_goes_plain(void **state)
{
	const struct queue_rcpt rcpt = { .address = "friend@remote.example", .local = false };
	const struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct t_peer p;
	struct t_relay r;

	(void)state;
	t_peer_start(&p, (struct t_peer_opts){ .tls_breaks = true });
	t_relay_start(&r, &p);
	assert_int_equal(qh_send(r.h.queue, &env, "Subject: out\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r.h, 1));
	pthread_join(p.thread, NULL);
	close(p.lfd);
	assert_true(p.message);
	assert_int_equal(p.starttls, 1);
	t_relay_stop(&r);
}

/* A server that takes the connection and never says a word holds its
 * own destination's mail only: the next message, for another
 * destination, is delivered meanwhile (the greeting timeout, 5 minutes,
 * ends the first in a deferral; the stop here). */
static void test_hung_server_holds_only_its_destination(void **state)
{
	const struct queue_rcpt stuck = { .address = "friend@stuck.example", .local = false };
	const struct queue_rcpt fine = { .address = "friend@remote.example", .local = false };
	const struct queue_envelope env1 = QH_ENVELOPE(&stuck, 1), env2 = QH_ENVELOPE(&fine, 1);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct t_peer p;
	struct t_relay r;
	struct queue_stats st;
	char extra[256];
	int hung;

	(void)state;
	/* listening, never accepting: the kernel completes the connection */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hung = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(hung >= 0);
	assert_int_equal(bind(hung, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(hung, 4), 0);
	assert_int_equal(getsockname(hung, (struct sockaddr *)&sin, &sl), 0);
	t_peer_start(&p, (struct t_peer_opts){ 0 });
	snprintf(extra, sizeof(extra),
		 "[queue]\nrelayhost = 127.0.0.1:%u\nrelayhost_tls = none\n"
		 "transport = stuck.example=127.0.0.1:%u/none\n",
		 (unsigned)p.port, (unsigned)ntohs(sin.sin_port));
	t_relay_start_with(&r, extra);
	assert_int_equal(qh_send(r.h.queue, &env1, "Subject: one\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	assert_int_equal(qh_send(r.h.queue, &env2, "Subject: two\r\n\r\nbody\r\n", NULL), QUEUE_OK);
	assert_true(qh_wait_finished(&r.h, 1));
	pthread_join(p.thread, NULL);
	close(p.lfd);
	assert_true(p.message);
	assert_non_null(strstr(p.rcpt, "<friend@remote.example>"));
	queue_stats(r.h.queue, &st);
	assert_int_equal(st.finished, 1);
	t_relay_stop(&r);
	close(hung);
}

/* ---- connections reused between messages, against smtp-peer.h's peer ---- */

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
	t_relay_start_to(&r, p->port, "none", 30);
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
	t_relay_start_to(&r, p[0].port, "none", 30);
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
		cmocka_unit_test(test_dsn_server_no_report),
		cmocka_unit_test(test_plain_server_relayed),
		cmocka_unit_test(test_failed_report_has_the_reply),
		cmocka_unit_test(test_deferral_survives_restart),
		cmocka_unit_test(test_eightbit_is_the_content),
		cmocka_unit_test(test_failed_starttls_goes_plain),
		cmocka_unit_test(test_hung_server_holds_only_its_destination),
		cmocka_unit_test(test_idle_reused),
		cmocka_unit_test(test_dropped_fresh),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
