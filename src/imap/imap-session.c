/* imap-session - one IMAP session: the input loop that feeds the parser
 * one command at a time, dispatch through the command table, the tagged
 * reply (imap_cmd_done) with the error limit, jobs, timeouts and the
 * session's lifetime. */
#include "imap/imap-session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-selected.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* DESIGN 7: commands before authentication are bounded. A real client
 * needs a handful (CAPABILITY, STARTTLS, CAPABILITY, ID, LOGIN, retries). */
#define IMAP_AUTH_COMMANDS_MAX 50

/* Parser bounds besides [imap] line_length: a literal held in memory
 * (a password, a search string, a mailbox name), all of a command's,
 * list nesting (SEARCH's parenthesised keys), arguments. */
#define IMAP_LITERAL_MAX (64u * 1024)
#define IMAP_LITERALS_MAX (256u * 1024)
#define IMAP_DEPTH_MAX 32
#define IMAP_ARGS_MAX 8192

/* An idle session pins no account handle (issue 8): the handle is given
 * back [imap] release_after seconds (30) after the last command ended,
 * and taken again in a job before the next command runs. Inside IDLE
 * each sync job takes it and gives it back itself (imap-sync.c), since
 * IDLE is how most clients sit idle. Not shorter: a client that polls
 * with NOOP instead would make its account close and open again at
 * every poll, an open costing an fsync and a close two (the clean
 * marker); [server] account_linger then keeps a handle nobody holds open
 * a few seconds more. Taking it again asks for the incarnation the login
 * opened (store_account_get_again): an account deleted meanwhile ends
 * the session (imap_session_account_gone). */

static const char *const imap_state_names[] = {
	[IMAP_STATE_NOT_AUTHENTICATED] = "not authenticated",
	[IMAP_STATE_AUTHENTICATED] = "authenticated",
	[IMAP_STATE_SELECTED] = "selected",
	[IMAP_STATE_LOGOUT] = "logout",
};
_Static_assert(ARRAY_SIZE(imap_state_names) == IMAP_STATE__COUNT, "imap_state_names");

const char *imap_state_name(enum imap_state state)
{
	return (unsigned)state < IMAP_STATE__COUNT ? imap_state_names[state] : "?";
}

/* What imap_cmd_done keeps of the reply while the owed updates are sent. */
struct imap_cmd_full {
	struct imap_cmd cmd;
	enum imap_status status;
	char *code;
	/* Made by imap_cmd_done only: a command that runs for long (IDLE
	 * for days) carries no reply buffer meanwhile. */
	char *text;
	/* While the account handle is taken again before the command runs. */
	bool stream;
	enum store_error acquired;
};

static const char *const imap_status_names[] = {
	[IMAP_OK] = "OK",
	[IMAP_NO] = "NO",
	[IMAP_BAD] = "BAD",
};

/* Every tagged (or, without a tag, untagged) status line goes through
 * here: BAD, and before login NO, count towards [limits]
 * errors_per_session, and at the limit the session ends with "* BYE".
 * A logged-in client's NO is no protocol error (a full disk, a folder
 * another client deleted): a session that lasts for days meets many. */
static void imap_session_status(struct imap_session *s, const char *tag, enum imap_status status,
				const char *code, const char *text)
{
	unsigned limit = s->cfg->limits.errors_per_session;

	if (conn_is_closing(s->conn))
		return;
	conn_printf(s->conn, "%s %s %s%s%s%s\r\n", tag != NULL ? tag : "*", imap_status_names[status],
		    code != NULL ? "[" : "", code != NULL ? code : "", code != NULL ? "] " : "", text);
	if (status == IMAP_OK || (status == IMAP_NO && s->state != IMAP_STATE_NOT_AUTHENTICATED))
		return;
	s->errors++;
	if (limit != 0 && s->errors >= limit) {
		conn_printf(s->conn, "* BYE Too many errors\r\n");
		s->waiting = true;
		conn_close(s->conn, "too many errors");
	}
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	struct buf line;

	if (conn_is_closing(s->conn))
		return;
	buf_init(&line, 0);
	buf_append(&line, "* ", 2);
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.data, line.len);
	buf_release(&line);
}

void imap_continue(struct imap_session *s, const char *text)
{
	conn_printf(s->conn, "+ %s\r\n", text != NULL ? text : "");
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

static void imap_session_release_due(void *session);

/* The text of a tagged reply (at most 511 bytes), malloc'd. */
__attribute__((format(printf, 1, 0)))
static char *imap_reply_text(const char *fmt, va_list ap)
{
	char line[512];
	char *text;

	vsnprintf(line, sizeof(line), fmt, ap);
	text = strdup(line);
	if (text == NULL)
		abort();
	return text;
}

static void imap_cmd_free(struct imap_session *s)
{
	struct imap_cmd_full *full = (struct imap_cmd_full *)s->cmd;

	if (full == NULL)
		return;
	if (full->cmd.free_ctx != NULL)
		full->cmd.free_ctx(&full->cmd);
	free(full->code);
	free(full->text);
	free(full);
	s->cmd = NULL;
}

/* After the owed updates: the tagged reply, and on to the next command. */
/* RFC 7162 3.2: a reply that held expunges back (FETCH, STORE, SEARCH)
 * may carry FETCHes with MODSEQs above theirs, and a client that keeps
 * the highest and loses the connection before their VANISHED would never
 * learn of them: it is told a HIGHESTMODSEQ below them, in the tagged
 * OK when that has no code (as Dovecot does), else in an untagged OK. */
static void imap_cmd_modseq_floor(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_cmd_full *full = (struct imap_cmd_full *)cmd;
	struct imap_selected *sel = s->selected;
	char code[48];

	if (!s->condstore || sel == NULL || s->state != IMAP_STATE_SELECTED || sel->n_pending == 0 ||
	    conn_is_closing(s->conn))
		return;
	snprintf(code, sizeof(code), "HIGHESTMODSEQ %llu",
		 (unsigned long long)imap_selected_modseq(sel));
	if (full->status != IMAP_OK || full->code != NULL) {
		imap_untagged(s, "OK [%s] Highest", code);
		return;
	}
	full->code = strdup(code);
	if (full->code == NULL)
		abort();
}

static void imap_cmd_finish(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_cmd_full *full = (struct imap_cmd_full *)cmd;

	imap_cmd_modseq_floor(cmd);
	imap_session_status(s, cmd->tag, full->status, full->code, full->text);
	if (s->arriving)
		conn_set_input_max(s->conn, s->cfg->imap.conn.line_length);
	/* No more of the command is read (a streaming one refused before
	 * its synchronizing literal was sent: the rest never comes), and an
	 * idle parser holds no memory. */
	s->streaming = false;
	s->arriving = false;
	s->partial = false;
	s->skipping_line = false;
	imap_cmd_free(s);
	imap_parser_reset(s->parser);
	if (s->acct != NULL && !conn_is_closing(s->conn))
		conn_timer(s->conn, (uint64_t)s->cfg->imap.release_after * 1000,
			   imap_session_release_due);
	if (!conn_is_closing(s->conn) && !s->waiting && !s->in_input)
		conn_resume_input(s->conn);
}

void imap_cmd_done(struct imap_cmd *cmd, enum imap_status status, const char *code,
		   const char *fmt, ...)
{
	struct imap_cmd_full *full = (struct imap_cmd_full *)cmd;
	va_list ap;

	full->status = status;
	free(full->code);
	full->code = NULL;
	if (code != NULL) {
		full->code = strdup(code);
		if (full->code == NULL)
			abort();
	}
	free(full->text);
	va_start(ap, fmt);
	full->text = imap_reply_text(fmt, ap);
	va_end(ap);
	cmd->drained = NULL;
	cmd->line = NULL;
	if (cmd->s->selected != NULL && cmd->s->state != IMAP_STATE_LOGOUT &&
	    !conn_is_closing(cmd->s->conn)) {
		/* RFC 9051 7.5.1: not during FETCH, STORE, SEARCH; their UID
		 * forms allow EXPUNGE, unless they name message numbers. */
		imap_sync(cmd, ((cmd->def->flags & IMAP_CMD_NO_EXPUNGE) != 0 && !cmd->uid) ||
			  cmd->no_expunge, imap_cmd_finish);
		return;
	}
	imap_cmd_finish(cmd);
}

void imap_cmd_lines(struct imap_cmd *cmd,
		    void (*line)(struct imap_cmd *cmd, const char *line, size_t len))
{
	cmd->line = line;
	if (!conn_is_closing(cmd->s->conn) && !cmd->s->in_input)
		conn_resume_input(cmd->s->conn);
}

void imap_cmd_stream_end(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	s->streaming = false;
	conn_input_unfinished(s->conn, false);
	imap_parser_stream_done(s->parser);
	if (!conn_is_closing(s->conn) && !s->in_input)
		conn_resume_input(s->conn);
}

/* The one mapping of store errors to response codes (RFC 9051 7.1,
 * RFC 5530); the client never sees the store's detail, the log does. */
void imap_cmd_fail(struct imap_cmd *cmd, enum store_error error, bool dest, const char *what)
{
	const char *code, *text;

	switch (error) {
	case STORE_OK:
		code = "SERVERBUG";
		text = "Internal error";
		break;
	case STORE_ERR_NOT_FOUND:
		/* RFC 9051 7.1: TRYCREATE when the destination of APPEND,
		 * COPY or MOVE is missing, NONEXISTENT otherwise. */
		code = dest ? "TRYCREATE" : "NONEXISTENT";
		text = "Mailbox does not exist";
		break;
	case STORE_ERR_EXISTS:
		code = "ALREADYEXISTS";
		text = "Mailbox already exists";
		break;
	case STORE_ERR_INVALID:
		code = "CANNOT";
		text = "Not possible with that name or argument";
		break;
	case STORE_ERR_TOO_BIG:
		code = "TOOBIG";
		text = "Message too large";
		break;
	case STORE_ERR_LOCKED:
		code = "INUSE";
		text = "Mailbox in use, try again later";
		break;
	case STORE_ERR_NO_SPACE:
		code = "OVERQUOTA";
		text = "Out of space";
		break;
	case STORE_ERR_CORRUPT:
		code = "SERVERBUG";
		text = "Internal error";
		break;
	case STORE_ERR_GONE:
		code = "NONEXISTENT";
		text = "Mailbox was deleted or renamed";
		break;
	case STORE_ERR_HAS_CHILDREN:
		code = "HASCHILDREN";
		text = "Mailbox has children";
		break;
	case STORE_ERR_IO:
	default:
		code = "UNAVAILABLE";
		text = "Temporary failure, try again later";
		break;
	}
	if (error == STORE_ERR_IO || error == STORE_ERR_CORRUPT || error == STORE_OK)
		conn_log(cmd->s->conn, LOG_LEVEL_WARN, "msg=\"store failure\" what=\"%s\" error=%s",
			 what, store_error_name(error));
	imap_cmd_done(cmd, IMAP_NO, code, "%s", text);
}

struct imap_job {
	struct imap_cmd *cmd;
	void (*work)(struct imap_cmd *cmd);
	void (*done)(struct imap_cmd *cmd);
};

static void imap_job_work(void *arg)
{
	struct imap_job *job = arg;

	job->work(job->cmd);
}

static void imap_job_done(void *arg)
{
	struct imap_job *job = arg;
	struct imap_cmd *cmd = job->cmd;
	void (*done)(struct imap_cmd *cmd) = job->done;

	free(job);
	done(cmd);
}

void imap_cmd_job(struct imap_cmd *cmd, void (*work)(struct imap_cmd *cmd),
		  void (*done)(struct imap_cmd *cmd))
{
	struct imap_job *job = malloc(sizeof(*job));

	if (job == NULL)
		abort();
	job->cmd = cmd;
	job->work = work;
	job->done = done;
	conn_job(cmd->s->conn, imap_job_work, imap_job_done, job);
}

/* The parser asks, once a command's name is read, whether the command
 * streams its literals: only where it may run now. */
static uint64_t imap_session_stream_max(void *ctx, const char *name)
{
	struct imap_session *s = ctx;
	const struct imap_command *def = imap_command_find(name, false);

	if (def == NULL || def->stream_max == NULL || (def->states & IMAP_IN(s->state)) == 0)
		return 0;
	return def->stream_max(s);
}

struct imap_session *imap_session_new(struct conn *conn)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	struct imap_parser_limits limits;
	const char *host;

	if (s == NULL)
		return NULL;
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->ctx = conn_context(conn);
	s->state = IMAP_STATE_NOT_AUTHENTICATED;
	limits = (struct imap_parser_limits){
		.max_line = s->cfg->imap.conn.line_length,
		.max_literal = IMAP_LITERAL_MAX,
		.max_literals = IMAP_LITERALS_MAX,
		.max_depth = IMAP_DEPTH_MAX,
		.max_args = IMAP_ARGS_MAX,
	};
	s->parser = imap_parser_new(&limits);
	if (s->parser == NULL) {
		free(s);
		return NULL;
	}
	imap_parser_set_stream(s->parser, imap_session_stream_max, s);
	host = s->ctx != NULL && s->ctx->hostname != NULL ? s->ctx->hostname :
	       s->cfg->server.hostname;
	/* RFC 9051 7.1.1: the greeting carries the capabilities, so that a
	 * client need not ask. That counts as asked: mbsync takes them from
	 * here and never asks again, so only the login's OK tells it of
	 * UIDPLUS and MOVE (Dovecot sends them there too). */
	imap_untagged(s, "OK [CAPABILITY %s] %s tern IMAP server ready", imap_capabilities(s),
		      host != NULL ? host : "localhost");
	s->capability_asked = true;
	return s;
}

/* Run a dispatched command (or start streaming its literal). */
static void imap_session_run(struct imap_session *s, struct imap_cmd *cmd, bool stream)
{
	s->arriving = stream;
	if (stream) {
		s->streaming = true;
		conn_input_unfinished(s->conn, true);
		cmd->def->stream(cmd);
	} else {
		cmd->def->run(cmd);
	}
	/* A command that goes on later reads nothing meanwhile, unless it
	 * reads lines or a literal of its own. */
	if (s->cmd == cmd && cmd->line == NULL && !s->arriving)
		conn_pause_input(s->conn);
	else if (s->cmd == cmd && !s->in_input && !conn_is_closing(s->conn))
		conn_resume_input(s->conn);
}

/* Job: the account's handle again, for a session that gave it back. */
static void imap_acquire_work(struct imap_cmd *cmd)
{
	struct imap_cmd_full *full = (struct imap_cmd_full *)cmd;

	full->acquired = store_account_get_again(cmd->s->ctx->store, cmd->s->address,
						 cmd->s->account_id, &cmd->s->acct);
}

void imap_session_account_gone(struct imap_session *s)
{
	char user[256];

	if (conn_is_closing(s->conn))
		return;
	log_escape(user, sizeof(user), s->address, 200);
	conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"account gone\" user=\"%s\"", user);
	imap_untagged(s, "BYE Account was removed, have to disconnect");
	imap_selected_free(&s->selected);
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn, "account removed");
}

static void imap_acquire_done(struct imap_cmd *cmd)
{
	struct imap_cmd_full *full = (struct imap_cmd_full *)cmd;

	if (full->acquired == STORE_ERR_GONE) {
		imap_session_account_gone(cmd->s);
		return;
	}
	if (full->acquired != STORE_OK) {
		imap_cmd_fail(cmd, full->acquired, false, "store_account_get_again");
		return;
	}
	imap_session_run(cmd->s, cmd, full->stream);
}

static void imap_release_work(void *arg)
{
	struct store_account *acct = arg;

	store_account_put(&acct);
}

static void imap_release_done(void *arg)
{
	(void)arg;
}

void imap_session_release(struct imap_session *s)
{
	struct store_account *acct = s->acct;

	if (acct == NULL || conn_job_running(s->conn) || conn_is_closing(s->conn))
		return;
	/* Detached now: a command that comes meanwhile waits for the job,
	 * then takes the handle again. The put may close it (no linger). */
	s->acct = NULL;
	conn_job(s->conn, imap_release_work, imap_release_done, acct);
}

/* The release timer (imap_cmd_finish): only between commands. */
static void imap_session_release_due(void *session)
{
	struct imap_session *s = session;

	if (s->cmd == NULL)
		imap_session_release(s);
}

/* A whole command (or, `stream`, one whose literal is to be streamed)
 * from the parser: find it, check the state, run it. */
static void imap_session_dispatch(struct imap_session *s, bool stream)
{
	const struct imap_parsed *p = imap_parser_command(s->parser);
	const struct imap_command *def;
	struct imap_cmd_full *full;
	struct imap_cmd *cmd = s->cmd;
	const struct imap_arg *args = p->args;
	size_t n_args = p->n_args;
	const char *name = p->name;
	bool uid = false;

	if (strcasecmp(name, "UID") == 0) {
		if (n_args == 0 || args[0].type != IMAP_ARG_ATOM) {
			imap_session_status(s, p->tag, IMAP_BAD, NULL, "UID needs a command");
			return;
		}
		name = args[0].str;
		uid = true;
		args++;
		n_args--;
	}
	if (cmd == NULL) {
		if (s->state == IMAP_STATE_NOT_AUTHENTICATED &&
		    ++s->auth_commands > IMAP_AUTH_COMMANDS_MAX) {
			imap_untagged(s, "BYE Too many commands before authentication");
			s->waiting = true;
			conn_close(s->conn, "too many commands before authentication");
			return;
		}
		def = imap_command_find(name, uid);
		if (def == NULL) {
			imap_session_status(s, p->tag, IMAP_BAD, "CLIENTBUG", "Unknown command");
			return;
		}
		if ((def->states & IMAP_IN(s->state)) == 0) {
			char text[128];

			snprintf(text, sizeof(text), "%s not allowed in the %s state", def->name,
				 imap_state_name(s->state));
			imap_session_status(s, p->tag, IMAP_BAD, "CLIENTBUG", text);
			return;
		}
		full = calloc(1, sizeof(*full));
		if (full == NULL)
			abort();
		cmd = &full->cmd;
		cmd->s = s;
		cmd->def = def;
		cmd->uid = uid;
		s->cmd = cmd;
	}
	cmd->tag = p->tag;
	cmd->args = args;
	cmd->n_args = n_args;
	if (s->acct == NULL && s->address != NULL && s->state != IMAP_STATE_LOGOUT &&
	    !s->arriving) {
		/* The handle was given back while the session was idle. */
		((struct imap_cmd_full *)cmd)->stream = stream;
		imap_cmd_job(cmd, imap_acquire_work, imap_acquire_done);
		conn_pause_input(s->conn);
		return;
	}
	imap_session_run(s, cmd, stream);
}

static void imap_session_parse_error(struct imap_session *s)
{
	const struct imap_parse_error *e = imap_parser_error(s->parser);
	const char *reason = e->reason != NULL ? e->reason : "Syntax error";

	s->partial = false;
	if (s->cmd != NULL) {
		/* The rest of a streamed command was malformed: the command
		 * ends itself with a BAD (APPEND drops its files in a job). */
		struct imap_cmd *cmd = s->cmd;

		cmd->malformed = reason;
		cmd->def->run(cmd);
		if (s->cmd == cmd) {
			/* nothing more is parsed until its reply */
			s->arriving = false;
			conn_set_input_max(s->conn, s->cfg->imap.conn.line_length);
			conn_pause_input(s->conn);
		}
		return;
	}
	if (e->too_big)
		imap_session_status(s, e->tag, e->tag != NULL ? IMAP_NO : IMAP_BAD, "TOOBIG", reason);
	else
		imap_session_status(s, e->tag, IMAP_BAD, NULL, reason);
}

/* While a command reads lines of its own: the next line to it. Returns
 * false when no whole line is buffered. */
static bool imap_session_line(struct imap_session *s)
{
	struct buf *in = conn_input(s->conn);
	struct imap_cmd *cmd = s->cmd;
	size_t len, total;

	if (s->skipping_line) {
		const char *end = memchr(in->data, '\n', in->len);

		if (end == NULL) {
			buf_reset(in);
			return false;
		}
		/* The line's end: only now the command hears of it, so that
		 * none of the line is read as commands. */
		buf_consume(in, (size_t)(end - in->data) + 1);
		s->skipping_line = false;
		cmd->line(cmd, NULL, 0);
		return true;
	}
	if (!buf_line(in, &len, &total)) {
		if (in->max == 0 || in->len < in->max)
			return false;
		/* RFC 9051 4: no line is that long; drop it to its end. */
		buf_reset(in);
		s->skipping_line = true;
		return true;
	}
	in->data[len] = '\0';
	cmd->line(cmd, in->data, len);
	buf_consume(in, total);
	return true;
}

void imap_session_input(struct imap_session *s)
{
	if (s->in_input)
		return;
	s->in_input = true;
	while (!s->waiting && !conn_is_closing(s->conn)) {
		struct buf *in = conn_input(s->conn);
		enum imap_parse_result r;
		size_t used = 0;

		if (s->cmd != NULL && !(s->arriving && !s->streaming)) {
			if (s->streaming) {
				s->cmd->def->stream(s->cmd);
				if (s->streaming)
					break;
				continue;
			}
			if (s->cmd->line != NULL && imap_session_line(s))
				continue;
			break;
		}
		if (in->len == 0)
			break;
		r = imap_parser_feed(s->parser, in->data, in->len, &used);
		if (used > 0)
			s->partial = in->data[used - 1] != '\n';
		buf_consume(in, used);
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			if (used == 0)
				goto out;
			break;
		case IMAP_PARSE_CONTINUE:
			/* RFC 9051 7.5: "+ " and text */
			imap_continue(s, "Ready for literal data");
			break;
		case IMAP_PARSE_COMMAND:
			s->partial = false;
			imap_session_dispatch(s, false);
			break;
		case IMAP_PARSE_STREAM:
			imap_session_dispatch(s, true);
			/* it reads the literal itself, in jobs */
			if (s->streaming)
				goto out;
			break;
		case IMAP_PARSE_ERROR:
		default:
			imap_session_parse_error(s);
			break;
		}
	}
out:
	s->in_input = false;
	if (!conn_is_closing(s->conn))
		conn_input_unfinished(s->conn, s->partial || s->streaming || s->skipping_line);
}

void imap_session_drained(struct imap_session *s)
{
	if (s->cmd != NULL && s->cmd->drained != NULL)
		s->cmd->drained(s->cmd);
}

void imap_session_tls_ready(struct imap_session *s)
{
	/* RFC 9051 6.2.1: forget what the client said before TLS; it asks
	 * for the capabilities again. */
	imap_parser_reset(s->parser);
	s->partial = false;
	s->capability_asked = false;
	s->errors = 0;
	s->waiting = false;
	conn_resume_input(s->conn);
}

void imap_session_timeout(struct imap_session *s, enum conn_end why)
{
	/* Not inside a response written in pieces, where the line would
	 * read as part of a literal. */
	if (s->cmd != NULL && s->cmd->drained != NULL)
		return;
	switch (why) {
	case CONN_END_SHUTDOWN:
		imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down, try again later");
		break;
	case CONN_END_BUSY:
		imap_untagged(s, "BYE [UNAVAILABLE] Server busy, try again later");
		break;
	case CONN_END_LOGIN_TIMEOUT:
		imap_untagged(s, "BYE Disconnected: no login in time");
		break;
	case CONN_END_SLOW_INPUT:
		imap_untagged(s, "BYE Disconnected: input too slow");
		break;
	case CONN_END_IDLE:
	default:
		/* RFC 9051 5.4 */
		imap_untagged(s, "BYE Autologout; idle for too long");
		break;
	}
}

void imap_session_free(struct imap_session *s)
{
	if (s->address != NULL) {
		char user[256];

		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"logout\" user=\"%s\"",
			 log_escape(user, sizeof(user), s->address, 200));
	}
	imap_cmd_free(s);
	imap_selected_free(&s->selected);
	/* Closing the index database may checkpoint and fsync. */
	if (s->acct != NULL)
		conn_job_after_close(s->conn, imap_release_work, s->acct);
	s->acct = NULL;
	imap_parser_free(&s->parser);
	free(s->address);
	free(s);
}
