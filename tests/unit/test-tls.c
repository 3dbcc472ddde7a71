/* test-tls - the TLS contexts: which suites each policy offers (the port 25
 * policy has no protocol to test it end to end yet), no tickets or session
 * cache, reload of every policy together, a failed reload keeping the old
 * certificate, the pair check of `tern check`, and the generated pair
 * (0600, written durably, never through a symbolic link at DATA/tls). */
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
#include <openssl/ssl.h>

#include "core/tls.h"

struct fixture {
	char dir[64];
	char data[128];
	struct config cfg;
};

/* A data folder whose generated pair (DATA/tls/) the tests use. */
static void fixture_init(struct fixture *f)
{
	struct tls *tls = NULL;
	char *error = NULL;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-test-tls-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	assert_int_equal(mkdir(f->data, 0700), 0);
	f->cfg.server.hostname = "mail.test.example";
	f->cfg.server.data_dir = f->data;
	f->cfg.server.user = "nobody";
	f->cfg.tls.cert = "";
	f->cfg.tls.key = "";
	if (tls_new(&f->cfg, &tls, &error) < 0)
		fail_msg("tls_new: %s", error);
	tls_free(&tls);
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

static void path_in(const struct fixture *f, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", f->dir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[16384];
	FILE *in = fopen(from, "r");
	size_t n;

	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	fclose(in);
	buf[n] = '\0';
	write_file(to, buf);
}

/* A second, different generated pair in DIR/NAME.crt and NAME.key. */
static void other_pair(const struct fixture *f, const char *name, char *cert, char *key,
		       size_t size)
{
	struct fixture g;

	fixture_init(&g);
	snprintf(cert, size, "%s/%s.crt", f->dir, name);
	snprintf(key, size, "%s/%s.key", f->dir, name);
	{
		char from[256];

		snprintf(from, sizeof(from), "%s/tls/cert.pem", g.data);
		copy_file(from, cert);
		snprintf(from, sizeof(from), "%s/tls/key.pem", g.data);
		copy_file(from, key);
	}
	fixture_done(&g);
}

static bool has_cipher(SSL_CTX *ctx, const char *name)
{
	STACK_OF(SSL_CIPHER) *list = SSL_CTX_get_ciphers(ctx);

	for (int i = 0; i < sk_SSL_CIPHER_num(list); i++)
		if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)), name) == 0)
			return true;
	return false;
}

static void test_policy_for_service(void **state)
{
	(void)state;
	assert_int_equal(tls_policy_for_service(SERVICE_SMTP), TLS_POLICY_MX);
	for (int s = 0; s < SERVICE__COUNT; s++)
		if (s != SERVICE_SMTP)
			assert_int_equal(tls_policy_for_service((enum service)s), TLS_POLICY_CLIENT);
	assert_string_equal(tls_policy_name(TLS_POLICY_CLIENT), "client");
	assert_string_equal(tls_policy_name(TLS_POLICY_MX), "mx");
}

static void test_client_policy_offers_ecdhe_aead_only(void **state)
{
	struct fixture f;
	struct tls *tls = NULL;
	char *error = NULL;
	SSL_CTX *ctx;
	STACK_OF(SSL_CIPHER) *list;
	int tls12 = 0;

	(void)state;
	fixture_init(&f);
	assert_int_equal(tls_new(&f.cfg, &tls, &error), 0);
	ctx = tls_ctx_acquire(tls, TLS_POLICY_CLIENT);
	list = SSL_CTX_get_ciphers(ctx);
	for (int i = 0; i < sk_SSL_CIPHER_num(list); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);

		if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any)
			continue;       /* a TLS 1.3 suite: all are AEAD */
		tls12++;
		if (!SSL_CIPHER_is_aead(c) || SSL_CIPHER_get_kx_nid(c) != NID_kx_ecdhe)
			fail_msg("client policy offers %s", SSL_CIPHER_get_name(c));
	}
	assert_int_equal(tls12, 6);
	assert_true(has_cipher(ctx, "ECDHE-RSA-CHACHA20-POLY1305"));
	assert_true(has_cipher(ctx, "TLS_AES_256_GCM_SHA384"));
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	tls_free(&tls);
	fixture_done(&f);
}

static void test_mx_policy_is_broader(void **state)
{
	struct fixture f;
	struct tls *tls = NULL;
	char *error = NULL;
	SSL_CTX *mx, *client;
	STACK_OF(SSL_CIPHER) *mx_list, *client_list;
	int first = -1;

	(void)state;
	fixture_init(&f);
	assert_int_equal(tls_new(&f.cfg, &tls, &error), 0);
	mx = tls_ctx_acquire(tls, TLS_POLICY_MX);
	client = tls_ctx_acquire(tls, TLS_POLICY_CLIENT);
	assert_ptr_not_equal(mx, client);
	/* CBC and RSA key exchange, for senders that have nothing better */
	assert_true(has_cipher(mx, "AES128-SHA"));
	assert_true(has_cipher(mx, "ECDHE-ECDSA-AES128-SHA"));
	assert_true(has_cipher(mx, "ECDHE-RSA-AES256-SHA384"));
	assert_false(has_cipher(mx, "NULL-SHA256"));
	assert_false(has_cipher(mx, "ADH-AES128-SHA"));
	assert_false(has_cipher(mx, "DHE-RSA-AES128-SHA"));
	assert_false(has_cipher(mx, "PSK-AES128-GCM-SHA256"));
	assert_false(has_cipher(mx, "DES-CBC3-SHA"));
	/* the client policy's suites come first, in the same order */
	mx_list = SSL_CTX_get_ciphers(mx);
	client_list = SSL_CTX_get_ciphers(client);
	for (int i = 0; i < sk_SSL_CIPHER_num(mx_list); i++)
		if (SSL_CIPHER_get_kx_nid(sk_SSL_CIPHER_value(mx_list, i)) != NID_kx_any) {
			first = i;
			break;
		}
	assert_true(first >= 0);
	for (int i = 0; i < sk_SSL_CIPHER_num(client_list); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(client_list, i);

		if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any)
			continue;
		assert_string_equal(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(mx_list, first)),
				    SSL_CIPHER_get_name(c));
		first++;
	}
	SSL_CTX_free(mx);
	SSL_CTX_free(client);
	tls_free(&tls);
	fixture_done(&f);
}

static void test_no_tickets_no_cache(void **state)
{
	struct fixture f;
	struct tls *tls = NULL;
	char *error = NULL;

	(void)state;
	fixture_init(&f);
	assert_int_equal(tls_new(&f.cfg, &tls, &error), 0);
	for (int p = 0; p < TLS_POLICY__COUNT; p++) {
		SSL_CTX *ctx = tls_ctx_acquire(tls, (enum tls_policy)p);

		assert_true((SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET) != 0);
		assert_int_equal(SSL_CTX_get_num_tickets(ctx), 0);
		assert_int_equal(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_OFF);
		SSL_CTX_free(ctx);
	}
	tls_free(&tls);
	fixture_done(&f);
}

/* The certificate a policy's current context serves. */
static X509 *served(struct tls *tls, enum tls_policy policy)
{
	SSL_CTX *ctx = tls_ctx_acquire(tls, policy);
	X509 *x = SSL_CTX_get0_certificate(ctx);

	X509_up_ref(x);
	SSL_CTX_free(ctx);
	return x;
}

static void test_reload_swaps_every_policy_or_none(void **state)
{
	char cert[256], key[256], cert_b[256], key_b[256], from[256];
	struct fixture f;
	struct tls *tls = NULL;
	char *error = NULL;
	X509 *a[TLS_POLICY__COUNT];
	SSL_CTX *held;

	(void)state;
	fixture_init(&f);
	/* a configured pair (read through the certificate helper when the
	 * test runs as root) */
	path_in(&f, "live.crt", cert, sizeof(cert));
	path_in(&f, "live.key", key, sizeof(key));
	snprintf(from, sizeof(from), "%s/tls/cert.pem", f.data);
	copy_file(from, cert);
	snprintf(from, sizeof(from), "%s/tls/key.pem", f.data);
	copy_file(from, key);
	f.cfg.tls.cert = cert;
	f.cfg.tls.key = key;
	other_pair(&f, "b", cert_b, key_b, sizeof(cert_b));
	assert_int_equal(tls_new(&f.cfg, &tls, &error), 0);
	for (int p = 0; p < TLS_POLICY__COUNT; p++)
		a[p] = served(tls, (enum tls_policy)p);
	assert_int_equal(X509_cmp(a[TLS_POLICY_CLIENT], a[TLS_POLICY_MX]), 0);
	held = tls_ctx_acquire(tls, TLS_POLICY_CLIENT);

	/* a garbage key: the reload fails, both policies keep the old pair */
	write_file(key, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
	assert_int_equal(tls_reload(tls, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "cannot load key"));
	assert_non_null(strstr(error, key));
	free(error);
	error = NULL;
	/* a key of another certificate: refused by name */
	copy_file(key_b, key);
	assert_int_equal(tls_reload(tls, &error), -1);
	assert_non_null(strstr(error, "does not match"));
	free(error);
	error = NULL;
	for (int p = 0; p < TLS_POLICY__COUNT; p++) {
		X509 *now = served(tls, (enum tls_policy)p);

		assert_int_equal(X509_cmp(now, a[p]), 0);
		X509_free(now);
	}

	/* the new pair: every policy serves it */
	copy_file(cert_b, cert);
	assert_int_equal(tls_reload(tls, &error), 0);
	for (int p = 0; p < TLS_POLICY__COUNT; p++) {
		X509 *now = served(tls, (enum tls_policy)p);

		assert_int_not_equal(X509_cmp(now, a[p]), 0);
		X509_free(now);
		X509_free(a[p]);
	}
	/* a context taken before the reload is still whole */
	assert_non_null(SSL_CTX_get0_certificate(held));
	SSL_CTX_free(held);
	tls_free(&tls);
	fixture_done(&f);
}

/* tls_check with [tls] cert/key set to these two. */
static int check_pair(struct fixture *f, char *cert, char *key, char **error_r)
{
	f->cfg.tls.cert = cert;
	f->cfg.tls.key = key;
	return tls_check(&f->cfg, error_r);
}

static void test_check(void **state)
{
	char cert[256], key[256], cert_b[256], key_b[256], missing[256], fifo[256];
	struct fixture f;
	char *error = NULL;

	(void)state;
	fixture_init(&f);
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", f.data);
	snprintf(key, sizeof(key), "%s/tls/key.pem", f.data);
	/* the generated pair */
	assert_int_equal(tls_check(&f.cfg, &error), 0);
	assert_null(error);
	other_pair(&f, "b", cert_b, key_b, sizeof(cert_b));
	assert_int_equal(check_pair(&f, cert_b, key_b, &error), 0);

	assert_int_equal(check_pair(&f, cert_b, key, &error), -1);
	assert_non_null(strstr(error, "does not match"));
	assert_non_null(strstr(error, key));
	free(error);

	path_in(&f, "missing.pem", missing, sizeof(missing));
	assert_int_equal(check_pair(&f, missing, key_b, &error), -1);
	assert_non_null(strstr(error, missing));
	assert_non_null(strstr(error, strerror(ENOENT)));
	free(error);

	/* a FIFO is refused at once, not read forever */
	path_in(&f, "fifo.pem", fifo, sizeof(fifo));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(check_pair(&f, cert_b, fifo, &error), -1);
	assert_non_null(strstr(error, "not a regular file"));
	free(error);

	/* a key given as the certificate */
	assert_int_equal(check_pair(&f, key_b, key_b, &error), -1);
	assert_non_null(strstr(error, "cannot load certificate"));
	free(error);

	/* as root, the helper's rule: the pair in the generated folder
	 * (DATA/tls, the server's user's own once it has run) is refused */
	if (geteuid() == 0) {
		assert_int_equal(chown(f.data, 65534, 65534), 0);
		assert_int_equal(check_pair(&f, cert, key, &error), -1);
		assert_non_null(strstr(error, "the server's user can change"));
		free(error);
	}
	fixture_done(&f);
}

/* The generated pair is made 0600 whatever the umask, with no temporary
 * left, and never written through a symbolic link planted at DATA/tls
 * (it used to be: the link's target got the key). */
static void test_generated_pair(void **state)
{
	struct fixture f;
	struct tls *tls = NULL;
	char *error = NULL;
	char path[256], outside[192];
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	fixture_init(&f);
	umask(old);
	snprintf(path, sizeof(path), "%s/tls/key.pem", f.data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/tls/cert.pem", f.data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/tls/key.pem.tmp", f.data);
	assert_int_equal(stat(path, &st), -1);

	/* DATA/tls as a link to another folder: refused, nothing written */
	path_in(&f, "outside", outside, sizeof(outside));
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(path, sizeof(path), "%s/tls", f.data);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -r '%s'", path);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(tls_new(&f.cfg, &tls, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "/tls"));
	free(error);
	assert_null(tls);
	snprintf(path, sizeof(path), "%s/key.pem", outside);
	assert_int_equal(stat(path, &st), -1);
	fixture_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_for_service),
		cmocka_unit_test(test_client_policy_offers_ecdhe_aead_only),
		cmocka_unit_test(test_mx_policy_is_broader),
		cmocka_unit_test(test_no_tickets_no_cache),
		cmocka_unit_test(test_reload_swaps_every_policy_or_none),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_generated_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
