/* tls - SSL_CTX setup, self-signed certificate generation, reload; see
 * tls.h. */
#include "core/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define TLS_CERT_DAYS 3650

struct tls {
	pthread_mutex_t lock;
	SSL_CTX *ctx;
	char *cert_path;
	char *key_path;
};

/* Turn the OpenSSL error queue (or errno) into a malloc'd message. */
static int tls_fail(char **error_r, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char detail[256];

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	else
		snprintf(detail, sizeof(detail), "%s", strerror(errno));
	ERR_clear_error();
	if (asprintf(error_r, "%s%s%s: %s", what, path != NULL ? " " : "",
		     path != NULL ? path : "", detail) < 0)
		*error_r = NULL;
	return -1;
}

static bool tls_hostname_ok(const char *name)
{
	if (*name == '\0' || strlen(name) > 253)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return true;
}

static int tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ret;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ret = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return ret;
}

static X509 *tls_make_cert(EVP_PKEY *pkey, const char *hostname)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name;
	char san[300];

	if (x == NULL || serial == NULL)
		goto fail;
	if (X509_set_version(x, 2) != 1 || BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) == NULL)
		goto fail;
	if (X509_set_pubkey(x, pkey) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	if (tls_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    tls_add_ext(x, NID_ext_key_usage, "serverAuth") < 0)
		goto fail;
	if (tls_hostname_ok(hostname)) {
		snprintf(san, sizeof(san), "DNS:%s", hostname);
		if (tls_add_ext(x, NID_subject_alt_name, san) < 0)
			goto fail;
	}
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/* Write a PEM file atomically, 0600. `pkey` or `x` is written. */
static int tls_write_pem(const char *path, EVP_PKEY *pkey, X509 *x, char **error_r)
{
	char tmp[4200];
	FILE *f;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return tls_fail(error_r, "cannot create", tmp);
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return tls_fail(error_r, "cannot write", tmp);
	}
	if (pkey != NULL)
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, x);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return tls_fail(error_r, "cannot write", path);
	}
	return 0;
}

static int tls_generate(const char *dir, const char *cert_path, const char *key_path,
			const char *hostname, char **error_r)
{
	EVP_PKEY *pkey;
	X509 *x;
	int ret = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return tls_fail(error_r, "cannot create", dir);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL)
		return tls_fail(error_r, "cannot generate a key", NULL);
	x = tls_make_cert(pkey, hostname);
	if (x == NULL) {
		tls_fail(error_r, "cannot make a certificate", NULL);
	} else if (tls_write_pem(key_path, pkey, NULL, error_r) == 0 &&
		   tls_write_pem(cert_path, NULL, x, error_r) == 0) {
		ret = 0;
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}

static SSL_CTX *tls_ctx_load(const char *cert_path, const char *key_path, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_fail(error_r, "cannot create a TLS context", NULL);
		return NULL;
	}
	/* TLS 1.2 and 1.3 only. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* SSL_OP_NO_TICKET: no TLS 1.2 session tickets (set_num_tickets below
	 * covers TLS 1.3); some senders (Microsoft's) drop STARTTLS to
	 * servers that issue them, and no resumption is offered anyway. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
			    SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_ENABLE_PARTIAL_WRITE);
	/* No server-side session cache: no memory held per past client. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		tls_fail(error_r, "cannot load certificate", cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		tls_fail(error_r, "cannot load key", key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(error_r, "key does not match certificate", cert_path);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_new(const struct config *cfg, struct tls **tls_r, char **error_r)
{
	const char *cert = cfg->tls.cert != NULL ? cfg->tls.cert : "";
	const char *key = cfg->tls.key != NULL ? cfg->tls.key : "";
	struct tls *tls;

	*tls_r = NULL;
	*error_r = NULL;
	if ((*cert == '\0') != (*key == '\0')) {
		if (asprintf(error_r, "[tls] cert and key must be set together") < 0)
			*error_r = NULL;
		return -1;
	}
	tls = calloc(1, sizeof(*tls));
	if (tls == NULL)
		abort();
	pthread_mutex_init(&tls->lock, NULL);
	if (*cert != '\0') {
		tls->cert_path = strdup(cert);
		tls->key_path = strdup(key);
	} else {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/tls", cfg->server.data_dir);
		if (asprintf(&tls->cert_path, "%s/cert.pem", dir) < 0 ||
		    asprintf(&tls->key_path, "%s/key.pem", dir) < 0)
			abort();
		if ((access(tls->cert_path, F_OK) < 0 || access(tls->key_path, F_OK) < 0) &&
		    tls_generate(dir, tls->cert_path, tls->key_path,
				 cfg->server.hostname != NULL ? cfg->server.hostname : "localhost",
				 error_r) < 0) {
			tls_free(&tls);
			return -1;
		}
	}
	if (tls->cert_path == NULL || tls->key_path == NULL)
		abort();
	tls->ctx = tls_ctx_load(tls->cert_path, tls->key_path, error_r);
	if (tls->ctx == NULL) {
		tls_free(&tls);
		return -1;
	}
	*tls_r = tls;
	return 0;
}

int tls_reload(struct tls *tls, char **error_r)
{
	SSL_CTX *ctx = tls_ctx_load(tls->cert_path, tls->key_path, error_r);
	SSL_CTX *old;

	if (ctx == NULL)
		return -1;
	pthread_mutex_lock(&tls->lock);
	old = tls->ctx;
	tls->ctx = ctx;
	pthread_mutex_unlock(&tls->lock);
	/* Connections that started with the old context hold references. */
	SSL_CTX_free(old);
	return 0;
}

SSL_CTX *tls_ctx_acquire(struct tls *tls)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&tls->lock);
	ctx = tls->ctx;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&tls->lock);
	return ctx;
}

void tls_free(struct tls **tlsp)
{
	struct tls *tls = *tlsp;

	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls->cert_path);
	free(tls->key_path);
	pthread_mutex_destroy(&tls->lock);
	free(tls);
	*tlsp = NULL;
}
