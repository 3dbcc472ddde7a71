/* imap-fetch-parse - the items of a FETCH command (RFC 9051 6.4.5, and
 * RFC 3501's RFC822 forms) read from its arguments into a list that the
 * FETCH producer (cmd-fetch.c) walks message by message. Pure: no I/O.
 * Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_FETCH_PARSE_H
#define TERN_IMAP_IMAP_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-arg.h"

/* Bounds: a request beyond them is refused (BAD), never cut. */
#define IMAP_FETCH_MAX_ITEMS 64      /* items of one FETCH */
#define IMAP_FETCH_MAX_DEPTH 100     /* part numbers of a section (mail-mime's nesting) */
#define IMAP_FETCH_MAX_FIELDS 256    /* names of one HEADER.FIELDS list */

enum imap_fetch_attr {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,            /* the structure without extension data */
	IMAP_FETCH_BODYSTRUCTURE,
	/* Bytes of the message: BODY[...], BODY.PEEK[...], BINARY[...],
	 * BINARY.PEEK[...], RFC822 (= BODY[]), RFC822.HEADER (=
	 * BODY.PEEK[HEADER]), RFC822.TEXT (= BODY[TEXT]). */
	IMAP_FETCH_SECTION,
	IMAP_FETCH_BINARY_SIZE,     /* BINARY.SIZE[part]: the decoded size */
	IMAP_FETCH_MODSEQ,          /* RFC 7162 3.1.4.2 */
	IMAP_FETCH__COUNT
};
/* "UID", "BODY[]", ...: for logs and tests. */
const char *imap_fetch_attr_name(enum imap_fetch_attr attr);

/* What of the part a section names (RFC 9051 6.4.5 section-msgtext,
 * section-text). */
enum imap_fetch_text {
	IMAP_FETCH_TEXT_NONE,        /* BODY[] (whole message) or BODY[1.2] (the part's content) */
	IMAP_FETCH_TEXT_HEADER,
	IMAP_FETCH_TEXT_FIELDS,      /* HEADER.FIELDS (names) */
	IMAP_FETCH_TEXT_FIELDS_NOT,  /* HEADER.FIELDS.NOT (names) */
	IMAP_FETCH_TEXT_TEXT,
	IMAP_FETCH_TEXT_MIME,        /* only after part numbers */
	IMAP_FETCH_TEXT__COUNT
};

struct imap_fetch_item {
	enum imap_fetch_attr attr;
	/* SECTION and BINARY_SIZE: */
	bool peek;                  /* .PEEK, or RFC822.HEADER: \Seen is not set */
	bool binary;                /* BINARY: the content decoded (RFC 3516) */
	uint32_t *part;             /* the part numbers ("1.2" -> {1, 2}) */
	size_t depth;               /* how many; 0: the whole message */
	enum imap_fetch_text text;
	char **fields;              /* FIELDS, FIELDS_NOT: the names as sent */
	size_t n_fields;
	bool partial;               /* <origin.length> was given */
	uint64_t origin, length;    /* length >= 1 */
	/* The item's name in the response, without "<origin>":
	 * "BODY[HEADER.FIELDS (From To)]", "RFC822.TEXT", "BINARY.SIZE[1]". */
	char *label;
};

/* Which message data the items need, so that the producer reads only that. */
enum imap_fetch_need {
	IMAP_FETCH_NEED_STRUCTURE = 1 << 0, /* ENVELOPE, BODY(STRUCTURE), a part's section, BINARY */
	IMAP_FETCH_NEED_CONTENT = 1 << 1,   /* some bytes of the message file */
	IMAP_FETCH_NEED_SEEN = 1 << 2,      /* a body item without .PEEK: set \Seen */
};

struct imap_fetch_request {
	/* UID comes first in every response (Thunderbird relies on it):
	 * it is a flag, not an item; MODSEQ, which CHANGEDSINCE adds
	 * (RFC 7162 3.1.4.1), comes next, a flag too. */
	bool uid;
	bool modseq;
	struct imap_fetch_item *items;
	size_t n;
	unsigned needs;             /* enum imap_fetch_need bits */
};

/* Read the FETCH items argument (an atom: one item or a macro ALL, FAST,
 * FULL; or a list of items) into *req_r. For UID FETCH (`uid`) the UID
 * item is always included. Items that repeat a simple attribute are sent
 * once. Returns false with the BAD reply's text in *why_r (and *req_r
 * empty) for anything the grammar does not allow. */
bool imap_fetch_parse(const struct imap_arg *arg, bool uid, struct imap_fetch_request *req_r,
		      const char **why_r);
void imap_fetch_request_free(struct imap_fetch_request *req);

#endif
