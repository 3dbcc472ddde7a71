/* cmd-auth - the not-authenticated state (RFC 9051 6.2): STARTTLS,
 * AUTHENTICATE (PLAIN and LOGIN, with SASL-IR, RFC 4959) and LOGIN. The
 * credentials go to the shared login driver (dir/auth-login.h) with all
 * its defences, as POP3's do; then a job opens the account's store. */
#include <stdlib.h>
#include <string.h>

#include "dir/auth-login.h"
#include "dir/sasl.h"
#include "imap/imap-commands.h"

/* A login in progress: the SASL exchange, then the account. */
struct imap_login {
	struct sasl *sasl;
	char *address;
	struct store_account *acct;
	enum store_error error;
};

static void imap_login_free(struct imap_cmd *cmd)
{
	struct imap_login *login = cmd->ctx;

	sasl_free(&login->sasl);
	free(login->address);
	free(login);
	cmd->ctx = NULL;
}

static struct imap_login *imap_login_ctx(struct imap_cmd *cmd)
{
	struct imap_login *login = calloc(1, sizeof(*login));

	if (login == NULL)
		abort();
	cmd->ctx = login;
	cmd->free_ctx = imap_login_free;
	return login;
}

void cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "STARTTLS takes no arguments");
		return;
	}
	if (conn_is_tls(s->conn)) {
		imap_cmd_done(cmd, IMAP_BAD, "CLIENTBUG", "TLS is already active");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		imap_cmd_done(cmd, IMAP_NO, "UNAVAILABLE", "TLS is not available");
		return;
	}
	/* Nothing more is read until tls_ready: what the client sent after
	 * STARTTLS is discarded by the core (RFC 9051 6.2.1, DESIGN 7). */
	s->waiting = true;
	imap_cmd_done(cmd, IMAP_OK, NULL, "Begin TLS negotiation now");
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "STARTTLS failed to start");
}

/* Job: the account's store, once the credentials are verified. */
static void imap_login_work(struct imap_cmd *cmd)
{
	struct imap_login *login = cmd->ctx;

	login->error = store_account_get(cmd->s->ctx->store, login->address, &login->acct);
}

static void imap_login_opened(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_login *login = cmd->ctx;
	char user[256];

	log_escape(user, sizeof(user), login->address, 200);
	if (login->error != STORE_OK) {
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"login refused\" user=\"%s\" error=%s", user,
			 store_error_name(login->error));
		imap_cmd_fail(cmd, login->error, false, "store_account_get");
		return;
	}
	/* the session releases it, also when the client is gone already */
	s->acct = login->acct;
	s->account_id = store_account_id(s->acct);
	login->acct = NULL;
	s->address = login->address;
	login->address = NULL;
	s->state = IMAP_STATE_AUTHENTICATED;
	conn_authenticated(s->conn);
	conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"login\" user=\"%s\"", user);
	if (s->capability_asked) {
		char code[600];

		/* RFC 9051 6.2.3: the capabilities change with the login */
		snprintf(code, sizeof(code), "CAPABILITY %s", imap_capabilities(s));
		imap_cmd_done(cmd, IMAP_OK, code, "Logged in");
	} else {
		imap_cmd_done(cmd, IMAP_OK, NULL, "Logged in");
	}
}

/* The login driver's answer (auth-login.h), after every delay. */
static void imap_login_checked(void *ctx, enum auth_login_result result, const char *address)
{
	struct imap_cmd *cmd = ctx;
	struct imap_session *s = cmd->s;
	struct imap_login *login = cmd->ctx;
	unsigned limit = s->cfg->limits.auth_failures;

	switch (result) {
	case AUTH_LOGIN_OK:
		login->address = strdup(address);
		if (login->address == NULL)
			abort();
		imap_cmd_job(cmd, imap_login_work, imap_login_opened);
		return;
	case AUTH_LOGIN_FAILED:
		s->auth_failures++;
		imap_cmd_done(cmd, IMAP_NO, "AUTHENTICATIONFAILED", "Authentication failed");
		if (limit != 0 && s->auth_failures >= limit) {
			imap_untagged(s, "BYE Too many authentication failures");
			s->waiting = true;
			conn_close(s->conn, "too many authentication failures");
		}
		return;
	case AUTH_LOGIN_GONE:
		/* the connection is closing: nothing reaches the client */
		imap_cmd_done(cmd, IMAP_NO, NULL, "Disconnected");
		return;
	case AUTH_LOGIN_BUSY:
	case AUTH_LOGIN_TEMPFAIL:
	default:
		imap_cmd_done(cmd, IMAP_NO, "UNAVAILABLE", "Temporary authentication failure, try again later");
		return;
	}
}

static bool imap_login_allowed(struct imap_cmd *cmd)
{
	if (imap_plaintext_allowed(cmd->s))
		return true;
	/* RFC 9051 6.2.3 (LOGINDISABLED), RFC 5530 PRIVACYREQUIRED */
	imap_cmd_done(cmd, IMAP_NO, "PRIVACYREQUIRED",
		      "Plaintext authentication disallowed on non-secure connections");
	return false;
}

void cmd_login(struct imap_cmd *cmd)
{
	const char *user, *password;

	if (cmd->n_args != 2 || (user = imap_arg_astring(&cmd->args[0])) == NULL ||
	    (password = imap_arg_astring(&cmd->args[1])) == NULL) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "LOGIN takes a user name and a password");
		return;
	}
	if (!imap_login_allowed(cmd))
		return;
	imap_login_ctx(cmd);
	auth_login_start(cmd->s->conn, cmd->s->ctx->dir, user, "", password, imap_login_checked,
			 cmd);
}

static void imap_auth_line(struct imap_cmd *cmd, const char *line, size_t len);

static void imap_auth_step(struct imap_cmd *cmd, const char *response, size_t len)
{
	struct imap_login *login = cmd->ctx;
	const char *challenge = NULL, *error = NULL;

	switch (sasl_step(login->sasl, response, len, &challenge, &error)) {
	case SASL_STATUS_CONTINUE:
		/* RFC 9051 7.5: "+ " and the base64 challenge */
		imap_continue(cmd->s, challenge);
		imap_cmd_lines(cmd, imap_auth_line);
		return;
	case SASL_STATUS_DONE:
		cmd->line = NULL;
		conn_pause_input(cmd->s->conn);
		auth_login_start(cmd->s->conn, cmd->s->ctx->dir, sasl_authcid(login->sasl),
				 sasl_authzid(login->sasl), sasl_password(login->sasl),
				 imap_login_checked, cmd);
		sasl_free(&login->sasl);
		return;
	case SASL_STATUS_CANCELLED:
		/* RFC 9051 6.2.2: "*" cancels, with a BAD */
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Authentication cancelled");
		return;
	case SASL_STATUS_ERROR:
	default:
		conn_log(cmd->s->conn, LOG_LEVEL_INFO, "msg=\"bad SASL response\" error=\"%s\"",
			 error != NULL ? error : "?");
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Invalid SASL response");
		return;
	}
}

static void imap_auth_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	if (line == NULL) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "SASL response too long");
		return;
	}
	imap_auth_step(cmd, line, len);
}

void cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_login *login;
	const char *mech, *ir = NULL;

	if (cmd->n_args < 1 || cmd->n_args > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->n_args == 2 && (ir = imap_arg_astring(&cmd->args[1])) == NULL)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "AUTHENTICATE takes a mechanism and an initial response");
		return;
	}
	mech = cmd->args[0].str;
	if (!imap_login_allowed(cmd))
		return;
	login = imap_login_ctx(cmd);
	login->sasl = sasl_begin(mech);
	if (login->sasl == NULL) {
		imap_cmd_done(cmd, IMAP_NO, "CANNOT", "Unsupported authentication mechanism");
		return;
	}
	/* RFC 4959: the initial response, "=" for an empty one */
	imap_auth_step(cmd, ir, ir != NULL ? cmd->args[1].len : 0);
}
