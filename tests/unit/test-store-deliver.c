/* test-store-deliver - local delivery of the queue's files: one file on
 * disk shared by the queue and every recipient, byte for byte; a second
 * delivery of a queue id finds the first (also after a kill -9 between
 * the delivery and the queue's update); batches in one transaction with
 * per-item results and one hub notification per mailbox; what is refused
 * (another file system, a symbolic link, a wrong size, bad arguments);
 * index.db from before queue ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/hub.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store-ref.h"

struct fixture {
	char *dir;
	char queue[96];      /* DATA/queue */
	int queue_fd;
	struct store_root *root;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tmpdir_new("deliver");
	snprintf(f->queue, sizeof(f->queue), "%s/queue", f->dir);
	assert_int_equal(mkdir(f->queue, 0700), 0);
	f->queue_fd = open(f->queue, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->queue_fd >= 0);
	assert_int_equal(store_root_open(f->dir, &f->root), STORE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_root_close(&f->root);
	close(f->queue_fd);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* A queue file: the message as it will be stored; returns its size. */
static uint64_t queue_file(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	return len;
}

static size_t msg_files(struct store_account *acct)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/msg", store_path(acct));
	return tmpdir_count(path, NULL);
}

static void read_back(struct store_account *acct, const char *box, uint32_t uid, const char *want)
{
	struct store_reader *r;
	char got[4096];
	size_t off = 0;
	ssize_t n;

	assert_int_equal(store_reader_open(acct, TREF(acct, box), uid, &r), STORE_OK);
	assert_int_equal(store_reader_size(r), strlen(want));
	while ((n = store_reader_read(r, got + off, sizeof(got) - off)) > 0)
		off += (size_t)n;
	store_reader_close(&r);
	assert_int_equal(off, strlen(want));
	assert_memory_equal(got, want, off);
}

static uint32_t inbox_messages(struct store_account *acct, const char *box)
{
	struct store_mailbox mb;
	uint32_t n;

	assert_int_equal(store_mailbox_get(acct, box, &mb), STORE_OK);
	n = mb.messages;
	store_mailbox_free(&mb);
	return n;
}

#define MSG1 "Return-Path: <s@example.net>\r\nSubject: one\r\n\r\nbody\r\n"
#define MSG2 "Return-Path: <s@example.net>\r\nSubject: two\r\n\r\nmore body\r\n"

/* One file on disk for the queue and both recipients; delivering the
 * same queue id again stores nothing and gives the same UID. */
static void test_deliver_shares_the_file(void **state)
{
	struct fixture *f = *state;
	struct store_account *a, *b;
	struct store_message *msgs;
	struct stat st, in_a;
	uint64_t size = queue_file(f->queue_fd, "Q1", MSG1);
	uint32_t uid, again;
	char path[256];
	size_t n;

	assert_int_equal(store_account_get(f->root, "a@example.org", &a), STORE_OK);
	assert_int_equal(store_account_get(f->root, "b@example.org", &b), STORE_OK);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "Q1", size, 0, 1700000000, "Q1", &uid),
			 STORE_OK);
	assert_int_equal(uid, 1);
	assert_int_equal(store_deliver(b, "inbox", f->queue_fd, "Q1", size, STORE_FLAG_FLAGGED, 0,
				       "Q1", &uid), STORE_OK);
	assert_int_equal(uid, 1);
	read_back(a, "INBOX", 1, MSG1);
	read_back(b, "INBOX", 1, MSG1);
	assert_int_equal(fstatat(f->queue_fd, "Q1", &st, 0), 0);
	assert_int_equal(st.st_nlink, 3);
	{
		struct dirent *de;
		DIR *d;
		int fd;

		snprintf(path, sizeof(path), "%s/msg", store_path(a));
		d = opendir(path);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
			;
		assert_non_null(de);
		/* a's copy is the queue's file itself */
		fd = dirfd(d);
		assert_int_equal(fstatat(fd, de->d_name, &in_a, AT_SYMLINK_NOFOLLOW), 0);
		closedir(d);
		assert_int_equal(in_a.st_ino, st.st_ino);
	}
	/* size, flags and date as given; the size is the file's */
	assert_int_equal(store_message_list(b, TREF(b, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0].size, size);
	assert_int_equal(msgs[0].flags, STORE_FLAG_FLAGGED);
	store_messages_free(msgs, n);
	assert_int_equal(store_message_list(a, TREF(a, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[0].internal_date, 1700000000);
	store_messages_free(msgs, n);

	/* again: found, not stored twice */
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "Q1", size, 0, 0, "Q1", &again),
			 STORE_OK);
	assert_int_equal(again, 1);
	assert_int_equal(inbox_messages(a, "INBOX"), 1);
	assert_int_equal(msg_files(a), 1);
	assert_int_equal(fstatat(f->queue_fd, "Q1", &st, 0), 0);
	assert_int_equal(st.st_nlink, 3);
	/* the queue id is per mailbox; a copy does not take it */
	assert_int_equal(store_deliver(a, "Archive", f->queue_fd, "Q1", size, 0, 0, "Q1", &uid),
			 STORE_OK);
	assert_int_equal(uid, 1);
	assert_int_equal(store_copy(a, TREF(a, "INBOX"), &again, 1, "INBOX", &uid), STORE_OK);
	assert_int_equal(uid, 2);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "Q1", size, 0, 0, "Q1", &again),
			 STORE_OK);
	assert_int_equal(again, 1);
	/* the queue lets go of its file: the mailboxes keep theirs */
	assert_int_equal(unlinkat(f->queue_fd, "Q1", 0), 0);
	read_back(a, "INBOX", 1, MSG1);
	read_back(b, "INBOX", 1, MSG1);
	store_account_put(&a);
	store_account_put(&b);
}

struct seen {
	int calls;
	uint64_t modseq;
};

static void on_change(void *arg, const struct hub_change *change)
{
	struct seen *s = arg;

	s->calls++;
	s->modseq = change->modseq;
}

static void test_batch(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	struct seen inbox = { 0 }, archive = { 0 };
	struct hub_watch *w1, *w2;
	struct store_mailbox box;
	uint64_t s1 = queue_file(f->queue_fd, "B1", MSG1);
	uint64_t s2 = queue_file(f->queue_fd, "B2", MSG2);
	struct store_delivery d[] = {
		{ .mailbox = "INBOX", .dirfd = f->queue_fd, .name = "B1", .size = s1, .queue_id = "B1" },
		{ .mailbox = "INBOX", .dirfd = f->queue_fd, .name = "B2", .size = s2, .queue_id = "B2" },
		{ .mailbox = "Archive", .dirfd = f->queue_fd, .name = "B2", .size = s2, .queue_id = "B2" },
		/* the same message twice in one batch: one copy */
		{ .mailbox = "inbox", .dirfd = f->queue_fd, .name = "B1", .size = s1, .queue_id = "B1" },
		{ .mailbox = "Nope", .dirfd = f->queue_fd, .name = "B1", .size = s1, .queue_id = "B1" },
		{ .mailbox = "INBOX", .dirfd = f->queue_fd, .name = "gone", .size = s1, .queue_id = "B3" },
		{ .mailbox = "INBOX", .dirfd = f->queue_fd, .name = "B1", .size = s1 + 1, .queue_id = "B4" },
		{ .mailbox = "INBOX", .dirfd = f->queue_fd, .name = "B1", .size = s1, .queue_id = "" },
	};

	assert_int_equal(store_account_get(f->root, "a@example.org", &a), STORE_OK);
	w1 = hub_watch_add("a@example.org", TREF(a, "INBOX")->id, NULL, on_change, &inbox);
	w2 = hub_watch_add("a@example.org", TREF(a, "Archive")->id, NULL, on_change, &archive);
	assert_int_equal(store_deliver_batch(a, d, sizeof(d) / sizeof(d[0])), STORE_OK);
	assert_int_equal(d[0].error, STORE_OK);
	assert_int_equal(d[0].uid, 1);
	assert_int_equal(d[1].error, STORE_OK);
	assert_int_equal(d[1].uid, 2);
	assert_int_equal(d[2].error, STORE_OK);
	assert_int_equal(d[2].uid, 1);
	assert_int_equal(d[3].error, STORE_OK);
	assert_int_equal(d[3].uid, 1);
	assert_int_equal(d[4].error, STORE_ERR_NOT_FOUND);
	assert_int_equal(d[5].error, STORE_ERR_NOT_FOUND);
	assert_int_equal(d[6].error, STORE_ERR_INVALID);
	assert_int_equal(d[7].error, STORE_ERR_INVALID);
	for (size_t i = 4; i < sizeof(d) / sizeof(d[0]); i++)
		assert_int_equal(d[i].uid, 0);
	assert_int_equal(inbox_messages(a, "INBOX"), 2);
	assert_int_equal(inbox_messages(a, "Archive"), 1);
	/* the failed items left no link behind */
	assert_int_equal(msg_files(a), 3);
	read_back(a, "INBOX", 2, MSG2);
	/* one change per mailbox, with its MODSEQ after the batch */
	assert_int_equal(inbox.calls, 1);
	assert_int_equal(archive.calls, 1);
	assert_int_equal(store_mailbox_get(a, "INBOX", &box), STORE_OK);
	assert_int_equal(inbox.modseq, box.highestmodseq);
	store_mailbox_free(&box);
	/* the batch again: everything found, nothing added, nobody told */
	assert_int_equal(store_deliver_batch(a, d, 4), STORE_OK);
	assert_int_equal(d[1].uid, 2);
	assert_int_equal(inbox_messages(a, "INBOX"), 2);
	assert_int_equal(inbox.calls, 1);
	assert_int_equal(store_deliver_batch(a, d, 0), STORE_OK);
	hub_watch_remove(&w1);
	hub_watch_remove(&w2);
	store_account_put(&a);
}

/* Usage for quotas: from the open handle, and with nobody holding the
 * account from its index read-only, without opening it (its clean
 * marker, "clean" in the account folder, is the same file afterwards:
 * no open, no close, no fsync). */
static void test_usage(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	uint64_t size = queue_file(f->queue_fd, "U1", MSG1), used = 99;
	char marker[600], never[512], folder[512];
	struct stat before, after, folder_before, folder_after;

	assert_int_equal(store_account_usage(f->root, "nobody@example.org", &used), STORE_OK);
	assert_int_equal(used, 0);
	snprintf(never, sizeof(never), "%s/mail/example.org/nobody", f->dir);
	assert_int_equal(access(never, F_OK), -1);
	assert_int_equal(store_account_usage(f->root, "not an address", &used), STORE_ERR_INVALID);

	assert_int_equal(store_account_get(f->root, "a@example.org", &a), STORE_OK);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "U1", size, 0, 0, "U1", NULL),
			 STORE_OK);
	assert_int_equal(store_deliver(a, "Archive", f->queue_fd, "U1", size, 0, 0, "U1", NULL),
			 STORE_OK);
	assert_int_equal(store_account_used(a, &used), STORE_OK);
	assert_int_equal(used, 2 * size);
	assert_int_equal(store_account_usage(f->root, "A@Example.org", &used), STORE_OK);
	assert_int_equal(used, 2 * size);
	snprintf(folder, sizeof(folder), "%s", store_path(a));
	snprintf(marker, sizeof(marker), "%s/clean", folder);
	store_account_put(&a);

	assert_int_equal(stat(marker, &before), 0);
	assert_int_equal(stat(folder, &folder_before), 0);
	used = 0;
	assert_int_equal(store_account_usage(f->root, "a@example.org", &used), STORE_OK);
	assert_int_equal(used, 2 * size);
	assert_int_equal(stat(marker, &after), 0);
	assert_int_equal(stat(folder, &folder_after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	/* the marker was not removed and made again */
	assert_int_equal(folder_before.st_mtim.tv_sec, folder_after.st_mtim.tv_sec);
	assert_int_equal(folder_before.st_mtim.tv_nsec, folder_after.st_mtim.tv_nsec);
}

/* The quota rule shared by RCPT, delivery and APPEND, asked of an open
 * account; and the free-space floor refusing appends. */
static void test_room_and_floor(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	struct store_append *ap = NULL;
	uint64_t size = queue_file(f->queue_fd, "R1", MSG1);

	assert_true(store_quota_allows(0, UINT64_MAX, UINT64_MAX));
	assert_true(store_quota_allows(10, 4, 6));
	assert_false(store_quota_allows(10, 4, 7));
	assert_false(store_quota_allows(10, 11, 0));
	assert_false(store_quota_allows(10, 10, 1));
	assert_false(store_quota_allows(UINT64_MAX - 1, 1, UINT64_MAX));

	assert_int_equal(store_account_get(f->root, "r@example.org", &a), STORE_OK);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "R1", size, 0, 0, "R1", NULL),
			 STORE_OK);
	assert_int_equal(store_account_room(a, 0, UINT64_MAX), STORE_OK);
	assert_int_equal(store_account_room(a, size + 5, 5), STORE_OK);
	assert_int_equal(store_account_room(a, size + 5, 6), STORE_ERR_NO_SPACE);

	assert_true(store_root_has_space(f->root));  /* no floor by default */
	store_root_set_min_free(f->root, UINT64_MAX);
	assert_false(store_root_has_space(f->root));
	assert_int_equal(store_append_begin(a, "INBOX", &ap), STORE_ERR_NO_SPACE);
	assert_null(ap);
	store_root_set_min_free(f->root, 0);
	assert_int_equal(store_append_begin(a, "INBOX", &ap), STORE_OK);
	store_append_abort(&ap);
	store_account_put(&a);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	uint64_t size = queue_file(f->queue_fd, "R1", MSG1);
	char long_id[STORE_QUEUE_ID_MAX + 2];
	uint32_t uid = 7;

	assert_int_equal(store_account_get(f->root, "a@example.org", &a), STORE_OK);
	/* a symbolic link in the queue is not followed into the mailbox */
	assert_int_equal(symlinkat("R1", f->queue_fd, "link"), 0);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "link", size, 0, 0, "L1", &uid),
			 STORE_ERR_INVALID);
	assert_int_equal(uid, 0);
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "R1", size, 0, 0, long_id, NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "R1", size, 0, 0, NULL, NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "R1", size, 0x100, 0, "R1", NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(store_deliver(a, "IN*BOX", f->queue_fd, "R1", size, 0, 0, "R1", NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(store_deliver(a, "INBOX", -1, "R1", size, 0, 0, "R1", NULL),
			 STORE_ERR_INVALID);
	assert_int_equal(inbox_messages(a, "INBOX"), 0);
	assert_int_equal(msg_files(a), 0);
	store_account_put(&a);
}

/* The queue on another file system than the mail (here tmpfs): a clear
 * error, nothing stored. */
static void test_other_file_system(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	char shm[] = "/dev/shm/tern-test-deliver-XXXXXX";
	struct stat s1, s2;
	enum store_error err;
	uint64_t size;
	int fd;

	if (mkdtemp(shm) == NULL) {
		skip();
		return;
	}
	fd = open(shm, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &s1), 0);
	assert_int_equal(fstat(f->queue_fd, &s2), 0);
	size = queue_file(fd, "X1", MSG1);
	assert_int_equal(store_account_get(f->root, "a@example.org", &a), STORE_OK);
	err = store_deliver(a, "INBOX", fd, "X1", size, 0, 0, "X1", NULL);
	unlinkat(fd, "X1", 0);
	close(fd);
	rmdir(shm);
	if (s1.st_dev == s2.st_dev) {
		store_account_put(&a);
		skip();
		return;
	}
	assert_int_equal(err, STORE_ERR_IO);
	assert_int_equal(inbox_messages(a, "INBOX"), 0);
	assert_int_equal(msg_files(a), 0);
	store_account_put(&a);
}

#define CRASH_MESSAGES 400

/* A delivery agent killed at a random moment, before the queue recorded
 * what it delivered: delivering everything again after the "restart"
 * leaves every message in the INBOX exactly once. */
static void test_redelivery_after_kill(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	struct store_message *msgs;
	char name[32], text[128];
	uint64_t sizes[CRASH_MESSAGES];
	size_t n;
	pid_t pid;

	for (int i = 0; i < CRASH_MESSAGES; i++) {
		snprintf(name, sizeof(name), "K%d", i);
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody %d\r\n", i, i);
		sizes[i] = queue_file(f->queue_fd, name, text);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_account *mine;

		if (store_open(f->dir, "k@example.org", &mine) != STORE_OK)
			_exit(1);
		for (int i = 0; i < CRASH_MESSAGES; i++) {
			snprintf(name, sizeof(name), "K%d", i);
			if (store_deliver(mine, "INBOX", f->queue_fd, name, sizes[i], 0, 0, name,
					  NULL) != STORE_OK)
				_exit(2);
		}
		_exit(0);
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	usleep(20000 + (useconds_t)(rand() % 100000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	assert_int_equal(store_account_get(f->root, "k@example.org", &a), STORE_OK);
	for (int i = 0; i < CRASH_MESSAGES; i++) {
		snprintf(name, sizeof(name), "K%d", i);
		assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, name, sizes[i], 0, 0, name,
					       NULL), STORE_OK);
	}
	assert_int_equal(store_message_list(a, TREF(a, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, CRASH_MESSAGES);
	store_messages_free(msgs, n);
	for (int i = 0; i < CRASH_MESSAGES; i += 37) {
		uint32_t uid;

		snprintf(name, sizeof(name), "K%d", i);
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody %d\r\n", i, i);
		assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, name, sizes[i], 0, 0, name,
					       &uid), STORE_OK);
		read_back(a, "INBOX", uid, text);
	}
	/* no file without its row (the repair removed what the kill left) */
	assert_int_equal(msg_files(a), CRASH_MESSAGES);
	store_account_put(&a);
}

/* An index.db of schema 2 (before queue ids) opens and takes deliveries. */
static void test_schema_2(void **state)
{
	struct fixture *f = *state;
	struct store_account *a;
	char path[256];
	uint64_t size = queue_file(f->queue_fd, "S1", MSG1);
	uint32_t uid;
	sqlite3 *db;

	assert_int_equal(store_open(f->dir, "s@example.org", &a), STORE_OK);
	assert_int_equal(store_append(a, "INBOX", "old\r\n", 5, 0, NULL, 0, NULL), STORE_OK);
	snprintf(path, sizeof(path), "%s/index.db", store_path(a));
	store_close(&a);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, TEST_SCHEMA_UNDO_V4 " DROP INDEX messages_queue;"
				      " ALTER TABLE messages DROP COLUMN queue_id;"
				      " PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, "s@example.org", &a), STORE_OK);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "S1", size, 0, 0, "S1", &uid),
			 STORE_OK);
	assert_int_equal(uid, 2);
	assert_int_equal(store_deliver(a, "INBOX", f->queue_fd, "S1", size, 0, 0, "S1", &uid),
			 STORE_OK);
	assert_int_equal(uid, 2);
	read_back(a, "INBOX", 1, "old\r\n");
	store_close(&a);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *stmt;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(stmt, 0), 7);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deliver_shares_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_file_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redelivery_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_and_floor, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
