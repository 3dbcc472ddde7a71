/* message-view - reading a selected mailbox the way IMAP does, without
 * loading it whole: the compact UID/flags view for SELECT, messages by
 * UID in batches (FETCH, SEARCH), what changed and what was expunged
 * since a MODSEQ (through the MODSEQ indexes; QRESYNC), and the \Recent
 * watermark. Reads of several
 * statements run in one read transaction, so that another process's
 * commit (tern import) never shows half. */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

/* A read transaction; db_rollback ends it. */
static enum store_error read_begin(struct store_account *acct)
{
	return store_db_result(db_begin_read(acct->db));
}

uint8_t store_view_flags(unsigned flags, const char *keywords)
{
	return (uint8_t)((flags & 0x1f) |
			 (keywords != NULL && keywords[0] != '\0' ? STORE_VIEW_KEYWORDS : 0));
}

/* Read the whole view of box into *view (empty). */
static enum store_error view_read(struct store_account *acct, const struct store_box *box,
				  struct store_view *view)
{
	sqlite3_stmt *stmt;
	size_t cap, n = 0;
	enum db_result r;

	/* The maintained count sizes both arrays: one malloc each. */
	cap = box->messages;
	if (cap > 0 && ((view->uids = malloc(cap * sizeof(*view->uids))) == NULL ||
			(view->flags = malloc(cap)) == NULL))
		abort();
	stmt = db_stmt(acct->db, "SELECT uid, flags, keywords IS NOT NULL AND keywords != ''"
			  " FROM messages WHERE mailbox_id = ? ORDER BY uid");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box->id);
	while ((r = db_step(acct->db, stmt, "load view")) == DB_ROW) {
		if (n == cap) {   /* only if the count were wrong */
			cap = cap == 0 ? 64 : cap * 2;
			view->uids = realloc(view->uids, cap * sizeof(*view->uids));
			view->flags = realloc(view->flags, cap);
			if (view->uids == NULL || view->flags == NULL)
				abort();
		}
		view->uids[n] = (uint32_t)sqlite3_column_int64(stmt, 0);
		view->flags[n++] = (uint8_t)((sqlite3_column_int(stmt, 1) & 0x1f) |
					     (sqlite3_column_int(stmt, 2) != 0 ? STORE_VIEW_KEYWORDS : 0));
	}
	db_stmt_done(acct->db, stmt);
	view->n = (uint32_t)n;
	return store_db_result(r);
}

/* The statement of a changes query: the mailbox and the MODSEQ bound.
 * INDEXED BY: the primary key would give UID order without a sort, at
 * the price of reading every row; the MODSEQ indexes read only the
 * changed ones. */
static sqlite3_stmt *since_prepare(struct store_account *acct, const char *sql, int64_t box_id,
				   uint64_t modseq)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, sql);

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, box_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)modseq);
	}
	return stmt;
}

/* Inside a read transaction: the UIDs expunged from box with MODSEQ >
 * modseq, ascending, of the rows the horizon kept. */
static enum store_error expunged_read(struct store_account *acct, const struct store_box *box,
				      uint64_t modseq, uint32_t **uids_r, size_t *n_r)
{
	return store_uids_collect(acct, since_prepare(acct, "SELECT uid FROM expunged"
			" INDEXED BY expunged_modseq WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
			box->id, modseq), "expunged messages", uids_r, n_r);
}

/* Inside a read transaction: what changed in box since modseq (see
 * store_changes_since). */
static enum store_error changes_read(struct store_account *acct, const struct store_box *box,
				     uint64_t modseq, struct store_message **changed_r,
				     size_t *n_changed_r, uint32_t **expunged_r, size_t *n_expunged_r)
{
	enum store_error err;

	*expunged_r = NULL;
	*n_expunged_r = 0;
	err = store_messages_collect(acct, since_prepare(acct, "SELECT " STORE_MESSAGE_COLUMNS
			" FROM messages INDEXED BY messages_modseq WHERE mailbox_id = ? AND modseq > ?"
			" ORDER BY uid", box->id, modseq), "changed messages", changed_r, n_changed_r);
	if (err == STORE_OK)
		err = expunged_read(acct, box, modseq, expunged_r, n_expunged_r);
	if (err != STORE_OK) {
		store_messages_free(*changed_r, *n_changed_r);
		*changed_r = NULL;
		*n_changed_r = 0;
	}
	return err;
}

/* The cached view brought up to date with what changed since it was
 * made, all three lists ascending by UID: one merge into new arrays. */
static void view_merge(struct store_view *v, const struct store_message *changed, size_t n_changed,
		       const uint32_t *expunged, size_t n_expunged)
{
	size_t cap = v->n + n_changed, i = 0, j = 0, k = 0, n = 0;
	uint32_t *uids = malloc((cap > 0 ? cap : 1) * sizeof(*uids));
	uint8_t *flags = malloc(cap > 0 ? cap : 1);

	if (uids == NULL || flags == NULL)
		abort();
	while (i < v->n || j < n_changed) {
		bool from_changed = j < n_changed && (i == v->n || changed[j].uid <= v->uids[i]);
		uint32_t uid = from_changed ? changed[j].uid : v->uids[i];
		uint8_t f = from_changed ? store_view_flags(changed[j].flags, changed[j].keywords)
					 : v->flags[i];

		if (from_changed && i < v->n && v->uids[i] == uid)
			i++;     /* changed flags of a message of the view */
		if (from_changed)
			j++;
		else
			i++;
		while (k < n_expunged && expunged[k] < uid)
			k++;
		if (k < n_expunged && expunged[k] == uid)
			continue;
		uids[n] = uid;
		flags[n++] = f;
	}
	free(v->uids);
	free(v->flags);
	v->uids = uids;
	v->flags = flags;
	v->n = (uint32_t)n;
}

/* The handle's view of box (store_account.views), made or brought up to
 * date inside the caller's read transaction: NULL on a read error. */
static struct store_view_cached *view_cached(struct store_account *acct, const struct store_box *box)
{
	struct store_view_cached *c = NULL, *oldest = &acct->views[0];
	struct store_message *changed = NULL;
	uint32_t *expunged = NULL;
	size_t n_changed = 0, n_expunged = 0;
	enum store_error err = STORE_OK;

	for (size_t i = 0; i < STORE_VIEWS_CACHED && c == NULL; i++) {
		if (acct->views[i].box_id == box->id && acct->views[i].view.uidvalidity == box->uidvalidity)
			c = &acct->views[i];
		else if (acct->views[i].used < oldest->used)
			oldest = &acct->views[i];
	}
	if (c != NULL && c->view.highestmodseq != box->highestmodseq) {
		err = changes_read(acct, box, c->view.highestmodseq, &changed, &n_changed, &expunged,
				   &n_expunged);
		if (err == STORE_OK)
			view_merge(&c->view, changed, n_changed, expunged, n_expunged);
		store_messages_free(changed, n_changed);
		free(expunged);
	}
	/* The maintained count says whether the view saw every change (a
	 * change that moved no MODSEQ, or a merge that missed one: read
	 * again). */
	if (c != NULL && (err != STORE_OK || c->view.n != box->messages)) {
		store_view_free(&c->view);
		c->box_id = 0;
		c = NULL;
	}
	if (err != STORE_OK)
		return NULL;
	if (c == NULL) {
		c = oldest;
		store_view_free(&c->view);
		c->box_id = 0;
		if (view_read(acct, box, &c->view) != STORE_OK) {
			store_view_free(&c->view);
			return NULL;
		}
		c->box_id = box->id;
	}
	c->view.uidvalidity = box->uidvalidity;
	c->view.uidnext = box->uidnext;
	c->view.highestmodseq = box->highestmodseq;
	c->used = ++acct->views_clock;
	return c;
}

void store_views_free(struct store_account *acct)
{
	for (size_t i = 0; i < STORE_VIEWS_CACHED; i++)
		store_view_free(&acct->views[i].view);
	memset(acct->views, 0, sizeof(acct->views));
}

/* SELECT's view: a copy of the handle's (the session changes its own as
 * it is told; the handle's follows the store). */
static enum store_error store_view_load_locked(struct store_account *acct,
					       const struct store_mailbox_ref *ref,
					       struct store_view *view)
{
	struct store_view_cached *c;
	struct store_box box;
	enum store_error err;

	if ((err = read_begin(acct)) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	if ((c = view_cached(acct, &box)) == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	*view = c->view;
	view->uids = NULL;
	view->flags = NULL;
	if (view->n > 0 && ((view->uids = malloc(view->n * sizeof(*view->uids))) == NULL ||
			    (view->flags = malloc(view->n)) == NULL))
		abort();
	if (view->n > 0) {
		memcpy(view->uids, c->view.uids, view->n * sizeof(*view->uids));
		memcpy(view->flags, c->view.flags, view->n);
	}
out:
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

bool store_uids_scan_pays(const uint32_t *uids, size_t n)
{
	if (n < 2)
		return false;
	for (size_t i = 1; i < n; i++)
		if (uids[i] <= uids[i - 1])
			return false;
	return (uint64_t)(uids[n - 1] - uids[0]) <= 4 * (uint64_t)n;
}

/* The rows of uids[0..n) (ascending) by one range scan. */
static enum store_error messages_scan(struct store_account *acct, int64_t box_id,
				      const uint32_t *uids, size_t n, struct store_message *out,
				      const struct store_batch_read *how)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, how->scan_sql);
	enum db_result r;
	size_t i = 0;

	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	sqlite3_bind_int64(stmt, 2, uids[0]);
	sqlite3_bind_int64(stmt, 3, uids[n - 1]);
	sqlite3_bind_int64(stmt, 4, how->arg);
	while ((r = db_step(acct->db, stmt, "get messages")) == DB_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);

		while (i < n && uids[i] < uid)
			i++;     /* gone: out[i] stays uid 0 */
		if (i < n && uids[i] == uid) {
			store_message_from_row(stmt, &out[i]);
			if (how->row != NULL)
				how->row(how->ctx, i, stmt);
			i++;
		}
	}
	db_stmt_done(acct->db, stmt);
	return store_db_result(r);
}

/* The rows of uids[0..n) one lookup each. */
static enum store_error messages_lookup(struct store_account *acct, int64_t box_id,
					const uint32_t *uids, size_t n, struct store_message *out,
					const struct store_batch_read *how)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, how->lookup_sql);
	enum store_error err = STORE_OK;

	if (stmt == NULL)
		return STORE_ERR_IO;
	for (size_t i = 0; i < n; i++) {
		enum db_result r;

		sqlite3_bind_int64(stmt, 1, box_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		sqlite3_bind_int64(stmt, 4, how->arg);
		r = db_step(acct->db, stmt, "get message");
		if (r == DB_ROW) {
			store_message_from_row(stmt, &out[i]);
			if (how->row != NULL)
				how->row(how->ctx, i, stmt);
		}
		sqlite3_reset(stmt);
		if (r != DB_ROW && r != DB_OK) {
			err = store_db_result(r);
			break;
		}
	}
	db_stmt_done(acct->db, stmt);
	return err;
}

enum store_error store_messages_read(struct store_account *acct, const struct store_mailbox_ref *ref,
				     const uint32_t *uids, size_t n, struct store_message *out,
				     const struct store_batch_read *how)
{
	struct store_box box;
	enum store_error err;

	if ((err = read_begin(acct)) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) == STORE_OK)
		err = store_uids_scan_pays(uids, n) ? messages_scan(acct, box.id, uids, n, out, how)
						  : messages_lookup(acct, box.id, uids, n, out, how);
	db_rollback(acct->db);
	if (err != STORE_OK) {   /* nothing for the caller to free */
		for (size_t j = 0; j < n; j++)
			free(out[j].keywords);
		memset(out, 0, n * sizeof(*out));
	}
	return err;
}

enum store_error store_messages_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				    const uint32_t *uids, size_t n, struct store_message *out)
{
	static const struct store_batch_read how = {
		.scan_sql = STORE_MESSAGES_SCAN_SQL,
		.lookup_sql = STORE_MESSAGES_LOOKUP_SQL,
	};
	enum store_error err;

	if (n > 0 && (uids == NULL || out == NULL))
		return STORE_ERR_INVALID;
	memset(out, 0, n * sizeof(*out));
	store_enter(acct);
	err = store_messages_read(acct, ref, uids, n, out, &how);
	store_leave(acct);
	return err;
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
	    (err = changes_read(acct, &box, modseq, changed_r, n_changed_r, expunged_r,
				n_expunged_r)) == STORE_OK)
		*highestmodseq_r = box.highestmodseq;
	db_rollback(acct->db);
	store_leave(acct);
	return err;
}

enum store_error store_expunged_since(struct store_account *acct, const struct store_mailbox_ref *ref,
				      uint64_t modseq, uint32_t **uids_r, size_t *n_r,
				      bool *complete_r)
{
	struct store_box box;
	enum store_error err;
	uint64_t pruned = 0;

	*uids_r = NULL;
	*n_r = 0;
	*complete_r = false;
	/* MODSEQs are 63-bit (RFC 7162 7): none is above a larger one. */
	if (modseq > INT64_MAX)
		modseq = INT64_MAX;
	store_enter(acct);
	if ((err = read_begin(acct)) == STORE_OK &&
	    (err = store_box_by_ref(acct, ref, &box)) == STORE_OK &&
	    (err = store_expunged_pruned_modseq(acct, box.id, &pruned)) == STORE_OK &&
	    (err = expunged_read(acct, &box, modseq, uids_r, n_r)) == STORE_OK)
		*complete_r = modseq >= pruned;
	db_rollback(acct->db);
	store_leave(acct);
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
	stmt = db_stmt(acct->db, "SELECT recent_uid FROM mailboxes WHERE id = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	if ((r = db_step(acct->db, stmt, "read recent")) == DB_ROW)
		recent = (uint32_t)sqlite3_column_int64(stmt, 0);
	db_stmt_done(acct->db, stmt);
	if (r != DB_ROW) {
		err = r == DB_OK ? STORE_ERR_GONE : store_db_result(r);
		goto out;
	}
	*first_recent_r = recent;
	/* Nothing arrived since the last taker: no write, no fsync (the
	 * common SELECT). */
	if (!take || recent >= box.uidnext)
		goto out;
	stmt = db_stmt(acct->db, "UPDATE mailboxes SET recent_uid = uidnext WHERE id = ?");
	if (stmt == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, box.id);
	r = db_step(acct->db, stmt, "take recent");
	db_stmt_done(acct->db, stmt);
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
