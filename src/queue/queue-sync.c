/* queue-sync - the fsyncs of one commit round, issued concurrently: a few
 * helper threads and the committer take the round's descriptors in turn,
 * so that the disk has several flushes in flight (an fsync's latency is
 * mostly the device's, and a journalling file system commits concurrent
 * ones together) and a round of N messages costs far less than N fsyncs
 * one after the other. A round of one is synced by the committer alone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "queue/queue-private.h"

/* Helpers besides the committer. */
#define QUEUE_SYNC_HELPERS 3

struct queue_sync {
	pthread_t threads[QUEUE_SYNC_HELPERS];
	size_t n_threads;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	/* the round: fds[i] is synced, errs[i] gets its errno (0: synced) */
	const int *fds;
	int *errs;
	size_t n, next, finished;
	bool stop;
};

/* Take and sync descriptors of the round until none is left; the lock is
 * held on entry and on return. */
static void queue_sync_take(struct queue_sync *s)
{
	while (s->next < s->n) {
		size_t i = s->next++;
		int err;

		pthread_mutex_unlock(&s->lock);
		err = fsync(s->fds[i]) == 0 ? 0 : errno;
		pthread_mutex_lock(&s->lock);
		s->errs[i] = err;
		if (++s->finished == s->n)
			pthread_cond_signal(&s->done);
	}
}

static void *queue_sync_main(void *arg)
{
	struct queue_sync *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		if (s->next < s->n)
			queue_sync_take(s);
		else
			pthread_cond_wait(&s->work, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int queue_sync_start(struct queue_sync **sync_r, char **error_r)
{
	struct queue_sync *s = calloc(1, sizeof(*s));
	int err = 0;

	if (s == NULL)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	for (; s->n_threads < QUEUE_SYNC_HELPERS; s->n_threads++)
		if ((err = pthread_create(&s->threads[s->n_threads], NULL, queue_sync_main, s)) != 0)
			break;
	*sync_r = s;
	if (err != 0) {
		queue_sync_stop(sync_r);
		return errmsg_set(error_r, "cannot start the queue's sync threads: %s", strerror(err));
	}
	return 0;
}

void queue_sync_stop(struct queue_sync **sync)
{
	struct queue_sync *s = *sync;

	if (s == NULL)
		return;
	*sync = NULL;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void queue_sync_all(struct queue_sync *s, const int *fds, int *errs, size_t n)
{
	if (n == 1) {
		errs[0] = fsync(fds[0]) == 0 ? 0 : errno;
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->fds = fds;
	s->errs = errs;
	s->n = n;
	s->next = s->finished = 0;
	pthread_cond_broadcast(&s->work);
	queue_sync_take(s);
	while (s->finished < s->n)
		pthread_cond_wait(&s->done, &s->lock);
	s->n = s->next = 0;
	s->fds = NULL;
	s->errs = NULL;
	pthread_mutex_unlock(&s->lock);
}
