/* smtp-auth - AUTH on submission (RFC 4954, RFC 6409 4.3): the SASL
 * exchange (dir/sasl.h: PLAIN and LOGIN, initial responses, "=" for an
 * empty one, "*" to cancel), then the shared login driver
 * (dir/auth-login.h), with its throttle and delays, as POP3 uses it.
 * Never before TLS (DESIGN 7), save for loopback when [auth]
 * allow_plaintext_loopback says so; never on port 25. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/auth.h"
#include "dir/sasl.h"
#include "smtp/smtp-session.h"

bool smtp_auth_offered(const struct smtp_session *s)
{
	return s->ctx->service == SMTP_SERVICE_SUBMISSION && s->auth_user == NULL &&
	       auth_plaintext_allowed(conn_is_tls(s->conn), conn_is_loopback(s->conn),
				      s->cfg->auth.allow_plaintext_loopback);
}

/* The login driver's answer, after every delay. */
static void smtp_auth_checked(void *ctx, enum auth_login_result result, const char *address)
{
	struct smtp_session *s = ctx;
	unsigned limit = s->cfg->limits.auth_failures;
	char user[256];

	switch (result) {
	case AUTH_LOGIN_OK:
		s->auth_user = strdup(address);
		if (s->auth_user == NULL)
			abort();
		conn_authenticated(s->conn);
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"login\" user=\"%s\" tls=%s",
			 log_escape(user, sizeof(user), address, 200),
			 conn_is_tls(s->conn) ? "yes" : "no");
		smtp_session_input_cap(s);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		break;
	case AUTH_LOGIN_GONE:
		return;   /* the connection is closing: nothing to answer */
	case AUTH_LOGIN_FAILED:
		s->auth_failures++;
		smtp_reply_fail(s, SMTP_FAIL_AUTH_INVALID, "login");
		if (limit != 0 && s->auth_failures >= limit) {
			smtp_reply_bye(s, "4.7.0", "Too many authentication failures");
			conn_close(s->conn, "too many authentication failures");
			return;
		}
		break;
	case AUTH_LOGIN_BUSY:
	case AUTH_LOGIN_TEMPFAIL:
	default:
		smtp_reply_fail(s, SMTP_FAIL_AUTH_TEMP, auth_login_result_name(result));
		break;
	}
	smtp_session_continue(s);
}

static void smtp_auth_step(struct smtp_session *s, const char *response, size_t len)
{
	const char *challenge = NULL, *error = NULL;

	switch (sasl_step(s->sasl, response, len, &challenge, &error)) {
	case SASL_STATUS_CONTINUE:
		/* RFC 4954 4: "334 " and the base64 challenge; no enhanced code on 3xx. */
		smtp_reply(s, 334, NULL, "%s", challenge != NULL ? challenge : "");
		return;
	case SASL_STATUS_DONE:
		smtp_session_wait(s);
		auth_login_start(s->conn, s->ctx->dir, sasl_authcid(s->sasl), sasl_authzid(s->sasl),
				 sasl_password(s->sasl), smtp_auth_checked, s);
		sasl_free(&s->sasl);
		return;
	case SASL_STATUS_CANCELLED:
		sasl_free(&s->sasl);
		smtp_session_input_cap(s);
		/* RFC 4954 4: a cancelled exchange is answered 501. */
		smtp_reply(s, 501, "5.0.0", "Authentication cancelled");
		return;
	case SASL_STATUS_ERROR:
	default:
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"bad SASL response\" error=\"%s\"",
			 error != NULL ? error : "?");
		sasl_free(&s->sasl);
		smtp_session_input_cap(s);
		smtp_reply(s, 501, "5.5.2", "Invalid SASL response");
		return;
	}
}

void smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (s->ctx->service != SMTP_SERVICE_SUBMISSION) {
		smtp_reply(s, 503, "5.5.1", "Authentication not enabled: use the submission port");
		return;
	}
	if (!s->esmtp) {
		smtp_reply(s, 503, "5.5.1", "Send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		/* RFC 4954 4: no AUTH after a successful one. */
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (!smtp_auth_offered(s)) {
		smtp_reply_fail(s, SMTP_FAIL_AUTH_ENCRYPT, NULL);
		return;
	}
	s->sasl = sasl_begin(cmd->auth.mechanism);
	if (s->sasl == NULL) {
		smtp_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	smtp_auth_step(s, cmd->auth.response, cmd->auth.response_len);
}

void smtp_auth_response(struct smtp_session *s, const char *line, size_t len)
{
	snprintf(s->cmd_log, sizeof(s->cmd_log), "(AUTH response)");
	smtp_auth_step(s, line, len);
}

void smtp_auth_abort(struct smtp_session *s)
{
	sasl_free(&s->sasl);
	smtp_session_input_cap(s);
	smtp_reply(s, 500, "5.5.6", "Authentication Exchange line is too long");
}
