/* smtp-client-reply - the SMTP client's parser of server replies
 * (RFC 5321 4.2), without I/O: fed the bytes as they come, in pieces of
 * any size, it answers "more", "done" (one whole reply, single- or
 * multi-line) or an error, and says how many bytes the reply took, so
 * that pipelined replies (RFC 2920) are read one after the other from the
 * same input.
 *
 * Everything is bounded: a line is at most SMTP_CLIENT_REPLY_LINE_MAX
 * octets (RFC 5321 4.5.3.1.5 asks for 512; servers send longer texts), a
 * reply at most SMTP_CLIENT_REPLY_LINES_MAX lines, and the text kept at
 * most SMTP_CLIENT_REPLY_TEXT_MAX octets (more is dropped, marked
 * truncated), so a server sending an endless line or an endless reply
 * costs a bounded buffer and ends in an error. A line may end in CRLF or
 * a bare LF. Octets outside the printable ASCII of RFC 5321's textstring
 * (control characters, and the UTF-8 of SMTPUTF8 servers too) are kept
 * as '?', so the text is safe to log and to quote in a delivery report's
 * Diagnostic-Code (RFC 3464 2.3.6: ASCII). */
#ifndef TERN_SMTP_SMTP_CLIENT_REPLY_H
#define TERN_SMTP_SMTP_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_CLIENT_REPLY_LINE_MAX 2048     /* octets of one line, its CRLF included */
#define SMTP_CLIENT_REPLY_LINES_MAX 100
#define SMTP_CLIENT_REPLY_TEXT_MAX 8192

enum smtp_client_reply_result {
	SMTP_CLIENT_REPLY_MORE,    /* every byte taken; the reply goes on */
	SMTP_CLIENT_REPLY_DONE,    /* a whole reply: smtp_client_reply_get() */
	SMTP_CLIENT_REPLY_ERROR,   /* not SMTP: smtp_client_reply_error() says why */
};

enum smtp_client_reply_error {
	SMTP_CLIENT_REPLY_OK,
	SMTP_CLIENT_REPLY_BAD_CODE,      /* not three digits 2-5, 0-5, 0-9 (RFC 5321 4.2) */
	SMTP_CLIENT_REPLY_BAD_SEPARATOR, /* the code is followed by neither SP, "-" nor the line end */
	SMTP_CLIENT_REPLY_CODE_MISMATCH, /* a line of a multiline reply with another code (4.2.1) */
	SMTP_CLIENT_REPLY_LINE_TOO_LONG,
	SMTP_CLIENT_REPLY_TOO_MANY_LINES,
	SMTP_CLIENT_REPLY_ERROR__COUNT
};
/* "bad reply code", ...: for logs and delivery reports. */
const char *smtp_client_reply_error_name(enum smtp_client_reply_error error);

/* One reply. */
struct smtp_client_reply {
	unsigned code;             /* 250 */
	/* The enhanced status code (RFC 2034, RFC 3463 2) of the first line,
	 * "2.1.5", when it has one whose class matches the code; "" else. It
	 * is taken off the text of every line that starts with it. */
	char enhanced[12];
	size_t lines;
	/* Each line's text after the code and separator (and the enhanced
	 * code), the lines joined by '\n', NUL-terminated: for EHLO, one
	 * keyword line each. */
	char text[SMTP_CLIENT_REPLY_TEXT_MAX + 1];
	size_t text_len;
	bool truncated;            /* text beyond SMTP_CLIENT_REPLY_TEXT_MAX was dropped */
};

struct smtp_client_reply_parser {
	struct smtp_client_reply reply;
	char line[SMTP_CLIENT_REPLY_LINE_MAX];
	size_t line_len;
	bool done;                 /* the reply is complete (reset before the next) */
	enum smtp_client_reply_error error;
};

/* Ready for a (first or next) reply. */
void smtp_client_reply_init(struct smtp_client_reply_parser *p);

/* Feed bytes. *used_r is how many were taken: all of them for MORE; up to
 * and including the reply's last line end for DONE (the rest belongs to
 * the next reply: init and feed it again); unspecified for ERROR, after
 * which the parser gives ERROR again until init (the connection should be
 * dropped: what follows cannot be trusted). */
enum smtp_client_reply_result smtp_client_reply_feed(struct smtp_client_reply_parser *p,
						     const char *data, size_t len, size_t *used_r);

/* The reply after DONE (valid until init). */
const struct smtp_client_reply *smtp_client_reply_get(const struct smtp_client_reply_parser *p);
enum smtp_client_reply_error smtp_client_reply_error(const struct smtp_client_reply_parser *p);

#endif
