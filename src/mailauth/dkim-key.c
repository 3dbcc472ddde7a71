/* dkim-key - one DKIM key: generation, PEM, the public record, signing;
 * see dkim-key.h. OpenSSL 3 does the cryptography. */
#include "mailauth/dkim-key.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* RFC 1035 3.3.14: a TXT record is character-strings of 255 octets. */
#define DKIM_TXT_STRING_MAX 255
/* An Ed25519 public key (RFC 8032 5.1.5). */
#define DKIM_ED25519_PUBLIC_LEN 32

struct dkim_key {
	atomic_uint refs;
	enum dkim_algorithm alg;
	EVP_PKEY *pkey;
};

static const char *const dkim_algorithm_names[] = {
	[DKIM_ALGORITHM_RSA] = "rsa",
	[DKIM_ALGORITHM_ED25519] = "ed25519",
};
_Static_assert(sizeof(dkim_algorithm_names) / sizeof(dkim_algorithm_names[0]) ==
	       DKIM_ALGORITHM__COUNT, "dkim_algorithm_names out of step with enum dkim_algorithm");

static const char *const dkim_algorithm_tags[] = {
	[DKIM_ALGORITHM_RSA] = "rsa-sha256",
	[DKIM_ALGORITHM_ED25519] = "ed25519-sha256",
};
_Static_assert(sizeof(dkim_algorithm_tags) / sizeof(dkim_algorithm_tags[0]) ==
	       DKIM_ALGORITHM__COUNT, "dkim_algorithm_tags out of step with enum dkim_algorithm");

const char *dkim_algorithm_name(enum dkim_algorithm alg)
{
	return (unsigned)alg < DKIM_ALGORITHM__COUNT ? dkim_algorithm_names[alg] : "invalid";
}

const char *dkim_algorithm_tag(enum dkim_algorithm alg)
{
	return (unsigned)alg < DKIM_ALGORITHM__COUNT ? dkim_algorithm_tags[alg] : "invalid";
}

bool dkim_algorithm_parse(const char *name, enum dkim_algorithm *alg_r)
{
	for (unsigned i = 0; i < DKIM_ALGORITHM__COUNT; i++) {
		if (strcmp(name, dkim_algorithm_names[i]) == 0) {
			*alg_r = (enum dkim_algorithm)i;
			return true;
		}
	}
	return false;
}

static struct dkim_key *dkim_key_wrap(EVP_PKEY *pkey, enum dkim_algorithm alg)
{
	struct dkim_key *key = calloc(1, sizeof(*key));

	if (key == NULL)
		abort();
	atomic_init(&key->refs, 1);
	key->alg = alg;
	key->pkey = pkey;
	return key;
}

struct dkim_key *dkim_key_generate(enum dkim_algorithm alg)
{
	EVP_PKEY *pkey = alg == DKIM_ALGORITHM_RSA
		? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_RSA_BITS)
		: EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	return pkey != NULL ? dkim_key_wrap(pkey, alg) : NULL;
}

/* What a memory BIO holds, appended to out. */
static int dkim_bio_take(BIO *bio, struct buf *out)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	return len > 0 ? buf_append(out, data, (size_t)len) : -1;
}

int dkim_key_pem(const struct dkim_key *key, struct buf *pem_r)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int ret = -1;

	buf_init(pem_r, 0);
	if (bio == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) == 1)
		ret = dkim_bio_take(bio, pem_r);
	BIO_free(bio);
	if (ret < 0)
		dkim_key_pem_release(pem_r);
	return ret;
}

void dkim_key_pem_release(struct buf *pem)
{
	if (pem->data != NULL)
		OPENSSL_cleanse(pem->data, pem->cap);
	buf_release(pem);
}

struct dkim_key *dkim_key_parse(const char *pem, size_t len, const char **error_r)
{
	BIO *bio;
	EVP_PKEY *pkey;
	enum dkim_algorithm alg;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*error_r = "cannot read the key";
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		*error_r = "not a PEM private key";
		return NULL;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		alg = DKIM_ALGORITHM_RSA;
		/* RFC 8301 3.2: shorter keys MUST NOT be used to sign */
		if (bits < 1024 || bits > 8192) {
			EVP_PKEY_free(pkey);
			*error_r = "an RSA key must have 1024 to 8192 bits";
			return NULL;
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		alg = DKIM_ALGORITHM_ED25519;
	} else {
		EVP_PKEY_free(pkey);
		*error_r = "not an RSA or Ed25519 key";
		return NULL;
	}
	return dkim_key_wrap(pkey, alg);
}

enum dkim_algorithm dkim_key_algorithm(const struct dkim_key *key)
{
	return key->alg;
}

struct dkim_key *dkim_key_ref(struct dkim_key *key)
{
	atomic_fetch_add(&key->refs, 1);
	return key;
}

void dkim_key_unref(struct dkim_key **keyp)
{
	struct dkim_key *key = *keyp;

	if (key == NULL)
		return;
	*keyp = NULL;
	if (atomic_fetch_sub(&key->refs, 1) != 1)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int dkim_base64(const unsigned char *data, size_t len, struct buf *out)
{
	size_t need = (len + 2) / 3 * 4 + 1;
	char *p;

	if (len > INT32_MAX / 2 || (p = buf_reserve(out, need)) == NULL)
		return -1;
	buf_commit(out, (size_t)EVP_EncodeBlock((unsigned char *)p, data, (int)len));
	return 0;
}

int dkim_key_record(const struct dkim_key *key, struct buf *out)
{
	unsigned char raw[DKIM_ED25519_PUBLIC_LEN], *der = NULL;
	size_t raw_len = sizeof(raw);
	int der_len, ret;

	if (buf_printf(out, "v=DKIM1; k=%s; p=", dkim_algorithm_name(key->alg)) < 0)
		return -1;
	if (key->alg == DKIM_ALGORITHM_ED25519) {
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) != 1)
			return -1;
		return dkim_base64(raw, raw_len, out);
	}
	der_len = i2d_PUBKEY(key->pkey, &der);
	if (der_len <= 0)
		return -1;
	ret = dkim_base64(der, (size_t)der_len, out);
	OPENSSL_free(der);
	return ret;
}

int dkim_key_zone_line(const struct dkim_key *key, const char *selector, const char *domain,
		       struct buf *out)
{
	struct buf record;
	int ret;

	buf_init(&record, 0);
	ret = dkim_key_record(key, &record);
	if (ret == 0)
		ret = buf_printf(out, "%s._domainkey.%s. IN TXT", selector, domain);
	for (size_t at = 0; ret == 0 && at < record.len; at += DKIM_TXT_STRING_MAX) {
		size_t n = record.len - at < DKIM_TXT_STRING_MAX ? record.len - at
								 : DKIM_TXT_STRING_MAX;

		/* the record holds no '"' or '\\': base64 and fixed tags */
		ret = buf_printf(out, " \"%.*s\"", (int)n, record.data + at);
	}
	buf_release(&record);
	return ret;
}

size_t dkim_key_sign(const struct dkim_key *key, const unsigned char hash[DKIM_HASH_LEN],
		     unsigned char sig[DKIM_SIGNATURE_MAX])
{
	size_t len = DKIM_SIGNATURE_MAX;
	bool ok;

	if (key->alg == DKIM_ALGORITHM_ED25519) {
		/* RFC 8463 3: PureEd25519 signs the hash itself, no
		 * digest of its own (hence the NULL digest) */
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL && EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key->pkey,
							 NULL) == 1 &&
		     EVP_DigestSign(md, sig, &len, hash, DKIM_HASH_LEN) == 1;
		EVP_MD_CTX_free(md);
	} else {
		/* RFC 6376 3.3.1: RSASSA-PKCS1-v1_5 with SHA-256, over the
		 * hash already made */
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);

		ok = pctx != NULL && EVP_PKEY_sign_init(pctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(pctx, NULL, &len, hash, DKIM_HASH_LEN) == 1 &&
		     len <= DKIM_SIGNATURE_MAX &&
		     EVP_PKEY_sign(pctx, sig, &len, hash, DKIM_HASH_LEN) == 1;
		EVP_PKEY_CTX_free(pctx);
	}
	return ok ? len : 0;
}
