/* fake-queue - an in-memory implementation of the receiving side of
 * src/queue/queue.h, for the SMTP session's unit tests: it keeps what each
 * committed message holds (envelope and bytes), answers commits from a
 * thread of its own as the real group commit does, and fails on request
 * (no space, flush and commit errors) so every path of the session can be
 * driven. Include it from one file per test executable. */
#ifndef TERN_TESTS_FAKE_QUEUE_H
#define TERN_TESTS_FAKE_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"

#define FAKE_QUEUE_KEEP 64

/* A message as the fake keeps it once committed. */
struct fake_queued {
	char id[17];
	char *sender;
	size_t n_rcpts;
	char *rcpts[64];
	bool local[64];
	char *orcpt[64];
	unsigned notify[64];
	char *envid;
	enum queue_ret ret;
	bool smtputf8, eightbit;
	char *auth_user, *client_ip, *helo;
	char *data;
	size_t len;
};

struct queue {
	pthread_mutex_t lock;
	/* What the test asks for. */
	size_t memory_max;            /* the memory part: add() says full at this */
	bool refuse_begin;            /* queue_msg_begin returns NULL */
	bool no_space;                /* queue_has_space() is false */
	enum queue_error flush_error;
	enum queue_error commit_error;
	unsigned commit_delay_ms;
	/* What happened. */
	unsigned begun, flushes, commits, aborts, open;
	size_t adds_past_full;        /* bytes added while full, before a flush */
	struct fake_queued queued[FAKE_QUEUE_KEEP];
	size_t n_queued;
	unsigned next_id;
};

struct queue_msg {
	struct queue *q;
	struct fake_queued rec;
	size_t cap;
	size_t memory;                /* bytes since the last flush */
	void (*done)(void *arg, enum queue_error error);
	void *arg;
};

static struct queue fake_queue = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __attribute__((unused)) void fake_queue_reset(void)
{
	pthread_mutex_lock(&fake_queue.lock);
	for (size_t i = 0; i < fake_queue.n_queued; i++) {
		struct fake_queued *r = &fake_queue.queued[i];

		free(r->sender);
		for (size_t k = 0; k < r->n_rcpts; k++) {
			free(r->rcpts[k]);
			free(r->orcpt[k]);
		}
		free(r->envid);
		free(r->auth_user);
		free(r->client_ip);
		free(r->helo);
		free(r->data);
	}
	memset((char *)&fake_queue + sizeof(fake_queue.lock), 0,
	       sizeof(fake_queue) - sizeof(fake_queue.lock));
	fake_queue.memory_max = 1 << 20;
	pthread_mutex_unlock(&fake_queue.lock);
}

static char *fake_queue_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

const char *queue_error_name(enum queue_error error)
{
	static const char *const names[] = { "ok", "no-space", "too-big", "io" };

	return (unsigned)error < QUEUE_ERR__COUNT ? names[error] : "?";
}

struct queue_msg *queue_msg_begin(struct queue *q, const struct queue_envelope *env)
{
	struct queue_msg *m;

	pthread_mutex_lock(&q->lock);
	if (q->refuse_begin) {
		pthread_mutex_unlock(&q->lock);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	m->q = q;
	snprintf(m->rec.id, sizeof(m->rec.id), "FAKEQUEUEID%05u", q->next_id++);
	q->begun++;
	q->open++;
	pthread_mutex_unlock(&q->lock);
	m->rec.sender = fake_queue_dup(env->sender);
	m->rec.n_rcpts = env->n_rcpts < 64 ? env->n_rcpts : 64;
	for (size_t i = 0; i < m->rec.n_rcpts; i++) {
		m->rec.rcpts[i] = fake_queue_dup(env->rcpts[i].address);
		m->rec.local[i] = env->rcpts[i].local;
		m->rec.orcpt[i] = fake_queue_dup(env->rcpts[i].orcpt);
		m->rec.notify[i] = env->rcpts[i].notify;
	}
	m->rec.envid = fake_queue_dup(env->envid);
	m->rec.ret = env->ret;
	m->rec.smtputf8 = env->smtputf8;
	m->rec.eightbit = env->eightbit;
	m->rec.auth_user = fake_queue_dup(env->auth_user);
	m->rec.client_ip = fake_queue_dup(env->client_ip);
	m->rec.helo = fake_queue_dup(env->helo);
	return m;
}

const char *queue_msg_id(const struct queue_msg *m)
{
	return m->rec.id;
}

bool queue_msg_add(struct queue_msg *m, const void *data, size_t len)
{
	if (m->memory >= m->q->memory_max)
		m->q->adds_past_full += len;
	if (m->rec.len + len + 1 > m->cap) {
		m->cap = (m->rec.len + len + 1) * 2;
		m->rec.data = realloc(m->rec.data, m->cap);
	}
	memcpy(m->rec.data + m->rec.len, data, len);
	m->rec.len += len;
	m->rec.data[m->rec.len] = '\0';
	m->memory += len;
	return m->memory >= m->q->memory_max;
}

/* The fields go before what was added, as the real queue writes them. */
void queue_msg_prepend(struct queue_msg *m, const void *data, size_t len)
{
	if (m->rec.len + len + 1 > m->cap) {
		m->cap = (m->rec.len + len + 1) * 2;
		m->rec.data = realloc(m->rec.data, m->cap);
	}
	memmove(m->rec.data + len, m->rec.data, m->rec.len);
	memcpy(m->rec.data, data, len);
	m->rec.len += len;
	m->rec.data[m->rec.len] = '\0';
}

enum queue_error queue_msg_flush(struct queue_msg *m)
{
	pthread_mutex_lock(&m->q->lock);
	m->q->flushes++;
	pthread_mutex_unlock(&m->q->lock);
	m->memory = 0;
	return m->q->flush_error;
}

static void fake_queue_msg_free(struct queue_msg *m, bool keep)
{
	struct queue *q = m->q;

	pthread_mutex_lock(&q->lock);
	q->open--;
	if (keep && q->n_queued < FAKE_QUEUE_KEEP) {
		q->queued[q->n_queued++] = m->rec;
		memset(&m->rec, 0, sizeof(m->rec));
	}
	pthread_mutex_unlock(&q->lock);
	free(m->rec.sender);
	for (size_t i = 0; i < m->rec.n_rcpts; i++) {
		free(m->rec.rcpts[i]);
		free(m->rec.orcpt[i]);
	}
	free(m->rec.envid);
	free(m->rec.auth_user);
	free(m->rec.client_ip);
	free(m->rec.helo);
	free(m->rec.data);
	free(m);
}

/* The "group commit": its own thread, as the real one. */
static void *fake_queue_committer(void *arg)
{
	struct queue_msg *m = arg;
	struct queue *q = m->q;
	enum queue_error error;
	void (*done)(void *arg, enum queue_error error) = m->done;
	void *done_arg = m->arg;

	if (q->commit_delay_ms > 0)
		usleep(q->commit_delay_ms * 1000);
	pthread_mutex_lock(&q->lock);
	q->commits++;
	error = q->commit_error;
	pthread_mutex_unlock(&q->lock);
	fake_queue_msg_free(m, error == QUEUE_OK);
	done(done_arg, error);
	return NULL;
}

void queue_msg_commit(struct queue_msg *m, void (*done)(void *arg, enum queue_error error),
		      void *arg)
{
	pthread_t thread;

	m->done = done;
	m->arg = arg;
	if (pthread_create(&thread, NULL, fake_queue_committer, m) != 0)
		abort();
	pthread_detach(thread);
}

void queue_msg_abort(struct queue_msg **m)
{
	if (*m == NULL)
		return;
	pthread_mutex_lock(&(*m)->q->lock);
	(*m)->q->aborts++;
	pthread_mutex_unlock(&(*m)->q->lock);
	fake_queue_msg_free(*m, false);
	*m = NULL;
}

bool queue_has_space(struct queue *q)
{
	bool space;

	pthread_mutex_lock(&q->lock);
	space = !q->no_space;
	pthread_mutex_unlock(&q->lock);
	return space;
}

/* How many messages were committed so far (waits up to a second for the
 * n-th, since the commit's thread may still be finishing). */
static __attribute__((unused)) size_t fake_queue_wait(size_t n)
{
	for (int i = 0; i < 1000; i++) {
		size_t got;

		pthread_mutex_lock(&fake_queue.lock);
		got = fake_queue.n_queued;
		pthread_mutex_unlock(&fake_queue.lock);
		if (got >= n)
			return got;
		usleep(1000);
	}
	return fake_queue.n_queued;
}

#endif
