/* test-durable - the durable-file helper: files appear whole under their
 * name or not at all (a writer killed between any two steps, and at
 * random moments, leaves the old content or the whole new one), 0600
 * whatever the umask, no symbolic link followed, folders and markers
 * made and removed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/durable.h"
#include "tmpdir.h"

struct fixture {
	char *dir;
	int fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tmpdir_new("durable");
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->fd >= 0);
	/* every file must be 0600 by itself, not by the umask */
	umask(0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* The file's whole content (NUL-terminated), or NULL when missing. */
static char *slurp(int dirfd, const char *name, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0;
	char chunk[4096];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf = realloc(buf, len + (size_t)n + 1);
		assert_non_null(buf);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		buf = calloc(1, 1);
	assert_non_null(buf);
	buf[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return buf;
}

static bool exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_write_and_replace(void **state)
{
	struct fixture *f = *state;
	const char *step = "unset";
	struct stat st;
	char *got;

	assert_int_equal(durable_write(f->fd, "a.pem", "first\n", 6, &step), 0);
	assert_null(step);
	got = slurp(f->fd, "a.pem", NULL);
	assert_string_equal(got, "first\n");
	free(got);
	assert_int_equal(fstatat(f->fd, "a.pem", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(exists(f->fd, "a.pem.tmp"));
	/* replacing keeps one name, one file */
	assert_int_equal(durable_write(f->fd, "a.pem", "second, longer\n", 15, NULL), 0);
	got = slurp(f->fd, "a.pem", NULL);
	assert_string_equal(got, "second, longer\n");
	free(got);
	assert_false(exists(f->fd, "a.pem.tmp"));
	/* an empty file is a file too */
	assert_int_equal(durable_write(f->fd, "empty", "", 0, NULL), 0);
	assert_int_equal(fstatat(f->fd, "empty", &st, 0), 0);
	assert_int_equal(st.st_size, 0);
}

/* A writer that dies after any step before the rename leaves the old
 * content under the name; the leftover temporary file does not stop the
 * next write. */
static void test_crash_between_steps(void **state)
{
	struct fixture *f = *state;
	char *got;

	assert_int_equal(durable_write(f->fd, "cfg", "old\n", 4, NULL), 0);
	for (int stop = 0; stop < 3; stop++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			/* the steps of durable_write, cut short at `stop` */
			int fd = durable_open_new(f->fd, "cfg.tmp");

			if (fd < 0)
				_exit(1);
			if (stop >= 1 && write(fd, "new, ha", 7) != 7)
				_exit(1);
			if (stop >= 2 && fsync(fd) < 0)
				_exit(1);
			_exit(0);   /* killed before the rename */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		got = slurp(f->fd, "cfg", NULL);
		assert_string_equal(got, "old\n");
		free(got);
		assert_true(exists(f->fd, "cfg.tmp"));
		/* the next writer is not stopped by what the crash left */
		assert_int_equal(durable_write(f->fd, "cfg", "old\n", 4, NULL), 0);
		assert_false(exists(f->fd, "cfg.tmp"));
	}
	/* a file made by durable_open_new and committed by the caller */
	{
		int fd = durable_open_new(f->fd, "part.tmp");
		const char *step = "unset";

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "whole\n", 6), 6);
		assert_int_equal(durable_commit(f->fd, fd, "part.tmp", "part", &step), 0);
		assert_null(step);
		got = slurp(f->fd, "part", NULL);
		assert_string_equal(got, "whole\n");
		free(got);
		assert_false(exists(f->fd, "part.tmp"));
	}
}

/* Version v of the file: a header giving v and the length, then filler:
 * a reader can tell a whole version from a part of one. */
static size_t version_make(char *buf, size_t size, unsigned v)
{
	size_t len = 64 + (v * 7919u) % (size - 64);
	int head = snprintf(buf, size, "%u %zu\n", v, len);

	for (size_t i = (size_t)head; i < len; i++)
		buf[i] = (char)('a' + (v + i) % 26);
	return len;
}

/* A child rewrites one file over and over and is killed at a random
 * moment: the file then holds one whole version. */
static void test_killed_at_random(void **state)
{
	struct fixture *f = *state;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int round = 0; round < 5; round++) {
		static char buf[65536], want[65536];
		unsigned v;
		size_t len, want_len;
		char *got;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (unsigned i = 1;; i++) {
				len = version_make(buf, sizeof(buf), i);
				if (durable_write(f->fd, "busy", buf, len, NULL) < 0)
					_exit(1);
			}
		}
		usleep(20000 + (useconds_t)(rand() % 80000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		got = slurp(f->fd, "busy", &len);
		if (got == NULL)
			continue;   /* killed before the first rename */
		assert_int_equal(sscanf(got, "%u", &v), 1);
		want_len = version_make(want, sizeof(want), v);
		assert_int_equal(len, want_len);
		assert_memory_equal(got, want, len);
		free(got);
	}
}

static void test_links_not_followed(void **state)
{
	struct fixture *f = *state;
	char *got;

	assert_int_equal(durable_write(f->fd, "victim", "precious\n", 9, NULL), 0);
	/* a new file never goes through a link at its name */
	assert_int_equal(symlinkat("victim", f->fd, "planted"), 0);
	assert_int_equal(durable_open_new(f->fd, "planted"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(durable_create(f->fd, "planted"), -1);
	assert_int_equal(errno, EEXIST);
	/* a link planted at NAME.tmp is removed, not written through */
	assert_int_equal(symlinkat("victim", f->fd, "out.tmp"), 0);
	assert_int_equal(durable_write(f->fd, "out", "mine\n", 5, NULL), 0);
	/* a link at the final name is replaced, its target untouched */
	assert_int_equal(durable_write(f->fd, "planted", "mine\n", 5, NULL), 0);
	got = slurp(f->fd, "victim", NULL);
	assert_string_equal(got, "precious\n");
	free(got);
	got = slurp(f->fd, "planted", NULL);
	assert_string_equal(got, "mine\n");
	free(got);
}

static void test_commit_failure(void **state)
{
	struct fixture *f = *state;
	const char *step = NULL;
	int fd;

	/* a rename over a non-empty folder fails: the temporary goes */
	assert_int_equal(mkdirat(f->fd, "taken", 0700), 0);
	assert_int_equal(durable_create(f->fd, "taken/inside"), 0);
	fd = durable_open_new(f->fd, "t.tmp");
	assert_true(fd >= 0);
	assert_int_equal(durable_commit(f->fd, fd, "t.tmp", "taken", &step), -1);
	assert_string_equal(step, "rename");
	assert_false(exists(f->fd, "t.tmp"));
	/* fd was closed */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* durable_write names the step too */
	assert_int_equal(durable_write(f->fd, "nofolder/x", "x", 1, &step), -1);
	assert_string_equal(step, "create");
	assert_int_equal(errno, ENOENT);
}

static void test_folders_and_markers(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(durable_mkdir(f->fd, "mail", 0700), 0);
	assert_int_equal(fstatat(f->fd, "mail", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* again: already there */
	assert_int_equal(durable_mkdir(f->fd, "mail", 0700), 0);
	/* several components, the last one made */
	assert_int_equal(durable_mkdir(f->fd, "mail/example.org", 0700), 0);
	assert_int_equal(fstatat(f->fd, "mail/example.org", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(durable_mkdir(f->fd, "none/x", 0700), -1);
	assert_int_equal(errno, ENOENT);
	/* by path, from the current folder */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/bypath", f->dir);
		assert_int_equal(durable_mkdir(AT_FDCWD, path, 0700), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	/* a marker: made once, removed, removing nothing is fine */
	assert_int_equal(durable_create(f->fd, "clean"), 0);
	assert_int_equal(fstatat(f->fd, "clean", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(durable_create(f->fd, "clean"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(durable_remove(f->fd, "clean"), 0);
	assert_false(exists(f->fd, "clean"));
	assert_int_equal(durable_remove(f->fd, "clean"), 0);
	/* a folder is not removed by it */
	assert_int_equal(durable_remove(f->fd, "mail"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_and_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_between_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_at_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders_and_markers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
