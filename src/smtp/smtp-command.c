/* smtp-command - parse one SMTP command line; see smtp-command.h for the
 * contract. One table row per verb: its name and its argument parser. */
#include "smtp/smtp-command.h"

#include <string.h>
#include <strings.h>

#include "core/number.h"

static const struct smtp_status smtp_parse_statuses[] = {
	[SMTP_PARSE_OK] = { 0, NULL, "OK" },
	[SMTP_PARSE_EMPTY] = { 500, "5.5.2", "Empty command" },
	[SMTP_PARSE_TOO_LONG] = { 500, "5.5.2", "Line too long" },
	[SMTP_PARSE_AUTH_TOO_LONG] = { 500, "5.5.6", "Authentication line too long" },
	[SMTP_PARSE_BAD_CHAR] = { 500, "5.5.2", "Invalid character in command" },
	[SMTP_PARSE_UNKNOWN_COMMAND] = { 500, "5.5.2", "Unknown command" },
	[SMTP_PARSE_MISSING_ARGUMENT] = { 501, "5.5.4", "Argument required" },
	[SMTP_PARSE_UNEXPECTED_ARGUMENT] = { 501, "5.5.4", "No argument allowed" },
	[SMTP_PARSE_BAD_SYNTAX] = { 501, "5.5.4", "Syntax error in arguments" },
	[SMTP_PARSE_BAD_DOMAIN] = { 501, "5.5.4", "Invalid domain name" },
	[SMTP_PARSE_BAD_SENDER] = { 501, "5.1.7", "Invalid sender address" },
	[SMTP_PARSE_BAD_RECIPIENT] = { 501, "5.1.3", "Invalid recipient address" },
	[SMTP_PARSE_UTF8_SENDER] = { 550, "5.6.7", "Non-ASCII sender address needs SMTPUTF8" },
	[SMTP_PARSE_UTF8_RECIPIENT] = { 553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8" },
	[SMTP_PARSE_BAD_PARAM] = { 501, "5.5.4", "Invalid parameter" },
	[SMTP_PARSE_DUPLICATE_PARAM] = { 501, "5.5.4", "Parameter given twice" },
	[SMTP_PARSE_UNKNOWN_PARAM] = { 555, "5.5.4", "Unsupported parameter" },
};
_Static_assert(sizeof(smtp_parse_statuses) / sizeof(smtp_parse_statuses[0]) == SMTP_PARSE__COUNT,
	       "smtp_parse_statuses out of step with enum smtp_parse_result");

static const char *const smtp_parse_names[] = {
	[SMTP_PARSE_OK] = "ok",
	[SMTP_PARSE_EMPTY] = "empty",
	[SMTP_PARSE_TOO_LONG] = "too-long",
	[SMTP_PARSE_AUTH_TOO_LONG] = "auth-too-long",
	[SMTP_PARSE_BAD_CHAR] = "bad-char",
	[SMTP_PARSE_UNKNOWN_COMMAND] = "unknown-command",
	[SMTP_PARSE_MISSING_ARGUMENT] = "missing-argument",
	[SMTP_PARSE_UNEXPECTED_ARGUMENT] = "unexpected-argument",
	[SMTP_PARSE_BAD_SYNTAX] = "bad-syntax",
	[SMTP_PARSE_BAD_DOMAIN] = "bad-domain",
	[SMTP_PARSE_BAD_SENDER] = "bad-sender",
	[SMTP_PARSE_BAD_RECIPIENT] = "bad-recipient",
	[SMTP_PARSE_UTF8_SENDER] = "utf8-sender",
	[SMTP_PARSE_UTF8_RECIPIENT] = "utf8-recipient",
	[SMTP_PARSE_BAD_PARAM] = "bad-param",
	[SMTP_PARSE_DUPLICATE_PARAM] = "duplicate-param",
	[SMTP_PARSE_UNKNOWN_PARAM] = "unknown-param",
};
_Static_assert(sizeof(smtp_parse_names) / sizeof(smtp_parse_names[0]) == SMTP_PARSE__COUNT,
	       "smtp_parse_names out of step with enum smtp_parse_result");

const struct smtp_status *smtp_parse_result_status(enum smtp_parse_result result)
{
	if ((unsigned)result >= SMTP_PARSE__COUNT)
		result = SMTP_PARSE_BAD_SYNTAX;
	return &smtp_parse_statuses[result];
}

const char *smtp_parse_result_name(enum smtp_parse_result result)
{
	if ((unsigned)result >= SMTP_PARSE__COUNT)
		return "invalid";
	return smtp_parse_names[result];
}

/* The words of an argument: separated by runs of spaces. */
struct smtp_words {
	const char *p;
	const char *end;
};

static bool smtp_next_word(struct smtp_words *w, const char **word_r, size_t *len_r)
{
	const char *start;

	while (w->p < w->end && *w->p == ' ')
		w->p++;
	if (w->p == w->end)
		return false;
	start = w->p;
	while (w->p < w->end && *w->p != ' ')
		w->p++;
	*word_r = start;
	*len_r = (size_t)(w->p - start);
	return true;
}

static enum smtp_parse_result smtp_fail(struct smtp_command *cmd, enum smtp_parse_result result,
					const char *detail)
{
	cmd->detail = detail;
	return result;
}

/* Start on the words of the argument with its first one, which must be
 * there: else MISSING_ARGUMENT with `missing` as the detail. */
static enum smtp_parse_result smtp_first_word(struct smtp_command *cmd, struct smtp_words *w,
					      const char **word_r, size_t *len_r,
					      const char *missing)
{
	w->p = cmd->arg;
	w->end = cmd->arg + cmd->arg_len;
	if (!smtp_next_word(w, word_r, len_r))
		return smtp_fail(cmd, SMTP_PARSE_MISSING_ARGUMENT, missing);
	return SMTP_PARSE_OK;
}

/* EHLO/HELO: a Domain or an address literal (RFC 5321 4.1.1.1; HELO's
 * literal is tolerated, as old clients send it). */
static enum smtp_parse_result smtp_parse_hello(const struct smtp_options *opts,
					       struct smtp_command *cmd)
{
	struct smtp_words w;
	enum smtp_address_result result;
	const char *word, *more;
	size_t len, more_len;

	(void)opts;
	if (smtp_first_word(cmd, &w, &word, &len, "a domain name is required") != SMTP_PARSE_OK)
		return SMTP_PARSE_MISSING_ARGUMENT;
	result = smtp_address_parse_domain(word, len, cmd->hello.domain, &cmd->hello.literal);
	if (result != SMTP_ADDRESS_OK)
		return smtp_fail(cmd, SMTP_PARSE_BAD_DOMAIN, smtp_address_result_text(result));
	cmd->hello.extra = smtp_next_word(&w, &more, &more_len);
	return SMTP_PARSE_OK;
}

/* The MAIL/RCPT argument after its "FROM:"/"TO:", spaces and path: the
 * parameters. */
static enum smtp_parse_result smtp_parse_params(struct smtp_command *cmd, const char *p,
						const char *end, bool rcpt)
{
	enum smtp_parse_result bad_address = rcpt ? SMTP_PARSE_BAD_RECIPIENT : SMTP_PARSE_BAD_SENDER;

	if (p < end && *p != ' ')
		return smtp_fail(cmd, bad_address, "invalid character after the address");
	if (smtp_params_split(p, (size_t)(end - p), cmd->params, &cmd->param_count,
			      &cmd->detail) != SMTP_PARAM_OK)
		return SMTP_PARSE_BAD_PARAM;
	return SMTP_PARSE_OK;
}

static enum smtp_parse_result smtp_param_result(struct smtp_command *cmd,
						enum smtp_param_result result, size_t bad)
{
	switch (result) {
	case SMTP_PARAM_OK:
		return SMTP_PARSE_OK;
	case SMTP_PARAM_DUPLICATE:
		cmd->bad_param = &cmd->params[bad];
		return SMTP_PARSE_DUPLICATE_PARAM;
	case SMTP_PARAM_UNKNOWN:
		cmd->bad_param = &cmd->params[bad];
		return SMTP_PARSE_UNKNOWN_PARAM;
	case SMTP_PARAM_BAD_VALUE:
		cmd->bad_param = &cmd->params[bad];
		return SMTP_PARSE_BAD_PARAM;
	case SMTP_PARAM_SYNTAX:
	case SMTP_PARAM_TOO_MANY:
		break;
	}
	return SMTP_PARSE_BAD_PARAM;
}

/* MAIL FROM:<path> [params] and RCPT TO:<path> [params] (RFC 5321
 * 4.1.1.2-3): the shared part up to the path. */
static enum smtp_parse_result smtp_parse_path_arg(struct smtp_command *cmd, bool rcpt, bool utf8,
						  struct smtp_address *addr, bool *space_r)
{
	const char *prefix = rcpt ? "TO:" : "FROM:";
	size_t prefix_len = strlen(prefix);
	const char *p = cmd->arg, *end = cmd->arg + cmd->arg_len;
	enum smtp_address_result result;
	size_t used;

	if (cmd->arg_len < prefix_len || strncasecmp(p, prefix, prefix_len) != 0)
		return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX,
				 rcpt ? "syntax: RCPT TO:<address>" : "syntax: MAIL FROM:<address>");
	p += prefix_len;
	while (p < end && *p == ' ') {
		*space_r = true;
		p++;
	}
	result = smtp_address_parse_path(p, (size_t)(end - p),
					 rcpt ? SMTP_PATH_FORWARD : SMTP_PATH_REVERSE, utf8, addr, &used);
	if (result == SMTP_ADDRESS_NON_ASCII)
		return smtp_fail(cmd, rcpt ? SMTP_PARSE_UTF8_RECIPIENT : SMTP_PARSE_UTF8_SENDER,
				 smtp_address_result_text(result));
	if (result != SMTP_ADDRESS_OK)
		return smtp_fail(cmd, rcpt ? SMTP_PARSE_BAD_RECIPIENT : SMTP_PARSE_BAD_SENDER,
				 smtp_address_result_text(result));
	return smtp_parse_params(cmd, p + used, end, rcpt);
}

/* MAIL: the path may hold UTF-8 only with SMTPUTF8 among its own
 * parameters, so it is parsed allowing UTF-8 and checked afterwards. */
static enum smtp_parse_result smtp_parse_mail(const struct smtp_options *opts,
					      struct smtp_command *cmd)
{
	enum smtp_parse_result result;
	enum smtp_param_result param;
	size_t bad = 0;

	result = smtp_parse_path_arg(cmd, false, true, &cmd->mail.from,
				     &cmd->mail.space_after_colon);
	if (result != SMTP_PARSE_OK)
		return result;
	param = smtp_mail_params_parse(cmd->params, cmd->param_count, opts->extensions,
				       &cmd->mail.params, &cmd->detail, &bad);
	result = smtp_param_result(cmd, param, bad);
	if (result != SMTP_PARSE_OK)
		return result;
	if (cmd->mail.from.utf8 && !cmd->mail.params.smtputf8)
		return smtp_fail(cmd, SMTP_PARSE_UTF8_SENDER,
				 smtp_address_result_text(SMTP_ADDRESS_NON_ASCII));
	return SMTP_PARSE_OK;
}

static enum smtp_parse_result smtp_parse_rcpt(const struct smtp_options *opts,
					      struct smtp_command *cmd)
{
	enum smtp_parse_result result;
	enum smtp_param_result param;
	size_t bad = 0;

	result = smtp_parse_path_arg(cmd, true, opts->utf8, &cmd->rcpt.to,
				     &cmd->rcpt.space_after_colon);
	if (result != SMTP_PARSE_OK)
		return result;
	param = smtp_rcpt_params_parse(cmd->params, cmd->param_count, opts->extensions,
				       opts->utf8, &cmd->rcpt.params, &cmd->detail, &bad);
	return smtp_param_result(cmd, param, bad);
}

/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] (RFC 3030 2). */
static enum smtp_parse_result smtp_parse_bdat(const struct smtp_options *opts,
					      struct smtp_command *cmd)
{
	struct smtp_words w;
	const char *word;
	size_t len;

	(void)opts;
	if (smtp_first_word(cmd, &w, &word, &len, "a chunk size is required") != SMTP_PARSE_OK)
		return SMTP_PARSE_MISSING_ARGUMENT;
	if (!number_parse_u64(word, len, UINT64_MAX, &cmd->bdat.size))
		return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "invalid chunk size");
	if (smtp_next_word(&w, &word, &len)) {
		if (len != 4 || strncasecmp(word, "LAST", 4) != 0)
			return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "syntax: BDAT size [LAST]");
		cmd->bdat.last = true;
	}
	if (smtp_next_word(&w, &word, &len))
		return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "syntax: BDAT size [LAST]");
	return SMTP_PARSE_OK;
}

/* AUTH mechanism [initial-response] (RFC 4954 4). */
static enum smtp_parse_result smtp_parse_auth(const struct smtp_options *opts,
					      struct smtp_command *cmd)
{
	struct smtp_words w;
	const char *word;
	size_t len;

	(void)opts;
	if (smtp_first_word(cmd, &w, &word, &len, "a mechanism is required") != SMTP_PARSE_OK)
		return SMTP_PARSE_MISSING_ARGUMENT;
	if (len > SMTP_MECHANISM_MAX)
		return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "invalid mechanism name");
	for (size_t i = 0; i < len; i++) {
		/* mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE, any case here */
		char c = word[i];

		if (!smtp_address_is_let_dig((unsigned char)c) && c != '-' && c != '_')
			return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "invalid mechanism name");
		cmd->auth.mechanism[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	cmd->auth.mechanism[len] = '\0';
	if (smtp_next_word(&w, &word, &len)) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)word[i] < 33 || (unsigned char)word[i] > 126)
				return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX,
						 "invalid initial response");
		cmd->auth.response = word;
		cmd->auth.response_len = len;
		cmd->auth.response_empty = len == 1 && word[0] == '=';
	}
	if (smtp_next_word(&w, &word, &len))
		return smtp_fail(cmd, SMTP_PARSE_BAD_SYNTAX, "syntax: AUTH mechanism [response]");
	return SMTP_PARSE_OK;
}

/* DATA, RSET, QUIT, STARTTLS: RFC 5321 4.1.1 (RFC 3207 4), no arguments. */
static enum smtp_parse_result smtp_parse_none(const struct smtp_options *opts,
					      struct smtp_command *cmd)
{
	(void)opts;
	if (cmd->arg_len != 0)
		return smtp_fail(cmd, SMTP_PARSE_UNEXPECTED_ARGUMENT, NULL);
	return SMTP_PARSE_OK;
}

/* VRFY, EXPN: String (RFC 5321 4.1.1.6-7); what it names is not looked
 * at (the session answers 252 without disclosing anything). */
static enum smtp_parse_result smtp_parse_string(const struct smtp_options *opts,
						struct smtp_command *cmd)
{
	(void)opts;
	if (cmd->arg_len == 0)
		return smtp_fail(cmd, SMTP_PARSE_MISSING_ARGUMENT, NULL);
	return SMTP_PARSE_OK;
}

/* NOOP, HELP: an optional argument, taken as it is (RFC 5321 4.1.1.8-9). */
static enum smtp_parse_result smtp_parse_any(const struct smtp_options *opts,
					     struct smtp_command *cmd)
{
	(void)opts;
	(void)cmd;
	return SMTP_PARSE_OK;
}

typedef enum smtp_parse_result smtp_args_fn(const struct smtp_options *opts,
					    struct smtp_command *cmd);

static const struct smtp_verb_def {
	const char *name;
	smtp_args_fn *args;
} smtp_verbs[] = {
	[SMTP_VERB_UNKNOWN] = { "unknown", NULL },
	[SMTP_VERB_EHLO] = { "EHLO", smtp_parse_hello },
	[SMTP_VERB_HELO] = { "HELO", smtp_parse_hello },
	[SMTP_VERB_MAIL] = { "MAIL", smtp_parse_mail },
	[SMTP_VERB_RCPT] = { "RCPT", smtp_parse_rcpt },
	[SMTP_VERB_DATA] = { "DATA", smtp_parse_none },
	[SMTP_VERB_BDAT] = { "BDAT", smtp_parse_bdat },
	[SMTP_VERB_RSET] = { "RSET", smtp_parse_none },
	[SMTP_VERB_NOOP] = { "NOOP", smtp_parse_any },
	[SMTP_VERB_QUIT] = { "QUIT", smtp_parse_none },
	[SMTP_VERB_VRFY] = { "VRFY", smtp_parse_string },
	[SMTP_VERB_EXPN] = { "EXPN", smtp_parse_string },
	[SMTP_VERB_HELP] = { "HELP", smtp_parse_any },
	[SMTP_VERB_STARTTLS] = { "STARTTLS", smtp_parse_none },
	[SMTP_VERB_AUTH] = { "AUTH", smtp_parse_auth },
};
_Static_assert(sizeof(smtp_verbs) / sizeof(smtp_verbs[0]) == SMTP_VERB__COUNT,
	       "smtp_verbs out of step with enum smtp_verb");

const char *smtp_verb_name(enum smtp_verb verb)
{
	if ((unsigned)verb >= SMTP_VERB__COUNT)
		verb = SMTP_VERB_UNKNOWN;
	return smtp_verbs[verb].name;
}

static enum smtp_verb smtp_verb_lookup(const char *word, size_t len)
{
	for (unsigned v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB__COUNT; v++)
		if (strlen(smtp_verbs[v].name) == len && strncasecmp(word, smtp_verbs[v].name, len) == 0)
			return (enum smtp_verb)v;
	return SMTP_VERB_UNKNOWN;
}

enum smtp_parse_result smtp_command_parse(const char *line, size_t len,
					  const struct smtp_options *opts,
					  struct smtp_command *cmd)
{
	const char *space;
	size_t verb_len, i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->arg = "";
	/* RFC 5321 4.1.1: tolerate trailing white space. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return SMTP_PARSE_EMPTY;
	space = memchr(line, ' ', len);
	verb_len = space != NULL ? (size_t)(space - line) : len;
	cmd->verb = smtp_verb_lookup(line, verb_len);
	if (len + 2 > (cmd->verb == SMTP_VERB_AUTH ? SMTP_AUTH_LINE_MAX : SMTP_LINE_MAX))
		return cmd->verb == SMTP_VERB_AUTH ? SMTP_PARSE_AUTH_TOO_LONG : SMTP_PARSE_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return SMTP_PARSE_BAD_CHAR;
	}
	if (cmd->verb == SMTP_VERB_UNKNOWN)
		return SMTP_PARSE_UNKNOWN_COMMAND;
	for (i = verb_len; i < len && line[i] == ' '; i++)
		;
	cmd->arg = line + i;
	cmd->arg_len = len - i;
	return smtp_verbs[cmd->verb].args(opts, cmd);
}
