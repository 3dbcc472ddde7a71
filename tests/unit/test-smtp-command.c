/* test-smtp-command - the SMTP command line parser and its ESMTP
 * parameters: every verb, what real clients send, broken lines, the
 * line caps, each known parameter good and bad, and xtext. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-command.h"

#define ALL_EXT (SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN | SMTP_EXT_AUTH)

static struct smtp_command cmd;

static enum smtp_parse_result parse_opts(const char *line, unsigned ext, bool utf8)
{
	struct smtp_options opts = { .extensions = ext, .utf8 = utf8 };

	return smtp_command_parse(line, strlen(line), &opts, &cmd);
}

static enum smtp_parse_result parse(const char *line)
{
	return parse_opts(line, ALL_EXT, false);
}

static void assert_arg(const char *want)
{
	assert_int_equal(cmd.arg_len, strlen(want));
	assert_memory_equal(cmd.arg, want, cmd.arg_len);
}

static void test_verbs(void **state)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
	} cases[] = {
		{ "EHLO a.example", SMTP_VERB_EHLO }, { "helo a.example", SMTP_VERB_HELO },
		{ "MAIL FROM:<>", SMTP_VERB_MAIL }, { "Rcpt To:<a@b>", SMTP_VERB_RCPT },
		{ "DATA", SMTP_VERB_DATA }, { "bdat 0 last", SMTP_VERB_BDAT },
		{ "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP },
		{ "quit", SMTP_VERB_QUIT }, { "VRFY joe", SMTP_VERB_VRFY },
		{ "EXPN list", SMTP_VERB_EXPN }, { "HELP", SMTP_VERB_HELP },
		{ "StartTLS", SMTP_VERB_STARTTLS }, { "AUTH PLAIN", SMTP_VERB_AUTH },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, cases[i].verb);
	}
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "unknown");
	assert_string_equal(smtp_verb_name(SMTP_VERB__COUNT), "unknown");

	assert_int_equal(parse("MAILX FROM:<>"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	assert_int_equal(parse("MAI"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(parse("GET / HTTP/1.1"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(parse("TURN"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(parse(" NOOP"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(parse("\xc3\xa9HLO x"), SMTP_PARSE_UNKNOWN_COMMAND);
	assert_int_equal(parse(""), SMTP_PARSE_EMPTY);
	assert_int_equal(parse("   \t "), SMTP_PARSE_EMPTY);
}

static void test_chars_and_spaces(void **state)
{
	(void)state;
	/* RFC 5321 4.1.1: trailing white space is tolerated. */
	assert_int_equal(parse("QUIT  \t "), SMTP_PARSE_OK);
	assert_int_equal(parse("NOOP  hello there "), SMTP_PARSE_OK);
	assert_arg("hello there");
	assert_int_equal(parse("HELP"), SMTP_PARSE_OK);
	assert_arg("");
	assert_int_equal(smtp_command_parse("NOOP \0x", 7, &(struct smtp_options){ 0 }, &cmd),
			 SMTP_PARSE_BAD_CHAR);
	assert_int_equal(cmd.verb, SMTP_VERB_NOOP);
	assert_int_equal(parse("NOOP a\rb"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("NOOP a\nb"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("NOOP \x1b[0m"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("NOOP \x7f"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("XYZZY \x01"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("NOOP \xc3\xa9"), SMTP_PARSE_OK);
	assert_int_equal(parse("MAIL\tFROM:<>"), SMTP_PARSE_UNKNOWN_COMMAND);
}

static void test_no_arguments(void **state)
{
	(void)state;
	assert_int_equal(parse("DATA x"), SMTP_PARSE_UNEXPECTED_ARGUMENT);
	assert_int_equal(cmd.verb, SMTP_VERB_DATA);
	assert_int_equal(parse("RSET now"), SMTP_PARSE_UNEXPECTED_ARGUMENT);
	assert_int_equal(parse("QUIT bye"), SMTP_PARSE_UNEXPECTED_ARGUMENT);
	assert_int_equal(parse("STARTTLS x"), SMTP_PARSE_UNEXPECTED_ARGUMENT);
	assert_int_equal(parse("VRFY"), SMTP_PARSE_MISSING_ARGUMENT);
	assert_int_equal(parse("EXPN   "), SMTP_PARSE_MISSING_ARGUMENT);
	assert_int_equal(parse("VRFY \"Joe Smith\""), SMTP_PARSE_OK);
	assert_arg("\"Joe Smith\"");
	assert_int_equal(parse("HELP MAIL"), SMTP_PARSE_OK);
	assert_arg("MAIL");
}

static void test_lengths(void **state)
{
	static char line[SMTP_AUTH_LINE_MAX + 16];

	(void)state;
	/* SMTP_LINE_MAX with the CRLF the reader removed. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	line[SMTP_LINE_MAX - 2] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_OK);
	line[SMTP_LINE_MAX - 2] = 'x';
	line[SMTP_LINE_MAX - 1] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_TOO_LONG);
	assert_int_equal(cmd.verb, SMTP_VERB_NOOP);
	memcpy(line, "XXXX ", 5);
	assert_int_equal(parse(line), SMTP_PARSE_TOO_LONG);
	/* Trailing spaces do not count. */
	memset(line + 100, ' ', SMTP_LINE_MAX);
	line[100 + SMTP_LINE_MAX] = '\0';
	memcpy(line, "NOOP ", 5);
	assert_int_equal(parse(line), SMTP_PARSE_OK);

	/* AUTH gets SMTP_AUTH_LINE_MAX (RFC 4954 4). */
	memset(line, 'A', sizeof(line));
	memcpy(line, "AUTH PLAIN ", 11);
	line[SMTP_AUTH_LINE_MAX - 2] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_OK);
	assert_int_equal(cmd.auth.response_len, SMTP_AUTH_LINE_MAX - 2 - 11);
	line[SMTP_AUTH_LINE_MAX - 2] = 'A';
	line[SMTP_AUTH_LINE_MAX - 1] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_AUTH_TOO_LONG);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_AUTH_TOO_LONG)->code, 500);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_AUTH_TOO_LONG)->enhanced, "5.5.6");
}

static void test_hello(void **state)
{
	(void)state;
	assert_int_equal(parse("EHLO Mail.Example.ORG"), SMTP_PARSE_OK);
	assert_string_equal(cmd.hello.domain, "mail.example.org");
	assert_false(cmd.hello.literal);
	assert_false(cmd.hello.extra);
	assert_int_equal(parse("EHLO [192.0.2.7]"), SMTP_PARSE_OK);
	assert_true(cmd.hello.literal);
	assert_string_equal(cmd.hello.domain, "[192.0.2.7]");
	assert_int_equal(parse("EHLO [IPv6:2001:db8::7]"), SMTP_PARSE_OK);
	assert_string_equal(cmd.hello.domain, "[IPv6:2001:db8::7]");
	assert_int_equal(parse("HELO [192.0.2.7]"), SMTP_PARSE_OK);
	assert_int_equal(parse("HELO localhost"), SMTP_PARSE_OK);
	/* RFC 5321 4.1.1.1: text after the literal is tolerated, and reported. */
	assert_int_equal(parse("EHLO [192.0.2.7] (my laptop)"), SMTP_PARSE_OK);
	assert_true(cmd.hello.extra);
	assert_int_equal(parse("EHLO  a.example  "), SMTP_PARSE_OK);
	assert_false(cmd.hello.extra);

	assert_int_equal(parse("EHLO"), SMTP_PARSE_MISSING_ARGUMENT);
	assert_int_equal(cmd.verb, SMTP_VERB_EHLO);
	assert_int_equal(parse("EHLO my_pc"), SMTP_PARSE_BAD_DOMAIN);
	assert_string_equal(cmd.detail, "invalid domain");
	assert_int_equal(parse("EHLO [300.1.1.1]"), SMTP_PARSE_BAD_DOMAIN);
	assert_int_equal(parse("EHLO a..b"), SMTP_PARSE_BAD_DOMAIN);
	assert_int_equal(parse("EHLO b\xc3\xbc" "cher.example"), SMTP_PARSE_BAD_DOMAIN);
	assert_int_equal(parse("HELO <a@b>"), SMTP_PARSE_BAD_DOMAIN);
}

static void test_mail(void **state)
{
	(void)state;
	assert_int_equal(parse("MAIL FROM:<Joe@Example.org>"), SMTP_PARSE_OK);
	assert_string_equal(cmd.mail.from.local, "Joe");
	assert_string_equal(cmd.mail.from.domain, "example.org");
	assert_false(cmd.mail.space_after_colon);
	assert_int_equal(cmd.param_count, 0);
	assert_int_equal(parse("mail from:<>"), SMTP_PARSE_OK);
	assert_true(cmd.mail.from.null_path);
	/* What real clients send: a space after the colon, reported. */
	assert_int_equal(parse("MAIL FROM: <a@b>"), SMTP_PARSE_OK);
	assert_true(cmd.mail.space_after_colon);
	assert_string_equal(cmd.mail.from.local, "a");
	assert_int_equal(parse("MAIL  FROM:  <a@b>  SIZE=1"), SMTP_PARSE_OK);
	assert_true(cmd.mail.space_after_colon);
	assert_true(cmd.mail.params.has_size);

	assert_int_equal(parse("MAIL"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("MAIL TO:<a@b>"), SMTP_PARSE_BAD_SYNTAX);
	assert_string_equal(cmd.detail, "syntax: MAIL FROM:<address>");
	assert_int_equal(parse("MAIL FROM <a@b>"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("MAIL FROM:"), SMTP_PARSE_BAD_SENDER);
	assert_int_equal(parse("MAIL FROM:a@b"), SMTP_PARSE_BAD_SENDER);
	assert_string_equal(cmd.detail, "address must be enclosed in <>");
	assert_int_equal(parse("MAIL FROM:<a@b>SIZE=1"), SMTP_PARSE_BAD_SENDER);
	assert_int_equal(parse("MAIL FROM:<a@b_c>"), SMTP_PARSE_BAD_SENDER);
	assert_int_equal(parse("MAIL FROM:<postmaster>"), SMTP_PARSE_BAD_SENDER);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_BAD_SENDER)->code, 501);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_BAD_SENDER)->enhanced, "5.1.7");
}

static void test_rcpt(void **state)
{
	(void)state;
	assert_int_equal(parse("RCPT TO:<user@example.org>"), SMTP_PARSE_OK);
	assert_string_equal(cmd.rcpt.to.local, "user");
	assert_int_equal(parse("RCPT TO: <user@example.org>"), SMTP_PARSE_OK);
	assert_true(cmd.rcpt.space_after_colon);
	assert_int_equal(parse("RCPT TO:<Postmaster>"), SMTP_PARSE_OK);
	assert_true(cmd.rcpt.to.postmaster);
	assert_int_equal(parse("RCPT TO:<@relay.example:u@local.example>"), SMTP_PARSE_OK);
	assert_int_equal(cmd.rcpt.to.tricks, SMTP_ADDRESS_TRICK_SOURCE_ROUTE);
	assert_int_equal(parse("RCPT TO:<\"a@b\"@local.example>"), SMTP_PARSE_OK);
	assert_int_equal(cmd.rcpt.to.tricks, SMTP_ADDRESS_TRICK_QUOTED_AT);

	assert_int_equal(parse("RCPT TO:<>"), SMTP_PARSE_BAD_RECIPIENT);
	assert_string_equal(cmd.detail, "empty address not allowed here");
	assert_int_equal(parse("RCPT FROM:<a@b>"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("RCPT TO:<a>"), SMTP_PARSE_BAD_RECIPIENT);
	assert_int_equal(parse("RCPT TO:<a@b"), SMTP_PARSE_BAD_RECIPIENT);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_BAD_RECIPIENT)->code, 501);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_BAD_RECIPIENT)->enhanced, "5.1.3");
}

static void test_utf8(void **state)
{
	(void)state;
	/* MAIL: UTF-8 in the path needs SMTPUTF8 on the same line. */
	assert_int_equal(parse("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8"), SMTP_PARSE_OK);
	assert_true(cmd.mail.params.smtputf8);
	assert_true(cmd.mail.from.utf8);
	assert_int_equal(parse("MAIL FROM:<j\xc3\xb6rg@example.org>"), SMTP_PARSE_UTF8_SENDER);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_UTF8_SENDER)->code, 550);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_UTF8_SENDER)->enhanced, "5.6.7");
	/* ... and SMTPUTF8 advertised. */
	assert_int_equal(parse_opts("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8",
				    ALL_EXT & ~SMTP_EXT_SMTPUTF8, false), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse("MAIL FROM:<j\xc3@example.org> SMTPUTF8"), SMTP_PARSE_BAD_SENDER);
	assert_int_equal(parse("MAIL FROM:<a@b> SMTPUTF8"), SMTP_PARSE_OK);
	assert_false(cmd.mail.from.utf8);

	/* RCPT: the transaction says. */
	assert_int_equal(parse_opts("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.cn>",
				    ALL_EXT, true), SMTP_PARSE_OK);
	assert_true(cmd.rcpt.to.utf8);
	assert_int_equal(parse_opts("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.cn>", ALL_EXT, false),
			 SMTP_PARSE_UTF8_RECIPIENT);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_UTF8_RECIPIENT)->code, 553);
	assert_int_equal(parse_opts("RCPT TO:<a@b\xff>", ALL_EXT, true), SMTP_PARSE_BAD_RECIPIENT);
}

static void test_mail_params(void **state)
{
	const struct smtp_mail_params *m = &cmd.mail.params;

	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@b> size=12345 Body=8bitmime SMTPUTF8 RET=hdrs "
			       "ENVID=QQ314159+2Bx AUTH=e+2Bx@example.org"),
			 SMTP_PARSE_OK);
	assert_int_equal(cmd.param_count, 6);
	assert_memory_equal(cmd.params[0].keyword, "size", 4);
	assert_int_equal(cmd.params[0].keyword_len, 4);
	assert_memory_equal(cmd.params[0].value, "12345", 5);
	assert_null(cmd.params[2].value);
	assert_true(m->has_size);
	assert_int_equal(m->size, 12345);
	assert_int_equal(m->body, SMTP_BODY_8BITMIME);
	assert_true(m->smtputf8);
	assert_int_equal(m->ret, SMTP_RET_HDRS);
	assert_true(m->has_envid);
	assert_string_equal(m->envid, "QQ314159+x");
	assert_true(m->has_auth);
	assert_false(m->auth_null);
	assert_string_equal(m->auth, "e+x@example.org");

	assert_int_equal(parse("MAIL FROM:<> BODY=7BIT RET=FULL AUTH=<>"), SMTP_PARSE_OK);
	assert_int_equal(m->body, SMTP_BODY_7BIT);
	assert_int_equal(m->ret, SMTP_RET_FULL);
	assert_true(m->auth_null);
	assert_false(m->has_size);
	assert_false(m->has_envid);
	assert_int_equal(parse("MAIL FROM:<> SIZE=0"), SMTP_PARSE_OK);
	assert_int_equal(m->size, 0);
	assert_int_equal(parse("MAIL FROM:<> SIZE=18446744073709551615"), SMTP_PARSE_OK);
	assert_true(m->size == UINT64_MAX);

	/* RFC 1870: a SIZE that overflows is a syntax error. */
	assert_int_equal(parse("MAIL FROM:<> SIZE=18446744073709551616"), SMTP_PARSE_BAD_PARAM);
	assert_non_null(cmd.bad_param);
	assert_memory_equal(cmd.bad_param->keyword, "SIZE", 4);
	assert_int_equal(parse("MAIL FROM:<> SIZE=000000000000000000001"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SIZE=-1"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SIZE=1k"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SIZE"), SMTP_PARSE_BAD_PARAM);
	assert_string_equal(cmd.detail, "parameter needs a value");
	assert_int_equal(parse("MAIL FROM:<> SIZE="), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> BODY=8BIT"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> BODY=BINARYMIME"), SMTP_PARSE_UNKNOWN_PARAM);
	assert_string_equal(cmd.detail, "BODY=BINARYMIME is not supported");
	assert_int_equal(parse("MAIL FROM:<> SMTPUTF8=yes"), SMTP_PARSE_BAD_PARAM);
	assert_string_equal(cmd.detail, "parameter takes no value");
	assert_int_equal(parse("MAIL FROM:<> RET=ALL"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> ENVID=a+2"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> ENVID=a+0D+0A"), SMTP_PARSE_BAD_PARAM);  /* not printable */
	assert_int_equal(parse("MAIL FROM:<> ENVID=a+C3+B6"), SMTP_PARSE_BAD_PARAM);  /* not ASCII */
	assert_int_equal(parse("MAIL FROM:<> SMTPUTF8 ENVID=a+C3+B6"), SMTP_PARSE_OK);
	assert_string_equal(m->envid, "a\xc3\xb6");
	assert_int_equal(parse("MAIL FROM:<> SMTPUTF8 ENVID=a+C3"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> ENVID=a\xc3\xb6"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> ENVID=a\xc3\xb6 SMTPUTF8"), SMTP_PARSE_OK);
	assert_int_equal(parse("MAIL FROM:<> AUTH=nobody"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> AUTH=<a@b>"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> AUTH=+3C+3E"), SMTP_PARSE_OK);
	assert_true(m->auth_null);
	assert_int_equal(parse("MAIL FROM:<> AUTH=j+C3+B6rg@x"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> AUTH=j+C3+B6rg@x SMTPUTF8"), SMTP_PARSE_OK);
	/* NOTIFY and ORCPT are RCPT's. */
	assert_int_equal(parse("MAIL FROM:<> NOTIFY=NEVER"), SMTP_PARSE_UNKNOWN_PARAM);
}

/* Append n copies of c. */
static void repeat(char *line, char c, size_t n)
{
	size_t len = strlen(line);

	memset(line + len, c, n);
	line[len + n] = '\0';
}

/* A MAIL with every parameter at its longest: a 256-octet path, SIZE of
 * 20 digits, ENVID of 100, AUTH= of 500 (a 320-octet mailbox, partly
 * hex-encoded). */
static void longest_mail(char *line, size_t size)
{
	assert_true(size > 1000);
	strcpy(line, "MAIL FROM:<");
	repeat(line, 'l', 64);
	strcat(line, "@");
	repeat(line, 'd', 63);
	strcat(line, ".");
	repeat(line, 'd', 63);
	strcat(line, ".");
	repeat(line, 'd', 61);
	strcat(line, "> SIZE=18446744073709551615 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=");
	repeat(line, 'e', 100);
	strcat(line, " AUTH=");
	for (int i = 0; i < 64; i++)
		strcat(line, "+61");
	strcat(line, "@");
	for (int i = 0; i < 26; i++)
		strcat(line, "+62");
	repeat(line, 'b', 63 - 26);
	for (int i = 0; i < 3; i++) {
		strcat(line, ".");
		repeat(line, 'c', 63);
	}
}

static void test_param_rules(void **state)
{
	char line[1100];

	(void)state;
	/* Unknown, or of an extension not advertised: 555. */
	assert_int_equal(parse("MAIL FROM:<> XFOO=1"), SMTP_PARSE_UNKNOWN_PARAM);
	assert_memory_equal(cmd.bad_param->keyword, "XFOO", 4);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_UNKNOWN_PARAM)->code, 555);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_UNKNOWN_PARAM)->enhanced, "5.5.4");
	assert_int_equal(parse("MAIL FROM:<> REQUIRETLS"), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("MAIL FROM:<> SIZE=1", 0, false), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("MAIL FROM:<> BODY=8BITMIME", SMTP_EXT_SIZE, false),
			 SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("MAIL FROM:<> AUTH=<>", ALL_EXT & ~SMTP_EXT_AUTH, false),
			 SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("MAIL FROM:<> RET=FULL", ALL_EXT & ~SMTP_EXT_DSN, false),
			 SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("RCPT TO:<a@b> NOTIFY=NEVER", ALL_EXT & ~SMTP_EXT_DSN, false),
			 SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse_opts("MAIL FROM:<>", 0, false), SMTP_PARSE_OK);
	/* The first problem wins. */
	assert_int_equal(parse("MAIL FROM:<> SIZE=x XFOO"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> XFOO SIZE=x"), SMTP_PARSE_UNKNOWN_PARAM);

	/* Twice: 501 (RFC 3461 4.5), also in another case. */
	assert_int_equal(parse("MAIL FROM:<> SIZE=1 size=2"), SMTP_PARSE_DUPLICATE_PARAM);
	assert_memory_equal(cmd.bad_param->keyword, "size", 4);
	assert_int_equal(parse("MAIL FROM:<> RET=FULL RET=FULL"), SMTP_PARSE_DUPLICATE_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SMTPUTF8 SMTPUTF8"), SMTP_PARSE_DUPLICATE_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=rfc822;a@b ORCPT=rfc822;a@b"),
			 SMTP_PARSE_DUPLICATE_PARAM);
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_DUPLICATE_PARAM)->code, 501);

	/* esmtp-param syntax. */
	assert_int_equal(parse("MAIL FROM:<> -SIZE=1"), SMTP_PARSE_BAD_PARAM);
	assert_string_equal(cmd.detail, "invalid parameter name");
	assert_null(cmd.bad_param);
	assert_int_equal(parse("MAIL FROM:<> SIZE=1=2"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SI_ZE=1"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> =1"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> SIZE=1\tBODY=7BIT"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("MAIL FROM:<> X-Y-1"), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse("MAIL FROM:<> A B C D E F G H I J K L M N O P"), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(parse("MAIL FROM:<> A B C D E F G H I J K L M N O P Q"), SMTP_PARSE_BAD_PARAM);
	assert_string_equal(cmd.detail, "too many parameters");

	/* The longest MAIL this parser accepts fits in SMTP_LINE_MAX. */
	longest_mail(line, sizeof(line));
	assert_int_equal(strlen(line) + 2, 939);
	assert_int_equal(parse(line), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.mail.from.local), 64);
	assert_int_equal(strlen(cmd.mail.params.envid), 100);
	assert_int_equal(strlen(cmd.mail.params.auth), 64 + 1 + 255);
	*strstr(line, " AUTH=") = '\0';
	strcat(line, "e");
	assert_int_equal(parse(line), SMTP_PARSE_BAD_PARAM);   /* ENVID over 100 */
	longest_mail(line, sizeof(line));
	strcat(line, "a");
	assert_int_equal(parse(line), SMTP_PARSE_BAD_PARAM);   /* AUTH= over 500 */
	assert_memory_equal(cmd.bad_param->keyword, "AUTH", 4);
}

static void test_rcpt_params(void **state)
{
	const struct smtp_rcpt_params *r = &cmd.rcpt.params;
	char line[700];

	(void)state;
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=success,Failure,DELAY ORCPT=rfc822;A+2Bb@b"),
			 SMTP_PARSE_OK);
	assert_int_equal(r->notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	assert_true(r->has_orcpt);
	assert_string_equal(r->orcpt_type, "rfc822");
	assert_string_equal(r->orcpt, "A+b@b");
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=NEVER"), SMTP_PARSE_OK);
	assert_int_equal(r->notify, SMTP_NOTIFY_NEVER);
	assert_false(r->has_orcpt);
	assert_int_equal(parse("RCPT TO:<a@b>"), SMTP_PARSE_OK);
	assert_int_equal(r->notify, 0);
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=DELAY"), SMTP_PARSE_OK);
	assert_int_equal(r->notify, SMTP_NOTIFY_DELAY);

	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS"), SMTP_PARSE_BAD_PARAM);
	assert_string_equal(cmd.detail, "NOTIFY=NEVER must be alone");
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,,FAILURE"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=ALWAYS"), SMTP_PARSE_BAD_PARAM);
	/* RFC 3461 5.4: 28 octets hold any sensible list; repeats are allowed. */
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY,DELAY"), SMTP_PARSE_OK);
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY,SUCCESS"),
			 SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=a@b"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=;a@b"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=rfc822;"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=rfc(822);a"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=rfc822;a+0"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=rfc822;a+00"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse("RCPT TO:<a@b> ORCPT=utf-8;j\xc3\xb6rg@x"), SMTP_PARSE_BAD_PARAM);
	assert_int_equal(parse_opts("RCPT TO:<a@b> ORCPT=utf-8;j\xc3\xb6rg@x", ALL_EXT, true),
			 SMTP_PARSE_OK);
	assert_string_equal(r->orcpt_type, "utf-8");
	assert_string_equal(r->orcpt, "j\xc3\xb6rg@x");
	assert_int_equal(parse("RCPT TO:<a@b> SIZE=1"), SMTP_PARSE_UNKNOWN_PARAM);

	/* 500 octets of ORCPT fit (RFC 3461 5.4), and the line fits too. */
	memset(line, 'o', sizeof(line));
	memcpy(line, "RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;", 56);
	line[56 + 500 - 7] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_OK);
	assert_int_equal(strlen(r->orcpt), 493);
	line[56 + 500 - 7] = 'o';
	line[56 + 500 - 6] = '\0';
	assert_int_equal(parse(line), SMTP_PARSE_BAD_PARAM);
}

static void test_bdat(void **state)
{
	(void)state;
	assert_int_equal(parse("BDAT 1000"), SMTP_PARSE_OK);
	assert_int_equal(cmd.bdat.size, 1000);
	assert_false(cmd.bdat.last);
	assert_int_equal(parse("BDAT 0 LAST"), SMTP_PARSE_OK);
	assert_int_equal(cmd.bdat.size, 0);
	assert_true(cmd.bdat.last);
	assert_int_equal(parse("bdat  42  last "), SMTP_PARSE_OK);
	assert_true(cmd.bdat.last);
	assert_int_equal(parse("BDAT 18446744073709551615 LAST"), SMTP_PARSE_OK);
	assert_true(cmd.bdat.size == UINT64_MAX);

	assert_int_equal(parse("BDAT"), SMTP_PARSE_MISSING_ARGUMENT);
	assert_int_equal(parse("BDAT 18446744073709551616"), SMTP_PARSE_BAD_SYNTAX);
	assert_string_equal(cmd.detail, "invalid chunk size");
	assert_int_equal(parse("BDAT -1"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("BDAT 0x10"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("BDAT LAST"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("BDAT 10 FIRST"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("BDAT 10 LAST LAST"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("BDAT 10 LASTX"), SMTP_PARSE_BAD_SYNTAX);
}

static void test_auth(void **state)
{
	(void)state;
	assert_int_equal(parse("AUTH plain"), SMTP_PARSE_OK);
	assert_string_equal(cmd.auth.mechanism, "PLAIN");
	assert_null(cmd.auth.response);
	assert_false(cmd.auth.response_empty);
	assert_int_equal(parse("AUTH PLAIN AHVzZXIAcGFzcw=="), SMTP_PARSE_OK);
	assert_int_equal(cmd.auth.response_len, 16);
	assert_memory_equal(cmd.auth.response, "AHVzZXIAcGFzcw==", 16);
	/* What real clients send on submission: two spaces. */
	assert_int_equal(parse("AUTH PLAIN  AHVzZXIAcGFzcw=="), SMTP_PARSE_OK);
	assert_memory_equal(cmd.auth.response, "AHVzZXIAcGFzcw==", 16);
	assert_int_equal(parse("AUTH PLAIN ="), SMTP_PARSE_OK);
	assert_true(cmd.auth.response_empty);
	assert_int_equal(cmd.auth.response_len, 1);
	assert_int_equal(parse("AUTH SCRAM-SHA-256-PLUS"), SMTP_PARSE_OK);
	assert_string_equal(cmd.auth.mechanism, "SCRAM-SHA-256-PLUS");
	assert_int_equal(parse("AUTH X_OAUTH2"), SMTP_PARSE_OK);

	assert_int_equal(parse("AUTH"), SMTP_PARSE_MISSING_ARGUMENT);
	assert_int_equal(parse("AUTH PLAIN a b"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("AUTH PL*AIN"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("AUTH ABCDEFGHIJKLMNOPQRSTU"), SMTP_PARSE_BAD_SYNTAX);
	assert_int_equal(parse("AUTH ABCDEFGHIJKLMNOPQRST"), SMTP_PARSE_OK);
	assert_int_equal(parse("AUTH PLAIN AHV\xc3\xa9"), SMTP_PARSE_BAD_SYNTAX);
}

static void test_xtext(void **state)
{
	char out[8];
	size_t n = 99;

	(void)state;
	assert_true(smtp_xtext_decode("a+2B+3db", 8, false, out, sizeof(out), &n));
	assert_int_equal(n, 4);
	assert_string_equal(out, "a+=b");
	assert_true(smtp_xtext_decode("", 0, false, out, sizeof(out), &n));
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	/* The NUL has to fit as well. */
	assert_true(smtp_xtext_decode("1234567", 7, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("12345678", 8, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("1234567+41", 10, false, out, sizeof(out), &n));
	assert_true(smtp_xtext_decode("123456+41", 9, false, out, sizeof(out), &n));
	assert_string_equal(out, "123456A");
	assert_false(smtp_xtext_decode("123456\xc3\xb6", 8, true, out, sizeof(out), &n));
	assert_true(smtp_xtext_decode("12345\xc3\xb6", 7, true, out, sizeof(out), &n));

	assert_false(smtp_xtext_decode("a+", 2, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a+4", 3, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a+4G", 4, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a+00", 4, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a=b", 3, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a b", 3, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a\x7f", 2, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("\xc3\xb6", 2, false, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("\xc3", 1, true, out, sizeof(out), &n));
	assert_false(smtp_xtext_decode("a\0", 2, false, out, sizeof(out), &n));
}

static void test_statuses(void **state)
{
	(void)state;
	for (unsigned r = 0; r < SMTP_PARSE__COUNT; r++) {
		const struct smtp_status *st = smtp_parse_result_status((enum smtp_parse_result)r);

		assert_non_null(st->text);
		assert_non_null(smtp_parse_result_name((enum smtp_parse_result)r));
		if (r == SMTP_PARSE_OK) {
			assert_int_equal(st->code, 0);
			continue;
		}
		assert_true(st->code >= 500 && st->code <= 555);
		assert_non_null(st->enhanced);
		assert_int_equal(st->enhanced[0], '5');
	}
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE_UNKNOWN_COMMAND)->code, 500);
	assert_string_equal(smtp_parse_result_status(SMTP_PARSE_UNKNOWN_COMMAND)->enhanced, "5.5.2");
	assert_string_equal(smtp_parse_result_name(SMTP_PARSE_BAD_RECIPIENT), "bad-recipient");
	assert_string_equal(smtp_parse_result_name(SMTP_PARSE__COUNT), "invalid");
	assert_int_equal(smtp_parse_result_status(SMTP_PARSE__COUNT)->code, 501);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_chars_and_spaces),
		cmocka_unit_test(test_no_arguments),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_param_rules),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
