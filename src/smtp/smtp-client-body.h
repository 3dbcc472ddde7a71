/* smtp-client-body - a message's bytes as the SMTP client puts them on
 * the wire, without I/O: every line ends in CRLF whatever the stored
 * message holds (a bare LF and a bare CR each become CRLF, so that the
 * client never sends a bare CR or LF: the outbound side of SMTP
 * smuggling), and for DATA a line that starts with "." gets another one
 * (RFC 5321 4.5.2, transparency). BDAT (RFC 3030) sends the lines
 * without the dots. Fed the message in pieces of any size, it gives the
 * same bytes however the message is cut. */
#ifndef TERN_SMTP_SMTP_CLIENT_BODY_H
#define TERN_SMTP_SMTP_CLIENT_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes feeding `n` bytes writes; the most bytes _finish writes. */
#define SMTP_CLIENT_BODY_OUT_MAX(n) (2 * (n) + 2)
#define SMTP_CLIENT_BODY_END_MAX 2

struct smtp_client_body {
	bool dot_stuff;
	bool line_start;     /* the next byte starts a line */
	bool cr;             /* a CR was the last byte, its LF not seen yet */
	uint64_t out;        /* bytes written so far */
};

/* Ready for a message; dot_stuff for DATA, not for BDAT. */
void smtp_client_body_init(struct smtp_client_body *b, bool dot_stuff);

/* Transform in[0..len) into out, which has room for
 * SMTP_CLIENT_BODY_OUT_MAX(len) bytes; returns how many were written. */
size_t smtp_client_body_feed(struct smtp_client_body *b, const char *in, size_t len, char *out);

/* The end of the message: a CR left pending, or a last line without its
 * end, gets its CRLF (a message always ends in CRLF, so that DATA's
 * ".CRLF" follows a line end, RFC 5321 4.1.1.4). Writes at most
 * SMTP_CLIENT_BODY_END_MAX bytes; an empty message stays empty. */
size_t smtp_client_body_finish(struct smtp_client_body *b, char *out);

#endif
