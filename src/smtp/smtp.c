/* smtp - the SMTP protocol modules: the struct protocol of port 25 and
 * the one of submission (587 and 465), which differ only in their login
 * phase. The session is in smtp-session.c. */
#include "smtp/smtp.h"

#include "smtp/smtp-session.h"

static void *smtp_open(struct conn *conn)
{
	return smtp_session_new(conn);
}

static void smtp_input(void *session)
{
	smtp_session_input(session);
}

static void smtp_tls_ready(void *session)
{
	smtp_session_tls_ready(session);
}

static void smtp_timeout(void *session, enum conn_end why)
{
	smtp_session_timeout(session, why);
}

static void smtp_close(void *session)
{
	smtp_session_free(session);
}

/* RFC 5321 3.1, 4.2.3: 421 at connect, the service is not available now
 * (no enhanced code: this stands for the greeting, RFC 2034 3). */
#define SMTP_BUSY_REPLY "421 Too many connections, try again later\r\n"

/* The two differ in their name and login phase only. */
#define SMTP_PROTOCOL(service_name, login)                                    \
	{                                                                       \
		.name = service_name,                                           \
		.open = smtp_open,                                              \
		.input = smtp_input,                                            \
		.tls_ready = smtp_tls_ready,                                    \
		.timeout = smtp_timeout,                                        \
		.close = smtp_close,                                            \
		.busy_reply = SMTP_BUSY_REPLY,                                  \
		.has_login = login,                                             \
	}

/* Port 25 has no login: mail from the internet never logs in. */
const struct protocol smtp_protocol = SMTP_PROTOCOL("smtp", false);
const struct protocol smtp_submission_protocol = SMTP_PROTOCOL("submission", true);
