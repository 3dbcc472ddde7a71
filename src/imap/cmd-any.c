/* cmd-any - the commands of any state (RFC 9051 6.1: CAPABILITY, NOOP,
 * LOGOUT; RFC 2971 ID), the session's capability list, and the small
 * commands of the authenticated state that only set or tell the session
 * something (ENABLE, RFC 5161; NAMESPACE, RFC 2342). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dir/auth.h"
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"

/* RFC 2971 3.3: at most 30 field-value pairs, fields of 30 octets and
 * values of 1024. */
#define IMAP_ID_PAIRS_MAX 30
#define IMAP_ID_FIELD_MAX 30
#define IMAP_ID_VALUE_MAX 1024

bool imap_plaintext_allowed(const struct imap_session *s)
{
	return auth_plaintext_allowed(conn_is_tls(s->conn), conn_is_loopback(s->conn),
				      s->cfg->auth.allow_plaintext_loopback);
}

const char *imap_capabilities(const struct imap_session *s)
{
	/* one per I/O thread: valid until the thread's next call */
	static _Thread_local char caps[512];
	struct {
		const char *name;   /* advertised when the command exists */
		const char *caps;
	} optional[] = {
		{ "IDLE", " IDLE" },
		{ "UNSELECT", " UNSELECT" },
		{ "MOVE", " MOVE" },
		{ "SEARCH", " ESEARCH SEARCHRES" },
		{ "FETCH", " BINARY" },
		/* RFC 7162 3.2.2: QRESYNC, and CONDSTORE for CONDSTORE-only clients */
		{ "STORE", " CONDSTORE QRESYNC" },
	};
	size_t n;

	n = (size_t)snprintf(caps, sizeof(caps), "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE");
	if (s->state == IMAP_STATE_NOT_AUTHENTICATED) {
		/* RFC 9051 6.2.1 / 7.2.2: STARTTLS before TLS; no password
		 * in clear (DESIGN 7): LOGINDISABLED and no mechanism. */
		if (!conn_is_tls(s->conn) && conn_tls_available(s->conn))
			n += (size_t)snprintf(caps + n, sizeof(caps) - n, " STARTTLS");
		snprintf(caps + n, sizeof(caps) - n, "%s",
			 imap_plaintext_allowed(s) ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED");
		return caps;
	}
	n += (size_t)snprintf(caps + n, sizeof(caps) - n,
			      " NAMESPACE UIDPLUS MULTIAPPEND CHILDREN LIST-EXTENDED LIST-STATUS"
			      " SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE UTF8=ACCEPT");
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]) && n < sizeof(caps); i++)
		if (imap_command_find(optional[i].name, false) != NULL)
			n += (size_t)snprintf(caps + n, sizeof(caps) - n, "%s", optional[i].caps);
	return caps;
}

void cmd_capability(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "CAPABILITY takes no arguments");
		return;
	}
	if (s->state == IMAP_STATE_NOT_AUTHENTICATED)
		s->capability_asked = true;
	imap_untagged(s, "CAPABILITY %s", imap_capabilities(s));
	imap_cmd_done(cmd, IMAP_OK, NULL, "CAPABILITY completed");
}

void cmd_noop(struct imap_cmd *cmd)
{
	/* RFC 9051 6.1.2: the updates are what it is for; imap_cmd_done
	 * sends them. */
	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "NOOP takes no arguments");
		return;
	}
	imap_cmd_done(cmd, IMAP_OK, NULL, "NOOP completed");
}

void cmd_logout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "LOGOUT takes no arguments");
		return;
	}
	/* RFC 9051 6.1.3: BYE, then the tagged OK, then the close. */
	imap_untagged(s, "BYE Logging out");
	s->state = IMAP_STATE_LOGOUT;
	s->waiting = true;
	imap_cmd_done(cmd, IMAP_OK, NULL, "LOGOUT completed");
	conn_close(s->conn, "logout");
}

static bool imap_id_valid(const struct imap_arg *arg, char *client, size_t size)
{
	const char *name = NULL, *version = NULL;

	client[0] = '\0';
	if (arg->type == IMAP_ARG_NIL)
		return true;
	if (arg->type != IMAP_ARG_LIST || arg->n % 2 != 0 || arg->n / 2 > IMAP_ID_PAIRS_MAX)
		return false;
	for (size_t i = 0; i < arg->n; i += 2) {
		const struct imap_arg *field = &arg->list[i], *value = &arg->list[i + 1];

		if (imap_arg_string(field) == NULL || field->len > IMAP_ID_FIELD_MAX)
			return false;
		if (value->type != IMAP_ARG_NIL &&
		    (imap_arg_string(value) == NULL || value->len > IMAP_ID_VALUE_MAX))
			return false;
		if (value->type == IMAP_ARG_NIL)
			continue;
		if (strcasecmp(field->str, "name") == 0)
			name = value->str;
		else if (strcasecmp(field->str, "version") == 0)
			version = value->str;
	}
	if (name != NULL) {
		char n[96], v[64];

		snprintf(client, size, "%s %s", log_escape(n, sizeof(n), name, 64),
			 version != NULL ? log_escape(v, sizeof(v), version, 32) : "");
	}
	return true;
}

void cmd_id(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	char client[192];

	if (cmd->n_args != 1 || !imap_id_valid(&cmd->args[0], client, sizeof(client))) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "ID takes NIL or a list of field-value pairs");
		return;
	}
	if (client[0] != '\0')
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"client id\" client=\"%s\"", client);
	imap_untagged(s, "ID (\"name\" \"tern\" \"version\" \"%s\")", TERN_VERSION);
	imap_cmd_done(cmd, IMAP_OK, NULL, "ID completed");
}

void cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	char enabled[64] = "";
	bool condstore = false, condstore_listed = false;

	if (cmd->n_args == 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "ENABLE needs a capability");
		return;
	}
	/* RFC 5161 3: unknown names are ignored; each newly enabled one is
	 * listed once. */
	for (size_t i = 0; i < cmd->n_args; i++) {
		const struct imap_arg *arg = &cmd->args[i];

		if (arg->type != IMAP_ARG_ATOM) {
			imap_cmd_done(cmd, IMAP_BAD, NULL, "ENABLE takes capability names");
			return;
		}
		if (imap_arg_atom_is(arg, "IMAP4rev2") && !s->rev2) {
			s->rev2 = true;
			strcat(enabled, " IMAP4rev2");
		} else if (imap_arg_atom_is(arg, "UTF8=ACCEPT") && !s->utf8_accept) {
			/* RFC 6855 3 */
			s->utf8_accept = true;
			strcat(enabled, " UTF8=ACCEPT");
		} else if (imap_arg_atom_is(arg, "QRESYNC") && !s->qresync) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
			s->qresync = true;
			condstore = true;
			strcat(enabled, " QRESYNC");
		} else if (imap_arg_atom_is(arg, "CONDSTORE") && !s->condstore && !condstore_listed) {
			/* RFC 7162 3.2.3: ENABLE QRESYNC CONDSTORE enables both,
			 * in any order, and names both (as Dovecot does) */
			condstore = condstore_listed = true;
			strcat(enabled, " CONDSTORE");
		}
	}
	imap_untagged(s, "ENABLED%s", enabled);
	if (condstore)
		imap_condstore_enable(s);
	imap_cmd_done(cmd, IMAP_OK, NULL, "ENABLE completed");
}

void cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "NAMESPACE takes no arguments");
		return;
	}
	/* RFC 2342 5: one personal namespace, no prefix, "/"; no other
	 * users' or shared ones. */
	imap_untagged(cmd->s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_cmd_done(cmd, IMAP_OK, NULL, "NAMESPACE completed");
}
