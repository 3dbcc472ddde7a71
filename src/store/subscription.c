/* subscription - the names a user subscribed to (RFC 9051 6.3.7, 6.3.8),
 * in their own table of index.db: a name need not exist, and a
 * subscription outlives the mailbox it named (DELETE keeps it, RENAME does
 * not move it, as in Dovecot). */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

static enum store_error store_subscribe_locked(struct store_account *acct, const char *name, bool on)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	sqlite3_stmt *stmt;
	enum db_result r;

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	stmt = db_prepare(acct->db, on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES(?)" :
			  "DELETE FROM subscriptions WHERE name = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, on ? "subscribe" : "unsubscribe");
	sqlite3_finalize(stmt);
	if (r != DB_OK)
		return store_db_result(r);
	return on || db_changes(acct->db) > 0 ? STORE_OK : STORE_ERR_NOT_FOUND;
}

enum store_error store_subscribe(struct store_account *acct, const char *name, bool on)
{
	enum store_error err;

	store_enter(acct);
	err = store_subscribe_locked(acct, name, on);
	store_leave(acct);
	return err;
}

static enum store_error store_subscriptions_locked(struct store_account *acct, char ***names_r,
						   size_t *n_r)
{
	sqlite3_stmt *stmt = db_prepare(acct->db, "SELECT name FROM subscriptions ORDER BY name");
	char **names = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	while ((r = db_step(acct->db, stmt, "list subscriptions")) == DB_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		if ((names[n++] = strdup((const char *)sqlite3_column_text(stmt, 0))) == NULL)
			abort();
	}
	sqlite3_finalize(stmt);
	if (r != DB_OK) {
		store_names_free(names, n);
		return store_db_result(r);
	}
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}

enum store_error store_subscriptions(struct store_account *acct, char ***names_r, size_t *n_r)
{
	enum store_error err;

	*names_r = NULL;
	*n_r = 0;
	store_enter(acct);
	err = store_subscriptions_locked(acct, names_r, n_r);
	store_leave(acct);
	return err;
}
