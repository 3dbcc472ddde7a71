/* imap-flags - message flags as IMAP writes them (RFC 9051 2.3.2): a
 * flag list from a command (APPEND, STORE) to the store's system flag
 * bits and keyword string, and back. No I/O. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_FLAGS_H
#define TERN_IMAP_IMAP_FLAGS_H

#include <stdbool.h>

#include "core/buf.h"
#include "imap/imap-arg.h"

/* Keywords of one flag list, at most; the store bounds a mailbox's. */
#define IMAP_FLAGS_KEYWORDS_MAX 100

/* A flag list "(\Seen $Forwarded)", or one flag as an atom: *flags_r gets
 * the enum store_flag bits, *keywords_r the keywords space-separated
 * (malloc'd; NULL when none). \Recent is ignored (RFC 3501 2.3.2: the
 * server sets it). False, with the reason in *why_r, for anything else:
 * an unknown system flag, a keyword that is not an atom, too many. */
bool imap_flags_parse(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
		      const char **why_r);

/* Append "\Seen \Flagged kw ..." (no parentheses): the system flags in
 * the order of RFC 9051 2.3.2, then the keywords as given. */
void imap_flags_write(struct buf *out, unsigned flags, const char *keywords);

#endif
