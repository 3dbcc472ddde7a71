/* test-store-remove - taking an account's folder away (store_remove_*):
 * nothing changes while the account is open or when the removal is
 * aborted; a committed removal leaves the account's path empty, so a new
 * store of the same address starts with no mail; --keep-mail's folders
 * never collide. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

#define ADDR "Alice@Example.org"

struct fixture {
	char data[64];
	char account[128];   /* DATA/mail/example.org/alice */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->data, sizeof(f->data), "/tmp/tern-test-remove-XXXXXX");
	assert_non_null(mkdtemp(f->data));
	snprintf(f->account, sizeof(f->account), "%s/mail/example.org/alice", f->data);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->data);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* An account with one message in INBOX, closed again. */
static void fill(const struct fixture *f)
{
	struct store_account *acct;

	assert_int_equal(store_open(f->data, ADDR, &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "Subject: x\r\n\r\nhi\r\n", 18, 0, NULL, 0, NULL),
			 STORE_OK);
	store_close(&acct);
}

static uint32_t inbox_count(const struct fixture *f)
{
	struct store_account *acct;
	struct store_mailbox box;
	uint32_t n;

	assert_int_equal(store_open(f->data, ADDR, &acct), STORE_OK);
	assert_int_equal(store_mailbox_get(acct, "INBOX", &box), STORE_OK);
	n = box.messages;
	store_mailbox_free(&box);
	store_close(&acct);
	return n;
}

static void test_remove(void **state)
{
	struct fixture *f = *state;
	struct store_removal *rm;
	char *where = (char *)"unset";

	fill(f);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, false, &where), STORE_OK);
	assert_null(rm);
	assert_null(where);
	assert_false(exists(f->account));
	assert_int_equal(inbox_count(f), 0);
}

static void test_refused_while_open(void **state)
{
	struct fixture *f = *state;
	struct store_account *acct;
	struct store_removal *rm = NULL;

	fill(f);
	assert_int_equal(store_open(f->data, ADDR, &acct), STORE_OK);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_ERR_LOCKED);
	assert_null(rm);
	store_close(&acct);
	assert_int_equal(inbox_count(f), 1);

	/* aborted: nothing changes */
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	store_remove_abort(&rm);
	assert_null(rm);
	assert_int_equal(inbox_count(f), 1);
}

static void test_keep(void **state)
{
	struct fixture *f = *state;
	struct store_removal *rm;
	char *first, *second, path[512];
	size_t prefix;

	fill(f);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, true, &first), STORE_OK);
	assert_non_null(first);
	snprintf(path, sizeof(path), "%s/mail/example.org/.deleted/alice.", f->data);
	prefix = strlen(path);
	assert_memory_equal(first, path, prefix);
	snprintf(path, sizeof(path), "%s/index.db", first);
	assert_true(exists(path));
	assert_false(exists(f->account));
	assert_int_equal(inbox_count(f), 0);

	/* again within the same second: another name */
	fill(f);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, true, &second), STORE_OK);
	assert_non_null(second);
	assert_string_not_equal(first, second);
	assert_true(exists(first));
	assert_true(exists(second));
	free(first);
	free(second);
}

static void test_no_folder_and_bad_address(void **state)
{
	struct fixture *f = *state;
	struct store_removal *rm;
	char *where = (char *)"unset";

	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, false, &where), STORE_OK);
	assert_null(where);
	assert_false(exists(f->account));

	assert_int_equal(store_remove_begin(f->data, "../x@example.org", &rm), STORE_ERR_INVALID);
	assert_int_equal(store_remove_begin(f->data, ".deleted@example.org", &rm), STORE_ERR_INVALID);
	assert_int_equal(store_remove_begin(f->data, "no-at-sign", &rm), STORE_ERR_INVALID);
}

/* A symbolic link in the moved folder is removed, not followed. */
static void test_links_not_followed(void **state)
{
	struct fixture *f = *state;
	struct store_removal *rm;
	char outside[128], link[256], *where;
	FILE *fp;

	fill(f);
	snprintf(outside, sizeof(outside), "%s/outside", f->data);
	fp = fopen(outside, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(link, sizeof(link), "%s/msg/link", f->account);
	assert_int_equal(symlink(f->data, link), 0);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, false, &where), STORE_OK);
	assert_false(exists(f->account));
	assert_true(exists(outside));
}

/* A removal killed between its move and the removal of the moved
 * folder leaves it in .deleting: the next removal in the domain takes it
 * away, and never touches what --keep-mail kept in .deleted. */
static void test_leftovers_removed(void **state)
{
	struct fixture *f = *state;
	struct store_removal *rm;
	char leftover[256], kept[256], *where = NULL;

	fill(f);
	assert_int_equal(store_remove_begin(f->data, ADDR, &rm), STORE_OK);
	assert_int_equal(store_remove_commit(&rm, true, &where), STORE_OK);
	assert_non_null(where);
	snprintf(kept, sizeof(kept), "%s", where);
	free(where);
	snprintf(leftover, sizeof(leftover), "%s/mail/example.org/.deleting", f->data);
	assert_int_equal(mkdir(leftover, 0700), 0);
	strcat(leftover, "/bob.20261201T000000Z");
	assert_int_equal(mkdir(leftover, 0700), 0);
	strcat(leftover, "/index.db");
	fclose(fopen(leftover, "w"));
	*strrchr(leftover, '/') = '\0';
	assert_int_equal(store_remove_begin(f->data, "carol@example.org", &rm), STORE_OK);
	store_remove_abort(&rm);
	assert_true(exists(kept));
	assert_false(exists(leftover));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_folder_and_bad_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_removed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
