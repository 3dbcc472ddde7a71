/* message-view - reading a selected mailbox the way IMAP does, without
 * loading it whole: the compact UID/flags view for SELECT, messages by
 * UID in batches (FETCH, SEARCH), what changed since a MODSEQ (through
 * the MODSEQ indexes), and the \Recent watermark. Reads of several
 * statements run in one read transaction, so that another process's
 * commit (tern import) never shows half. */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

/* A read transaction; db_rollback ends it. */
static enum store_error read_begin(struct store_account *acct)
{
	return store_db_result(db_exec(acct->db, "BEGIN", "begin read"));
}

static enum store_error store_view_load_locked(struct store_account *acct,
					       const struct store_mailbox_ref *ref,
					       struct store_view *view)
{
	sqlite3_stmt *stmt = NULL;
	struct store_box box;
	enum store_error err;
	size_t cap, n = 0;
	enum db_result r;

	if ((err = read_begin(acct)) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	view->uidvalidity = box.uidvalidity;
	view->uidnext = box.uidnext;
	view->highestmodseq = box.highestmodseq;
	/* The maintained count sizes both arrays: one malloc each. */
	cap = box.messages;
	if (cap > 0 && ((view->uids = malloc(cap * sizeof(*view->uids))) == NULL ||
			(view->flags = malloc(cap)) == NULL))
		abort();
	stmt = db_prepare(acct->db, "SELECT uid, flags FROM messages WHERE mailbox_id = ? ORDER BY uid");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	while ((r = db_step(acct->db, stmt, "load view")) == DB_ROW) {
		if (n == cap) {   /* only if the count were wrong */
			cap = cap == 0 ? 64 : cap * 2;
			view->uids = realloc(view->uids, cap * sizeof(*view->uids));
			view->flags = realloc(view->flags, cap);
			if (view->uids == NULL || view->flags == NULL)
				abort();
		}
		view->uids[n] = (uint32_t)sqlite3_column_int64(stmt, 0);
		view->flags[n++] = (uint8_t)(sqlite3_column_int(stmt, 1) & 0x1f);
	}
	view->n = (uint32_t)n;
	err = store_db_result(r);
out:
	sqlite3_finalize(stmt);
	db_rollback(acct->db);
	return err;
}

enum store_error store_view_load(struct store_account *acct, const struct store_mailbox_ref *ref,
				 struct store_view *view_r)
{
	enum store_error err;

	memset(view_r, 0, sizeof(*view_r));
	store_enter(acct);
	err = store_view_load_locked(acct, ref, view_r);
	store_leave(acct);
	if (err != STORE_OK)
		store_view_free(view_r);
	return err;
}

void store_view_free(struct store_view *view)
{
	free(view->uids);
	free(view->flags);
	memset(view, 0, sizeof(*view));
}

static enum store_error store_messages_get_locked(struct store_account *acct,
						  const struct store_mailbox_ref *ref,
						  const uint32_t *uids, size_t n,
						  struct store_message *out)
{
	sqlite3_stmt *stmt = NULL;
	struct store_box box;
	enum store_error err;
	size_t i = 0;

	if ((err = read_begin(acct)) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	stmt = db_prepare(acct->db, "SELECT " STORE_MESSAGE_COLUMNS " FROM messages"
			  " WHERE mailbox_id = ? AND uid = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (; i < n; i++) {
		enum db_result r;

		sqlite3_bind_int64(stmt, 1, box.id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		r = db_step(acct->db, stmt, "get message");
		if (r == DB_ROW)
			store_message_from_row(stmt, &out[i]);
		sqlite3_reset(stmt);
		if (r != DB_ROW && r != DB_OK) {
			err = store_db_result(r);
			break;
		}
	}
out:
	sqlite3_finalize(stmt);
	db_rollback(acct->db);
	if (err != STORE_OK) {   /* nothing for the caller to free */
		for (size_t j = 0; j < i; j++)
			free(out[j].keywords);
		memset(out, 0, n * sizeof(*out));
	}
	return err;
}

enum store_error store_messages_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				    const uint32_t *uids, size_t n, struct store_message *out)
{
	enum store_error err;

	if (n > 0 && (uids == NULL || out == NULL))
		return STORE_ERR_INVALID;
	memset(out, 0, n * sizeof(*out));
	store_enter(acct);
	err = store_messages_get_locked(acct, ref, uids, n, out);
	store_leave(acct);
	return err;
}

/* The statement of a changes query: the mailbox and the MODSEQ bound.
 * INDEXED BY: the primary key would give UID order without a sort, at
 * the price of reading every row; the MODSEQ indexes read only the
 * changed ones. */
static sqlite3_stmt *since_prepare(struct store_account *acct, const char *sql, int64_t box_id,
				   uint64_t modseq)
{
	sqlite3_stmt *stmt = db_prepare(acct->db, sql);

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, box_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)modseq);
	}
	return stmt;
}

enum store_error store_changes_since(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint64_t modseq,
				     struct store_message **changed_r, size_t *n_changed_r,
				     uint32_t **expunged_r, size_t *n_expunged_r,
				     uint64_t *highestmodseq_r)
{
	struct store_box box;
	enum store_error err;

	*changed_r = NULL;
	*expunged_r = NULL;
	*n_changed_r = *n_expunged_r = 0;
	*highestmodseq_r = 0;
	store_enter(acct);
	if ((err = read_begin(acct)) == STORE_OK &&
	    (err = store_box_by_ref(acct, ref, &box)) == STORE_OK &&
	    (err = store_messages_collect(acct, since_prepare(acct, "SELECT " STORE_MESSAGE_COLUMNS
			" FROM messages INDEXED BY messages_modseq WHERE mailbox_id = ? AND modseq > ?"
			" ORDER BY uid", box.id, modseq), "changed messages",
			changed_r, n_changed_r)) == STORE_OK &&
	    (err = store_uids_collect(acct, since_prepare(acct, "SELECT uid FROM expunged"
			" INDEXED BY expunged_modseq WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
			box.id, modseq), "expunged messages", expunged_r, n_expunged_r)) == STORE_OK)
		*highestmodseq_r = box.highestmodseq;
	db_rollback(acct->db);
	store_leave(acct);
	if (err != STORE_OK) {
		store_messages_free(*changed_r, *n_changed_r);
		*changed_r = NULL;
		*n_changed_r = 0;
	}
	return err;
}

static enum store_error store_recent_locked(struct store_account *acct,
					    const struct store_mailbox_ref *ref, bool take,
					    uint32_t *first_recent_r)
{
	sqlite3_stmt *stmt;
	struct store_box box;
	enum store_error err;
	uint32_t recent = 0;
	enum db_result r;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	stmt = db_prepare(acct->db, "SELECT recent_uid FROM mailboxes WHERE id = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	if ((r = db_step(acct->db, stmt, "read recent")) == DB_ROW)
		recent = (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (r != DB_ROW) {
		err = r == DB_OK ? STORE_ERR_GONE : store_db_result(r);
		goto out;
	}
	*first_recent_r = recent;
	/* Nothing arrived since the last taker: no write, no fsync (the
	 * common SELECT). */
	if (!take || recent >= box.uidnext)
		goto out;
	stmt = db_prepare(acct->db, "UPDATE mailboxes SET recent_uid = uidnext WHERE id = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	r = db_step(acct->db, stmt, "take recent");
	sqlite3_finalize(stmt);
	if ((err = store_db_result(r)) == STORE_OK)
		err = store_db_result(db_commit(acct->db));
out:
	db_rollback(acct->db);
	return err;
}

static enum store_error store_recent(struct store_account *acct, const struct store_mailbox_ref *ref,
				     bool take, uint32_t *first_recent_r)
{
	enum store_error err;

	*first_recent_r = 0;
	store_enter(acct);
	err = store_recent_locked(acct, ref, take, first_recent_r);
	store_leave(acct);
	if (err != STORE_OK)
		*first_recent_r = 0;
	return err;
}

enum store_error store_recent_take(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t *first_recent_r)
{
	return store_recent(acct, ref, true, first_recent_r);
}

enum store_error store_recent_peek(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t *first_recent_r)
{
	return store_recent(acct, ref, false, first_recent_r);
}
