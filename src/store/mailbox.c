/* mailbox - an account's mailboxes: names, finding one by name or by ref,
 * listing, creation, and the per-mailbox counters (UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ). Delete and rename are in mailbox-change.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "store/store-private.h"

bool store_mailbox_name_canon(const char *name, char *out, size_t outsize)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strlen(name);
	if (len == 0 || len >= outsize || len > STORE_MAILBOX_NAME_MAX)
		return false;
	if (name[0] == '/' || name[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			return false;
		if (c == '/' && name[i + 1] == '/')
			return false;
		/* No "." or ".." level: export turns names into folder
		 * names (Maildir++ ".A.B"), and "." would become "..". */
		if (c == '.' && (i == 0 || name[i - 1] == '/')) {
			size_t dots = name[i + 1] == '.' ? 2 : 1;

			if (name[i + dots] == '\0' || name[i + dots] == '/')
				return false;
		}
	}
	memcpy(out, name, len + 1);
	/* RFC 3501 5.1: INBOX is case-insensitive, also as a parent. */
	if (strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return true;
}

void store_mailbox_free(struct store_mailbox *box)
{
	if (box == NULL)
		return;
	free(box->name);
	box->name = NULL;
}

void store_mailboxes_free(struct store_mailbox *boxes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_mailbox_free(&boxes[i]);
	free(boxes);
}

void store_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The columns mailbox_from_row reads; list adds subscribed and
 * has_children. The children test is a range of the name index: a child
 * of "a" sorts after "a/" and before "a0" ('0' follows '/'). */
#define MAILBOX_COLUMNS \
	"b.id, b.name, b.uidvalidity, b.uidnext, b.highestmodseq, b.special," \
	" b.messages, b.unseen, b.deleted, b.size," \
	" (SELECT count(*) FROM messages r WHERE r.mailbox_id = b.id AND r.uid >= b.recent_uid)"
#define MAILBOX_LIST \
	"SELECT " MAILBOX_COLUMNS "," \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = b.name)," \
	" EXISTS (SELECT 1 FROM mailboxes c WHERE c.name > b.name || '/'" \
	"  AND c.name < b.name || '0')" \
	" FROM mailboxes b ORDER BY b.name"

static void mailbox_from_row(sqlite3_stmt *stmt, struct store_mailbox *box)
{
	int special = sqlite3_column_int(stmt, 5);

	memset(box, 0, sizeof(*box));
	box->id = sqlite3_column_int64(stmt, 0);
	box->name = strdup((const char *)sqlite3_column_text(stmt, 1));
	if (box->name == NULL)
		abort();
	box->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2);
	box->uidnext = (uint32_t)sqlite3_column_int64(stmt, 3);
	box->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 4);
	box->special = special >= 0 && special < STORE_SPECIAL__COUNT ?
		(enum store_special)special : STORE_SPECIAL_NONE;
	box->messages = (uint32_t)sqlite3_column_int64(stmt, 6);
	box->unseen = (uint32_t)sqlite3_column_int64(stmt, 7);
	box->deleted = (uint32_t)sqlite3_column_int64(stmt, 8);
	box->size = (uint64_t)sqlite3_column_int64(stmt, 9);
	box->recent = (uint32_t)sqlite3_column_int64(stmt, 10);
}

static enum store_error store_mailbox_list_locked(struct store_account *acct,
						  struct store_mailbox **boxes_r, size_t *n_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, MAILBOX_LIST);
	struct store_mailbox *boxes = NULL;
	size_t n = 0, cap = 0;
	enum db_result r;

	*boxes_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	while ((r = db_step(acct->db, stmt, "list mailboxes")) == DB_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			boxes = realloc(boxes, cap * sizeof(*boxes));
			if (boxes == NULL)
				abort();
		}
		mailbox_from_row(stmt, &boxes[n]);
		boxes[n].subscribed = sqlite3_column_int(stmt, 11) != 0;
		boxes[n++].has_children = sqlite3_column_int(stmt, 12) != 0;
	}
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK) {
		store_mailboxes_free(boxes, n);
		return store_db_result(r);
	}
	*boxes_r = boxes;
	*n_r = n;
	return STORE_OK;
}

enum store_error store_mailbox_list(struct store_account *acct,
				    struct store_mailbox **boxes_r, size_t *n_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_list_locked(acct, boxes_r, n_r);
	store_leave(acct);
	return err;
}

static enum store_error store_mailbox_get_locked(struct store_account *acct, const char *name,
						 struct store_mailbox *box_r)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	sqlite3_stmt *stmt;
	enum store_error err = STORE_OK;
	enum db_result r;

	memset(box_r, 0, sizeof(*box_r));
	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	stmt = db_stmt(acct->db, "SELECT " MAILBOX_COLUMNS " FROM mailboxes b WHERE b.name = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "get mailbox");
	if (r == DB_ROW)
		mailbox_from_row(stmt, box_r);
	else
		err = r == DB_OK ? STORE_ERR_NOT_FOUND : store_db_result(r);
	db_stmt_done(acct->db, stmt);
	return err;
}

enum store_error store_mailbox_get(struct store_account *acct, const char *name,
				   struct store_mailbox *box_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_get_locked(acct, name, box_r);
	store_leave(acct);
	return err;
}

#define BOX_SELECT "SELECT id, uidvalidity, uidnext, highestmodseq, messages, deleted, name" \
	" FROM mailboxes"

/* One row of mailboxes into a struct store_box: by name (?1 text) or by
 * id (?1 integer). */
static enum store_error box_find(struct store_account *acct, const char *sql, const char *name,
				 int64_t id, struct store_box *box_r)
{
	sqlite3_stmt *stmt = db_stmt(acct->db, sql);
	enum store_error err = STORE_OK;
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	if (name != NULL)
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(stmt, 1, id);
	r = db_step(acct->db, stmt, "find mailbox");
	if (r == DB_ROW) {
		box_r->id = sqlite3_column_int64(stmt, 0);
		box_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
		box_r->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
		box_r->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
		box_r->messages = (uint32_t)sqlite3_column_int64(stmt, 4);
		box_r->deleted = (uint32_t)sqlite3_column_int64(stmt, 5);
		snprintf(box_r->name, sizeof(box_r->name), "%s",
			 (const char *)sqlite3_column_text(stmt, 6));
	} else {
		err = r == DB_OK ? STORE_ERR_NOT_FOUND : store_db_result(r);
	}
	db_stmt_done(acct->db, stmt);
	return err;
}

enum store_error store_box_by_name(struct store_account *acct, const char *name,
				   struct store_box *box_r)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	return box_find(acct, BOX_SELECT " WHERE name = ?", canon, 0, box_r);
}

enum store_error store_box_by_id(struct store_account *acct, int64_t id, struct store_box *box_r)
{
	return box_find(acct, BOX_SELECT " WHERE id = ?", NULL, id, box_r);
}

enum store_error store_box_by_ref(struct store_account *acct, const struct store_mailbox_ref *ref,
				  struct store_box *box_r)
{
	enum store_error err;

	if (ref == NULL)
		return STORE_ERR_INVALID;
	err = store_box_by_id(acct, ref->id, box_r);
	/* Deleted, or deleted and its id taken again by a new mailbox:
	 * either way not the mailbox the session selected. */
	if (err == STORE_ERR_NOT_FOUND || (err == STORE_OK && box_r->uidvalidity != ref->uidvalidity))
		return STORE_ERR_GONE;
	return err;
}

/* Inside a transaction: insert one mailbox row. */
static enum store_error box_insert(struct store_account *acct, const char *canon,
				   enum store_special special, struct store_box *box_r)
{
	sqlite3_stmt *stmt;
	enum store_error err;
	uint32_t uidvalidity;
	enum db_result r;

	if ((err = store_uidvalidity_next(acct, &uidvalidity)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "INSERT INTO mailboxes(name, uidvalidity, uidnext, highestmodseq,"
			     " special) VALUES(?, ?, 1, 1, ?)");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int(stmt, 3, (int)special);
	r = db_step(acct->db, stmt, "create mailbox");
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		return store_db_result(r);   /* DB_ERR_EXISTS: STORE_ERR_EXISTS */
	box_r->id = db_last_insert_rowid(acct->db);
	box_r->uidvalidity = uidvalidity;
	box_r->uidnext = 1;
	box_r->highestmodseq = 1;
	box_r->messages = box_r->deleted = 0;
	snprintf(box_r->name, sizeof(box_r->name), "%s", canon);
	store_notify(acct, box_r, HUB_CHANGE_MAILBOX, 1);
	return STORE_OK;
}

enum store_error store_box_create(struct store_account *acct, const char *canon,
				  enum store_special special, bool superiors,
				  struct store_box *box_r)
{
	char prefix[STORE_MAILBOX_NAME_MAX + 1];
	enum store_error err;

	/* RFC 9051 6.3.4: CREATE of "a/b/c" SHOULD create "a" and "a/b"
	 * when they are missing. */
	for (const char *p = canon; superiors && (p = strchr(p, '/')) != NULL; p++) {
		struct store_box sup;

		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p - canon), canon);
		err = box_find(acct, BOX_SELECT " WHERE name = ?", prefix, 0, &sup);
		if (err == STORE_ERR_NOT_FOUND)
			err = box_insert(acct, prefix, STORE_SPECIAL_NONE, &sup);
		if (err != STORE_OK)
			return err;
	}
	return box_insert(acct, canon, special, box_r);
}

static enum store_error store_mailbox_create_locked(struct store_account *acct, const char *name,
						    enum store_special special)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	size_t mark = acct->n_pending;
	struct store_box box;
	enum store_error err;

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)) ||
	    (unsigned)special >= STORE_SPECIAL__COUNT)
		return STORE_ERR_INVALID;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	err = store_box_create(acct, canon, special, true, &box);
	if (err == STORE_OK)
		err = store_db_result(db_commit(acct->db));
	if (err != STORE_OK) {
		db_rollback(acct->db);
		store_notify_rollback(acct, mark);
	}
	return err;
}

enum store_error store_mailbox_create(struct store_account *acct, const char *name,
				      enum store_special special)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_create_locked(acct, name, special);
	store_leave(acct);
	return err;
}

enum store_error store_mailbox_next_modseq(struct store_account *acct, int64_t id,
					   uint64_t *modseq_r)
{
	sqlite3_stmt *stmt;
	enum db_result r;

	stmt = db_stmt(acct->db, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
			     " WHERE id = ? RETURNING highestmodseq");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, id);
	r = db_step(acct->db, stmt, "modseq");
	if (r == DB_ROW)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	db_stmt_done(acct->db, stmt);
	if (r != DB_ROW)
		return r == DB_OK ? STORE_ERR_NOT_FOUND : store_db_result(r);
	return STORE_OK;
}

/* Run an UPDATE that may use ?1 = v1, ?2 = v2, ?3 = the mailbox name;
 * STORE_ERR_EXISTS when no row changed. */
static enum store_error mailbox_update(struct store_account *acct, const char *sql,
				       int64_t v1, int64_t v2, const char *mailbox)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	sqlite3_stmt *stmt;
	enum db_result r;

	if (!store_mailbox_name_canon(mailbox, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	stmt = db_stmt(acct->db, sql);
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, v1);
	sqlite3_bind_int64(stmt, 2, v2);
	sqlite3_bind_text(stmt, 3, canon, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "update mailbox");
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		return store_db_result(r);
	return db_changes(acct->db) > 0 ? STORE_OK : STORE_ERR_EXISTS;
}

static enum store_error store_mailbox_set_uids_locked(struct store_account *acct, const char *mailbox,
						      uint32_t uidvalidity, uint32_t uidnext)
{
	enum store_error err;

	if (uidvalidity == 0 || uidnext == 0)
		return STORE_ERR_INVALID;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	/* Only a mailbox that never held a message: its old UIDs cannot be
	 * cached by any client. */
	err = mailbox_update(acct, "UPDATE mailboxes SET uidvalidity = ?1, uidnext = ?2"
			     " WHERE name = ?3 AND uidnext = 1"
			     " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.mailbox_id = mailboxes.id)"
			     " AND NOT EXISTS (SELECT 1 FROM expunged e WHERE e.mailbox_id = mailboxes.id)",
			     uidvalidity, uidnext, mailbox);
	if (err == STORE_OK)
		err = mailbox_update(acct, "UPDATE meta SET value = max(value, ?1) WHERE key = 'uidvalidity'", uidvalidity, 0, mailbox);
	if (err != STORE_OK) {
		db_rollback(acct->db);
		return err;
	}
	return store_db_result(db_commit(acct->db));
}

enum store_error store_mailbox_set_uids(struct store_account *acct, const char *mailbox,
					uint32_t uidvalidity, uint32_t uidnext)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_set_uids_locked(acct, mailbox, uidvalidity, uidnext);
	store_leave(acct);
	return err;
}

static enum store_error store_mailbox_raise_uidnext_locked(struct store_account *acct, const char *mailbox,
							   uint32_t uidnext)
{
	enum store_error err;

	err = mailbox_update(acct, "UPDATE mailboxes SET uidnext = max(uidnext, ?1) WHERE name = ?3", uidnext, 0, mailbox);
	return err == STORE_ERR_EXISTS ? STORE_ERR_NOT_FOUND : err;
}

enum store_error store_mailbox_raise_uidnext(struct store_account *acct, const char *mailbox,
					     uint32_t uidnext)
{
	enum store_error err;

	store_enter(acct);
	err = store_mailbox_raise_uidnext_locked(acct, mailbox, uidnext);
	store_leave(acct);
	return err;
}
