/* mail-mime - the MIME structure of a stored message (RFC 2045, 2046,
 * 5322): a push parser that is fed the message's bytes in pieces and
 * gives, once, what IMAP's FETCH needs of it: the ENVELOPE, BODY and
 * BODYSTRUCTURE strings (RFC 9051 7.5.2) and the byte range of every
 * section (RFC 9051 6.4.5), with a serialised form for the store's
 * per-message cache, so that FETCH never parses a message twice.
 *
 * No I/O, bounded memory: the parser holds one short line, one header
 * field and the part tree, whose size is bounded (nesting depth, part
 * count, header size); beyond a bound the rest of the entity is one
 * opaque part. Broken mail (missing or wrong boundaries, bad encodings,
 * 8-bit headers, NULs, bare LF line ends) gives a sensible structure,
 * never an error. RFC 2047 encoded words stay raw in every string. */
#ifndef TERN_MAIL_MAIL_MIME_H
#define TERN_MAIL_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Bounds (what Dovecot uses by default): deeper nesting and more parts
 * make the rest of the entity one opaque part. */
#define MAIL_MIME_MAX_DEPTH 100
#define MAIL_MIME_MAX_PARTS 10000

struct mail_mime_parser;
struct mail_structure;

/* Start parsing a message. Never NULL (aborts on allocation failure). */
struct mail_mime_parser *mail_mime_parser_new(void);

/* Give the parser the next `len` bytes of the message as stored (any
 * chunking gives the same result). The bytes are not kept: `data` may be
 * reused as soon as the call returns. */
void mail_mime_parser_push(struct mail_mime_parser *p, const void *data, size_t len);

/* The input ended: free the parser, set *p to NULL and return the
 * message's structure (never NULL), which the caller frees with
 * mail_structure_free(). */
struct mail_structure *mail_mime_parser_finish(struct mail_mime_parser **p);

/* Free a structure and set *st to NULL; NULL is allowed. */
void mail_structure_free(struct mail_structure **st);

/* The IMAP strings (RFC 9051 7.5.2), NUL-terminated, owned by st, valid
 * until it is freed. ENVELOPE "(date subject from sender reply-to to cc
 * bcc in-reply-to message-id)"; BODYSTRUCTURE with all extension data
 * (md5, disposition, language, location, and for multiparts their
 * parameters); BODY, the same without extension data. Strings are quoted
 * where a quoted string can carry them, literals ({n}CRLF...) where they
 * hold CR, LF, NUL or 8-bit bytes, NIL when absent. The values are not
 * wrapped in "ENVELOPE " etc.: the caller writes the item name. */
const char *mail_structure_envelope(const struct mail_structure *st);
const char *mail_structure_bodystructure(const struct mail_structure *st);
const char *mail_structure_body(const struct mail_structure *st);

/* The whole message's size in octets, as pushed. */
uint64_t mail_structure_size(const struct mail_structure *st);

/* Which range of a section mail_structure_section() gives. */
enum mail_section_kind {
	MAIL_SECTION_BODY,    /* the part's content: BODY[1.2], BODY[] for depth 0 */
	MAIL_SECTION_HEADER,  /* the header of the message at `part` (top, or a message/rfc822 part) */
	MAIL_SECTION_TEXT,    /* the body of that message */
	MAIL_SECTION_MIME,    /* the part's own MIME header (depth >= 1) */
	MAIL_SECTION__COUNT
};
/* A short name for logs and tests ("body", "header", "text", "mime"). */
const char *mail_section_kind_name(enum mail_section_kind kind);

/* The byte range of a section (RFC 9051 6.4.5) in the message as stored.
 * `part` is the path of part numbers ("1.2.3" -> {1,2,3}, depth 3;
 * depth 0, part may be NULL, is the whole message). A non-multipart
 * message (or message/rfc822 part) has part 1 = its body; part 1 of a
 * part that is not multipart is that part, once (as Dovecot: 1.1 of a
 * text part is 1, 1.1.1 is nothing). HEADER and TEXT
 * need depth 0 or a message/rfc822 part; MIME needs depth >= 1; a HEADER
 * includes the empty line that ends it. Returns true with *offset_r and
 * *len_r set; false (the outputs untouched) when the part does not exist
 * or has no such section: IMAP then returns an empty string. */
bool mail_structure_section(const struct mail_structure *st, const uint32_t *part, size_t depth,
			    enum mail_section_kind kind, uint64_t *offset_r, uint64_t *len_r);

/* The part's Content-Transfer-Encoding, lower case ("7bit", "8bit",
 * "binary", "base64", "quoted-printable", or whatever else the header
 * said, for BINARY's UNKNOWN-CTE), for BINARY[] (RFC 3516 / RFC 9051
 * 6.4.5). "7bit" when the header gave none; for depth 0 that of the
 * top-level entity. NULL when the part does not exist. Owned by st. */
const char *mail_structure_encoding(const struct mail_structure *st, const uint32_t *part,
				    size_t depth);

/* The serialised form for the store's per-message cache: opaque bytes
 * appended to `out` (which should have no cap or room for them: 40
 * bytes a part and its strings; returns -1, `out` cut back to its old
 * length, when they do not fit), beginning with a format version. The
 * strings FETCH sends as they are go apart (mail_structure_string_seal). */
int mail_structure_serialize(const struct mail_structure *st, struct buf *out);

/* Read a serialised structure back. Everything is checked (version,
 * lengths, that ranges lie in the message, the tree's shape): a corrupt,
 * cut or foreign blob gives NULL, never a crash; the caller then parses
 * the message again. */
struct mail_structure *mail_structure_deserialize(const void *data, size_t len);

/* One of the strings FETCH sends as they are (mail_structure_envelope,
 * _body, _bodystructure), sealed for the store's cache apart from the
 * tree, so that a FETCH of it reads and checks nothing else: the string
 * and a check of it, tied to the message's size, appended to `out`
 * (-1, `out` as it was, when it does not fit). */
int mail_structure_string_seal(const char *s, uint64_t size, struct buf *out);
/* The string of a sealed one, in place: *s_r points into data (not
 * NUL-terminated), *len_r its length. True when the check holds for a
 * message of `size` octets; false (NULL, 0) for a corrupt, cut or
 * foreign one (the caller then parses the message again). */
bool mail_structure_string_open(const void *data, size_t len, uint64_t size, const char **s_r,
				size_t *len_r);
/* The string of a sealed one that mail_structure_string_open opened
 * before (a copy kept in memory since): in place, not checked again. */
void mail_structure_string_opened(const void *data, size_t len, const char **s_r, size_t *len_r);

#endif
