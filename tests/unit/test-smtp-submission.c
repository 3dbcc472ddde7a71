/* test-smtp-submission - the SMTP session of submission (587) and
 * submissions (465) through the real connection layer (smtp-harness.h):
 * AUTH only after TLS, with the shared login driver; MAIL only after
 * AUTH, from an address the account owns ([smtp] sender_login); relaying
 * once logged in; the trace of a submitted message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "smtp-harness.h"

static int setup(void **state)
{
	(void)state;
	smtp_harness_start(SMTP_SERVICE_SUBMISSION, "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_harness_stop();
	return 0;
}

/* base64 of the SASL PLAIN message authzid NUL authcid NUL password. */
static void plain64(const char *user, const char *password, char out[256])
{
	unsigned char raw[160];
	size_t n = 0;

	raw[n++] = '\0';
	memcpy(raw + n, user, strlen(user));
	n += strlen(user);
	raw[n++] = '\0';
	memcpy(raw + n, password, strlen(password));
	n += strlen(password);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
}

static void b64(const char *text, char out[256])
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)strlen(text));
}

/* EHLO, with the reply's extension lines joined by spaces. */
static void ehlo_keywords(struct client *c, char *out, size_t size)
{
	out[0] = '\0';
	client_send(c, "EHLO laptop.example\r\n");
	for (;;) {
		const char *line = client_line(c);

		assert_non_null(line);
		if (strncmp(line, "250-localhost", 13) != 0) {
			strncat(out, line + 4, size - strlen(out) - 2);
			strcat(out, " ");
		}
		if (line[3] == ' ')
			return;
	}
}

/* Connect, STARTTLS, EHLO, AUTH PLAIN as `user`. */
static void login(struct client *c, const char *user)
{
	char line[300], token[256];

	smtp_connect(c);
	smtp_cmd(c, "EHLO laptop.example", "250 DSN");
	smtp_cmd(c, "STARTTLS", "220 2.0.0 Ready to start TLS");
	assert_int_equal(client_tls(c, 0), 1);
	smtp_cmd(c, "EHLO laptop.example", "250 DSN");
	plain64(user, T_PASSWORD, token);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", token);
	smtp_cmd(c, line, "235 2.7.0 Authentication successful");
}

static void test_auth_after_tls(void **state)
{
	struct fake_queued *q;
	struct client c;
	char keywords[512], line[300], token[256];

	(void)state;
	smtp_connect(&c);
	/* Before TLS: no AUTH offered, none taken, no MAIL without it. */
	ehlo_keywords(&c, keywords, sizeof(keywords));
	assert_string_equal(keywords, "PIPELINING SIZE 100000 8BITMIME ENHANCEDSTATUSCODES STARTTLS "
				      "SMTPUTF8 CHUNKING DSN ");
	plain64("alice@example.org", T_PASSWORD, token);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", token);
	smtp_cmd(&c, line, "538 5.7.11 Encryption required for requested authentication mechanism");
	smtp_cmd(&c, "MAIL FROM:<alice@example.org>", "530 5.7.0 Authentication required");
	smtp_cmd(&c, "STARTTLS", "220 2.0.0 Ready to start TLS");
	assert_int_equal(client_tls(&c, 0), 1);
	smtp_cmd(&c, "AUTH PLAIN", "503 5.5.1 Send EHLO first");
	ehlo_keywords(&c, keywords, sizeof(keywords));
	assert_string_equal(keywords, "PIPELINING SIZE 100000 8BITMIME ENHANCEDSTATUSCODES "
				      "AUTH PLAIN LOGIN SMTPUTF8 CHUNKING DSN ");
	smtp_cmd(&c, "MAIL FROM:<alice@example.org>", "530 5.7.0 Authentication required");
	smtp_cmd(&c, "AUTH CRAM-MD5", "504 5.5.4 Unrecognized authentication type");
	/* Two spaces after AUTH PLAIN, as some clients send. */
	snprintf(line, sizeof(line), "AUTH PLAIN  %s", token);
	smtp_cmd(&c, line, "235 2.7.0 Authentication successful");
	smtp_cmd(&c, line, "503 5.5.1 Already authenticated");
	/* The login is not offered again. */
	ehlo_keywords(&c, keywords, sizeof(keywords));
	assert_null(strstr(keywords, "AUTH"));
	/* Logged in: relaying allowed; AUTH= on MAIL taken (RFC 4954 5). */
	smtp_cmd(&c, "MAIL FROM:<alice@example.org> AUTH=<>", "250 2.1.0 Sender <alice@example.org> OK");
	smtp_cmd(&c, "RCPT TO:<friend@remote.example>", "250 2.1.5 Recipient <friend@remote.example> OK");
	smtp_cmd(&c, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	smtp_cmd(&c, "Subject: out\r\n\r\nhi\r\n.", "250 2.0.0 Ok: queued as FAKEQUEUEID00000");
	q = smtp_queued(0);
	assert_string_equal(q->auth_user, "alice@example.org");
	assert_false(q->local[0]);
	assert_non_null(strstr(q->data, "with ESMTPSA id FAKEQUEUEID00000\r\n\tfor <friend@remote.example>;"));
	/* Never the login in the trace. */
	assert_null(strstr(q->data, "alice"));
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void test_auth_exchanges(void **state)
{
	struct client c;
	char token[256], line[13000];

	(void)state;
	smtp_connect(&c);
	smtp_cmd(&c, "EHLO laptop.example", "250 DSN");
	smtp_cmd(&c, "STARTTLS", "220 2.0.0 Ready to start TLS");
	assert_int_equal(client_tls(&c, 0), 1);
	smtp_cmd(&c, "EHLO laptop.example", "250 DSN");
	/* Cancelled (RFC 4954 4). */
	smtp_cmd(&c, "AUTH LOGIN", "334 VXNlcm5hbWU6");
	smtp_cmd(&c, "*", "501 5.0.0 Authentication cancelled");
	smtp_cmd(&c, "AUTH PLAIN", "334 ");
	smtp_cmd(&c, "not base64!", "501 5.5.2 Invalid SASL response");
	/* "=": an initial response of no octets (RFC 4954 4), which PLAIN
	 * cannot take. */
	smtp_cmd(&c, "AUTH PLAIN =", "501 5.5.2 Invalid SASL response");
	/* A response line over 12,288 octets (RFC 4954 4). */
	smtp_cmd(&c, "AUTH PLAIN", "334 ");
	memset(line, 'A', 12400);
	line[12400] = '\0';
	smtp_cmd(&c, line, "500 5.5.6 Authentication Exchange line is too long");
	/* A wrong password; then LOGIN, step by step. */
	plain64("alice@example.org", "wrong", token);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", token);
	smtp_cmd(&c, line, "535 5.7.8 Authentication credentials invalid");
	smtp_cmd(&c, "AUTH LOGIN", "334 VXNlcm5hbWU6");
	b64("bob@example.org", token);
	smtp_cmd(&c, token, "334 UGFzc3dvcmQ6");
	b64(T_PASSWORD, token);
	smtp_cmd(&c, token, "235 2.7.0 Authentication successful");
	smtp_cmd(&c, "MAIL FROM:<bob@example.org>", "250 2.1.0 Sender <bob@example.org> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);

	/* [limits] auth_failures wrong logins end the session. */
	smtp_connect(&c);
	smtp_cmd(&c, "EHLO laptop.example", "250 DSN");
	smtp_cmd(&c, "STARTTLS", "220 2.0.0 Ready to start TLS");
	assert_int_equal(client_tls(&c, 0), 1);
	smtp_cmd(&c, "EHLO laptop.example", "250 DSN");
	plain64("alice@example.org", "wrong", token);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", token);
	smtp_cmd(&c, line, "535 5.7.8 Authentication credentials invalid");
	smtp_cmd(&c, line, "535 5.7.8 Authentication credentials invalid");
	client_send(&c, line);
	client_send(&c, "\r\n");
	expect_line(&c, "535 5.7.8 Authentication credentials invalid");
	expect_line(&c, "421 4.7.0 localhost Too many authentication failures");
	assert_true(smtp_closed(&c));
	client_close(&c);
}

/* [smtp] sender_login = aliases (the default). */
static void test_sender_aliases(void **state)
{
	static const struct {
		const char *sender;
		bool owned;
	} alice[] = {
		{ "alice@example.org", true },
		{ "ALICE@example.org", true },
		{ "alice+lists@example.org", true },
		{ "postmaster@example.org", true },     /* an alias naming alice */
		{ "team@example.org", true },           /* alice among its members */
		{ "bob@example.org", false },
		{ "nobody@example.org", false },
		{ "anything@example.net", false },      /* carol's catch-all */
		{ "alice@remote.example", false },
		{ "", true },                           /* the null sender */
	};
	struct client c;

	(void)state;
	login(&c, "alice@example.org");
	/* The second round is answered from the directory's cache. */
	for (size_t i = 0; i < 2 * sizeof(alice) / sizeof(alice[0]); i++) {
		size_t k = i % (sizeof(alice) / sizeof(alice[0]));
		char line[300], want[300];

		snprintf(line, sizeof(line), "MAIL FROM:<%s>", alice[k].sender);
		if (alice[k].owned) {
			snprintf(want, sizeof(want), "250 2.1.0 Sender <%s> OK", alice[k].sender);
			smtp_cmd(&c, line, want);
			smtp_cmd(&c, "RSET", "250 2.0.0 Ok");
		} else {
			smtp_cmd(&c, line, "553 5.7.1 Sender address not owned by the authenticated user");
		}
	}
	/* A new alias of hers counts at once. */
	for (int i = 0; i < 2; i++)
		smtp_cmd(&c, "MAIL FROM:<sales@example.org>",
			 "553 5.7.1 Sender address not owned by the authenticated user");
	assert_int_equal(dir_alias_add(t_dir, "sales@example.org", "alice@example.org"), DIR_OK);
	smtp_cmd(&c, "MAIL FROM:<sales@example.org>", "250 2.1.0 Sender <sales@example.org> OK");
	smtp_cmd(&c, "RSET", "250 2.0.0 Ok");
	assert_int_equal(dir_alias_del(t_dir, "sales@example.org"), DIR_OK);
	smtp_cmd(&c, "MAIL FROM:<sales@example.org>",
		 "553 5.7.1 Sender address not owned by the authenticated user");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
	/* The catch-all's account may send from its domain's free addresses. */
	login(&c, "carol@example.net");
	smtp_cmd(&c, "MAIL FROM:<anything@example.net>", "250 2.1.0 Sender <anything@example.net> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void tweak_account(struct config *cfg)
{
	cfg->smtp.sender_login = "account";
}

static int setup_account(void **state)
{
	t_tweak = tweak_account;
	return setup(state);
}

static void test_sender_account(void **state)
{
	struct client c;

	(void)state;
	login(&c, "alice@example.org");
	smtp_cmd(&c, "MAIL FROM:<postmaster@example.org>",
		 "553 5.7.1 Sender address not owned by the authenticated user");
	smtp_cmd(&c, "MAIL FROM:<ALICE@example.org>", "250 2.1.0 Sender <ALICE@example.org> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void tweak_any(struct config *cfg)
{
	cfg->smtp.sender_login = "any";
}

static int setup_any(void **state)
{
	t_tweak = tweak_any;
	return setup(state);
}

static void test_sender_any(void **state)
{
	struct client c;

	(void)state;
	login(&c, "alice@example.org");
	smtp_cmd(&c, "MAIL FROM:<bob@example.org>", "250 2.1.0 Sender <bob@example.org> OK");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

/* Submissions (RFC 8314): TLS from the first byte, AUTH at once, no
 * STARTTLS. */
static void test_implicit_tls(void **state)
{
	struct client c;
	char keywords[512];

	(void)state;
	client_connect(&c, t_h.tls_port);
	assert_int_equal(client_tls(&c, 0), 1);
	expect_line(&c, T_GREETING);
	ehlo_keywords(&c, keywords, sizeof(keywords));
	assert_string_equal(keywords, "PIPELINING SIZE 100000 8BITMIME ENHANCEDSTATUSCODES "
				      "AUTH PLAIN LOGIN SMTPUTF8 CHUNKING DSN ");
	smtp_cmd(&c, "STARTTLS", "503 5.5.1 TLS already active");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

static void tweak_loopback(struct config *cfg)
{
	cfg->auth.allow_plaintext_loopback = true;
}

static int setup_loopback(void **state)
{
	t_tweak = tweak_loopback;
	return setup(state);
}

/* [auth] allow_plaintext_loopback: AUTH without TLS from this machine. */
static void test_plaintext_loopback(void **state)
{
	struct client c;
	char token[256], line[300];

	(void)state;
	smtp_connect(&c);
	smtp_cmd(&c, "EHLO laptop.example", "250 DSN");
	plain64("alice@example.org", T_PASSWORD, token);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", token);
	smtp_cmd(&c, line, "235 2.7.0 Authentication successful");
	smtp_cmd(&c, "QUIT", "221 2.0.0 localhost closing connection");
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_after_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_exchanges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_account, setup_account, teardown),
		cmocka_unit_test_setup_teardown(test_sender_any, setup_any, teardown),
		cmocka_unit_test_setup_teardown(test_implicit_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plaintext_loopback, setup_loopback, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
