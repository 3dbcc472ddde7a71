/* queue-rebuild - at open, queue.db is made to agree with the files,
 * which are the truth: every non-empty msg/ file whose envelope names it
 * and its size is a queued message (a row is added when missing); an
 * empty file without an envelope or other links is an unused pool file;
 * anything else in msg/ was never acknowledged (its write did not
 * finish) or was finished (its envelope removed before the unlink), and
 * is removed; rows without a file are dropped; env/ files without their
 * message and every tmp/ file are removed. Then msg/ and env/ are
 * fsync'd once, so that every entry found is durable (a kill -9 leaves
 * entries the disk may not have yet) before a pool file found here is
 * used. Last, a message whose recipients are all done with (a crash came
 * between the record of its last delivery and its finish) is finished:
 * nothing else would ever take it out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "queue/queue-private.h"

/* Rows inserted per transaction. */
#define QUEUE_REBUILD_BATCH 512

/* Message ids, as queue_db_ids gives them. */
struct queue_ids {
	char **ids;
	size_t n, cap;
};

struct queue_rebuild {
	struct queue *q;
	struct queue_ids db;     /* sorted */
	bool *db_seen;
	struct queue_record **add;
	size_t n_add, cap_add;
	size_t n_queued, n_pool, n_removed;
	struct queue_ids done;   /* ids with no recipient left */
};

/* queue_db_ids' callback: one more id in the list. */
static void queue_ids_add(void *ctx, const char *id)
{
	struct queue_ids *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->ids = realloc(l->ids, l->cap * sizeof(*l->ids));
		if (l->ids == NULL)
			abort();
	}
	if ((l->ids[l->n++] = strdup(id)) == NULL)
		abort();
}

static void queue_ids_free(struct queue_ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
}

static int queue_rebuild_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether queue.db has the id; marks it seen. */
static bool queue_rebuild_known(struct queue_rebuild *rb, const char *id)
{
	char **hit = rb->db.n == 0 ? NULL : bsearch(&id, rb->db.ids, rb->db.n, sizeof(*rb->db.ids),
						    queue_rebuild_cmp);

	if (hit == NULL)
		return false;
	rb->db_seen[hit - rb->db.ids] = true;
	return true;
}

static void queue_rebuild_keep(struct queue_rebuild *rb, struct queue_record *rec)
{
	struct queue_record *copy;

	rb->n_queued++;
	if (queue_rebuild_known(rb, rec->id)) {
		queue_record_free(rec);
		return;
	}
	if ((copy = malloc(sizeof(*copy))) == NULL)
		abort();
	*copy = *rec;
	if (rb->n_add == rb->cap_add) {
		rb->cap_add = rb->cap_add == 0 ? 64 : rb->cap_add * 2;
		rb->add = realloc(rb->add, rb->cap_add * sizeof(*rb->add));
		if (rb->add == NULL)
			abort();
	}
	rb->add[rb->n_add++] = copy;
}

/* One entry of msg/. */
static void queue_rebuild_file(struct queue_rebuild *rb, const char *name)
{
	struct queue *q = rb->q;
	struct queue_record rec;
	struct stat st;
	int fd, got;

	if (!queue_id_valid(name, strlen(name))) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"not a queue file, left alone\" path=%s/msg file=%s", q->path, name);
		return;
	}
	fd = openat(q->msg_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"not a queue file, left alone\" path=%s/msg file=%s error=\"%s\"",
			  q->path, name, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return;
	}
	got = queue_file_envelope(q, name, fd, &rec);
	close(fd);
	if (got == 1 && st.st_size == 0 && st.st_nlink == 1) {
		queue_pool_put(q, name);
		rb->n_pool++;
		return;
	}
	if (got == 0 && strcmp(rec.id, name) == 0 && rec.size == (uint64_t)st.st_size) {
		queue_rebuild_keep(rb, &rec);
		return;
	}
	if (got == 0)
		queue_record_free(&rec);
	unlinkat(q->env_fd, name, 0);
	if (unlinkat(q->msg_fd, name, 0) == 0) {
		rb->n_removed++;
		log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
			  "msg=\"removed a queue file that holds no queued message (never"
			  " acknowledged, or delivered)\" queue_id=%s size=%lld", name,
			  (long long)st.st_size);
	}
}

/* Each entry of a folder of the queue (a dup of fd is read). */
static int queue_rebuild_each(struct queue_rebuild *rb, int fd, const char *folder,
			      void (*cb)(struct queue_rebuild *rb, const char *name), char **error_r)
{
	int copy = dup(fd);
	DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (copy >= 0)
			close(copy);
		return errmsg_set(error_r, "%s/%s: %s", rb->q->path, folder, strerror(errno));
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			cb(rb, de->d_name);
		errno = 0;
	}
	if (errno != 0) {
		int err = errno;

		closedir(d);
		return errmsg_set(error_r, "%s/%s: %s", rb->q->path, folder, strerror(err));
	}
	closedir(d);
	return 0;
}

static void queue_rebuild_env(struct queue_rebuild *rb, const char *name)
{
	struct stat st;

	if (fstatat(rb->q->msg_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		unlinkat(rb->q->env_fd, name, 0);
}

static void queue_rebuild_tmp(struct queue_rebuild *rb, const char *name)
{
	unlinkat(rb->q->tmp_fd, name, 0);
}

static int queue_rebuild_index(struct queue_rebuild *rb, char **error_r)
{
	enum db_result r = DB_OK;

	for (size_t i = 0; i < rb->db.n && r == DB_OK; i++)
		if (!rb->db_seen[i])
			r = queue_db_delete(rb->q->db, rb->db.ids[i], NULL);
	for (size_t i = 0; i < rb->n_add && r == DB_OK; i += QUEUE_REBUILD_BATCH) {
		size_t n = rb->n_add - i < QUEUE_REBUILD_BATCH ? rb->n_add - i : QUEUE_REBUILD_BATCH;

		r = queue_db_insert(rb->q->db, rb->add + i, n);
	}
	if (r != DB_OK)
		return errmsg_set(error_r, "%s/queue.db: cannot rebuild the index: %s", rb->q->path,
				  db_result_name(r));
	return 0;
}

/* Finish the messages with no recipient left (their ids are taken first:
 * queue_file_finish uses queue.db). */
static int queue_rebuild_finish(struct queue_rebuild *rb, char **error_r)
{
	enum db_result r = queue_db_ids(rb->q->db, true, queue_ids_add, &rb->done);

	if (r != DB_OK)
		return errmsg_set(error_r, "%s/queue.db: %s", rb->q->path, db_result_name(r));
	for (size_t i = 0; i < rb->done.n; i++)
		queue_file_finish(rb->q, rb->done.ids[i]);
	return 0;
}

int queue_rebuild(struct queue *q, char **error_r)
{
	struct queue_rebuild rb = { .q = q };
	enum db_result r;
	int ret;

	if ((r = queue_db_ids(q->db, false, queue_ids_add, &rb.db)) != DB_OK)
		return errmsg_set(error_r, "%s/queue.db: %s", q->path, db_result_name(r));
	if (rb.db.n > 0)
		qsort(rb.db.ids, rb.db.n, sizeof(*rb.db.ids), queue_rebuild_cmp);
	rb.db_seen = calloc(rb.db.n + 1, sizeof(*rb.db_seen));
	if (rb.db_seen == NULL)
		abort();
	ret = queue_rebuild_each(&rb, q->msg_fd, "msg", queue_rebuild_file, error_r);
	if (ret == 0)
		ret = queue_rebuild_each(&rb, q->env_fd, "env", queue_rebuild_env, error_r);
	if (ret == 0)
		ret = queue_rebuild_each(&rb, q->tmp_fd, "tmp", queue_rebuild_tmp, error_r);
	if (ret == 0 && (fsync(q->msg_fd) < 0 || fsync(q->env_fd) < 0))
		ret = errmsg_set(error_r, "%s: cannot sync the queue's folders: %s", q->path,
				 strerror(errno));
	if (ret == 0)
		ret = queue_rebuild_index(&rb, error_r);
	if (ret == 0)
		ret = queue_rebuild_finish(&rb, error_r);
	if (ret == 0)
		log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
			  "msg=\"queue opened\" path=%s queued=%zu indexed=%zu pool=%zu removed=%zu"
			  " finished=%zu", q->path, rb.n_queued - rb.done.n, rb.n_add, rb.n_pool,
			  rb.n_removed, rb.done.n);
	for (size_t i = 0; i < rb.n_add; i++) {
		queue_record_free(rb.add[i]);
		free(rb.add[i]);
	}
	queue_ids_free(&rb.db);
	queue_ids_free(&rb.done);
	free(rb.db_seen);
	free(rb.add);
	return ret;
}
