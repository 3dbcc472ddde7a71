/* imap-fetch-header - the HEADER.FIELDS and HEADER.FIELDS.NOT sections
 * (RFC 9051 6.4.5): the fields of a header that a list names, or does not
 * name, in their order and as stored, then the empty line. Read with
 * src/mail/mail-header.c's reader. Pure: no I/O. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_FETCH_HEADER_H
#define TERN_IMAP_IMAP_FETCH_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* The most header bytes FETCH filters: a longer header is filtered as far
 * as this, as if it ended there (the bytes are read into memory). */
#define IMAP_FETCH_HEADER_MAX (1024u * 1024)

/* Append to `out` the fields of header[0..len) (a HEADER section, its
 * empty line included) whose names are (`exclude` false) or are not
 * (true) among names[0..n), compared ignoring ASCII case, each with its
 * line ends as stored (CRLF added where the input ended without one),
 * then CRLF: the empty line that ends the subset, there even when no
 * field matched. A line that is not a field names nothing: HEADER.FIELDS
 * leaves it out, HEADER.FIELDS.NOT keeps it (as Dovecot). */
void imap_fetch_header_filter(const char *header, size_t len, char *const *names, size_t n,
			      bool exclude, struct buf *out);

#endif
