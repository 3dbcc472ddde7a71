/* deliver - local delivery (store_deliver, store.h): a file the queue
 * holds enters a mailbox as a hard link, with one transaction and one
 * fsync of msg/ per batch, recorded with its queue id so that delivering
 * it again finds the first copy instead of storing a second. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

/* What became of one item inside the transaction. */
struct deliver_item {
	char file[STORE_FILE_NAME_MAX];   /* its new link in msg/; "" for none */
	char *mailbox;                    /* canonical */
	struct store_box box;             /* when added */
	uint64_t modseq;
	bool added;
};

static void deliver_log(struct store_account *acct, const struct store_delivery *d,
			const char *what, int err)
{
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
		  "msg=\"cannot deliver: %s\" user=%s queue_id=%s file=%s error=\"%s\"",
		  what, acct->address, d->queue_id, d->name, strerror(err));
}

static bool deliver_args_ok(const struct store_delivery *d)
{
	size_t len = d->queue_id != NULL ? strlen(d->queue_id) : 0;

	return len > 0 && len <= STORE_QUEUE_ID_MAX && d->name != NULL && d->name[0] != '\0' &&
	       d->dirfd >= 0 && (d->flags & ~0x1fu) == 0;
}

/* The UID of the mailbox's message with this queue id: STORE_OK with
 * *uid_r, 0 when there is none. */
static enum store_error deliver_find(struct store_account *acct, int64_t box,
				     const char *queue_id, uint32_t *uid_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT uid FROM messages"
					" WHERE mailbox_id = ? AND queue_id = ?");
	enum db_result r;

	*uid_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box);
	sqlite3_bind_text(stmt, 2, queue_id, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "find delivered message");
	if (r == DB_ROW)
		*uid_r = (uint32_t)sqlite3_column_int64(stmt, 0);
	db_stmt_done(acct->db, stmt);
	return store_db_result(r);
}

/* Link the queue's file into msg/ under a new name, and check what the
 * link leads to: a regular file of the announced size. */
static enum store_error deliver_link(struct store_account *acct, const struct store_delivery *d,
				     struct deliver_item *it)
{
	struct stat st;
	int err;

	store_file_name(it->file, sizeof(it->file));
	/* flags 0: a symbolic link would be linked as itself, and refused */
	if (linkat(d->dirfd, d->name, acct->msg_fd, it->file, 0) < 0) {
		err = errno;
		it->file[0] = '\0';
		if (err == EXDEV) {
			deliver_log(acct, d, "the queue and the mailbox are on different file systems"
				    " (the data folder must be one file system)", err);
			return STORE_ERR_IO;
		}
		deliver_log(acct, d, "cannot link the queue's file", err);
		return err == ENOENT ? STORE_ERR_NOT_FOUND :
		       err == ENOSPC || err == EDQUOT ? STORE_ERR_NO_SPACE : STORE_ERR_IO;
	}
	if (fstatat(acct->msg_fd, it->file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		err = errno;
		deliver_log(acct, d, "cannot check the linked file", err);
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != d->size) {
		err = 0;
		deliver_log(acct, d, !S_ISREG(st.st_mode) ? "not a regular file" :
			    "the file's size is not the one given", EINVAL);
	} else {
		return STORE_OK;
	}
	store_msg_unlink(acct, it->file);
	it->file[0] = '\0';
	return err == 0 ? STORE_ERR_INVALID : STORE_ERR_IO;
}

/* Inside the transaction: one item. Item-level failures go into d->error
 * and return STORE_OK; the transaction's own (the index, the disk) are
 * returned. */
static enum store_error deliver_one(struct store_account *acct, struct store_delivery *d,
				    struct deliver_item *it)
{
	struct store_new_message m = {
		.box = &it->box,
		.size = d->size,
		.flags = d->flags,
		.internal_date = d->internal_date,
		.queue_id = d->queue_id,
	};
	enum store_error err;

	err = store_box_by_name(acct, it->mailbox, &it->box);
	if (err == STORE_OK)
		err = deliver_find(acct, it->box.id, d->queue_id, &d->uid);
	if (err == STORE_ERR_NOT_FOUND || (err == STORE_OK && d->uid != 0)) {
		d->error = err;   /* no such mailbox; or delivered before */
		return STORE_OK;
	}
	if (err != STORE_OK)
		return err;
	if ((d->error = deliver_link(acct, d, it)) != STORE_OK)
		return d->error == STORE_ERR_NO_SPACE ? d->error : STORE_OK;
	m.file = it->file;
	err = store_message_add(acct, &m, &d->uid, &it->modseq);
	if (err == STORE_ERR_IO || err == STORE_ERR_NO_SPACE || err == STORE_ERR_CORRUPT)
		return err;
	if ((d->error = err) != STORE_OK) {
		store_msg_unlink(acct, it->file);
		it->file[0] = '\0';
		return STORE_OK;
	}
	it->added = true;
	return STORE_OK;
}

/* After the commit: one change per mailbox, with its last MODSEQ. */
static void deliver_notify(struct store_account *acct, const struct deliver_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool later = false;

		if (!items[i].added)
			continue;
		for (size_t j = i + 1; j < n && !later; j++)
			later = items[j].added && items[j].box.id == items[i].box.id;
		if (!later)
			store_notify(acct, &items[i].box, HUB_CHANGE_APPEND, items[i].modseq);
	}
}

static enum store_error store_deliver_batch_locked(struct store_account *acct,
						   struct store_delivery *items, size_t n,
						   struct deliver_item *state)
{
	enum store_error err;
	bool linked = false;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		if (items[i].error == STORE_OK)
			err = deliver_one(acct, &items[i], &state[i]);
		linked = linked || state[i].file[0] != '\0';
	}
	/* The links' entries on disk before the index says they are there. */
	if (err == STORE_OK && linked && fsync(acct->msg_fd) < 0) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"cannot deliver: fsync of msg/ failed\" user=%s error=\"%s\"",
			  acct->address, strerror(errno));
		err = STORE_ERR_IO;
	}
	if (err == STORE_OK)
		err = store_db_result(db_commit(acct->db));
	if (err != STORE_OK) {
		db_rollback(acct->db);
		for (size_t i = 0; i < n; i++) {
			if (state[i].file[0] != '\0')
				store_msg_unlink(acct, state[i].file);
			items[i].error = err;
			items[i].uid = 0;
		}
		return err;
	}
	deliver_notify(acct, state, n);
	return STORE_OK;
}

enum store_error store_deliver_batch(struct store_account *acct, struct store_delivery *items,
				     size_t n)
{
	struct deliver_item *state;
	enum store_error err;

	if (n == 0)
		return STORE_OK;
	state = calloc(n, sizeof(*state));
	if (state == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		char canon[STORE_MAILBOX_NAME_MAX + 1];

		items[i].uid = 0;
		items[i].error = STORE_OK;
		if (!deliver_args_ok(&items[i]) ||
		    !store_mailbox_name_canon(items[i].mailbox, canon, sizeof(canon)))
			items[i].error = STORE_ERR_INVALID;
		else if (items[i].size > STORE_MESSAGE_MAX)
			items[i].error = STORE_ERR_TOO_BIG;
		else if ((state[i].mailbox = strdup(canon)) == NULL)
			abort();
	}
	store_enter(acct);
	err = store_deliver_batch_locked(acct, items, n, state);
	store_leave(acct);
	for (size_t i = 0; i < n; i++)
		free(state[i].mailbox);
	free(state);
	return err;
}

enum store_error store_deliver(struct store_account *acct, const char *mailbox, int dirfd,
			       const char *name, uint64_t size, unsigned flags,
			       int64_t internal_date, const char *queue_id, uint32_t *uid_r)
{
	struct store_delivery d = {
		.mailbox = mailbox,
		.dirfd = dirfd,
		.name = name,
		.size = size,
		.flags = flags,
		.internal_date = internal_date,
		.queue_id = queue_id,
	};
	enum store_error err = store_deliver_batch(acct, &d, 1);

	if (err == STORE_OK)
		err = d.error;
	if (uid_r != NULL)
		*uid_r = err == STORE_OK ? d.uid : 0;
	return err;
}
