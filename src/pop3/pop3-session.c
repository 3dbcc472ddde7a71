/* pop3-session - the POP3 state machine: command table and dispatch, the
 * one reply function, error mapping, session lifetime. */
#include "pop3/pop3-session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/sasl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* DESIGN 7: commands before authentication are bounded. A real client
 * needs a handful (CAPA, STLS, CAPA, AUTH or USER/PASS, retries). */
#define POP3_AUTH_COMMANDS_MAX 50

static const char *const pop3_state_names[] = {
	[POP3_STATE_AUTHORIZATION] = "AUTHORIZATION",
	[POP3_STATE_TRANSACTION] = "TRANSACTION",
	[POP3_STATE_UPDATE] = "UPDATE",
};
_Static_assert(ARRAY_SIZE(pop3_state_names) == POP3_STATE__COUNT, "pop3_state_names");

const char *pop3_state_name(enum pop3_state state)
{
	return (unsigned)state < POP3_STATE__COUNT ? pop3_state_names[state] : "?";
}

/* The command table (STYLE habit 1): adding a command is adding a row. */
#define POP3_IN_AUTH (1u << POP3_STATE_AUTHORIZATION)
#define POP3_IN_TRANS (1u << POP3_STATE_TRANSACTION)

enum pop3_cmd_flag {
	/* The last argument may exceed 40 octets: an address for USER, the
	 * initial response of AUTH (RFC 5034 4). */
	POP3_CMD_LONG_ARG = 1 << 0,
	/* One argument: the rest of the line, spaces included (PASS). */
	POP3_CMD_RAW_ARG = 1 << 1,
};

struct pop3_cmd_def {
	const char *name;
	unsigned states;
	unsigned min_args, max_args;
	unsigned flags;
	void (*exec)(struct pop3_session *s, const struct pop3_command *cmd);
};

static const struct pop3_cmd_def pop3_commands[] = {
	{ "CAPA", POP3_IN_AUTH | POP3_IN_TRANS, 0, 0, 0, pop3_cmd_capa },
	{ "STLS", POP3_IN_AUTH, 0, 0, 0, pop3_cmd_stls },
	{ "USER", POP3_IN_AUTH, 1, 1, POP3_CMD_LONG_ARG, pop3_cmd_user },
	{ "PASS", POP3_IN_AUTH, 1, 1, POP3_CMD_RAW_ARG, pop3_cmd_pass },
	{ "AUTH", POP3_IN_AUTH, 0, 2, POP3_CMD_LONG_ARG, pop3_cmd_auth },
	{ "QUIT", POP3_IN_AUTH | POP3_IN_TRANS, 0, 0, 0, pop3_cmd_quit },
	{ "STAT", POP3_IN_TRANS, 0, 0, 0, pop3_cmd_stat },
	{ "LIST", POP3_IN_TRANS, 0, 1, 0, pop3_cmd_list },
	{ "RETR", POP3_IN_TRANS, 1, 1, 0, pop3_cmd_retr },
	{ "TOP", POP3_IN_TRANS, 2, 2, 0, pop3_cmd_top },
	{ "UIDL", POP3_IN_TRANS, 0, 1, 0, pop3_cmd_uidl },
	{ "DELE", POP3_IN_TRANS, 1, 1, 0, pop3_cmd_dele },
	{ "RSET", POP3_IN_TRANS, 0, 0, 0, pop3_cmd_rset },
	{ "NOOP", POP3_IN_TRANS, 0, 0, 0, pop3_cmd_noop },
};

static const struct pop3_cmd_def *pop3_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pop3_commands); i++) {
		if (strcmp(pop3_commands[i].name, name) == 0)
			return &pop3_commands[i];
	}
	return NULL;
}

static const char *const pop3_reply_prefix[] = {
	[POP3_REPLY_OK] = "+OK",
	[POP3_REPLY_ERR] = "-ERR",
	[POP3_REPLY_BYE] = "-ERR",
	[POP3_REPLY_CONTINUE] = "+",
};
_Static_assert(ARRAY_SIZE(pop3_reply_prefix) == POP3_REPLY__COUNT, "pop3_reply_prefix");

void pop3_reply(struct pop3_session *s, enum pop3_reply_kind kind, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	unsigned limit = s->cfg->limits.errors_per_session;

	if (conn_is_closing(s->conn))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	conn_printf(s->conn, "%s %s\r\n", pop3_reply_prefix[kind], text);
	if (kind != POP3_REPLY_ERR)
		return;
	s->errors++;
	if (limit != 0 && s->errors >= limit) {
		conn_printf(s->conn, "-ERR Too many errors\r\n");
		conn_close(s->conn, "too many errors");
	}
}

/* STYLE habit 4: typed failures become response codes here, and only
 * here; the client never sees internal detail, the log does. */
static const char *const pop3_failure_texts[] = {
	[POP3_FAIL_AUTH] = "[AUTH] Authentication failed",
	[POP3_FAIL_PLAINTEXT] = "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections",
	[POP3_FAIL_IN_USE] = "[IN-USE] Mailbox is locked by another POP3 session",
	[POP3_FAIL_TEMP] = "[SYS/TEMP] Temporary server failure, try again later",
	[POP3_FAIL_PERM] = "[SYS/PERM] Internal server error",
};
_Static_assert(ARRAY_SIZE(pop3_failure_texts) == POP3_FAIL__COUNT, "pop3_failure_texts");

void pop3_reply_failure(struct pop3_session *s, enum pop3_failure failure, const char *what)
{
	if ((unsigned)failure >= POP3_FAIL__COUNT)
		failure = POP3_FAIL_TEMP;
	if (failure == POP3_FAIL_TEMP || failure == POP3_FAIL_PERM)
		conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"failure\" what=\"%s\" reply=\"%s\"",
			 what, pop3_failure_texts[failure]);
	pop3_reply(s, POP3_REPLY_ERR, "%s", pop3_failure_texts[failure]);
}

enum pop3_failure pop3_failure_from_store(enum store_error error)
{
	switch (error) {
	case STORE_ERR_LOCKED:
		return POP3_FAIL_IN_USE;
	case STORE_ERR_CORRUPT:
		return POP3_FAIL_PERM;
	default:
		return POP3_FAIL_TEMP;
	}
}

enum pop3_failure pop3_failure_from_login(enum auth_login_result result)
{
	return result == AUTH_LOGIN_FAILED ? POP3_FAIL_AUTH : POP3_FAIL_TEMP;
}

void pop3_session_wait(struct pop3_session *s)
{
	s->waiting = true;
	conn_pause_input(s->conn);
}

void pop3_session_continue(struct pop3_session *s)
{
	s->waiting = false;
	if (!conn_is_closing(s->conn))
		conn_resume_input(s->conn);
}

struct pop3_session *pop3_session_new(struct conn *conn)
{
	struct pop3_session *s = calloc(1, sizeof(*s));
	const char *host;

	if (s == NULL)
		return NULL;
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->ctx = conn_context(conn);
	s->state = POP3_STATE_AUTHORIZATION;
	host = s->ctx != NULL && s->ctx->hostname != NULL ? s->ctx->hostname :
	       s->cfg->server.hostname;
	/* RFC 1939 4: the greeting. No APOP, so no timestamp. */
	pop3_reply(s, POP3_REPLY_OK, "%s tern POP3 server ready", host != NULL ? host : "localhost");
	return s;
}

static void pop3_session_command(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command cmd;
	const struct pop3_cmd_def *def;
	enum pop3_parse_result r;
	const char *error;

	if (s->state == POP3_STATE_AUTHORIZATION &&
	    ++s->auth_commands > POP3_AUTH_COMMANDS_MAX) {
		pop3_reply(s, POP3_REPLY_BYE, "Too many commands before authentication");
		conn_close(s->conn, "too many commands before authentication");
		return;
	}
	r = pop3_parse_line(line, len, &cmd);
	if (r != POP3_PARSE_OK) {
		pop3_reply(s, POP3_REPLY_ERR, "%s", pop3_parse_result_text(r));
		return;
	}
	def = pop3_command_find(cmd.name);
	if (def == NULL) {
		pop3_reply(s, POP3_REPLY_ERR, "Unknown command");
		return;
	}
	if ((def->states & (1u << s->state)) == 0) {
		pop3_reply(s, POP3_REPLY_ERR, "%s not allowed in the %s state", def->name,
			   pop3_state_name(s->state));
		return;
	}
	if ((def->flags & POP3_CMD_RAW_ARG) != 0) {
		if (cmd.rest_len == 0) {
			pop3_reply(s, POP3_REPLY_ERR, "Missing argument");
			return;
		}
	} else if (!pop3_command_args_valid(&cmd, def->min_args, def->max_args,
					    (def->flags & POP3_CMD_LONG_ARG) != 0, &error)) {
		pop3_reply(s, POP3_REPLY_ERR, "%s", error);
		return;
	}
	def->exec(s, &cmd);
	/* The parsed copy may hold a password (PASS). */
	explicit_bzero(&cmd, sizeof(cmd));
}

void pop3_session_input(struct pop3_session *s)
{
	const char *line;
	size_t len;

	while (!s->waiting && !conn_is_closing(s->conn)) {
		enum conn_line r = conn_line(s->conn, &line, &len);

		if (r == CONN_LINE_NONE)
			break;
		if (r == CONN_LINE_TOO_LONG) {
			if (s->sasl != NULL)
				pop3_auth_abort(s, "Line too long");
			else
				pop3_reply(s, POP3_REPLY_ERR, "Line too long");
			continue;
		}
		if (s->sasl != NULL)
			pop3_auth_response(s, line, len);
		else
			pop3_session_command(s, line, len);
	}
}

void pop3_session_drained(struct pop3_session *s)
{
	pop3_producer_run(s);
}

void pop3_session_tls_ready(struct pop3_session *s)
{
	/* RFC 2595 4 / 3.1: forget what the client said before TLS. */
	free(s->user);
	s->user = NULL;
	sasl_free(&s->sasl);
	s->errors = 0;
	pop3_session_continue(s);
}

void pop3_session_timeout(struct pop3_session *s, enum conn_end why)
{
	/* RFC 1939 3: the autologout timer; no UPDATE state follows. Not in
	 * the middle of a multi-line response, where the line would read as
	 * part of the message. */
	if (s->producer.kind != POP3_PRODUCER_NONE)
		return;
	switch (why) {
	case CONN_END_SHUTDOWN:
		pop3_reply(s, POP3_REPLY_BYE, "[SYS/TEMP] Server shutting down, try again later.");
		break;
	case CONN_END_BUSY:
		pop3_reply(s, POP3_REPLY_BYE, "[SYS/TEMP] Server busy, try again later.");
		break;
	case CONN_END_LOGIN_TIMEOUT:
		pop3_reply(s, POP3_REPLY_BYE, "Disconnected: no login in time.");
		break;
	case CONN_END_SLOW_INPUT:
		pop3_reply(s, POP3_REPLY_BYE, "Disconnected: input too slow.");
		break;
	case CONN_END_IDLE:
	default:
		pop3_reply(s, POP3_REPLY_BYE, "Disconnected for inactivity.");
		break;
	}
}

/* What a session holds that is blocking to let go of: closing the index
 * database may checkpoint and fsync, so it happens on the thread pool;
 * the maildrop lock is released after it. */
struct pop3_release {
	struct store_account *acct;
	struct store_lock *lock;
};

static void pop3_release_work(void *arg)
{
	struct pop3_release *r = arg;

	store_account_put(&r->acct);
	store_unlock(&r->lock);
	free(r);
}

void pop3_session_free(struct pop3_session *s)
{
	if (s->address != NULL) {
		char user[256];
		conn_log(s->conn, LOG_LEVEL_INFO,
			 "msg=\"logout\" user=\"%s\" retr=%u top=%u dele=%u",
			 log_escape(user, sizeof(user), s->address, 200),
			 s->retr_count, s->top_count, s->dele_count);
	}
	pop3_producer_free(s);
	pop3_login_clear(&s->login);
	sasl_free(&s->sasl);
	free(s->user);
	/* RFC 1939 6: a connection that ends without QUIT deletes nothing. */
	if (s->acct != NULL || s->lock != NULL) {
		struct pop3_release *r = calloc(1, sizeof(*r));

		if (r == NULL)
			abort();
		r->acct = s->acct;
		r->lock = s->lock;
		s->acct = NULL;
		s->lock = NULL;
		conn_job_after_close(s->conn, pop3_release_work, r);
	}
	free(s->address);
	free(s->msgs);
	free(s->expunge_uids);
	free(s);
}
