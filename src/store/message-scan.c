/* message-scan - many messages read in turn (store_scan_*, store.h): the
 * files and cached structures of a batch found in one read transaction
 * with one statement, so that reading a message costs its open and its
 * reads, not two index look-ups. */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

struct scan_entry {
	char *name;        /* its file in msg/; NULL: no such message */
	uint64_t size;
	void *structure;   /* the cached blob, or NULL */
	size_t structure_len;
};

struct store_scan {
	struct store_account *acct;
	struct store_mailbox_ref ref;
	const uint32_t *uids;   /* the caller's */
	size_t n;
	struct scan_entry entries[];
};

static enum store_error scan_read(struct store_account *acct, const struct store_mailbox_ref *ref,
				  const uint32_t *uids, struct store_scan *scan)
{
	struct store_box box;
	sqlite3_stmt *stmt;
	enum store_error err;

	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "SELECT f.name, m.size, s.data FROM messages m"
			  " JOIN files f ON f.id = m.file_id"
			  " LEFT JOIN structures s ON s.file_id = m.file_id"
			  " WHERE m.mailbox_id = ? AND m.uid = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	for (size_t i = 0; i < scan->n && err == STORE_OK; i++) {
		struct scan_entry *e = &scan->entries[i];
		enum db_result r;

		sqlite3_bind_int64(stmt, 1, box.id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		r = db_step(acct->db, stmt, "scan message");
		if (r == DB_ROW) {
			size_t len = (size_t)sqlite3_column_bytes(stmt, 2);

			e->name = strdup((const char *)sqlite3_column_text(stmt, 0));
			if (e->name == NULL)
				abort();
			e->size = (uint64_t)sqlite3_column_int64(stmt, 1);
			if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
				e->structure = malloc(len > 0 ? len : 1);
				if (e->structure == NULL)
					abort();
				memcpy(e->structure, sqlite3_column_blob(stmt, 2), len);
				e->structure_len = len;
			}
		} else if (r != DB_OK) {
			err = store_db_result(r);
		}
		sqlite3_reset(stmt);
	}
	db_stmt_done(acct->db, stmt);
	return err;
}

enum store_error store_scan_open(struct store_account *acct, const struct store_mailbox_ref *ref,
				 const uint32_t *uids, size_t n, struct store_scan **scan_r)
{
	struct store_scan *scan;
	enum store_error err;

	*scan_r = NULL;
	if (n > STORE_SCAN_MAX || (n > 0 && uids == NULL))
		return STORE_ERR_INVALID;
	scan = calloc(1, sizeof(*scan) + n * sizeof(scan->entries[0]));
	if (scan == NULL)
		abort();
	scan->acct = acct;
	scan->ref = *ref;
	scan->uids = uids;
	scan->n = n;
	store_enter(acct);
	/* one snapshot for the whole batch, and one lock taken */
	err = store_db_result(db_begin_read(acct->db));
	if (err == STORE_OK) {
		err = scan_read(acct, ref, uids, scan);
		db_rollback(acct->db);
	}
	store_leave(acct);
	if (err != STORE_OK) {
		store_scan_free(&scan);
		return err;
	}
	*scan_r = scan;
	return STORE_OK;
}

const void *store_scan_structure(const struct store_scan *scan, size_t i, size_t *len_r)
{
	*len_r = i < scan->n ? scan->entries[i].structure_len : 0;
	return i < scan->n ? scan->entries[i].structure : NULL;
}

enum store_error store_scan_reader(const struct store_scan *scan, size_t i,
				   struct store_reader **reader_r)
{
	enum store_error err;

	*reader_r = NULL;
	if (i >= scan->n || scan->entries[i].name == NULL)
		return STORE_ERR_NOT_FOUND;
	store_check_off_loop(__func__);
	err = store_reader_open_file(scan->acct, scan->entries[i].name, scan->entries[i].size,
				     reader_r);
	/* expunged since the scan, or lost: the index tells which */
	if (err == STORE_ERR_NOT_FOUND)
		err = store_reader_open(scan->acct, &scan->ref, scan->uids[i], reader_r);
	return err;
}

void store_scan_free(struct store_scan **scanp)
{
	struct store_scan *scan = *scanp;

	if (scan == NULL)
		return;
	for (size_t i = 0; i < scan->n; i++) {
		free(scan->entries[i].name);
		free(scan->entries[i].structure);
	}
	free(scan);
	*scanp = NULL;
}
