/* mail-header - the RFC 5322 header reader: a push-pull parser that is fed
 * a message's bytes in chunks of any size and hands back its header one
 * field at a time, with byte offsets, up to the empty line that ends the
 * header. No I/O, bounded memory, and robust to broken mail: what is not a
 * field is reported and skipped, never a reason to stop or to crash.
 *
 * What it reads (RFC 5322 2.1, 2.2, 4):
 * - Lines end in CRLF, as tern stores mail. A bare LF also ends a line, so
 *   that imported or submitted mail with LF line ends reads the same; a CR
 *   not followed by LF is an ordinary byte (obs-unstruct, 4.1).
 * - A field is its first line plus every following line that begins with
 *   a space or a tab (folding, 2.2.3). It is a FIELD when the first line
 *   holds a name of printable US-ASCII except ':' (2.2), optionally
 *   followed by spaces or tabs (obs-optional, 4.5.8), then ':'. Anything
 *   else (no colon, a space or 8-bit byte or NUL inside the name, a line
 *   that begins with white space where no field precedes it) is
 *   MALFORMED, reported like a field, and the reader goes on.
 * - NUL and 8-bit bytes in values are passed through untouched (RFC 6532
 *   allows UTF-8 there; judging them is the caller's business).
 * - The header ends at the first empty line (CRLF or LF alone), at the end
 *   of the input, or, when it grows past the caller's bound, with
 *   MAIL_HEADER_TOO_LARGE. A line holding only white space is folding,
 *   not the end of the header.
 *
 * Bounds: the caller gives the largest header it will read and the largest
 * field it will hold. A field longer than that is still reported, with its
 * exact offset and length, but only its first max_field bytes are kept
 * (`truncated`), so the parser never holds more than max_field bytes
 * whatever it is fed. */
#ifndef TERN_MAIL_MAIL_HEADER_H
#define TERN_MAIL_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct mail_header_limits {
	/* The header, its empty line included, may be at most this many
	 * bytes; past it the reader stops with MAIL_HEADER_TOO_LARGE. */
	size_t max_header;
	/* At most this many bytes of a field (name, colon and value with its
	 * folding, without the line end that ends it) are kept. A field whose
	 * colon lies beyond this is reported MALFORMED. At least 1. */
	size_t max_field;
};

enum mail_header_result {
	MAIL_HEADER_FIELD,      /* *field_r is a header field */
	MAIL_HEADER_MALFORMED,  /* *field_r is a line (and its continuations) that is not one */
	MAIL_HEADER_NEED_MORE,  /* every byte pushed is used: push more, or finish */
	MAIL_HEADER_END,        /* the header ended; the body starts at offset + length */
	MAIL_HEADER_TOO_LARGE,  /* the header is larger than max_header: the reader stopped */
	MAIL_HEADER__COUNT
};
/* A short name for logs and tests ("field", "too-large"). */
const char *mail_header_result_name(enum mail_header_result result);

/* One item of the header. Offsets count from the first byte pushed. */
struct mail_header_field {
	/* FIELD: the name, without white space before the colon. MALFORMED,
	 * END, TOO_LARGE: NULL and 0. */
	const char *name;
	size_t name_len;
	/* FIELD: the raw value, everything after the colon (leading white
	 * space and folding line ends included) up to the line end that ends
	 * the field. MALFORMED: the whole item. Not NUL-terminated, may
	 * contain NUL; cut to what fits in max_field when `truncated`. */
	const char *value;
	size_t value_len;
	/* FIELD, MALFORMED: where the item starts, and its length with every
	 * line end, its last included (0, 1 or 2 bytes of it: the input may
	 * end without one); exact even when truncated. END: where the empty
	 * line starts and its length (2 for CRLF, 1 for LF, 0 when the input
	 * ended without one). TOO_LARGE: the end of the last item reported,
	 * length 0. */
	size_t offset;
	size_t length;
	/* FIELD, MALFORMED: where the whole value lies in the input (for a
	 * truncated field, value_len < value_length). */
	size_t value_offset;
	size_t value_length;
	bool truncated;
};

/* Where the parser is: private to mail-header.c. */
enum mail_header_state {
	MAIL_HEADER_STATE_LINE_START,  /* at the first byte of a line */
	MAIL_HEADER_STATE_LINE_CR,     /* after a CR that began a line */
	MAIL_HEADER_STATE_NAME,        /* in an item's first line, no colon yet */
	MAIL_HEADER_STATE_NAME_WSP,    /* white space after the name */
	MAIL_HEADER_STATE_TEXT,        /* the rest of a line */
	MAIL_HEADER_STATE_DONE,        /* END or TOO_LARGE reached */
};

/* The parser's state. Read nothing in it: use the functions. */
struct mail_header_parser {
	struct mail_header_limits limits;
	enum mail_header_state state;
	const unsigned char *in;     /* the chunk being read */
	size_t in_len, in_pos;
	bool eof;
	size_t pos;                  /* offset of in[in_pos] */
	size_t reported;             /* end of the last item handed out */
	/* The item being read. */
	bool item_open;
	bool last_cr;                /* its last byte so far is a CR */
	size_t item_offset, item_len;
	size_t name_len;             /* set where the name ends */
	size_t colon;                /* index of the ':' after a valid name,
	                                0 for none (a name is never empty) */
	size_t eol_len;              /* length of its last line end */
	struct buf kept;             /* its first max_field bytes */
	/* END or TOO_LARGE, once reached. */
	enum mail_header_result end;
	size_t end_offset, end_len;
};

/* Start reading a header. The parser holds no memory until an item
 * arrives; mail_header_parser_deinit() frees what it holds. */
void mail_header_parser_init(struct mail_header_parser *p, const struct mail_header_limits *limits);
void mail_header_parser_deinit(struct mail_header_parser *p);

/* Give the parser the next `len` bytes of the message. Call it first, and
 * again only after mail_header_parser_next() returned NEED_MORE: `data`
 * must stay valid until then (the parser copies what it keeps). A push
 * before that, or after mail_header_parser_finish(), is a bug and aborts.
 * After END or TOO_LARGE the bytes are ignored, so a caller may go on
 * pushing the body. */
void mail_header_parser_push(struct mail_header_parser *p, const void *data, size_t len);

/* Say that the input ended: no more pushes. The item being read, and an
 * END of length 0, then come out of mail_header_parser_next(). */
void mail_header_parser_finish(struct mail_header_parser *p);

/* Read on. Returns FIELD or MALFORMED with the item in *field_r, whose
 * name and value point into the parser and stay valid until the next call
 * on it; NEED_MORE when the pushed bytes are used up; END or TOO_LARGE
 * (with *field_r as described above) once, and from then on for every
 * call. The same input gives the same results however it was chunked. */
enum mail_header_result mail_header_parser_next(struct mail_header_parser *p,
						struct mail_header_field *field_r);

/* RFC 5322 2.2: compare a field name with `name`, ignoring the case of
 * ASCII letters (never the locale's). */
bool mail_header_name_equals(const char *field_name, size_t field_name_len, const char *name);

/* RFC 5322 2.2.3: unfold a raw value by removing every line end (CRLF or
 * bare LF) that is followed by a space or a tab; the white space stays.
 * Writes the result to `out`, which has room for `len` bytes and may be
 * `raw` itself (unfolding in place), and returns its length. */
size_t mail_header_unfold(const char *raw, size_t len, char *out);

/* Count the fields named `name` (Received, for [smtp] max_received) in a
 * header that arrives in pieces. The name is not copied. */
struct mail_header_counter {
	struct mail_header_parser parser;
	const char *name;
	unsigned count;
};
void mail_header_counter_init(struct mail_header_counter *c,
			      const struct mail_header_limits *limits, const char *name);
/* Feed the next bytes (any length, the body's included). Returns true
 * while the header goes on, false once it ended or grew too large: the
 * count is then final and further bytes are ignored. */
bool mail_header_counter_push(struct mail_header_counter *c, const void *data, size_t len);
/* The input ended. Returns how the header ended: END, or TOO_LARGE (then
 * only the fields before the bound were counted); c->count is final. */
enum mail_header_result mail_header_counter_finish(struct mail_header_counter *c);
void mail_header_counter_deinit(struct mail_header_counter *c);

/* Find the first field named `name` in the header of the message in
 * data[0..len). Returns true with *field_r filled, its name and value
 * pointing into `data` and holding the whole field (never truncated);
 * false when the header (as far as limits->max_header) has none. A field
 * counts only when its colon lies within limits->max_field. */
bool mail_header_find(const void *data, size_t len, const struct mail_header_limits *limits,
		      const char *name, struct mail_header_field *field_r);

#endif
