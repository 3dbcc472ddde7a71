/* mail-mime-internal - what the files of the MIME structure module share
 * (mail-mime.c, mail-mime-param.c, mail-envelope.c, mail-bodystructure.c,
 * mail-structure.c, mail-imap-quote.c): the part tree, the header fields
 * a part's structure is made of, and the IMAP string writers. Not for use
 * outside src/mail. */
#ifndef TERN_MAIL_MAIL_MIME_INTERNAL_H
#define TERN_MAIL_MAIL_MIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mail/mail-mime.h"

#define MAIL_MIME_NONE UINT32_MAX
/* The longest boundary looked for (RFC 2046 5.1.1 allows 70): a longer
 * one leaves its multipart without parts. */
#define MAIL_MIME_MAX_BOUNDARY 200

enum mail_mime_kind {
	MAIL_MIME_LEAF,       /* any other type: its content is opaque */
	MAIL_MIME_MULTIPART,  /* children are its parts */
	MAIL_MIME_MESSAGE,    /* message/rfc822 or message/global: one child, the message */
	MAIL_MIME_KIND__COUNT
};

/* One entity: the top message, a part of a multipart, or the message a
 * message/rfc822 part holds (a "message root": node 0 and the child of
 * every MESSAGE node). Its header is [hdr_off, body_off), its body
 * [body_off, end), offsets from the message's first byte. */
struct mail_mime_node {
	uint64_t hdr_off, body_off, end;
	uint64_t lines;       /* LFs in the body */
	uint64_t lf_body;     /* while parsing: LFs before body_off */
	uint32_t parent, first_child, last_child, next;
	enum mail_mime_kind kind;
	bool text;            /* text/...: BODYSTRUCTURE carries the line count */
	char *encoding;       /* Content-Transfer-Encoding, lower case */
	/* The IMAP fields of its BODY (RFC 9051 7.5.2): a leaf or MESSAGE
	 * node '"type" "subtype" params id description encoding', a
	 * multipart '"subtype"'; and what BODYSTRUCTURE adds: a leaf 'md5
	 * disposition language location', a multipart 'params disposition
	 * language location'. */
	char *basic, *ext;
	char *envelope;       /* a message root's "(...)" ENVELOPE, else NULL */
};

struct mail_structure {
	struct mail_mime_node *nodes;
	uint32_t count, cap;
	uint64_t size;
	char *bodystructure, *body;   /* built by mail_bodystructure_build() */
};

/* The header fields a part's structure is made of. */
enum mail_mime_field {
	MAIL_MIME_F_CONTENT_TYPE,
	MAIL_MIME_F_CONTENT_TRANSFER_ENCODING,
	MAIL_MIME_F_CONTENT_ID,
	MAIL_MIME_F_CONTENT_DESCRIPTION,
	MAIL_MIME_F_CONTENT_DISPOSITION,
	MAIL_MIME_F_CONTENT_LANGUAGE,
	MAIL_MIME_F_CONTENT_LOCATION,
	MAIL_MIME_F_CONTENT_MD5,
	MAIL_MIME_F_DATE,
	MAIL_MIME_F_SUBJECT,
	MAIL_MIME_F_FROM,
	MAIL_MIME_F_SENDER,
	MAIL_MIME_F_REPLY_TO,
	MAIL_MIME_F_TO,
	MAIL_MIME_F_CC,
	MAIL_MIME_F_BCC,
	MAIL_MIME_F_IN_REPLY_TO,
	MAIL_MIME_F_MESSAGE_ID,
	MAIL_MIME_F__COUNT
};
#define MAIL_MIME_F_FIRST_ENVELOPE MAIL_MIME_F_DATE

/* The values of one header's fields: unfolded, the white space after the
 * colon removed, NULs kept. Content-* fields: the first one counts
 * (as Dovecot); Date, Subject, In-Reply-To, Message-ID: the last; the
 * address fields: all of them, joined by commas. */
struct mail_mime_fields {
	struct buf value[MAIL_MIME_F__COUNT];
	bool set[MAIL_MIME_F__COUNT];
};
void mail_mime_fields_init(struct mail_mime_fields *f);
/* Take one header field: ignored unless it is one of the above (and, for
 * the envelope's, `envelope` is set). */
void mail_mime_fields_add(struct mail_mime_fields *f, const char *name, size_t name_len,
			  const char *value, size_t value_len, bool envelope);
void mail_mime_fields_deinit(struct mail_mime_fields *f);

/* How mail_mime_part_fill() reads a part. */
struct mail_mime_part_ctx {
	bool digest_child;   /* the parent is multipart/digest: default message/rfc822 */
	bool too_deep;       /* a multipart or message here is kept opaque */
};
/* mail-mime-param.c: set node->kind, text, encoding, basic and ext from
 * the Content-* fields (RFC 2045, 2046, 2183, 2231, 3282). Returns the
 * multipart's boundary (malloc'd, the caller frees it) or NULL. */
char *mail_mime_part_fill(struct mail_mime_node *node, const struct mail_mime_fields *f,
			  const struct mail_mime_part_ctx *ctx);

/* mail-mime-param.c: the charset parameter of a Content-Type value
 * (s[0..len), no NUL inside), malloc'd as written; NULL when there is
 * none. For mail-text.c, which reads parts' text for SEARCH. */
char *mail_mime_content_charset(const char *value, size_t len);

/* mail-envelope.c: the "(...)" ENVELOPE of a message root's fields
 * (RFC 9051 7.5.2), malloc'd. */
char *mail_envelope_build(const struct mail_mime_fields *f);

/* mail-bodystructure.c: build st->bodystructure and st->body from the
 * tree (RFC 9051 7.5.2). */
void mail_bodystructure_build(struct mail_structure *st);

/* mail-imap-quote.c: IMAP strings (RFC 9051 4.3), appended to an
 * uncapped buf. A quoted string where it can carry the text, else a
 * literal, as Dovecot chooses. */
/* s[0..len) up to its first NUL: a literal when it holds CR, LF, an
 * 8-bit byte, or more than 4 characters to escape. */
void mail_imap_append_string(struct buf *out, const char *s, size_t len);
/* Text for people (a subject, a display name): tabs and runs of white
 * space become one space, line ends go, white space at either end goes,
 * NUL becomes U+FFFD; written quoted only when nothing had to change and
 * nothing needs escaping, else as a literal (as Dovecot does). */
void mail_imap_append_human(struct buf *out, const char *s, size_t len);

/* Duplicate s[0..len) as a NUL-terminated string; aborts on allocation
 * failure. */
char *mail_mime_strndup(const char *s, size_t len);

#endif
