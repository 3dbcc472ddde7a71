/* cmd-idle - IDLE (RFC 2177, RFC 9051 6.3.13): the updates of the
 * selected mailbox are sent as the hub reports them, until the client's
 * DONE. The session hands IDLE its lines (cmd->line), never to the
 * parser; what follows DONE in the same packet is read as commands.
 *
 * As Dovecot does, "* OK Still here" goes out every [imap] idle_keepalive
 * seconds, two minutes by default (NATs and firewalls drop quiet
 * connections) and an idling client is not cut for sending nothing: a
 * client that never leaves IDLE (Outlook) stays, and a dead one is found
 * by the keepalive writes failing. */
#include "imap/imap-commands.h"
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <strings.h>

struct idle_ctx {
	bool syncing;                   /* an imap_sync runs */
	bool ended;                     /* DONE (or a bad line) came meanwhile */
	bool bad;
};

static void idle_sync(struct imap_cmd *cmd);

static void idle_keepalive(void *session);

/* [imap] idle_keepalive, as Dovecot's imap_idle_notify_interval */
static void idle_keepalive_start(struct imap_session *s)
{
	conn_timer(s->conn, (uint64_t)s->cfg->imap.idle_keepalive * 1000, idle_keepalive);
}

static void idle_keepalive(void *session)
{
	struct imap_session *s = session;

	if (!s->idling)
		return;
	/* Not inside a paced send: its pieces do not end at line ends. */
	if (s->selected == NULL || s->selected->send == NULL)
		imap_untagged(s, "OK Still here");
	idle_keepalive_start(s);
}

static void idle_finish(struct imap_cmd *cmd)
{
	struct idle_ctx *ctx = cmd->ctx;

	if (ctx->bad)
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected DONE");
	else
		imap_cmd_done(cmd, IMAP_OK, NULL, "IDLE completed");
}

static void idle_synced(struct imap_cmd *cmd)
{
	struct idle_ctx *ctx = cmd->ctx;

	ctx->syncing = false;
	if (ctx->ended)
		idle_finish(cmd);
	else if (cmd->s->idling && cmd->s->selected != NULL && cmd->s->selected->changed &&
		 !cmd->s->selected->sync_failed)
		/* A sync that failed (the account could not be opened) is not
		 * retried at once, which would loop for as long as the open
		 * fails: the next change or DONE tries again, from the same
		 * MODSEQ, so nothing is lost. */
		idle_sync(cmd);
	else if (cmd->s->idling && cmd->s->selected == NULL)
		/* Nothing to watch: the handle goes back now. A selected
		 * session's sync jobs give it back themselves. */
		imap_session_release(cmd->s);
}

static void idle_sync(struct imap_cmd *cmd)
{
	struct idle_ctx *ctx = cmd->ctx;

	ctx->syncing = true;
	imap_sync(cmd, false, idle_synced);
}

void imap_idle_changed(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;

	if (!s->idling || cmd == NULL || cmd->def->run != cmd_idle || cmd->ctx == NULL)
		return;
	if (!((struct idle_ctx *)cmd->ctx)->syncing)
		idle_sync(cmd);
}

static void idle_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	struct imap_session *s = cmd->s;
	struct idle_ctx *ctx = cmd->ctx;

	if (!s->idling)
		return;
	s->idling = false;
	cmd->line = NULL;
	conn_timer(s->conn, 0, NULL);
	conn_set_idle_timeout(s->conn, s->cfg->imap.conn.idle_timeout);
	/* RFC 2177 3: "DONE"; any case, as Dovecot takes it. */
	ctx->bad = line == NULL || len != 4 || strncasecmp(line, "DONE", 4) != 0;
	ctx->ended = true;
	if (!ctx->syncing)
		idle_finish(cmd);
}

static void idle_free(struct imap_cmd *cmd)
{
	free(cmd->ctx);
	cmd->ctx = NULL;
}

void cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "IDLE takes no arguments");
		return;
	}
	cmd->ctx = calloc(1, sizeof(struct idle_ctx));
	if (cmd->ctx == NULL)
		abort();
	cmd->free_ctx = idle_free;
	imap_cmd_lines(cmd, idle_line);
	s->idling = true;
	imap_continue(s, "idling");
	conn_set_idle_timeout(s->conn, 0);
	idle_keepalive_start(s);
	/* Owed updates (EXPUNGEs included: IDLE allows them) at once. */
	idle_sync(cmd);
}
