/* test-datadir - the data folder's server lock (a second holder is refused
 * and told the first one's pid; closing releases it) and the usability
 * checks of `tern check`. Permission cases need another user: they are in
 * the e2e tests (test_data_folder.py, test_check.py). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/datadir.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void make_tmp(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/tern-test-datadir-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void test_lock_once_per_folder(void **state)
{
	char dir[64], data[128], path[160], text[32], want[32];
	char *error = NULL;
	struct stat st;
	FILE *fp;
	int fd, fd2;

	(void)state;
	make_tmp(dir, sizeof(dir));
	snprintf(data, sizeof(data), "%s/data", dir);
	/* the folder is created, the lock file 0600 with our pid */
	fd = datadir_lock(data, &error);
	assert_true(fd >= 0);
	assert_null(error);
	assert_int_equal(stat(data, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/serve.lock", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(text, want);

	/* a second open of the lock (flock is per open file) is refused */
	assert_int_equal(datadir_lock(data, &error), -1);
	assert_non_null(error);
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(error, want));
	assert_non_null(strstr(error, data));
	free(error);
	error = NULL;

	/* closing releases it */
	close(fd);
	fd2 = datadir_lock(data, &error);
	assert_true(fd2 >= 0);
	close(fd2);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_lock_refuses_a_symlink(void **state)
{
	char dir[64], path[160], target[160];
	char *error = NULL;

	(void)state;
	make_tmp(dir, sizeof(dir));
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/serve.lock", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(datadir_lock(dir, &error), -1);
	assert_non_null(strstr(error, path));
	free(error);
	assert_int_equal(access(target, F_OK), -1);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_usable(void **state)
{
	char dir[64], path[160];
	char *error = NULL;
	bool created;
	FILE *fp;

	(void)state;
	make_tmp(dir, sizeof(dir));
	/* an existing folder: writable, and the probe file is gone */
	assert_int_equal(datadir_check_usable(dir, false, &created, &error), 0);
	assert_false(created);
	assert_int_equal(datadir_check_writable(dir, &error), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(mkdir(dir, 0700), 0);

	/* missing, with a parent to create it in (trailing slashes too) */
	snprintf(path, sizeof(path), "%s/data//", dir);
	assert_int_equal(datadir_check_usable(path, false, &created, &error), 0);
	assert_true(created);
	assert_int_equal(access(path, F_OK), -1);

	/* missing, and so is its parent */
	snprintf(path, sizeof(path), "%s/no/data", dir);
	assert_int_equal(datadir_check_usable(path, true, &created, &error), -1);
	assert_non_null(strstr(error, "does not exist and cannot be created"));
	assert_non_null(strstr(error, strerror(ENOENT)));
	free(error);

	/* a file where the folder should be */
	snprintf(path, sizeof(path), "%s/file", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(datadir_check_usable(path, false, &created, &error), -1);
	assert_non_null(strstr(error, "is not a folder"));
	free(error);
	/* and a file as the parent */
	snprintf(path, sizeof(path), "%s/file/data", dir);
	assert_int_equal(datadir_check_usable(path, false, &created, &error), -1);
	assert_non_null(strstr(error, "cannot be reached"));
	free(error);

	/* a folder that is gone cannot take the probe */
	snprintf(path, sizeof(path), "%s/gone", dir);
	assert_int_equal(datadir_check_writable(path, &error), -1);
	assert_non_null(strstr(error, "is not writable by user"));
	free(error);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_once_per_folder),
		cmocka_unit_test(test_lock_refuses_a_symlink),
		cmocka_unit_test(test_usable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
