/* smtp-data - the message reader of DATA (RFC 5321 4.1.1.4, 4.5.2) and of
 * BDAT chunks (RFC 3030): a push parser fed the client's raw bytes in any
 * chunking, never the line reader. It outputs the message bytes (DATA:
 * dot-unstuffed, CRLF kept) through a callback with their offset, so the
 * caller can stream them to a file, and counts octets and lines.
 *
 * The strict rule, against SMTP smuggling: the end of DATA is CRLF "."
 * CRLF and nothing else, and a bare LF or a bare CR anywhere in the
 * message is an error. After the first error the reader outputs nothing
 * more but keeps reading, still ending only at CRLF.CRLF, so the rest of
 * what the client sent up to the real end is discarded and no line of it
 * can become a command or a second message; the session then answers the
 * error's reply (or closes the connection, which is as safe). An LF after
 * a bare CR or LF never starts a line, so none of "\n.\n", "\r.\r",
 * "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r",
 * "\r\n\0.\r\n", "\r\n.\0\r\n" ends anything. Lines may be of any length
 * (RFC 5321 4.5.3.1.6 asks servers to avoid such limits).
 *
 * Memory: the struct, nothing else; no allocation. */
#ifndef TERN_SMTP_SMTP_DATA_H
#define TERN_SMTP_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp-status.h"

enum smtp_data_mode {
	SMTP_DATA_MODE_DOT,   /* DATA: dot-stuffed, ends at CRLF.CRLF */
	SMTP_DATA_MODE_RAW,   /* BDAT: the chunks as they are; ends at smtp_data_finish() */
};

enum smtp_data_status {
	SMTP_DATA_MORE,       /* every byte fed was consumed; the end is still to come */
	SMTP_DATA_END,        /* DATA's end was seen; *consumed_r says where */
};

enum smtp_data_error {
	SMTP_DATA_ERROR_NONE,
	SMTP_DATA_ERROR_BARE_LF,    /* 554 5.5.2 an LF without a CR before it */
	SMTP_DATA_ERROR_BARE_CR,    /* 554 5.5.2 a CR without an LF after it */
	SMTP_DATA_ERROR_TOO_BIG,    /* 552 5.3.4 more octets than the limit */
	SMTP_DATA_ERROR__COUNT
};
/* The reply for an error (code 0 for NONE). Never NULL. */
const struct smtp_status *smtp_data_error_status(enum smtp_data_error error);
/* A short name for logs ("bare-lf"). */
const char *smtp_data_error_name(enum smtp_data_error error);

/* Called with each piece of the message, in order: `offset` is where it
 * starts in the message (the octets given before it), `data` points into
 * the caller's input or to a constant, valid during the call only. */
typedef void smtp_data_output_fn(void *ctx, uint64_t offset, const char *data, size_t len);

struct smtp_data {
	enum smtp_data_mode mode;
	unsigned state;              /* private */
	enum smtp_data_error error;  /* the first error; then it stays */
	uint64_t max_size;           /* over this many octets is TOO_BIG */
	/* Message octets so far (RFC 1870 5: CRLFs counted, the stuffing
	 * dots and the final ".\r\n" not), counted on after an error. */
	uint64_t size;
	uint64_t lines;              /* CRLFs so far */
	smtp_data_output_fn *output;
	void *ctx;
};

/* Start reading one message. Nothing is output beyond max_size octets
 * (UINT64_MAX: no limit). */
void smtp_data_init(struct smtp_data *d, enum smtp_data_mode mode, uint64_t max_size,
		    smtp_data_output_fn *output, void *ctx);

/* Feed the next bytes the client sent. Output happens during the call,
 * up to the first error. Returns MORE after consuming all of them, or
 * END (DOT mode only) with *consumed_r the bytes up to and including the
 * final LF: what follows is the client's next command (RFC 2920). END is
 * returned whether or not there was an error: check smtp_data_error()
 * then. After END, feed nothing more (init again for the next message);
 * it would return END with 0 consumed. */
enum smtp_data_status smtp_data_feed(struct smtp_data *d, const char *data, size_t len,
				     size_t *consumed_r);

/* RAW mode, after the last chunk (BDAT LAST): a CR held at the very end
 * is a bare CR. Returns the error, as smtp_data_error() then does. */
enum smtp_data_error smtp_data_finish(struct smtp_data *d);

/* The first error, SMTP_DATA_ERROR_NONE when there was none. As soon as
 * this is not NONE the caller may stop storing; the reader discards the
 * rest itself. */
enum smtp_data_error smtp_data_error(const struct smtp_data *d);

/* RAW mode: whether the message so far ends inside a line (its last
 * octet is not the LF of a CRLF), so the caller may add a CRLF or refuse
 * it (RFC 5321 4.1.1.4). Always false for an ended DOT message. */
bool smtp_data_line_open(const struct smtp_data *d);

#endif
