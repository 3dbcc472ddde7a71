/* queue-commit - the group commit: one thread takes every message that
 * became ready since its last round, writes their final files, makes
 * them durable with their envelopes (writeback started for all, then one
 * fsync each, issued concurrently: core/sync-pool.c), makes any
 * new directory entries durable with one fsync per folder, completes
 * every waiting sender at once, then inserts their queue.db rows in one
 * transaction and hands the local recipients to delivery (the remote
 * ones to the relay). At one sender that is one fsync per message, and
 * nothing else between the end of data and the 250. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/sync-pool.h"
#include "queue/queue-private.h"

struct queue_committer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct queue_msg *head, **tail;
	/* acknowledged, their rows not in queue.db yet (the insert failed):
	 * tried again with the next round, or after QUEUE_INDEX_RETRY_S */
	struct queue_msg *unindexed;
	bool stop;
	bool stopped;            /* the thread has left: nothing handed over is taken */
	/* the committer's own, for its rounds */
	struct sync_pool *sync;
	int *fds, *errs;
	size_t cap;
};

#define QUEUE_INDEX_RETRY_S 1

static uint64_t queue_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void queue_count_fsync(struct queue *q)
{
	atomic_fetch_add(&q->n_fsyncs, 1);
}

/* fsync a folder for the messages of the round that need it; they fail
 * when it fails. */
static void queue_commit_folder(struct queue *q, struct queue_msg *list, int fd, bool env,
				const char *name)
{
	bool needed = false;

	for (struct queue_msg *m = list; m != NULL && !needed; m = m->next)
		needed = m->error == QUEUE_OK && (env ? m->env_fd >= 0 : m->created);
	if (!needed)
		return;
	queue_count_fsync(q);
	if (fsync(fd) == 0)
		return;
	log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
		  "msg=\"cannot sync the queue folder\" path=%s/%s error=\"%s\"", q->path, name,
		  strerror(errno));
	for (struct queue_msg *m = list; m != NULL; m = m->next)
		if (m->error == QUEUE_OK && (env ? m->env_fd >= 0 : m->created))
			m->error = QUEUE_ERR_IO;
}

/* Make the written files durable: writeback started for every one, then
 * their fsyncs concurrently (core/sync-pool.h); then the folders. */
static void queue_commit_sync(struct queue *q, struct queue_msg *list)
{
	struct queue_committer *c = q->committer;
	size_t n = 0;

	for (struct queue_msg *m = list; m != NULL; m = m->next) {
		int fds[2] = { m->fd, m->env_fd };

		for (size_t i = 0; i < 2 && m->error == QUEUE_OK; i++) {
			if (fds[i] < 0)
				continue;
			if (n == c->cap) {
				c->cap = c->cap == 0 ? 64 : c->cap * 2;
				c->fds = realloc(c->fds, c->cap * sizeof(*c->fds));
				c->errs = realloc(c->errs, c->cap * sizeof(*c->errs));
				if (c->fds == NULL || c->errs == NULL)
					abort();
			}
			sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
			c->fds[n++] = fds[i];
		}
	}
	if (n > 0)
		sync_pool_all(c->sync, c->fds, c->errs, n);
	atomic_fetch_add(&q->n_fsyncs, n);
	n = 0;
	for (struct queue_msg *m = list; m != NULL; m = m->next) {
		int fds[2] = { m->fd, m->env_fd };
		bool was_ok = m->error == QUEUE_OK;

		for (size_t i = 0; i < 2 && was_ok; i++) {
			if (fds[i] < 0)
				continue;
			if (c->errs[n] != 0 && m->error == QUEUE_OK) {
				log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
					  "msg=\"cannot sync a queue file\" queue_id=%s error=\"%s\"",
					  m->rec.id, strerror(c->errs[n]));
				m->error = queue_error_from_errno(c->errs[n]);
			}
			n++;
		}
	}
	queue_commit_folder(q, list, q->msg_fd, false, "msg");
	queue_commit_folder(q, list, q->env_fd, true, "env");
}

/* The rows of acknowledged messages in one transaction, and their local
 * recipients to delivery, as one step under the active set's lock (a
 * scan of queue.db never sees the rows without the set knowing them).
 * False when the insert failed: nothing was handed on, and the caller
 * keeps the messages to try again (their files are durable: a restart's
 * rebuild indexes them too). */
static bool queue_commit_index(struct queue *q, struct queue_msg *list)
{
	struct queue_active *active = queue_worker_active(q);
	struct queue_record **recs;
	size_t n = 0, cap = 0;
	enum db_result r;
	bool local = false, remote = false;
	int64_t since = INT64_MAX;        /* the oldest arrival with a remote recipient */
	const char *first;                /* for the log: one of the messages */

	for (struct queue_msg *m = list; m != NULL; m = m->next)
		cap++;
	recs = calloc(cap, sizeof(*recs));
	if (recs == NULL)
		abort();
	for (struct queue_msg *m = list; m != NULL; m = m->next)
		if (m->error == QUEUE_OK)
			recs[n++] = &m->rec;
	queue_active_lock(active);
	r = queue_db_insert(q->db, recs, n);
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		const struct queue_record *rec = recs[i];

		for (size_t j = 0; j < rec->env.n_rcpts; j++) {
			if (!rec->env.rcpts[j].local) {
				remote = true;
				if (rec->arrival < since)
					since = rec->arrival;
				continue;
			}
			queue_active_add(active, rec->id, rec->size, rec->arrival, (unsigned)j,
					 rec->env.rcpts[j].address, rec->env.rcpts[j].notify);
			local = true;
		}
	}
	queue_active_unlock(active);
	first = n > 0 ? recs[0]->id : "-";
	free(recs);
	if (r != DB_OK) {
		log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
			  "msg=\"cannot index queued messages, trying again\" messages=%zu "
			  "first_id=%s error=%s", n, first, db_result_name(r));
		return false;
	}
	atomic_fetch_add(&q->n_indexed, n);
	if (local)
		queue_worker_kick(q);
	/* the relay finds remote recipients with a scan of queue.db */
	if (remote)
		queue_relay_kick(q, since);
	return true;
}

static void queue_commit_msg_free(struct queue_msg *m)
{
	queue_record_free(&m->rec);
	free(m->prefix);
	free(m->mem);
	free(m);
}

/* Index `list` (acknowledged messages, each m->error QUEUE_OK) together
 * with those a failed insert left; what fails again waits for the next
 * try. */
static void queue_commit_index_pending(struct queue *q, struct queue_msg *list)
{
	struct queue_committer *c = q->committer;
	struct queue_msg **tail = &c->unindexed;

	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = list;
	list = c->unindexed;
	if (list == NULL || !queue_commit_index(q, list))
		return;
	c->unindexed = NULL;
	while (list != NULL) {
		struct queue_msg *m = list;

		list = m->next;
		queue_commit_msg_free(m);
	}
}

static void queue_commit_round(struct queue *q, struct queue_msg *list)
{
	uint64_t start = queue_clock_ns();
	struct queue_msg *ok_list = NULL, **ok_tail = &ok_list;
	size_t ok = 0;
	bool removed = false;

	for (struct queue_msg *m = list; m != NULL; m = m->next)
		if (m->error == QUEUE_OK)
			m->error = queue_file_write(q, m);
	queue_commit_sync(q, list);
	for (struct queue_msg *m = list; m != NULL; m = m->next) {
		removed = removed || (m->error != QUEUE_OK && m->written);
		queue_file_release(q, m, m->error == QUEUE_OK);
		if (m->error == QUEUE_OK)
			ok++;
	}
	/* What failed is gone before anyone hears of it, so that it cannot
	 * come back after a crash and be delivered behind a 451. */
	if (removed) {
		queue_count_fsync(q);
		fsync(q->msg_fd);
	}
	if (ok > 0) {
		atomic_fetch_add(&q->n_rounds, 1);
		atomic_fetch_add(&q->n_committed, ok);
	}
	atomic_fetch_add(&q->commit_ns, queue_clock_ns() - start);
	/* The answers go out before the rows: the files are what makes a
	 * message durable, queue.db is their index (the durability argument,
	 * docs/ARCHITECTURE.md), so the 250 waits for nothing else. */
	while (list != NULL) {
		struct queue_msg *m = list;

		list = m->next;
		m->next = NULL;
		m->done(m->arg, m->error);
		if (m->error != QUEUE_OK) {
			queue_commit_msg_free(m);
			continue;
		}
		/* Its bytes are in its file now: only the record is needed
		 * for the index, and an insert that keeps failing must not
		 * keep every acknowledged message in memory (up to
		 * QUEUE_MEMORY_MAX each, and more with the prefix). */
		free(m->mem);
		m->mem = NULL;
		m->mem_len = m->mem_cap = 0;
		free(m->prefix);
		m->prefix = NULL;
		m->prefix_len = 0;
		*ok_tail = m;
		ok_tail = &m->next;
	}
	queue_commit_index_pending(q, ok_list);
}

/* Wait for a message, at most QUEUE_INDEX_RETRY_S (the lock held). */
static int queue_committer_wait(struct queue_committer *c)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += QUEUE_INDEX_RETRY_S;
	return pthread_cond_timedwait(&c->cond, &c->lock, &until);
}

static void *queue_committer_main(void *arg)
{
	struct queue *q = arg;
	struct queue_committer *c = q->committer;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct queue_msg *list;

		while (c->head == NULL && !c->stop) {
			if (c->unindexed == NULL) {
				pthread_cond_wait(&c->cond, &c->lock);
				continue;
			}
			if (queue_committer_wait(c) == ETIMEDOUT && c->head == NULL && !c->stop) {
				pthread_mutex_unlock(&c->lock);
				queue_commit_index_pending(q, NULL);
				pthread_mutex_lock(&c->lock);
			}
		}
		if (c->head == NULL) {
			c->stopped = true;
			break;
		}
		list = c->head;
		c->head = NULL;
		c->tail = &c->head;
		pthread_mutex_unlock(&c->lock);
		queue_commit_round(q, list);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void queue_committer_free(struct queue *q)
{
	struct queue_committer *c = q->committer;

	if (c == NULL)
		return;
	sync_pool_stop(&c->sync);
	if (c->unindexed != NULL)
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"queued messages left out of queue.db; the next start indexes them\"");
	while (c->unindexed != NULL) {
		struct queue_msg *m = c->unindexed;

		c->unindexed = m->next;
		queue_commit_msg_free(m);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c->fds);
	free(c->errs);
	free(c);
	q->committer = NULL;
}

int queue_committer_start(struct queue *q, char **error_r)
{
	struct queue_committer *c = calloc(1, sizeof(*c));
	int err;

	if (c == NULL)
		abort();
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->tail = &c->head;
	q->committer = c;
	if (sync_pool_start(&c->sync, error_r) < 0) {
		queue_committer_free(q);
		return -1;
	}
	if ((err = pthread_create(&c->thread, NULL, queue_committer_main, q)) != 0) {
		queue_committer_free(q);
		return errmsg_set(error_r, "cannot start the queue's committer: %s", strerror(err));
	}
	return 0;
}

void queue_committer_stop(struct queue *q)
{
	struct queue_committer *c = q->committer;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	queue_thread_join(c->thread, "committer");
	/* freed by queue_committer_free after the worker: a delivery job may
	 * still hand over a report, which is then refused */
	pthread_mutex_lock(&c->lock);
	c->stopped = true;
	pthread_mutex_unlock(&c->lock);
}

void queue_committer_add(struct queue *q, struct queue_msg *m)
{
	struct queue_committer *c = q->committer;

	m->next = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->stopped) {
		/* a message the queue made itself (a report) after the last round */
		void (*done)(void *arg, enum queue_error error) = m->done;
		void *arg = m->arg;

		pthread_mutex_unlock(&c->lock);
		queue_msg_abort(&m);
		done(arg, QUEUE_ERR_IO);
		return;
	}
	*c->tail = m;
	c->tail = &m->next;
	pthread_mutex_unlock(&c->lock);
	/* after the unlock: woken with the lock still held, the committer
	 * would sleep once more on it */
	pthread_cond_signal(&c->cond);
}
