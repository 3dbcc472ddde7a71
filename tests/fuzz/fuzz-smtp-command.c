/* fuzz-smtp-command - libFuzzer harness for the SMTP command parser and
 * its ESMTP parameters. The first byte picks the advertised extensions
 * and whether the transaction has SMTPUTF8; the rest, split on '\n', is
 * one command line each. Every result must have a reply, and what a
 * parsed command holds must be bounded and point into its line. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp/smtp-command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_within(const char *p, size_t n, const char *line, size_t len)
{
	return p >= line && n <= len && (size_t)(p - line) <= len - n;
}

static void fuzz_check(const struct smtp_command *cmd, enum smtp_parse_result result,
		       const char *line, size_t len)
{
	const struct smtp_status *st = smtp_parse_result_status(result);

	if (st->text == NULL || (result != SMTP_PARSE_OK && (st->code < 500 || st->enhanced == NULL)))
		__builtin_trap();
	if (cmd->arg_len > 0 && !fuzz_within(cmd->arg, cmd->arg_len, line, len))
		__builtin_trap();
	if (cmd->param_count > SMTP_PARAMS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < cmd->param_count; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (!fuzz_within(p->keyword, p->keyword_len, line, len) ||
		    (p->value != NULL && !fuzz_within(p->value, p->value_len, line, len)))
			__builtin_trap();
	}
	if (result != SMTP_PARSE_OK)
		return;
	switch (cmd->verb) {
	case SMTP_VERB_MAIL:
		if (strlen(cmd->mail.from.local) > SMTP_LOCAL_MAX ||
		    strlen(cmd->mail.params.envid) > SMTP_ENVID_MAX ||
		    strlen(cmd->mail.params.auth) > SMTP_AUTH_PARAM_MAX ||
		    (cmd->mail.from.utf8 && !cmd->mail.params.smtputf8))
			__builtin_trap();
		break;
	case SMTP_VERB_RCPT:
		if (cmd->rcpt.to.null_path || strlen(cmd->rcpt.params.orcpt) > SMTP_ORCPT_MAX ||
		    ((cmd->rcpt.params.notify & SMTP_NOTIFY_NEVER) != 0 &&
		     cmd->rcpt.params.notify != SMTP_NOTIFY_NEVER))
			__builtin_trap();
		break;
	case SMTP_VERB_AUTH:
		if (strlen(cmd->auth.mechanism) == 0 || strlen(cmd->auth.mechanism) > SMTP_MECHANISM_MAX ||
		    (cmd->auth.response != NULL &&
		     !fuzz_within(cmd->auth.response, cmd->auth.response_len, line, len)))
			__builtin_trap();
		break;
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		if (cmd->hello.domain[0] == '\0')
			__builtin_trap();
		break;
	case SMTP_VERB_UNKNOWN:
		__builtin_trap();
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_command cmd;
	struct smtp_options opts;
	const char *p, *end;

	if (size < 1)
		return 0;
	opts.extensions = data[0] & 0x1f;
	opts.utf8 = (data[0] & 0x20) != 0;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		enum smtp_parse_result result = smtp_command_parse(p, len, &opts, &cmd);

		fuzz_check(&cmd, result, p, len);
		(void)smtp_parse_result_name(result);
		(void)smtp_verb_name(cmd.verb);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}
