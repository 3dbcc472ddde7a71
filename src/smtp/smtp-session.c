/* smtp-session - the SMTP state machine: the greeting (with port 25's
 * pregreet test), the command table and its sequencing, where input goes
 * (commands, AUTH responses, DATA, BDAT chunks), the bounds of a session,
 * its limits per state, and its lifetime. */
#include "smtp/smtp-session.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cidr.h"
#include "dir/auth.h"
#include "dir/sasl.h"
#include "smtp/smtp-pregreet.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const smtp_state_names[] = {
	[SMTP_STATE_GREETING] = "greeting",
	[SMTP_STATE_START] = "start",
	[SMTP_STATE_READY] = "ready",
	[SMTP_STATE_MAIL] = "mail",
	[SMTP_STATE_RCPT] = "rcpt",
	[SMTP_STATE_DATA] = "data",
	[SMTP_STATE_BDAT] = "bdat",
};
_Static_assert(ARRAY_SIZE(smtp_state_names) == SMTP_STATE__COUNT, "smtp_state_names");

const char *smtp_state_name(enum smtp_state state)
{
	return (unsigned)state < SMTP_STATE__COUNT ? smtp_state_names[state] : "?";
}

/* ---- the command table (STYLE habit 1) ---- */

#define SMTP_IN(state) (1u << SMTP_STATE_##state)
#define SMTP_IN_ANY                                                                  \
	(SMTP_IN(START) | SMTP_IN(READY) | SMTP_IN(MAIL) | SMTP_IN(RCPT) | SMTP_IN(BDAT))

enum smtp_cmd_flag {
	/* Counted towards SMTP_JUNK_COMMANDS_MAX. */
	SMTP_CMD_JUNK = 1 << 0,
};

typedef void smtp_cmd_fn(struct smtp_session *s, const struct smtp_command *cmd);

/* Each verb: the states it is allowed in, and the 503 text for a state
 * before them (`early`) or after them (`late`); the states go START,
 * READY, MAIL, RCPT, BDAT. */
static const struct smtp_cmd_def {
	unsigned states;
	unsigned flags;
	smtp_cmd_fn *exec;
	const char *early;
	const char *late;
} smtp_commands[] = {
	[SMTP_VERB_UNKNOWN] = { 0, 0, NULL, NULL, NULL },
	[SMTP_VERB_EHLO] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_ehlo, NULL, NULL },
	[SMTP_VERB_HELO] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_helo, NULL, NULL },
	[SMTP_VERB_MAIL] = { SMTP_IN(READY), 0, smtp_cmd_mail, "Send EHLO or HELO first",
			     "Nested MAIL command: send RSET first" },
	[SMTP_VERB_RCPT] = { SMTP_IN(MAIL) | SMTP_IN(RCPT), 0, smtp_cmd_rcpt,
			     "Need MAIL before RCPT", "RCPT after BDAT: send RSET first" },
	[SMTP_VERB_DATA] = { SMTP_IN(MAIL) | SMTP_IN(RCPT) | SMTP_IN(BDAT), 0, smtp_cmd_data,
			     "Need MAIL and RCPT before DATA", NULL },
	[SMTP_VERB_BDAT] = { SMTP_IN(MAIL) | SMTP_IN(RCPT) | SMTP_IN(BDAT), 0, smtp_cmd_bdat,
			     "Need MAIL and RCPT before BDAT", NULL },
	[SMTP_VERB_RSET] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_rset, NULL, NULL },
	[SMTP_VERB_NOOP] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_noop, NULL, NULL },
	[SMTP_VERB_QUIT] = { SMTP_IN_ANY, 0, smtp_cmd_quit, NULL, NULL },
	[SMTP_VERB_VRFY] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_vrfy, NULL, NULL },
	[SMTP_VERB_EXPN] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_expn, NULL, NULL },
	[SMTP_VERB_HELP] = { SMTP_IN_ANY, SMTP_CMD_JUNK, smtp_cmd_help, NULL, NULL },
	[SMTP_VERB_STARTTLS] = { SMTP_IN(START) | SMTP_IN(READY), 0, smtp_cmd_starttls, NULL,
				 "STARTTLS inside a mail transaction: send RSET first" },
	[SMTP_VERB_AUTH] = { SMTP_IN(READY), 0, smtp_cmd_auth, "Send EHLO first",
			     "AUTH inside a mail transaction: send RSET first" },
};
_Static_assert(ARRAY_SIZE(smtp_commands) == SMTP_VERB__COUNT, "smtp_commands");

/* ---- small things the command files share ---- */

const char *smtp_session_hostname(const struct smtp_session *s)
{
	if (s->ctx->hostname != NULL)
		return s->ctx->hostname;
	return s->cfg->server.hostname != NULL ? s->cfg->server.hostname : "localhost";
}

bool smtp_session_may_relay(const struct smtp_session *s)
{
	return smtp_relay_allowed(s->ctx->service, s->auth_user != NULL, s->trusted);
}

void smtp_session_wait(struct smtp_session *s)
{
	s->waiting = true;
	conn_pause_input(s->conn);
}

void smtp_session_continue(struct smtp_session *s)
{
	s->waiting = false;
	if (!conn_is_closing(s->conn))
		conn_resume_input(s->conn);
}

void smtp_session_input_cap(struct smtp_session *s)
{
	const struct config *cfg = s->cfg;
	bool block = s->state == SMTP_STATE_DATA || s->chunk.active;
	size_t cap = cfg->smtp.conn.line_length;

	if (block)
		cap = SMTP_DATA_INPUT_MAX;
	else if (s->sasl != NULL || smtp_auth_offered(s))
		cap = SMTP_AUTH_LINE_MAX;
	conn_set_input_max(s->conn, cap);
	/* RFC 5321 4.5.3.2: a timeout per command, and one per data block. */
	conn_set_idle_timeout(s->conn, block ? cfg->smtp.data_timeout : cfg->smtp.conn.idle_timeout);
	conn_input_unfinished(s->conn, block);
}

void smtp_session_set_state(struct smtp_session *s, enum smtp_state state)
{
	s->state = state;
	smtp_session_input_cap(s);
}

/* ---- the greeting and the pregreet test (smtp-pregreet.h) ---- */

static void smtp_greet(struct smtp_session *s)
{
	/* RFC 5321 4.2: the greeting carries no enhanced code (RFC 2034 3). */
	conn_printf(s->conn, "220 %s ESMTP tern\r\n", smtp_session_hostname(s));
	smtp_session_set_state(s, SMTP_STATE_START);
}

/* The client talked before the greeting ended. */
static void smtp_pregreet_refuse(struct smtp_session *s)
{
	struct buf *in = conn_input(s->conn);
	char seen[64];

	log_escape(seen, sizeof(seen), in->data, in->len < 32 ? in->len : 32);
	conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"pregreet\" text=\"%s\" octets=%zu", seen, in->len);
	buf_reset(in);
	conn_timer(s->conn, 0, NULL);
	smtp_reply_uncounted(s, 554, "5.5.1", "%s Protocol error: talking before the greeting",
			     smtp_session_hostname(s));
	conn_close(s->conn, "pregreet");
}

static void smtp_pregreet_timer(void *session)
{
	struct smtp_session *s = session;

	if (s->state != SMTP_STATE_GREETING || conn_is_closing(s->conn))
		return;
	if (conn_input(s->conn)->len > 0) {
		smtp_pregreet_refuse(s);
		return;
	}
	if (s->ctx->pregreet != NULL)
		smtp_pregreet_remember(s->ctx->pregreet, conn_remote_ip(s->conn), time(NULL));
	smtp_greet(s);
}

static bool smtp_pregreet_due(const struct smtp_session *s)
{
	const char *ip = conn_remote_ip(s->conn);

	if (s->ctx->service != SMTP_SERVICE_MX || s->cfg->smtp.pregreet_delay == 0 || s->trusted)
		return false;
	return s->ctx->pregreet == NULL || !smtp_pregreet_passed(s->ctx->pregreet, ip, time(NULL));
}

/* ---- lifetime ---- */

/* The sendmail socket's peer: its uid as the kernel recorded it, and the
 * user name for Received, kept only when it is a plain word (letters,
 * digits, ". _ - $"), so that no name can bend the header. Reads the
 * password database on the loop: a local (files) lookup is cheap. False
 * without credentials (the listener lets none in). */
static bool smtp_session_local(struct smtp_session *s)
{
	struct passwd pw, *found = NULL;
	char pwbuf[1024];
	uid_t uid;
	gid_t gid;
	pid_t pid;
	size_t len;

	if (!conn_peer_cred(s->conn, &uid, &gid, &pid))
		return false;
	s->local_uid = (unsigned long)uid;
	snprintf(s->local_user, sizeof(s->local_user), "unknown");
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &found) != 0 || found == NULL)
		return true;
	len = strlen(pw.pw_name);
	if (len == 0 || len > SMTP_LOCAL_USER_MAX ||
	    strspn(pw.pw_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$") !=
		    len)
		return true;
	memcpy(s->local_user, pw.pw_name, len + 1);
	return true;
}

struct smtp_session *smtp_session_new(struct conn *conn)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->ctx = conn_context(conn);
	s->trusted = cidr_list_match(s->ctx->trusted, conn_remote_ip(conn));
	snprintf(s->cmd_log, sizeof(s->cmd_log), "connect");
	if (s->ctx->service == SMTP_SERVICE_LOCAL && !smtp_session_local(s)) {
		free(s);
		return NULL;
	}
	if (smtp_pregreet_due(s)) {
		/* Postfix postscreen: the first line now, the last one later. */
		s->state = SMTP_STATE_GREETING;
		conn_printf(conn, "220-%s ESMTP tern\r\n", smtp_session_hostname(s));
		conn_timer(conn, (uint64_t)s->cfg->smtp.pregreet_delay * 1000, smtp_pregreet_timer);
		smtp_session_input_cap(s);
		return s;
	}
	smtp_greet(s);
	return s;
}

/* Remember the command for the log lines of its replies; never an AUTH
 * initial response, and of a line no command was recognised in (it may
 * be a SASL response sent out of turn) only its length. */
static void smtp_session_note(struct smtp_session *s, const char *line, size_t len,
			      enum smtp_parse_result result, const struct smtp_command *cmd)
{
	s->verb = cmd->verb;
	if (cmd->verb == SMTP_VERB_AUTH)
		snprintf(s->cmd_log, sizeof(s->cmd_log), "AUTH %s",
			 result == SMTP_PARSE_OK ? cmd->auth.mechanism : "");
	else if (cmd->verb == SMTP_VERB_UNKNOWN)
		snprintf(s->cmd_log, sizeof(s->cmd_log), "(unknown, %zu octets)", len);
	else
		log_escape(s->cmd_log, sizeof(s->cmd_log), line, len < 100 ? len : 100);
}

/* A command that does nothing: a junk verb, or an empty BDAT chunk that
 * is not the last (it adds nothing, and could be sent for ever). */
static bool smtp_session_junk(const struct smtp_cmd_def *def, enum smtp_parse_result result,
			      const struct smtp_command *cmd)
{
	if ((def->flags & SMTP_CMD_JUNK) != 0)
		return true;
	return cmd->verb == SMTP_VERB_BDAT && result == SMTP_PARSE_OK && cmd->bdat.size == 0 &&
	       !cmd->bdat.last;
}

/* DESIGN 7: the bounds of a session, checked before each command.
 * Returns false after the 421. */
static bool smtp_session_bounds(struct smtp_session *s, const struct smtp_cmd_def *def,
				enum smtp_parse_result result, const struct smtp_command *cmd)
{
	if (!s->mailed && ++s->commands > SMTP_COMMANDS_BEFORE_MAIL_MAX) {
		smtp_reply_bye(s, "4.7.0", "Too many commands before MAIL");
		conn_close(s->conn, "too many commands before MAIL");
		return false;
	}
	if (smtp_session_junk(def, result, cmd) && ++s->junk > SMTP_JUNK_COMMANDS_MAX) {
		smtp_reply_bye(s, "4.7.0", "Too many commands that do nothing");
		conn_close(s->conn, "too many junk commands");
		return false;
	}
	return true;
}

static void smtp_session_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_options opts = { .extensions = s->extensions, .utf8 = s->txn.smtputf8 };
	const struct smtp_cmd_def *def;
	enum smtp_parse_result result;
	struct smtp_command cmd;

	result = smtp_command_parse(line, len, &opts, &cmd);
	smtp_session_note(s, line, len, result, &cmd);
	def = &smtp_commands[cmd.verb];
	if (!smtp_session_bounds(s, def, result, &cmd))
		goto out;
	if (cmd.verb == SMTP_VERB_UNKNOWN) {
		smtp_reply_status(s, smtp_parse_result_status(result), cmd.detail);
		goto out;
	}
	if ((def->states & (1u << s->state)) == 0) {
		bool early = (def->states & ((1u << s->state) - 1)) == 0;
		const char *text = early ? def->early : def->late;

		if (text == NULL)
			text = "Bad sequence of commands";
		/* RFC 3030 2: a BDAT's chunk is read even when refused. */
		if (cmd.verb == SMTP_VERB_BDAT && result == SMTP_PARSE_OK)
			smtp_bdat_refuse(s, &cmd, text);
		else
			smtp_reply(s, 503, "5.5.1", "%s", text);
		goto out;
	}
	if (result != SMTP_PARSE_OK) {
		smtp_reply_status(s, smtp_parse_result_status(result), cmd.detail);
		goto out;
	}
	def->exec(s, &cmd);
out:
	/* The parsed copy may hold an AUTH initial response. */
	explicit_bzero(&cmd, sizeof(cmd));
}

static void smtp_tarpit_done(void *arg)
{
	smtp_session_continue(arg);
}

void smtp_session_input(struct smtp_session *s)
{
	const char *line;
	size_t len;

	while (!s->waiting && !conn_is_closing(s->conn)) {
		enum conn_line r;

		if (s->state == SMTP_STATE_GREETING) {
			smtp_pregreet_refuse(s);
			return;
		}
		if (s->state == SMTP_STATE_DATA) {
			if (!smtp_receive_data(s))
				return;
			continue;
		}
		if (s->chunk.active) {
			if (!smtp_receive_chunk(s))
				return;
			continue;
		}
		if (s->tarpit) {
			s->tarpit = false;
			smtp_session_wait(s);
			conn_job_wait(s->conn, SMTP_TARPIT_MS, smtp_tarpit_done, s);
			return;
		}
		r = conn_line(s->conn, &line, &len);
		if (r == CONN_LINE_NONE)
			return;
		if (r == CONN_LINE_TOO_LONG) {
			s->verb = SMTP_VERB_UNKNOWN;
			snprintf(s->cmd_log, sizeof(s->cmd_log), "(too long)");
			if (s->sasl != NULL)
				smtp_auth_abort(s);
			else
				smtp_reply_status(s, smtp_parse_result_status(SMTP_PARSE_TOO_LONG), NULL);
			continue;
		}
		if (s->sasl != NULL)
			smtp_auth_response(s, line, len);
		else
			smtp_session_command(s, line, len);
	}
}

void smtp_session_tls_ready(struct smtp_session *s)
{
	/* RFC 3207 4.2: forget everything learned before TLS; the client
	 * starts again with EHLO. STARTTLS is refused inside a transaction,
	 * so there is no message to give up. */
	s->esmtp = false;
	s->helo[0] = '\0';
	s->extensions = 0;
	sasl_free(&s->sasl);
	smtp_txn_reset(s, NULL);
	smtp_session_set_state(s, SMTP_STATE_START);
	smtp_session_continue(s);
}

void smtp_session_timeout(struct smtp_session *s, enum conn_end why)
{
	s->verb = SMTP_VERB_UNKNOWN;
	switch (why) {
	case CONN_END_SHUTDOWN:
		smtp_reply_bye(s, "4.3.2", "Service shutting down, try again later");
		break;
	case CONN_END_BUSY:
		smtp_reply_bye(s, "4.3.2", "Server busy, try again later");
		break;
	case CONN_END_LOGIN_TIMEOUT:
		smtp_reply_bye(s, "4.7.0", "No authentication in time");
		break;
	case CONN_END_SLOW_INPUT:
		smtp_reply_bye(s, "4.4.2", "Input too slow");
		break;
	case CONN_END_IDLE:
	default:
		smtp_reply_bye(s, "4.4.2", "Timeout exceeded");
		break;
	}
}

void smtp_session_free(struct smtp_session *s)
{
	if (s->auth_user != NULL) {
		char user[256];

		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"logout\" user=\"%s\" messages=%u",
			 log_escape(user, sizeof(user), s->auth_user, 200), s->messages);
	}
	smtp_txn_free(s);
	sasl_free(&s->sasl);
	free(s->auth_user);
	free(s);
}
