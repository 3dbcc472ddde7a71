/* imap-flags - message flags as IMAP writes and reads them: a FLAGS list
 * of system flags, keywords and \Recent (FETCH, STORE, the updates), and
 * STORE's arguments (RFC 9051 6.4.6, 9: store-att-flags) read into an
 * operation, system flags and keywords. No I/O. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_FLAGS_H
#define TERN_IMAP_IMAP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "imap/imap-arg.h"
#include "store/store.h"

/* Append "(\Seen $Label1)": system flags (enum store_flag bits), then
 * \Recent when `recent`, then keywords (space-separated; may be NULL). */
void imap_flags_write(struct buf *out, unsigned flags, const char *keywords, bool recent);

/* A flag list "(\Seen $Forwarded)", or one flag as an atom (APPEND):
 * *flags_r gets the enum store_flag bits, *keywords_r the keywords
 * space-separated, without repeats (malloc'd; NULL when none). False,
 * with the reason in *why_r, for what imap_store_args_parse refuses. */
bool imap_flags_parse(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
		      const char **why_r);

struct imap_store_args {
	enum store_flag_op op;          /* FLAGS: replace, +FLAGS: add, -FLAGS: remove */
	bool silent;                    /* .SILENT */
	unsigned flags;                 /* enum store_flag bits */
	struct buf keywords;            /* space-separated, without repeats (any case); "" when none */
	size_t n_keywords;
};

enum imap_store_parse {
	IMAP_STORE_PARSE_OK,
	IMAP_STORE_PARSE_BAD,           /* reply BAD with *why_r */
	IMAP_STORE_PARSE_LIMIT,         /* more keywords than a mailbox may have: NO [LIMIT] */
};

/* STORE's arguments after the set: the item ("+FLAGS.SILENT") and the
 * flags, as one parenthesised list or as separate atoms. \Recent is
 * ignored (RFC 3501 2.3.2: the server's), other unknown system flags and
 * keywords that are not atoms are BAD (the modifier list of RFC 7162
 * UNCHANGEDSINCE before them is cmd-store.c's). args_r is
 * initialised either way: release it with imap_store_args_free. */
enum imap_store_parse imap_store_args_parse(const struct imap_arg *args, size_t n,
					    struct imap_store_args *args_r, const char **why_r);
void imap_store_args_free(struct imap_store_args *args);

#endif
