/* collect - stepping a prepared statement to its end into one array:
 * messages, UIDs or names, the shapes the store's list calls return. */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

/* Room for one more row of `size` bytes. */
static void *collect_grow(void *rows, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return rows;
	*cap = *cap == 0 ? 16 : *cap * 2;
	rows = realloc(rows, *cap * size);
	if (rows == NULL)
		abort();
	return rows;
}

enum store_error store_messages_collect(struct store_account *acct, sqlite3_stmt *stmt,
				       const char *what, struct store_message **msgs_r, size_t *n_r)
{
	struct store_message *msgs = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	*msgs_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	while ((r = db_step(acct->db, stmt, what)) == DB_ROW) {
		msgs = collect_grow(msgs, n, &cap, sizeof(*msgs));
		store_message_from_row(stmt, &msgs[n++]);
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK) {
		store_messages_free(msgs, n);
		return store_db_result(r);
	}
	*msgs_r = msgs;
	*n_r = n;
	return STORE_OK;
}

enum store_error store_uids_collect(struct store_account *acct, sqlite3_stmt *stmt,
				    const char *what, uint32_t **uids_r, size_t *n_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	*uids_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	while ((r = db_step(acct->db, stmt, what)) == DB_ROW) {
		uids = collect_grow(uids, n, &cap, sizeof(*uids));
		uids[n++] = (uint32_t)sqlite3_column_int64(stmt, 0);
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK) {
		free(uids);
		return store_db_result(r);
	}
	*uids_r = uids;
	*n_r = n;
	return STORE_OK;
}

enum store_error store_names_collect(struct store_account *acct, sqlite3_stmt *stmt,
				     const char *what, char ***names_r, size_t *n_r)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	*names_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	while ((r = db_step(acct->db, stmt, what)) == DB_ROW) {
		names = collect_grow(names, n, &cap, sizeof(*names));
		if ((names[n++] = strdup((const char *)sqlite3_column_text(stmt, 0))) == NULL)
			abort();
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK) {
		store_names_free(names, n);
		return store_db_result(r);
	}
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}
