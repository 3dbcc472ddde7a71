/* tls - SSL_CTX setup per policy, loading the pair from memory,
 * self-signed certificate generation, reload; see tls.h. */
#include "core/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
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

#include "core/cert-helper.h"
#include "core/durable.h"
#include "core/errmsg.h"

#define TLS_CERT_DAYS 3650
/* The generated pair: DATA/tls/cert.pem and key.pem. */
#define TLS_GENERATED_DIR "tls"
#define TLS_GENERATED_CERT "cert.pem"
#define TLS_GENERATED_KEY "key.pem"

/* TLS 1.2 suites of TLS_POLICY_CLIENT, in the server's order of
 * preference (TLS 1.3 suites are all AEAD: OpenSSL's default). */
#define TLS_CLIENT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const char *const tls_policy_names[] = {
	[TLS_POLICY_CLIENT] = "client",
	[TLS_POLICY_MX] = "mx",
};
_Static_assert(sizeof(tls_policy_names) / sizeof(tls_policy_names[0]) == TLS_POLICY__COUNT,
	       "tls_policy_names");

static const char *const tls_policy_ciphers[] = {
	[TLS_POLICY_CLIENT] = TLS_CLIENT_CIPHERS,
	/* then the rest of OpenSSL's DEFAULT ("DEFAULT" itself is only
	 * understood first in a list), without the suites that need DH
	 * parameters, a PSK or SRP, which are never configured */
	[TLS_POLICY_MX] = TLS_CLIENT_CIPHERS ":ALL:!COMPLEMENTOFDEFAULT:!eNULL:!kDHE:!PSK:!SRP",
};
_Static_assert(sizeof(tls_policy_ciphers) / sizeof(tls_policy_ciphers[0]) == TLS_POLICY__COUNT,
	       "tls_policy_ciphers");

struct tls {
	pthread_mutex_t lock;
	SSL_CTX *ctx[TLS_POLICY__COUNT];
	char *cert_path;
	char *key_path;
	struct cert_helper *helper;   /* when set, the files are read through it */
	bool ktls;                    /* [tls] ktls */
};

/* A certificate chain and its key, parsed. */
struct tls_pair {
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

const char *tls_policy_name(enum tls_policy policy)
{
	return policy < TLS_POLICY__COUNT ? tls_policy_names[policy] : "?";
}

enum tls_policy tls_policy_for_service(enum service service)
{
	return service == SERVICE_SMTP ? TLS_POLICY_MX : TLS_POLICY_CLIENT;
}

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
/* Write a key or a certificate as NAME in the folder dirfd, durably
 * (durable.h): a crash leaves the old file or the whole new one. */
static int tls_write_pem(int dirfd, const char *dir, const char *name, EVP_PKEY *pkey, X509 *x,
			 char **error_r)
{
	/* secure heap: the key's text is cleared when freed */
	BIO *bio = BIO_new(BIO_s_secmem());
	const char *step = NULL;
	char path[4200];
	char *data;
	long len;
	int ok;

	if (bio == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pkey != NULL)
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_X509(bio, x);
	len = BIO_get_mem_data(bio, &data);
	if (!ok || len < 0) {
		BIO_free(bio);
		return tls_fail(error_r, "cannot write", path);
	}
	ERR_clear_error();
	if (durable_write(dirfd, name, data, (size_t)len, &step) < 0) {
		BIO_free(bio);
		return errmsg_set(error_r, "cannot write %s (%s): %s", path, step, strerror(errno));
	}
	BIO_free(bio);
	return 0;
}

static int tls_generate(const char *dir, const char *hostname, char **error_r)
{
	EVP_PKEY *pkey;
	X509 *x;
	int ret = -1;
	int dirfd;

	if (durable_mkdir(AT_FDCWD, dir, 0700) < 0)
		return tls_fail(error_r, "cannot create", dir);
	/* DATA/tls is tern's own: a symbolic link there is not followed */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return tls_fail(error_r, "cannot open", dir);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL) {
		close(dirfd);
		return tls_fail(error_r, "cannot generate a key", NULL);
	}
	x = tls_make_cert(pkey, hostname);
	if (x == NULL) {
		tls_fail(error_r, "cannot make a certificate", NULL);
	} else if (tls_write_pem(dirfd, dir, TLS_GENERATED_KEY, pkey, NULL, error_r) == 0 &&
		   tls_write_pem(dirfd, dir, TLS_GENERATED_CERT, NULL, x, error_r) == 0) {
		ret = 0;
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	close(dirfd);
	return ret;
}

/* An encrypted key would otherwise make OpenSSL prompt on the terminal. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static void tls_pair_free(struct tls_pair *pair)
{
	X509_free(pair->cert);
	sk_X509_pop_free(pair->chain, X509_free);
	EVP_PKEY_free(pair->key);
	memset(pair, 0, sizeof(*pair));
}

/* Parse the chain (the server's certificate first, as
 * SSL_CTX_use_certificate_chain_file reads it) and the key. */
static int tls_pair_parse(const struct cert_pem *pem, const char *cert_path,
			  const char *key_path, struct tls_pair *pair, char **error_r)
{
	BIO *bio = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
	X509 *x;
	unsigned long e;

	memset(pair, 0, sizeof(*pair));
	pair->chain = sk_X509_new_null();
	if (bio == NULL || pair->chain == NULL)
		abort();
	ERR_clear_error();
	pair->cert = PEM_read_bio_X509_AUX(bio, NULL, tls_no_passphrase, NULL);
	while (pair->cert != NULL && (x = PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL)) != NULL)
		if (sk_X509_push(pair->chain, x) <= 0)
			abort();
	BIO_free(bio);
	/* The end of the chain shows as "no start line". */
	e = ERR_peek_last_error();
	if (pair->cert != NULL && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	if (pair->cert == NULL || ERR_peek_error() != 0) {
		tls_pair_free(pair);
		return tls_fail(error_r, "cannot load certificate", cert_path);
	}
	bio = BIO_new_mem_buf(pem->key, (int)pem->key_len);
	if (bio == NULL)
		abort();
	pair->key = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL);
	BIO_free(bio);
	if (pair->key == NULL) {
		tls_pair_free(pair);
		return tls_fail(error_r, "cannot load key", key_path);
	}
	if (X509_check_private_key(pair->cert, pair->key) != 1) {
		tls_pair_free(pair);
		ERR_clear_error();
		if (asprintf(error_r, "key %s does not match certificate %s", key_path, cert_path) < 0)
			*error_r = NULL;
		return -1;
	}
	return 0;
}

static SSL_CTX *tls_ctx_new(enum tls_policy policy, const struct tls_pair *pair, bool ktls,
			    char **error_r)
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
	/* Kernel TLS where the kernel's tls module takes the cipher: then
	 * message bodies go out with SSL_sendfile (conn-send.c); without the
	 * module OpenSSL keeps the records itself. */
	if (ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_ENABLE_PARTIAL_WRITE);
	/* No server-side session cache: no memory held per past client. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_set_cipher_list(ctx, tls_policy_ciphers[policy]) != 1 ||
	    SSL_CTX_use_certificate(ctx, pair->cert) != 1 ||
	    SSL_CTX_set1_chain(ctx, pair->chain) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pair->key) != 1) {
		tls_fail(error_r, "cannot set up the TLS context", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The pair's bytes: through the helper, or read as this process. */
static int tls_pem_get(const struct tls *tls, struct cert_pem *pem, char **error_r)
{
	if (tls->helper != NULL)
		return cert_helper_fetch(tls->helper, pem, error_r);
	return cert_pem_read(tls->cert_path, tls->key_path, pem, error_r);
}

/* A context per policy from one pem; all or none. */
static int tls_ctx_load(const struct cert_pem *pem, const char *cert_path, const char *key_path,
			bool ktls, SSL_CTX *ctx_r[TLS_POLICY__COUNT], char **error_r)
{
	struct tls_pair pair;
	int ret = 0;

	memset(ctx_r, 0, TLS_POLICY__COUNT * sizeof(*ctx_r));
	if (tls_pair_parse(pem, cert_path, key_path, &pair, error_r) < 0)
		return -1;
	for (int p = 0; p < TLS_POLICY__COUNT && ret == 0; p++) {
		ctx_r[p] = tls_ctx_new((enum tls_policy)p, &pair, ktls, error_r);
		if (ctx_r[p] == NULL)
			ret = -1;
	}
	tls_pair_free(&pair);
	if (ret < 0)
		for (int p = 0; p < TLS_POLICY__COUNT; p++)
			SSL_CTX_free(ctx_r[p]);
	return ret;
}

static int tls_load(const struct tls *tls, SSL_CTX *ctx_r[TLS_POLICY__COUNT], char **error_r)
{
	struct cert_pem pem;
	int ret;

	if (tls_pem_get(tls, &pem, error_r) < 0)
		return -1;
	ret = tls_ctx_load(&pem, tls->cert_path, tls->key_path, tls->ktls, ctx_r, error_r);
	cert_pem_clear(&pem);
	return ret;
}

void tls_paths(const struct config *cfg, char **cert_r, char **key_r, bool *self_signed_r)
{
	const char *cert = cfg->tls.cert != NULL ? cfg->tls.cert : "";
	const char *key = cfg->tls.key != NULL ? cfg->tls.key : "";

	*self_signed_r = *cert == '\0';
	if (*cert != '\0') {
		*cert_r = strdup(cert);
		*key_r = strdup(key);
	} else if (asprintf(cert_r, "%s/" TLS_GENERATED_DIR "/" TLS_GENERATED_CERT,
			    cfg->server.data_dir) < 0 ||
		   asprintf(key_r, "%s/" TLS_GENERATED_DIR "/" TLS_GENERATED_KEY,
			    cfg->server.data_dir) < 0) {
		abort();
	}
	if (*cert_r == NULL || *key_r == NULL)
		abort();
}

/* The user the certificate helper guards a configured pair's paths
 * against, when tls_new starts one (as root); NULL for none. An unknown
 * [server] user (or root) gets no helper: privs_drop refuses it right
 * after, with the reason. */
static struct passwd *tls_helper_user(const struct config *cfg, bool self_signed)
{
	struct passwd *pw;

	if (self_signed || geteuid() != 0 || cfg->server.user == NULL)
		return NULL;
	pw = getpwnam(cfg->server.user);
	return pw != NULL && pw->pw_uid != 0 ? pw : NULL;
}

int tls_new(const struct config *cfg, struct tls **tls_r, char **error_r)
{
	const char *cert = cfg->tls.cert != NULL ? cfg->tls.cert : "";
	const char *key = cfg->tls.key != NULL ? cfg->tls.key : "";
	struct passwd *pw;
	struct tls *tls;
	bool self_signed;

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
	tls->ktls = cfg->tls.ktls;
	tls_paths(cfg, &tls->cert_path, &tls->key_path, &self_signed);
	if (self_signed) {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/" TLS_GENERATED_DIR, cfg->server.data_dir);
		if ((access(tls->cert_path, F_OK) < 0 || access(tls->key_path, F_OK) < 0) &&
		    tls_generate(dir, cfg->server.hostname != NULL ? cfg->server.hostname : "localhost",
				 error_r) < 0) {
			tls_free(&tls);
			return -1;
		}
	} else if ((pw = tls_helper_user(cfg, false)) != NULL &&
		   cert_helper_start(tls->cert_path, tls->key_path, pw->pw_uid, pw->pw_gid,
				     &tls->helper, error_r) < 0) {
		tls_free(&tls);
		return -1;
	}
	if (tls_load(tls, tls->ctx, error_r) < 0) {
		tls_free(&tls);
		return -1;
	}
	*tls_r = tls;
	return 0;
}

int tls_reload(struct tls *tls, char **error_r)
{
	SSL_CTX *ctx[TLS_POLICY__COUNT], *old[TLS_POLICY__COUNT];

	*error_r = NULL;
	if (tls_load(tls, ctx, error_r) < 0)
		return -1;
	pthread_mutex_lock(&tls->lock);
	memcpy(old, tls->ctx, sizeof(old));
	memcpy(tls->ctx, ctx, sizeof(ctx));
	pthread_mutex_unlock(&tls->lock);
	/* Connections that started with the old contexts hold references. */
	for (int p = 0; p < TLS_POLICY__COUNT; p++)
		SSL_CTX_free(old[p]);
	return 0;
}

SSL_CTX *tls_ctx_acquire(struct tls *tls, enum tls_policy policy)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&tls->lock);
	ctx = tls->ctx[policy];
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&tls->lock);
	return ctx;
}

void tls_free(struct tls **tlsp)
{
	struct tls *tls = *tlsp;

	if (tls == NULL)
		return;
	for (int p = 0; p < TLS_POLICY__COUNT; p++)
		SSL_CTX_free(tls->ctx[p]);
	cert_helper_free(&tls->helper);
	free(tls->cert_path);
	free(tls->key_path);
	pthread_mutex_destroy(&tls->lock);
	free(tls);
	*tlsp = NULL;
}

SSL_CTX *tls_client_ctx_new(const struct config *cfg, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *ca = cfg->tls.ca_file != NULL ? cfg->tls.ca_file : "";

	*error_r = NULL;
	if (ctx == NULL) {
		tls_fail(error_r, "cannot create a TLS client context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server that closes without close_notify after QUIT is normal. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	if (cfg->tls.ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_fail(error_r, "cannot load the system's certificate store", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (*ca != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			tls_fail(error_r, "cannot load [tls] ca_file", ca);
			SSL_CTX_free(ctx);
			return NULL;
		}
		/* its certificates are anchors, whether self-signed roots or not */
		X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	}
	return ctx;
}

int tls_check(const struct config *cfg, char **error_r)
{
	SSL_CTX *ctx[TLS_POLICY__COUNT];
	struct cert_pem pem;
	char *cert, *key;
	struct passwd *pw;
	bool self_signed;
	int ret;

	*error_r = NULL;
	tls_paths(cfg, &cert, &key, &self_signed);
	pw = tls_helper_user(cfg, self_signed);
	ret = pw != NULL && (cert_path_check(cert, pw->pw_uid, pw->pw_gid, error_r) < 0 ||
			     cert_path_check(key, pw->pw_uid, pw->pw_gid, error_r) < 0) ? -1 : 0;
	if (ret == 0)
		ret = cert_pem_read(cert, key, &pem, error_r);
	if (ret == 0) {
		ret = tls_ctx_load(&pem, cert, key, cfg->tls.ktls, ctx, error_r);
		cert_pem_clear(&pem);
		for (int p = 0; ret == 0 && p < TLS_POLICY__COUNT; p++)
			SSL_CTX_free(ctx[p]);
	}
	free(cert);
	free(key);
	return ret;
}
