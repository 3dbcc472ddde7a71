/* mail-submit - the header of a message a local user hands to `tern
 * sendmail`, made fit to send (RFC 6409 8, as Postfix's cleanup does):
 * Bcc and Resent-Bcc fields are removed (always: a Bcc must never reach
 * the recipients it hides from), a missing Date, Message-ID or From is
 * added at the end of the header, and with -t the addresses of To, Cc,
 * Bcc and Resent-Bcc are handed out as recipients (mail-address.h). No
 * I/O.
 *
 * The header is read with mail-header.h. It ends at the empty line, at
 * the end of the input, or at the first line that is not a header field
 * (`echo text | sendmail user`: the message has no header, all of it is
 * body, and the fields tern adds get the empty line after them). */
#ifndef TERN_MAIL_MAIL_SUBMIT_H
#define TERN_MAIL_MAIL_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "mail/mail-address.h"

/* The most of a submitted header that is read. */
#define MAIL_SUBMIT_HEADER_MAX (1024 * 1024)

struct mail_submit {
	/* What a missing From says: `from_addr`, after the display name
	 * `from_name` (-F; NULL: none; control characters become spaces, it
	 * is quoted as needed). */
	const char *from_addr;
	const char *from_name;
	const char *message_id;  /* a missing Message-ID: "<unique@host>" */
	time_t now;              /* a missing Date */
	/* -t: each address of To, Cc, Bcc and Resent-Bcc is given to rcpt (see
	 * mail_address_fn); NULL: none is read. */
	mail_address_fn *rcpt;
	void *ctx;
};

enum mail_submit_result {
	MAIL_SUBMIT_OK,
	MAIL_SUBMIT_TOO_LARGE,     /* the header goes on past MAIL_SUBMIT_HEADER_MAX */
	/* -t: a To, Cc, Bcc or Resent-Bcc holds an address that cannot be read */
	MAIL_SUBMIT_BAD_ADDRESS,
};

/* Read the header at the start of data[0..len), whose line ends are CRLF;
 * `complete` says whether data is the whole message (else more follows,
 * and a header that does not end within data, or within the bound, is
 * TOO_LARGE; a line the bound cuts that is no field, read whole, starts
 * the body instead). On OK, *out (a buffer with room for len plus 1 KiB) has the
 * header to send, its empty line included, and *body_r is where the body
 * starts in data. On BAD_ADDRESS, *field_r is the field's name ("To",
 * "Cc", "Bcc", "Resent-Bcc"); *out is then undefined. */
enum mail_submit_result mail_submit_header(const struct mail_submit *sub, const char *data,
					   size_t len, bool complete, struct buf *out,
					   size_t *body_r, const char **field_r);

#endif
