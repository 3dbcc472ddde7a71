/* pop3-parser - the POP3 command line tokenizer (RFC 1939 3, RFC 2449 4).
 * No I/O and no policy: it splits one line into a keyword and arguments;
 * the session's command table decides what a command may take. */
#ifndef TERN_POP3_POP3_PARSER_H
#define TERN_POP3_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2449 4: a command line is at most 255 octets including the CRLF. */
#define POP3_LINE_MAX 255
/* RFC 2449 4: keywords are 3 or 4 characters, arguments up to 40. */
#define POP3_KEYWORD_MAX 4
#define POP3_ARG_LEN_MAX 40
/* No command takes more than two; a few more are tokenized so that the
 * error can say "too many arguments". */
#define POP3_ARGS_MAX 4

enum pop3_parse_result {
	POP3_PARSE_OK,
	POP3_PARSE_EMPTY,          /* empty line, or only spaces */
	POP3_PARSE_TOO_LONG,       /* over POP3_LINE_MAX */
	POP3_PARSE_BAD_CHAR,       /* NUL or another control byte */
	POP3_PARSE_BAD_KEYWORD,    /* not 3-4 letters */
	POP3_PARSE_TOO_MANY_ARGS,  /* more than POP3_ARGS_MAX */
	POP3_PARSE__COUNT
};
/* A short English text for a reply ("Line too long"). */
const char *pop3_parse_result_text(enum pop3_parse_result result);

struct pop3_command {
	char name[POP3_KEYWORD_MAX + 1];   /* upper case, NUL-terminated */
	unsigned argc;
	const char *args[POP3_ARGS_MAX];   /* point into `storage` */
	/* Everything after the keyword and its one separating space, trailing
	 * spaces kept, as given (PASS: a password may contain spaces, RFC 1939
	 * 7). Points into `storage` too. */
	const char *rest;
	size_t rest_len;
	char storage[2 * (POP3_LINE_MAX + 1)];
};

/* Tokenize one line (without its CRLF; it may contain NUL bytes). The
 * keyword is upper-cased; arguments are separated by one or more spaces;
 * trailing spaces are ignored. On anything but POP3_PARSE_OK, *cmd is
 * undefined. The result does not point into `line`. */
enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_command *cmd);

/* Check a parsed command against what it takes: between min_args and
 * max_args arguments, each at most POP3_ARG_LEN_MAX octets except the last
 * one when last_may_be_long (the initial response of AUTH, RFC 5034 4).
 * Returns true when fine; else *error_r is a static text for the reply. */
bool pop3_command_args_valid(const struct pop3_command *cmd, unsigned min_args,
			     unsigned max_args, bool last_may_be_long, const char **error_r);

#endif
