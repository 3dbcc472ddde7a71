/* queue-msg - receiving a message (queue.h, queue_msg_*): its envelope
 * and id at the start, its bytes in memory up to QUEUE_MEMORY_MAX and
 * beyond that in the unsynced temporary file DATA/queue/tmp/ID, then the
 * hand-over to the group commit, which writes the final file once. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "queue/queue-private.h"

struct queue_msg *queue_msg_begin(struct queue *queue, const struct queue_envelope *env)
{
	const char *problem = queue_envelope_check(env);
	struct queue_msg *m;
	char id[QUEUE_ID_LEN + 1];
	bool pooled;

	if (!atomic_load(&queue->accepting)) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL, "msg=\"queue is closing\"");
		return NULL;
	}
	if (problem != NULL) {
		log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
			  "msg=\"cannot queue a message: %s\"", problem);
		return NULL;
	}
	if (!queue_has_space(queue)) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"refusing mail: free space below [limits] min_free_space\" path=%s",
			  queue->path);
		return NULL;
	}
	if (atomic_load(&queue->n_committed) - atomic_load(&queue->n_indexed) >=
	    QUEUE_UNINDEXED_MAX) {
		/* queue.db refuses their rows (queue-commit.c): no more until
		 * it takes them, or their records fill the memory */
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"refusing mail: acknowledged messages wait for queue.db\" "
			  "messages=%d", QUEUE_UNINDEXED_MAX);
		return NULL;
	}
	pooled = queue_pool_take(queue, id);
	if (queue_pool_low(queue))
		queue_worker_refill(queue);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		abort();
	m->queue = queue;
	m->pooled = pooled;
	m->tmp_fd = m->fd = m->env_fd = -1;
	queue_record_init(&m->rec, id, queue_now(), 0, env);
	return m;
}

const char *queue_msg_id(const struct queue_msg *msg)
{
	return msg->rec.id;
}

bool queue_msg_add(struct queue_msg *msg, const void *data, size_t len)
{
	if (msg->error != QUEUE_OK)
		return true;
	if (len > msg->queue->message_max - msg->total) {
		/* the session's own limit should have stopped it: drop it all */
		msg->error = QUEUE_ERR_TOO_BIG;
		free(msg->mem);
		msg->mem = NULL;
		msg->mem_len = msg->mem_cap = 0;
		return true;
	}
	msg->total += len;
	if (msg->mem_len + len > msg->mem_cap) {
		size_t cap = msg->mem_cap == 0 ? 8192 : msg->mem_cap;

		while (cap < msg->mem_len + len)
			cap *= 2;
		msg->mem = realloc(msg->mem, cap);
		if (msg->mem == NULL)
			abort();
		msg->mem_cap = cap;
	}
	memcpy(msg->mem + msg->mem_len, data, len);
	msg->mem_len += len;
	/* the content decides, not BODY=: ASCII declared 8BITMIME (tern
	 * sendmail always declares it) may go to a server without 8BITMIME,
	 * undeclared 8-bit may not (RFC 6152 3) */
	for (size_t i = 0; !msg->rec.env.eightbit && i < len; i++)
		msg->rec.env.eightbit = ((const unsigned char *)data)[i] > 0x7f;
	return msg->mem_len >= QUEUE_MEMORY_MAX;
}

void queue_msg_prepend(struct queue_msg *msg, const void *data, size_t len)
{
	if (msg->error != QUEUE_OK || len == 0)
		return;
	if (msg->prefix != NULL || len > msg->queue->message_max - msg->total) {
		msg->error = QUEUE_ERR_TOO_BIG;
		return;
	}
	msg->prefix = malloc(len);
	if (msg->prefix == NULL)
		abort();
	memcpy(msg->prefix, data, len);
	msg->prefix_len = len;
	msg->total += len;
}

enum queue_error queue_msg_flush(struct queue_msg *msg)
{
	struct queue *q = msg->queue;
	const char *p = msg->mem;
	size_t left = msg->mem_len;

	if (msg->error != QUEUE_OK || left == 0)
		return msg->error;
	if (msg->tmp_fd < 0) {
		msg->tmp_fd = openat(q->tmp_fd, msg->rec.id,
				     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (msg->tmp_fd < 0)
			goto fail;
	}
	while (left > 0) {
		ssize_t w = pwrite(msg->tmp_fd, p, left, (off_t)msg->tmp_len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		left -= (size_t)w;
		msg->tmp_len += (uint64_t)w;
	}
	msg->mem_len = 0;
	return QUEUE_OK;
fail:
	log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
		  "msg=\"cannot write a message's temporary file\" queue_id=%s path=%s/tmp error=\"%s\"",
		  msg->rec.id, q->path, strerror(errno));
	msg->error = queue_error_from_errno(errno);
	return msg->error;
}

void queue_msg_commit(struct queue_msg *msg, void (*done)(void *arg, enum queue_error error),
		      void *arg)
{
	msg->done = done;
	msg->arg = arg;
	queue_committer_add(msg->queue, msg);
}

void queue_msg_abort(struct queue_msg **msgp)
{
	struct queue_msg *msg = *msgp;

	if (msg == NULL)
		return;
	*msgp = NULL;
	queue_file_release(msg->queue, msg, false);
	/* its pool file was never opened: still empty, still durable */
	if (msg->pooled)
		queue_pool_put(msg->queue, msg->rec.id);
	queue_record_free(&msg->rec);
	free(msg->prefix);
	free(msg->mem);
	free(msg);
}
