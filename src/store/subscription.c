/* subscription - the names a user subscribed to (RFC 9051 6.3.7, 6.3.8),
 * in their own table of index.db: a name need not exist, and a
 * subscription outlives the mailbox it named (DELETE keeps it, RENAME does
 * not move it, as in Dovecot). */

#include "store/store-private.h"

static enum store_error store_subscribe_locked(struct store_account *acct, const char *name, bool on)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	sqlite3_stmt *stmt;
	enum db_result r;

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	stmt = db_stmt(acct->db, on ? "INSERT OR IGNORE INTO subscriptions(name) VALUES(?)" :
			  "DELETE FROM subscriptions WHERE name = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, on ? "subscribe" : "unsubscribe");
	db_stmt_done(acct->db, stmt);
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

enum store_error store_subscriptions(struct store_account *acct, char ***names_r, size_t *n_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_names_collect(acct, db_stmt(acct->db, "SELECT name FROM subscriptions"
						   " ORDER BY name"), "list subscriptions", names_r, n_r);
	store_leave(acct);
	return err;
}
