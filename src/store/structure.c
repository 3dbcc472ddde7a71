/* structure - a cache blob per message file (index.db's structures): the
 * MIME structure src/mail computes once per message, opaque bytes here.
 * Keyed by the file, so that copies share it; a trigger removes it with
 * the file's row. A FETCH batch reads its blobs in one statement. */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

/* A copy of column 0's blob (an empty one is 1 byte of room). */
static void *structure_copy(sqlite3_stmt *stmt, size_t *len_r)
{
	size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
	void *data = malloc(len > 0 ? len : 1);

	if (data == NULL)
		abort();
	if (len > 0)
		memcpy(data, sqlite3_column_blob(stmt, 0), len);
	*len_r = len;
	return data;
}

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
		*data_r = structure_copy(stmt, len_r);
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

/* The blobs of a dense batch: one range of the primary key. */
static enum store_error structures_scan(struct store_account *acct, int64_t box_id,
					const uint32_t *uids, size_t n, void **blobs, size_t *lens)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT s.data, m.uid FROM messages m"
					" JOIN structures s ON s.file_id = m.file_id"
					" WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?"
					" ORDER BY m.uid");
	enum db_result r;
	size_t i = 0;

	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	sqlite3_bind_int64(stmt, 2, uids[0]);
	sqlite3_bind_int64(stmt, 3, uids[n - 1]);
	while ((r = db_step(acct->db, stmt, "get structures")) == DB_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 1);

		while (i < n && uids[i] < uid)
			i++;
		if (i < n && uids[i] == uid) {
			blobs[i] = structure_copy(stmt, &lens[i]);
			i++;
		}
	}
	db_stmt_done(acct->db, stmt);
	return store_db_result(r);
}

static enum store_error store_structures_get_locked(struct store_account *acct,
						    const struct store_mailbox_ref *ref,
						    const uint32_t *uids, size_t n, void **blobs,
						    size_t *lens)
{
	sqlite3_stmt *stmt;
	struct store_box box;
	enum store_error err;
	enum db_result r = DB_OK;
	size_t i = 0;

	if ((err = store_db_result(db_begin_read(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	/* A dense batch (1:*) is one range of the primary key; a sparse one
	 * is looked up UID by UID with one statement. */
	if (store_uids_scan_pays(uids, n)) {
		err = structures_scan(acct, box.id, uids, n, blobs, lens);
		goto out;
	}
	stmt = db_stmt(acct->db, "SELECT s.data FROM messages m JOIN structures s"
			  " ON s.file_id = m.file_id WHERE m.mailbox_id = ? AND m.uid = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(stmt, 1, box.id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		r = db_step(acct->db, stmt, "get structure");
		if (r == DB_ROW)
			blobs[i] = structure_copy(stmt, &lens[i]);
		sqlite3_reset(stmt);
		if (r != DB_ROW && r != DB_OK)
			break;
	}
	if (r == DB_ROW)
		r = DB_OK;
	db_stmt_done(acct->db, stmt);
	err = store_db_result(r);
out:
	db_rollback(acct->db);
	return err;
}

enum store_error store_structures_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				      const uint32_t *uids, size_t n, void **blobs_r, size_t *lens_r)
{
	enum store_error err;

	memset(blobs_r, 0, n * sizeof(*blobs_r));
	memset(lens_r, 0, n * sizeof(*lens_r));
	if (n == 0)
		return STORE_OK;
	for (size_t i = 1; i < n; i++)
		if (uids[i] <= uids[i - 1])
			return STORE_ERR_INVALID;
	store_enter(acct);
	err = store_structures_get_locked(acct, ref, uids, n, blobs_r, lens_r);
	store_leave(acct);
	if (err != STORE_OK) {
		for (size_t i = 0; i < n; i++) {
			free(blobs_r[i]);
			blobs_r[i] = NULL;
		}
	}
	return err;
}

/* A cache entry need not survive a power cut (it is computed again from
 * the message), so it is committed without waiting for the disk:
 * synchronous=NORMAL for that one transaction (in WAL mode the next
 * FULL commit makes it durable with its own). A FETCH BODYSTRUCTURE of
 * 10,000 new messages then costs no fsync per message. */
static enum store_error store_structure_put_locked(struct store_account *acct,
						   const struct store_mailbox_ref *ref, uint32_t uid,
						   const void *data, size_t len)
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
	stmt = db_stmt(acct->db, "INSERT OR REPLACE INTO structures(file_id, data)"
			  " SELECT file_id, ?3 FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_blob(stmt, 3, len > 0 ? data : "", (int)len, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "put structure");
	db_stmt_done(acct->db, stmt);
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
				     uint32_t uid, const void *data, size_t len)
{
	enum store_error err;

	if ((len > 0 && data == NULL) || len > STORE_STRUCTURE_MAX)
		return STORE_ERR_INVALID;
	store_enter(acct);
	err = store_structure_put_locked(acct, ref, uid, data, len);
	store_leave(acct);
	return err;
}
