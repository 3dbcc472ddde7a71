/* test-store-root - the store root and its shared account handles: one
 * handle (one connection, lock and msg/ descriptor) per account while any
 * caller holds it, whatever the case of the address; many threads using
 * one handle at once, and getting and putting it in a race; a root closed
 * while a handle is still held; a handle that lingers after its last put;
 * taking a handle again (store_account_get_again) of the same store, of
 * an account deleted (nothing re-created), deleted and added again, or
 * being deleted while the open waits for the folder's lock; the word to
 * an account's watchers that its store was taken away. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/log.h"
#include "store/root-control.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store-ref.h"

#define THREADS 8
#define PER_THREAD 25

/* Descriptors this process has open (the listing's own not counted). */
static size_t open_fds(void)
{
	return tmpdir_count("/proc/self/fd", NULL) - 1;
}

static size_t inbox_count(struct store_account *acct)
{
	struct store_mailbox box;
	size_t n;

	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	n = box.messages;
	store_mailbox_free(&box);
	return n;
}

static void test_one_handle_per_account(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a, *a2, *a3, *b;
	size_t before, one, two;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	before = open_fds();
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	one = open_fds();
	/* index.db, -wal, -shm, the lock and msg/ */
	assert_int_equal(one - before, 5);
	assert_int_equal(store_account_get(root, "U@Example.ORG", &a2), STORE_OK);
	assert_ptr_equal(a, a2);
	assert_int_equal(store_account_get(root, "u@example.org", &a3), STORE_OK);
	assert_ptr_equal(a, a3);
	/* sharing costs no descriptor */
	assert_int_equal(open_fds(), one);
	assert_int_equal(store_account_get(root, "v@example.org", &b), STORE_OK);
	assert_ptr_not_equal(a, b);
	two = open_fds();
	assert_int_equal(two - one, 5);
	/* a change through one holder is seen through the others */
	assert_int_equal(store_append(a2, "INBOX", "x\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(inbox_count(a3), 1);
	store_account_put(&a2);
	assert_null(a2);
	store_account_put(&a3);
	assert_int_equal(open_fds(), two);
	assert_int_equal(inbox_count(a), 1);
	/* the last put closes it */
	store_account_put(&a);
	assert_int_equal(open_fds(), two - 5);
	store_account_put(&b);
	assert_int_equal(open_fds(), before);
	store_account_put(&b);
	/* opened again, it has its mail */
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	assert_int_equal(inbox_count(a), 1);
	store_account_put(&a);
	/* what cannot name a folder is refused, as by store_open */
	assert_int_equal(store_account_get(root, "../x@example.org", &a), STORE_ERR_INVALID);
	assert_null(a);
	assert_int_equal(store_account_get(NULL, "u@example.org", &a), STORE_ERR_INVALID);
	store_root_close(&root);
	assert_null(root);
	store_root_close(&root);
	assert_int_equal(store_root_open(NULL, &root), STORE_ERR_INVALID);
	tmpdir_free(dir);
}

struct worker {
	struct store_root *root;
	pthread_barrier_t *barrier;
	struct store_account *seen;
	int id;
	enum store_error err;
};

/* Hold the handle with everyone else, append and flag messages on it. */
static void *worker_shared(void *arg)
{
	struct worker *w = arg;
	struct store_account *acct;
	char body[64];

	w->err = store_account_get(w->root, w->id % 2 ? "u@example.org" : "U@example.org", &acct);
	if (w->err != STORE_OK)
		return NULL;
	/* every thread holds it here at the same time */
	pthread_barrier_wait(w->barrier);
	w->seen = acct;
	for (int i = 0; i < PER_THREAD && w->err == STORE_OK; i++) {
		uint32_t uid;
		int len = snprintf(body, sizeof(body), "Subject: %d-%d\r\n\r\nx\r\n", w->id, i);

		w->err = store_append(acct, "INBOX", body, (size_t)len, 0, NULL, 0, &uid);
		if (w->err == STORE_OK)
			w->err = store_flags_update(acct, TREF(acct, "INBOX"), &uid, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_SEEN, NULL, NULL, NULL);
	}
	pthread_barrier_wait(w->barrier);
	store_account_put(&acct);
	return NULL;
}

/* Get, append, put, over and over: handles opened and closed in a race. */
static void *worker_churn(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD && w->err == STORE_OK; i++) {
		struct store_account *acct;

		w->err = store_account_get(w->root, "c@example.org", &acct);
		if (w->err != STORE_OK)
			break;
		w->err = store_append(acct, "INBOX", "y\r\n", 3, 0, NULL, 0, NULL);
		store_account_put(&acct);
	}
	return NULL;
}

static void run_workers(struct store_root *root, void *(*fn)(void *), struct worker *w)
{
	pthread_t threads[THREADS];
	pthread_barrier_t barrier;

	assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .root = root, .barrier = &barrier, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, fn, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(w[i].err, STORE_OK);
	}
	pthread_barrier_destroy(&barrier);
}

static void test_threads_share_one_handle(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct worker w[THREADS];
	struct store_root *root;
	struct store_account *acct;
	struct store_message *msgs;
	size_t before, n;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	before = open_fds();
	run_workers(root, worker_shared, w);
	for (int i = 1; i < THREADS; i++)
		assert_ptr_equal(w[i].seen, w[0].seen);
	/* closed after the last put */
	assert_int_equal(open_fds(), before);
	assert_int_equal(store_account_get(root, "u@example.org", &acct), STORE_OK);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, THREADS * PER_THREAD);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(msgs[i].uid, i + 1);
		assert_int_equal(msgs[i].flags, STORE_FLAG_SEEN);
		if (i > 0)
			assert_true(msgs[i].modseq != msgs[i - 1].modseq);
	}
	store_messages_free(msgs, n);
	store_account_put(&acct);

	run_workers(root, worker_churn, w);
	assert_int_equal(open_fds(), before);
	assert_int_equal(store_account_get(root, "c@example.org", &acct), STORE_OK);
	assert_int_equal(inbox_count(acct), THREADS * PER_THREAD);
	store_account_put(&acct);
	store_root_close(&root);
	tmpdir_free(dir);
}

/* The server exits while a job still holds an account: the root is
 * closed first, the late put closes the handle and frees the root. */
static void test_close_root_while_held(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root, *kept;
	struct store_account *acct, *other;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	kept = root;
	assert_int_equal(store_account_get(root, "u@example.org", &acct), STORE_OK);
	store_root_close(&root);
	assert_null(root);
	/* no new handles from a closed root */
	assert_int_equal(store_account_get(kept, "v@example.org", &other), STORE_ERR_INVALID);
	assert_int_equal(store_append(acct, "INBOX", "x\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	store_account_put(&acct);   /* frees the root too (the leak check sees it) */
	tmpdir_free(dir);
}

/* With a linger time the last put keeps the handle open (the same one
 * comes back, its descriptors stay), the folder cannot be taken away
 * meanwhile (`user del` asks store_root_release first, then it can), the
 * reaper closes it once the time is over, and store_root_close closes
 * what lingers. */
static void test_linger(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a, *again;
	struct store_removal *rm;
	size_t before, open;
	int waited = 0;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_root_linger(root, 1), STORE_OK);
	before = open_fds();
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	open = open_fds();
	store_account_put(&a);
	assert_int_equal(open_fds(), open);
	assert_int_equal(store_account_get(root, "U@example.org", &again), STORE_OK);
	store_account_put(&again);
	assert_int_equal(store_remove_begin(dir, "u@example.org", &rm), STORE_ERR_LOCKED);
	assert_false(store_root_release(root, "x@example.org"));
	assert_true(store_root_release(root, "u@example.org"));
	assert_int_equal(open_fds(), before);
	assert_int_equal(store_remove_begin(dir, "u@example.org", &rm), STORE_OK);
	store_remove_abort(&rm);
	/* the reaper: closed within a few seconds of the last put */
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	store_account_put(&a);
	while (open_fds() != before && waited++ < 50)
		usleep(100 * 1000);
	assert_int_equal(open_fds(), before);
	/* what lingers at the close is closed by it (the leak check) */
	assert_int_equal(store_account_get(root, "v@example.org", &a), STORE_OK);
	store_account_put(&a);
	store_root_close(&root);
	assert_int_equal(open_fds(), before);
	tmpdir_free(dir);
}

/* An account that cannot be opened (its domain's folder is a file):
 * every get says so, none leaves a handle behind. */
static void test_failed_open(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *acct, *ok;
	char path[256];
	FILE *fp;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_account_get(root, "ok@example.org", &ok), STORE_OK);
	snprintf(path, sizeof(path), "%s/mail/bad.example", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(store_account_get(root, "u@bad.example", &acct), STORE_ERR_IO);
	assert_null(acct);
	assert_int_equal(store_account_get(root, "u@bad.example", &acct), STORE_ERR_IO);
	store_account_put(&ok);
	store_root_close(&root);
	tmpdir_free(dir);
}

static bool account_folder_exists(const char *dir)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/mail/example.org/u", dir);
	return stat(path, &st) == 0;
}

static void remove_account(const char *dir)
{
	struct store_removal *rm;
	char *where;

	assert_int_equal(store_remove_begin(dir, "u@example.org", &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, false, &where), STORE_OK);
	assert_null(where);
	assert_false(account_folder_exists(dir));
}

/* The same store again: while held (the same handle), and after its last
 * put closed it (opened again, the same id); another id is GONE. */
static void test_get_again_same(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a, *again;
	uint64_t id;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	id = store_account_id(a);
	assert_int_not_equal(id, 0);
	assert_int_equal(store_account_get_again(root, "U@example.org", id, &again), STORE_OK);
	assert_ptr_equal(a, again);
	store_account_put(&again);
	assert_int_equal(store_account_get_again(root, "u@example.org", id + 1, &again),
			 STORE_ERR_GONE);
	assert_null(again);
	assert_int_equal(store_append(a, "INBOX", "x\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	store_account_put(&a);
	assert_int_equal(store_account_get_again(root, "u@example.org", id, &again), STORE_OK);
	assert_int_equal(store_account_id(again), id);
	assert_int_equal(inbox_count(again), 1);
	store_account_put(&again);
	assert_int_equal(store_account_get_again(root, "u@example.org", id + 1, &again),
			 STORE_ERR_GONE);
	assert_int_equal(store_account_get_again(root, "bad", id, &again), STORE_ERR_INVALID);
	store_root_close(&root);
	tmpdir_free(dir);
}

/* Deleted: GONE, and nothing is made for it (no folder, no index); an
 * account never opened is GONE too. */
static void test_get_again_deleted(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a, *again;
	size_t before;
	uint64_t id;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	before = open_fds();
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	id = store_account_id(a);
	store_account_put(&a);
	remove_account(dir);
	assert_int_equal(store_account_get_again(root, "u@example.org", id, &again), STORE_ERR_GONE);
	assert_null(again);
	assert_false(account_folder_exists(dir));
	assert_int_equal(open_fds(), before);
	assert_int_equal(store_account_get_again(root, "v@example.org", id, &again), STORE_ERR_GONE);
	assert_int_equal(store_account_get_again(root, "v@nowhere.example", id, &again),
			 STORE_ERR_GONE);
	store_root_close(&root);
	tmpdir_free(dir);
}

/* Deleted and added again: the new store has another id; the old id is
 * GONE whether the new one is held open or not, and leaves it alone. */
static void test_get_again_recreated(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a, *b, *again;
	uint64_t old_id, new_id;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_account_get(root, "u@example.org", &a), STORE_OK);
	old_id = store_account_id(a);
	store_account_put(&a);
	remove_account(dir);
	assert_int_equal(store_account_get(root, "u@example.org", &b), STORE_OK);
	new_id = store_account_id(b);
	assert_int_not_equal(new_id, old_id);
	assert_int_equal(store_append(b, "INBOX", "new\r\n", 5, 0, NULL, 0, NULL), STORE_OK);
	/* held */
	assert_int_equal(store_account_get_again(root, "u@example.org", old_id, &again),
			 STORE_ERR_GONE);
	assert_null(again);
	assert_int_equal(inbox_count(b), 1);
	store_account_put(&b);
	/* closed: opened to be checked, and closed again */
	assert_int_equal(store_account_get_again(root, "u@example.org", old_id, &again),
			 STORE_ERR_GONE);
	assert_int_equal(store_account_get_again(root, "u@example.org", new_id, &again), STORE_OK);
	assert_int_equal(inbox_count(again), 1);
	store_account_put(&again);
	store_root_close(&root);
	tmpdir_free(dir);
}

struct again_race {
	struct store_root *root;
	uint64_t id;
	enum store_error result;
};

static void *again_thread(void *arg)
{
	struct again_race *race = arg;
	struct store_account *acct;

	race->result = store_account_get_again(race->root, "u@example.org", race->id, &acct);
	store_account_put(&acct);
	return NULL;
}

/* `tern user del` holds the folder (store_remove_begin) while a session
 * takes its handle again: the open waits for the lock, then finds the
 * folder moved away and answers GONE; nothing is re-created. With the
 * removal given up instead, it opens the account. */
static void test_get_again_during_removal(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct again_race race = { 0 };
	struct store_removal *rm;
	struct store_account *a;
	pthread_t thread;
	char *where;

	(void)state;
	assert_int_equal(store_root_open(dir, &race.root), STORE_OK);
	assert_int_equal(store_account_get(race.root, "u@example.org", &a), STORE_OK);
	race.id = store_account_id(a);
	store_account_put(&a);

	assert_int_equal(store_remove_begin(dir, "u@example.org", &rm), STORE_OK);
	assert_int_equal(pthread_create(&thread, NULL, again_thread, &race), 0);
	usleep(100 * 1000);   /* the thread waits in the flock (or has not begun) */
	store_remove_abort(&rm);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(race.result, STORE_OK);

	assert_int_equal(store_remove_begin(dir, "u@example.org", &rm), STORE_OK);
	assert_int_equal(pthread_create(&thread, NULL, again_thread, &race), 0);
	usleep(100 * 1000);
	assert_int_equal(store_remove_commit(&rm, false, &where), STORE_OK);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(race.result, STORE_ERR_GONE);
	assert_false(account_folder_exists(dir));
	store_root_close(&race.root);
	tmpdir_free(dir);
}

static void gone_seen(void *arg, const struct hub_change *change)
{
	int *seen = arg;

	assert_int_equal(change->kind, HUB_CHANGE_ACCOUNT);
	assert_string_equal(change->address, "U@example.org");
	(*seen)++;
}

/* The word that an account's store was taken away, as `user del` sends
 * it to the server (store_changes_forward's CHANGE argument), reaches
 * every watch of the account, whatever mailbox it watches, and only
 * those. */
static void test_account_change(void **state)
{
	struct hub_change gone = { .address = "U@example.org", .kind = HUB_CHANGE_ACCOUNT }, got;
	char arg[CONTROL_ARG_MAX + 1], address[CONTROL_ARG_MAX + 1];
	struct hub_watch *inbox, *other;
	int seen = 0, not_seen = 0;

	(void)state;
	assert_true(store_change_format(&gone, arg, sizeof(arg)));
	assert_string_equal(arg, "account,0,0,0,U@example.org");
	assert_true(store_change_parse(arg, &got, address));
	assert_int_equal(got.kind, HUB_CHANGE_ACCOUNT);
	inbox = hub_watch_add("u@example.org", 1, NULL, gone_seen, &seen);
	other = hub_watch_add("v@example.org", 1, NULL, gone_seen, &not_seen);
	assert_int_equal(hub_notify(&got), 1);
	assert_int_equal(seen, 1);
	assert_int_equal(not_seen, 0);
	hub_watch_remove(&inbox);
	hub_watch_remove(&other);
}

/* Lingering handles of accounts nobody uses hold the last descriptors
 * (EMFILE): an account somebody opens now still opens, the lingering
 * ones giving theirs up, rather than failing until their linger ends. */
static void test_linger_gives_way(void **state)
{
	char *dir = tmpdir_new("store-root");
	struct store_root *root;
	struct store_account *a;
	struct rlimit saved, tight;
	char address[64];
	size_t before;

	(void)state;
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_root_linger(root, 600), STORE_OK);
	before = open_fds();
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "u%d@example.org", i);
		assert_int_equal(store_account_get(root, address, &a), STORE_OK);
		store_account_put(&a);
	}
	assert_int_equal(open_fds(), before + 4 * 5);
	/* room for 3 more descriptors: an account needs 5 */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	tight = saved;
	tight.rlim_cur = (rlim_t)(open_fds() + 3);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	assert_int_equal(store_account_get(root, "new@example.org", &a), STORE_OK);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_non_null(a);
	assert_int_equal(inbox_count(a), 0);
	store_account_put(&a);
	store_root_close(&root);
	assert_int_equal(open_fds(), before);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_handle_per_account),
		cmocka_unit_test(test_threads_share_one_handle),
		cmocka_unit_test(test_close_root_while_held),
		cmocka_unit_test(test_failed_open),
		cmocka_unit_test(test_linger),
		cmocka_unit_test(test_get_again_same),
		cmocka_unit_test(test_get_again_deleted),
		cmocka_unit_test(test_get_again_recreated),
		cmocka_unit_test(test_get_again_during_removal),
		cmocka_unit_test(test_account_change),
		cmocka_unit_test(test_linger_gives_way),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
