/* message-update - changes to existing messages: flags and keywords (each
 * change a new MODSEQ, RFC 7162), expunge, and copy (sharing the file). */
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
static bool keyword_ok(const char *s, size_t len)
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
		if (!keyword_ok(p, len) || n == KEYWORDS_MAX)
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

static enum store_error store_flags_update_locked(struct store_account *acct, const char *mailbox,
						  const uint32_t *uids, size_t n, enum store_flag_op op,
						  unsigned flags, const char *keywords)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	enum store_error err;
	uint64_t modseq = 0;
	char *change = NULL;
	int64_t box;

	if ((unsigned)op > STORE_FLAGS_REPLACE || (flags & ~0x1fu) != 0 ||
	    !store_keywords_normalize(keywords, &change))
		return STORE_ERR_INVALID;
	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		goto out;
	if ((err = store_mailbox_row(acct, mailbox, &box, NULL, NULL)) != STORE_OK)
		goto out;
	sel = db_prepare(acct->db, "SELECT flags, keywords FROM messages WHERE mailbox_id = ? AND uid = ?");
	upd = db_prepare(acct->db, "UPDATE messages SET flags = ?, keywords = ?, modseq = ?"
			    " WHERE mailbox_id = ? AND uid = ?");
	if (sel == NULL || upd == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *old_kw;
		unsigned old, new;
		char *new_kw;
		enum db_result r;

		sqlite3_bind_int64(sel, 1, box);
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
		old = (unsigned)sqlite3_column_int(sel, 0);
		old_kw = (const char *)sqlite3_column_text(sel, 1);
		new = op == STORE_FLAGS_ADD ? old | flags :
		      op == STORE_FLAGS_REMOVE ? old & ~flags : flags;
		new_kw = kw_apply(old_kw, change, op);
		if (new != old || !str_eq(new_kw, old_kw)) {
			/* RFC 7162 3.1: every changed message gets a new,
			 * higher mod-sequence. */
			if ((err = store_mailbox_next_modseq(acct, box, &modseq)) != STORE_OK) {
				free(new_kw);
				goto out;
			}
			sqlite3_bind_int(upd, 1, (int)new);
			if (new_kw != NULL)
				sqlite3_bind_text(upd, 2, new_kw, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(upd, 2);
			sqlite3_bind_int64(upd, 3, (int64_t)modseq);
			sqlite3_bind_int64(upd, 4, box);
			sqlite3_bind_int64(upd, 5, uids[i]);
			r = db_step(acct->db, upd, "update flags");
			sqlite3_reset(upd);
			if (r != DB_OK) {
				free(new_kw);
				err = store_db_result(r);
				goto out;
			}
		}
		free(new_kw);
		sqlite3_reset(sel);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sel = upd = NULL;
	err = store_db_result(db_commit(acct->db));
	if (err == STORE_OK && modseq != 0)
		store_notify(acct, mailbox, HUB_CHANGE_FLAGS, modseq);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	db_rollback(acct->db);
	free(change);
	return err;
}

enum store_error store_flags_update(struct store_account *acct, const char *mailbox,
				    const uint32_t *uids, size_t n, enum store_flag_op op,
				    unsigned flags, const char *keywords)
{
	enum store_error err;

	store_enter(acct);
	err = store_flags_update_locked(acct, mailbox, uids, n, op, flags, keywords);
	store_leave(acct);
	return err;
}

/* Inside a transaction: add file_id to the list of files to check. */
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

/* Inside a transaction: drop the rows of files no message uses any more
 * and return their names (NULL-terminated, malloc'd). */
static enum store_error expunge_unused_files(struct store_account *acct, const int64_t *ids,
					     size_t n, char ***names_r)
{
	sqlite3_stmt *sel, *del;
	char **names = calloc(n + 1, sizeof(*names));
	size_t k = 0;
	enum store_error err = STORE_OK;

	if (names == NULL)
		abort();
	*names_r = names;
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

static void names_free(char **names)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

static enum store_error store_expunge_once(struct store_account *acct, const char *mailbox,
					   const uint32_t *uids, size_t n)
{
	sqlite3_stmt *sel = NULL, *del = NULL, *rec = NULL;
	int64_t *files = NULL;
	size_t n_files = 0, cap = 0;
	char **names = NULL;
	enum store_error err;
	uint64_t modseq = 0;
	int64_t box;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_mailbox_row(acct, mailbox, &box, NULL, NULL)) != STORE_OK)
		goto out;
	sel = db_prepare(acct->db, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ? RETURNING file_id");
	rec = db_prepare(acct->db, "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES(?, ?, ?)");
	if (sel == NULL || rec == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		enum db_result r;

		sqlite3_bind_int64(sel, 1, box);
		sqlite3_bind_int64(sel, 2, uids[i]);
		r = db_step(acct->db, sel, "expunge");
		if (r == DB_ROW)
			ids_add(&files, &n_files, &cap, sqlite3_column_int64(sel, 0));
		while (r == DB_ROW)
			r = db_step(acct->db, sel, "expunge");
		sqlite3_reset(sel);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
		if (db_changes(acct->db) == 0)
			continue;
		if ((err = store_mailbox_next_modseq(acct, box, &modseq)) != STORE_OK)
			goto out;
		sqlite3_bind_int64(rec, 1, box);
		sqlite3_bind_int64(rec, 2, uids[i]);
		sqlite3_bind_int64(rec, 3, (int64_t)modseq);
		r = db_step(acct->db, rec, "record expunge");
		sqlite3_reset(rec);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
	}
	if ((err = expunge_unused_files(acct, files, n_files, &names)) != STORE_OK)
		goto out;
	sqlite3_finalize(sel);
	sqlite3_finalize(rec);
	sel = rec = NULL;
	if ((err = store_db_result(db_commit(acct->db))) != STORE_OK)
		goto out;
	/* Committed: now the files can go. A crash before this leaves
	 * orphans, which store_open removes. */
	for (size_t i = 0; names[i] != NULL; i++)
		store_msg_unlink(acct, names[i]);
	if (modseq != 0)
		store_notify(acct, mailbox, HUB_CHANGE_EXPUNGE, modseq);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	sqlite3_finalize(rec);
	db_rollback(acct->db);
	names_free(names);
	free(files);
	return err;
}

static enum store_error store_expunge_locked(struct store_account *acct, const char *mailbox,
					     const uint32_t *uids, size_t n)
{
	enum store_error err = store_expunge_once(acct, mailbox, uids, n);

	/* Deleting is how a user frees space: a full disk must not stop it
	 * (store_reserve_*). */
	if (err == STORE_ERR_NO_SPACE && store_reserve_release())
		err = store_expunge_once(acct, mailbox, uids, n);
	if (err == STORE_OK)
		store_reserve_restore();
	return err;
}

enum store_error store_expunge(struct store_account *acct, const char *mailbox,
			       const uint32_t *uids, size_t n)
{
	enum store_error err;

	store_enter(acct);
	err = store_expunge_locked(acct, mailbox, uids, n);
	store_leave(acct);
	return err;
}

static enum store_error store_copy_locked(struct store_account *acct, const char *mailbox,
					  const uint32_t *uids, size_t n, const char *dest,
					  uint32_t *new_uids_r)
{
	sqlite3_stmt *ins = NULL;
	enum store_error err;
	uint64_t modseq = 0;
	uint32_t uidnext;
	int64_t src, dst;
	char canon[STORE_MAILBOX_NAME_MAX + 1];

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	if ((err = store_mailbox_row(acct, mailbox, &src, NULL, NULL)) != STORE_OK ||
	    (err = store_mailbox_row(acct, dest, &dst, &uidnext, NULL)) != STORE_OK)
		goto out;
	/* The copy keeps flags, keywords, internal date and the file
	 * (RFC 3501 6.4.7); it gets a new UID and MODSEQ. */
	ins = db_prepare(acct->db, "INSERT INTO messages(mailbox_id, uid, file_id, flags, keywords,"
			    " modseq, internal_date, size, digest) SELECT ?1, ?2, file_id, flags, keywords,"
			    " (SELECT highestmodseq + 1 FROM mailboxes WHERE id = ?1),"
			    " internal_date, size, digest FROM messages WHERE mailbox_id = ?4 AND uid = ?5");
	if (ins == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t next_modseq;
		enum db_result r;

		if (new_uids_r != NULL)
			new_uids_r[i] = 0;
		if (uidnext >= UINT32_MAX) {
			err = STORE_ERR_TOO_BIG;
			goto out;
		}
		sqlite3_bind_int64(ins, 1, dst);
		sqlite3_bind_int64(ins, 2, uidnext);
		sqlite3_bind_int64(ins, 4, src);
		sqlite3_bind_int64(ins, 5, uids[i]);
		r = db_step(acct->db, ins, "copy");
		sqlite3_reset(ins);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
		if (db_changes(acct->db) == 0)
			continue;   /* no such UID: skipped */
		/* The row took HIGHESTMODSEQ + 1; now make it taken. */
		if ((err = store_mailbox_next_modseq(acct, dst, &next_modseq)) != STORE_OK)
			goto out;
		modseq = next_modseq;
		if (new_uids_r != NULL)
			new_uids_r[i] = uidnext;
		uidnext++;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	{
		sqlite3_stmt *upd = db_prepare(acct->db, "UPDATE mailboxes SET uidnext = ? WHERE id = ?");
		enum db_result r;

		if (upd == NULL) {
			err = STORE_ERR_IO;
			goto out;
		}
		sqlite3_bind_int64(upd, 1, uidnext);
		sqlite3_bind_int64(upd, 2, dst);
		r = db_step(acct->db, upd, "update uidnext");
		sqlite3_finalize(upd);
		if (r != DB_OK) {
			err = store_db_result(r);
			goto out;
		}
	}
	if ((err = store_db_result(db_commit(acct->db))) == STORE_OK && modseq != 0 &&
	    store_mailbox_name_canon(dest, canon, sizeof(canon)))
		store_notify(acct, canon, HUB_CHANGE_APPEND, modseq);
out:
	sqlite3_finalize(ins);
	db_rollback(acct->db);
	return err;
}

enum store_error store_copy(struct store_account *acct, const char *mailbox,
			    const uint32_t *uids, size_t n, const char *dest,
			    uint32_t *new_uids_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_copy_locked(acct, mailbox, uids, n, dest, new_uids_r);
	store_leave(acct);
	return err;
}
