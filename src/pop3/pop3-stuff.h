/* pop3-stuff - the body of a RETR or TOP response (RFC 1939 3): a message,
 * fed in chunks of any size, byte-stuffed and cut after n body lines for
 * TOP. No I/O: output goes through a callback. */
#ifndef TERN_POP3_POP3_STUFF_H
#define TERN_POP3_POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void pop3_stuff_write_fn(void *ctx, const void *data, size_t len);

struct pop3_stuff {
	bool top;              /* stop after body_lines lines of the body */
	uint64_t body_lines;   /* TOP: body lines still to send */
	bool in_body;          /* the blank line after the header was seen */
	bool bol;              /* the next byte starts a line */
	uint64_t line_len;     /* bytes of the current line so far */
	char prev;             /* the byte before the current position */
	bool done;             /* TOP has sent all it should */
	bool wrote_any;
	char last;             /* last byte sent */
};

/* Start a RETR (top == false) or TOP with `lines` body lines. */
void pop3_stuff_init(struct pop3_stuff *st, bool top, uint64_t lines);

/* Feed the next chunk of the message. Returns true when TOP has sent all it
 * should (the rest of the message need not be read). */
bool pop3_stuff_feed(struct pop3_stuff *st, const char *data, size_t len,
		     pop3_stuff_write_fn *write, void *ctx);

/* End the response: a CRLF when the message did not end with a line end,
 * then the terminating ".\r\n". */
void pop3_stuff_finish(struct pop3_stuff *st, pop3_stuff_write_fn *write, void *ctx);

#endif
