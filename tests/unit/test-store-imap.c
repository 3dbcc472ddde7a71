/* test-store-imap - what the store gained for IMAP (issue 7): refs that
 * go STORE_ERR_GONE, create with superiors, delete and rename (children,
 * RENAME INBOX), subscriptions, counts kept exact (checked against
 * COUNT(*)), one MODSEQ per command, expunge of \Deleted, copy and move
 * (atomic under kill -9), keywords per mailbox, the SELECT view of
 * 100,000 messages and the view the handle keeps, messages by UID, changes since a MODSEQ, \Recent, the
 * structure cache, the hub's mailbox changes, and the v3 -> v4 migration;
 * for QRESYNC (issue 8): expunges since a MODSEQ and the expunge horizon
 * (and the v4 -> v5 migration), STORE UNCHANGEDSINCE with its races, and
 * the v5 -> v6 migration (the store's id). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.h"
#include "store/hub.h"
#include "store/store.h"
#include "store-ref.h"
#include "tmpdir.h"

#define ADDR "imap@example.org"

struct fixture {
	char *dir;
	struct store_account *acct;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tmpdir_new("store-imap");
	assert_int_equal(store_open(f->dir, ADDR, &f->acct), STORE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(&f->acct);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static sqlite3 *index_open(struct store_account *acct)
{
	char path[1024];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/index.db", store_path(acct));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* One integer from the index, read beside the store's own connection. */
static int64_t sql_int(struct store_account *acct, const char *query)
{
	sqlite3 *db = index_open(acct);
	sqlite3_stmt *stmt;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static void sql_exec(struct store_account *acct, const char *text)
{
	sqlite3 *db = index_open(acct);

	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static size_t msg_files(struct store_account *acct)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/msg", store_path(acct));
	return tmpdir_count(path, NULL);
}

static uint32_t append(struct store_account *acct, const char *box, const char *text,
		       unsigned flags, const char *keywords)
{
	uint32_t uid = 0;

	assert_int_equal(store_append(acct, box, text, strlen(text), flags, keywords, 0, &uid),
			 STORE_OK);
	return uid;
}

/* The maintained counts of every mailbox equal what COUNT(*) says. */
static void counts_exact(struct store_account *acct)
{
	assert_int_equal(sql_int(acct, "SELECT count(*) FROM mailboxes b WHERE"
				 " b.messages != (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id)"
				 " OR b.unseen != (SELECT count(*) FROM messages m"
				 "  WHERE m.mailbox_id = b.id AND (m.flags & 1) = 0)"
				 " OR b.deleted != (SELECT count(*) FROM messages m"
				 "  WHERE m.mailbox_id = b.id AND (m.flags & 8) != 0)"
				 " OR b.size != (SELECT coalesce(sum(m.size), 0) FROM messages m"
				 "  WHERE m.mailbox_id = b.id)"), 0);
}

static struct store_mailbox get_box(struct store_account *acct, const char *name)
{
	struct store_mailbox box;

	assert_int_equal(store_mailbox_get(acct, name, &box), STORE_OK);
	return box;
}

/* A mailbox's counters, without its name (nothing to free). */
static struct store_mailbox counters(struct store_account *acct, const char *name)
{
	struct store_mailbox box = get_box(acct, name);

	store_mailbox_free(&box);
	return box;
}

static void test_ref_gone(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref old, now;
	struct store_message *msgs, one;
	struct store_reader *r;
	struct store_view view;
	uint32_t uid, *expunged;
	size_t n;

	assert_int_equal(store_mailbox_create(f->acct, "Work", STORE_SPECIAL_NONE), STORE_OK);
	uid = append(f->acct, "Work", "old\r\n", 0, NULL);
	old = test_ref(f->acct, "Work");
	assert_true(old.id != 0);
	assert_int_equal(store_mailbox_delete(f->acct, "Work"), STORE_OK);
	assert_int_equal(store_mailbox_create(f->acct, "Work", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(append(f->acct, "Work", "new\r\n", 0, NULL), 1);
	now = test_ref(f->acct, "Work");
	assert_true(now.uidvalidity != old.uidvalidity);
	/* the session that had the old one selected never sees the new */
	assert_int_equal(store_message_list(f->acct, &old, &msgs, &n), STORE_ERR_GONE);
	assert_int_equal(store_reader_open(f->acct, &old, uid, &r), STORE_ERR_GONE);
	assert_int_equal(store_flags_update(f->acct, &old, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, NULL, NULL), STORE_ERR_GONE);
	assert_int_equal(store_expunge(f->acct, &old, &uid, 1), STORE_ERR_GONE);
	assert_int_equal(store_expunge_deleted(f->acct, &old, NULL, 0, &expunged, &n), STORE_ERR_GONE);
	assert_int_equal(store_copy(f->acct, &old, &uid, 1, "INBOX", NULL), STORE_ERR_GONE);
	assert_int_equal(store_move(f->acct, &old, &uid, 1, "INBOX", NULL), STORE_ERR_GONE);
	assert_int_equal(store_view_load(f->acct, &old, &view), STORE_ERR_GONE);
	assert_int_equal(store_messages_get(f->acct, &old, &uid, 1, &one), STORE_ERR_GONE);
	assert_int_equal(store_recent_take(f->acct, &old, &uid), STORE_ERR_GONE);
	/* the same row id with another UIDVALIDITY is gone too */
	now.uidvalidity++;
	assert_int_equal(store_message_list(f->acct, &now, &msgs, &n), STORE_ERR_GONE);
	now.uidvalidity--;
	assert_int_equal(store_message_list(f->acct, &now, &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_messages_free(msgs, n);
	assert_string_equal(store_error_name(STORE_ERR_GONE), "mailbox gone");
}

static void test_create_superiors(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox *boxes;
	size_t n;

	assert_int_equal(store_mailbox_create(f->acct, "a/b/c", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_mailbox_create(f->acct, "a/b", STORE_SPECIAL_NONE), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(f->acct, "inbox", STORE_SPECIAL_NONE), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(f->acct, "a-b", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_mailbox_list(f->acct, &boxes, &n), STORE_OK);
	for (size_t i = 0; i < n; i++) {
		bool parent = strcmp(boxes[i].name, "a") == 0 || strcmp(boxes[i].name, "a/b") == 0;

		/* "a-b" sorts between "a" and "a/b" and is no child of "a" */
		assert_int_equal(boxes[i].has_children, parent);
	}
	store_mailboxes_free(boxes, n);
}

static void test_rename_children(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref a, ax, axy;
	struct store_mailbox box;
	struct store_message *msgs;
	size_t n;

	assert_int_equal(store_mailbox_create(f->acct, "a/x/y", STORE_SPECIAL_NONE), STORE_OK);
	append(f->acct, "a/x", "m\r\n", 0, NULL);
	a = test_ref(f->acct, "a");
	ax = test_ref(f->acct, "a/x");
	axy = test_ref(f->acct, "a/x/y");
	assert_int_equal(store_mailbox_rename(f->acct, "nope", "z"), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_rename(f->acct, "a", "Sent"), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(f->acct, "a", "a/q"), STORE_ERR_INVALID);
	/* a child's new name taken: nothing is renamed */
	assert_int_equal(store_mailbox_create(f->acct, "n/x", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_mailbox_rename(f->acct, "a", "n"), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(f->acct, "a", "p/q/b"), STORE_OK);
	assert_int_equal(store_mailbox_get(f->acct, "a", &box), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_get(f->acct, "a/x", &box), STORE_ERR_NOT_FOUND);
	/* ids and UIDVALIDITY stay: the refs follow */
	assert_int_equal(test_ref(f->acct, "p/q/b").id, a.id);
	assert_int_equal(test_ref(f->acct, "p/q/b/x").id, ax.id);
	assert_int_equal(test_ref(f->acct, "p/q/b/x").uidvalidity, ax.uidvalidity);
	assert_int_equal(test_ref(f->acct, "p/q/b/x/y").id, axy.id);
	assert_int_equal(store_message_list(f->acct, &ax, &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_messages_free(msgs, n);
	/* the superiors of the new name were made */
	box = get_box(f->acct, "p/q");
	store_mailbox_free(&box);
	box = get_box(f->acct, "p");
	store_mailbox_free(&box);
}

static void test_rename_inbox(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX"), old;
	struct store_mailbox box;
	struct store_message *msgs;
	char **kw;
	size_t n;

	assert_int_equal(store_mailbox_create(f->acct, "INBOX/child", STORE_SPECIAL_NONE), STORE_OK);
	append(f->acct, "INBOX", "one\r\n", 0, NULL);
	append(f->acct, "INBOX", "two\r\n", STORE_FLAG_SEEN, "$Work");
	append(f->acct, "INBOX", "three\r\n", 0, NULL);
	assert_int_equal(store_expunge(f->acct, &inbox, (uint32_t[]){ 1 }, 1), STORE_OK);
	assert_int_equal(store_mailbox_rename(f->acct, "inbox", "Old"), STORE_OK);
	/* INBOX: the same mailbox, empty, its UIDs never handed out again */
	box = get_box(f->acct, "INBOX");
	assert_int_equal(box.id, inbox.id);
	assert_int_equal(box.uidvalidity, inbox.uidvalidity);
	assert_int_equal(box.messages, 0);
	assert_int_equal(box.uidnext, 4);
	store_mailbox_free(&box);
	/* its child stays */
	box = get_box(f->acct, "INBOX/child");
	store_mailbox_free(&box);
	/* the messages are in a new mailbox, UIDs from 1, in order */
	old = test_ref(f->acct, "Old");
	assert_true(old.id != inbox.id);
	assert_true(old.uidvalidity != inbox.uidvalidity);
	assert_int_equal(store_message_list(f->acct, &old, &msgs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].uid, 1);
	assert_int_equal(msgs[1].uid, 2);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(msgs[0].keywords, "$Work");
	store_messages_free(msgs, n);
	box = get_box(f->acct, "Old");
	assert_int_equal(box.uidnext, 3);
	assert_int_equal(box.unseen, 1);
	store_mailbox_free(&box);
	assert_int_equal(store_mailbox_keywords(f->acct, &old, &kw, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_names_free(kw, n);
	assert_int_equal(append(f->acct, "INBOX", "four\r\n", 0, NULL), 4);
	assert_int_equal(store_mailbox_rename(f->acct, "INBOX", "Old"), STORE_ERR_EXISTS);
	counts_exact(f->acct);
	assert_int_equal(msg_files(f->acct), 3);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	uint32_t uid, copy;

	assert_int_equal(store_mailbox_delete(f->acct, "INBOX"), STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_delete(f->acct, "nope"), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_create(f->acct, "p/c", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_mailbox_delete(f->acct, "p"), STORE_ERR_HAS_CHILDREN);
	assert_string_equal(store_error_name(STORE_ERR_HAS_CHILDREN), "mailbox has children");
	uid = append(f->acct, "p/c", "shared\r\n", 0, "kw");
	append(f->acct, "p/c", "alone\r\n", 0, NULL);
	assert_int_equal(store_copy(f->acct, TREF(f->acct, "p/c"), &uid, 1, "Trash", &copy), STORE_OK);
	assert_int_equal(store_expunge(f->acct, TREF(f->acct, "p/c"), &uid, 1), STORE_OK);
	assert_int_equal(msg_files(f->acct), 2);
	assert_int_equal(store_mailbox_delete(f->acct, "p/c"), STORE_OK);
	/* its own file went, the shared one stays with the copy */
	assert_int_equal(msg_files(f->acct), 1);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged e WHERE NOT EXISTS"
				 " (SELECT 1 FROM mailboxes b WHERE b.id = e.mailbox_id)"), 0);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM mailbox_keywords k WHERE NOT EXISTS"
				 " (SELECT 1 FROM mailboxes b WHERE b.id = k.mailbox_id)"), 0);
	assert_int_equal(store_mailbox_delete(f->acct, "p"), STORE_OK);
	counts_exact(f->acct);
}

static void test_subscriptions(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox *boxes;
	char **names;
	size_t n;

	assert_int_equal(store_mailbox_create(f->acct, "Lists", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_subscribe(f->acct, "Lists", true), STORE_OK);
	assert_int_equal(store_subscribe(f->acct, "Lists", true), STORE_OK);
	/* RFC 9051 6.3.7: a name that does not exist may be subscribed */
	assert_int_equal(store_subscribe(f->acct, "Future", true), STORE_OK);
	assert_int_equal(store_subscribe(f->acct, "bad*name", true), STORE_ERR_INVALID);
	assert_int_equal(store_subscribe(f->acct, "Junk", false), STORE_OK);
	assert_int_equal(store_subscribe(f->acct, "Junk", false), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_list(f->acct, &boxes, &n), STORE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(boxes[i].subscribed, strcmp(boxes[i].name, "Junk") != 0);
	store_mailboxes_free(boxes, n);
	/* a subscription outlives its mailbox, and is not renamed */
	assert_int_equal(store_mailbox_delete(f->acct, "Lists"), STORE_OK);
	assert_int_equal(store_mailbox_rename(f->acct, "Archive", "Archive2"), STORE_OK);
	assert_int_equal(store_subscriptions(f->acct, &names, &n), STORE_OK);
	assert_int_equal(n, 7);
	assert_string_equal(names[0], "Archive");
	assert_string_equal(names[2], "Future");
	assert_string_equal(names[4], "Lists");
	store_names_free(names, n);
}

static void test_counts(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t uids[3], moved[3], *gone;
	struct store_mailbox box;
	size_t n;

	uids[0] = append(f->acct, "INBOX", "a\r\n", 0, NULL);
	uids[1] = append(f->acct, "INBOX", "bb\r\n", STORE_FLAG_SEEN, NULL);
	uids[2] = append(f->acct, "INBOX", "ccc\r\n", STORE_FLAG_DELETED, NULL);
	counts_exact(f->acct);
	box = get_box(f->acct, "INBOX");
	assert_int_equal(box.messages, 3);
	assert_int_equal(box.unseen, 2);
	assert_int_equal(box.deleted, 1);
	assert_int_equal(box.size, 12);
	store_mailbox_free(&box);
	assert_int_equal(store_flags_update(f->acct, &inbox, uids, 3, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN | STORE_FLAG_DELETED, NULL, NULL, NULL), STORE_OK);
	counts_exact(f->acct);
	assert_int_equal(store_flags_update(f->acct, &inbox, uids, 1, STORE_FLAGS_REPLACE, 0, NULL,
					    NULL, NULL), STORE_OK);
	counts_exact(f->acct);
	assert_int_equal(store_copy(f->acct, &inbox, uids, 3, "Archive", NULL), STORE_OK);
	counts_exact(f->acct);
	assert_int_equal(store_move(f->acct, &inbox, uids, 2, "Trash", moved), STORE_OK);
	counts_exact(f->acct);
	assert_int_equal(store_expunge_deleted(f->acct, TREF(f->acct, "Archive"), NULL, 0, &gone, &n),
			 STORE_OK);
	free(gone);
	counts_exact(f->acct);
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 2, 1), STORE_OK);
	counts_exact(f->acct);
	box = get_box(f->acct, "Trash");
	assert_int_equal(box.messages, 2);
	assert_int_equal(box.unseen, 1);
	assert_int_equal(box.deleted, 1);
	assert_int_equal(box.size, 7);
	store_mailbox_free(&box);
}

static void test_flags_modseq(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct store_flag_change *ch;
	struct store_message msgs[4];
	uint32_t uids[4];
	uint64_t before;
	char **kw;
	size_t n;

	for (int i = 0; i < 3; i++)
		uids[i] = append(f->acct, "INBOX", "x\r\n", i == 0 ? STORE_FLAG_SEEN : 0, NULL);
	uids[3] = 99;   /* missing: skipped */
	before = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(store_flags_update(f->acct, &inbox, uids, 4, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    "$Label1", &ch, &n), STORE_OK);
	/* every message changed (keyword added), one MODSEQ for all */
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ch[i].uid, uids[i]);
		assert_int_equal(ch[i].flags, STORE_FLAG_SEEN);
		assert_string_equal(ch[i].keywords, "$Label1");
		assert_int_equal(ch[i].modseq, before + 1);
	}
	store_flag_changes_free(ch, n);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, before + 1);
	/* only what changes is listed; nothing changed: no new MODSEQ */
	assert_int_equal(store_flags_update(f->acct, &inbox, uids, 3, STORE_FLAGS_REMOVE, STORE_FLAG_SEEN,
					    NULL, &ch, &n), STORE_OK);
	assert_int_equal(n, 3);
	store_flag_changes_free(ch, n);
	assert_int_equal(store_flags_update(f->acct, &inbox, uids, 3, STORE_FLAGS_REMOVE, STORE_FLAG_SEEN,
					    NULL, &ch, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_null(ch);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, before + 2);
	assert_int_equal(store_flags_update(f->acct, &inbox, uids + 1, 1, STORE_FLAGS_REPLACE,
					    STORE_FLAG_FLAGGED, NULL, &ch, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_null(ch[0].keywords);
	assert_int_equal(ch[0].modseq, before + 3);
	store_flag_changes_free(ch, n);
	assert_int_equal(store_messages_get(f->acct, &inbox, uids, 4, msgs), STORE_OK);
	assert_int_equal(msgs[0].uid, uids[0]);
	assert_string_equal(msgs[0].keywords, "$Label1");
	assert_int_equal(msgs[1].flags, STORE_FLAG_FLAGGED);
	assert_null(msgs[1].keywords);
	assert_int_equal(msgs[3].uid, 0);
	for (int i = 0; i < 4; i++)
		free(msgs[i].keywords);
	assert_int_equal(store_mailbox_keywords(f->acct, &inbox, &kw, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(kw[0], "$Label1");
	store_names_free(kw, n);
}

static void test_keywords_bound(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t uid = append(f->acct, "INBOX", "x\r\n", 0, "b A");
	char word[32], **kw;
	size_t n;

	assert_int_equal(store_mailbox_keywords(f->acct, &inbox, &kw, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(kw[0], "A");
	assert_string_equal(kw[1], "b");
	store_names_free(kw, n);
	for (int i = 2; i < STORE_MAILBOX_KEYWORDS_MAX; i++) {
		snprintf(word, sizeof(word), "k%d", i);
		assert_int_equal(store_flags_update(f->acct, &inbox, &uid, 1, STORE_FLAGS_ADD, 0, word,
						    NULL, NULL), STORE_OK);
	}
	/* the same keyword in another case is no new one */
	assert_int_equal(store_flags_update(f->acct, &inbox, &uid, 1, STORE_FLAGS_ADD, 0, "a",
					    NULL, NULL), STORE_OK);
	assert_int_equal(store_flags_update(f->acct, &inbox, &uid, 1, STORE_FLAGS_ADD, 0, "one-more",
					    NULL, NULL), STORE_ERR_INVALID);
	assert_int_equal(store_append(f->acct, "INBOX", "y\r\n", 3, 0, "other", 0, NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(store_mailbox_keywords(f->acct, &inbox, &kw, &n), STORE_OK);
	assert_int_equal(n, STORE_MAILBOX_KEYWORDS_MAX);
	store_names_free(kw, n);
}

static void test_expunge_deleted(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct store_message *msgs;
	uint64_t before;
	uint32_t *gone;
	size_t n;

	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(append(f->acct, "INBOX", "x\r\n", i % 2 == 0 ? STORE_FLAG_DELETED : 0,
					NULL), i + 1);
	before = counters(f->acct, "INBOX").highestmodseq;
	/* UID EXPUNGE: only those of the set with \Deleted now */
	assert_int_equal(store_expunge_deleted(f->acct, &inbox, (uint32_t[]){ 5, 2, 1, 1 }, 4,
					       &gone, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(gone[0], 1);
	assert_int_equal(gone[1], 5);
	free(gone);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, before + 1);
	assert_int_equal(store_expunge_deleted(f->acct, &inbox, NULL, 0, &gone, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(gone[0], 3);
	free(gone);
	assert_int_equal(store_expunge_deleted(f->acct, &inbox, NULL, 0, &gone, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(gone);
	assert_int_equal(store_message_list(f->acct, &inbox, &msgs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].uid, 2);
	assert_int_equal(msgs[1].uid, 4);
	store_messages_free(msgs, n);
	assert_int_equal(msg_files(f->acct), 2);
}

static void test_copy_move(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX"), trash;
	uint32_t uids[3], out[3];
	struct store_message *msgs;
	char **kw;
	size_t n;

	uids[0] = append(f->acct, "INBOX", "one\r\n", STORE_FLAG_FLAGGED, "$Job");
	uids[1] = 77;   /* not there */
	uids[2] = append(f->acct, "INBOX", "two\r\n", 0, NULL);
	assert_int_equal(store_copy(f->acct, &inbox, uids, 3, "Nope", out), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_move(f->acct, &inbox, uids, 3, "Nope", out), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_move(f->acct, &inbox, uids, 3, "Trash", out), STORE_OK);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 2);
	trash = test_ref(f->acct, "Trash");
	assert_int_equal(store_message_list(f->acct, &trash, &msgs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].flags, STORE_FLAG_FLAGGED);
	assert_string_equal(msgs[0].keywords, "$Job");
	assert_int_equal(msgs[0].modseq, msgs[1].modseq);
	store_messages_free(msgs, n);
	assert_int_equal(store_message_list(f->acct, &inbox, &msgs, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_messages_free(msgs, n);
	assert_int_equal(store_mailbox_keywords(f->acct, &trash, &kw, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_names_free(kw, n);
	/* the files moved with the messages, none was copied or lost */
	assert_int_equal(msg_files(f->acct), 2);
	/* a move within one mailbox gives new UIDs; a repeated UID moves once */
	assert_int_equal(store_move(f->acct, &trash, (uint32_t[]){ 1, 2, 1 }, 3, "Trash", out), STORE_OK);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 4);
	assert_int_equal(out[2], 0);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM messages"), 2);
	counts_exact(f->acct);
}

/* A child moves messages back and forth between two mailboxes for ever;
 * killed at a random moment, every message is in exactly one of them. */
#define MOVE_MESSAGES 20
static void test_move_atomic_kill(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	for (int i = 0; i < MOVE_MESSAGES; i++) {
		char body[64];

		snprintf(body, sizeof(body), "Subject: %d\r\n\r\n%d\r\n", i, i);
		append(f->acct, "INBOX", body, 0, NULL);
	}
	store_close(&f->acct);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_account *acct;
		const char *names[2] = { "INBOX", "Archive" };

		if (store_open(f->dir, ADDR, &acct) != STORE_OK)
			_exit(1);
		for (unsigned round = 0;; round++) {
			struct store_mailbox_ref from = test_ref(acct, names[round % 2]);
			struct store_message *msgs;
			uint32_t uids[MOVE_MESSAGES];
			size_t n;

			if (store_message_list(acct, &from, &msgs, &n) != STORE_OK)
				_exit(2);
			for (size_t i = 0; i < n; i++)
				uids[i] = msgs[i].uid;
			store_messages_free(msgs, n);
			/* by halves: two moves per round */
			if (store_move(acct, &from, uids, n / 2, names[(round + 1) % 2], NULL) != STORE_OK ||
			    store_move(acct, &from, uids + n / 2, n - n / 2, names[(round + 1) % 2],
				       NULL) != STORE_OK)
				_exit(3);
		}
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	usleep(100000 + (useconds_t)(rand() % 300000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(store_open(f->dir, ADDR, &f->acct), STORE_OK);
	/* the child did move (each move leaves expunged rows) */
	assert_true(sql_int(f->acct, "SELECT count(*) FROM expunged") > 0);
	/* each message once: by its file, shared by nobody else */
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM messages"), MOVE_MESSAGES);
	assert_int_equal(sql_int(f->acct, "SELECT count(DISTINCT file_id) FROM messages"), MOVE_MESSAGES);
	assert_int_equal(msg_files(f->acct), MOVE_MESSAGES);
	counts_exact(f->acct);
}

static void test_view_large(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox;
	struct store_view view;

	append(f->acct, "INBOX", "x\r\n", 0, NULL);
	/* 100,000 rows sharing the one file: the view reads the index only */
	sql_exec(f->acct, "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n"
		 " WHERE i < 100000) INSERT INTO messages(mailbox_id, uid, file_id, flags, modseq,"
		 " internal_date, size) SELECT m.mailbox_id, n.i, m.file_id, n.i % 32, 1, 0, 3"
		 " FROM n, messages m; UPDATE mailboxes SET uidnext = 100001 WHERE name = 'INBOX'");
	inbox = test_ref(f->acct, "INBOX");
	assert_int_equal(store_view_load(f->acct, &inbox, &view), STORE_OK);
	assert_int_equal(view.n, 100000);
	assert_int_equal(view.uidnext, 100001);
	assert_int_equal(view.uidvalidity, inbox.uidvalidity);
	assert_true(view.highestmodseq >= 2);
	for (uint32_t i = 0; i < view.n; i++)
		assert_int_equal(view.uids[i], i + 1);
	assert_int_equal(view.flags[0], 0);
	assert_int_equal(view.flags[99999], 100000 % 32);
	/* each array is one block of exactly the count's size (the count
	 * sized it: no growth, no object per message) */
	assert_true(malloc_usable_size(view.uids) >= 100000 * sizeof(uint32_t));
	assert_true(malloc_usable_size(view.uids) < 100000 * sizeof(uint32_t) + 4096);
	assert_true(malloc_usable_size(view.flags) < 100000 + 4096);
	store_view_free(&view);
	assert_null(view.uids);
	counts_exact(f->acct);
}

/* Two SELECTs of one mailbox on one handle: the second copies the view
 * the handle kept, brought up to date with what changed (new, expunged,
 * flags changed); the first session's copy stays as it was (its numbers
 * are its own until it is told). */
static void test_view_kept(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct store_view first, second, again;
	struct store_message *got = calloc(4, sizeof(*got));
	uint32_t uids[6], missing[2];

	for (int i = 0; i < 5; i++)
		uids[i] = append(f->acct, "INBOX", "m\r\n", 0, NULL);
	assert_int_equal(store_view_load(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first.n, 5);
	/* another session: \Seen on 3, 2 expunged, one new */
	assert_int_equal(store_flags_update(f->acct, &inbox, &uids[2], 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_expunge(f->acct, &inbox, &uids[1], 1), STORE_OK);
	uids[5] = append(f->acct, "INBOX", "n\r\n", STORE_FLAG_FLAGGED, NULL);
	assert_int_equal(store_view_load(f->acct, &inbox, &second), STORE_OK);
	assert_int_equal(second.n, 5);
	assert_int_equal(second.uids[0], uids[0]);
	assert_int_equal(second.uids[1], uids[2]);
	assert_int_equal(second.flags[1], STORE_FLAG_SEEN);
	assert_int_equal(second.uids[4], uids[5]);
	assert_int_equal(second.flags[4], STORE_FLAG_FLAGGED);
	assert_int_equal(second.uidnext, uids[5] + 1);
	assert_true(second.highestmodseq > first.highestmodseq);
	/* the first copy is untouched */
	assert_int_equal(first.n, 5);
	assert_int_equal(first.uids[1], uids[1]);
	assert_int_equal(first.flags[2], 0);
	/* nothing changed: the same again */
	assert_int_equal(store_view_load(f->acct, &inbox, &again), STORE_OK);
	assert_int_equal(again.n, second.n);
	assert_memory_equal(again.uids, second.uids, second.n * sizeof(uint32_t));
	assert_memory_equal(again.flags, second.flags, second.n);
	assert_int_equal(again.highestmodseq, second.highestmodseq);
	/* messages by UID, dense (one scan) and with gaps */
	assert_int_equal(store_messages_get(f->acct, &inbox, second.uids, 4, got), STORE_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(got[i].uid, second.uids[i]);
	missing[0] = uids[1];
	missing[1] = uids[3];
	assert_int_equal(store_messages_get(f->acct, &inbox, missing, 2, got), STORE_OK);
	assert_int_equal(got[0].uid, 0);     /* expunged */
	assert_int_equal(got[1].uid, uids[3]);
	store_messages_free(got, 4);
	store_view_free(&first);
	store_view_free(&second);
	store_view_free(&again);
}

static void test_changes_since(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct store_message *changed;
	uint32_t *expunged, uids[4];
	uint64_t mark, high;
	size_t nc, ne;

	for (int i = 0; i < 4; i++)
		uids[i] = append(f->acct, "INBOX", "x\r\n", 0, NULL);
	mark = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(store_flags_update(f->acct, &inbox, uids + 2, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_ANSWERED, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 1, 1), STORE_OK);
	append(f->acct, "INBOX", "new\r\n", 0, NULL);
	assert_int_equal(store_changes_since(f->acct, &inbox, mark, &changed, &nc, &expunged, &ne,
					     &high), STORE_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(changed[0].uid, 3);
	assert_int_equal(changed[0].flags, STORE_FLAG_ANSWERED);
	assert_int_equal(changed[1].uid, 5);
	assert_int_equal(ne, 1);
	assert_int_equal(expunged[0], 2);
	assert_int_equal(high, mark + 3);
	store_messages_free(changed, nc);
	free(expunged);
	assert_int_equal(store_changes_since(f->acct, &inbox, high, &changed, &nc, &expunged, &ne,
					     &high), STORE_OK);
	assert_int_equal(nc + ne, 0);
	/* the MODSEQ indexes answer it (no scan of the mailbox) */
	{
		sqlite3 *db = index_open(f->acct);
		sqlite3_stmt *stmt;

		assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT uid FROM expunged"
						    " INDEXED BY expunged_modseq WHERE mailbox_id = 1"
						    " AND modseq > 5 ORDER BY uid", -1, &stmt, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_non_null(strstr((const char *)sqlite3_column_text(stmt, 3), "expunged_modseq"));
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
}

/* QRESYNC's expunges since a MODSEQ: ascending, from the MODSEQ index,
 * complete while nothing was pruned. */
static void test_expunged_since(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t uids[6], two[2], *got;
	uint64_t m0, m1;
	bool complete;
	size_t n;

	for (int i = 0; i < 6; i++)
		uids[i] = append(f->acct, "INBOX", "x\r\n", 0, NULL);
	m0 = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 4, 1), STORE_OK);
	m1 = counters(f->acct, "INBOX").highestmodseq;
	two[0] = uids[3];
	two[1] = uids[1];
	assert_int_equal(store_expunge(f->acct, &inbox, two, 2), STORE_OK);
	assert_int_equal(store_expunged_since(f->acct, &inbox, m0, &got, &n, &complete), STORE_OK);
	assert_true(complete);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], uids[1]);
	assert_int_equal(got[1], uids[3]);
	assert_int_equal(got[2], uids[4]);
	free(got);
	assert_int_equal(store_expunged_since(f->acct, &inbox, m1, &got, &n, &complete), STORE_OK);
	assert_true(complete);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], uids[1]);
	assert_int_equal(got[1], uids[3]);
	free(got);
	/* nothing since HIGHESTMODSEQ, nor above 63 bits */
	assert_int_equal(store_expunged_since(f->acct, &inbox, counters(f->acct, "INBOX").highestmodseq,
					      &got, &n, &complete), STORE_OK);
	assert_true(complete);
	assert_int_equal(n, 0);
	assert_null(got);
	assert_int_equal(store_expunged_since(f->acct, &inbox, UINT64_MAX, &got, &n, &complete),
			 STORE_OK);
	assert_true(complete);
	assert_int_equal(n, 0);
	/* another mailbox's expunges are not this one's */
	assert_int_equal(store_expunged_since(f->acct, TREF(f->acct, "Archive"), 0, &got, &n,
					      &complete), STORE_OK);
	assert_int_equal(n, 0);
	assert_true(complete);
	/* a stale ref */
	inbox.uidvalidity++;
	assert_int_equal(store_expunged_since(f->acct, &inbox, 0, &got, &n, &complete),
			 STORE_ERR_GONE);
	assert_null(got);
	assert_false(complete);
}

/* Make the expunged rows of these UIDs of INBOX look `days` old. */
static void expunges_age(struct store_account *acct, const char *uids, int days)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE expunged SET expunged_at = expunged_at - %d * 86400"
		 " WHERE mailbox_id = (SELECT id FROM mailboxes WHERE name = 'INBOX')"
		 " AND uid IN (%s)", days, uids);
	sql_exec(acct, sql);
}

static void expunged_is(struct store_account *acct, uint64_t modseq, bool complete_want,
			const uint32_t *want, size_t n_want)
{
	uint32_t *got;
	bool complete;
	size_t n;

	assert_int_equal(store_expunged_since(acct, TREF(acct, "INBOX"), modseq, &got, &n, &complete),
			 STORE_OK);
	assert_int_equal(complete, complete_want);
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
	free(got);
}

/* The horizon: rows older than 30 days go when the mailbox next has an
 * expunge; what they said is then incomplete before the highest MODSEQ
 * pruned, complete after it. */
static void test_expunge_horizon(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint64_t m0, m1, m2, m3, m4;
	struct store_message *changed;
	uint32_t uids[5], *exp;
	size_t nc, ne;
	uint64_t high;

	for (int i = 0; i < 5; i++)
		uids[i] = append(f->acct, "INBOX", "x\r\n", 0, NULL);
	m0 = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(store_expunge(f->acct, &inbox, uids, 1), STORE_OK);
	m1 = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 1, 1), STORE_OK);
	m2 = counters(f->acct, "INBOX").highestmodseq;
	/* 29 days old: kept by the next expunge */
	expunges_age(f->acct, "1, 2", 29);
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 2, 1), STORE_OK);
	m3 = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged"), 3);
	expunged_is(f->acct, m0, true, uids, 3);
	/* 31 days: uid 1 and 2 go at the next expunge, 3 stays */
	expunges_age(f->acct, "1, 2", 2);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged"), 3);
	assert_int_equal(store_expunge(f->acct, &inbox, uids + 3, 1), STORE_OK);
	m4 = counters(f->acct, "INBOX").highestmodseq;
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged"), 2);
	assert_int_equal(sql_int(f->acct, "SELECT pruned_modseq FROM mailboxes WHERE name = 'INBOX'"),
			 (int64_t)m2);
	expunged_is(f->acct, m0, false, uids + 2, 2);
	expunged_is(f->acct, m1, false, uids + 2, 2);
	expunged_is(f->acct, m2, true, uids + 2, 2);
	expunged_is(f->acct, m3, true, uids + 3, 1);
	expunged_is(f->acct, m4, true, NULL, 0);
	/* store_changes_since says what is left, the same rule */
	assert_int_equal(store_changes_since(f->acct, &inbox, m0, &changed, &nc, &exp, &ne, &high),
			 STORE_OK);
	assert_int_equal(ne, 2);
	assert_int_equal(exp[0], uids[2]);
	store_messages_free(changed, nc);
	free(exp);
	/* other mailboxes' rows are their own business */
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM mailboxes WHERE pruned_modseq != 0"),
			 1);
	/* a MOVE expunges too, and prunes: uid 3, aged */
	expunges_age(f->acct, "3", 31);
	assert_int_equal(store_move(f->acct, &inbox, uids + 4, 1, "Archive", NULL), STORE_OK);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged"), 2);
	assert_int_equal(sql_int(f->acct, "SELECT pruned_modseq FROM mailboxes WHERE name = 'INBOX'"),
			 (int64_t)m3);
	expunged_is(f->acct, m2, false, uids + 3, 2);
	expunged_is(f->acct, m3, true, uids + 3, 2);
	counts_exact(f->acct);
}

/* [store] expunge_horizon through the root: 0 keeps every row, a short
 * one prunes what is older. */
static void test_expunge_horizon_root(void **state)
{
	struct fixture *f = *state;
	unsigned horizons[] = { 0, 3600 };

	store_close(&f->acct);
	for (size_t h = 0; h < 2; h++) {
		struct store_root *root;
		struct store_account *acct;
		struct store_mailbox_ref inbox;
		uint32_t uids[2];

		assert_int_equal(store_root_open(f->dir, &root), STORE_OK);
		store_root_set_expunge_horizon(root, horizons[h]);
		assert_int_equal(store_account_get(root, ADDR, &acct), STORE_OK);
		inbox = test_ref(acct, "INBOX");
		uids[0] = append(acct, "INBOX", "x\r\n", 0, NULL);
		uids[1] = append(acct, "INBOX", "x\r\n", 0, NULL);
		assert_int_equal(store_expunge(acct, &inbox, uids, 1), STORE_OK);
		sql_exec(acct, "UPDATE expunged SET expunged_at = expunged_at - 7200");
		assert_int_equal(store_expunge(acct, &inbox, uids + 1, 1), STORE_OK);
		/* h 0: every row stays; h 1: only the newest is left */
		assert_int_equal(sql_int(acct, "SELECT count(*) FROM expunged"), h == 0 ? 2 : 1);
		store_account_put(&acct);
		store_root_close(&root);
	}
	assert_int_equal(store_open(f->dir, ADDR, &f->acct), STORE_OK);
}

/* STORE (UNCHANGEDSINCE n), RFC 7162 3.1.3: what changed since n is left
 * alone and listed, ascending and once; the rest changes with one MODSEQ;
 * a second call with the same stale n loses the race for what the first
 * one changed. */
static void test_flags_unchangedsince(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t uids[5], order[7], *mod;
	struct store_flag_change *ch;
	uint64_t mark, high;
	size_t n, n_mod;

	for (int i = 0; i < 5; i++)
		uids[i] = append(f->acct, "INBOX", "x\r\n", i == 4 ? STORE_FLAG_FLAGGED : 0, NULL);
	mark = counters(f->acct, "INBOX").highestmodseq;
	/* another session changes uid 2 (and uid 4) meanwhile */
	assert_int_equal(store_flags_update(f->acct, &inbox, uids + 1, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_flags_update(f->acct, &inbox, uids + 3, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_ANSWERED, NULL, NULL, NULL), STORE_OK);
	high = counters(f->acct, "INBOX").highestmodseq;
	/* out of order, repeated, and a missing UID */
	order[0] = uids[3];
	order[1] = uids[1];
	order[2] = uids[0];
	order[3] = uids[1];
	order[4] = 99;
	order[5] = uids[2];
	order[6] = uids[4];
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, order, 7, STORE_FLAGS_ADD,
						      STORE_FLAG_FLAGGED, NULL, mark, &ch, &n, &mod,
						      &n_mod), STORE_OK);
	assert_int_equal(n_mod, 2);
	assert_int_equal(mod[0], uids[1]);
	assert_int_equal(mod[1], uids[3]);
	free(mod);
	/* uid 5 had \Flagged: no change, not modified either */
	assert_int_equal(n, 2);
	assert_int_equal(ch[0].uid, uids[0]);
	assert_int_equal(ch[1].uid, uids[2]);
	assert_int_equal(ch[0].modseq, high + 1);
	assert_int_equal(ch[1].modseq, high + 1);
	store_flag_changes_free(ch, n);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, high + 1);
	/* nothing changed for the modified ones */
	assert_int_equal(sql_int(f->acct, "SELECT flags FROM messages WHERE uid = 2"), STORE_FLAG_SEEN);
	assert_int_equal(sql_int(f->acct, "SELECT flags FROM messages WHERE uid = 4"),
			 STORE_FLAG_ANSWERED);
	assert_int_equal(sql_int(f->acct, "SELECT modseq FROM messages WHERE uid = 2"),
			 (int64_t)mark + 1);

	/* the race: a second command with the same UNCHANGEDSINCE loses uid
	 * 1 and 3 to the first, and changes nothing */
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, uids, 3, STORE_FLAGS_REMOVE,
						      STORE_FLAG_FLAGGED, NULL, mark, &ch, &n, &mod,
						      &n_mod), STORE_OK);
	assert_int_equal(n_mod, 3);
	assert_int_equal(mod[0], uids[0]);
	assert_int_equal(mod[1], uids[1]);
	assert_int_equal(mod[2], uids[2]);
	assert_int_equal(n, 0);
	assert_null(ch);
	free(mod);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, high + 1);
	/* with the new HIGHESTMODSEQ it wins */
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, uids, 3, STORE_FLAGS_REMOVE,
						      STORE_FLAG_FLAGGED, NULL, high + 1, &ch, &n,
						      &mod, &n_mod), STORE_OK);
	assert_int_equal(n_mod, 0);
	assert_null(mod);
	assert_int_equal(n, 2);
	store_flag_changes_free(ch, n);

	/* UNCHANGEDSINCE 0: every message exists with a MODSEQ >= 1 */
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, uids, 5, STORE_FLAGS_REPLACE,
						      STORE_FLAG_DRAFT, "$X", 0, &ch, &n, &mod, &n_mod),
			 STORE_OK);
	assert_int_equal(n_mod, 5);
	assert_int_equal(n, 0);
	free(mod);
	assert_int_equal(counters(f->acct, "INBOX").highestmodseq, high + 2);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM messages WHERE (flags & 16) != 0"), 0);
	/* changes_r may be NULL; bad arguments change nothing */
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, uids, 5, STORE_FLAGS_ADD,
						      STORE_FLAG_DRAFT, NULL, high + 2, NULL, NULL,
						      &mod, &n_mod), STORE_OK);
	assert_int_equal(n_mod, 0);
	assert_int_equal(store_flags_update_unchanged(f->acct, &inbox, uids, 5, STORE_FLAGS_ADD,
						      STORE_FLAG_DRAFT, "bad(kw", high + 2, NULL, NULL,
						      &mod, &n_mod), STORE_ERR_INVALID);
	assert_null(mod);
	assert_int_equal(n_mod, 0);
	counts_exact(f->acct);
}

static void test_recent(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t first;

	append(f->acct, "INBOX", "x\r\n", 0, NULL);
	append(f->acct, "INBOX", "y\r\n", 0, NULL);
	assert_int_equal(counters(f->acct, "INBOX").recent, 2);
	/* EXAMINE looks without taking */
	assert_int_equal(store_recent_peek(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first, 1);
	/* the first session after they arrived sees them \Recent */
	assert_int_equal(store_recent_take(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first, 1);
	assert_int_equal(counters(f->acct, "INBOX").recent, 0);
	/* the next does not */
	assert_int_equal(store_recent_take(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first, 3);
	append(f->acct, "INBOX", "z\r\n", 0, NULL);
	assert_int_equal(store_recent_take(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first, 3);
	assert_int_equal(store_recent_take(f->acct, &inbox, &first), STORE_OK);
	assert_int_equal(first, 4);
	assert_int_equal(store_recent_peek(f->acct, TREF(f->acct, "Nope"), &first), STORE_ERR_GONE);
}

/* A cache entry: the tree `tree` (len bytes), the strings "BS", "B", "ENV". */
static const struct store_blob *entry(const char *tree, size_t len)
{
	static struct store_blob parts[STORE_STRUCTURE__COUNT];

	parts[STORE_STRUCTURE_TREE] = (struct store_blob){ tree, len };
	parts[STORE_STRUCTURE_BODYSTRUCTURE] = (struct store_blob){ "BS", 2 };
	parts[STORE_STRUCTURE_BODY] = (struct store_blob){ "B", 1 };
	parts[STORE_STRUCTURE_ENVELOPE] = (struct store_blob){ "ENV", 3 };
	return parts;
}

static void test_structure(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX"), archive;
	uint32_t uid = append(f->acct, "INBOX", "x\r\n", 0, NULL), copy;
	void *data;
	size_t len;

	assert_int_equal(store_structure_get(f->acct, &inbox, uid, &data, &len), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_structure_put(f->acct, &inbox, 99, entry("s", 1)), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_structure_put(f->acct, &inbox, uid, entry("shape\0x", 7)), STORE_OK);
	assert_int_equal(store_copy(f->acct, &inbox, &uid, 1, "Archive", &copy), STORE_OK);
	archive = test_ref(f->acct, "Archive");
	/* the copy shares it */
	assert_int_equal(store_structure_get(f->acct, &archive, copy, &data, &len), STORE_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "shape\0x", 7);
	free(data);
	assert_int_equal(store_expunge(f->acct, &inbox, &uid, 1), STORE_OK);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM structures"), 1);
	/* gone with the last copy */
	assert_int_equal(store_expunge(f->acct, &archive, &copy, 1), STORE_OK);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM structures"), 0);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM files"), 0);
	assert_int_equal(store_structure_put(f->acct, TREF(f->acct, "Nope"), 1, entry("s", 1)), STORE_ERR_GONE);
}

/* What a batch's callback got: the parts of each message, copied. */
struct got_parts {
	bool refuse;            /* the callback says the parts did not check out */
	int calls, held;
	size_t index[8];
	char part[8][STORE_STRUCTURE__COUNT][8];
	bool null[8][STORE_STRUCTURE__COUNT];
};

static bool on_parts(void *ctx, size_t i, const struct store_blob parts[STORE_STRUCTURE__COUNT],
		     bool held)
{
	struct got_parts *g = ctx;

	assert_true(g->calls < 8);
	g->held += held;
	g->index[g->calls] = i;
	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++) {
		assert_true(parts[p].len < sizeof(g->part[0][0]));
		g->null[g->calls][p] = parts[p].data == NULL;
		if (parts[p].data != NULL)
			memcpy(g->part[g->calls][p], parts[p].data, parts[p].len);
	}
	g->calls++;
	return !g->refuse;
}

/* A FETCH batch: message rows and the parts asked of their entries in
 * one read, dense (a scan) or sparse (lookups) alike; a message without
 * an entry gets NULL parts, a gone one no call and uid 0. */
static void test_structures_batch(void **state)
{
	const unsigned strings = 1u << STORE_STRUCTURE_BODYSTRUCTURE | 1u << STORE_STRUCTURE_ENVELOPE;
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct store_message out[4];
	struct got_parts g = { 0 };
	uint32_t uids[4], wrong[2];

	for (int i = 0; i < 3; i++)
		uids[i] = append(f->acct, "INBOX", "m\r\n", 0, NULL);
	uids[3] = uids[2] + 1;   /* not there */
	assert_int_equal(store_structure_put(f->acct, &inbox, uids[1], entry("tree", 4)), STORE_OK);
	/* dense: one scan */
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, uids, 4, strings, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.calls, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].uid, uids[i]);
		assert_int_equal(out[i].size, 3);
		assert_int_equal(g.index[i], (size_t)i);
	}
	assert_int_equal(out[3].uid, 0);
	/* no entry: NULL parts; with one: the parts asked, only */
	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++)
		assert_true(g.null[0][p] && g.null[2][p]);
	assert_true(g.null[1][STORE_STRUCTURE_TREE]);
	assert_true(g.null[1][STORE_STRUCTURE_BODY]);
	assert_string_equal(g.part[1][STORE_STRUCTURE_BODYSTRUCTURE], "BS");
	assert_string_equal(g.part[1][STORE_STRUCTURE_ENVELOPE], "ENV");
	for (int i = 0; i < 4; i++)
		free(out[i].keywords);
	/* the parts that checked out are held by the handle: the second read
	 * hands them over as held (the batch with the message without an
	 * entry still reads the join, the one entry's alone the rows) */
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1, strings, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.held, 1);
	assert_int_equal(out[0].uid, uids[1]);
	assert_int_equal(out[0].size, 3);
	assert_string_equal(g.part[0][STORE_STRUCTURE_BODYSTRUCTURE], "BS");
	assert_true(g.null[0][STORE_STRUCTURE_TREE]);
	free(out[0].keywords);
	/* more parts than held: read again; refused: not held */
	memset(&g, 0, sizeof(g));
	g.refuse = true;
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1,
						       strings | 1u << STORE_STRUCTURE_BODY, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.held, 0);
	assert_string_equal(g.part[0][STORE_STRUCTURE_BODY], "B");
	free(out[0].keywords);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1,
						       strings | 1u << STORE_STRUCTURE_BODY, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.held, 0);
	free(out[0].keywords);
	/* a put forgets what was held */
	assert_int_equal(store_structure_put(f->acct, &inbox, uids[1], entry("tree", 4)), STORE_OK);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1, strings, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.held, 0);
	free(out[0].keywords);
	/* one UID: a lookup, the same */
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1,
						       1u << STORE_STRUCTURE_TREE, out, on_parts, &g),
			 STORE_OK);
	assert_int_equal(g.calls, 1);
	assert_int_equal(out[0].uid, uids[1]);
	assert_string_equal(g.part[0][STORE_STRUCTURE_TREE], "tree");
	assert_true(g.null[0][STORE_STRUCTURE_BODYSTRUCTURE]);
	free(out[0].keywords);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[3], 1, strings, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.calls, 0);
	assert_int_equal(out[0].uid, 0);

	wrong[0] = uids[1];
	wrong[1] = uids[0];
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, wrong, 2, strings, out,
						       on_parts, &g), STORE_ERR_INVALID);
	assert_int_equal(store_messages_get_structures(f->acct, TREF(f->acct, "Nope"), uids, 2,
						       strings, out, on_parts, &g), STORE_ERR_GONE);
	assert_int_equal(out[0].uid, 0);
	/* too large together */
	{
		struct store_blob big[STORE_STRUCTURE__COUNT];

		memcpy(big, entry("t", 1), sizeof(big));
		big[STORE_STRUCTURE_BODY].len = STORE_STRUCTURE_MAX;
		assert_int_equal(store_structure_put(f->acct, &inbox, uids[0], big), STORE_ERR_INVALID);
	}
	/* held, and the message expunged meanwhile: gone all the same */
	for (int held = 0; held < 2; held++) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1, strings,
							       out, on_parts, &g), STORE_OK);
		assert_int_equal(g.held, held);
		free(out[0].keywords);
	}
	assert_int_equal(store_expunge(f->acct, &inbox, &uids[1], 1), STORE_OK);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_messages_get_structures(f->acct, &inbox, &uids[1], 1, strings, out,
						       on_parts, &g), STORE_OK);
	assert_int_equal(g.calls, 0);
	assert_int_equal(out[0].uid, 0);
}

/* A scan finds each message's file and cached structure at once; a UID
 * the mailbox does not hold, or one expunged after the scan, has no
 * reader; a gone mailbox fails the scan. */
static void test_scan(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	uint32_t uids[4];
	struct store_reader *r;
	struct store_scan *scan;
	const void *blob;
	char buf[16];
	size_t len;

	uids[0] = append(f->acct, "INBOX", "one\r\n", 0, NULL);
	uids[1] = append(f->acct, "INBOX", "two!\r\n", 0, NULL);
	uids[2] = 99;
	uids[3] = append(f->acct, "INBOX", "four\r\n", 0, NULL);
	assert_int_equal(store_structure_put(f->acct, &inbox, uids[1], entry("blob", 4)), STORE_OK);
	assert_int_equal(store_scan_open(f->acct, &inbox, uids, 4, &scan), STORE_OK);
	assert_null(store_scan_structure(scan, 0, &len));
	blob = store_scan_structure(scan, 1, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(blob, "blob", 4);
	assert_null(store_scan_structure(scan, 4, &len));
	assert_int_equal(store_scan_reader(scan, 1, &r), STORE_OK);
	assert_int_equal(store_reader_pread(r, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "two!\r\n", 6);
	store_reader_close(&r);
	assert_int_equal(store_scan_reader(scan, 2, &r), STORE_ERR_NOT_FOUND);
	assert_null(r);
	/* expunged after the scan: gone, not a lost file */
	assert_int_equal(store_expunge(f->acct, &inbox, &uids[3], 1), STORE_OK);
	assert_int_equal(store_scan_reader(scan, 3, &r), STORE_ERR_NOT_FOUND);
	assert_null(r);
	store_scan_free(&scan);
	assert_null(scan);
	assert_int_equal(store_scan_open(f->acct, TREF(f->acct, "Nope"), uids, 4, &scan),
			 STORE_ERR_GONE);
	assert_null(scan);
	assert_int_equal(store_scan_open(f->acct, &inbox, uids, STORE_SCAN_MAX + 1, &scan),
			 STORE_ERR_INVALID);
}

struct seen {
	int calls;
	int64_t ids[8];
	char names[8][32];
};

static void on_change(void *arg, const struct hub_change *change)
{
	struct seen *s = arg;

	if (change->kind != HUB_CHANGE_MAILBOX || s->calls == 8)
		return;
	s->ids[s->calls] = change->mailbox_id;
	snprintf(s->names[s->calls++], sizeof(s->names[0]), "%s", change->mailbox);
}

static void test_hub_mailbox_changes(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	struct store_mailbox_ref a, ab;
	struct hub_watch *w;

	assert_int_equal(store_mailbox_create(f->acct, "a/b", STORE_SPECIAL_NONE), STORE_OK);
	a = test_ref(f->acct, "a");
	ab = test_ref(f->acct, "a/b");
	/* a watch on another mailbox still hears of mailbox changes */
	w = hub_watch_add(ADDR, test_ref(f->acct, "INBOX").id, NULL, on_change, &s);
	assert_int_equal(store_mailbox_rename(f->acct, "a", "c"), STORE_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.ids[0], a.id);
	assert_string_equal(s.names[0], "c");
	assert_int_equal(s.ids[1], ab.id);
	assert_string_equal(s.names[1], "c/b");
	assert_int_equal(store_mailbox_delete(f->acct, "c/b"), STORE_OK);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.ids[2], ab.id);
	assert_int_equal(store_mailbox_create(f->acct, "x/y/Sent", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(s.calls, 6);
	assert_int_equal(store_mailbox_rename(f->acct, "c", "x/y/Sent"), STORE_ERR_EXISTS);
	assert_int_equal(s.calls, 6);
	/* a create that made a superior, then failed, tells nothing (and
	 * the superior is not there) */
	sql_exec(f->acct, "DELETE FROM mailboxes WHERE name = 'x'");
	assert_int_equal(store_mailbox_create(f->acct, "x/y", STORE_SPECIAL_NONE), STORE_ERR_EXISTS);
	assert_int_equal(s.calls, 6);
	assert_int_equal(test_ref(f->acct, "x").id, 0);
	hub_watch_remove(&w);
}

/* What a watcher called in the notifying thread finds: the files are
 * unlinked after the mutex is released and the hub told, so that
 * removing thousands of them (seconds where each unlink is a discard)
 * keeps no other caller of the account waiting. */
struct unlink_seen {
	struct store_account *acct;
	int calls;
	size_t files;
	enum store_error status;
};

static void on_expunge(void *arg, const struct hub_change *change)
{
	struct unlink_seen *s = arg;
	struct store_mailbox box;

	if (change->kind == HUB_CHANGE_APPEND)
		return;
	s->calls++;
	s->files = msg_files(s->acct);
	/* the handle is free again (this would wait forever under it) */
	s->status = store_mailbox_get(s->acct, "INBOX", &box);
	store_mailbox_free(&box);
}

static void test_unlink_after_leave(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox = test_ref(f->acct, "INBOX");
	struct unlink_seen s = { .acct = f->acct, .status = STORE_ERR_IO };
	struct hub_watch *w;
	uint32_t *gone, new_uids[2];
	size_t n;

	for (int i = 0; i < 4; i++)
		append(f->acct, "INBOX", "x\r\n", STORE_FLAG_DELETED, NULL);
	assert_int_equal(store_mailbox_create(f->acct, "a", STORE_SPECIAL_NONE), STORE_OK);
	append(f->acct, "a", "y\r\n", 0, NULL);
	w = hub_watch_add(ADDR, 0, NULL, on_expunge, &s);
	assert_int_equal(store_expunge_deleted(f->acct, &inbox, (uint32_t[]){ 1, 2 }, 2, &gone, &n),
			 STORE_OK);
	free(gone);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.files, 5);
	assert_int_equal(s.status, STORE_OK);
	assert_int_equal(msg_files(f->acct), 3);
	/* MOVE keeps its files (the copies use them); DELETE's go after */
	assert_int_equal(store_move(f->acct, &inbox, (uint32_t[]){ 3 }, 1, "a", new_uids), STORE_OK);
	assert_int_equal(msg_files(f->acct), 3);
	s.calls = 0;
	assert_int_equal(store_mailbox_delete(f->acct, "a"), STORE_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.files, 3);
	assert_int_equal(msg_files(f->acct), 1);
	hub_watch_remove(&w);
}

/* An index.db of schema 3 gets its counts, subscriptions and keywords. */
/* Close the account, make its index.db an older one (`undo`), and open
 * it again: the migrations run. */
static void schema_back(struct fixture *f, const char *undo)
{
	char path[1024];
	sqlite3 *db;

	store_close(&f->acct);
	snprintf(path, sizeof(path), "%s/mail/example.org/imap/index.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, undo, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, ADDR, &f->acct), STORE_OK);
}

/* v5 -> v6: the structure cache's entries were one blob each, a format
 * no longer read: they go, and the cache takes parts. */
static void test_migrate_v5(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox;
	uint32_t uid = append(f->acct, "INBOX", "a\r\n", 0, NULL);

	schema_back(f, TEST_SCHEMA_UNDO_V6
		    " INSERT INTO structures SELECT file_id, x'00' FROM messages;"
		    " PRAGMA user_version = 5");
	assert_int_equal(sql_int(f->acct, "PRAGMA user_version"), 7);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM structures"), 0);
	inbox = test_ref(f->acct, "INBOX");
	assert_int_equal(store_structure_put(f->acct, &inbox, uid, entry("t", 1)), STORE_OK);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM structures"
				 " WHERE envelope = CAST('ENV' AS BLOB)"), 1);
	/* and it still goes with the file */
	assert_int_equal(store_expunge(f->acct, &inbox, &uid, 1), STORE_OK);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM structures"), 0);
}

/* v4 -> v5: expunged rows from before are kept a whole horizon from the
 * migration on, and nothing counts as pruned. */
static void test_migrate_v4(void **state)
{
	struct fixture *f = *state;
	uint32_t uids[2];

	uids[0] = append(f->acct, "INBOX", "a\r\n", 0, NULL);
	uids[1] = append(f->acct, "INBOX", "b\r\n", 0, NULL);
	assert_int_equal(store_expunge(f->acct, TREF(f->acct, "INBOX"), uids, 1), STORE_OK);
	schema_back(f, TEST_SCHEMA_UNDO_V5 " PRAGMA user_version = 4");
	assert_int_equal(sql_int(f->acct, "PRAGMA user_version"), 7);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM expunged"
				 " WHERE abs(expunged_at - strftime('%s', 'now')) > 60"), 0);
	assert_int_equal(sql_int(f->acct, "SELECT max(pruned_modseq) FROM mailboxes"), 0);
	expunged_is(f->acct, 0, true, uids, 1);
	/* and the next expunge keeps it */
	assert_int_equal(store_expunge(f->acct, TREF(f->acct, "INBOX"), uids + 1, 1), STORE_OK);
	expunged_is(f->acct, 0, true, uids, 2);
}

/* v6 -> v7: a store from before ids gets one, kept by every open after. */
static void test_migrate_v6(void **state)
{
	struct fixture *f = *state;
	uint64_t made = store_account_id(f->acct), given;

	assert_int_not_equal(made, 0);
	schema_back(f, TEST_SCHEMA_UNDO_V7 " PRAGMA user_version = 6");
	assert_int_equal(sql_int(f->acct, "PRAGMA user_version"), 7);
	given = store_account_id(f->acct);
	assert_int_not_equal(given, 0);
	assert_int_not_equal(given, made);
	store_close(&f->acct);
	assert_int_equal(store_open(f->dir, ADDR, &f->acct), STORE_OK);
	assert_int_equal(store_account_id(f->acct), given);
}

static void test_migrate_v3(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox_ref inbox;
	struct store_mailbox box;
	char **kw;
	size_t n;

	append(f->acct, "INBOX", "a\r\n", STORE_FLAG_SEEN, "x y");
	append(f->acct, "INBOX", "bb\r\n", STORE_FLAG_DELETED, "Y z");
	assert_int_equal(store_subscribe(f->acct, "Junk", false), STORE_OK);
	schema_back(f, TEST_SCHEMA_UNDO_V4 " PRAGMA user_version = 3");
	assert_int_equal(sql_int(f->acct, "PRAGMA user_version"), 7);
	box = get_box(f->acct, "INBOX");
	assert_int_equal(box.messages, 2);
	assert_int_equal(box.unseen, 1);
	assert_int_equal(box.deleted, 1);
	assert_int_equal(box.size, 7);
	store_mailbox_free(&box);
	counts_exact(f->acct);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM subscriptions"), 5);
	assert_int_equal(sql_int(f->acct, "SELECT count(*) FROM subscriptions WHERE name = 'Junk'"), 0);
	inbox = test_ref(f->acct, "INBOX");
	assert_int_equal(store_mailbox_keywords(f->acct, &inbox, &kw, &n), STORE_OK);
	assert_int_equal(n, 3);   /* x, y, z: "Y" is "y" */
	store_names_free(kw, n);
	/* messages from before are not \Recent */
	{
		uint32_t first;

		assert_int_equal(store_recent_take(f->acct, &inbox, &first), STORE_OK);
		assert_int_equal(first, 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ref_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_superiors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_modseq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keywords_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_atomic_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunged_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_horizon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_horizon_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_unchangedsince, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structures_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_mailbox_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_after_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v6, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
