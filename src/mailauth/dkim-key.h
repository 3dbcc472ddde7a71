/* dkim-key - one DKIM key (RFC 6376 3.3, RFC 8463): making a new one,
 * reading and writing its private key as PEM (PKCS #8), the public key
 * record to publish in DNS (3.6.1), and signing a header hash with it.
 * No files and no folders here (dkim-keys.h has the data folder). */
#ifndef TERN_MAILAUTH_DKIM_KEY_H
#define TERN_MAILAUTH_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* RSA keys are made with this many bits (RFC 8301 3.2: at least 1024,
 * 2048 recommended); keys read may have 1024 to 8192. */
#define DKIM_RSA_BITS 2048

/* The SHA-256 hash that is signed (RFC 6376 3.7, RFC 8463 3). */
#define DKIM_HASH_LEN 32
/* The longest signature: RSA 8192 bits. */
#define DKIM_SIGNATURE_MAX 1024

enum dkim_algorithm {
	DKIM_ALGORITHM_RSA,       /* rsa-sha256 */
	DKIM_ALGORITHM_ED25519,   /* ed25519-sha256, RFC 8463 */
	DKIM_ALGORITHM__COUNT
};
/* The key type of the record's k= and of the command line: "rsa", "ed25519". */
const char *dkim_algorithm_name(enum dkim_algorithm alg);
/* The signature's a= value: "rsa-sha256", "ed25519-sha256". */
const char *dkim_algorithm_tag(enum dkim_algorithm alg);
/* The algorithm named `name` ("rsa", "ed25519"): false when none is. */
bool dkim_algorithm_parse(const char *name, enum dkim_algorithm *alg_r);

struct dkim_key;

/* A new key pair. Blocking for RSA (tens of milliseconds up to a
 * second). NULL only when OpenSSL fails. */
struct dkim_key *dkim_key_generate(enum dkim_algorithm alg);
/* The private key in PEM text (PKCS #8, unencrypted) into *pem_r (a
 * new buf): 0, or -1 on error (then *pem_r is empty). Free it with
 * dkim_key_pem_release, which wipes it. */
int dkim_key_pem(const struct dkim_key *key, struct buf *pem_r);
/* Wipe and free the PEM text of dkim_key_pem. */
void dkim_key_pem_release(struct buf *pem);
/* Read a private key from PEM text (PKCS #8 or the traditional RSA
 * form). NULL with *error_r (static text) when it is not an RSA key of
 * 1024 to 8192 bits or an Ed25519 key. */
struct dkim_key *dkim_key_parse(const char *pem, size_t len, const char **error_r);
enum dkim_algorithm dkim_key_algorithm(const struct dkim_key *key);
/* Another reference to the same key (keys are shared between threads:
 * they are never changed after they are made). */
struct dkim_key *dkim_key_ref(struct dkim_key *key);
void dkim_key_unref(struct dkim_key **key);

/* The DNS record's text (RFC 6376 3.6.1): "v=DKIM1; k=rsa; p=...",
 * p= being the base64 SubjectPublicKeyInfo for RSA (what every signer
 * publishes and verifiers read, though 3.6.1 names RSAPublicKey) or the
 * 32 octets of an Ed25519 public key (RFC 8463 4). Appended to out;
 * 0, or -1 on error. */
int dkim_key_record(const struct dkim_key *key, struct buf *out);
/* The zone file line to publish the record of `selector` in `domain`:
 * SELECTOR._domainkey.DOMAIN. IN TXT "..." "...", its text cut into
 * strings of 255 octets (RFC 1035 3.3.14: a character-string's bound).
 * Appended to out; 0, or -1 on error. */
int dkim_key_zone_line(const struct dkim_key *key, const char *selector, const char *domain,
		       struct buf *out);

/* Sign the SHA-256 hash of the header (RFC 6376 3.7): RSASSA-PKCS1-v1_5
 * for RSA, PureEd25519 over the 32 octets of the hash for Ed25519 (RFC
 * 8463 3). Writes the signature to sig (DKIM_SIGNATURE_MAX octets) and
 * returns its length, or 0 on error. Thread-safe; RSA takes about a
 * millisecond: from a job. */
size_t dkim_key_sign(const struct dkim_key *key, const unsigned char hash[DKIM_HASH_LEN],
		     unsigned char sig[DKIM_SIGNATURE_MAX]);

/* Base64 (RFC 4648 4, padded) of data, appended to out: 0, or -1 when
 * out's bound is reached. */
int dkim_base64(const unsigned char *data, size_t len, struct buf *out);

#endif
