/* smtp-command - one SMTP command line (RFC 5321 4.1) parsed into a verb
 * and typed arguments: EHLO/HELO domains, MAIL and RCPT paths with their
 * ESMTP parameters, BDAT sizes, AUTH mechanisms. No I/O and no session
 * state: the session's command table decides whether a verb is allowed
 * now; this says what the line means, or which error to answer.
 *
 * Line lengths. The session's line reader enforces the cap and hands
 * over the line without its CRLF. RFC 5321 4.5.3.1.4 allows 512 octets
 * (with the CRLF); extensions raise it, and RFC 3461 5.4 asks for at least
 * 1,036 where DSN is offered. Every combination of parameters this parser
 * accepts fits in SMTP_LINE_MAX (1,036): MAIL with a 256-octet path,
 * SIZE, BODY, SMTPUTF8, RET, ENVID (100) and AUTH= (500) is 939 octets;
 * RCPT with NOTIFY and ORCPT (500) is 809. So the session caps command
 * lines at SMTP_LINE_MAX whatever it advertises. While it offers AUTH and
 * the client has not authenticated, it caps lines at SMTP_AUTH_LINE_MAX
 * instead, so that an initial response fits (RFC 4954 4: 12,288 octets
 * for authentication lines; also the cap for the responses that follow a
 * 334); this parser then refuses any other command longer than
 * SMTP_LINE_MAX (SMTP_PARSE_TOO_LONG), so the larger cap helps only AUTH.
 */
#ifndef TERN_SMTP_SMTP_COMMAND_H
#define TERN_SMTP_SMTP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp-address.h"
#include "smtp/smtp-param.h"
#include "smtp/smtp-status.h"

/* Both include the CRLF. */
#define SMTP_LINE_MAX 1036
#define SMTP_AUTH_LINE_MAX 12288
/* RFC 4422 3.1: sasl-mech = 1*20mech-char. */
#define SMTP_MECHANISM_MAX 20

enum smtp_verb {
	SMTP_VERB_UNKNOWN,   /* not a command tern knows */
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB__COUNT
};
/* "MAIL"; "unknown" for SMTP_VERB_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

enum smtp_parse_result {
	SMTP_PARSE_OK,
	SMTP_PARSE_EMPTY,               /* 500 5.5.2 an empty line */
	SMTP_PARSE_TOO_LONG,            /* 500 5.5.2 over SMTP_LINE_MAX */
	SMTP_PARSE_AUTH_TOO_LONG,       /* 500 5.5.6 AUTH over SMTP_AUTH_LINE_MAX (RFC 4954 4) */
	SMTP_PARSE_BAD_CHAR,            /* 500 5.5.2 NUL, CR, LF or another control octet */
	SMTP_PARSE_UNKNOWN_COMMAND,     /* 500 5.5.2 */
	SMTP_PARSE_MISSING_ARGUMENT,    /* 501 5.5.4 EHLO, VRFY, BDAT, AUTH ... without one */
	SMTP_PARSE_UNEXPECTED_ARGUMENT, /* 501 5.5.4 DATA, RSET, QUIT, STARTTLS with one */
	SMTP_PARSE_BAD_SYNTAX,          /* 501 5.5.4 no "FROM:", a bad BDAT size ... */
	SMTP_PARSE_BAD_DOMAIN,          /* 501 5.5.4 EHLO/HELO argument */
	SMTP_PARSE_BAD_SENDER,          /* 501 5.1.7 reverse-path */
	SMTP_PARSE_BAD_RECIPIENT,       /* 501 5.1.3 forward-path */
	SMTP_PARSE_UTF8_SENDER,         /* 550 5.6.7 non-ASCII without SMTPUTF8 (RFC 6531 3.5) */
	SMTP_PARSE_UTF8_RECIPIENT,      /* 553 5.6.7 */
	SMTP_PARSE_BAD_PARAM,           /* 501 5.5.4 bad parameter syntax or value */
	SMTP_PARSE_DUPLICATE_PARAM,     /* 501 5.5.4 RFC 3461 4.5 */
	SMTP_PARSE_UNKNOWN_PARAM,       /* 555 5.5.4 RFC 5321 4.1.1.11 */
	SMTP_PARSE__COUNT
};
/* The reply to answer: code, enhanced code, text (code 0 for OK, which
 * has no reply of its own). Never NULL. */
const struct smtp_status *smtp_parse_result_status(enum smtp_parse_result result);
/* A short name for logs ("bad-recipient"). */
const char *smtp_parse_result_name(enum smtp_parse_result result);

struct smtp_options {
	unsigned extensions;   /* enum smtp_extension bits the session advertised */
	bool utf8;             /* RCPT: this transaction's MAIL had SMTPUTF8 */
};

struct smtp_command {
	enum smtp_verb verb;    /* set whenever the verb was recognised, also on errors */
	/* Everything after the verb and its spaces, trailing spaces and tabs
	 * dropped; points into the line ("" when none). VRFY, EXPN, HELP and
	 * NOOP take it as it is. */
	const char *arg;
	size_t arg_len;
	/* Not OK: a static text saying what was wrong ("local part longer
	 * than 64 octets"), or NULL; never client text, so it may go into
	 * the reply. */
	const char *detail;
	/* A parameter error: the offending keyword (points into the line, for
	 * the log), else NULL. */
	const struct smtp_param *bad_param;
	/* MAIL/RCPT: the ESMTP parameters as given (point into the line). */
	size_t param_count;
	struct smtp_param params[SMTP_PARAMS_MAX];
	union {
		struct {          /* EHLO, HELO */
			char domain[SMTP_DOMAIN_MAX + 1];
			bool literal;
			/* More words after the domain, ignored (RFC 5321
			 * 4.1.1.1: be prepared for them). */
			bool extra;
		} hello;
		struct {          /* MAIL */
			struct smtp_address from;
			/* "MAIL FROM: <a@b>": a space after the colon, which
			 * RFC 5321 does not allow and real clients send. */
			bool space_after_colon;
			struct smtp_mail_params params;
		} mail;
		struct {          /* RCPT */
			struct smtp_address to;
			bool space_after_colon;
			struct smtp_rcpt_params params;
		} rcpt;
		struct {          /* BDAT */
			uint64_t size;
			bool last;
		} bdat;
		struct {          /* AUTH */
			char mechanism[SMTP_MECHANISM_MAX + 1];   /* upper case */
			/* The initial response as sent (base64, or "=" for an
			 * empty one, RFC 4954 4), pointing into the line; NULL
			 * when there is none. sasl_step() takes it as it is. */
			const char *response;
			size_t response_len;
			bool response_empty;   /* it was "=" */
		} auth;
	};
};

/* Parse one line (without its CRLF; it may hold NUL bytes). The verb is
 * case-insensitive; words are separated by one or more spaces (so "AUTH
 * PLAIN  xyz" works); trailing spaces and tabs are ignored (RFC 5321
 * 4.1.1). *cmd is filled as far as it got; on anything but OK only verb,
 * arg, detail and bad_param are meaningful. Pointers in *cmd point into
 * `line` and are valid while it is. */
enum smtp_parse_result smtp_command_parse(const char *line, size_t len,
					  const struct smtp_options *opts,
					  struct smtp_command *cmd);

#endif
