/* test-store - the message store: mailboxes, append/read back, flags and
 * MODSEQ, expunge, copy, content digests (and the index.db migration that
 * added them), locks, and crash safety under kill -9. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store-ref.h"

#define ADDR "User@Example.org"

static size_t msg_files(struct store_account *acct)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/msg", store_path(acct));
	return tmpdir_count(path, NULL);
}

static void read_back(struct store_account *acct, const char *box, uint32_t uid,
		      const void *want, size_t len)
{
	struct store_reader *r;
	char *got = malloc(len + 1);
	size_t off = 0;
	ssize_t n;

	assert_non_null(got);
	assert_int_equal(store_reader_open(acct, TREF(acct, box), uid, &r), STORE_OK);
	assert_int_equal(store_reader_size(r), len);
	/* At an offset, not moving read's position; the descriptor is the
	 * file's. */
	if (len > 3) {
		assert_int_equal(store_reader_pread(r, got, 2, 1), 2);
		assert_memory_equal(got, (const char *)want + 1, 2);
		assert_int_equal(store_reader_pread(r, got, len, len - 3), 3);
		assert_memory_equal(got, (const char *)want + len - 3, 3);
	}
	assert_int_equal(store_reader_pread(r, got, 1, len), 0);
	assert_int_equal(store_reader_pread(r, got, 1, UINT64_MAX), -1);
	{
		struct stat st;

		assert_int_equal(fstat(store_reader_fd(r), &st), 0);
		assert_int_equal(st.st_size, len);
	}
	while ((n = store_reader_read(r, got + off, len + 1 - off)) > 0)
		off += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	store_reader_close(&r);
	assert_null(r);
	free(got);
}

static void test_default_mailboxes(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	struct store_mailbox *boxes, box;
	struct stat st;
	size_t n;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_non_null(strstr(store_path(acct), "/mail/example.org/user"));
	assert_int_equal(stat(store_path(acct), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(store_mailbox_list(acct, &boxes, &n), STORE_OK);
	assert_int_equal(n, 6);
	/* ordered by name */
	assert_string_equal(boxes[0].name, "Archive");
	assert_int_equal(boxes[0].special, STORE_SPECIAL_ARCHIVE);
	assert_string_equal(boxes[2].name, "INBOX");
	for (size_t i = 0; i < n; i++) {
		assert_true(boxes[i].subscribed);
		assert_int_equal(boxes[i].uidnext, 1);
		assert_true(boxes[i].uidvalidity > 0);
	}
	store_mailboxes_free(boxes, n);
	assert_int_equal(store_mailbox_get(acct, "inbox", &box), STORE_OK);
	assert_string_equal(box.name, "INBOX");
	store_mailbox_free(&box);
	assert_int_equal(store_mailbox_get(acct, "Sent", &box), STORE_OK);
	assert_int_equal(box.special, STORE_SPECIAL_SENT);
	assert_string_equal(store_special_attr(box.special), "\\Sent");
	store_mailbox_free(&box);
	assert_int_equal(store_mailbox_get(acct, "Nope", &box), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_mailbox_create(acct, "Work/2026", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_mailbox_create(acct, "Work/2026", STORE_SPECIAL_NONE), STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_get(acct, "Work/2026", &box), STORE_OK);
	assert_false(box.subscribed);
	store_mailbox_free(&box);
	store_close(&acct);
	assert_null(acct);
	/* reopening keeps everything */
	assert_int_equal(store_open(dir, "user@example.org", &acct), STORE_OK);
	assert_int_equal(store_mailbox_list(acct, &boxes, &n), STORE_OK);
	assert_int_equal(n, 8);   /* with "Work", made for "Work/2026" */
	store_mailboxes_free(boxes, n);
	store_close(&acct);
	tmpdir_free(dir);
}

static void test_invalid_names(void **state)
{
	static const char *const bad_addrs[] = {
		"nodomain", "a@b@c", "../x@example.org", "a@..", "a/b@example.org",
		"a@exa/mple.org", ".hidden@example.org", "a@.example.org", "a\n@example.org",
		"@example.org", "a@", "a..b@example.org",
	};
	static const char *const bad_boxes[] = {
		"", "/a", "a/", "a//b", "a\tb", "a*", "a%b", ".", "..", "a/.", "../a", "a/../b",
	};
	char *dir = tmpdir_new("store");
	struct store_account *acct;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		assert_int_equal(store_open(dir, bad_addrs[i], &acct), STORE_ERR_INVALID);
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	for (size_t i = 0; i < sizeof(bad_boxes) / sizeof(bad_boxes[0]); i++)
		assert_int_equal(store_mailbox_create(acct, bad_boxes[i], STORE_SPECIAL_NONE),
				 STORE_ERR_INVALID);
	assert_int_equal(store_append(acct, "NoSuchBox", "x\r\n", 3, 0, NULL, 0, NULL),
			 STORE_ERR_NOT_FOUND);
	assert_int_equal(store_append(acct, "INBOX", "x\r\n", 3, 0, "bad\\kw", 0, NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(msg_files(acct), 0);
	store_close(&acct);
	tmpdir_free(dir);
}

static void test_append_read(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nhello\r\n";
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	struct store_message *msgs;
	struct store_reader *r;
	struct store_append *ap;
	struct store_mailbox box;
	char path[1024];
	struct stat st;
	uint32_t uid;
	size_t n;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", msg, strlen(msg), STORE_FLAG_SEEN,
				      "$Junk Work", 1700000000, &uid), STORE_OK);
	assert_int_equal(uid, 1);
	assert_int_equal(store_append(acct, "INBOX", msg, strlen(msg), 0, NULL, 0, &uid), STORE_OK);
	assert_int_equal(uid, 2);
	read_back(acct, "INBOX", 1, msg, strlen(msg));
	read_back(acct, "inbox", 2, msg, strlen(msg));
	assert_int_equal(store_reader_open(acct, TREF(acct, "INBOX"), 3, &r), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_reader_open(acct, TREF(acct, "Nope"), 1, &r), STORE_ERR_GONE);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].uid, 1);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(msgs[0].keywords, "$Junk Work");
	assert_int_equal(msgs[0].internal_date, 1700000000);
	assert_int_equal(msgs[0].size, strlen(msg));
	assert_null(msgs[1].keywords);
	assert_true(msgs[1].modseq > msgs[0].modseq);
	assert_true(msgs[1].internal_date > 1700000000);
	store_messages_free(msgs, n);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 2);
	assert_int_equal(box.size, 2 * strlen(msg));
	assert_int_equal(box.uidnext, 3);
	store_mailbox_free(&box);

	/* A 20 MB message written in pieces. */
	{
		size_t len = 20u << 20, chunk = 65536;
		char *big = malloc(len);

		assert_non_null(big);
		for (size_t i = 0; i < len; i++)
			big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
		assert_int_equal(store_append_begin(acct, "Archive", &ap), STORE_OK);
		for (size_t off = 0; off < len; off += chunk)
			assert_int_equal(store_append_write(ap, big + off, chunk), STORE_OK);
		assert_int_equal(store_append_commit(&ap, 0, NULL, 0, &uid), STORE_OK);
		assert_null(ap);
		assert_int_equal(uid, 1);
		read_back(acct, "Archive", 1, big, len);
		free(big);
	}
	/* Files are 0600; an aborted append leaves nothing. */
	assert_int_equal(store_append_begin(acct, "INBOX", &ap), STORE_OK);
	assert_int_equal(store_append_write(ap, "x", 1), STORE_OK);
	store_append_abort(&ap);
	assert_int_equal(msg_files(acct), 3);
	snprintf(path, sizeof(path), "%s/index.db", store_path(acct));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_close(&acct);
	tmpdir_free(dir);
}

static void test_flags(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	struct store_message *msgs;
	struct store_mailbox box;
	uint32_t uids[] = { 1, 2, 99 };
	uint64_t m1, m2, hms;
	size_t n;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(store_append(acct, "INBOX", "a\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	m1 = msgs[0].modseq;
	m2 = msgs[1].modseq;
	store_messages_free(msgs, n);

	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), uids, 3, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, "b a", NULL, NULL), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_string_equal(msgs[0].keywords, "a b");
	assert_true(msgs[0].modseq > m2);
	/* RFC 7162 3.1: one MODSEQ for what one command changed */
	assert_true(msgs[1].modseq == msgs[0].modseq);
	m1 = msgs[0].modseq;
	m2 = msgs[1].modseq;
	store_messages_free(msgs, n);

	/* no change: no new modseq */
	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), uids, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, "A", NULL, NULL), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[0].modseq, m1);
	store_messages_free(msgs, n);

	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), uids, 1, STORE_FLAGS_REMOVE,
					    STORE_FLAG_SEEN, "B c", NULL, NULL), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[0].flags, STORE_FLAG_FLAGGED);
	assert_string_equal(msgs[0].keywords, "a");
	assert_true(msgs[0].modseq > m2);
	assert_int_equal(msgs[1].modseq, m2);
	store_messages_free(msgs, n);

	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), uids + 1, 1, STORE_FLAGS_REPLACE,
					    STORE_FLAG_DELETED, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[1].flags, STORE_FLAG_DELETED);
	assert_null(msgs[1].keywords);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	hms = box.highestmodseq;
	assert_int_equal(hms, msgs[1].modseq);
	store_mailbox_free(&box);
	store_messages_free(msgs, n);

	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), uids, 1, STORE_FLAGS_ADD, 0,
					    "bad(kw", NULL, NULL), STORE_ERR_INVALID);
	assert_int_equal(store_flags_update(acct, TREF(acct, "Nope"), uids, 1, STORE_FLAGS_ADD, 1,
					    NULL, NULL, NULL), STORE_ERR_GONE);
	store_close(&acct);
	tmpdir_free(dir);
}

static void test_expunge_copy(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	struct store_message *msgs;
	struct store_mailbox box;
	uint32_t uids[] = { 1, 2, 3 }, new_uids[3];
	uint64_t before;
	size_t n;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_append(acct, "INBOX", "m\r\n", 3, STORE_FLAG_SEEN, "k",
					      1600000000, NULL), STORE_OK);
	assert_int_equal(msg_files(acct), 3);
	/* copy shares the file */
	assert_int_equal(store_copy(acct, TREF(acct, "INBOX"), uids, 3, "Archive", new_uids), STORE_OK);
	assert_int_equal(new_uids[0], 1);
	assert_int_equal(new_uids[2], 3);
	assert_int_equal(msg_files(acct), 3);
	assert_int_equal(store_message_list(acct, TREF(acct, "Archive"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(msgs[0].keywords, "k");
	assert_int_equal(msgs[0].internal_date, 1600000000);
	store_messages_free(msgs, n);
	read_back(acct, "Archive", 2, "m\r\n", 3);

	/* expunge of a shared file keeps it */
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	before = box.highestmodseq;
	store_mailbox_free(&box);
	assert_int_equal(store_expunge(acct, TREF(acct, "INBOX"), uids, 2), STORE_OK);
	assert_int_equal(msg_files(acct), 3);
	read_back(acct, "Archive", 1, "m\r\n", 3);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 1);
	assert_int_equal(box.highestmodseq, before + 1);   /* one per command */
	store_mailbox_free(&box);
	/* now unshared: the file goes */
	assert_int_equal(store_expunge(acct, TREF(acct, "Archive"), uids, 1), STORE_OK);
	assert_int_equal(msg_files(acct), 2);
	/* UIDs are never reused */
	assert_int_equal(store_append(acct, "INBOX", "n\r\n", 3, 0, NULL, 0, &new_uids[0]), STORE_OK);
	assert_int_equal(new_uids[0], 4);
	assert_int_equal(store_expunge(acct, TREF(acct, "INBOX"), &new_uids[0], 1), STORE_OK);
	store_close(&acct);
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "n\r\n", 3, 0, NULL, 0, &new_uids[0]), STORE_OK);
	assert_int_equal(new_uids[0], 5);
	/* copy of a missing UID is skipped */
	uids[0] = 77;
	assert_int_equal(store_copy(acct, TREF(acct, "INBOX"), uids, 1, "Trash", new_uids), STORE_OK);
	assert_int_equal(new_uids[0], 0);
	store_close(&acct);
	tmpdir_free(dir);
}

/* Whether `box` holds exactly `text` (store_append_present on a fresh
 * append, which is then aborted). */
static bool present(struct store_account *acct, const char *box, const char *text)
{
	struct store_append *ap;
	bool found = false;

	assert_int_equal(store_append_begin(acct, box, &ap), STORE_OK);
	assert_int_equal(store_append_write(ap, text, strlen(text)), STORE_OK);
	assert_int_equal(store_append_present(ap, &found), STORE_OK);
	store_append_abort(&ap);
	return found;
}

static void sql(const char *dir, const char *text)
{
	char path[512];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/mail/example.org/user/index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int sql_int(const char *dir, const char *query)
{
	char path[512];
	sqlite3_stmt *stmt;
	sqlite3 *db;
	int v;

	snprintf(path, sizeof(path), "%s/mail/example.org/user/index.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* A mailbox knows the bytes it holds: per mailbox, by content (same size,
 * other bytes: not present), carried by a copy, gone with an expunge; an
 * index.db from before digests opens, and its messages are digested when a
 * look-up first needs them (those of the asked size only). */
static void test_digest(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	uint32_t uid;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "one\r\n", 5, 0, NULL, 0, &uid), STORE_OK);
	assert_true(present(acct, "INBOX", "one\r\n"));
	assert_true(present(acct, "inbox", "one\r\n"));
	assert_false(present(acct, "INBOX", "two\r\n"));
	assert_false(present(acct, "INBOX", "one\r\n\r\n"));
	assert_false(present(acct, "Archive", "one\r\n"));
	assert_int_equal(store_copy(acct, TREF(acct, "INBOX"), &uid, 1, "Archive", NULL), STORE_OK);
	assert_true(present(acct, "Archive", "one\r\n"));
	assert_int_equal(store_expunge(acct, TREF(acct, "INBOX"), &uid, 1), STORE_OK);
	assert_false(present(acct, "INBOX", "one\r\n"));
	assert_true(present(acct, "Archive", "one\r\n"));
	/* a present check leaves no file behind */
	assert_int_equal(msg_files(acct), 1);
	assert_int_equal(store_append(acct, "INBOX", "two\r\n", 5, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "three\r\n", 7, 0, NULL, 0, NULL), STORE_OK);
	store_close(&acct);

	/* make it an index.db of schema 1, as an older tern wrote it */
	sql(dir, TEST_SCHEMA_UNDO_V4 " DROP INDEX messages_queue; ALTER TABLE messages DROP COLUMN queue_id;"
	    " DROP INDEX messages_digest; ALTER TABLE messages DROP COLUMN digest;"
	    " PRAGMA user_version = 1");
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(sql_int(dir, "PRAGMA user_version"), 7);
	assert_int_equal(sql_int(dir, "SELECT count(*) FROM messages WHERE digest IS NULL"), 3);
	assert_false(present(acct, "INBOX", "six\r\n"));
	/* INBOX's one message of that size was digested, the others not yet */
	assert_int_equal(sql_int(dir, "SELECT count(*) FROM messages WHERE digest IS NULL"), 2);
	assert_true(present(acct, "INBOX", "two\r\n"));
	assert_true(present(acct, "INBOX", "three\r\n"));
	assert_true(present(acct, "Archive", "one\r\n"));
	assert_int_equal(sql_int(dir, "SELECT count(*) FROM messages WHERE digest IS NULL"), 0);
	/* a new append records its digest at once */
	assert_int_equal(store_append(acct, "INBOX", "four\r\n", 6, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(sql_int(dir, "SELECT count(*) FROM messages WHERE digest IS NULL"), 0);
	assert_true(present(acct, "INBOX", "four\r\n"));
	store_close(&acct);
	tmpdir_free(dir);
}

static void test_lock(void **state)
{
	struct store_lock *a, *b, *c;

	(void)state;
	assert_int_equal(store_lock("u@example.org", "pop3", &a), STORE_OK);
	assert_int_equal(store_lock("U@example.org", "pop3", &b), STORE_ERR_LOCKED);
	assert_null(b);
	assert_int_equal(store_lock("u@example.org", "other", &c), STORE_OK);
	store_unlock(&a);
	assert_null(a);
	assert_int_equal(store_lock("u@example.org", "pop3", &b), STORE_OK);
	store_unlock(&b);
	store_unlock(&c);
	store_unlock(&c);
}

static void test_repair(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct, *second;
	struct store_message *msgs;
	char path[1024];
	uint32_t uid;
	size_t n;
	int fd;

	(void)state;
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "a\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "b\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	/* a temp file, an orphan, and a message whose file vanished */
	snprintf(path, sizeof(path), "%s/msg/tmp.123", store_path(acct));
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(path, sizeof(path), "%s/msg/1.2.P3.C4", store_path(acct));
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	/* while another handle is open, nothing is repaired; a second
	 * opener is noted, so the last close writes no clean marker (it
	 * cannot tell whether the other died) and the next open repairs
	 * (test-store-marker.c has the marker's cases) */
	assert_int_equal(store_open(dir, ADDR, &second), STORE_OK);
	assert_int_equal(msg_files(second), 4);
	store_close(&second);
	store_close(&acct);
	{
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/mail/example.org/user/msg", dir);
		d = opendir(path);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || strncmp(de->d_name, "tmp.", 4) == 0 ||
			    strcmp(de->d_name, "1.2.P3.C4") == 0)
				continue;
			/* remove the first real message file */
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", de->d_name);
			assert_int_equal(unlink(path), 0);
			break;
		}
		closedir(d);
	}
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(msg_files(acct), 1);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_messages_free(msgs, n);
	/* the lost one is an expunge like any other, dated now (the horizon) */
	assert_int_equal(sql_int(dir, "SELECT count(*) FROM expunged"
				 " WHERE abs(expunged_at - strftime('%s', 'now')) < 60"), 1);
	store_close(&acct);
	tmpdir_free(dir);
}

/* A child appends in a loop and reports each acknowledged UID; we kill it
 * at a random moment; every acknowledged UID must be there afterwards. */
static void test_crash_safety(void **state)
{
	char *dir = tmpdir_new("store");
	struct store_account *acct;
	struct store_message *msgs;
	uint32_t acked[4096];
	size_t n_acked = 0, n;
	int pipefd[2];
	pid_t pid;

	(void)state;
	/* create the store first, so the child's open is quick */
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	store_close(&acct);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char body[256];

		close(pipefd[0]);
		if (store_open(dir, ADDR, &acct) != STORE_OK)
			_exit(1);
		for (uint32_t i = 0;; i++) {
			uint32_t uid;
			int len = snprintf(body, sizeof(body), "Subject: %u\r\n\r\nbody %u\r\n", i, i);

			if (store_append(acct, "INBOX", body, (size_t)len, 0, NULL, 0, &uid) != STORE_OK)
				_exit(2);
			if (write(pipefd[1], &uid, sizeof(uid)) != sizeof(uid))
				_exit(3);
		}
	}
	close(pipefd[1]);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	usleep(50000 + (useconds_t)(rand() % 250000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (;;) {
		uint32_t uid;
		ssize_t r = read(pipefd[0], &uid, sizeof(uid));

		if (r != sizeof(uid))
			break;
		if (n_acked < sizeof(acked) / sizeof(acked[0]))
			acked[n_acked++] = uid;
	}
	close(pipefd[0]);
	assert_true(n_acked > 0);
	assert_int_equal(store_open(dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_true(n >= n_acked);
	for (size_t i = 0; i < n_acked; i++) {
		char want[256];
		int len = snprintf(want, sizeof(want), "Subject: %u\r\n\r\nbody %u\r\n",
				   (unsigned)i, (unsigned)i);

		assert_int_equal(acked[i], i + 1);
		assert_int_equal(msgs[i].uid, acked[i]);
		read_back(acct, "INBOX", acked[i], want, (size_t)len);
	}
	store_messages_free(msgs, n);
	/* no temp or orphan files remain */
	{
		char path[1024];

		snprintf(path, sizeof(path), "%s/msg", store_path(acct));
		assert_int_equal(tmpdir_count(path, "tmp."), 0);
		assert_int_equal(tmpdir_count(path, NULL), n);
	}
	store_close(&acct);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_mailboxes),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_append_read),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_expunge_copy),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_crash_safety),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
