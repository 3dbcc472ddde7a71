/* smtp-basic - the commands that move no mail: RSET, NOOP, QUIT, VRFY and
 * EXPN (which never say whether an address exists), HELP. */
#include "smtp/smtp-session.h"

static void smtp_rset_reply(struct smtp_session *s)
{
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_rset(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 4.1.1.5; RFC 3030 2: also clears the chunks of a BDAT
	 * transaction, a failed one included. */
	smtp_txn_reset(s, smtp_rset_reply);
}

void smtp_cmd_noop(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_quit(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 221, "2.0.0", "%s closing connection", smtp_session_hostname(s));
	conn_close(s->conn, "quit");
}

void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 3.5.3, 7.3: an answer that says nothing about the address. */
	smtp_reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

void smtp_cmd_expn(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 7.3: an alias's members are nobody's business. */
	smtp_reply(s, 502, "5.5.1", "EXPN is not available");
}

void smtp_cmd_help(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 214, "2.0.0",
		   "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\n"
		   "See RFC 5321 and https://www.rfc-editor.org/rfc/rfc5321");
}
