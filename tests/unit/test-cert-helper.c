/* test-cert-helper - the certificate helper process: it answers with the
 * current contents of its two files, reports why it could not read them
 * and keeps going, holds no descriptor of the server's but its socket,
 * exits when the socket closes, and refuses a path the server's user could
 * point elsewhere. Also reading the files directly. */
#include <errno.h>
#include <fcntl.h>
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

#include "core/cert-helper.h"

/* The user the server would run as: a uid and gid that own nothing here. */
#define SERVER_UID ((uid_t)4242)
#define SERVER_GID ((gid_t)4242)

struct fixture {
	char dir[64];
	char cert[128];
	char key[128];
};

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-test-cert-helper-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/fullchain.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/privkey.pem", f->dir);
	write_file(f->cert, "CERT one\n");
	write_file(f->key, "KEY one\n");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fixture_done(struct fixture *f)
{
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void expect_pem(struct cert_helper *helper, const char *cert, const char *key)
{
	struct cert_pem pem;
	char *error = NULL;

	if (cert_helper_fetch(helper, &pem, &error) < 0)
		fail_msg("fetch: %s", error);
	assert_null(error);
	assert_string_equal(pem.cert, cert);
	assert_int_equal(pem.cert_len, strlen(cert));
	assert_string_equal(pem.key, key);
	assert_int_equal(pem.key_len, strlen(key));
	cert_pem_clear(&pem);
	assert_null(pem.cert);
	assert_null(pem.key);
}

/* One helper, one fetch that succeeds. */
static void expect_pem_once(const char *cert, const char *key)
{
	struct cert_helper *helper = NULL;
	struct cert_pem pem;
	char *error = NULL;

	assert_int_equal(cert_helper_start(cert, key, SERVER_UID, SERVER_GID, &helper, &error), 0);
	if (cert_helper_fetch(helper, &pem, &error) < 0)
		fail_msg("fetch: %s", error);
	cert_pem_clear(&pem);
	cert_helper_free(&helper);
}

static void test_helper_reads_current_files(void **state)
{
	struct cert_helper *helper = NULL;
	struct fixture f;
	struct cert_pem pem;
	char *error = NULL;
	char moved[160];

	(void)state;
	fixture_init(&f);
	assert_int_equal(cert_helper_start(f.cert, f.key, SERVER_UID, SERVER_GID, &helper, &error), 0);
	expect_pem(helper, "CERT one\n", "KEY one\n");
	/* renewed in place: the next answer has the new bytes */
	write_file(f.cert, "CERT two\n");
	write_file(f.key, "KEY two\n");
	expect_pem(helper, "CERT two\n", "KEY two\n");

	/* a file gone: the helper says why, and stays */
	snprintf(moved, sizeof(moved), "%s.moved", f.key);
	assert_int_equal(rename(f.key, moved), 0);
	assert_int_equal(cert_helper_fetch(helper, &pem, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, f.key));
	assert_non_null(strstr(error, strerror(ENOENT)));
	assert_null(pem.cert);
	free(error);
	error = NULL;
	/* a FIFO in its place is refused, not waited on */
	assert_int_equal(mkfifo(f.key, 0600), 0);
	assert_int_equal(cert_helper_fetch(helper, &pem, &error), -1);
	assert_non_null(strstr(error, "not a regular file"));
	free(error);
	error = NULL;
	assert_int_equal(unlink(f.key), 0);
	assert_int_equal(rename(moved, f.key), 0);
	expect_pem(helper, "CERT two\n", "KEY two\n");
	cert_helper_free(&helper);
	assert_null(helper);
	fixture_done(&f);
}

static void test_helper_keeps_no_other_descriptor(void **state)
{
	struct cert_helper *helper = NULL;
	struct fixture f;
	char *error = NULL;
	char c;
	int p[2];

	(void)state;
	fixture_init(&f);
	/* A descriptor the server holds (say, DATA/serve.lock or a
	 * listener), inherited across fork: the helper must close its copy. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(cert_helper_start(f.cert, f.key, SERVER_UID, SERVER_GID, &helper, &error), 0);
	/* once it has answered, it has set up its descriptors */
	expect_pem(helper, "CERT one\n", "KEY one\n");
	close(p[1]);
	/* end of file: no write end is left open in the helper */
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	cert_helper_free(&helper);
	fixture_done(&f);
}

static void test_helper_exits_when_the_socket_closes(void **state)
{
	struct cert_helper *helper = NULL;
	struct fixture f;
	char *error = NULL;
	char c;
	int p[2];

	(void)state;
	fixture_init(&f);
	/* The helper keeps stderr: make it a pipe, whose end of file tells
	 * that the helper (the last other holder) has exited. */
	{
		int saved = dup(2);

		assert_int_equal(pipe(p), 0);
		assert_int_equal(dup2(p[1], 2), 2);
		assert_int_equal(cert_helper_start(f.cert, f.key, SERVER_UID, SERVER_GID, &helper, &error), 0);
		assert_int_equal(dup2(saved, 2), 2);
		close(saved);
		close(p[1]);
	}
	expect_pem(helper, "CERT one\n", "KEY one\n");
	/* cert_helper_free closes the socket and reaps the helper; a helper
	 * that did not exit would keep it waiting here */
	cert_helper_free(&helper);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	fixture_done(&f);
}

/* A fetch that the helper refuses, with `want` in the reason. */
static void expect_refused(const char *cert, const char *key, const char *want)
{
	struct cert_helper *helper = NULL;
	struct cert_pem pem;
	char *error = NULL;

	assert_int_equal(cert_helper_start(cert, key, SERVER_UID, SERVER_GID, &helper, &error), 0);
	assert_int_equal(cert_helper_fetch(helper, &pem, &error), -1);
	assert_non_null(error);
	if (strstr(error, want) == NULL)
		fail_msg("'%s' not in '%s'", want, error);
	free(error);
	cert_helper_free(&helper);
}

static void test_helper_refuses_paths_the_server_can_change(void **state)
{
	struct fixture f;
	char sub[128], link[160], want[400];

	(void)state;
	fixture_init(&f);
	/* a world-writable folder on the way */
	snprintf(sub, sizeof(sub), "%s/open", f.dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(link, sizeof(link), "%s/key.pem", sub);
	assert_int_equal(symlink(f.key, link), 0);
	snprintf(want, sizeof(want), "not reading %s as root: the server's user can change %s",
		 link, sub);
	expect_refused(f.cert, link, want);
	/* the same through a symlink to that folder, named by the path it
	 * leads to */
	{
		char alias[160], via[200];

		snprintf(alias, sizeof(alias), "%s/alias", f.dir);
		assert_int_equal(symlink("open", alias), 0);
		snprintf(via, sizeof(via), "%s/key.pem", alias);
		expect_refused(via, f.key, "the server's user can change");
	}
	assert_int_equal(chmod(sub, 0755), 0);
	if (geteuid() == 0) {
		/* a folder the server's user owns (it could swap the symlink
		 * for one to another key) */
		assert_int_equal(chown(sub, SERVER_UID, SERVER_GID), 0);
		expect_refused(f.cert, link, "the server's user can change");
		/* group-writable, with the server's group */
		assert_int_equal(chown(sub, 0, SERVER_GID), 0);
		assert_int_equal(chmod(sub, 0775), 0);
		expect_refused(f.cert, link, "the server's user can change");
		/* in a sticky folder like /tmp, an entry of the server's user */
		assert_int_equal(chmod(sub, 01777), 0);
		expect_pem_once(f.cert, link);
		assert_int_equal(lchown(link, SERVER_UID, SERVER_GID), 0);
		expect_refused(f.cert, link, "the server's user can change");
		/* a sticky folder the server's user owns: it may replace
		 * anyone's entries */
		assert_int_equal(lchown(link, 0, 0), 0);
		assert_int_equal(chown(sub, SERVER_UID, SERVER_GID), 0);
		expect_refused(f.cert, link, "the server's user can change");
	}
	fixture_done(&f);
}

static void test_direct_read(void **state)
{
	struct fixture f;
	struct cert_pem pem;
	char *error = NULL;
	char big[160];

	(void)state;
	fixture_init(&f);
	assert_int_equal(cert_pem_read(f.cert, f.key, &pem, &error), 0);
	assert_string_equal(pem.cert, "CERT one\n");
	assert_string_equal(pem.key, "KEY one\n");
	cert_pem_clear(&pem);

	/* over the bound: refused by name */
	snprintf(big, sizeof(big), "%s/big.pem", f.dir);
	{
		int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, CERT_PEM_MAX + 1), 0);
		close(fd);
	}
	assert_int_equal(cert_pem_read(big, f.key, &pem, &error), -1);
	assert_non_null(strstr(error, big));
	assert_non_null(strstr(error, "larger than"));
	free(error);
	/* a folder is not a certificate */
	assert_int_equal(cert_pem_read(f.cert, f.dir, &pem, &error), -1);
	assert_non_null(strstr(error, "not a regular file"));
	assert_null(pem.cert);
	free(error);
	fixture_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_reads_current_files),
		cmocka_unit_test(test_helper_keeps_no_other_descriptor),
		cmocka_unit_test(test_helper_exits_when_the_socket_closes),
		cmocka_unit_test(test_helper_refuses_paths_the_server_can_change),
		cmocka_unit_test(test_direct_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
