/* imap - the IMAP protocol module: the struct protocol the serve command
 * attaches to the imap and imaps listeners. The session is in
 * imap-session.c. */
#include "imap/imap.h"

#include "imap/imap-session.h"

static void *imap_open(struct conn *conn)
{
	return imap_session_new(conn);
}

static void imap_input(void *session)
{
	imap_session_input(session);
}

static void imap_drained(void *session)
{
	imap_session_drained(session);
}

static void imap_tls_ready(void *session)
{
	imap_session_tls_ready(session);
}

static void imap_timeout(void *session, enum conn_end why)
{
	imap_session_timeout(session, why);
}

static void imap_close(void *session)
{
	imap_session_free(session);
}

const struct protocol imap_protocol = {
	.name = "imap",
	.open = imap_open,
	.input = imap_input,
	.drained = imap_drained,
	.tls_ready = imap_tls_ready,
	.timeout = imap_timeout,
	.close = imap_close,
	/* RFC 9051 7.1.5: BYE at once; RFC 5530 UNAVAILABLE. */
	.busy_reply = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
	.has_login = true,
	/* The socket and a message being sent. The account's handle (5
	 * descriptors, one per account) is held while a session runs a
	 * command and for [imap] release_after seconds after it
	 * (imap-session.c), so it is not counted per session: sessions of
	 * thousands of different accounts busy at once can run short, and
	 * then get NO [UNAVAILABLE]; an open that fails closes the lingering
	 * handles and tries again (store_account_get). */
	.session_fds = 2,
};
