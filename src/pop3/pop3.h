/* pop3 - the POP3 service (RFC 1939, 2449, 2595, 5034) as a protocol
 * module: the serve command attaches pop3_protocol to the pop3 and pop3s
 * listeners, with a struct pop3_context as the listener's context. */
#ifndef TERN_POP3_POP3_H
#define TERN_POP3_POP3_H

#include "core/conn.h"

struct dir;
struct store_root;

struct pop3_context {
	struct dir *dir;           /* the user directory, shared by all sessions */
	struct store_root *store;  /* the message store, shared by all sessions */
	const char *hostname;      /* [server] hostname, for the greeting */
};

extern const struct protocol pop3_protocol;

#endif
