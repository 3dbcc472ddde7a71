/* test-dkim-sign - DKIM signing: the signed message of RFC 8463 appendix
 * A (its keys must give its published b= values: Ed25519 and RSASSA-
 * PKCS1-v1_5 are both deterministic), a signature tern makes checked
 * with OpenSSL's own verification, what is signed (From oversigned), the
 * messages that cannot be signed, keys that are refused, and the DNS
 * record text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "mailauth/dkim-canon.h"
#include "mailauth/dkim-key.h"
#include "mailauth/dkim-keys.h"
#include "mailauth/dkim-signer.h"
#include "tmpdir.h"

/* RFC 8463 A.1: the Ed25519 secret key (RFC 8032 7.1, test 1) and the
 * RSA key. */
static const unsigned char rfc8463_ed25519_secret[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const char rfc8463_rsa_pem[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
	"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
	"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
	"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
	"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
	"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
	"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
	"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
	"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
	"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
	"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
	"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
	"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
	"-----END RSA PRIVATE KEY-----\n";

/* RFC 8463 A.3, without its two DKIM-Signature fields. */
static const char rfc8463_message[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

static const char *const rfc8463_h[] = {
	"from", "to", "subject", "date", "message-id", "from", "subject", "date",
};

static struct dkim_key *key_from_pkey(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	struct dkim_key *key;
	const char *error = NULL;
	char *pem;
	long len;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &pem);
	key = dkim_key_parse(pem, (size_t)len, &error);
	assert_non_null(key);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return key;
}

static struct dkim_signer *signer_of(const char *msg, size_t len, size_t step)
{
	struct dkim_signer *s = dkim_signer_new();

	if (step == 0)
		step = len > 0 ? len : 1;
	for (size_t at = 0; at < len; at += step)
		dkim_signer_feed(s, msg + at, len - at < step ? len - at : step);
	return s;
}

static void check_b(const struct dkim_signer *s, const struct dkim_key *key, const char *field,
		    const char *expected)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(dkim_signer_sign_field(s, key, rfc8463_h, 8, field, strlen(field), &b), 0);
	assert_int_equal(b.len, strlen(expected));
	assert_memory_equal(b.data, expected, b.len);
	buf_release(&b);
}

static void test_rfc8463(void **state)
{
	struct dkim_key *ed = key_from_pkey(EVP_PKEY_new_raw_private_key(
		EVP_PKEY_ED25519, NULL, rfc8463_ed25519_secret, sizeof(rfc8463_ed25519_secret)));
	const char *error = NULL, *domain;
	struct dkim_key *rsa = dkim_key_parse(rfc8463_rsa_pem, strlen(rfc8463_rsa_pem), &error);
	struct buf out;

	(void)state;
	assert_non_null(rsa);
	assert_int_equal(dkim_key_algorithm(ed), DKIM_ALGORITHM_ED25519);
	assert_int_equal(dkim_key_algorithm(rsa), DKIM_ALGORITHM_RSA);
	/* A.2: the public keys as published */
	buf_init(&out, 0);
	assert_int_equal(dkim_key_record(ed, &out), 0);
	assert_string_equal(out.data, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	buf_reset(&out);
	assert_int_equal(dkim_key_record(rsa, &out), 0);
	assert_string_equal(out.data,
			    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
			    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
			    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
			    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	buf_release(&out);
	/* whole and one byte at a time */
	for (size_t step = 0; step <= 1; step++) {
		struct dkim_signer *s = signer_of(rfc8463_message, strlen(rfc8463_message), step);

		domain = dkim_signer_finish(s, &error);
		assert_non_null(domain);
		assert_string_equal(domain, "football.example.com");
		buf_init(&out, 0);
		assert_int_equal(dkim_signer_body_hash(s, &out), 0);
		assert_string_equal(out.data, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
		buf_release(&out);
		/* A.3: the fields as sent, their b= empty */
		check_b(s, ed,
			"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
			" d=football.example.com; i=@football.example.com;\r\n"
			" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
			" subject : date : message-id : from : subject : date;\r\n"
			" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
			" b=",
			"/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
		check_b(s, rsa,
			"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
			" d=football.example.com; i=@football.example.com;\r\n"
			" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
			" date : message-id : from : subject : date;\r\n"
			" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
			" b=",
			"F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+"
			"FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEF"
			"E4LjFYNcUxZQ4FADY+8=");
		dkim_signer_free(&s);
	}
	dkim_key_unref(&ed);
	dkim_key_unref(&rsa);
}


/* A message with signed fields (To twice), an unsigned one and a line
 * that is no field; its canonical signed fields in h= order follow. */
static const char plain_message[] =
	"Received: from elsewhere\r\n"
	"From:  Alice <alice@Sign.Example>\r\n"
	"To: bob@example.net,\r\n"
	"\tcarol@example.net\r\n"
	"not a field\r\n"
	"Subject: hi   there \r\n"
	"X-Unsigned: x\r\n"
	"TO: dave@example.net\r\n"
	"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
	"Message-ID: <1@sign.example>\r\n"
	"\r\n"
	"body  \r\n\r\n";
static const char plain_h[] = "h=from:from:to:to:subject:date:message-id;";
static const char plain_canonical[] =
	"from:Alice <alice@Sign.Example>\r\n"
	"to:dave@example.net\r\n"
	"to:bob@example.net, carol@example.net\r\n"
	"subject:hi there\r\n"
	"date:Tue, 01 Dec 2026 10:00:00 +0000\r\n"
	"message-id:<1@sign.example>\r\n";

/* The public key of a DNS record's p= (SubjectPublicKeyInfo for RSA,
 * the 32 raw octets for Ed25519), read with OpenSSL. */
static EVP_PKEY *record_public_key(const struct dkim_key *key)
{
	unsigned char der[1024];
	const unsigned char *p = der;
	struct buf record;
	const char *b64;
	EVP_PKEY *pub;
	int n;

	buf_init(&record, 0);
	assert_int_equal(dkim_key_record(key, &record), 0);
	b64 = strstr(record.data, "; p=") + 4;
	n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0);
	if (dkim_key_algorithm(key) == DKIM_ALGORITHM_ED25519)
		pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	else
		pub = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pub);
	buf_release(&record);
	return pub;
}

/* Check a DKIM-Signature field as dkim_signer_sign wrote it with
 * OpenSSL's own verification (RFC 6376 3.7): the canonical fields
 * `signed_fields`, then the field with its b= value left out, canonical,
 * without CRLF. */
static void verify_field(EVP_PKEY *pub, const char *signed_fields, const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len), *b = field;
	unsigned char raw[1024], hash[32];
	struct buf data, sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int raw_len;

	/* the b= tag, not bh=: the last "b=" of the field */
	for (const char *p = field; (p = strstr(p, "b=")) != NULL && p < field + len; p++)
		if (p[-1] != 'h')
			b = p;
	assert_true(b > field && colon != NULL);
	buf_init(&sig, 0);
	for (const char *p = b + 2; p < field + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			assert_int_equal(buf_append(&sig, p, 1), 0);
	raw_len = EVP_DecodeBlock(raw, (const unsigned char *)sig.data, (int)sig.len);
	/* EVP_DecodeBlock counts the octets of the padding too */
	for (size_t i = sig.len; i > 0 && sig.data[i - 1] == '='; i--)
		raw_len--;
	assert_true(raw_len > 0);
	buf_init(&data, 0);
	assert_int_equal(buf_append_str(&data, signed_fields), 0);
	assert_int_equal(dkim_canon_header(field, (size_t)(colon - field), colon + 1,
					   (size_t)(b + 2 - (colon + 1)), false, &data), 0);
	if (EVP_PKEY_is_a(pub, "ED25519")) {
		/* RFC 8463 3: PureEd25519 over the SHA-256 of the data */
		SHA256((const unsigned char *)data.data, data.len, hash);
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub), 1);
		assert_int_equal(EVP_DigestVerify(md, raw, (size_t)raw_len, hash, sizeof(hash)), 1);
	} else {
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
		assert_int_equal(EVP_DigestVerify(md, raw, (size_t)raw_len,
						  (const unsigned char *)data.data, data.len), 1);
	}
	EVP_MD_CTX_free(md);
	buf_release(&data);
	buf_release(&sig);
}

/* Sign plain_message with a new key of each algorithm and check each
 * signature with OpenSSL; the field is the same however the message
 * was cut (Ed25519 is deterministic). */
static void test_sign_verifies(void **state)
{
	(void)state;
	for (unsigned alg = 0; alg < DKIM_ALGORITHM__COUNT; alg++) {
		struct dkim_key *key = dkim_key_generate((enum dkim_algorithm)alg);
		EVP_PKEY *pub = record_public_key(key);
		struct buf whole, bytes, flat;
		const char *why = NULL;

		buf_init(&whole, 0);
		buf_init(&bytes, 0);
		for (size_t step = 0; step <= 1; step++) {
			struct dkim_signer *s = signer_of(plain_message, strlen(plain_message), step);
			const char *domain = dkim_signer_finish(s, &why);

			assert_non_null(domain);
			assert_string_equal(domain, "sign.example");
			assert_int_equal(dkim_signer_sign(s, key, "sel", 1764583200,
							  step == 0 ? &whole : &bytes), 0);
			dkim_signer_free(&s);
		}
		if (alg == DKIM_ALGORITHM_ED25519) {
			assert_int_equal(whole.len, bytes.len);
			assert_memory_equal(whole.data, bytes.data, whole.len);
		}
		/* unfolded: what the tags are */
		buf_init(&flat, 0);
		for (size_t i = 0; i < whole.len; i++) {
			if (whole.data[i] == '\r' && i + 2 < whole.len && whole.data[i + 2] == '\t')
				i += 2;
			assert_int_equal(buf_append(&flat, whole.data[i] == '\t' ? " " : whole.data + i,
						    1), 0);
		}
		assert_non_null(strstr(flat.data, "DKIM-Signature: v=1; a="));
		assert_non_null(strstr(flat.data, "c=relaxed/relaxed; d=sign.example; s=sel;"));
		assert_non_null(strstr(flat.data, "t=1764583200;"));
		assert_non_null(strstr(flat.data, plain_h));
		buf_release(&flat);
		/* folded, lines of at most 78 octets, one CRLF at the end */
		for (const char *line = whole.data; *line != '\0';) {
			const char *eol = strstr(line, "\r\n");

			assert_non_null(eol);
			assert_true(eol - line <= 78);
			line = eol + 2;
			assert_true(*line == '\0' || *line == '\t');
		}
		verify_field(pub, plain_canonical, whole.data, whole.len - 2);
		if (alg == DKIM_ALGORITHM_RSA)
			verify_field(pub, plain_canonical, bytes.data, bytes.len - 2);
		/* a field changed after signing does not verify: checked by
		 * the e2e test with dkimpy, which reports why */
		buf_release(&whole);
		buf_release(&bytes);
		EVP_PKEY_free(pub);
		dkim_key_unref(&key);
	}
}

/* The domain a message would be signed for, or NULL and the reason. */
static const char *domain_of(const char *msg, size_t len, const char **why_r)
{
	static char domain[256];
	struct dkim_signer *s = signer_of(msg, len, 0);
	const char *d = dkim_signer_finish(s, why_r);

	if (d != NULL)
		snprintf(domain, sizeof(domain), "%s", d);
	dkim_signer_free(&s);
	return d != NULL ? domain : NULL;
}

static void check_unsignable(const char *msg, const char *reason)
{
	const char *why = NULL;

	assert_null(domain_of(msg, strlen(msg), &why));
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void test_broken_messages(void **state)
{
	const char *why = NULL;
	char *big;

	(void)state;
	check_unsignable("To: a@b\r\n\r\nbody\r\n", "no From field");
	check_unsignable("From: a@b.example\r\nFrom: c@b.example\r\n\r\n", "several From fields");
	check_unsignable("From: a@one.example, b@two.example\r\n\r\n",
			 "From has addresses of several domains");
	check_unsignable("From: root\r\n\r\n", "the From address has no domain");
	check_unsignable("From: \"unclosed <a@b.example>\r\n\r\n", "From is not an address");
	check_unsignable("From: a@caf\xc3\xa9.example\r\n\r\n",
			 "the From domain is not an ASCII host name");
	check_unsignable("", "no From field");
	/* several addresses of one domain sign for it */
	assert_string_equal(domain_of("From: a@x.example, B@X.Example\r\n\r\n", 34, &why),
			    "x.example");
	/* no body, no empty line, no final CRLF: still a message */
	assert_string_equal(domain_of("From: a@x.example", 17, &why), "x.example");
	assert_string_equal(domain_of("From: a@x.example\r\n", 19, &why), "x.example");
	/* a field longer than a signer keeps */
	big = malloc(DKIM_SIGNER_FIELD_MAX + 100);
	assert_non_null(big);
	memset(big, 'x', DKIM_SIGNER_FIELD_MAX + 100);
	memcpy(big, "From: a@x.example\r\nSubject: ", 28);
	memcpy(big + DKIM_SIGNER_FIELD_MAX + 94, "\r\n\r\nb\r\n", 6);
	assert_null(domain_of(big, DKIM_SIGNER_FIELD_MAX + 100, &why));
	assert_string_equal(why, "a signed header field is too long");
	/* an unsigned field of that length does not matter */
	memcpy(big + 19, "X-Long: ", 8);
	assert_non_null(domain_of(big, DKIM_SIGNER_FIELD_MAX + 100, &why));
	free(big);
	/* more instances of a field than are signed */
	big = strdup("From: a@x.example\r\n"
		     "To: 1\r\nTo: 2\r\nTo: 3\r\nTo: 4\r\nTo: 5\r\nTo: 6\r\nTo: 7\r\nTo: 8\r\nTo: 9\r\n\r\n");
	assert_null(domain_of(big, strlen(big), &why));
	assert_string_equal(why, "too many signed header fields");
	free(big);
}

static void test_empty_body_hash(void **state)
{
	struct dkim_signer *s = signer_of("From: a@x.example\r\n\r\n\r\n  \r\n", 27, 1);
	const char *why;
	struct buf bh;

	(void)state;
	assert_non_null(dkim_signer_finish(s, &why));
	buf_init(&bh, 0);
	assert_int_equal(dkim_signer_body_hash(s, &bh), 0);
	/* RFC 6376 3.4.4: the SHA-256 of an empty relaxed body */
	assert_string_equal(bh.data, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	buf_release(&bh);
	dkim_signer_free(&s);
}

static void test_bad_keys(void **state)
{
	const char *error = NULL;
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;

	(void)state;
	assert_null(dkim_key_parse("garbage", 7, &error));
	assert_string_equal(error, "not a PEM private key");
	assert_null(dkim_key_parse("", 0, &error));
	assert_non_null(small);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_null(dkim_key_parse(pem, (size_t)len, &error));
	assert_string_equal(error, "an RSA key must have 1024 to 8192 bits");
	BIO_reset(bio);
	assert_non_null(ec);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_null(dkim_key_parse(pem, (size_t)len, &error));
	assert_string_equal(error, "not an RSA or Ed25519 key");
	BIO_free(bio);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}

struct listed {
	char text[1024];
};

static void list_cb(void *ctx, const struct dkim_key_entry *e)
{
	struct listed *l = ctx;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s/%s/%s/%s\n", e->domain, e->selector,
		 e->key != NULL ? dkim_algorithm_name(dkim_key_algorithm(e->key)) : e->error,
		 e->signing ? "signing" : "-");
}

/* DATA/dkim: keygen's files, the listing, the cache seeing changes. */
static void test_keys_folder(void **state)
{
	char *data = tmpdir_new("dkim"), *error = NULL, path[512];
	struct dkim_key *rsa = dkim_key_generate(DKIM_ALGORITHM_RSA);
	struct dkim_key *ed = dkim_key_generate(DKIM_ALGORITHM_ED25519);
	struct dkim_signing_key found[DKIM_ALGORITHM__COUNT];
	struct dkim_keys *keys = dkim_keys_new(data);
	struct listed l = { "" };
	struct buf zone;
	struct stat st;
	FILE *f;

	(void)state;
	assert_int_equal(dkim_keys_find(keys, "x.example", found, &error), 0);
	assert_int_equal(dkim_keys_list(data, list_cb, &l, &error), 0);
	assert_string_equal(l.text, "");
	assert_int_equal(dkim_keys_create(data, "x.example", "ed", ed, &error), 0);
	assert_int_equal(dkim_keys_create(data, "x.example", "ed", rsa, &error), 1);
	/* only Ed25519 so far; the cache reads the folder again */
	assert_int_equal(dkim_keys_find(keys, "x.example", found, &error), 1);
	assert_int_equal(dkim_key_algorithm(found[0].key), DKIM_ALGORITHM_ED25519);
	assert_string_equal(found[0].selector, "ed");
	dkim_key_unref(&found[0].key);
	assert_int_equal(dkim_keys_create(data, "x.example", "rsa", rsa, &error), 0);
	snprintf(path, sizeof(path), "%s/dkim/x.example/rsa.key", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/dkim/x.example", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(dkim_keys_find(keys, "x.example", found, &error), 2);
	assert_int_equal(dkim_key_algorithm(found[0].key), DKIM_ALGORITHM_RSA);
	assert_int_equal(dkim_key_algorithm(found[1].key), DKIM_ALGORITHM_ED25519);
	dkim_key_unref(&found[0].key);
	dkim_key_unref(&found[1].key);
	/* a file that is no key: the domain's mail must wait */
	snprintf(path, sizeof(path), "%s/dkim/x.example/broken.key", data);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(dkim_keys_find(keys, "x.example", found, &error), -1);
	assert_non_null(strstr(error, "broken.key not a PEM private key"));
	free(error);
	error = NULL;
	assert_int_equal(dkim_keys_list(data, list_cb, &l, &error), 0);
	assert_string_equal(l.text, "x.example/broken/not a PEM private key/-\n"
				    "x.example/ed/ed25519/signing\n"
				    "x.example/rsa/rsa/signing\n");
	unlink(path);
	assert_int_equal(dkim_keys_find(keys, "x.example", found, &error), 2);
	dkim_key_unref(&found[0].key);
	dkim_key_unref(&found[1].key);
	/* an RSA 2048 record is longer than a TXT string: two of them */
	buf_init(&zone, 0);
	assert_int_equal(dkim_key_zone_line(rsa, "rsa", "x.example", &zone), 0);
	assert_memory_equal(zone.data, "rsa._domainkey.x.example. IN TXT \"v=DKIM1; k=rsa; p=MIIB",
			    56);
	assert_int_equal(zone.data[33 + 1 + 255], '"');
	assert_memory_equal(zone.data + 33 + 1 + 255, "\" \"", 3);
	buf_release(&zone);
	assert_true(dkim_selector_valid("rsa-202612"));
	assert_true(dkim_selector_valid("a.b"));
	assert_false(dkim_selector_valid("Upper"));
	assert_false(dkim_selector_valid("../x"));
	assert_false(dkim_selector_valid(""));
	assert_false(dkim_selector_valid("-x"));
	dkim_keys_free(&keys);
	dkim_key_unref(&rsa);
	dkim_key_unref(&ed);
	tmpdir_free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_sign_verifies),
		cmocka_unit_test(test_broken_messages),
		cmocka_unit_test(test_empty_body_hash),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_keys_folder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
