/* pop3-auth - the AUTHORIZATION state: CAPA, STLS (RFC 2595 4), USER/PASS
 * (RFC 1939 7), AUTH (RFC 5034); the credentials go to the shared login
 * driver (dir/auth-login.h), then a job locks the maildrop and takes the
 * INBOX snapshot. */
#include <stdlib.h>
#include <string.h>

#include "dir/sasl.h"
#include "pop3/pop3-session.h"

static bool pop3_plaintext_allowed(const struct pop3_session *s)
{
	return auth_plaintext_allowed(conn_is_tls(s->conn), conn_is_loopback(s->conn),
				      s->cfg->auth.allow_plaintext_loopback);
}

static char *pop3_strdup(const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		abort();
	return copy;
}

void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	bool authorization = s->state == POP3_STATE_AUTHORIZATION;

	(void)cmd;
	pop3_reply(s, POP3_REPLY_OK, "Capability list follows");
	/* RFC 2449 6: no LOGIN-DELAY, EXPIRE: nothing is enforced. */
	conn_printf(s->conn, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (authorization && pop3_plaintext_allowed(s))
		conn_printf(s->conn, "USER\r\nSASL %s\r\n", sasl_mechanisms());
	/* RFC 2595 4: only before TLS, and only in AUTHORIZATION. */
	if (authorization && !conn_is_tls(s->conn) && conn_tls_available(s->conn))
		conn_printf(s->conn, "STLS\r\n");
	conn_printf(s->conn, "IMPLEMENTATION tern\r\n.\r\n");
}

void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	if (conn_is_tls(s->conn)) {
		pop3_reply(s, POP3_REPLY_ERR, "Already using TLS");
		return;
	}
	if (!conn_tls_available(s->conn)) {
		pop3_reply(s, POP3_REPLY_ERR, "TLS not available");
		return;
	}
	pop3_reply(s, POP3_REPLY_OK, "Begin TLS negotiation");
	/* Nothing more is read until tls_ready; the core discards what the
	 * client pipelined after STLS (RFC 2595 3.1, DESIGN 7). */
	pop3_session_wait(s);
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "STLS failed to start");
}

void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!pop3_plaintext_allowed(s)) {
		pop3_reply_failure(s, POP3_FAIL_PLAINTEXT, "USER");
		return;
	}
	free(s->user);
	s->user = pop3_strdup(cmd->args[0]);
	pop3_reply(s, POP3_REPLY_OK, "Send your password");
}

void pop3_login_clear(struct pop3_login *login)
{
	free(login->address);
	memset(login, 0, sizeof(*login));
}

/* Job: blocking, on the thread pool, once the credentials are verified.
 * Writes only s->login and the fields the loop does not touch while the
 * job runs. */
static void pop3_login_work(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_login *login = &s->login;
	struct store_mailbox box;
	struct store_message *list = NULL;
	size_t i, n = 0;

	/* RFC 1939 8: one POP3 session per maildrop. */
	login->store = store_lock(login->address, "pop3", &s->lock);
	if (login->store == STORE_OK)
		login->store = store_account_get(s->ctx->store, login->address, &s->acct);
	if (login->store == STORE_OK)
		login->store = store_mailbox_get(s->acct, "INBOX", &box);
	if (login->store == STORE_OK) {
		s->inbox.id = box.id;
		s->inbox.uidvalidity = box.uidvalidity;
		store_mailbox_free(&box);
		login->store = store_message_list(s->acct, &s->inbox, &list, &n);
		/* the snapshot is taken: the session idles between commands */
		store_release_memory(s->acct);
	}
	if (login->store == STORE_OK) {
		s->msgs = n > 0 ? calloc(n, sizeof(*s->msgs)) : NULL;
		if (n > 0 && s->msgs == NULL)
			abort();
		for (i = 0; i < n; i++) {
			s->msgs[i].uid = list[i].uid;
			s->msgs[i].size = list[i].size;
		}
		s->n_msgs = n;
		store_messages_free(list, n);
		return;
	}
	login->store_failed = true;
	if (s->acct != NULL)
		store_account_put(&s->acct);
	if (s->lock != NULL)
		store_unlock(&s->lock);
}

static void pop3_login_done(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_login *login = &s->login;
	char user[256];

	if (conn_is_closing(s->conn))
		return;   /* pop3_session_free releases what the job took */
	log_escape(user, sizeof(user), login->address, 200);
	if (login->store_failed) {
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"login refused\" user=\"%s\" error=%s", user,
			 store_error_name(login->store));
		pop3_reply_failure(s, pop3_failure_from_store(login->store), "store_account_get");
		pop3_login_clear(login);
		pop3_session_continue(s);
		return;
	}
	s->address = login->address;
	login->address = NULL;
	s->state = POP3_STATE_TRANSACTION;
	conn_authenticated(s->conn);
	conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"login\" user=\"%s\" messages=%zu", user,
		 s->n_msgs);
	pop3_login_clear(login);
	pop3_reply(s, POP3_REPLY_OK, "Logged in.");
	pop3_session_continue(s);
}

/* The login driver's answer (auth-login.h), after every delay. */
static void pop3_login_checked(void *ctx, enum auth_login_result result, const char *address)
{
	struct pop3_session *s = ctx;
	unsigned limit = s->cfg->limits.auth_failures;

	switch (result) {
	case AUTH_LOGIN_OK:
		pop3_login_clear(&s->login);
		s->login.address = pop3_strdup(address);
		conn_job(s->conn, pop3_login_work, pop3_login_done, s);
		return;
	case AUTH_LOGIN_GONE:
		return;   /* the connection is closing: nothing to answer */
	case AUTH_LOGIN_FAILED:
		s->auth_failures++;
		pop3_reply_failure(s, pop3_failure_from_login(result), "login");
		if (limit != 0 && s->auth_failures >= limit) {
			conn_close(s->conn, "too many authentication failures");
			return;
		}
		pop3_session_continue(s);
		return;
	case AUTH_LOGIN_BUSY:
	case AUTH_LOGIN_TEMPFAIL:
	default:
		pop3_reply_failure(s, pop3_failure_from_login(result), auth_login_result_name(result));
		pop3_session_continue(s);
		return;
	}
}

static void pop3_login_start(struct pop3_session *s, const char *authcid, const char *authzid,
			     const char *password)
{
	pop3_session_wait(s);
	auth_login_start(s->conn, s->ctx->dir, authcid, authzid, password, pop3_login_checked, s);
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	char *user;

	if (!pop3_plaintext_allowed(s)) {
		pop3_reply_failure(s, POP3_FAIL_PLAINTEXT, "PASS");
		return;
	}
	if (s->user == NULL) {
		pop3_reply(s, POP3_REPLY_ERR, "No user name given: send USER first");
		return;
	}
	/* RFC 1939 7: the password is the rest of the line, spaces and all. */
	user = s->user;
	s->user = NULL;
	pop3_login_start(s, user, "", cmd->rest);
	free(user);
}

static void pop3_auth_step(struct pop3_session *s, const char *response, size_t len)
{
	const char *challenge = NULL, *error = NULL;
	enum sasl_status status;

	status = sasl_step(s->sasl, response, len, &challenge, &error);
	switch (status) {
	case SASL_STATUS_CONTINUE:
		/* RFC 5034 4: "+ " and the base64 challenge, "+ " alone when empty. */
		pop3_reply(s, POP3_REPLY_CONTINUE, "%s", challenge != NULL ? challenge : "");
		return;
	case SASL_STATUS_DONE:
		pop3_login_start(s, sasl_authcid(s->sasl), sasl_authzid(s->sasl),
				 sasl_password(s->sasl));
		sasl_free(&s->sasl);
		return;
	case SASL_STATUS_CANCELLED:
		sasl_free(&s->sasl);
		pop3_reply(s, POP3_REPLY_ERR, "Authentication cancelled");
		return;
	case SASL_STATUS_ERROR:
	default:
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"bad SASL response\" error=\"%s\"",
			 error != NULL ? error : "?");
		sasl_free(&s->sasl);
		pop3_reply(s, POP3_REPLY_ERR, "Invalid SASL response");
		return;
	}
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	const char *mechs = sasl_mechanisms();
	const char *p;

	if (cmd->argc == 0) {
		/* The pre-CAPA way of listing mechanisms (RFC 1734). */
		pop3_reply(s, POP3_REPLY_OK, "Supported mechanisms follow");
		if (pop3_plaintext_allowed(s) && *mechs != '\0') {
			for (p = mechs; *p != '\0'; p++)
				conn_write(s->conn, *p == ' ' ? "\r\n" : p, *p == ' ' ? 2 : 1);
			conn_write(s->conn, "\r\n", 2);
		}
		conn_write(s->conn, ".\r\n", 3);
		return;
	}
	if (!pop3_plaintext_allowed(s)) {
		pop3_reply_failure(s, POP3_FAIL_PLAINTEXT, "AUTH");
		return;
	}
	s->sasl = sasl_begin(cmd->args[0]);
	if (s->sasl == NULL) {
		pop3_reply(s, POP3_REPLY_ERR, "Unsupported authentication mechanism");
		return;
	}
	if (cmd->argc == 2)
		pop3_auth_step(s, cmd->args[1], strlen(cmd->args[1]));
	else
		pop3_auth_step(s, NULL, 0);
}

void pop3_auth_response(struct pop3_session *s, const char *line, size_t len)
{
	pop3_auth_step(s, line, len);
}

void pop3_auth_abort(struct pop3_session *s, const char *why)
{
	sasl_free(&s->sasl);
	pop3_reply(s, POP3_REPLY_ERR, "%s", why);
}
