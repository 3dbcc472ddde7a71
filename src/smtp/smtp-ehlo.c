/* smtp-ehlo - EHLO and HELO (RFC 5321 4.1.1.1) with the service
 * extensions tern advertises and implements, and STARTTLS (RFC 3207). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dir/sasl.h"
#include "smtp/smtp-session.h"

/* Both reset the transaction (RFC 5321 4.1.4) and take the client's name. */
static void smtp_hello(struct smtp_session *s, const struct smtp_command *cmd, bool esmtp)
{
	snprintf(s->helo, sizeof(s->helo), "%s", cmd->hello.domain);
	s->esmtp = esmtp;
	/* RFC 5321 4.1.1.1: after HELO, no extension may be used. */
	s->extensions = esmtp ? SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN
			      : 0;
	/* RFC 4954 5: a server that offers AUTH takes MAIL's AUTH=. */
	if (esmtp && s->ctx->service == SMTP_SERVICE_SUBMISSION)
		s->extensions |= SMTP_EXT_AUTH;
}

/* Not on the sendmail socket: it never leaves the machine. */
static bool smtp_starttls_offered(const struct smtp_session *s)
{
	return !conn_is_tls(s->conn) && conn_tls_available(s->conn) &&
	       s->ctx->service != SMTP_SERVICE_LOCAL;
}

static void smtp_ehlo_reply(struct smtp_session *s)
{
	char auth[64] = "", tls[16] = "";

	if (smtp_auth_offered(s))
		snprintf(auth, sizeof(auth), "AUTH %s\n", sasl_mechanisms());
	if (smtp_starttls_offered(s))
		snprintf(tls, sizeof(tls), "STARTTLS\n");
	smtp_reply(s, 250, NULL,
		   "%s Hello %s [%s]\n"
		   "PIPELINING\n"
		   "SIZE %" PRIu64 "\n"
		   "8BITMIME\n"
		   "ENHANCEDSTATUSCODES\n"
		   "%s%s"
		   "SMTPUTF8\n"
		   "CHUNKING\n"
		   "DSN",
		   smtp_session_hostname(s), s->helo, conn_remote_ip(s->conn),
		   s->cfg->limits.message_size, tls, auth);
}

void smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_command *cmd)
{
	smtp_hello(s, cmd, true);
	smtp_txn_reset(s, smtp_ehlo_reply);
}

static void smtp_helo_reply(struct smtp_session *s)
{
	smtp_reply(s, 250, NULL, "%s Hello %s [%s]", smtp_session_hostname(s), s->helo,
		   conn_remote_ip(s->conn));
}

void smtp_cmd_helo(struct smtp_session *s, const struct smtp_command *cmd)
{
	smtp_hello(s, cmd, false);
	smtp_txn_reset(s, smtp_helo_reply);
}

void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	if (conn_is_tls(s->conn)) {
		smtp_reply(s, 503, "5.5.1", "TLS already active");
		return;
	}
	if (!smtp_starttls_offered(s)) {
		smtp_reply(s, 454, "4.7.0", "TLS not available");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* Nothing more is read until tls_ready; the core discards what the
	 * client pipelined after STARTTLS (RFC 3207 4.2, DESIGN 7). */
	smtp_session_wait(s);
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "STARTTLS failed to start");
}
