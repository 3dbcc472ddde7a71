/* test-cert-helper - the certificate helper process: it answers with the
 * current contents of its two files, reports why it could not read them
 * and keeps going, holds no descriptor of the server's but its socket, and
 * exits when the socket closes. Also reading the files directly. */
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

static void test_helper_reads_current_files(void **state)
{
	struct cert_helper *helper = NULL;
	struct fixture f;
	struct cert_pem pem;
	char *error = NULL;
	char moved[160];

	(void)state;
	fixture_init(&f);
	assert_int_equal(cert_helper_start(f.cert, f.key, &helper, &error), 0);
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
	assert_int_equal(cert_helper_start(f.cert, f.key, &helper, &error), 0);
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
		assert_int_equal(cert_helper_start(f.cert, f.key, &helper, &error), 0);
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
		cmocka_unit_test(test_direct_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
