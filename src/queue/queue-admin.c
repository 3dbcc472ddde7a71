/* queue-admin - what `tern queue` asks of the queue: remove, hold,
 * release and flush on the running server's queue (queue.h), each made
 * consistent with the deliveries in flight through the active set, and
 * the list read straight from queue.db. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/errmsg.h"
#include "queue/queue-private.h"

static enum queue_admin_result queue_admin_result(enum db_result r, bool found)
{
	if (r != DB_OK)
		return QUEUE_ADMIN_ERROR;
	return found ? QUEUE_ADMIN_OK : QUEUE_ADMIN_NOT_FOUND;
}

enum queue_admin_result queue_remove(struct queue *q, const char *id, unsigned *changed_r)
{
	struct queue_active *active = queue_worker_active(q);
	struct queue_item *it;
	enum db_result r = DB_OK;
	bool found = false;

	*changed_r = 0;
	if (!queue_id_valid(id, strlen(id)))
		return QUEUE_ADMIN_NOT_FOUND;
	queue_active_lock(active);
	/* in flight: the job that ends it takes it out (queue-deliver.c);
	 * otherwise now, under the lock, so that no scan takes it meanwhile */
	if ((it = queue_active_find(active, id)) != NULL) {
		it->removed = true;
		found = true;
	} else if ((r = queue_db_exists(q->db, id, &found)) == DB_OK && found) {
		queue_file_finish(q, id);
	}
	queue_active_unlock(active);
	*changed_r = found ? 1 : 0;
	return queue_admin_result(r, found);
}

enum queue_admin_result queue_hold(struct queue *q, const char *id, unsigned *changed_r)
{
	struct queue_active *active = queue_worker_active(q);
	struct queue_item *it;
	enum db_result r;
	bool found = false;

	*changed_r = 0;
	if (!queue_id_valid(id, strlen(id)))
		return QUEUE_ADMIN_NOT_FOUND;
	queue_active_lock(active);
	/* what waits for a job is not tried; a try running now ends as it
	 * ends (a delivery stays delivered, a failure stays held) */
	if ((it = queue_active_find(active, id)) != NULL)
		it->held = true;
	r = queue_db_hold(q->db, id, &found, changed_r);
	queue_active_unlock(active);
	return queue_admin_result(r, found);
}

enum queue_admin_result queue_release(struct queue *q, const char *id, unsigned *changed_r)
{
	struct queue_active *active = queue_worker_active(q);
	struct queue_item *it;
	enum db_result r;
	bool found = false;

	*changed_r = 0;
	if (!queue_id_valid(id, strlen(id)))
		return QUEUE_ADMIN_NOT_FOUND;
	queue_active_lock(active);
	if ((it = queue_active_find(active, id)) != NULL)
		it->held = false;
	r = queue_db_release(q->db, id, &found, changed_r);
	queue_active_unlock(active);
	if (r == DB_OK && *changed_r > 0)
		queue_worker_rescan(q);
	return queue_admin_result(r, found);
}

enum queue_admin_result queue_flush(struct queue *q, const char *id, unsigned *changed_r)
{
	enum db_result r;
	bool found = false;

	*changed_r = 0;
	if (id != NULL && !queue_id_valid(id, strlen(id)))
		return QUEUE_ADMIN_NOT_FOUND;
	r = queue_db_flush(q->db, id, &found, changed_r);
	if (r == DB_OK && *changed_r > 0)
		queue_worker_rescan(q);
	return queue_admin_result(r, found);
}

int queue_list(const char *data_dir, void (*cb)(void *ctx, const struct queue_list_message *msg),
	       void *ctx, char **error_r)
{
	struct queue_db *qdb;
	struct stat st;
	enum db_result r;
	char *folder, *file;
	int ret = 0;

	*error_r = NULL;
	if (asprintf(&folder, "%s/queue", data_dir) < 0 || asprintf(&file, "%s/queue.db", folder) < 0)
		abort();
	/* never opened: an empty queue, and nothing is created */
	if (stat(file, &st) < 0 && errno == ENOENT) {
		free(file);
		free(folder);
		return 0;
	}
	free(file);
	if (queue_db_open(folder, &qdb, error_r) != DB_OK) {
		free(folder);
		return -1;
	}
	if ((r = queue_db_list(qdb, cb, ctx)) != DB_OK)
		ret = errmsg_set(error_r, "%s/queue.db: %s", folder, db_result_name(r));
	queue_db_close(&qdb);
	free(folder);
	return ret;
}
