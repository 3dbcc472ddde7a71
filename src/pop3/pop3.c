/* pop3 - the POP3 protocol module: the struct protocol the serve command
 * attaches to the pop3 and pop3s listeners. The session is in
 * pop3-session.c. */
#include "pop3/pop3.h"

#include "pop3/pop3-session.h"

static void *pop3_open(struct conn *conn)
{
	return pop3_session_new(conn);
}

static void pop3_input(void *session)
{
	pop3_session_input(session);
}

static void pop3_drained(void *session)
{
	pop3_session_drained(session);
}

static void pop3_tls_ready(void *session)
{
	pop3_session_tls_ready(session);
}

static void pop3_timeout(void *session, enum conn_end why)
{
	pop3_session_timeout(session, why);
}

static void pop3_close(void *session)
{
	pop3_session_free(session);
}

const struct protocol pop3_protocol = {
	.name = "pop3",
	.open = pop3_open,
	.input = pop3_input,
	.drained = pop3_drained,
	.tls_ready = pop3_tls_ready,
	.timeout = pop3_timeout,
	.close = pop3_close,
	/* RFC 3206 4 (SYS/TEMP): a temporary condition; one line for both
	 * the per-address and the total limit. */
	.busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
	.has_login = true,
};
