/* test-smtp-client - the SMTP client (src/smtp/smtp-client*.c) on the real
 * core over loopback: against a scripted peer (a thread on a real socket
 * that reads the client's lines and writes the replies the test gives,
 * whole or byte by byte): pipelining order, the 452 split, HELO
 * fallback, STARTTLS refused and failing, SIZE, SMTPUTF8 and 8BITMIME
 * refusals, dot-stuffing and bare CR/LF normalisation of the bytes that
 * arrive, DATA and BDAT, refused greeting, MAIL and DATA, a lost
 * connection before the final reply, endless line / trickle / garbage
 * peers ending in a deferral within bounds, QUIT without reply,
 * connection reuse, AUTH only over TLS, replies out of turn (before
 * their command, with the 354, during the data), a server that stops
 * reading mid-message (the block timeout), one that closes after each
 * step in turn, the exact bytes of 300 KB of random line ends, dots, NULs
 * and 8-bit (and the stage of the reply that delivered them: the end of
 * data or BDAT LAST); BDAT pipelined (the window, reply matching, a
 * chunk refused mid-stream and after LAST), a reader too slow for the
 * message's size (the data deadline), a connection parked between
 * messages (reused; closed, a 421 or its time out while idle), a reused
 * connection lost before MAIL's reply (NEXT_FRESH, delivered on a new
 * one); and against tern's own SMTP
 * server (smtp-harness.h): STARTTLS, BDAT, several recipients, two
 * messages on one connection. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtp-harness.h"
#include "smtp-peer.h"

#include "core/conn-connect.h"
#include "core/listener.h"
#include "core/loop.h"
#include "smtp/smtp-client.h"

/* ---- the client's side: a run of one or more messages ---- */

#define RUN_RCPTS 8

struct run {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	unsigned closes, want_closes;     /* sessions ended; to wait for (0: 1) */
	/* smtp_client_park after each message but the last (or after the
	 * only one, with park_last) for park_s seconds; smtp_client_next
	 * from the test (run_resume) */
	unsigned park_s;
	bool park_last;
	struct smtp_client *parked;
	bool gone;                        /* the parked connection ended by itself */
	/* SMTP_CLIENT_NEXT_FRESH: the message again on a new connection here */
	uint16_t fresh_port;
	struct smtp_client_policy policy;
	struct smtp_client_message msgs[2];
	size_t n_msgs, at;                /* messages to send on the connection; the current one */
	struct smtp_client_rcpt rcpts[RUN_RCPTS];
	/* results per message and recipient */
	int status[2][RUN_RCPTS];         /* -1: none */
	unsigned code[2][RUN_RCPTS];
	char enhanced[2][RUN_RCPTS][12];
	char text[2][RUN_RCPTS][128];
	bool relayed[2][RUN_RCPTS];
	char stage[2][RUN_RCPTS][16];
	unsigned results;
	int next[2];
	char tls_version[32];
	bool next_refused;                /* smtp_client_next said no */
	const char *server_name;          /* the name to verify; NULL: "localhost" */
	int fd;
	char path[64];
};

static void run_rcpt_done(void *arg, size_t index, const struct smtp_client_result *r)
{
	struct run *run = arg;
	size_t m = run->at;

	assert_true(index < RUN_RCPTS);
	assert_int_equal(run->status[m][index], -1);   /* once */
	run->status[m][index] = (int)r->status;
	run->code[m][index] = r->code;
	snprintf(run->enhanced[m][index], sizeof(run->enhanced[m][index]), "%s", r->enhanced);
	snprintf(run->text[m][index], sizeof(run->text[m][index]), "%s", r->text);
	run->relayed[m][index] = r->dsn_relayed;
	snprintf(run->stage[m][index], sizeof(run->stage[m][index]), "%s", r->stage);
	run->results++;
}

static void run_gone(void *arg)
{
	struct run *run = arg;

	run->gone = true;
	run->parked = NULL;
}

static void run_closed(void *arg);
static void run_target(struct run *run, struct smtp_client_target *t, uint16_t port);

static void run_done(void *arg, struct smtp_client *client, enum smtp_client_next next)
{
	struct run *run = arg;
	const char *v = smtp_client_tls_version(client);

	run->next[run->at] = (int)next;
	if (v != NULL)
		snprintf(run->tls_version, sizeof(run->tls_version), "%s", v);
	if (next == SMTP_CLIENT_NEXT_FRESH && run->fresh_port != 0) {
		/* what the queue does: the same message on a new connection */
		struct smtp_client_target t;

		run_target(run, &t, run->fresh_port);
		run->fresh_port = 0;
		for (size_t i = 0; i < RUN_RCPTS; i++)
			run->status[run->at][i] = -1;
		smtp_client_start(core_loop(t_h.core, 0), &t, &run->msgs[run->at]);
		return;
	}
	if (run->park_s > 0 && (run->park_last || run->at + 1 < run->n_msgs)) {
		assert_true(smtp_client_park(client, run->park_s, run_gone, run));
		run->parked = client;
		if (run->at + 1 < run->n_msgs)
			run->at++;
		return;
	}
	if (run->at + 1 < run->n_msgs) {
		run->at++;
		if (!smtp_client_next(client, &run->msgs[run->at]))
			run->next_refused = true;
	}
}

static void run_closed(void *arg)
{
	struct run *run = arg;

	pthread_mutex_lock(&run->lock);
	run->closes++;
	run->closed = run->closes >= (run->want_closes > 0 ? run->want_closes : 1);
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/* On the loop: the parked connection takes the next message. */
static void run_resume_cb(void *arg)
{
	struct run *run = arg;

	if (run->parked == NULL || !smtp_client_next(run->parked, &run->msgs[run->at]))
		run->next_refused = true;
	run->parked = NULL;
}

static void run_quit_cb(void *arg)
{
	struct run *run = arg;

	if (run->parked != NULL)
		smtp_client_quit(run->parked);
	run->parked = NULL;
}

/* After `ms`: the next message on the parked connection (or QUIT). */
static void run_resume(struct run *run, unsigned ms, bool quit)
{
	usleep(ms * 1000);
	loop_post(core_loop(t_h.core, 0), quit ? run_quit_cb : run_resume_cb, run);
}

/* A run whose message is `body` to n recipients (addresses given). */
static void run_init(struct run *run, const char *body, size_t n, const char *const *addresses)
{
	memset(run, 0, sizeof(*run));
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->cond, NULL);
	memset(run->status, -1, sizeof(run->status));
	memset(run->next, -1, sizeof(run->next));
	run->policy = (struct smtp_client_policy){
		.tls = SMTP_CLIENT_TLS_MAY, .helo_name = "client.test",
		.timeouts = { 5, 5, 5, 5, 5, 5, 0 },
	};
	snprintf(run->path, sizeof(run->path), "/tmp/tern-test-client-XXXXXX");
	run->fd = mkstemp(run->path);
	assert_true(run->fd >= 0);
	assert_int_equal(write(run->fd, body, strlen(body)), (ssize_t)strlen(body));
	for (size_t i = 0; i < n; i++)
		run->rcpts[i].address = addresses[i];
	for (size_t m = 0; m < 2; m++)
		run->msgs[m] = (struct smtp_client_message){
			.sender = "sender@client.test", .rcpts = run->rcpts, .n_rcpts = n,
			.fd = run->fd, .offset = 0, .length = strlen(body),
			.rcpt_done = run_rcpt_done, .done = run_done, .arg = run,
		};
	run->n_msgs = 1;
}

/* Connect to 127.0.0.1:port (with implicit TLS), run, wait for the end
 * (within `max_s`); the seconds it took. */
/* The target 127.0.0.1:port with the run's policy. */
static void run_target(struct run *run, struct smtp_client_target *t, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->remote;

	*t = (struct smtp_client_target){ .policy = &run->policy, .closed = run_closed, .arg = run };
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(t->server_name, sizeof(t->server_name), "%s",
		 run->server_name != NULL ? run->server_name : "localhost");
}

/* Start the run (its first message). */
static void run_start(struct run *run, uint16_t port, bool implicit_tls)
{
	struct smtp_client_target t;

	run_target(run, &t, port);
	t.implicit_tls = implicit_tls;
	smtp_client_start(core_loop(t_h.core, 0), &t, &run->msgs[0]);
}

/* Wait for the run's end (within `max_s`). */
static void run_wait(struct run *run, double max_s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)max_s;
	pthread_mutex_lock(&run->lock);
	while (!run->closed)
		if (pthread_cond_timedwait(&run->cond, &run->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&run->lock);
	assert_true(run->closed);
}

static double run_go_tls(struct run *run, uint16_t port, double max_s, bool implicit_tls)
{
	double start = now_s();

	run_start(run, port, implicit_tls);
	run_wait(run, max_s);
	return now_s() - start;
}

static double run_go(struct run *run, uint16_t port, double max_s)
{
	return run_go_tls(run, port, max_s, false);
}

static void run_free(struct run *run)
{
	close(run->fd);
	unlink(run->path);
}

static const char *const one[] = { "a@peer.test" };
static const char *const three[] = { "a@peer.test", "b@peer.test", "c@peer.test" };
#define BODY "Subject: t\r\n\r\nhello\r\n"

static int setup(void **state)
{
	(void)state;
	smtp_harness_start(SMTP_SERVICE_MX, "127.0.0.0/8");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_harness_stop();
	return 0;
}

/* ---- against the scripted peer ---- */

static void test_pipelining(void **state)
{
	/* every RCPT arrives before any reply: the peer answers only then */
	static const char *const script[] = {
		">220 peer.test ESMTP",
		"<EHLO client.test",
		">250-peer.test|250-PIPELINING|250-SIZE 100000|250 ENHANCEDSTATUSCODES",
		"<MAIL FROM:<sender@client.test> SIZE=21",
		"<RCPT TO:<a@peer.test>", "<RCPT TO:<b@peer.test>", "<RCPT TO:<c@peer.test>",
		">250 2.1.0 ok|250 2.1.5 ok|550 5.1.1 no such user|451 4.3.0 try later",
		"<DATA", ">354 go", "D", ">250 2.0.0 queued as X",
		"<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 3, three);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_string_equal(run.enhanced[0][0], "2.0.0");
	assert_true(run.relayed[0][0]);   /* no DSN offered */
	assert_int_equal(run.status[0][1], SMTP_CLIENT_BOUNCED);
	assert_int_equal(run.code[0][1], 550);
	assert_string_equal(run.enhanced[0][1], "5.1.1");
	assert_string_equal(run.text[0][1], "no such user");
	assert_int_equal(run.status[0][2], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][2], "4.3.0");
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_NONE);
	assert_string_equal(p.data, "Subject: t\r\n\r\nhello\r\n.\r\n");
	run_free(&run);
}

static void test_split_452(void **state)
{
	/* no PIPELINING: one by one; the 452 after an accepted RCPT sends
	 * the rest in a new transaction on the same connection */
	static const char *const script[] = {
		">220 peer.test ESMTP",
		"<EHLO", ">250-peer.test|250 DSN",
		"<MAIL FROM:<sender@client.test> RET=HDRS ENVID=e+2Bx", ">250 ok",
		"<RCPT TO:<a@peer.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A+3Dx@peer.test",
		">250 ok",
		"<RCPT TO:<b@peer.test>", ">452 4.5.3 too many recipients",
		"<DATA", ">354 go", "D", ">250 first",
		"<RSET", ">250 ok",
		"<MAIL FROM:", ">250 ok",
		"<RCPT TO:<b@peer.test>", ">250 ok",
		"<RCPT TO:<c@peer.test>", ">250 ok",
		"<DATA", ">354 go", "D", ">250 second",
		"<QUIT", "X", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 3, three);
	run.msgs[0].ret = QUEUE_RET_HDRS;
	run.msgs[0].envid = "e+x";
	run.rcpts[0].notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE;
	run.rcpts[0].orcpt = "rfc822;A=x@peer.test";
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_string_equal(run.text[0][0], "first");
	assert_false(run.relayed[0][0]);
	assert_int_equal(run.status[0][1], SMTP_CLIENT_DELIVERED);
	assert_string_equal(run.text[0][1], "second");
	assert_int_equal(run.status[0][2], SMTP_CLIENT_DELIVERED);
	run_free(&run);
}

static void test_helo_fallback(void **state)
{
	/* EHLO refused: HELO, no extensions, so no SIZE= and no STARTTLS */
	static const char *const script[] = {
		">220 old.test SMTP", "<EHLO", ">502 what?", "<HELO client.test", ">250 hi",
		"<MAIL FROM:<sender@client.test>", ">250 ok", "<RCPT TO:<a@peer.test>", ">250 ok",
		"<DATA", ">354 go", "D", ">250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_string_equal(p.lines, "EHLO client.test|HELO client.test|MAIL FROM:<sender@client.test>|"
				     "RCPT TO:<a@peer.test>|DATA|QUIT");
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	run_free(&run);
}

static void test_stuffing(void **state)
{
	/* dots doubled at line starts, bare LF and bare CR made CRLF, a
	 * last line without its end given one; the trickled reply is read */
	static const char *const script[] = {
		"~220 peer.test ESMTP", "<EHLO", "~250-peer.test|250 8BITMIME",
		"<MAIL FROM:<sender@client.test> BODY=8BITMIME", ">250 ok",
		"<RCPT", ">250 ok", "<DATA", ">354 go", "D", "~250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, ".a\n..b\r\nc\rd\r\r\n.\r\n\xe9t\xe9\r\n.", 1, one);
	run.msgs[0].eightbit = true;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_int_equal(p.data_len, strlen("..a\r\n...b\r\nc\r\nd\r\n\r\n..\r\n\xe9t\xe9\r\n..\r\n.\r\n"));
	assert_memory_equal(p.data, "..a\r\n...b\r\nc\r\nd\r\n\r\n..\r\n\xe9t\xe9\r\n..\r\n.\r\n",
			    p.data_len);
	run_free(&run);
}

/* The wire form of a message, worked out here apart from the client's
 * encoder: each CRLF, lone CR and lone LF a CRLF, a last line ended, for
 * DATA the dots doubled at line starts and the ".CRLF" after. */
static size_t wire_form(const unsigned char *in, size_t len, bool stuff, char *out)
{
	size_t k = 0;
	bool line_start = true;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
			out[k++] = '\r';
			out[k++] = '\n';
			line_start = true;
			continue;
		}
		if (line_start && in[i] == '.' && stuff)
			out[k++] = '.';
		out[k++] = (char)in[i];
		line_start = false;
	}
	if (!line_start) {
		out[k++] = '\r';
		out[k++] = '\n';
	}
	if (stuff) {
		memcpy(out + k, ".\r\n", 3);
		k += 3;
	}
	return k;
}

/* 300 KB of line ends, dots, NULs, 8-bit and text at random, a CRLF and
 * a CR + "." cut by the 128 KiB pieces the client reads, ending in a
 * lone "." without its line end: what arrives (DATA, then BDAT) is the
 * wire form exactly, no CR or LF but in CRLF. */
static void test_wire_bytes(void **state)
{
	static const char *const data[] = {
		">220 p", "<EHLO", ">250-p|250 8BITMIME", "<MAIL", ">250 ok", "<RCPT", ">250 ok",
		"<DATA", ">354 go", "D", ">250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	static const char *const bdat[] = {
		">220 p", "<EHLO", ">250-p|250-8BITMIME|250 CHUNKING", "<MAIL", ">250 ok", "<RCPT",
		">250 ok", "B", ">250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	static const unsigned char alphabet[] = { '\r', '\n', '.', '\0', 0xff, 0x80, ' ', 'a',
						  'b', '\r', '\n', '.' };
	const size_t len = 300 * 1024;
	unsigned char *m = malloc(len);
	char *want = malloc(2 * len + 8);
	struct peer *p = malloc(sizeof(*p));
	uint32_t x = 2463534242u;

	(void)state;
	assert_non_null(m);
	assert_non_null(want);
	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		m[i] = alphabet[x % sizeof(alphabet)];
	}
	memcpy(m + (128u << 10) - 1, "\r\n", 2);
	memcpy(m + (256u << 10) - 1, "\r.", 2);
	memcpy(m + len - 2, "\n.", 2);
	for (int b = 0; b < 2; b++) {
		struct run run;
		size_t want_len = wire_form(m, len, b == 0, want);

		peer_start(p, b == 0 ? data : bdat);
		run_init(&run, "", 1, one);
		assert_int_equal(write(run.fd, m, len), (ssize_t)len);
		run.msgs[0].length = len;
		run.msgs[0].eightbit = true;
		run_go(&run, p->port, 10);
		peer_finish(p);
		assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
		/* the reply that delivered it answered the final dot, or the
		 * last of the three chunks (the log says which was used) */
		assert_string_equal(run.stage[0][0], b == 0 ? "end of data" : "BDAT LAST");
		assert_int_equal(p->data_len, want_len);
		assert_memory_equal(p->data, want, want_len);
		for (size_t i = 0; i < p->data_len; i++) {
			if (p->data[i] == '\r')
				assert_true(i + 1 < p->data_len && p->data[i + 1] == '\n');
			if (p->data[i] == '\n')
				assert_true(i > 0 && p->data[i - 1] == '\r');
		}
		run_free(&run);
	}
	free(p);
	free(want);
	free(m);
}

static void test_bdat(void **state)
{
	/* CHUNKING: BDAT with the exact octet count, no dot-stuffing, lines
	 * still made CRLF; DSN not offered is recorded */
	static const char *const script[] = {
		">220 peer.test ESMTP", "<EHLO", ">250-peer.test|250-CHUNKING|250 PIPELINING",
		"<MAIL FROM:", "<RCPT", ">250 ok|250 ok", "B", ">250 2.0.0 all of it",
		"<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, ".a\nb", 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_string_equal(run.text[0][0], "all of it");
	assert_int_equal(p.data_len, 7);
	assert_memory_equal(p.data, ".a\r\nb\r\n", 7);
	run_free(&run);
}

/* A message of `size` octets in lines of 70 with bare LFs, every tenth
 * line starting with "."; *want_r its wire form for DATA or BDAT. */
static char *big_message(size_t lines, bool dots, char **want_r, size_t *want_len_r)
{
	char *m = malloc(lines * 72 + 1), *w = malloc(lines * 74 + 1);
	size_t n = 0, k = 0;

	assert_non_null(m);
	assert_non_null(w);
	for (size_t i = 0; i < lines; i++) {
		if (i % 10 == 0) {
			m[n++] = '.';
			w[k++] = '.';
			if (dots)
				w[k++] = '.';
		}
		memset(m + n, 'a' + (int)(i % 26), 68);
		memset(w + k, 'a' + (int)(i % 26), 68);
		n += 68;
		k += 68;
		m[n++] = '\n';
		w[k++] = '\r';
		w[k++] = '\n';
	}
	m[n] = '\0';
	w[k] = '\0';
	*want_r = w;
	*want_len_r = k;
	return m;
}

/* big_message(10000 lines: 700,000 octets; its wire form in *want_r)
 * to a peer that runs `script`, n_msgs times on one connection; the peer
 * (malloc'd, for the caller to free) for the checks. */
static struct peer *big_go(const char *const *script, bool dots, size_t n_msgs, struct run *run,
			   char **want_r, size_t *want_len_r)
{
	struct peer *p = malloc(sizeof(*p));
	char *msg;

	assert_non_null(p);
	msg = big_message(10000, dots, want_r, want_len_r);
	peer_start(p, script);
	run_init(run, msg, 1, one);
	run->n_msgs = n_msgs;
	run_go(run, p->port, 20);
	peer_finish(p);
	free(msg);
	return p;
}

/* After big_go's checks. */
static void big_free(struct peer *p, struct run *run, char *want)
{
	run_free(run);
	free(want);
	free(p);
}

static void test_large(void **state)
{
	/* 700 KB: many pieces read in jobs; DATA waits for the output to
	 * drain (the peer reads as it can), BDAT is six chunks */
	static const char *const data[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	static const char *const bdat[] = {
		">220 p", "<EHLO", ">250-p|250 CHUNKING", "<MAIL", ">250 ok", "<RCPT", ">250 ok",
		"B", ">250 ok", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer *p;
	struct run run;
	char *want;
	size_t want_len;

	(void)state;
	p = big_go(data, true, 1, &run, &want, &want_len);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_int_equal(p->data_len, want_len + 3);
	assert_memory_equal(p->data, want, want_len);
	big_free(p, &run, want);

	p = big_go(bdat, false, 1, &run, &want, &want_len);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_int_equal(p->data_len, want_len);
	assert_memory_equal(p->data, want, want_len);
	big_free(p, &run, want);
}

/* Under PIPELINING the chunks go out without waiting for their replies,
 * at most SMTP_CLIENT_BDAT_WINDOW (4) at once; each reply answers the
 * oldest chunk; the bytes are the message's wire form. */
static void test_bdat_pipelined(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250-p|250-PIPELINING|250 CHUNKING", "<MAIL", "<RCPT",
		">250 ok|250 ok", "P4", "Q", ">250 one|250 two", "P2",
		">250 three|250 four|250 five|250 2.0.0 all of it",
		"<QUIT", ">221 bye", "E", NULL,
	};
	struct peer *p;
	struct run run;
	char *want;
	size_t want_len;

	(void)state;
	/* six chunks, the last one LAST */
	p = big_go(script, false, 1, &run, &want, &want_len);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_string_equal(run.text[0][0], "all of it");
	assert_int_equal(p->chunks, 6);
	assert_int_equal(p->data_len, want_len);
	assert_memory_equal(p->data, want, want_len);
	big_free(p, &run, want);
}

/* A chunk refused mid-stream (RFC 3030 2): no chunk more is sent, the
 * replies to those already out are read and say nothing, the recipient
 * gets the refusal (4xx: deferred), and the next message starts with
 * RSET on the same connection; a chunk refused after LAST went out
 * ends the transaction too (bounced: 5xx). */
static void test_bdat_chunk_refused(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250-p|250-PIPELINING|250 CHUNKING", "<MAIL", "<RCPT",
		">250 ok|250 ok", "P4", "Q",
		">452 4.3.1 disk full|503 5.5.1 no|503 5.5.1 no|503 5.5.1 no", "<RSET", ">250 ok",
		"<MAIL", "<RCPT", ">250 ok|250 ok", "P4",
		">250 one|250 two|250 three|250 four", "P2",
		">554 5.6.0 bad content|554 5.5.1 no", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer *p;
	struct run run;
	char *want;
	size_t want_len;

	(void)state;
	p = big_go(script, false, 2, &run, &want, &want_len);
	assert_false(run.next_refused);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.3.1");
	assert_string_equal(run.text[0][0], "disk full");
	assert_int_equal(run.status[1][0], SMTP_CLIENT_BOUNCED);
	assert_string_equal(run.enhanced[1][0], "5.6.0");
	assert_int_equal(p->chunks, 4 + 6);
	big_free(p, &run, want);
}

/* A chunk but the last answered with a 2xx other than 250: no verdict
 * (the message is not all out), the recipient deferred. */
static void test_bdat_odd_reply(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250-p|250 CHUNKING", "<MAIL", ">250 ok", "<RCPT", ">250 ok",
		"P1", ">251 fine", "E", NULL,
	};
	struct peer *p;
	struct run run;
	char *want;
	size_t want_len;

	(void)state;
	p = big_go(script, false, 1, &run, &want, &want_len);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.5.0");
	big_free(p, &run, want);
}

static void test_refusals(void **state)
{
	/* SIZE, SMTPUTF8, 8BITMIME: nothing is sent, every recipient bounces */
	static const char *const script[] = {
		">220 peer.test ESMTP", "<EHLO", ">250-peer.test|250 SIZE 10", "<QUIT", ">221 bye",
		"E", NULL,
	};
	static const char *const utf8[] = { "j\xc3\xb6@peer.test" };
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_BOUNCED);
	assert_int_equal(run.code[0][0], 552);
	assert_string_equal(run.enhanced[0][0], "5.3.4");
	run_free(&run);

	peer_start(&p, script);
	run_init(&run, "x\r\n", 1, utf8);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_BOUNCED);
	assert_string_equal(run.enhanced[0][0], "5.6.7");
	run_free(&run);

	peer_start(&p, script);
	run_init(&run, "x\r\n", 1, one);
	run.msgs[0].eightbit = true;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_BOUNCED);
	assert_string_equal(run.enhanced[0][0], "5.6.3");
	run_free(&run);
}

static void test_refused_steps(void **state)
{
	static const char *const greeting[] = { ">554 5.3.2 go away", "<QUIT", "E", NULL };
	static const char *const mail[] = {
		">220 p", "<EHLO", ">250-p|250 PIPELINING", "<MAIL", "<RCPT", "<RCPT",
		">550 5.7.1 sender refused|503 5.5.1 no MAIL|503 5.5.1 no MAIL", "<QUIT", ">221 bye",
		"E", NULL,
	};
	static const char *const data[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">451 4.3.0 not now", "<QUIT", ">221 bye", "E", NULL,
	};
	/* lost before the reply to the end of data: deferred, never delivered */
	static const char *const lost[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", "X", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, greeting);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	/* no verdict on the recipient: deferred, the next MX may take it */
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.3.2");
	assert_string_equal(run.text[0][0], "greeting refused: 554 5.3.2 go away");
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	run_free(&run);

	peer_start(&p, mail);
	run_init(&run, BODY, 2, three);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_BOUNCED);
	assert_int_equal(run.status[0][1], SMTP_CLIENT_BOUNCED);
	assert_string_equal(run.text[0][1], "sender refused");
	run_free(&run);

	peer_start(&p, data);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.3.0");
	run_free(&run);

	peer_start(&p, lost);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_false(run.code[0][0] >= 200 && run.code[0][0] < 300);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_NONE);
	run_free(&run);
}

static void test_quit_unanswered(void **state)
{
	/* a server that closes at QUIT without replying; then one that
	 * never answers QUIT: both fine, the second within the timeout */
	static const char *const closes[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 ok", "<QUIT", "X", NULL,
	};
	static const char *const silent[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 ok", "<QUIT", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, closes);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	run_free(&run);

	peer_start(&p, silent);
	run_init(&run, BODY, 1, one);
	run.policy.timeouts.command = 1;
	assert_true(run_go(&run, p.port, 10) < 4);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	run_free(&run);
}

/* A peer that misbehaves: the recipient is deferred within the bounds. */
static void bad_peer(const char *const *script, unsigned timeout)
{
	struct peer p;
	struct run run;
	double took;

	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run.policy.timeouts = (struct smtp_client_timeouts){ timeout, timeout, timeout, timeout,
							     timeout, timeout, 0 };
	took = run_go(&run, p.port, 15);
	peer_finish(&p);
	assert_true(took < timeout + 3);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	run_free(&run);
}

static void test_bad_peers(void **state)
{
	static const char *const garbage[] = { "Z", NULL };
	static const char *const endless[] = { "L", NULL };
	/* a greeting that trickles in, a byte per millisecond, without end
	 * would take 200 s of lines: the greeting deadline ends it */
	static const char *const slow[] = {
		"~220-a|220-b|220-c|220-d|220-e|220-f|220-g|220-h|220-i|220-j|220-k|220-l|220-m|"
		"220-n|220-o|220-p|220-q|220-r|220-s|220-t|220-u|220-v|220-w|220-x|220-y|220-z|"
		"220-a|220-b|220-c|220-d|220-e|220-f|220-g|220-h|220-i|220-j|220-k|220-l|220-m|"
		"220-n|220-o|220-p|220-q|220-r|220-s|220-t|220-u|220-v|220-w|220-x|220-y|220-z|"
		"220-a|220-b|220-c|220-d|220-e|220-f|220-g|220-h|220-i|220-j|220-k|220-l|220-m|"
		"220-n|220-o|220-p|220-q|220-r|220-s|220-t|220-u|220-v|220-w|220-x|220-y|220-z|"
		"220 end", NULL,
	};
	static const char *const silent[] = { "E", NULL };

	(void)state;
	bad_peer(garbage, 5);
	bad_peer(endless, 5);
	bad_peer(slow, 1);
	bad_peer(silent, 1);
}

/* A server's reply sent before the command it answers (a pipelining
 * desync, or a forger's guess): the 250 that came with the 354 is no
 * answer to the end of data, nor one with the greeting to EHLO, nor one
 * that came while the message was going out: deferred, never delivered. */
static void test_out_of_turn(void **state)
{
	static const char *const with_354[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go|250 2.0.0 queued before the data came", "E", NULL,
	};
	static const char *const with_greeting[] = { ">220 p|250 p", "E", NULL };
	static const char *const bdat[] = {
		">220 p", "<EHLO", ">250-p|250-PIPELINING|250 CHUNKING", "<MAIL", "<RCPT",
		">250 ok|250 ok|250 2.0.0 the chunk, before it came", "E", NULL,
	};
	/* 354 to RCPT is no acceptance (nor MAIL's 354 one) */
	static const char *const rcpt_354[] = {
		">220 p", "<EHLO", ">250-p|250 PIPELINING", "<MAIL", "<RCPT", ">250 ok|354 go",
		"<QUIT", ">221 bye", "E", NULL,
	};
	const char *const *scripts[] = { with_354, with_greeting, bdat, rcpt_354 };
	struct peer p;
	struct run run;

	(void)state;
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		peer_start(&p, scripts[i]);
		run_init(&run, BODY, 1, one);
		run.policy.timeouts.command = 2;
		run_go(&run, p.port, 10);
		peer_finish(&p);
		assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
		/* seen for what it is, not waited out */
		assert_null(strstr(run.text[0][0], "timeout"));
		run_free(&run);
	}
}

/* A run of one message of `size` octets: lines of 999 x's. */
static void run_init_big(struct run *run, size_t size)
{
	char *big = malloc(size + 1);

	assert_non_null(big);
	memset(big, 'x', size);
	for (size_t i = 999; i < size; i += 1000)
		big[i] = '\n';
	big[size] = '\0';
	run_init(run, big, 1, one);
	free(big);
}

/* A server that stops reading in the middle of a message: the block
 * timeout ends it (deferred), the rest of the message never waits for
 * it. 64 MiB, more than the sockets' buffers hold. */
static void test_stops_reading(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "H", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init_big(&run, 64u << 20);
	run.policy.timeouts.block = 1;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	/* the block timeout, not run_go's limit nor the peer's close (after 4 s) */
	assert_string_equal(run.text[0][0], "timeout waiting for the reply to DATA");
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_NONE);
	run_free(&run);
}

/* A server that reads, but too slowly for the message's size: the data
 * phase's deadline (2 s + 1 s per 32 MiB: 2.5 s for 16 MiB) ends it,
 * deferred, although each block goes out within the block timeout. */
static void test_slow_reader(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "S", NULL,
	};
	struct peer p;
	struct run run;
	double took;

	(void)state;
	peer_start(&p, script);
	run_init_big(&run, 16u << 20);
	run.policy.timeouts.block = 2;
	run.policy.timeouts.data_rate = 32u << 20;
	took = run_go(&run, p.port, 15);
	peer_finish(&p);
	assert_true(took >= 2.4);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.4.2");
	assert_non_null(strstr(run.text[0][0], "too slowly"));
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_NONE);
	run_free(&run);
}

/* A server that closes after each step of a session in turn: the
 * recipient is deferred every time but the last (the 250 to the end of
 * data was read), and no close waits for a timeout. */
static void test_close_at_every_step(void **state)
{
	static const char *const steps[] = {
		">220 p", "<EHLO", ">250-p|250 PIPELINING", "<MAIL", "<RCPT", ">250 ok|250 ok",
		"<DATA", ">354 go", "D", ">250 ok",
	};
	const size_t n = sizeof(steps) / sizeof(steps[0]);
	const char *script[sizeof(steps) / sizeof(steps[0]) + 2];

	(void)state;
	for (size_t k = 0; k <= n; k++) {
		struct peer p;
		struct run run;

		memcpy(script, steps, k * sizeof(steps[0]));
		script[k] = "X";
		script[k + 1] = NULL;
		peer_start(&p, script);
		run_init(&run, BODY, 1, one);
		assert_true(run_go(&run, p.port, 10) < 3);
		peer_finish(&p);
		assert_int_equal(run.status[0][0], k == n ? SMTP_CLIENT_DELIVERED : SMTP_CLIENT_DEFERRED);
		run_free(&run);
	}
}

static void test_starttls_refused_and_required(void **state)
{
	/* "may": STARTTLS refused, the mail goes in the clear */
	static const char *const refused[] = {
		">220 p", "<EHLO", ">250-p|250 STARTTLS", "<STARTTLS", ">454 4.7.0 no TLS now",
		"<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA", ">354 go", "D", ">250 ok",
		"<QUIT", ">221 bye", "E", NULL,
	};
	/* "encrypt": no STARTTLS offered, nothing sent */
	static const char *const none[] = {
		">220 p", "<EHLO", ">250 p", "<QUIT", ">221 bye", "E", NULL,
	};
	/* the handshake fails (the peer answers TLS with garbage) */
	static const char *const broken[] = {
		">220 p", "<EHLO", ">250-p|250 STARTTLS", "<STARTTLS", ">220 go", ">this is not TLS",
		"E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, refused);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	run_free(&run);

	peer_start(&p, none);
	run_init(&run, BODY, 1, one);
	run.policy.tls = SMTP_CLIENT_TLS_ENCRYPT;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.7.10");
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	run_free(&run);

	peer_start(&p, broken);
	run_init(&run, BODY, 1, one);
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_PLAIN);
	run_free(&run);

	peer_start(&p, broken);
	run_init(&run, BODY, 1, one);
	run.policy.tls = SMTP_CLIENT_TLS_ENCRYPT;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	run_free(&run);
}

static void test_auth_needs_tls(void **state)
{
	/* credentials are never sent in the clear */
	static const char *const script[] = {
		">220 p", "<EHLO", ">250-p|250 AUTH PLAIN LOGIN", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run.policy.auth_user = "user";
	run.policy.auth_password = "secret";
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_null(strstr(p.lines, "AUTH"));
	run_free(&run);
}

static void test_reuse(void **state)
{
	/* two messages on one connection, RSET between them */
	static const char *const script[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "<RSET", ">250 ok", "<MAIL", ">250 ok", "<RCPT",
		">250 ok", "<DATA", ">354 go", "D", ">250 two", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run.n_msgs = 2;
	run_go(&run, p.port, 10);
	peer_finish(&p);
	assert_false(run.next_refused);
	assert_string_equal(run.text[0][0], "one");
	assert_string_equal(run.text[1][0], "two");
	run_free(&run);
}

/* ---- a connection kept idle between messages (smtp_client_park) ---- */

/* Parked after the first message, the second comes 300 ms later: RSET
 * and its transaction on the same connection; parked again after the
 * second, QUIT when taken back (smtp_client_quit). */
static void test_park_reuse(void **state)
{
	static const char *const script[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "<RSET", ">250 ok", "<MAIL", ">250 ok", "<RCPT",
		">250 ok", "<DATA", ">354 go", "D", ">250 two", "<QUIT", ">221 bye", "E", NULL,
	};
	struct peer p;
	struct run run;

	(void)state;
	peer_start(&p, script);
	run_init(&run, BODY, 1, one);
	run.n_msgs = 2;
	run.park_s = 5;
	run.park_last = true;
	run_start(&run, p.port, false);
	run_resume(&run, 300, false);
	run_resume(&run, 300, true);
	run_wait(&run, 10);
	peer_finish(&p);
	assert_false(run.next_refused);
	assert_false(run.gone);
	assert_string_equal(run.text[0][0], "one");
	assert_string_equal(run.text[1][0], "two");
	run_free(&run);
}

/* A parked connection that the server closes, answers with a 421, or
 * that outlives its time (QUIT): gone is called, the message it carried
 * keeps its result, and the session ends without a timeout. */
static void test_park_ends(void **state)
{
	static const char *const closes[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "X", NULL,
	};
	static const char *const says_421[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", ">421 4.4.2 idle too long", "E", NULL,
	};
	static const char *const expires[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "<QUIT", ">221 bye", "E", NULL,
	};
	static const char *const *const scripts[] = { closes, says_421, expires };

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		struct peer p;
		struct run run;
		double took;

		peer_start(&p, scripts[k]);
		run_init(&run, BODY, 1, one);
		run.park_s = k == 2 ? 1 : 30;
		run.park_last = true;
		took = run_go(&run, p.port, 10);
		peer_finish(&p);
		assert_true(run.gone);
		assert_true(took < 4);
		assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
		assert_int_equal(run.results, 1);
		run_free(&run);
	}
}

/* A reused connection that fails before the next message's MAIL is
 * answered (a 421 to MAIL, the connection closed at RSET): the message is
 * SMTP_CLIENT_NEXT_FRESH, and on a new connection it is delivered. */
static void test_reuse_fails_fresh(void **state)
{
	static const char *const mail_421[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "<RSET", ">250 ok", "<MAIL", ">421 4.4.2 bye", "X", NULL,
	};
	static const char *const rset_closed[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 one", "<RSET", "X", NULL,
	};
	static const char *const fresh[] = {
		">220 p", "<EHLO", ">250 p", "<MAIL", ">250 ok", "<RCPT", ">250 ok", "<DATA",
		">354 go", "D", ">250 again", "<QUIT", ">221 bye", "E", NULL,
	};
	static const char *const *const scripts[] = { mail_421, rset_closed };
	struct peer *p = malloc(2 * sizeof(*p));

	(void)state;
	assert_non_null(p);
	for (size_t k = 0; k < 2; k++) {
		struct run run;

		peer_start(&p[0], scripts[k]);
		peer_start(&p[1], fresh);
		run_init(&run, BODY, 1, one);
		run.n_msgs = 2;
		run.park_s = 5;
		run.fresh_port = p[1].port;
		run.want_closes = 2;
		run_start(&run, p[0].port, false);
		run_resume(&run, 200, false);
		run_wait(&run, 10);
		peer_finish(&p[0]);
		peer_finish(&p[1]);
		assert_int_equal(run.next[1], SMTP_CLIENT_NEXT_NONE);   /* the fresh one's */
		assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
		assert_int_equal(run.status[1][0], SMTP_CLIENT_DELIVERED);
		assert_string_equal(run.text[1][0], "again");
		run_free(&run);
	}
	free(p);
}

static void test_names(void **state)
{
	enum smtp_client_tls tls;

	(void)state;
	for (unsigned i = 0; i < SMTP_CLIENT_TLS__COUNT; i++) {
		assert_int_equal(smtp_client_tls_parse(smtp_client_tls_name(i), &tls), 0);
		assert_int_equal(tls, i);
	}
	assert_int_equal(smtp_client_tls_parse("required", &tls), -1);
	assert_string_equal(smtp_client_next_name(SMTP_CLIENT_NEXT_PLAIN), "plain");
	assert_string_equal(smtp_client_status_name(SMTP_CLIENT_BOUNCED), "bounced");
}

static void test_connect_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct run run;
	uint16_t port;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	run_init(&run, BODY, 1, one);
	run_go(&run, port, 10);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.4.1");
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	run_free(&run);
}

/* ---- against tern's own SMTP server ---- */

static void test_tern(void **state)
{
	static const char *const rcpts[] = { "alice@example.org", "bob@example.org",
					     "nobody@example.org" };
	struct run run;
	const struct fake_queued *q;

	(void)state;
	fake_queue_reset();
	run_init(&run, "Subject: to tern\r\n\r\n.line\nbare LF\r\n", 3, rcpts);
	run.n_msgs = 2;
	run_go(&run, t_h.port, 15);
	/* STARTTLS (its certificate is self-signed: "may" goes on) */
	assert_true(strncmp(run.tls_version, "TLSv1.", 6) == 0);
	for (size_t m = 0; m < 2; m++) {
		assert_int_equal(run.status[m][0], SMTP_CLIENT_DELIVERED);
		assert_int_equal(run.status[m][1], SMTP_CLIENT_DELIVERED);
		assert_false(run.relayed[m][0]);   /* tern offers DSN */
		assert_int_equal(run.status[m][2], SMTP_CLIENT_BOUNCED);
		assert_string_equal(run.enhanced[m][2], "5.1.1");
	}
	q = smtp_queued(0);
	assert_int_equal(q->n_rcpts, 2);
	/* BDAT (tern offers CHUNKING): no dot-stuffing; LF made CRLF */
	assert_string_equal(smtp_body(q), "Subject: to tern\r\n\r\n.line\r\nbare LF\r\n");
	assert_string_equal(q->helo, "client.test");
	q = smtp_queued(1);
	assert_int_equal(q->n_rcpts, 2);
	run_free(&run);
}

static void test_tern_implicit_tls(void **state)
{
	static const char *const rcpts[] = { "alice@example.org" };
	struct run run;

	(void)state;
	/* a smarthost on port 465: TLS before the greeting */
	run_init(&run, BODY, 1, rcpts);
	run_go_tls(&run, t_h.tls_port, 15, true);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	assert_true(strncmp(run.tls_version, "TLSv1.", 6) == 0);
	run_free(&run);
}

/* tern's submission port with its own certificate trusted ([tls]
 * ca_file, read at the first outbound handshake), so that it verifies
 * as "localhost" */
static char trust_path[128];
static void trust_own(struct config *cfg)
{
	snprintf(trust_path, sizeof(trust_path), "%s/tls/cert.pem", cfg->server.data_dir);
	cfg->tls.ca_file = trust_path;
}

static int setup_submission(void **state)
{
	(void)state;
	t_tweak = trust_own;
	smtp_harness_start(SMTP_SERVICE_SUBMISSION, "");
	return 0;
}

static void test_tern_auth(void **state)
{
	static const char *const rcpts[] = { "friend@remote.example" };
	struct run run;
	const struct fake_queued *q;

	(void)state;
	/* "verify" with the certificate trusted: AUTH PLAIN, then relayed */
	run_init(&run, BODY, 1, rcpts);
	run.policy.tls = SMTP_CLIENT_TLS_VERIFY;
	run.policy.auth_user = "alice@example.org";
	run.policy.auth_password = T_PASSWORD;
	run.msgs[0].sender = "alice@example.org";
	run_go(&run, t_h.port, 15);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DELIVERED);
	q = smtp_queued(0);
	assert_string_equal(q->auth_user, "alice@example.org");
	run_free(&run);

	/* a wrong password: deferred, not bounced */
	run_init(&run, BODY, 1, rcpts);
	run.policy.tls = SMTP_CLIENT_TLS_VERIFY;
	run.policy.auth_user = "alice@example.org";
	run.policy.auth_password = "wrong";
	run_go(&run, t_h.port, 15);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	run_free(&run);

	/* a trusted certificate for another name: "verify" defers to the
	 * next MX, the credentials never sent */
	fake_queue_reset();
	run_init(&run, BODY, 1, rcpts);
	run.policy.tls = SMTP_CLIENT_TLS_VERIFY;
	run.policy.auth_user = "alice@example.org";
	run.policy.auth_password = T_PASSWORD;
	run.msgs[0].sender = "alice@example.org";
	run.server_name = "mx.other.example";
	run_go(&run, t_h.port, 15);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	assert_int_equal(fake_queue.n_queued, 0);
	run_free(&run);
}

static void test_tern_verify_fails(void **state)
{
	static const char *const rcpts[] = { "alice@example.org" };
	struct run run;

	(void)state;
	fake_queue_reset();
	/* the certificate is not trusted: "verify" defers, never sends */
	run_init(&run, BODY, 1, rcpts);
	run.policy.tls = SMTP_CLIENT_TLS_VERIFY;
	run_go(&run, t_h.port, 15);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_int_equal(run.next[0], SMTP_CLIENT_NEXT_MX);
	assert_int_equal(fake_queue.n_queued, 0);
	run_free(&run);

	/* AUTH over TLS that did not verify only when the policy allows it */
	run_init(&run, BODY, 1, rcpts);
	run.policy.auth_user = "alice@example.org";
	run.policy.auth_password = T_PASSWORD;
	run_go(&run, t_h.port, 15);
	assert_int_equal(run.status[0][0], SMTP_CLIENT_DEFERRED);
	assert_string_equal(run.enhanced[0][0], "4.7.10");
	run_free(&run);
}

int main(void)
{
	/* one server for each group (the scripted peers are the tests' own) */
	const struct CMUnitTest mx[] = {
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_split_452),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_bdat_pipelined),
		cmocka_unit_test(test_bdat_chunk_refused),
		cmocka_unit_test(test_bdat_odd_reply),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_refused_steps),
		cmocka_unit_test(test_quit_unanswered),
		cmocka_unit_test(test_bad_peers),
		cmocka_unit_test(test_out_of_turn),
		cmocka_unit_test(test_stops_reading),
		cmocka_unit_test(test_close_at_every_step),
		cmocka_unit_test(test_starttls_refused_and_required),
		cmocka_unit_test(test_auth_needs_tls),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_park_reuse),
		cmocka_unit_test(test_park_ends),
		cmocka_unit_test(test_reuse_fails_fresh),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tern),
		cmocka_unit_test(test_tern_verify_fails),
		cmocka_unit_test(test_tern_implicit_tls),
	};
	const struct CMUnitTest submission[] = {
		cmocka_unit_test(test_tern_auth),
	};
	int failed = cmocka_run_group_tests_name("mx", mx, setup, teardown);

	return failed + cmocka_run_group_tests_name("submission", submission, setup_submission,
						    teardown);
}
