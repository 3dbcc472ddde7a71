/* structure - a cache entry per message file (index.db's structures): the
 * MIME structure src/mail computes once per message, in parts (the tree,
 * and the three strings FETCH sends as they are), opaque bytes here.
 * Keyed by the file, so that copies share it; a trigger removes it with
 * the file's row. A FETCH batch reads its messages and the parts it needs
 * in one statement, handed over in place (store_messages_get_structures),
 * or its messages alone when the handle holds the parts (parts-cache.c). */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

static enum store_error store_structure_get_locked(struct store_account *acct,
						   const struct store_mailbox_ref *ref, uint32_t uid,
						   void **data_r, size_t *len_r)
{
	sqlite3_stmt *stmt;
	struct store_box box;
	enum store_error err;
	enum db_result r;

	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "SELECT s.data FROM messages m JOIN structures s"
		       " ON s.file_id = m.file_id WHERE m.mailbox_id = ? AND m.uid = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box.id);
	sqlite3_bind_int64(stmt, 2, uid);
	r = db_step(acct->db, stmt, "get structure");
	if (r == DB_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		/* an empty one is 1 byte of room */
		if ((*data_r = malloc(len > 0 ? len : 1)) == NULL)
			abort();
		if (len > 0)
			memcpy(*data_r, sqlite3_column_blob(stmt, 0), len);
		*len_r = len;
	} else {
		err = r == DB_OK ? STORE_ERR_NOT_FOUND : store_db_result(r);
	}
	db_stmt_done(acct->db, stmt);
	return err;
}

enum store_error store_structure_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint32_t uid, void **data_r, size_t *len_r)
{
	enum store_error err;

	*data_r = NULL;
	*len_r = 0;
	store_enter(acct);
	err = store_structure_get_locked(acct, ref, uid, data_r, len_r);
	store_leave(acct);
	return err;
}

/* --- a FETCH batch ------------------------------------------------------- */

/* Columns 6.. of the batch's statements: each part, read only when ?4
 * names it (CASE is lazy: SQLite copies no part it was not asked for). */
#define STRUCTURE_PARTS \
	", CASE WHEN ?4 & 1 THEN s.data END, CASE WHEN ?4 & 2 THEN s.bodystructure END," \
	" CASE WHEN ?4 & 4 THEN s.body END, CASE WHEN ?4 & 8 THEN s.envelope END"
#define STRUCTURE_FIRST_PART 6
_Static_assert(STORE_STRUCTURE_TREE == 0 && STORE_STRUCTURE_BODYSTRUCTURE == 1 &&
	       STORE_STRUCTURE_BODY == 2 && STORE_STRUCTURE_ENVELOPE == 3,
	       "STRUCTURE_PARTS follows enum store_structure_part");

struct structure_batch {
	const struct store_mailbox_ref *ref;
	const uint32_t *uids;
	unsigned mask;
	store_structure_cb *cb;
	void *ctx;
	struct store_parts_cache **cache;
};

/* A row of the join: its parts handed over, and kept by the handle when
 * they checked out. */
static void structure_row(void *ctx, size_t i, sqlite3_stmt *stmt)
{
	const struct structure_batch *b = ctx;
	struct store_blob parts[STORE_STRUCTURE__COUNT];
	bool entry = true;

	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++) {
		/* blob first, then its size (SQLite's rule for a pointer that holds) */
		parts[p].data = sqlite3_column_blob(stmt, STRUCTURE_FIRST_PART + p);
		parts[p].len = (size_t)sqlite3_column_bytes(stmt, STRUCTURE_FIRST_PART + p);
		entry = entry && (!(b->mask & (1u << p)) || parts[p].data != NULL);
	}
	if (b->cb(b->ctx, i, parts, false) && entry)
		store_parts_cache_put(b->cache, b->ref->id, b->ref->uidvalidity, b->uids[i], b->mask,
				      parts);
}

/* A row of the message alone: its parts are held. */
static void structure_row_held(void *ctx, size_t i, sqlite3_stmt *stmt)
{
	const struct structure_batch *b = ctx;
	struct store_blob parts[STORE_STRUCTURE__COUNT];

	(void)stmt;
	if (store_parts_cache_get(*b->cache, b->ref->id, b->ref->uidvalidity, b->uids[i], b->mask,
				  parts))
		(void)b->cb(b->ctx, i, parts, true);
}

/* Whether the handle holds the parts asked of every message of the batch. */
static bool structure_batch_held(const struct structure_batch *b, size_t n)
{
	struct store_blob parts[STORE_STRUCTURE__COUNT];

	for (size_t i = 0; i < n; i++)
		if (!store_parts_cache_get(*b->cache, b->ref->id, b->ref->uidvalidity, b->uids[i],
					   b->mask, parts))
			return false;
	return true;
}

enum store_error store_messages_get_structures(struct store_account *acct,
					       const struct store_mailbox_ref *ref,
					       const uint32_t *uids, size_t n, unsigned mask,
					       struct store_message *out, store_structure_cb *cb,
					       void *ctx)
{
	struct structure_batch b = { .ref = ref, .uids = uids, .mask = mask, .cb = cb, .ctx = ctx,
				     .cache = &acct->parts_cache };
	const struct store_batch_read join = {
		.scan_sql = "SELECT " STORE_MESSAGE_COLUMNS STRUCTURE_PARTS " FROM messages m"
			    " LEFT JOIN structures s ON s.file_id = m.file_id"
			    " WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid",
		.lookup_sql = "SELECT " STORE_MESSAGE_COLUMNS STRUCTURE_PARTS " FROM messages m"
			      " LEFT JOIN structures s ON s.file_id = m.file_id"
			      " WHERE m.mailbox_id = ?1 AND m.uid = ?2",
		.arg = mask,
		.row = structure_row,
		.ctx = &b,
	};
	const struct store_batch_read held = {
		.scan_sql = STORE_MESSAGES_SCAN_SQL,
		.lookup_sql = STORE_MESSAGES_LOOKUP_SQL,
		.row = structure_row_held,
		.ctx = &b,
	};
	enum store_error err;

	if (n > 0 && (uids == NULL || out == NULL || cb == NULL || ref == NULL))
		return STORE_ERR_INVALID;
	for (size_t i = 1; i < n; i++)
		if (uids[i] <= uids[i - 1])
			return STORE_ERR_INVALID;
	memset(out, 0, n * sizeof(*out));
	store_enter(acct);
	err = store_messages_read(acct, ref, uids, n, out,
				  n > 0 && structure_batch_held(&b, n) ? &held : &join);
	store_leave(acct);
	return err;
}

/* --- put ----------------------------------------------------------------- */

/* A cache entry need not survive a power cut (it is computed again from
 * the message), so it is committed without waiting for the disk:
 * synchronous=NORMAL for that one transaction (in WAL mode the next
 * FULL commit makes it durable with its own). A FETCH BODYSTRUCTURE of
 * 10,000 new messages then costs no fsync per message. */
static enum store_error store_structure_put_locked(struct store_account *acct,
						   const struct store_mailbox_ref *ref, uint32_t uid,
						   const struct store_blob parts[STORE_STRUCTURE__COUNT])
{
	sqlite3_stmt *stmt;
	struct store_box box;
	enum store_error err;
	enum db_result r;

	if ((err = store_db_result(db_exec(acct->db, "PRAGMA synchronous=NORMAL", "cache mode"))) != STORE_OK)
		return err;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		goto out;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	stmt = db_stmt(acct->db, "INSERT OR REPLACE INTO structures(file_id, data, bodystructure,"
		       " body, envelope) SELECT file_id, ?3, ?4, ?5, ?6 FROM messages"
		       " WHERE mailbox_id = ?1 AND uid = ?2");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	sqlite3_bind_int64(stmt, 2, uid);
	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++)
		sqlite3_bind_blob(stmt, 3 + p, parts[p].len > 0 ? parts[p].data : "",
				  (int)parts[p].len, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "put structure");
	db_stmt_done(acct->db, stmt);
	store_parts_cache_forget(acct->parts_cache, box.id, uid);
	if ((err = store_db_result(r)) != STORE_OK)
		goto out;
	if (db_changes(acct->db) == 0)
		err = STORE_ERR_NOT_FOUND;
	else
		err = store_db_result(db_commit(acct->db));
out:
	db_rollback(acct->db);
	if (store_db_result(db_exec(acct->db, "PRAGMA synchronous=FULL", "durable mode")) != STORE_OK &&
	    err == STORE_OK)
		err = STORE_ERR_IO;
	return err;
}

enum store_error store_structure_put(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint32_t uid, const struct store_blob parts[STORE_STRUCTURE__COUNT])
{
	enum store_error err;
	size_t total = 0;

	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++) {
		if ((parts[p].len > 0 && parts[p].data == NULL) ||
		    parts[p].len > STORE_STRUCTURE_MAX - total)
			return STORE_ERR_INVALID;
		total += parts[p].len;
	}
	store_enter(acct);
	err = store_structure_put_locked(acct, ref, uid, parts);
	store_leave(acct);
	return err;
}
