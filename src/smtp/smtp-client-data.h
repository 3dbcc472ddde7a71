/* smtp-client-data - the SMTP client's side of a message's transfer,
 * without I/O: a streaming encoder that turns the message's bytes, fed in
 * pieces of any size, into what goes on the wire after DATA (RFC 5321
 * 4.5.2: a "." starting a line is doubled; the end is CRLF "." CRLF) or
 * in BDAT chunks (RFC 3030: no stuffing).
 *
 * Whatever the message holds, the output has no bare CR and no bare LF
 * (the outbound side of SMTP smuggling): each becomes CRLF, as it does in
 * the receiving server that accepts them, so no server can read a line
 * end, or the end of the data, where tern did not mean one. Messages in
 * tern's queue are CRLF already (the server refuses bare CR and LF), so
 * this changes nothing there and a DKIM signature stays valid; it is the
 * guarantee for whatever else is sent. */
#ifndef TERN_SMTP_SMTP_CLIENT_DATA_H
#define TERN_SMTP_SMTP_CLIENT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room the output of `len` input bytes needs at most: every byte may
 * become two (LF -> CRLF, a line-leading "." -> ".."), and a CR held back
 * from the piece before may come out first. */
#define SMTP_CLIENT_DATA_OUT_MAX(len) (2 * (len) + 2)
/* Room smtp_client_data_end needs at most: CRLF, then ".\r\n". */
#define SMTP_CLIENT_DATA_END_MAX 5

struct smtp_client_data {
	bool dot_stuff;         /* DATA (true) or BDAT (false) */
	bool line_start;        /* the next byte starts a line */
	bool cr_held;           /* a CR was the last byte: is an LF next? */
	uint64_t size;          /* octets written so far (stuffing included) */
};

void smtp_client_data_init(struct smtp_client_data *d, bool dot_stuff);

/* Encode in[0..len) into out, which has room for
 * SMTP_CLIENT_DATA_OUT_MAX(len) bytes; returns the bytes written. A CR at
 * the end of `in` is held until the next piece (or the end) says whether
 * an LF follows it. */
size_t smtp_client_data_encode(struct smtp_client_data *d, const char *in, size_t len, char *out);

/* After the last piece: a held CR, then a CRLF when the message ended
 * inside a line (RFC 5321 4.1.1.4), then for DATA the final ".\r\n";
 * out has room for SMTP_CLIENT_DATA_END_MAX bytes; returns the bytes
 * written. An empty message is just ".\r\n" (DATA) or nothing (BDAT). */
size_t smtp_client_data_end(struct smtp_client_data *d, char *out);

#endif
