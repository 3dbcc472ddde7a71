/* sync-pool - many fsyncs issued concurrently (sync-pool.h): a few helper
 * threads and the caller take a round's descriptors in turn. Written for
 * the queue's commit rounds, used by the store's batch appends too. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/sync-pool.h"

/* Helpers besides the caller. */
#define SYNC_POOL_HELPERS 3

struct sync_pool {
	pthread_t threads[SYNC_POOL_HELPERS];
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
 * held on entry and on return. True when this call synced the round's
 * last one. */
static bool sync_pool_take(struct sync_pool *s)
{
	bool last = false;

	while (s->next < s->n) {
		size_t i = s->next++;
		int err;

		pthread_mutex_unlock(&s->lock);
		err = fsync(s->fds[i]) == 0 ? 0 : errno;
		pthread_mutex_lock(&s->lock);
		s->errs[i] = err;
		last = ++s->finished == s->n;
	}
	return last;
}

/* Signals go out with the lock released: a thread woken while it is
 * held would only sleep again on it. */
static void *sync_pool_main(void *arg)
{
	struct sync_pool *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		if (s->next >= s->n) {
			pthread_cond_wait(&s->work, &s->lock);
		} else if (sync_pool_take(s)) {
			pthread_mutex_unlock(&s->lock);
			pthread_cond_signal(&s->done);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sync_pool_start(struct sync_pool **sync_r, char **error_r)
{
	struct sync_pool *s = calloc(1, sizeof(*s));
	int err = 0;

	if (s == NULL)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	for (; s->n_threads < SYNC_POOL_HELPERS; s->n_threads++)
		if ((err = pthread_create(&s->threads[s->n_threads], NULL, sync_pool_main, s)) != 0)
			break;
	*sync_r = s;
	if (err != 0) {
		sync_pool_stop(sync_r);
		return errmsg_set(error_r, "cannot start the sync threads: %s", strerror(err));
	}
	return 0;
}

void sync_pool_stop(struct sync_pool **sync)
{
	struct sync_pool *s = *sync;

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

void sync_pool_all(struct sync_pool *s, const int *fds, int *errs, size_t n)
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
	pthread_mutex_unlock(&s->lock);
	/* As many helpers as there are descriptors beside the caller's: a
	 * helper woken for nothing costs a wake-up and a sleep. */
	for (size_t i = 1; i < n && i <= s->n_threads; i++)
		pthread_cond_signal(&s->work);
	pthread_mutex_lock(&s->lock);
	(void)sync_pool_take(s);
	while (s->finished < s->n)
		pthread_cond_wait(&s->done, &s->lock);
	s->n = s->next = 0;
	s->fds = NULL;
	s->errs = NULL;
	pthread_mutex_unlock(&s->lock);
}
