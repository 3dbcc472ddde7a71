/* imap-utf7 - IMAP's modified UTF-7 for mailbox names (RFC 3501 5.1.3),
 * spoken to IMAP4rev1 clients that did not ENABLE UTF8=ACCEPT; tern keeps
 * names in UTF-8 (RFC 9051 5.1). */
#ifndef TERN_IMAP_IMAP_UTF7_H
#define TERN_IMAP_IMAP_UTF7_H

#include <stdbool.h>

struct buf;

/* Append the UTF-8 form of a modified UTF-7 name to out (NUL-terminated).
 * Returns false for a name that is not valid modified UTF-7 (bad base64,
 * a surrogate out of place, a needlessly encoded ASCII character, "&"
 * not written "&-"). */
bool imap_utf7_to_utf8(const char *utf7, struct buf *out);
/* Append the modified UTF-7 form of a UTF-8 name (NUL-terminated).
 * Returns false for invalid UTF-8. */
bool imap_utf8_to_utf7(const char *utf8, struct buf *out);

#endif
