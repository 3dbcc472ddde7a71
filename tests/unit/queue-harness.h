/* queue-harness - what the queue's tests share: a fresh data folder with
 * a directory (domain example.org; alice, bob and carol), a store root and
 * a queue opened on them; sending a message through begin/add/flush/
 * commit and waiting for its result; reading an account's INBOX back;
 * waiting, bounded, for the queue's worker. */
#ifndef TERN_TESTS_QUEUE_HARNESS_H
#define TERN_TESTS_QUEUE_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "queue/queue.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store-ref.h"

#define QH_DOMAIN "example.org"
#define QH_ALICE "alice@example.org"
#define QH_BOB "bob@example.org"
#define QH_CAROL "carol@example.org"
/* How long a test waits for the worker before it fails. */
#define QH_WAIT_MS 20000

struct qh {
	char *data;
	struct config cfg;
	struct dir *dir;
	struct store_root *root;
	struct queue *queue;
};

/* The directory's hash, made once per test program (argon2 is slow). */
static inline const char *qh_hash(void)
{
	static char *hash;

	if (hash == NULL && (hash = password_hash("secret")) == NULL)
		abort();
	return hash;
}

/* cfg for the data folder, with extra lines of [limits] ("" for none). */
static inline void qh_config(struct qh *h, const char *extra)
{
	char *text, *error = NULL;

	config_free(&h->cfg);
	/* no floor unless the test sets one: the machine's disk may be full */
	if (asprintf(&text, "[server]\ndata_dir = %s\n[limits]\n%s%s", h->data,
		     strstr(extra, "min_free_space") == NULL ? "min_free_space = 0\n" : "", extra) < 0)
		abort();
	if (config_load_string(&h->cfg, "test", text, &error) < 0) {
		fprintf(stderr, "config: %s\n", error);
		abort();
	}
	free(text);
}

static inline void qh_open(struct qh *h)
{
	char *error = NULL;

	if (queue_open(&h->cfg, h->root, h->dir, &h->queue, &error) < 0) {
		fprintf(stderr, "queue_open: %s\n", error);
		abort();
	}
}

static inline void qh_close(struct qh *h)
{
	queue_close(&h->queue);
}

/* The folder, the directory and the store; the queue not yet open. */
static inline void qh_setup(struct qh *h, const char *name)
{
	char *error = NULL;

	memset(h, 0, sizeof(*h));
	h->data = tmpdir_new(name);
	qh_config(h, "");
	if (dir_open(h->data, &h->dir, &error) < 0 || dir_domain_add(h->dir, QH_DOMAIN) != DIR_OK ||
	    dir_user_add(h->dir, QH_ALICE, qh_hash(), 0) != DIR_OK ||
	    dir_user_add(h->dir, QH_BOB, qh_hash(), 0) != DIR_OK ||
	    dir_user_add(h->dir, QH_CAROL, qh_hash(), 0) != DIR_OK ||
	    store_root_open(h->data, &h->root) != STORE_OK)
		abort();
}

static inline void qh_teardown(struct qh *h)
{
	qh_close(h);
	store_root_close(&h->root);
	dir_close(&h->dir);
	config_free(&h->cfg);
	tmpdir_free(h->data);
}

/* For cmocka's setup and teardown: a struct qh in *state, set up under
 * `name`, its queue opened when `open`. */
static inline int qh_state_setup(void **state, const char *name, bool open)
{
	struct qh *h = malloc(sizeof(*h));

	if (h == NULL)
		abort();
	qh_setup(h, name);
	if (open)
		qh_open(h);
	*state = h;
	return 0;
}

static inline int qh_state_teardown(void **state)
{
	qh_teardown(*state);
	free(*state);
	return 0;
}

struct qh_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	enum queue_error error;
};

static inline void qh_done(void *arg, enum queue_error error)
{
	struct qh_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->error = error;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Commit m and wait for its result. */
static inline enum queue_error qh_commit(struct queue_msg *m)
{
	struct qh_wait w = { .done = false };

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	queue_msg_commit(m, qh_done, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	return w.error;
}

static inline void qh_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Send `text` (in pieces of `piece` bytes, flushing when asked) and wait
 * for the commit; id_r (may be NULL) gets the queue id. QUEUE_ERR__COUNT
 * when queue_msg_begin refused. */
static inline enum queue_error qh_send_pieces(struct queue *q, const struct queue_envelope *env,
					      const char *text, size_t len, size_t piece,
					      char *id_r)
{
	struct queue_msg *m = queue_msg_begin(q, env);
	enum queue_error err = QUEUE_OK;

	if (m == NULL)
		return QUEUE_ERR__COUNT;
	if (id_r != NULL)
		strcpy(id_r, queue_msg_id(m));
	for (size_t off = 0; off < len && err == QUEUE_OK; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		if (queue_msg_add(m, text + off, n))
			err = queue_msg_flush(m);
	}
	if (err != QUEUE_OK) {
		queue_msg_abort(&m);
		return err;
	}
	return qh_commit(m);
}

/* Wait until every message that got its OK has its queue.db row (the
 * committer inserts them after the OKs), so that a list right after a
 * send sees it; false after QH_WAIT_MS. */
static inline bool qh_wait_indexed(struct queue *q)
{
	for (unsigned waited = 0; waited < QH_WAIT_MS; waited += 5) {
		struct queue_stats st;

		queue_stats(q, &st);
		if (st.indexed >= st.committed)
			return true;
		qh_sleep_ms(5);
	}
	return false;
}

/* Send `text` and wait for its OK only (its queue.db row may follow). */
static inline enum queue_error qh_send_acked(struct queue *q, const struct queue_envelope *env,
					     const char *text, char *id_r)
{
	return qh_send_pieces(q, env, text, strlen(text), 65536, id_r);
}

/* qh_send_acked, then the wait for the message's queue.db row. */
static inline enum queue_error qh_send(struct queue *q, const struct queue_envelope *env,
				       const char *text, char *id_r)
{
	enum queue_error err = qh_send_acked(q, env, text, id_r);

	if (err == QUEUE_OK && !qh_wait_indexed(q))
		return QUEUE_ERR_IO;
	return err;
}

/* An envelope from alice to the given recipients (local: a local account). */
#define QH_ENVELOPE(rcpts_, n_) \
	((struct queue_envelope){ .sender = QH_ALICE, .rcpts = (rcpts_), .n_rcpts = (n_), \
				  .client_ip = "192.0.2.1", .helo = "client.example" })

/* The INBOX of an account: its messages' bytes, each malloc'd, in UID
 * order; returns the count (at most max). */
static inline size_t qh_inbox(struct qh *h, const char *address, char **texts, size_t max)
{
	struct store_account *acct;
	struct store_message *msgs;
	size_t n = 0, kept = 0;

	if (store_account_get(h->root, address, &acct) != STORE_OK)
		abort();
	if (store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n) != STORE_OK)
		abort();
	for (size_t i = 0; i < n && kept < max; i++) {
		struct store_reader *r;
		char *text = malloc(msgs[i].size + 1);
		size_t got = 0;
		ssize_t k;

		if (text == NULL || store_reader_open(acct, TREF(acct, "INBOX"), msgs[i].uid, &r) != STORE_OK)
			abort();
		while ((k = store_reader_read(r, text + got, msgs[i].size - got)) > 0)
			got += (size_t)k;
		text[got] = '\0';
		store_reader_close(&r);
		texts[kept++] = text;
	}
	store_messages_free(msgs, n);
	store_account_put(&acct);
	return n;
}

static inline size_t qh_inbox_count(struct qh *h, const char *address)
{
	return qh_inbox(h, address, NULL, 0);
}

/* Wait until the queue has finished (delivered everywhere and taken out)
 * `n` messages since it was opened; false after QH_WAIT_MS. */
static inline bool qh_wait_finished(struct qh *h, uint64_t n)
{
	for (unsigned waited = 0; waited < QH_WAIT_MS; waited += 5) {
		struct queue_stats st;

		queue_stats(h->queue, &st);
		if (st.finished >= n)
			return true;
		qh_sleep_ms(5);
	}
	return false;
}

/* Wait until the queue has made `n` tries of local recipients (delivered
 * or not) since it was opened. */
static inline bool qh_wait_tries(struct qh *h, uint64_t n)
{
	for (unsigned waited = 0; waited < QH_WAIT_MS; waited += 5) {
		struct queue_stats st;

		queue_stats(h->queue, &st);
		if (st.delivered + st.deferred >= n)
			return true;
		qh_sleep_ms(5);
	}
	return false;
}

#endif
