/* mailbox-keywords - the keywords ever used in each mailbox (index.db's
 * mailbox_keywords), for IMAP's FLAGS and PERMANENTFLAGS: recorded when a
 * message enters a mailbox with keywords or a flag change adds some, and
 * bounded per mailbox. Keywords compare case-insensitively (RFC 9051
 * 2.3.2), as the table's NOCASE column does. */
#include <string.h>

#include "store/store-private.h"

/* Inside a transaction: how many keywords the mailbox has. */
static enum store_error keywords_count(struct store_account *acct, int64_t box_id, int64_t *n_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT count(*) FROM mailbox_keywords"
					" WHERE mailbox_id = ?");
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	r = db_step(acct->db, stmt, "count keywords");
	if (r == DB_ROW)
		*n_r = sqlite3_column_int64(stmt, 0);
	db_stmt_done(acct->db, stmt);
	return r == DB_ROW ? STORE_OK : store_db_result(r);
}

enum store_error store_keywords_record(struct store_account *acct, int64_t box_id,
				       const char *keywords)
{
	enum store_error err = STORE_OK;
	sqlite3_stmt *stmt;
	bool added = false;
	int64_t n = 0;

	if (keywords == NULL)
		return STORE_OK;
	stmt = db_stmt(acct->db, "INSERT OR IGNORE INTO mailbox_keywords(mailbox_id, keyword)"
			  " VALUES(?, ?)");
	if (stmt == NULL)
		return STORE_ERR_IO;
	for (const char *p = keywords; *p != '\0' && err == STORE_OK;) {
		size_t len = strcspn(p, " ");

		sqlite3_bind_int64(stmt, 1, box_id);
		sqlite3_bind_text(stmt, 2, p, (int)len, SQLITE_STATIC);
		err = store_db_result(db_step(acct->db, stmt, "record keyword"));
		added = added || db_changes(acct->db) > 0;
		sqlite3_reset(stmt);
		p += len;
		while (*p == ' ')
			p++;
	}
	db_stmt_done(acct->db, stmt);
	/* Only a new keyword can take the mailbox past the bound. */
	if (err == STORE_OK && added && (err = keywords_count(acct, box_id, &n)) == STORE_OK &&
	    n > STORE_MAILBOX_KEYWORDS_MAX)
		err = STORE_ERR_INVALID;
	return err;
}

static enum store_error store_mailbox_keywords_locked(struct store_account *acct,
						      const struct store_mailbox_ref *ref,
						      char ***kw_r, size_t *n_r)
{
	struct store_box box;
	sqlite3_stmt *stmt;
	enum store_error err;

	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ?"
			  " ORDER BY keyword");
	if (stmt != NULL)
		sqlite3_bind_int64(stmt, 1, box.id);
	return store_names_collect(acct, stmt, "list keywords", kw_r, n_r);
}

enum store_error store_mailbox_keywords(struct store_account *acct,
					const struct store_mailbox_ref *ref,
					char ***kw_r, size_t *n_r)
{
	enum store_error err;

	*kw_r = NULL;
	*n_r = 0;
	store_enter(acct);
	err = store_mailbox_keywords_locked(acct, ref, kw_r, n_r);
	store_leave(acct);
	return err;
}
