/* imap - the IMAP service (RFC 9051, RFC 3501 and the extensions of
 * docs/ARCHITECTURE.md) as a protocol module: the serve command attaches
 * imap_protocol to the imap and imaps listeners, with a struct
 * imap_context as the listener's context. */
#ifndef TERN_IMAP_IMAP_H
#define TERN_IMAP_IMAP_H

#include "core/conn.h"

struct dir;
struct store_root;

struct imap_context {
	struct dir *dir;           /* the user directory, shared by all sessions */
	struct store_root *store;  /* the message store, shared by all sessions */
	const char *hostname;      /* [server] hostname, for the greeting */
};

extern const struct protocol imap_protocol;

#endif
