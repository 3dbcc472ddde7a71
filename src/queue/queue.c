/* queue - DATA/queue as a whole (queue.h): opening its folders and
 * queue.db, the rebuild, starting and stopping the committer and the
 * worker, the free-space floor, the counters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/durable.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "queue/queue-private.h"

static const char *const queue_error_names[] = {
	[QUEUE_OK] = "ok",
	[QUEUE_ERR_NO_SPACE] = "no space",
	[QUEUE_ERR_TOO_BIG] = "too big",
	[QUEUE_ERR_IO] = "i/o error",
};
_Static_assert(sizeof(queue_error_names) / sizeof(queue_error_names[0]) == QUEUE_ERR__COUNT,
	       "queue_error_names must cover enum queue_error");

const char *queue_error_name(enum queue_error error)
{
	if ((unsigned)error >= QUEUE_ERR__COUNT)
		return "unknown";
	return queue_error_names[error];
}

/* Make (durably) and open one of the queue's folders, 0700. */
static int queue_folder(int parent, const char *parent_path, const char *name, int *fd_r,
			char **error_r)
{
	struct stat st;
	int fd;

	if (durable_mkdir(parent, name, 0700) < 0)
		return errmsg_set(error_r, "%s/%s: cannot create: %s", parent_path, name,
				  strerror(errno));
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(error_r, "%s/%s: %s", parent_path, name,
				  errno == ENOTDIR || errno == ELOOP ? "not a folder" : strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"cannot make a queue folder 0700\" path=%s/%s error=\"%s\"",
			  parent_path, name, strerror(errno));
	*fd_r = fd;
	return 0;
}

static int queue_folders(struct queue *q, char **error_r)
{
	const char *data = q->cfg->server.data_dir;
	int data_fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (data_fd < 0)
		return errmsg_set(error_r, "%s: %s", data, strerror(errno));
	ret = queue_folder(data_fd, data, "queue", &q->dir_fd, error_r);
	close(data_fd);
	if (ret == 0)
		ret = queue_folder(q->dir_fd, q->path, "msg", &q->msg_fd, error_r);
	if (ret == 0)
		ret = queue_folder(q->dir_fd, q->path, "env", &q->env_fd, error_r);
	if (ret == 0)
		ret = queue_folder(q->dir_fd, q->path, "tmp", &q->tmp_fd, error_r);
	return ret;
}

static void queue_free(struct queue *q)
{
	int fds[] = { q->dir_fd, q->msg_fd, q->env_fd, q->tmp_fd };

	queue_committer_free(q);
	queue_handles_free(&q->handles);
	queue_db_close(&q->db);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	queue_pool_free(&q->pool);
	space_floor_deinit(&q->space);
	free(q->path);
	free(q);
}

int queue_open(const struct config *cfg, struct store_root *store, struct dir *dir,
	       struct queue **queue_r, char **error_r)
{
	struct queue *q = calloc(1, sizeof(*q));

	*queue_r = NULL;
	*error_r = NULL;
	if (q == NULL)
		abort();
	q->cfg = cfg;
	q->store = store;
	q->dir = dir;
	q->dir_fd = q->msg_fd = q->env_fd = q->tmp_fd = -1;
	q->message_max = cfg->limits.message_size + QUEUE_HEADERS_MAX;
	queue_schedule_from_config(&q->schedule, cfg);
	queue_pool_init(&q->pool);
	q->handles = queue_handles_new(store);
	if (asprintf(&q->path, "%s/queue", cfg->server.data_dir) < 0)
		abort();
	space_floor_init(&q->space, "queue", q->path, cfg->limits.min_free_space);
	if (queue_folders(q, error_r) < 0 || queue_srs_open(q, error_r) < 0 ||
	    queue_db_open(q->path, &q->db, error_r) != DB_OK || queue_rebuild(q, error_r) < 0) {
		queue_free(q);
		return -1;
	}
	/* Ready before the first message: a refill costs one folder fsync. */
	queue_pool_refill(q);
	if (queue_worker_start(q, error_r) < 0) {
		queue_free(q);
		return -1;
	}
	if (queue_committer_start(q, error_r) < 0) {
		queue_worker_stop(q);
		queue_free(q);
		return -1;
	}
	atomic_store(&q->accepting, true);
	*queue_r = q;
	return 0;
}

void queue_close(struct queue **queuep)
{
	struct queue *q = *queuep;

	if (q == NULL)
		return;
	*queuep = NULL;
	atomic_store(&q->accepting, false);
	/* every message handed over is completed first (its done called) */
	queue_committer_stop(q);
	queue_worker_stop(q);
	queue_relay_free(q);
	queue_free(q);
}

void queue_thread_join(pthread_t thread, const char *what)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += QUEUE_STOP_WAIT_S;
	if (pthread_timedjoin_np(thread, NULL, &until) == 0)
		return;
	/* as the core does with its jobs: nothing acknowledged is lost (the
	 * files are durable before any OK, deliveries are idempotent) */
	log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
		  "msg=\"exiting with the queue's %s still running (a hung disk?)\" after=%u", what,
		  QUEUE_STOP_WAIT_S);
	_exit(0);
}

bool queue_has_space(struct queue *q)
{
	return space_floor_ok(&q->space);
}

void queue_stats(struct queue *q, struct queue_stats *stats_r)
{
	*stats_r = (struct queue_stats){
		.commit_rounds = atomic_load(&q->n_rounds),
		.committed = atomic_load(&q->n_committed),
		.indexed = atomic_load(&q->n_indexed),
		.fsyncs = atomic_load(&q->n_fsyncs),
		.delivered = atomic_load(&q->n_delivered),
		.deferred = atomic_load(&q->n_deferred),
		.finished = atomic_load(&q->n_finished),
		.commit_ns = atomic_load(&q->commit_ns),
	};
}
