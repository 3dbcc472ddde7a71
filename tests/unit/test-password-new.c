/* test-password-new - the one rule for new passwords (password_check_new)
 * and what it is for: every password it accepts comes back byte for byte
 * through both ways a POP3 client logs in, USER/PASS and AUTH PLAIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dir/password.h"
#include "dir/sasl.h"
#include "pop3/pop3-parser.h"

static const char *check(const char *pw, size_t len)
{
	const char *why = "unset";

	if (password_check_new(pw, len, &why)) {
		assert_null(why);
		return NULL;
	}
	assert_non_null(why);
	return why;
}

#define CHECK(lit) check(lit, sizeof(lit) - 1)

static void test_accepted(void **state)
{
	char longest[201];

	(void)state;
	assert_null(CHECK("correct horse battery staple"));
	assert_null(CHECK("x"));
	assert_null(CHECK("in the middle  two spaces"));
	assert_null(CHECK("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac \xf0\x9f\x94\x91"));  /* UTF-8 */
	assert_null(CHECK("\xc2\xa0nbsp at the start is not ASCII space"));
	memset(longest, 'a', 200);
	longest[200] = '\0';
	assert_null(check(longest, 200));
}

static void test_refused(void **state)
{
	char toolong[202];

	(void)state;
	assert_string_equal(CHECK(""), "it is empty");
	assert_string_equal(CHECK("secret "), "it ends with a space");
	assert_string_equal(CHECK(" secret"), "it begins with a space");
	assert_string_equal(CHECK(" "), "it begins with a space");
	assert_string_equal(CHECK("sec\0ret"), "it contains a NUL byte");
	assert_string_equal(CHECK("secret\0"), "it contains a NUL byte");
	assert_string_equal(CHECK("sec\tret"), "it contains a control character (a tab, a line end, ...)");
	assert_string_equal(CHECK("secret\r"), "it contains a control character (a tab, a line end, ...)");
	assert_string_equal(CHECK("sec\nret"), "it contains a control character (a tab, a line end, ...)");
	assert_string_equal(CHECK("sec\x7fret"), "it contains a control character (a tab, a line end, ...)");
	assert_string_equal(CHECK("sec\xc2\x85ret"), "it contains a control character (a tab, a line end, ...)");
	assert_string_equal(CHECK("sec\xffret"), "it is not valid UTF-8");
	assert_string_equal(CHECK("latin1 p\xe4sse"), "it is not valid UTF-8");
	assert_string_equal(CHECK("overlong \xc0\xaf"), "it is not valid UTF-8");
	assert_string_equal(CHECK("surrogate \xed\xa0\x80"), "it is not valid UTF-8");
	assert_string_equal(CHECK("cut \xe2\x82"), "it is not valid UTF-8");
	memset(toolong, 'a', 201);
	toolong[201] = '\0';
	assert_string_equal(check(toolong, 201), "it is longer than 200 bytes");
	assert_true(password_check_new("x", 1, NULL));
	assert_false(password_check_new("x ", 2, NULL));
}

/* What USER/PASS gives the login: the rest of the PASS line. */
static void pass_roundtrip(const char *pw)
{
	struct pop3_command cmd;
	char line[POP3_LINE_MAX];
	int n = snprintf(line, sizeof(line), "PASS %s", pw);

	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(pop3_parse_line(line, (size_t)n, &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.name, "PASS");
	assert_int_equal(cmd.rest_len, strlen(pw));
	assert_memory_equal(cmd.rest, pw, cmd.rest_len);
}

/* What AUTH PLAIN gives the login. */
static void plain_roundtrip(const char *pw)
{
	unsigned char msg[512];
	char b64[1024];
	const char *challenge, *error;
	size_t n = 0, len = strlen(pw);
	struct sasl *s = sasl_begin("PLAIN");

	msg[n++] = '\0';
	memcpy(msg + n, "demo@localhost", 14);
	n += 14;
	msg[n++] = '\0';
	memcpy(msg + n, pw, len);
	n += len;
	EVP_EncodeBlock((unsigned char *)b64, msg, (int)n);
	assert_non_null(s);
	assert_int_equal(sasl_step(s, b64, strlen(b64), &challenge, &error), SASL_STATUS_DONE);
	assert_string_equal(sasl_password(s), pw);
	sasl_free(&s);
}

static void test_accepted_passwords_survive_every_login(void **state)
{
	static const char *const samples[] = {
		"correct horse battery staple",
		"a  b",
		"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
		"p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac",
	};
	char longest[201];

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		assert_true(password_check_new(samples[i], strlen(samples[i]), NULL));
		pass_roundtrip(samples[i]);
		plain_roundtrip(samples[i]);
	}
	memset(longest, 'z', 200);
	longest[200] = '\0';
	assert_true(password_check_new(longest, 200, NULL));
	pass_roundtrip(longest);
	plain_roundtrip(longest);
}

/* The defect: a trailing space worked with AUTH PLAIN but not USER/PASS. */
static void test_trailing_space_is_what_pass_loses(void **state)
{
	struct pop3_command cmd;

	(void)state;
	assert_int_equal(pop3_parse_line("PASS secret ", 12, &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.rest, "secret");
	assert_false(password_check_new("secret ", 7, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_accepted_passwords_survive_every_login),
		cmocka_unit_test(test_trailing_space_is_what_pass_loses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
