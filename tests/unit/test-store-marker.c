/* test-store-marker - repair on open only after an unclean shutdown: the
 * clean-close marker is there only while nobody holds the account and
 * its last holder closed it cleanly; an open without it repairs (a kill
 * -9 while open, an account from before the marker, a second process
 * that died while another held the account), an open with it does not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store-ref.h"

#define ADDR "m@example.org"

struct fixture {
	char *dir;
	char account[128];   /* DATA/mail/example.org/m */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tmpdir_new("marker");
	snprintf(f->account, sizeof(f->account), "%s/mail/example.org/m", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static bool has(const struct fixture *f, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->account, name);
	return lstat(path, &st) == 0;
}

/* A file in msg/ that the index does not know: what a crash between an
 * append's rename and its commit leaves (or, with "tmp.", before the
 * rename). */
static void plant(const struct fixture *f, const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/msg/%s", f->account, name);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\r\n", 3), 3);
	close(fd);
}

static void open_close(const struct fixture *f)
{
	struct store_account *acct;

	assert_int_equal(store_open(f->dir, ADDR, &acct), STORE_OK);
	store_close(&acct);
}

static void test_clean_close_skips_repair(void **state)
{
	struct fixture *f = *state;
	struct store_account *acct;

	assert_int_equal(store_open(f->dir, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "a\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	/* no marker while it is open */
	assert_false(has(f, "clean"));
	store_close(&acct);
	assert_true(has(f, "clean"));
	/* closed cleanly: the next open trusts the folder, it does not list it */
	plant(f, "1.1.P1.C1");
	plant(f, "tmp.1.1.P1.C2");
	open_close(f);
	assert_true(has(f, "msg/1.1.P1.C1"));
	assert_true(has(f, "msg/tmp.1.1.P1.C2"));
	assert_true(has(f, "clean"));
}

/* An account made before the marker existed has none: repaired once. */
static void test_missing_marker_repairs(void **state)
{
	struct fixture *f = *state;
	char path[256];

	open_close(f);
	snprintf(path, sizeof(path), "%s/clean", f->account);
	assert_int_equal(unlink(path), 0);
	plant(f, "1.1.P1.C1");
	plant(f, "tmp.1.1.P1.C2");
	open_close(f);
	assert_false(has(f, "msg/1.1.P1.C1"));
	assert_false(has(f, "msg/tmp.1.1.P1.C2"));
	assert_true(has(f, "clean"));
	/* and only once */
	plant(f, "1.1.P1.C3");
	open_close(f);
	assert_true(has(f, "msg/1.1.P1.C3"));
}

/* A new account (no index yet) has no marker either: nothing to repair,
 * and nothing is removed (files an index does not know are left for an
 * admin, not taken for a crash's). */
static void test_new_account_not_repaired(void **state)
{
	struct fixture *f = *state;
	const char *parts[] = { "mail", "mail/example.org", "mail/example.org/m",
				"mail/example.org/m/msg" };
	char path[256];

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, parts[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	plant(f, "1.1.P1.C1");
	open_close(f);
	assert_true(has(f, "msg/1.1.P1.C1"));
	assert_true(has(f, "clean"));
}

/* Run `hold` in a child that then waits, with what it opened, to be
 * killed with SIGKILL, which happens once `hold` has returned true. */
static void killed_holding(const struct fixture *f, bool (*hold)(const struct fixture *f))
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		if (!hold(f) || write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Open the account, commit a message, leave a streamed append and a
 * renamed but uncommitted file behind. */
static bool hold_with_leftovers(const struct fixture *f)
{
	struct store_account *acct;
	struct store_append *ap;

	if (store_open(f->dir, ADDR, &acct) != STORE_OK ||
	    store_append(acct, "INBOX", "kept\r\n", 6, 0, NULL, 0, NULL) != STORE_OK ||
	    store_append_begin(acct, "INBOX", &ap) != STORE_OK ||
	    store_append_write(ap, "half", 4) != STORE_OK)
		return false;
	plant(f, "1.1.P1.C9");
	return !has(f, "clean");
}

/* A holder killed with the account open leaves no marker: the next open
 * repairs what it left. */
static void test_kill_while_open_repairs(void **state)
{
	struct fixture *f = *state;
	struct store_account *acct;
	struct store_message *msgs;
	char path[256];
	size_t n;

	open_close(f);
	killed_holding(f, hold_with_leftovers);
	assert_false(has(f, "clean"));
	assert_int_equal(store_open(f->dir, ADDR, &acct), STORE_OK);
	snprintf(path, sizeof(path), "%s/msg", f->account);
	assert_int_equal(tmpdir_count(path, "tmp."), 0);
	assert_false(has(f, "msg/1.1.P1.C9"));
	assert_int_equal(tmpdir_count(path, NULL), 1);
	assert_int_equal(store_message_list(acct, TREF(acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	store_messages_free(msgs, n);
	store_close(&acct);
	assert_true(has(f, "clean"));
}

/* Open the account beside another holder and leave an orphan. */
static bool hold_second(const struct fixture *f)
{
	struct store_account *acct;

	if (store_open(f->dir, ADDR, &acct) != STORE_OK)
		return false;
	plant(f, "1.1.P2.C1");
	return true;
}

/* A second process opens the account while another holds it, and dies:
 * the holder cannot tell, so its last close writes no marker and the
 * next open repairs. */
static void test_second_process_dies(void **state)
{
	struct fixture *f = *state;
	struct store_account *acct;

	open_close(f);
	assert_int_equal(store_open(f->dir, ADDR, &acct), STORE_OK);
	killed_holding(f, hold_second);
	assert_true(has(f, "shared"));
	store_close(&acct);
	assert_false(has(f, "clean"));
	open_close(f);
	assert_false(has(f, "msg/1.1.P2.C1"));
	assert_false(has(f, "shared"));
	assert_true(has(f, "clean"));
}

/* A shared handle (store root): the marker goes at the first get and
 * comes back at the last put. */
static void test_shared_handle(void **state)
{
	struct fixture *f = *state;
	struct store_root *root;
	struct store_account *a, *b;

	open_close(f);
	assert_true(has(f, "clean"));
	assert_int_equal(store_root_open(f->dir, &root), STORE_OK);
	assert_int_equal(store_account_get(root, ADDR, &a), STORE_OK);
	assert_false(has(f, "clean"));
	assert_int_equal(store_account_get(root, ADDR, &b), STORE_OK);
	store_account_put(&a);
	assert_false(has(f, "clean"));
	/* one handle, one opener: no note of a second one */
	assert_false(has(f, "shared"));
	store_account_put(&b);
	assert_true(has(f, "clean"));
	store_root_close(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_close_skips_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_marker_repairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_account_not_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_while_open_repairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_process_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_handle, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
