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

#include "mailauth/dkim-canon.h"
#include "mailauth/dkim-key.h"
#include "mailauth/dkim-signer.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
