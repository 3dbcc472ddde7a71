/* mailbox-change - deleting and renaming mailboxes (RFC 9051 6.3.5,
 * 6.3.6), each in one transaction. Children are the names below a
 * mailbox ("a/x" of "a"): a range of the name index, "a/" < name < "a0"
 * ('0' follows '/'), never a scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

#define CHILDREN_WHERE "name > ?1 || '/' AND name < ?1 || '0'"

/* Inside a transaction: whether a mailbox is named NAME/... */
static enum store_error has_children(struct store_account *acct, const char *name, bool *yes_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT 1 FROM mailboxes WHERE " CHILDREN_WHERE
					" LIMIT 1");
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "find children");
	db_stmt_done(acct->db, stmt);
	*yes_r = r == DB_ROW;
	return r == DB_ROW ? STORE_OK : store_db_result(r);
}

/* Inside a transaction: the ids of the files the mailbox's messages use. */
static enum store_error box_files(struct store_account *acct, int64_t box_id,
				  int64_t **ids_r, size_t *n_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT DISTINCT file_id FROM messages"
					" WHERE mailbox_id = ?");
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	*ids_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	while ((r = db_step(acct->db, stmt, "list files")) == DB_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			ids = realloc(ids, cap * sizeof(*ids));
			if (ids == NULL)
				abort();
		}
		ids[n++] = sqlite3_column_int64(stmt, 0);
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK) {
		free(ids);
		return store_db_result(r);
	}
	*ids_r = ids;
	*n_r = n;
	return STORE_OK;
}

enum store_error store_exec_ids(struct store_account *acct, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, sql);
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, a);
	sqlite3_bind_int64(stmt, 2, b);
	r = db_step(acct->db, stmt, "change mailbox");
	db_stmt_done(acct->db, stmt);
	return store_db_result(r);
}

static enum store_error store_mailbox_delete_locked(struct store_account *acct, const char *name)
{
	int64_t *files = NULL;
	char **unused = NULL;
	struct store_box box;
	enum store_error err;
	size_t n_files = 0;
	bool children;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_name(acct, name, &box)) != STORE_OK)
		goto out;
	/* RFC 9051 6.3.5: deleting INBOX is an error. A mailbox with
	 * children is refused ([HASCHILDREN]) rather than kept as
	 * \Noselect: the store has no mailbox without messages' rights. */
	if (strcmp(box.name, "INBOX") == 0) {
		err = STORE_ERR_INVALID;
		goto out;
	}
	if ((err = has_children(acct, box.name, &children)) != STORE_OK)
		goto out;
	if (children) {
		err = STORE_ERR_HAS_CHILDREN;
		goto out;
	}
	/* The messages go without expunged rows (the mailbox's go too, by
	 * trigger, with its keywords); the files nobody else uses after. */
	if ((err = box_files(acct, box.id, &files, &n_files)) != STORE_OK ||
	    (err = store_exec_ids(acct, "DELETE FROM messages WHERE mailbox_id = ?1", box.id, 0)) != STORE_OK ||
	    (err = store_exec_ids(acct, "DELETE FROM mailboxes WHERE id = ?1", box.id, 0)) != STORE_OK ||
	    (err = store_files_drop_unused(acct, files, n_files, &unused)) != STORE_OK ||
	    (err = store_db_result(db_commit(acct->db))) != STORE_OK)
		goto out;
	store_files_unlink(acct, unused);
	unused = NULL;
	store_notify(acct, &box, HUB_CHANGE_MAILBOX, box.highestmodseq);
out:
	db_rollback(acct->db);
	store_files_unlink(NULL, unused);
	free(files);
	return err;
}

enum store_error store_mailbox_delete(struct store_account *acct, const char *name)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_delete_locked(acct, name);
	store_leave(acct);
	return err;
}

/* A mailbox the rename moves: its row and its name afterwards. */
struct rename_item {
	struct store_box box;
	char new_name[STORE_MAILBOX_NAME_MAX + 1];
};

/* Inside a transaction: the mailbox `old` and its children, each with its
 * new name (old's prefix replaced by `new`), checked: valid, not taken. */
static enum store_error rename_plan(struct store_account *acct, const struct store_box *old,
				    const char *new, struct rename_item **items_r, size_t *n_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, "SELECT id FROM mailboxes WHERE name = ?1 OR "
					CHILDREN_WHERE " ORDER BY name");
	size_t old_len = strlen(old->name), n = 0, cap = 0;
	struct rename_item *items = NULL;
	enum store_error err = STORE_OK;
	enum db_result r;

	*items_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, old->name, -1, SQLITE_STATIC);
	while ((r = db_step(acct->db, stmt, "list renamed")) == DB_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			items = realloc(items, cap * sizeof(*items));
			if (items == NULL)
				abort();
		}
		items[n++].box.id = sqlite3_column_int64(stmt, 0);
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		err = store_db_result(r);
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		struct store_box taken;
		char joined[STORE_MAILBOX_NAME_MAX + 2];
		int len;

		if ((err = store_box_by_id(acct, items[i].box.id, &items[i].box)) != STORE_OK)
			break;
		len = snprintf(joined, sizeof(joined), "%s%s", new, items[i].box.name + old_len);
		if (len < 0 || (size_t)len >= sizeof(joined) ||
		    !store_mailbox_name_canon(joined, items[i].new_name, sizeof(items[i].new_name))) {
			err = STORE_ERR_INVALID;
			break;
		}
		err = store_box_by_name(acct, items[i].new_name, &taken);
		err = err == STORE_OK ? STORE_ERR_EXISTS : err == STORE_ERR_NOT_FOUND ? STORE_OK : err;
	}
	if (err != STORE_OK) {
		free(items);
		return err;
	}
	*items_r = items;
	*n_r = n;
	return STORE_OK;
}

/* Inside a transaction: rename a mailbox other than INBOX with its
 * children; ids and UIDVALIDITY stay, so refs follow the mailboxes. */
static enum store_error rename_tree(struct store_account *acct, const struct store_box *old,
				    const char *new)
{
	struct rename_item *items = NULL;
	struct store_box sup;
	sqlite3_stmt *upd = NULL;
	enum store_error err;
	size_t n;

	/* "a" to "a/b" would make "a" a child of itself. */
	if (strncmp(new, old->name, strlen(old->name)) == 0 && new[strlen(old->name)] == '/')
		return STORE_ERR_INVALID;
	if ((err = rename_plan(acct, old, new, &items, &n)) != STORE_OK)
		return err;
	upd = db_stmt(acct->db, "UPDATE mailboxes SET name = ? WHERE id = ?");
	if (upd == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	/* No new name is an old one (checked), so no step meets the UNIQUE
	 * name of a row not yet renamed. */
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		sqlite3_bind_text(upd, 1, items[i].new_name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(upd, 2, items[i].box.id);
		err = store_db_result(db_step(acct->db, upd, "rename mailbox"));
		sqlite3_reset(upd);
	}
	if (err != STORE_OK)
		goto out;
	/* The missing superiors of the new name, as CREATE makes them. */
	if (strchr(new, '/') != NULL) {
		char parent[STORE_MAILBOX_NAME_MAX + 1];

		snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(new, '/') - new), new);
		err = store_box_by_name(acct, parent, &sup);
		if (err == STORE_ERR_NOT_FOUND)
			err = store_box_create(acct, parent, STORE_SPECIAL_NONE, true, &sup);
		if (err != STORE_OK)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(items[i].box.name, sizeof(items[i].box.name), "%s", items[i].new_name);
		store_notify(acct, &items[i].box, HUB_CHANGE_MAILBOX, items[i].box.highestmodseq);
	}
out:
	db_stmt_done(acct->db, upd);
	free(items);
	return err;
}

/* Inside a transaction: RFC 9051 6.3.6, RENAME INBOX: every message of
 * INBOX moves to a new mailbox `new` (new UIDVALIDITY, UIDs from 1 in
 * INBOX's order), INBOX stays, empty, with its id and UIDVALIDITY (its
 * UIDs are expunged there), and its children stay where they are. */
static enum store_error rename_inbox(struct store_account *acct, struct store_box *inbox,
				     const char *new)
{
	struct store_box dst;
	enum store_error err;
	uint64_t modseq = 0;
	char **unused = NULL;
	uint32_t *uids = NULL;
	sqlite3_stmt *stmt;
	size_t n = 0;

	if ((err = store_box_create(acct, new, STORE_SPECIAL_NONE, true, &dst)) != STORE_OK)
		return err;
	/* The copies first (row_number() gives the new UIDs, keeping the
	 * order), all with MODSEQ 2 in a mailbox made with 1. */
	if ((err = store_exec_ids(acct, "INSERT INTO messages(mailbox_id, uid, file_id, flags, keywords,"
			    " modseq, internal_date, size, digest, queue_id)"
			    " SELECT ?2, row_number() OVER (ORDER BY uid), file_id, flags, keywords,"
			    " 2, internal_date, size, digest, queue_id FROM messages"
			    " WHERE mailbox_id = ?1 ORDER BY uid", inbox->id, dst.id)) != STORE_OK ||
	    (err = store_exec_ids(acct, "UPDATE mailboxes SET uidnext = messages + 1, recent_uid = messages + 1,"
			    " highestmodseq = 2 WHERE id = ?1", dst.id, 0)) != STORE_OK ||
	    (err = store_exec_ids(acct, "INSERT INTO mailbox_keywords(mailbox_id, keyword)"
			    " SELECT ?2, keyword FROM mailbox_keywords WHERE mailbox_id = ?1",
			    inbox->id, dst.id)) != STORE_OK)
		return err;
	/* Then INBOX's rows go as expunged, with one MODSEQ. */
	stmt = db_stmt(acct->db, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid");
	if (stmt != NULL)
		sqlite3_bind_int64(stmt, 1, inbox->id);
	if ((err = store_uids_collect(acct, stmt, "list inbox", &uids, &n)) != STORE_OK)
		return err;
	err = store_rows_expunge(acct, inbox, uids, n, &modseq, NULL, &unused);
	store_files_unlink(NULL, unused);   /* every file is the new mailbox's now */
	free(uids);
	if (err == STORE_OK && modseq != 0) {
		store_notify(acct, inbox, HUB_CHANGE_EXPUNGE, modseq);
		dst.highestmodseq = 2;
		store_notify(acct, &dst, HUB_CHANGE_APPEND, 2);
	}
	return err;
}

static enum store_error store_mailbox_rename_locked(struct store_account *acct, const char *old_name,
						    const char *new_name)
{
	char new[STORE_MAILBOX_NAME_MAX + 1];
	size_t mark = acct->n_pending;
	struct store_box old, taken;
	enum store_error err;

	if (!store_mailbox_name_canon(new_name, new, sizeof(new)))
		return STORE_ERR_INVALID;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_name(acct, old_name, &old)) != STORE_OK)
		goto out;
	err = store_box_by_name(acct, new, &taken);
	if (err != STORE_ERR_NOT_FOUND) {
		err = err == STORE_OK ? STORE_ERR_EXISTS : err;
		goto out;
	}
	err = strcmp(old.name, "INBOX") == 0 ? rename_inbox(acct, &old, new) :
	      rename_tree(acct, &old, new);
	if (err == STORE_OK)
		err = store_db_result(db_commit(acct->db));
out:
	db_rollback(acct->db);
	if (err != STORE_OK)
		store_notify_rollback(acct, mark);
	return err;
}

enum store_error store_mailbox_rename(struct store_account *acct, const char *old_name,
				      const char *new_name)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_rename_locked(acct, old_name, new_name);
	store_leave(acct);
	return err;
}
