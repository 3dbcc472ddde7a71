/* message-copy - COPY and MOVE (RFC 6851): messages enter another mailbox
 * sharing their files, with flags, keywords and internal date; a move
 * also expunges the sources, in the same transaction, so that no crash
 * and no other session ever sees a moved message in both mailboxes or in
 * neither. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store-private.h"

struct uid_at {
	uint32_t uid;
	size_t at;
};

static int uid_at_cmp(const void *a, const void *b)
{
	const struct uid_at *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Which entries of uids repeat an earlier one (a set such as "1,1"): a
 * UID is copied once, else a move would leave two copies of it. */
static bool *repeats(const uint32_t *uids, size_t n)
{
	struct uid_at *sorted = malloc((n + 1) * sizeof(*sorted));
	bool *rep = calloc(n + 1, sizeof(*rep));

	if (sorted == NULL || rep == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		sorted[i] = (struct uid_at){ uids[i], i };
	qsort(sorted, n, sizeof(*sorted), uid_at_cmp);
	for (size_t i = 1; i < n; i++)
		if (sorted[i].uid == sorted[i - 1].uid)
			rep[sorted[i].at] = true;
	free(sorted);
	return rep;
}

/* Inside a transaction: copy the rows of `uids` from src to dst, one
 * MODSEQ for all of them in dst (*modseq_r, 0 when nothing was copied).
 * new_uids (n entries) gets each new UID, 0 for a UID src does not
 * hold or one repeated. */
static enum store_error copy_rows(struct store_account *acct, const struct store_box *src,
				  const struct store_box *dst, const uint32_t *uids, size_t n,
				  uint32_t *new_uids, uint64_t *modseq_r)
{
	bool *skip = repeats(uids, n);
	uint64_t modseq = dst->highestmodseq + 1;
	uint32_t uidnext = dst->uidnext;
	enum store_error err = STORE_OK;
	sqlite3_stmt *ins, *upd = NULL;
	enum db_result r;

	*modseq_r = 0;
	/* The copy keeps flags, keywords, internal date and the file
	 * (RFC 9051 6.4.7); it gets a new UID and MODSEQ, not the queue id
	 * (that one stays with the delivered message). */
	ins = db_stmt(acct->db, "INSERT INTO messages(mailbox_id, uid, file_id, flags, keywords,"
			    " modseq, internal_date, size, digest) SELECT ?1, ?2, file_id, flags, keywords,"
			    " ?3, internal_date, size, digest FROM messages WHERE mailbox_id = ?4 AND uid = ?5"
			    " RETURNING keywords");
	if (ins == NULL)
		return STORE_ERR_IO;
	for (size_t i = 0; i < n; i++) {
		char *kw = NULL;
		bool copied;

		new_uids[i] = 0;
		if (skip[i])
			continue;
		if (uidnext >= UINT32_MAX) {
			log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
				  "msg=\"UIDs exhausted\" user=%s mailbox=%s", acct->address, dst->name);
			err = STORE_ERR_TOO_BIG;
			goto out;
		}
		sqlite3_bind_int64(ins, 1, dst->id);
		sqlite3_bind_int64(ins, 2, uidnext);
		sqlite3_bind_int64(ins, 3, (int64_t)modseq);
		sqlite3_bind_int64(ins, 4, src->id);
		sqlite3_bind_int64(ins, 5, uids[i]);
		r = db_step(acct->db, ins, "copy");
		if ((copied = r == DB_ROW) && sqlite3_column_type(ins, 0) != SQLITE_NULL &&
		    (kw = strdup((const char *)sqlite3_column_text(ins, 0))) == NULL)
			abort();
		while (r == DB_ROW)
			r = db_step(acct->db, ins, "copy");
		sqlite3_reset(ins);
		if (r == DB_OK && copied)
			err = store_keywords_record(acct, dst->id, kw);
		free(kw);
		if (r != DB_OK)
			err = store_db_result(r);
		if (err != STORE_OK)
			goto out;
		if (copied)   /* else: no such UID, skipped */
			new_uids[i] = uidnext++;
	}
	if (uidnext == dst->uidnext)
		goto out;
	upd = db_stmt(acct->db, "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?");
	if (upd == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(upd, 1, uidnext);
	sqlite3_bind_int64(upd, 2, (int64_t)modseq);
	sqlite3_bind_int64(upd, 3, dst->id);
	if ((err = store_db_result(db_step(acct->db, upd, "update uidnext"))) == STORE_OK)
		*modseq_r = modseq;
out:
	db_stmt_done(acct->db, ins);
	db_stmt_done(acct->db, upd);
	free(skip);
	return err;
}

static enum store_error store_transfer_locked(struct store_account *acct,
					      const struct store_mailbox_ref *ref,
					      const uint32_t *uids, size_t n, const char *dest,
					      uint32_t *new_uids, bool move)
{
	uint64_t dst_modseq = 0, src_modseq = 0;
	struct store_box src, dst;
	uint32_t *moved = NULL;
	char **unused = NULL;
	enum store_error err;
	size_t n_moved = 0;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &src)) != STORE_OK ||
	    (err = store_box_by_name(acct, dest, &dst)) != STORE_OK ||
	    (err = copy_rows(acct, &src, &dst, uids, n, new_uids, &dst_modseq)) != STORE_OK)
		goto out;
	if (move) {
		/* RFC 6851 3.3: the sources are expunged, as by EXPUNGE;
		 * the files stay, shared with the copies. */
		moved = calloc(n + 1, sizeof(*moved));
		if (moved == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			if (new_uids[i] != 0)
				moved[n_moved++] = uids[i];
		err = store_rows_expunge(acct, &src, moved, n_moved, &src_modseq, NULL, &unused);
		if (err != STORE_OK)
			goto out;
	}
	if ((err = store_db_result(db_commit(acct->db))) != STORE_OK)
		goto out;
	store_files_unlink(acct, unused);
	unused = NULL;
	if (dst_modseq != 0)
		store_notify(acct, &dst, HUB_CHANGE_APPEND, dst_modseq);
	if (src_modseq != 0)
		store_notify(acct, &src, HUB_CHANGE_EXPUNGE, src_modseq);
out:
	db_rollback(acct->db);
	store_files_unlink(NULL, unused);
	free(moved);
	return err;
}

static enum store_error store_transfer(struct store_account *acct,
				       const struct store_mailbox_ref *ref,
				       const uint32_t *uids, size_t n, const char *dest,
				       uint32_t *new_uids_r, bool move)
{
	uint32_t *new_uids = new_uids_r;
	enum store_error err;

	if (uids == NULL && n != 0)
		return STORE_ERR_INVALID;
	if (new_uids == NULL && (new_uids = calloc(n + 1, sizeof(*new_uids))) == NULL)
		abort();
	store_enter(acct);
	err = store_transfer_locked(acct, ref, uids, n, dest, new_uids, move);
	store_leave(acct);
	if (err != STORE_OK && new_uids_r != NULL)
		memset(new_uids_r, 0, n * sizeof(*new_uids_r));
	if (new_uids != new_uids_r)
		free(new_uids);
	return err;
}

enum store_error store_copy(struct store_account *acct, const struct store_mailbox_ref *ref,
			    const uint32_t *uids, size_t n, const char *dest,
			    uint32_t *new_uids_r)
{
	return store_transfer(acct, ref, uids, n, dest, new_uids_r, false);
}

enum store_error store_move(struct store_account *acct, const struct store_mailbox_ref *ref,
			    const uint32_t *uids, size_t n, const char *dest,
			    uint32_t *new_uids_r)
{
	return store_transfer(acct, ref, uids, n, dest, new_uids_r, true);
}
