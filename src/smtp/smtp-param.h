/* smtp-param - the ESMTP parameters of MAIL and RCPT: the generic
 * keyword[=value] list (RFC 5321 4.1.2 esmtp-param), then the typed checks
 * of the ones tern knows: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
 * (RFC 6531), RET, ENVID, NOTIFY, ORCPT (RFC 3461), AUTH (RFC 4954 5),
 * and xtext (RFC 3461 4). No I/O, no policy (the SIZE limit, trusting
 * AUTH=, are the session's). smtp-command.c calls these; they are public
 * for the tests, the fuzzer and the DSN code to come. */
#ifndef TERN_SMTP_SMTP_PARAM_H
#define TERN_SMTP_SMTP_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More than any real client sends: MAIL knows six, RCPT two. */
#define SMTP_PARAMS_MAX 16
/* Bounds on the values as sent (encoded), which also bound the decoded
 * forms: RFC 3461 5.4 asks for at least ENVID 100, ORCPT 500 (and NOTIFY
 * 28, RET 8, which the grammar bounds); RFC 1870 size-value is 1*20DIGIT.
 * The AUTH= mailbox gets the ORCPT budget. */
#define SMTP_ENVID_MAX 100
#define SMTP_NOTIFY_MAX 28
#define SMTP_ORCPT_MAX 500
#define SMTP_ORCPT_TYPE_MAX 32
#define SMTP_AUTH_PARAM_MAX 500
#define SMTP_SIZE_DIGITS_MAX 20

/* The service extensions the session advertised in its EHLO reply; a
 * parameter of an extension not in the set is unknown (555). After HELO,
 * the set is empty (RFC 5321 4.1.1.1: no extensions). */
enum smtp_extension {
	SMTP_EXT_SIZE = 1 << 0,       /* SIZE= */
	SMTP_EXT_8BITMIME = 1 << 1,   /* BODY= */
	SMTP_EXT_SMTPUTF8 = 1 << 2,   /* SMTPUTF8 */
	SMTP_EXT_DSN = 1 << 3,        /* RET=, ENVID=, NOTIFY=, ORCPT= */
	SMTP_EXT_AUTH = 1 << 4,       /* AUTH= on MAIL */
};

enum smtp_param_result {
	SMTP_PARAM_OK,
	SMTP_PARAM_SYNTAX,      /* not keyword[=value] (501) */
	SMTP_PARAM_TOO_MANY,    /* more than SMTP_PARAMS_MAX (501) */
	SMTP_PARAM_BAD_VALUE,   /* a known parameter with a bad value (501) */
	SMTP_PARAM_DUPLICATE,   /* given twice (501, RFC 3461 4.5) */
	SMTP_PARAM_UNKNOWN,     /* unknown, not advertised, or not implemented (555) */
};

/* One keyword[=value]. Both point into the command line; value is NULL
 * when there was no "=". */
struct smtp_param {
	const char *keyword;
	size_t keyword_len;
	const char *value;
	size_t value_len;
};

enum smtp_body {
	SMTP_BODY_NONE,       /* not given */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

enum smtp_ret {
	SMTP_RET_NONE,        /* not given */
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

enum smtp_notify {
	SMTP_NOTIFY_NEVER = 1 << 0,    /* only ever alone */
	SMTP_NOTIFY_SUCCESS = 1 << 1,
	SMTP_NOTIFY_FAILURE = 1 << 2,
	SMTP_NOTIFY_DELAY = 1 << 3,
};

struct smtp_mail_params {
	bool has_size;
	uint64_t size;                        /* SIZE=, not checked against any limit */
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1];       /* decoded from xtext */
	bool has_auth;
	bool auth_null;                       /* AUTH=<>: the submitter is unknown */
	char auth[SMTP_AUTH_PARAM_MAX + 1];   /* decoded: a valid Mailbox, or "<>" */
};

struct smtp_rcpt_params {
	unsigned notify;                        /* enum smtp_notify bits; 0: not given */
	bool has_orcpt;
	char orcpt_type[SMTP_ORCPT_TYPE_MAX + 1];  /* addr-type as given, "rfc822" */
	char orcpt[SMTP_ORCPT_MAX + 1];            /* the address, decoded from xtext */
};

/* Split text[0..len), everything after the path and its space, into
 * parameters separated by one or more spaces. Values may hold octets over
 * 127 (RFC 6531 3.3 extends esmtp-value); the typed checks decide. On
 * anything but OK, *detail_r is a static text for the reply. */
enum smtp_param_result smtp_params_split(const char *text, size_t len,
					 struct smtp_param params[SMTP_PARAMS_MAX],
					 size_t *count_r, const char **detail_r);

/* The typed checks of MAIL's parameters, in order; the first problem wins
 * and *bad_r is the index of its parameter. SMTPUTF8 (when advertised) is
 * looked for first, since it decides whether ENVID and AUTH may hold
 * UTF-8. *out is zeroed first. */
enum smtp_param_result smtp_mail_params_parse(const struct smtp_param *params, size_t count,
					      unsigned extensions, struct smtp_mail_params *out,
					      const char **detail_r, size_t *bad_r);

/* The same for RCPT; utf8: the transaction's MAIL had SMTPUTF8 (ORCPT may
 * then hold UTF-8). */
enum smtp_param_result smtp_rcpt_params_parse(const struct smtp_param *params, size_t count,
					      unsigned extensions, bool utf8,
					      struct smtp_rcpt_params *out,
					      const char **detail_r, size_t *bad_r);

/* Decode xtext (RFC 3461 4): xchar is "!".."~" but "+" and "="; hexchar
 * is "+" and two hex digits (RFC 4954 8: either case). With allow_utf8,
 * well-formed UTF-8 passes through as itself (RFC 6531 3.3). A decoded NUL
 * is refused. Writes at most out_size octets including the NUL. Returns
 * false on malformed input or when the result does not fit. */
bool smtp_xtext_decode(const char *in, size_t len, bool allow_utf8,
		       char *out, size_t out_size, size_t *out_len_r);

/* Encode text[0..len) as xtext (RFC 3461 4): "!".."~" but "+" and "="
 * as themselves, every other octet (UTF-8 too) as "+XX" (upper-case hex),
 * for the SMTP client's ENVID= and ORCPT=. Appends to out (a buf);
 * returns what buf_append returns (-1 when its cap is reached). */
struct buf;
int smtp_xtext_encode(struct buf *out, const char *text, size_t len);

#endif
