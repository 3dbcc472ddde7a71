/* mail-dsn - the Delivery Status Notification tern sends (RFC 3464): a
 * multipart/report; report-type=delivery-status message with a part for
 * people, the message/delivery-status part (per-message, then
 * per-recipient fields) and the original message or its header. No I/O:
 * the result is the bytes of a message ready to queue with the null
 * sender <> (RFC 3461 6.2), CRLF line ends.
 *
 * Every value from the original envelope is made safe for a header line:
 * bytes below 0x20 and DEL become '?', and each value is cut at
 * MAIL_DSN_VALUE_MAX octets, so that no line passes RFC 5322's 998. With
 * `utf8` (the original came with SMTPUTF8) the report is RFC 6533's:
 * message/global-delivery-status, "utf-8" address types for addresses
 * that are not ASCII, and message/global or message/global-headers for
 * the returned content. Without it a non-ASCII byte of an address is
 * written as '?' (the original's sender could not have used one). */
#ifndef TERN_MAIL_MAIL_DSN_H
#define TERN_MAIL_MAIL_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest value of one field, after the field name. */
#define MAIL_DSN_VALUE_MAX 900
/* The original is returned whole up to this size (when it is to be
 * returned whole), else its header alone; a header longer than
 * MAIL_DSN_HEADER_MAX is cut after the last complete line within it. */
#define MAIL_DSN_RETURN_MAX (256u * 1024)
#define MAIL_DSN_HEADER_MAX (64u * 1024)

/* RFC 3464 2.3.3. */
enum mail_dsn_action {
	MAIL_DSN_FAILED,
	MAIL_DSN_DELAYED,
	MAIL_DSN_DELIVERED,
	MAIL_DSN_RELAYED,
	MAIL_DSN_EXPANDED,
	MAIL_DSN__COUNT
};
/* "failed", "delayed", ...: the Action field's word. */
const char *mail_dsn_action_name(enum mail_dsn_action action);

/* One recipient of the report. Strings may be NULL where said. */
struct mail_dsn_rcpt {
	const char *address;        /* Final-Recipient: the envelope recipient */
	const char *orcpt;          /* ORCPT as given ("rfc822;a@b", decoded), or NULL */
	enum mail_dsn_action action;
	const char *status;         /* "5.1.1": a valid RFC 3463 code, else 4.0.0/5.0.0 is used */
	const char *remote_mta;     /* the server that answered (a host name), or NULL */
	const char *diagnostic_type;/* "smtp" for a server's reply, else e.g. "X-tern"; NULL: none */
	const char *diagnostic;     /* the reply or the reason, one line */
	int64_t last_attempt;       /* seconds since the epoch; 0: none */
	int64_t will_retry_until;   /* delayed: when the queue gives up; 0: none */
};

/* What to return of the original (RFC 3461 4.3). */
enum mail_dsn_return {
	MAIL_DSN_RETURN_HEADERS,
	MAIL_DSN_RETURN_FULL,
};

struct mail_dsn {
	const char *reporting_mta;  /* tern's host name: From MAILER-DAEMON@ it, Reporting-MTA */
	const char *to;             /* the original envelope sender (not ""): To */
	const char *envid;          /* Original-Envelope-Id, or NULL when ENVID was not given */
	int64_t arrival;            /* Arrival-Date */
	int64_t now;                /* Date */
	const char *token;          /* unique per report: the boundary and Message-ID's left side */
	bool utf8;                  /* the original came with SMTPUTF8: RFC 6533 types */
	const struct mail_dsn_rcpt *rcpts;
	size_t n_rcpts;             /* at least one */
	enum mail_dsn_return ret;
	const char *message;        /* the original as tern received it (CRLF), or NULL */
	size_t message_len;
};

/* Write the report (malloc'd, *len_r octets, NUL-terminated as well).
 * The subject and the text part follow the first recipient's action
 * (failed before delayed before the others, when they differ). Returns
 * NULL when the report cannot be written: no recipient, a NULL or empty
 * address, to or reporting_mta, or a token that does not fit a boundary
 * (1 to 40 of [A-Za-z0-9.-]). */
char *mail_dsn_write(const struct mail_dsn *dsn, size_t *len_r);

/* The RFC 3463 status code that a reply's text starts with ("5.1.1 user
 * unknown" -> "5.1.1"), copied into out (at least 16 octets); false when
 * it starts with none. Also used on a status given by a caller. */
bool mail_dsn_status_parse(const char *text, char out[16]);

#endif
