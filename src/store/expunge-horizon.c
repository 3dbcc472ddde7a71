/* expunge-horizon - how long expunged UIDs are remembered for QRESYNC
 * (RFC 7162 3.2.5.1): the rows of `expunged` older than the account's
 * horizon are pruned when the mailbox has an expunge, and the mailbox
 * keeps the highest MODSEQ pruned, so that store_expunged_since can tell
 * a complete answer from one the horizon has cut. */
#include "store/store-private.h"

static unsigned horizon_of(const struct store_account *acct)
{
	return acct->root != NULL ? store_root_expunge_horizon(acct->root)
				  : STORE_EXPUNGE_HORIZON_DEFAULT;
}

/* Inside a transaction: the highest MODSEQ of the run of rows, from the
 * mailbox's oldest by MODSEQ, expunged before the horizon (0: none).
 * Reads those rows and the first younger one: the common case (nothing
 * to prune) is one row of the MODSEQ index. MODSEQ and time grow
 * together; a row younger than an older MODSEQ's (a clock stepped back)
 * only delays the prune. */
static enum store_error prune_point(struct store_account *acct, int64_t box_id, unsigned horizon,
				    uint64_t *modseq_r)
{
	sqlite3_stmt *stmt = db_prepare(acct->db, "SELECT modseq, expunged_at <= " STORE_SQL_NOW
					" - ?2 FROM expunged INDEXED BY expunged_modseq"
					" WHERE mailbox_id = ?1 ORDER BY modseq");
	enum db_result r;

	*modseq_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	sqlite3_bind_int64(stmt, 2, horizon);
	while ((r = db_step(acct->db, stmt, "find old expunges")) == DB_ROW &&
	       sqlite3_column_int(stmt, 1) != 0)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return r == DB_ROW || r == DB_OK ? STORE_OK : store_db_result(r);
}

enum store_error store_expunged_prune(struct store_account *acct, int64_t box_id)
{
	unsigned horizon = horizon_of(acct);
	enum store_error err;
	uint64_t point;

	if (horizon == 0)
		return STORE_OK;
	if ((err = prune_point(acct, box_id, horizon, &point)) != STORE_OK || point == 0)
		return err;
	if ((err = store_exec_ids(acct, "DELETE FROM expunged INDEXED BY expunged_modseq"
				  " WHERE mailbox_id = ?1 AND modseq <= ?2", box_id, (int64_t)point)) != STORE_OK)
		return err;
	return store_exec_ids(acct, "UPDATE mailboxes SET pruned_modseq = max(pruned_modseq, ?2)"
			      " WHERE id = ?1", box_id, (int64_t)point);
}

enum store_error store_expunged_pruned_modseq(struct store_account *acct, int64_t box_id,
					      uint64_t *modseq_r)
{
	sqlite3_stmt *stmt = db_prepare(acct->db, "SELECT pruned_modseq FROM mailboxes WHERE id = ?");
	enum db_result r;

	*modseq_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	if ((r = db_step(acct->db, stmt, "read pruned modseq")) == DB_ROW)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (r != DB_ROW)
		return r == DB_OK ? STORE_ERR_GONE : store_db_result(r);
	return STORE_OK;
}
