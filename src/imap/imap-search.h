/* imap-search - SEARCH programs: the search keys of RFC 9051 6.4.4 (and
 * RFC 3501's NEW, OLD, RECENT), the CHARSET and the RETURN options of RFC
 * 4731 / 5182 read into a tree (imap-search-parse.c), and the tree's
 * evaluation against one message at a time (imap-search.c): first on
 * what the index knows (flags, size, dates, numbers), then, only when
 * that cannot decide, on the message's text. Pure: no I/O; cmd-search.c
 * feeds it. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_SEARCH_H
#define TERN_IMAP_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-arg.h"
#include "imap/imap-seqset.h"

struct mail_match;

/* Bounds on a program: keys (nodes of the tree) and nesting (NOT, OR and
 * lists). A command over them gets BAD [LIMIT]. */
#define IMAP_SEARCH_MAX_NODES 1000
#define IMAP_SEARCH_MAX_DEPTH 64

/* RETURN options (RFC 4731 3.1, RFC 5182 2). */
enum imap_search_ret {
	IMAP_SEARCH_RET_MIN = 1 << 0,
	IMAP_SEARCH_RET_MAX = 1 << 1,
	IMAP_SEARCH_RET_ALL = 1 << 2,
	IMAP_SEARCH_RET_COUNT = 1 << 3,
	IMAP_SEARCH_RET_SAVE = 1 << 4,
};

enum imap_search_kind {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,        /* a list, or keys side by side: every child */
	IMAP_SEARCH_OR,         /* two children */
	IMAP_SEARCH_NOT,        /* one child */
	IMAP_SEARCH_FLAGS,      /* every system flag of `flags` is set (UN... keys are NOT of it) */
	IMAP_SEARCH_KEYWORD,    /* `str` is set */
	IMAP_SEARCH_RECENT,     /* rev1 \Recent */
	IMAP_SEARCH_BEFORE,     /* internal date's day < `day` */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,      /* >= */
	IMAP_SEARCH_SENTBEFORE, /* the same of the Date: header's day */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,     /* size > `size` */
	IMAP_SEARCH_SMALLER,    /* size < `size` */
	IMAP_SEARCH_SEQSET,     /* message number in `set` ("$": UID in the saved result) */
	IMAP_SEARCH_UIDSET,     /* UID in `set` (or in the saved result) */
	IMAP_SEARCH_HEADER,     /* a `field` header field contains `str` (BCC, CC, FROM, SUBJECT, TO too) */
	IMAP_SEARCH_BODY,       /* the body's text contains `str` */
	IMAP_SEARCH_TEXT,       /* the header's or the body's text contains `str` */
	IMAP_SEARCH_MODSEQ,     /* MODSEQ >= `modseq` (RFC 7162 3.1.5) */
	IMAP_SEARCH__COUNT
};
const char *imap_search_kind_name(enum imap_search_kind kind);

struct imap_search_node {
	enum imap_search_kind kind;
	struct imap_search_node **children;   /* AND, OR, NOT */
	size_t n_children;
	unsigned flags;             /* FLAGS: enum store_flag bits */
	char *str;                  /* KEYWORD, HEADER, BODY, TEXT: UTF-8 */
	char *field;                /* HEADER: the field name */
	uint32_t day;               /* dates: mail_date_day() */
	uint64_t number;            /* LARGER, SMALLER: octets; MODSEQ: the mod-sequence */
	struct imap_seqset set;     /* SEQSET, UIDSET */
	/* While a message's text is read (HEADER, BODY, TEXT; SENT* use
	 * the program's sent_day). */
	struct mail_match *match;
	bool matched;
};

struct imap_search_program {
	struct imap_search_node *root;
	unsigned ret;               /* enum imap_search_ret bits; ALL when RETURN () */
	bool esearch;               /* RETURN was given: the answer is ESEARCH */
	bool uses_saved;            /* "$" appears in it */
	bool uses_seqs;             /* a set of message numbers (not "$") appears in it */
	bool needs_index;           /* keywords, dates or sizes: the index is read (system
				     * flags alone are the view's) */
	bool needs_text;            /* HEADER, BODY or TEXT keys: messages are read */
	bool needs_body;            /* BODY or TEXT keys: more than the top header is read */
	bool needs_date;            /* SENT* keys: the Date: header is read */
	/* A MODSEQ key: the answer carries the highest MODSEQ of the
	 * messages found (RFC 7162 3.1.6, 3.1.10). */
	bool has_modseq;
	size_t n_nodes;
	/* The nodes of HEADER, BODY and TEXT keys, for the text reader. */
	struct imap_search_node **text_nodes;
	size_t n_text_nodes;
	uint32_t sent_day;          /* the message's Date: day, 0 when none */
};

enum imap_search_error {
	IMAP_SEARCH_OK,
	IMAP_SEARCH_BAD,            /* BAD: *error_r says why */
	IMAP_SEARCH_LIMIT,          /* BAD [LIMIT]: too many keys or too deep */
	IMAP_SEARCH_BADCHARSET,     /* NO [BADCHARSET (UTF-8 US-ASCII)] */
};

/* Read SEARCH's arguments: [RETURN (options)] [CHARSET name] keys.
 * `star_seq` and `star_uid` are what "*" stands for in message numbers and
 * UIDs (0 in an empty mailbox). Returns OK with *prog_r set (free it
 * with imap_search_program_free), else an error with *error_r (static
 * text for the reply). */
enum imap_search_error imap_search_parse(const struct imap_arg *args, size_t n_args,
					 uint32_t star_seq, uint32_t star_uid,
					 struct imap_search_program **prog_r, const char **error_r);
void imap_search_program_free(struct imap_search_program **prog);

/* What the index knows of one message. */
struct imap_search_msg {
	uint32_t seq, uid;
	unsigned flags;             /* enum store_flag bits */
	const char *keywords;       /* space-separated, NULL when none */
	bool recent;
	int64_t internal_date;      /* seconds since the epoch */
	uint64_t size;
	uint64_t modseq;
};

enum imap_search_value {
	IMAP_SEARCH_FALSE,
	IMAP_SEARCH_TRUE,
	IMAP_SEARCH_UNKNOWN,        /* the text keys decide: read the message */
};

/* Evaluate the program for one message. `saved` (ascending, n_saved) is
 * the session's saved result for "$". Without `text`, text and SENT*
 * keys are unknown (the answer is UNKNOWN only when they matter); with
 * it, their results from the last imap_search_text_* calls count. */
enum imap_search_value imap_search_eval(const struct imap_search_program *prog,
					const struct imap_search_msg *msg,
					const uint32_t *saved, size_t n_saved, bool text);

/* Reading a message's text for the text keys: begin, then every header
 * field of the top message (top = true) and of messages inside it (top
 * = false, as body text), decoded to UTF-8 (mail_decode_header), and the
 * decoded UTF-8 text of each body part (in pieces, part_end after each),
 * then imap_search_eval(..., true). */
void imap_search_text_begin(struct imap_search_program *prog);
void imap_search_text_field(struct imap_search_program *prog, bool top, const char *name,
			    size_t name_len, const char *value, size_t value_len);
/* The top message's Date: day (mail_date_parse_day), for SENT*. */
void imap_search_text_date(struct imap_search_program *prog, uint32_t day);
void imap_search_text_body(struct imap_search_program *prog, const char *text, size_t len);
void imap_search_text_part_end(struct imap_search_program *prog);
/* Whether every text key has matched already: the rest of the message
 * need not be read. */
bool imap_search_text_settled(const struct imap_search_program *prog);

/* The day of an internal date in UTC (as INTERNALDATE is written), as
 * mail_date_day. */
uint32_t imap_search_day(int64_t when);

#endif
