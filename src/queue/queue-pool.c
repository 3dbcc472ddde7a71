/* queue-pool - queue ids and the pool of pre-created message files: empty
 * files DATA/queue/msg/ID whose directory entries were made durable ahead
 * of use, in batches with one fsync of msg/ each, so that the 250 of a
 * message waits for one fsync, its file's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/log.h"
#include "queue/queue-private.h"

/* Files kept ready, and the level below which a refill starts: a refill
 * costs one fsync of the folder for up to QUEUE_POOL_TARGET messages. */
#define QUEUE_POOL_TARGET 256
#define QUEUE_POOL_LOW 64

void queue_id_new(char id[QUEUE_ID_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char rnd[QUEUE_ID_LEN];
	size_t got = 0;

	/* 80 random bits (5 per character): unguessable, and unique in
	 * practice; O_EXCL catches the rest. */
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0 && errno != EINTR)
			abort();
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < QUEUE_ID_LEN; i++)
		id[i] = alphabet[rnd[i] & 31];
	id[QUEUE_ID_LEN] = '\0';
}

void queue_pool_init(struct queue_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
}

void queue_pool_free(struct queue_pool *pool)
{
	free(pool->ids);
	pthread_mutex_destroy(&pool->lock);
	memset(pool, 0, sizeof(*pool));
}

/* Under the lock. */
static void queue_pool_push(struct queue_pool *pool, const char *id)
{
	if (pool->n == pool->cap) {
		pool->cap = pool->cap == 0 ? QUEUE_POOL_TARGET : pool->cap * 2;
		pool->ids = realloc(pool->ids, pool->cap * sizeof(*pool->ids));
		if (pool->ids == NULL)
			abort();
	}
	memcpy(pool->ids[pool->n++], id, QUEUE_ID_LEN + 1);
}

bool queue_pool_take(struct queue *q, char id[QUEUE_ID_LEN + 1])
{
	bool pooled = false;

	pthread_mutex_lock(&q->pool.lock);
	if (q->pool.n > 0) {
		memcpy(id, q->pool.ids[--q->pool.n], QUEUE_ID_LEN + 1);
		pooled = true;
	}
	pthread_mutex_unlock(&q->pool.lock);
	if (!pooled)
		queue_id_new(id);
	return pooled;
}

void queue_pool_put(struct queue *q, const char *id)
{
	pthread_mutex_lock(&q->pool.lock);
	queue_pool_push(&q->pool, id);
	pthread_mutex_unlock(&q->pool.lock);
}

bool queue_pool_low(struct queue *q)
{
	bool low;

	pthread_mutex_lock(&q->pool.lock);
	low = q->pool.n < QUEUE_POOL_LOW;
	pthread_mutex_unlock(&q->pool.lock);
	return low;
}

int queue_pool_refill(struct queue *q)
{
	char made[QUEUE_POOL_TARGET][QUEUE_ID_LEN + 1];
	size_t want, n = 0;

	pthread_mutex_lock(&q->pool.lock);
	want = q->pool.n < QUEUE_POOL_TARGET ? QUEUE_POOL_TARGET - q->pool.n : 0;
	pthread_mutex_unlock(&q->pool.lock);
	while (n < want) {
		int fd;

		queue_id_new(made[n]);
		fd = durable_open_new(q->msg_fd, made[n]);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0) {
			log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
				  "msg=\"cannot create a queue file\" path=%s/msg error=\"%s\"",
				  q->path, strerror(errno));
			break;
		}
		close(fd);
		n++;
	}
	if (n == 0)
		return want == 0 ? 0 : -1;
	/* The entries are durable before any message may use them. */
	if (fsync(q->msg_fd) < 0) {
		log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
			  "msg=\"cannot sync the queue folder\" path=%s/msg error=\"%s\"", q->path,
			  strerror(errno));
		for (size_t i = 0; i < n; i++)
			unlinkat(q->msg_fd, made[i], 0);
		return -1;
	}
	pthread_mutex_lock(&q->pool.lock);
	for (size_t i = 0; i < n; i++)
		queue_pool_push(&q->pool, made[i]);
	pthread_mutex_unlock(&q->pool.lock);
	return n == want ? 0 : -1;
}
