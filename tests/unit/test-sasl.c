/* test-sasl - SASL PLAIN and LOGIN: good exchanges and every malformed
 * shape of response we could think of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dir/sasl.h"

/* base64 of n bytes (static buffer, big enough for every test). */
static const char *b64(const void *data, size_t n)
{
	static char out[4096];

	assert_true(n <= 3000);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

static enum sasl_status step(struct sasl *s, const char *resp, const char **challenge_r)
{
	const char *challenge;
	const char *error;
	enum sasl_status st = sasl_step(s, resp, resp != NULL ? strlen(resp) : 0,
					&challenge, &error);

	if (st == SASL_STATUS_ERROR)
		assert_non_null(error);
	if (challenge_r != NULL)
		*challenge_r = challenge;
	return st;
}

/* Run one PLAIN exchange with the given raw message as initial response. */
static enum sasl_status plain_once(const void *msg, size_t n)
{
	struct sasl *s = sasl_begin("PLAIN");
	enum sasl_status st;

	assert_non_null(s);
	st = step(s, b64(msg, n), NULL);
	sasl_free(&s);
	assert_null(s);
	return st;
}

static void test_mechanisms(void **state)
{
	struct sasl *s;

	(void)state;
	assert_string_equal(sasl_mechanisms(), "PLAIN LOGIN");
	assert_null(sasl_begin("CRAM-MD5"));
	assert_null(sasl_begin(""));
	assert_null(sasl_begin(NULL));
	s = sasl_begin("plain");
	assert_non_null(s);
	sasl_free(&s);
	s = sasl_begin("Login");
	assert_non_null(s);
	sasl_free(&s);
	sasl_free(&s);   /* NULL is fine */
}

static void test_plain_no_authzid(void **state)
{
	static const char msg[] = "\0tim\0tanstaaftanstaaf";
	struct sasl *s = sasl_begin("PLAIN");
	const char *challenge;

	(void)state;
	assert_int_equal(step(s, b64(msg, sizeof(msg) - 1), &challenge), SASL_STATUS_DONE);
	assert_string_equal(sasl_authzid(s), "");
	assert_string_equal(sasl_authcid(s), "tim");
	assert_string_equal(sasl_password(s), "tanstaaftanstaaf");
	/* Nothing more is accepted after DONE. */
	assert_int_equal(step(s, "", NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_plain_authzid(void **state)
{
	static const char msg[] = "Ursel\0Kurt\0xipj3plmq";
	struct sasl *s = sasl_begin("PLAIN");

	(void)state;
	assert_int_equal(step(s, b64(msg, sizeof(msg) - 1), NULL), SASL_STATUS_DONE);
	assert_string_equal(sasl_authzid(s), "Ursel");
	assert_string_equal(sasl_authcid(s), "Kurt");
	assert_string_equal(sasl_password(s), "xipj3plmq");
	sasl_free(&s);
}

static void test_plain_utf8(void **state)
{
	static const char good[] = "\0j\xc3\xbcrgen@example.org\0p\xe2\x82\xac\xf0\x9f\x98\x80";
	static const char bad_byte[] = "\0user\0pass\xff";
	static const char overlong[] = "\0us\xc0\x80r\0pass";
	static const char surrogate[] = "\0user\0p\xed\xa0\x80";
	static const char truncated[] = "\0user\0p\xe2\x82";
	static const char too_big[] = "\0user\0p\xf4\x90\x80\x80";

	(void)state;
	assert_int_equal(plain_once(good, sizeof(good) - 1), SASL_STATUS_DONE);
	assert_int_equal(plain_once(bad_byte, sizeof(bad_byte) - 1), SASL_STATUS_ERROR);
	assert_int_equal(plain_once(overlong, sizeof(overlong) - 1), SASL_STATUS_ERROR);
	assert_int_equal(plain_once(surrogate, sizeof(surrogate) - 1), SASL_STATUS_ERROR);
	assert_int_equal(plain_once(truncated, sizeof(truncated) - 1), SASL_STATUS_ERROR);
	assert_int_equal(plain_once(too_big, sizeof(too_big) - 1), SASL_STATUS_ERROR);
}

static void test_plain_continuation(void **state)
{
	static const char msg[] = "\0user@example.org\0secret";
	struct sasl *s = sasl_begin("PLAIN");
	const char *challenge = "x";

	(void)state;
	assert_int_equal(step(s, NULL, &challenge), SASL_STATUS_CONTINUE);
	assert_string_equal(challenge, "");
	assert_int_equal(step(s, b64(msg, sizeof(msg) - 1), NULL), SASL_STATUS_DONE);
	assert_string_equal(sasl_authcid(s), "user@example.org");
	assert_string_equal(sasl_password(s), "secret");
	sasl_free(&s);

	/* "=" is an initial response of zero octets (RFC 5034 4), not a
	 * request for a challenge: an empty PLAIN message is malformed. */
	s = sasl_begin("PLAIN");
	assert_int_equal(step(s, "=", NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_plain_bad_shapes(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
	} cases[] = {
		{ "", 0 },                              /* empty */
		{ "userpass", 8 },                      /* no NUL */
		{ "user\0pass", 9 },                    /* one NUL */
		{ "\0\0pass", 6 },                      /* empty authcid */
		{ "\0user\0", 6 },                      /* empty password */
		{ "\0\0", 2 },                          /* both empty */
		{ "\0user\0pa\0ss", 11 },               /* NUL in password */
		{ "a\0b\0c\0d", 7 },                    /* four fields */
		{ "\0", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(plain_once(cases[i].msg, cases[i].len), SASL_STATUS_ERROR);

	/* The empty response as a continuation is an empty message: error. */
	struct sasl *s = sasl_begin("PLAIN");
	assert_int_equal(step(s, NULL, NULL), SASL_STATUS_CONTINUE);
	assert_int_equal(step(s, "", NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
	/* "=" is the empty initial response only, not a later one. */
	s = sasl_begin("PLAIN");
	assert_int_equal(step(s, NULL, NULL), SASL_STATUS_CONTINUE);
	assert_int_equal(step(s, "=", NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
	/* A later NULL response is an error. */
	s = sasl_begin("PLAIN");
	assert_int_equal(step(s, NULL, NULL), SASL_STATUS_CONTINUE);
	assert_int_equal(step(s, NULL, NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_plain_lengths(void **state)
{
	char msg[3 * 256 + 2];
	size_t n;

	(void)state;
	/* Every field at its 255-octet maximum. */
	memset(msg, 'a', 255);
	msg[255] = '\0';
	memset(msg + 256, 'b', 255);
	msg[511] = '\0';
	memset(msg + 512, 'c', 255);
	n = 767;
	assert_int_equal(plain_once(msg, n), SASL_STATUS_DONE);
	/* One octet too many in each field in turn. */
	for (int f = 0; f < 3; f++) {
		size_t at = 0;

		for (int k = 0; k < 3; k++) {
			size_t len = k == f ? 256 : 10;

			memset(msg + at, 'x', len);
			at += len;
			if (k < 2)
				msg[at++] = '\0';
		}
		assert_int_equal(plain_once(msg, at), SASL_STATUS_ERROR);
	}
	/* A response longer than any valid one is refused before decoding. */
	char *big = malloc(2001);
	memset(big, 'A', 2000);
	big[2000] = '\0';
	struct sasl *s = sasl_begin("PLAIN");
	assert_int_equal(step(s, big, NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
	free(big);
}

static void test_bad_base64(void **state)
{
	static const char *const cases[] = {
		"A", "AB", "ABC", "ABCDE",          /* length not a multiple of 4 */
		"AB=C", "A=BC", "====", "A===",     /* padding in the wrong place */
		"AGE=AGI=",                         /* padding in the middle */
		"AGFiYw!!", "AGFi YwBk", "AGFi\tYwBk", "AGFiYwBk\r", "AGFi-_Bk",
		"AGF=",                             /* stray bits before '=' */
		"AGFiYwBkZQ=",                      /* half padded */
		"AGFiYwBkZR==",                     /* non-canonical last char */
		"\xc3\xa4\xc3\xa4",                 /* non-ASCII */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *mechs[] = { "PLAIN", "LOGIN" };

		for (int m = 0; m < 2; m++) {
			struct sasl *s = sasl_begin(mechs[m]);

			assert_int_equal(step(s, cases[i], NULL), SASL_STATUS_ERROR);
			sasl_free(&s);
		}
	}
	/* A NUL byte inside the response line. */
	struct sasl *s = sasl_begin("PLAIN");
	const char *challenge;
	const char *error;
	assert_int_equal(sasl_step(s, "AGF\0YwBk", 8, &challenge, &error), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_cancel(void **state)
{
	const char *mechs[] = { "PLAIN", "LOGIN" };

	(void)state;
	for (int m = 0; m < 2; m++) {
		struct sasl *s = sasl_begin(mechs[m]);

		assert_int_equal(step(s, NULL, NULL), SASL_STATUS_CONTINUE);
		assert_int_equal(step(s, "*", NULL), SASL_STATUS_CANCELLED);
		assert_int_equal(step(s, "*", NULL), SASL_STATUS_ERROR);
		sasl_free(&s);
	}
	/* Cancel at LOGIN's password prompt. */
	struct sasl *s = sasl_begin("LOGIN");
	assert_int_equal(step(s, b64("user", 4), NULL), SASL_STATUS_CONTINUE);
	assert_int_equal(step(s, "*", NULL), SASL_STATUS_CANCELLED);
	sasl_free(&s);
	/* "**" is just bad base64. */
	s = sasl_begin("PLAIN");
	assert_int_equal(step(s, "**", NULL), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_login_two_step(void **state)
{
	struct sasl *s = sasl_begin("LOGIN");
	const char *challenge;

	(void)state;
	assert_int_equal(step(s, NULL, &challenge), SASL_STATUS_CONTINUE);
	assert_string_equal(challenge, "VXNlcm5hbWU6");
	assert_int_equal(step(s, b64("User@Example.org", 16), &challenge), SASL_STATUS_CONTINUE);
	assert_string_equal(challenge, "UGFzc3dvcmQ6");
	assert_int_equal(step(s, b64("hunter2", 7), &challenge), SASL_STATUS_DONE);
	assert_string_equal(sasl_authcid(s), "User@Example.org");
	assert_string_equal(sasl_authzid(s), "");
	assert_string_equal(sasl_password(s), "hunter2");
	assert_int_equal(step(s, b64("x", 1), NULL), SASL_STATUS_ERROR);
	sasl_free(&s);

	/* "=" as initial response is an empty user name: refused. */
	s = sasl_begin("LOGIN");
	assert_int_equal(step(s, "=", &challenge), SASL_STATUS_ERROR);
	sasl_free(&s);
}

static void test_login_initial(void **state)
{
	struct sasl *s = sasl_begin("LOGIN");
	const char *challenge;

	(void)state;
	assert_int_equal(step(s, b64("tim", 3), &challenge), SASL_STATUS_CONTINUE);
	assert_string_equal(challenge, "UGFzc3dvcmQ6");
	assert_int_equal(step(s, b64("pw", 2), NULL), SASL_STATUS_DONE);
	assert_string_equal(sasl_authcid(s), "tim");
	assert_string_equal(sasl_password(s), "pw");
	sasl_free(&s);
}

static void test_login_bad(void **state)
{
	char big[300];

	(void)state;
	memset(big, 'u', sizeof(big));
	/* Empty user name, too long, with a NUL, not UTF-8. */
	const struct {
		const char *data;
		size_t len;
	} users[] = { { "", 0 }, { big, 256 }, { "a\0b", 3 }, { "\xfe", 1 } };
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		struct sasl *s = sasl_begin("LOGIN");

		assert_int_equal(step(s, NULL, NULL), SASL_STATUS_CONTINUE);
		assert_int_equal(step(s, b64(users[i].data, users[i].len), NULL), SASL_STATUS_ERROR);
		sasl_free(&s);
		/* The same as password. */
		s = sasl_begin("LOGIN");
		assert_int_equal(step(s, b64("user", 4), NULL), SASL_STATUS_CONTINUE);
		assert_int_equal(step(s, b64(users[i].data, users[i].len), NULL), SASL_STATUS_ERROR);
		sasl_free(&s);
	}
	/* 255 octets are fine. */
	struct sasl *s = sasl_begin("LOGIN");
	assert_int_equal(step(s, b64(big, 255), NULL), SASL_STATUS_CONTINUE);
	assert_int_equal(step(s, b64(big, 255), NULL), SASL_STATUS_DONE);
	sasl_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_plain_no_authzid),
		cmocka_unit_test(test_plain_authzid),
		cmocka_unit_test(test_plain_utf8),
		cmocka_unit_test(test_plain_continuation),
		cmocka_unit_test(test_plain_bad_shapes),
		cmocka_unit_test(test_plain_lengths),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_login_two_step),
		cmocka_unit_test(test_login_initial),
		cmocka_unit_test(test_login_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
