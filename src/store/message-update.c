/* message-update - changes to existing messages: flags and keywords (one
 * new MODSEQ per command, RFC 7162), and expunge (POP3's of given UIDs,
 * IMAP's of those with \Deleted). Copy and move are in message-copy.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

#define KEYWORD_MAX_LEN 128
#define KEYWORDS_MAX 256

/* RFC 3501 section 9: flag-keyword = atom; no atom-specials, 7-bit. */
bool store_keyword_valid(const char *s, size_t len)
{
	if (len == 0 || len > KEYWORD_MAX_LEN || s[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

struct kw_word {
	const char *s;
	size_t len;
};

static int kw_cmp(const void *a, const void *b)
{
	const struct kw_word *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = strncasecmp(x->s, y->s, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

bool store_keywords_normalize(const char *keywords, char **out_r)
{
	struct kw_word words[KEYWORDS_MAX];
	size_t n = 0, total = 0, pos = 0;
	const char *p = keywords;
	char *out;

	*out_r = NULL;
	if (keywords == NULL)
		return true;
	while (*p != '\0') {
		size_t len;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " ");
		if (!store_keyword_valid(p, len) || n == KEYWORDS_MAX)
			return false;
		words[n].s = p;
		words[n++].len = len;
		total += len + 1;
		p += len;
	}
	if (n == 0)
		return true;
	qsort(words, n, sizeof(words[0]), kw_cmp);
	out = malloc(total);
	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		/* Keywords are case-insensitive: keep the first spelling. */
		if (i > 0 && kw_cmp(&words[i - 1], &words[i]) == 0)
			continue;
		if (pos > 0)
			out[pos++] = ' ';
		memcpy(out + pos, words[i].s, words[i].len);
		pos += words[i].len;
	}
	out[pos] = '\0';
	*out_r = out;
	return true;
}

static bool kw_contains(const char *list, const char *word, size_t len)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t l = strcspn(p, " ");

		if (l == len && strncasecmp(p, word, len) == 0)
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* The new keyword list of a message (malloc'd or NULL). `change` is
 * normalised. */
static char *kw_apply(const char *old, const char *change, enum store_flag_op op)
{
	char *out = NULL, *joined;
	size_t pos = 0;
	const char *p;

	switch (op) {
	case STORE_FLAGS_REPLACE:
		return change != NULL ? strdup(change) : NULL;
	case STORE_FLAGS_ADD:
		if (old == NULL || change == NULL)
			return old != NULL ? strdup(old) : change != NULL ? strdup(change) : NULL;
		if (asprintf(&joined, "%s %s", old, change) < 0)
			abort();
		if (!store_keywords_normalize(joined, &out))
			out = NULL;
		free(joined);
		return out;
	case STORE_FLAGS_REMOVE:
		if (old == NULL)
			return NULL;
		out = malloc(strlen(old) + 1);
		if (out == NULL)
			abort();
		for (p = old; *p != '\0';) {
			size_t l = strcspn(p, " ");

			if (!kw_contains(change, p, l)) {
				if (pos > 0)
					out[pos++] = ' ';
				memcpy(out + pos, p, l);
				pos += l;
			}
			p += l;
			while (*p == ' ')
				p++;
		}
		out[pos] = '\0';
		if (pos == 0) {
			free(out);
			return NULL;
		}
		return out;
	}
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void flag_changes_add(struct store_flag_change **changes, size_t *n, size_t *cap,
			     uint32_t uid, unsigned flags, const char *keywords, uint64_t modseq)
{
	struct store_flag_change *c;

	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		*changes = realloc(*changes, *cap * sizeof(**changes));
		if (*changes == NULL)
			abort();
	}
	c = &(*changes)[(*n)++];
	c->uid = uid;
	c->flags = flags;
	c->keywords = NULL;
	if (keywords != NULL && (c->keywords = strdup(keywords)) == NULL)
		abort();
	c->modseq = modseq;
}

void store_flag_changes_free(struct store_flag_change *changes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(changes[i].keywords);
	free(changes);
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort uids[0..n) and drop repeats; returns how many are left. */
static size_t uids_sort_unique(uint32_t *uids, size_t n)
{
	size_t k = 0;

	if (n > 1)
		qsort(uids, n, sizeof(*uids), uid_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || uids[k - 1] != uids[i])
			uids[k++] = uids[i];
	return k;
}

/* A flag update (store_flags_update), with its UNCHANGEDSINCE condition
 * (store_flags_update_unchanged; UINT64_MAX: none) and the list of the
 * messages the condition left alone, before they are sorted. */
struct flags_update {
	const uint32_t *uids;
	size_t n;
	enum store_flag_op op;
	unsigned flags;
	const char *keywords;
	uint64_t unchangedsince;
	struct store_flag_change **changes_r;   /* may be NULL */
	size_t *n_changes_r;
	uint32_t *modified;
	size_t n_modified, cap_modified;
};

static void modified_add(struct flags_update *u, uint32_t uid)
{
	if (u->n_modified == u->cap_modified) {
		u->cap_modified = u->cap_modified == 0 ? 16 : u->cap_modified * 2;
		u->modified = realloc(u->modified, u->cap_modified * sizeof(*u->modified));
		if (u->modified == NULL)
			abort();
	}
	u->modified[u->n_modified++] = uid;
}

static enum store_error store_flags_update_locked(struct store_account *acct,
						  const struct store_mailbox_ref *ref,
						  struct flags_update *u)
{
	struct store_flag_change *changes = NULL;
	size_t n_changes = 0, cap = 0;
	const uint32_t *uids = u->uids;
	size_t n = u->n;
	enum store_flag_op op = u->op;
	unsigned flags = u->flags;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	struct store_box box;
	enum store_error err;
	uint64_t modseq = 0;
	char *change = NULL;

	u->n_modified = 0;
	if ((unsigned)op > STORE_FLAGS_REPLACE || (flags & ~0x1fu) != 0 || (uids == NULL && n > 0) ||
	    !store_keywords_normalize(u->keywords, &change))
		return STORE_ERR_INVALID;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		goto out;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	if (op != STORE_FLAGS_REMOVE && (err = store_keywords_record(acct, box.id, change)) != STORE_OK)
		goto out;
	sel = db_prepare(acct->db, "SELECT flags, keywords, modseq FROM messages"
			 " WHERE mailbox_id = ? AND uid = ?");
	upd = db_prepare(acct->db, "UPDATE messages SET flags = ?, keywords = ?, modseq = ?"
			    " WHERE mailbox_id = ? AND uid = ?");
	if (sel == NULL || upd == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t row_modseq;
		const char *old_kw;
		unsigned old, new;
		char *new_kw;
		enum db_result r;

		sqlite3_bind_int64(sel, 1, box.id);
		sqlite3_bind_int64(sel, 2, uids[i]);
		r = db_step(acct->db, sel, "read flags");
		if (r == DB_OK) {
			sqlite3_reset(sel);
			continue;
		}
		if (r != DB_ROW) {
			err = store_db_result(r);
			goto out;
		}
		/* RFC 7162 3.1.3: a message changed since UNCHANGEDSINCE is
		 * left alone and reported; one this command changed already
		 * (a UID given twice) is not. */
		row_modseq = (uint64_t)sqlite3_column_int64(sel, 2);
		if (row_modseq > u->unchangedsince && (modseq == 0 || row_modseq != modseq)) {
			modified_add(u, uids[i]);
			sqlite3_reset(sel);
			continue;
		}
		old = (unsigned)sqlite3_column_int(sel, 0);
		old_kw = (const char *)sqlite3_column_text(sel, 1);
		new = op == STORE_FLAGS_ADD ? old | flags :
		      op == STORE_FLAGS_REMOVE ? old & ~flags : flags;
		new_kw = kw_apply(old_kw, change, op);
		if (new != old || !str_eq(new_kw, old_kw)) {
			/* RFC 7162 3.1: the messages one command changes all
			 * get one new mod-sequence, above every earlier one. */
			if (modseq == 0 &&
			    (err = store_mailbox_next_modseq(acct, box.id, &modseq)) != STORE_OK) {
				free(new_kw);
				goto out;
			}
			sqlite3_bind_int(upd, 1, (int)new);
			if (new_kw != NULL)
				sqlite3_bind_text(upd, 2, new_kw, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(upd, 2);
			sqlite3_bind_int64(upd, 3, (int64_t)modseq);
			sqlite3_bind_int64(upd, 4, box.id);
			sqlite3_bind_int64(upd, 5, uids[i]);
			r = db_step(acct->db, upd, "update flags");
			sqlite3_reset(upd);
			if (r != DB_OK) {
				free(new_kw);
				err = store_db_result(r);
				goto out;
			}
			if (u->changes_r != NULL)
				flag_changes_add(&changes, &n_changes, &cap, uids[i], new, new_kw, modseq);
		}
		free(new_kw);
		sqlite3_reset(sel);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sel = upd = NULL;
	err = store_db_result(db_commit(acct->db));
	if (err == STORE_OK && modseq != 0)
		store_notify(acct, &box, HUB_CHANGE_FLAGS, modseq);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	db_rollback(acct->db);
	free(change);
	if (err == STORE_OK && u->changes_r != NULL) {
		*u->changes_r = changes;
		*u->n_changes_r = n_changes;
	} else {
		store_flag_changes_free(changes, n_changes);
	}
	return err;
}

/* Both flag updates: the update, and on a full disk its retry. */
static enum store_error flags_update(struct store_account *acct, const struct store_mailbox_ref *ref,
				     struct flags_update *u)
{
	enum store_error err;

	if (u->changes_r != NULL) {
		*u->changes_r = NULL;
		*u->n_changes_r = 0;
	}
	store_enter(acct);
	err = store_flags_update_locked(acct, ref, u);
	/* IMAP deletes by \Deleted, then EXPUNGE: on a full disk the flag
	 * must be set too, as store_expunge_locked does (store_reserve_*). */
	if (err == STORE_ERR_NO_SPACE && u->op != STORE_FLAGS_REMOVE &&
	    (u->flags & STORE_FLAG_DELETED) != 0 && store_reserve_release())
		err = store_flags_update_locked(acct, ref, u);
	store_leave(acct);
	return err;
}

enum store_error store_flags_update(struct store_account *acct, const struct store_mailbox_ref *ref,
				    const uint32_t *uids, size_t n, enum store_flag_op op,
				    unsigned flags, const char *keywords,
				    struct store_flag_change **changes_r, size_t *n_changes_r)
{
	struct flags_update u = {
		.uids = uids, .n = n, .op = op, .flags = flags, .keywords = keywords,
		.unchangedsince = UINT64_MAX, .changes_r = changes_r, .n_changes_r = n_changes_r,
	};

	return flags_update(acct, ref, &u);
}

enum store_error store_flags_update_unchanged(struct store_account *acct,
					      const struct store_mailbox_ref *ref,
					      const uint32_t *uids, size_t n, enum store_flag_op op,
					      unsigned flags, const char *keywords,
					      uint64_t unchangedsince,
					      struct store_flag_change **changes_r, size_t *n_changes_r,
					      uint32_t **modified_r, size_t *n_modified_r)
{
	struct flags_update u = {
		.uids = uids, .n = n, .op = op, .flags = flags, .keywords = keywords,
		.unchangedsince = unchangedsince, .changes_r = changes_r,
		.n_changes_r = n_changes_r,
	};
	enum store_error err = flags_update(acct, ref, &u);

	*modified_r = NULL;
	*n_modified_r = 0;
	if (err != STORE_OK) {
		free(u.modified);
		return err;
	}
	/* Ascending, each once (a UID given twice is read twice). */
	*modified_r = u.modified;
	*n_modified_r = uids_sort_unique(u.modified, u.n_modified);
	return STORE_OK;
}

/* --- expunge ------------------------------------------------------------- */

static void ids_add(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		*ids = realloc(*ids, *cap * sizeof(**ids));
		if (*ids == NULL)
			abort();
	}
	(*ids)[(*n)++] = id;
}

enum store_error store_files_drop_unused(struct store_account *acct, const int64_t *ids,
					 size_t n, char ***unused_r)
{
	sqlite3_stmt *sel, *del;
	char **names = calloc(n + 1, sizeof(*names));
	size_t k = 0;
	enum store_error err = STORE_OK;

	if (names == NULL)
		abort();
	*unused_r = names;
	sel = db_prepare(acct->db, "SELECT name FROM files WHERE id = ?1"
			    " AND NOT EXISTS (SELECT 1 FROM messages WHERE file_id = ?1)");
	del = db_prepare(acct->db, "DELETE FROM files WHERE id = ?");
	if (sel == NULL || del == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		enum db_result r;

		sqlite3_bind_int64(sel, 1, ids[i]);
		r = db_step(acct->db, sel, "find unused file");
		if (r == DB_ROW) {
			names[k] = strdup((const char *)sqlite3_column_text(sel, 0));
			if (names[k++] == NULL)
				abort();
			sqlite3_bind_int64(del, 1, ids[i]);
			r = db_step(acct->db, del, "delete file");
			sqlite3_reset(del);
		}
		sqlite3_reset(sel);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
	}
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	return err;
}

void store_files_unlink(struct store_account *acct, char **names)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		if (acct == NULL) {
			free(names[i]);
			continue;
		}
		if (acct->n_unlinks == acct->cap_unlinks) {
			acct->cap_unlinks = acct->cap_unlinks == 0 ? 64 : acct->cap_unlinks * 2;
			acct->unlinks = realloc(acct->unlinks, acct->cap_unlinks * sizeof(*acct->unlinks));
			if (acct->unlinks == NULL)
				abort();
		}
		acct->unlinks[acct->n_unlinks++] = names[i];
	}
	free(names);
}

enum store_error store_rows_expunge(struct store_account *acct, const struct store_box *box,
				    const uint32_t *uids, size_t n, uint64_t *modseq_r,
				    size_t *removed_r, char ***unused_r)
{
	sqlite3_stmt *del, *rec;
	int64_t *files = NULL;
	size_t n_files = 0, cap = 0, removed = 0;
	enum store_error err = STORE_OK;
	uint64_t modseq = 0;

	*unused_r = NULL;
	del = db_prepare(acct->db, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ? RETURNING file_id");
	rec = db_prepare(acct->db, "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, expunged_at)"
			 " VALUES(?, ?, ?, " STORE_SQL_NOW ")");
	if (del == NULL || rec == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		enum db_result r;
		bool found;

		sqlite3_bind_int64(del, 1, box->id);
		sqlite3_bind_int64(del, 2, uids[i]);
		r = db_step(acct->db, del, "expunge");
		if ((found = r == DB_ROW))
			ids_add(&files, &n_files, &cap, sqlite3_column_int64(del, 0));
		while (r == DB_ROW)
			r = db_step(acct->db, del, "expunge");
		sqlite3_reset(del);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
		if (!found)
			continue;
		/* One MODSEQ for the command (RFC 7162 3.1), as for flags. */
		if (modseq == 0 && (err = store_mailbox_next_modseq(acct, box->id, &modseq)) != STORE_OK)
			goto out;
		removed++;
		sqlite3_bind_int64(rec, 1, box->id);
		sqlite3_bind_int64(rec, 2, uids[i]);
		sqlite3_bind_int64(rec, 3, (int64_t)modseq);
		r = db_step(acct->db, rec, "record expunge");
		sqlite3_reset(rec);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
	}
	/* A cheap moment to forget what the horizon has passed: the
	 * mailbox's expunged rows are being written anyway. */
	if (modseq != 0 && (err = store_expunged_prune(acct, box->id)) != STORE_OK)
		goto out;
	err = store_files_drop_unused(acct, files, n_files, unused_r);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(rec);
	free(files);
	*modseq_r = modseq;
	if (removed_r != NULL)
		*removed_r = removed;
	return err;
}

/* Inside a transaction: the UIDs of the set (uids NULL: the mailbox)
 * that have \Deleted now, ascending, without duplicates. */
static enum store_error deleted_uids(struct store_account *acct, int64_t box_id,
				     const uint32_t *uids, size_t n,
				     uint32_t **out_r, size_t *n_r)
{
	sqlite3_stmt *stmt;
	uint32_t *out = NULL;
	size_t k = 0, cap = 0;
	enum db_result r = DB_OK;

	*out_r = NULL;
	*n_r = 0;
	stmt = db_prepare(acct->db, uids == NULL ?
			  "SELECT uid FROM messages WHERE mailbox_id = ?1 AND (flags & 8) != 0"
			  " ORDER BY uid" :
			  "SELECT uid FROM messages WHERE mailbox_id = ?1 AND uid = ?2"
			  " AND (flags & 8) != 0");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box_id);
	for (size_t i = 0; i < (uids == NULL ? 1 : n) && r == DB_OK; i++) {
		if (uids != NULL)
			sqlite3_bind_int64(stmt, 2, uids[i]);
		while ((r = db_step(acct->db, stmt, "find deleted")) == DB_ROW) {
			if (k == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				out = realloc(out, cap * sizeof(*out));
				if (out == NULL)
					abort();
			}
			out[k++] = (uint32_t)sqlite3_column_int64(stmt, 0);
		}
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	if (r != DB_OK) {
		free(out);
		return store_db_result(r);
	}
	if (uids != NULL)
		k = uids_sort_unique(out, k);
	*out_r = out;
	*n_r = k;
	return STORE_OK;
}

/* One try at an expunge: of `uids` whatever their flags, or with
 * deleted_r set, of those of them (uids NULL: of all) with \Deleted. */
static enum store_error store_expunge_once(struct store_account *acct,
					   const struct store_mailbox_ref *ref,
					   const uint32_t *uids, size_t n,
					   uint32_t **deleted_r, size_t *n_deleted_r)
{
	uint32_t *deleted = NULL;
	char **names = NULL;
	struct store_box box;
	enum store_error err;
	uint64_t modseq = 0;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		goto out;
	if (deleted_r != NULL) {
		/* CLOSE expunges too: with nothing \Deleted (the count says
		 * so) it reads no message. */
		if (box.deleted == 0)
			n = 0;
		else if ((err = deleted_uids(acct, box.id, uids, n, &deleted, &n)) != STORE_OK)
			goto out;
		uids = deleted;
	}
	if ((err = store_rows_expunge(acct, &box, uids, n, &modseq, NULL, &names)) != STORE_OK ||
	    (err = store_db_result(db_commit(acct->db))) != STORE_OK)
		goto out;
	/* Committed: now the files can go (store_leave unlinks them). A
	 * crash before that leaves orphans, which store_open removes. */
	store_files_unlink(acct, names);
	names = NULL;
	if (modseq != 0)
		store_notify(acct, &box, HUB_CHANGE_EXPUNGE, modseq);
	if (deleted_r != NULL) {
		*deleted_r = deleted;
		*n_deleted_r = n;
		deleted = NULL;
	}
out:
	db_rollback(acct->db);
	store_files_unlink(NULL, names);
	free(deleted);
	return err;
}

static enum store_error store_expunge_locked(struct store_account *acct,
					     const struct store_mailbox_ref *ref,
					     const uint32_t *uids, size_t n,
					     uint32_t **deleted_r, size_t *n_deleted_r)
{
	enum store_error err = store_expunge_once(acct, ref, uids, n, deleted_r, n_deleted_r);

	/* Deleting is how a user frees space: a full disk must not stop it
	 * (store_reserve_*). */
	if (err == STORE_ERR_NO_SPACE && store_reserve_release())
		err = store_expunge_once(acct, ref, uids, n, deleted_r, n_deleted_r);
	if (err == STORE_OK)
		store_reserve_restore();
	return err;
}

enum store_error store_expunge(struct store_account *acct, const struct store_mailbox_ref *ref,
			       const uint32_t *uids, size_t n)
{
	enum store_error err;

	if (uids == NULL && n > 0)
		return STORE_ERR_INVALID;
	store_enter(acct);
	err = store_expunge_locked(acct, ref, uids, n, NULL, NULL);
	store_leave(acct);
	return err;
}

enum store_error store_expunge_deleted(struct store_account *acct, const struct store_mailbox_ref *ref,
				       const uint32_t *uids, size_t n,
				       uint32_t **expunged_r, size_t *n_r)
{
	enum store_error err;

	*expunged_r = NULL;
	*n_r = 0;
	if (uids == NULL && n != 0)
		return STORE_ERR_INVALID;
	store_enter(acct);
	err = store_expunge_locked(acct, ref, uids, n, expunged_r, n_r);
	store_leave(acct);
	return err;
}
