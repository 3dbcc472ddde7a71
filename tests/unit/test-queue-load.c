/* test-queue-load - the queue under load and under kill -9: 1,000
 * messages from 20 threads all arrive exactly once (and what a commit
 * round costs, printed); a child process that queues from several
 * threads while its deliveries run is killed with SIGKILL at random
 * moments, and after each kill the parent reopens the queue: every
 * message whose commit was reported OK is in each local recipient's
 * INBOX exactly once and whole, and its remote recipient is still
 * queued. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "core/log.h"
#include "queue-harness.h"

#define T_THREADS 20
#define T_PER_THREAD 50
#define T_TRAILER "END-OF-TEST-MESSAGE\r\n"

static int setup(void **state)
{
	struct qh *h = malloc(sizeof(*h));

	qh_setup(h, "queue-load");
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	qh_teardown(*state);
	free(*state);
	return 0;
}

/* Send one test message: a header naming its queue id (as the session's
 * Received header does), a body, a trailer. */
static enum queue_error t_send(struct queue *q, const struct queue_envelope *env, const char *tag,
			       char *id_r)
{
	struct queue_msg *m = queue_msg_begin(q, env);
	char head[256];
	int n;

	if (m == NULL)
		return QUEUE_ERR__COUNT;
	strcpy(id_r, queue_msg_id(m));
	n = snprintf(head, sizeof(head), "X-Queue-Id: %s\r\nX-Tag: %s\r\nSubject: load\r\n\r\n",
		     id_r, tag);
	queue_msg_add(m, head, (size_t)n);
	for (int i = 0; i < 40; i++)
		queue_msg_add(m, "0123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n", 81);
	queue_msg_add(m, T_TRAILER, strlen(T_TRAILER));
	return qh_commit(m);
}

/* Occurrences of each "X-Queue-Id: ID" among an account's INBOX
 * messages, each checked whole. */
struct t_seen {
	char (*ids)[QUEUE_ID_LEN + 1];
	unsigned *count;
	size_t n;
};

static void t_seen_inbox(struct qh *h, const char *address, struct t_seen *seen)
{
	size_t n = qh_inbox_count(h, address);
	char **texts = calloc(n + 1, sizeof(*texts));

	assert_non_null(texts);
	n = qh_inbox(h, address, texts, n);
	seen->ids = calloc(n + 1, sizeof(*seen->ids));
	seen->count = calloc(n + 1, sizeof(*seen->count));
	seen->n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *at = strstr(texts[i], "X-Queue-Id: ");
		size_t j;

		assert_non_null(at);
		assert_int_equal(strncmp(texts[i], "Return-Path: <", 14), 0);
		/* whole: a message never arrives cut */
		assert_true(strlen(texts[i]) > strlen(T_TRAILER));
		assert_string_equal(texts[i] + strlen(texts[i]) - strlen(T_TRAILER), T_TRAILER);
		at += strlen("X-Queue-Id: ");
		for (j = 0; j < seen->n; j++)
			if (strncmp(seen->ids[j], at, QUEUE_ID_LEN) == 0)
				break;
		if (j == seen->n) {
			memcpy(seen->ids[j], at, QUEUE_ID_LEN);
			seen->ids[j][QUEUE_ID_LEN] = '\0';
			seen->n++;
		}
		seen->count[j]++;
		free(texts[i]);
	}
	free(texts);
}

static unsigned t_seen_count(const struct t_seen *seen, const char *id)
{
	for (size_t j = 0; j < seen->n; j++)
		if (strcmp(seen->ids[j], id) == 0)
			return seen->count[j];
	return 0;
}

static void t_seen_free(struct t_seen *seen)
{
	free(seen->ids);
	free(seen->count);
}

/* --- 1,000 messages from 20 threads ------------------------------------ */

struct t_sender {
	struct qh *h;
	int thread;
	char ids[T_PER_THREAD][QUEUE_ID_LEN + 1];
	int failures;
};

static const char *const t_locals[] = { QH_ALICE, QH_BOB, QH_CAROL };

static void *t_sender_main(void *arg)
{
	struct t_sender *s = arg;

	for (int i = 0; i < T_PER_THREAD; i++) {
		const struct queue_rcpt rcpt = { .address = t_locals[(s->thread + i) % 3],
						 .local = true };
		struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
		char tag[32];

		snprintf(tag, sizeof(tag), "%d-%d", s->thread, i);
		if (t_send(s->h->queue, &env, tag, s->ids[i]) != QUEUE_OK)
			s->failures++;
	}
	return NULL;
}

static void t_print_stats(const char *what, const struct queue_stats *st)
{
	fprintf(stderr, "# %s: %llu messages in %llu commit rounds (%.1f per round), %.2f fsyncs"
		" per message, %.0f us per round\n", what, (unsigned long long)st->committed,
		(unsigned long long)st->commit_rounds,
		st->commit_rounds ? (double)st->committed / (double)st->commit_rounds : 0.0,
		st->committed ? (double)st->fsyncs / (double)st->committed : 0.0,
		st->commit_rounds ? (double)st->commit_ns / 1000.0 / (double)st->commit_rounds : 0.0);
}

static void test_many_senders(void **state)
{
	struct qh *h = *state;
	struct t_sender *senders = calloc(T_THREADS, sizeof(*senders));
	pthread_t threads[T_THREADS];
	struct t_seen seen[3];
	struct queue_stats st;
	char id[QUEUE_ID_LEN + 1];

	assert_non_null(senders);
	qh_open(h);
	/* one sender first: the cost of a round on its own */
	for (int i = 0; i < 100; i++) {
		const struct queue_rcpt rcpt = { .address = "x@far.example" };
		struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);

		assert_int_equal(t_send(h->queue, &env, "alone", id), QUEUE_OK);
	}
	queue_stats(h->queue, &st);
	t_print_stats("1 sender", &st);
	qh_close(h);
	qh_open(h);
	for (int t = 0; t < T_THREADS; t++) {
		senders[t].h = h;
		senders[t].thread = t;
		assert_int_equal(pthread_create(&threads[t], NULL, t_sender_main, &senders[t]), 0);
	}
	for (int t = 0; t < T_THREADS; t++) {
		pthread_join(threads[t], NULL);
		assert_int_equal(senders[t].failures, 0);
	}
	queue_stats(h->queue, &st);
	t_print_stats("20 senders", &st);
	assert_int_equal(st.committed, T_THREADS * T_PER_THREAD);
	assert_true(qh_wait_finished(h, T_THREADS * T_PER_THREAD));
	for (int a = 0; a < 3; a++)
		t_seen_inbox(h, t_locals[a], &seen[a]);
	for (int t = 0; t < T_THREADS; t++) {
		for (int i = 0; i < T_PER_THREAD; i++) {
			int a = (t + i) % 3;

			assert_int_equal(t_seen_count(&seen[a], senders[t].ids[i]), 1);
			assert_int_equal(t_seen_count(&seen[(a + 1) % 3], senders[t].ids[i]), 0);
		}
	}
	assert_int_equal(seen[0].n + seen[1].n + seen[2].n, T_THREADS * T_PER_THREAD);
	for (int a = 0; a < 3; a++)
		t_seen_free(&seen[a]);
	free(senders);
}

/* --- kill -9 ----------------------------------------------------------- */

#define T_CRASH_ROUNDS 5
#define T_CRASH_THREADS 8

struct t_child {
	struct queue *q;
	int fd;          /* the pipe the acknowledgements go to */
	int thread;
};

/* In the child: queue without end; "ID L\n" (local recipients only) or
 * "ID R\n" (and a remote one) to the pipe after each OK. */
static void *t_child_main(void *arg)
{
	struct t_child *c = arg;

	for (unsigned i = 0;; i++) {
		const struct queue_rcpt rcpts[] = {
			{ .address = QH_ALICE, .local = true },
			{ .address = QH_BOB, .local = true },
			{ .address = "remote@far.example" },
		};
		bool remote = (i + (unsigned)c->thread) % 2 == 0;
		struct queue_envelope env = QH_ENVELOPE(rcpts, remote ? 3 : 2);
		char id[QUEUE_ID_LEN + 1], line[QUEUE_ID_LEN + 4];

		if (t_send(c->q, &env, "crash", id) != QUEUE_OK)
			continue;
		snprintf(line, sizeof(line), "%s %c\n", id, remote ? 'R' : 'L');
		if (write(c->fd, line, strlen(line)) != (ssize_t)strlen(line))
			_exit(3);
	}
	return NULL;
}

static void __attribute__((noreturn)) t_child(struct qh *h, int fd)
{
	struct t_child c[T_CRASH_THREADS];
	pthread_t threads[T_CRASH_THREADS];
	struct store_root *root;
	struct dir *dir;
	char *error = NULL;
	struct queue *q;

	alarm(60);
	if (dir_open(h->data, &dir, &error) < 0 || store_root_open(h->data, &root) != STORE_OK ||
	    queue_open(&h->cfg, root, dir, &q, &error) < 0)
		_exit(2);
	for (int t = 0; t < T_CRASH_THREADS; t++) {
		c[t] = (struct t_child){ .q = q, .fd = fd, .thread = t };
		if (pthread_create(&threads[t], NULL, t_child_main, &c[t]) != 0)
			_exit(2);
	}
	for (;;)
		pause();
}

struct t_acked {
	char (*ids)[QUEUE_ID_LEN + 1];
	bool *remote;
	size_t n, cap;
};

/* Read acknowledgement lines from the pipe into acked; returns what
 * read(2) returned. */
static ssize_t t_read_acks(int fd, struct t_acked *acked, char *pending, size_t *plen)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (*plen < QUEUE_ID_LEN + 2)
				pending[(*plen)++] = buf[i];
			continue;
		}
		assert_int_equal(*plen, QUEUE_ID_LEN + 2);
		if (acked->n == acked->cap) {
			acked->cap = acked->cap == 0 ? 1024 : acked->cap * 2;
			acked->ids = realloc(acked->ids, acked->cap * sizeof(*acked->ids));
			acked->remote = realloc(acked->remote, acked->cap * sizeof(*acked->remote));
			assert_non_null(acked->ids);
			assert_non_null(acked->remote);
		}
		memcpy(acked->ids[acked->n], pending, QUEUE_ID_LEN);
		acked->ids[acked->n][QUEUE_ID_LEN] = '\0';
		acked->remote[acked->n] = pending[QUEUE_ID_LEN + 1] == 'R';
		acked->n++;
		*plen = 0;
	}
	return n;
}

/* Run the child, kill it after `ms`, collect what it acknowledged. */
static void t_crash_once(struct qh *h, long ms, struct t_acked *acked)
{
	int fds[2];
	char pending[QUEUE_ID_LEN + 3];
	struct timespec start;
	size_t plen = 0;
	pid_t pid;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		t_child(h, fds[1]);
	}
	close(fds[1]);
	/* The delay counts from the child's first acknowledgement, not from
	 * the fork: on a loaded machine the child may need longer than `ms`
	 * to open its store, and a kill before any commit tests nothing. */
	for (size_t first = acked->n; acked->n == first;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };

		assert_true(poll(&p, 1, QH_WAIT_MS) > 0);
		assert_true(t_read_acks(fds[0], acked, pending, &plen) > 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= ms)
			break;
		if (poll(&p, 1, 10) > 0)
			t_read_acks(fds[0], acked, pending, &plen);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* what it wrote before it died (to the end of the pipe); a line cut
	 * by the kill was not an OK that anyone heard of */
	while (t_read_acks(fds[0], acked, pending, &plen) > 0)
		;
	close(fds[0]);
}

/* The parent's view after a restart: local recipients all delivered. */
struct t_pending {
	size_t local_left;
	size_t remote_queued;
	char (*remote_ids)[QUEUE_ID_LEN + 1];
	size_t cap;
};

static void t_pending_cb(void *ctx, const struct queue_list_message *msg)
{
	struct t_pending *p = ctx;

	for (size_t i = 0; i < msg->n_rcpts; i++) {
		if (msg->rcpts[i].local && msg->rcpts[i].state != QUEUE_STATE_DELIVERED)
			p->local_left++;
		if (!msg->rcpts[i].local && msg->rcpts[i].state == QUEUE_STATE_QUEUED) {
			if (p->remote_queued == p->cap) {
				p->cap = p->cap == 0 ? 1024 : p->cap * 2;
				p->remote_ids = realloc(p->remote_ids, p->cap * sizeof(*p->remote_ids));
				assert_non_null(p->remote_ids);
			}
			snprintf(p->remote_ids[p->remote_queued++], QUEUE_ID_LEN + 1, "%s", msg->id);
		}
	}
}

static void t_pending(struct qh *h, struct t_pending *p)
{
	char *error = NULL;

	free(p->remote_ids);
	memset(p, 0, sizeof(*p));
	assert_int_equal(queue_list(h->data, t_pending_cb, p, &error), 0);
}

static bool t_remote_queued(const struct t_pending *p, const char *id)
{
	for (size_t i = 0; i < p->remote_queued; i++)
		if (strcmp(p->remote_ids[i], id) == 0)
			return true;
	return false;
}

static void test_kill_9(void **state)
{
	struct qh *h = *state;
	struct t_acked acked = { .n = 0 };
	struct t_pending pending = { .local_left = 0 };
	char *error = NULL;
	size_t before = 0;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	/* the child opens its own; SQLite connections do not cross a fork */
	dir_close(&h->dir);
	for (int round = 0; round < T_CRASH_ROUNDS; round++) {
		struct t_seen alice, bob;
		unsigned waited;

		t_crash_once(h, 100 + rand() % 400, &acked);
		assert_true(acked.n > before);
		before = acked.n;

		assert_int_equal(dir_open(h->data, &h->dir, &error), 0);
		qh_open(h);
		for (waited = 0; waited < QH_WAIT_MS; waited += 50) {
			t_pending(h, &pending);
			if (pending.local_left == 0)
				break;
			qh_sleep_ms(50);
		}
		assert_int_equal(pending.local_left, 0);
		t_seen_inbox(h, QH_ALICE, &alice);
		t_seen_inbox(h, QH_BOB, &bob);
		for (size_t j = 0; j < alice.n; j++)
			assert_int_equal(alice.count[j], 1);
		for (size_t j = 0; j < bob.n; j++)
			assert_int_equal(bob.count[j], 1);
		for (size_t i = 0; i < acked.n; i++) {
			assert_int_equal(t_seen_count(&alice, acked.ids[i]), 1);
			assert_int_equal(t_seen_count(&bob, acked.ids[i]), 1);
			if (acked.remote[i])
				assert_true(t_remote_queued(&pending, acked.ids[i]));
		}
		fprintf(stderr, "# kill -9 round %d: %zu acknowledged so far, %zu in alice's INBOX\n",
			round, acked.n, alice.n);
		t_seen_free(&alice);
		t_seen_free(&bob);
		qh_close(h);
		dir_close(&h->dir);
	}
	assert_int_equal(dir_open(h->data, &h->dir, &error), 0);
	free(pending.remote_ids);
	free(acked.ids);
	free(acked.remote);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_senders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_9, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
