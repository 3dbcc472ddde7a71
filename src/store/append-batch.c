/* append-batch - appends in bulk (store_batch_*, store.h): the messages of
 * a batch are written like any append, then made durable together: their
 * files fsync'd concurrently (core/sync-pool.h), renamed into place, msg/
 * fsync'd once, and their rows added in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sync-pool.h"
#include "store/store-private.h"

/* A message written and waiting for its batch's commit. */
struct batch_item {
	char *mailbox;    /* canonical */
	int fd;           /* its file, open for the commit's fsync */
	char tmp_name[STORE_FILE_NAME_MAX + sizeof(STORE_TMP_PREFIX)];
	char name[STORE_FILE_NAME_MAX];
	bool renamed;
	uint64_t size;
	unsigned char digest[STORE_DIGEST_LEN];
	unsigned flags;
	char *keywords;   /* normalised, or NULL */
	int64_t internal_date;
	uint32_t want_uid;
};

struct store_batch {
	struct store_account *acct;
	struct sync_pool *pool;
	struct batch_item items[STORE_BATCH_MAX];
	int fds[STORE_BATCH_MAX], errs[STORE_BATCH_MAX];
	size_t n;
};

enum store_error store_batch_new(struct store_account *acct, struct store_batch **b_r)
{
	struct store_batch *b = calloc(1, sizeof(*b));
	char *error = NULL;

	if (b == NULL)
		abort();
	*b_r = NULL;
	if (sync_pool_start(&b->pool, &error) < 0) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"batch append: %s\" user=%s",
			  error != NULL ? error : "no memory", acct->address);
		free(error);
		free(b);
		return STORE_ERR_IO;
	}
	b->acct = acct;
	*b_r = b;
	return STORE_OK;
}

size_t store_batch_count(const struct store_batch *b)
{
	return b->n;
}

/* Whether a pending message of the mailbox has these bytes. */
static bool batch_holds(const struct store_batch *b, const char *mailbox, uint64_t size,
			const unsigned char digest[STORE_DIGEST_LEN])
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].size == size && strcmp(b->items[i].mailbox, mailbox) == 0 &&
		    memcmp(b->items[i].digest, digest, STORE_DIGEST_LEN) == 0)
			return true;
	return false;
}

enum store_error store_batch_add(struct store_batch *b, struct store_append **app,
				 unsigned flags, const char *keywords, int64_t internal_date,
				 uint32_t want_uid, bool *present_r, bool *full_r)
{
	struct store_append *ap = *app;
	unsigned char digest[STORE_DIGEST_LEN];
	struct batch_item *it;
	enum store_error err;
	char *kw = NULL;

	*present_r = false;
	if (full_r != NULL)
		*full_r = b->n >= STORE_BATCH_MAX;
	if (ap != NULL && (b->n >= STORE_BATCH_MAX || ap->acct != b->acct)) {
		store_append_abort(app);
		return STORE_ERR_INVALID;
	}
	if ((err = store_append_ready(app, keywords, &kw)) != STORE_OK)
		return err;
	store_append_digest(ap, digest);
	*present_r = batch_holds(b, ap->mailbox, ap->size, digest);
	if (!*present_r) {
		store_enter(b->acct);
		err = store_mailbox_has_digest(b->acct, ap->mailbox, digest, ap->size, present_r);
		store_leave(b->acct);
		if (err != STORE_OK) {
			free(kw);
			store_append_abort(app);
			return err;
		}
	}
	if (*present_r) {
		free(kw);
		store_append_abort(app);
		return STORE_OK;
	}
	/* the disk starts writing it now; the commit waits for it */
	sync_file_range(ap->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->mailbox = ap->mailbox;
	ap->mailbox = NULL;
	it->fd = ap->fd;
	ap->fd = -1;
	memcpy(it->tmp_name, ap->tmp_name, sizeof(it->tmp_name));
	memcpy(it->name, ap->name, sizeof(it->name));
	it->size = ap->size;
	memcpy(it->digest, digest, sizeof(digest));
	it->flags = flags;
	it->keywords = kw;
	it->internal_date = internal_date;
	it->want_uid = want_uid;
	store_append_free(app);
	if (full_r != NULL)
		*full_r = b->n >= STORE_BATCH_MAX;
	return STORE_OK;
}

/* Every file on disk under its final name, and msg/ with their entries.
 * On failure (logged) some may be renamed: the caller removes them all. */
static enum store_error batch_sync_files(struct store_batch *b)
{
	struct store_account *acct = b->acct;
	const char *step = NULL;
	int error = 0;

	for (size_t i = 0; i < b->n; i++)
		b->fds[i] = b->items[i].fd;
	sync_pool_all(b->pool, b->fds, b->errs, b->n);
	for (size_t i = 0; i < b->n && step == NULL; i++) {
		struct batch_item *it = &b->items[i];

		if (b->errs[i] != 0) {
			step = "fsync";
			errno = b->errs[i];
		} else if (renameat(acct->msg_fd, it->tmp_name, acct->msg_fd, it->name) < 0) {
			step = "rename";
		} else {
			it->renamed = true;
		}
		if (step != NULL) {
			error = errno;
			log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
				  "msg=\"batch append: %s failed\" user=%s file=%s error=\"%s\"",
				  step, acct->address, it->tmp_name, strerror(error));
		}
	}
	if (step == NULL && fsync(acct->msg_fd) < 0) {
		error = errno;
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"batch append: fsync of msg/ failed\" user=%s error=\"%s\"",
			  acct->address, strerror(error));
	}
	if (error == 0)
		return STORE_OK;
	return error == ENOSPC || error == EDQUOT ? STORE_ERR_NO_SPACE : STORE_ERR_IO;
}

/* After the commit: one change per mailbox, with its last MODSEQ. */
static void batch_notify(struct store_account *acct, const struct store_box *box,
			 uint64_t modseq)
{
	if (modseq != 0)
		store_notify(acct, box, HUB_CHANGE_APPEND, modseq);
}

/* Inside the transaction: the rows of every item. Item-level failures go
 * into their result; the transaction's own are returned. */
static enum store_error batch_add_rows(struct store_batch *b, struct store_batch_result *results)
{
	struct store_account *acct = b->acct;
	struct store_box box = { .id = 0 };
	enum store_error err = STORE_OK;
	uint64_t last_modseq = 0;

	for (size_t i = 0; i < b->n && err == STORE_OK; i++) {
		struct batch_item *it = &b->items[i];
		struct store_new_message m = {
			.box = &box,
			.file = it->name,
			.size = it->size,
			.flags = it->flags,
			.keywords = it->keywords,
			.internal_date = it->internal_date,
			.digest = it->digest,
			.want_uid = it->want_uid,
		};
		uint64_t modseq = 0;

		if (box.id == 0 || strcmp(box.name, it->mailbox) != 0) {
			batch_notify(acct, &box, last_modseq);
			last_modseq = 0;
			err = store_box_by_name(acct, it->mailbox, &box);
			if (err == STORE_ERR_NOT_FOUND || err == STORE_ERR_INVALID) {
				/* gone meanwhile: this message only */
				results[i].error = err;
				box.id = 0;
				err = STORE_OK;
				continue;
			}
			if (err != STORE_OK)
				break;
		}
		err = store_message_add(acct, &m, &results[i].uid, &modseq);
		if (err == STORE_ERR_IO || err == STORE_ERR_NO_SPACE || err == STORE_ERR_CORRUPT)
			break;
		results[i].error = err;
		err = STORE_OK;
		if (results[i].error == STORE_OK) {
			box.uidnext = results[i].uid + 1;
			last_modseq = modseq;
		}
	}
	if (err == STORE_OK)
		batch_notify(acct, &box, last_modseq);
	return err;
}

/* Drop the pending items; their files too unless their rows are in. */
static void batch_clear(struct store_batch *b, const struct store_batch_result *results)
{
	for (size_t i = 0; i < b->n; i++) {
		struct batch_item *it = &b->items[i];

		if (it->fd >= 0)
			close(it->fd);
		if (results == NULL || results[i].error != STORE_OK)
			store_msg_unlink(b->acct, it->renamed ? it->name : it->tmp_name);
		free(it->mailbox);
		free(it->keywords);
	}
	b->n = 0;
}

enum store_error store_batch_commit(struct store_batch *b, struct store_batch_result *results)
{
	struct store_account *acct = b->acct;
	enum store_error err;
	size_t mark;

	if (b->n == 0)
		return STORE_OK;
	for (size_t i = 0; i < b->n; i++)
		results[i] = (struct store_batch_result){ .uid = 0, .error = STORE_OK };
	err = batch_sync_files(b);
	store_enter(acct);
	mark = acct->n_pending;
	if (err == STORE_OK && (err = store_db_result(db_begin(acct->db))) == STORE_OK) {
		if ((err = batch_add_rows(b, results)) == STORE_OK)
			err = store_db_result(db_commit(acct->db));
		if (err != STORE_OK) {
			db_rollback(acct->db);
			store_notify_rollback(acct, mark);
		}
	}
	store_leave(acct);
	if (err != STORE_OK)
		for (size_t i = 0; i < b->n; i++)
			results[i] = (struct store_batch_result){ .uid = 0, .error = err };
	batch_clear(b, results);
	return err;
}

void store_batch_free(struct store_batch **b)
{
	if (*b == NULL)
		return;
	batch_clear(*b, NULL);
	sync_pool_stop(&(*b)->pool);
	free(*b);
	*b = NULL;
}
