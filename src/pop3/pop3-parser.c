/* pop3-parser - split a POP3 command line into keyword and arguments;
 * see pop3-parser.h for the contract. */
#include "pop3/pop3-parser.h"

#include <string.h>

static const char *const pop3_parse_texts[] = {
	[POP3_PARSE_OK] = "OK",
	[POP3_PARSE_EMPTY] = "Empty command",
	[POP3_PARSE_TOO_LONG] = "Line too long",
	[POP3_PARSE_BAD_CHAR] = "Invalid character in command",
	[POP3_PARSE_BAD_KEYWORD] = "Unknown command",
	[POP3_PARSE_TOO_MANY_ARGS] = "Too many arguments",
};
_Static_assert(sizeof(pop3_parse_texts) / sizeof(pop3_parse_texts[0]) == POP3_PARSE__COUNT,
	       "pop3_parse_texts out of step with enum pop3_parse_result");

const char *pop3_parse_result_text(enum pop3_parse_result result)
{
	if ((unsigned)result >= POP3_PARSE__COUNT)
		return "Invalid command";
	return pop3_parse_texts[result];
}

static bool pop3_is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_command *cmd)
{
	size_t i, start, klen;
	char *tok, *rest;

	/* RFC 2449 4: 255 octets including the CRLF the conn stripped. */
	if (len > POP3_LINE_MAX - 2)
		return POP3_PARSE_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			return POP3_PARSE_BAD_CHAR;
	}
	/* A client may pad with spaces; trailing ones never matter. */
	while (len > 0 && line[len - 1] == ' ')
		len--;
	start = 0;
	while (start < len && line[start] == ' ')
		start++;
	if (start == len)
		return POP3_PARSE_EMPTY;

	memset(cmd->name, 0, sizeof(cmd->name));
	cmd->argc = 0;
	klen = 0;
	for (i = start; i < len && line[i] != ' '; i++) {
		if (!pop3_is_letter(line[i]) || klen == POP3_KEYWORD_MAX)
			return POP3_PARSE_BAD_KEYWORD;
		cmd->name[klen++] = (char)(line[i] & ~0x20);
	}
	if (klen < 3)
		return POP3_PARSE_BAD_KEYWORD;

	/* storage = rest copy, NUL, token copy, NUL: both fit in 2 * 256. */
	rest = cmd->storage;
	cmd->rest_len = i < len ? len - i - 1 : 0;
	memcpy(rest, line + len - cmd->rest_len, cmd->rest_len);
	rest[cmd->rest_len] = '\0';
	cmd->rest = rest;

	tok = rest + cmd->rest_len + 1;
	memcpy(tok, rest, cmd->rest_len + 1);
	while (*tok != '\0') {
		while (*tok == ' ')
			*tok++ = '\0';
		if (*tok == '\0')
			break;
		if (cmd->argc == POP3_ARGS_MAX)
			return POP3_PARSE_TOO_MANY_ARGS;
		cmd->args[cmd->argc++] = tok;
		while (*tok != '\0' && *tok != ' ')
			tok++;
	}
	return POP3_PARSE_OK;
}

bool pop3_command_args_valid(const struct pop3_command *cmd, unsigned min_args,
			     unsigned max_args, bool last_may_be_long, const char **error_r)
{
	unsigned i;

	if (cmd->argc < min_args) {
		*error_r = "Missing argument";
		return false;
	}
	if (cmd->argc > max_args) {
		*error_r = "Too many arguments";
		return false;
	}
	for (i = 0; i < cmd->argc; i++) {
		if (last_may_be_long && i + 1 == cmd->argc)
			break;
		if (strlen(cmd->args[i]) > POP3_ARG_LEN_MAX) {
			*error_r = "Argument too long";
			return false;
		}
	}
	return true;
}
