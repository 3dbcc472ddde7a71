/* cmd-expunge - EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (6.4.9, RFC
 * 4315 2.1): the messages with \Deleted go, in one store transaction
 * (of the set only, for UID EXPUNGE); their EXPUNGE (or VANISHED)
 * responses are the sync's, sent before the tagged reply, which carries
 * the new HIGHESTMODSEQ once CONDSTORE is on (RFC 7162 3.2.7, 3.2.9). */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-selected.h"

#include <stdlib.h>

struct expunge_ctx {
	uint32_t *uids;                 /* UID EXPUNGE's set; NULL: every message */
	size_t n;
	enum store_error error;
	uint32_t *expunged;
	size_t n_expunged;
};

static void expunge_free(struct imap_cmd *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;

	free(ctx->uids);
	free(ctx->expunged);
	free(ctx);
	cmd->ctx = NULL;
}

static void expunge_work(struct imap_cmd *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;

	ctx->error = store_expunge_deleted(cmd->s->acct, &cmd->s->selected->ref, ctx->uids,
					   ctx->n, &ctx->expunged, &ctx->n_expunged);
}

static void expunge_reply(struct imap_cmd *cmd)
{
	imap_cmd_done_modseq(cmd, "EXPUNGE completed");
}

static void expunge_done(struct imap_cmd *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;
	struct imap_selected *sel = cmd->s->selected;

	if (ctx->error != STORE_OK) {
		imap_cmd_fail(cmd, ctx->error, false, "expunge");
		return;
	}
	/* Into the owed EXPUNGEs at once (nothing is written here), and the
	 * sync also reads what others changed. */
	imap_update_pending(sel, ctx->expunged, ctx->n_expunged);
	sel->changed = true;
	if (!cmd->s->condstore || ctx->n_expunged == 0) {
		imap_cmd_done(cmd, IMAP_OK, NULL, "EXPUNGE completed");
		return;
	}
	imap_sync(cmd, false, expunge_reply);
}

static void expunge_start(struct imap_cmd *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;
	const char *why;

	if (cmd->uid) {
		if (!imap_selected_uids(cmd->s, &cmd->args[0], true, &ctx->uids, &ctx->n, &why)) {
			imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
			return;
		}
		if (ctx->n == 0) {
			imap_cmd_done(cmd, IMAP_OK, NULL, "EXPUNGE completed");
			return;
		}
	}
	imap_cmd_job(cmd, expunge_work, expunge_done);
}

void cmd_expunge(struct imap_cmd *cmd)
{
	if (cmd->n_args != (cmd->uid ? 1u : 0u)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, cmd->uid ? "Expected a UID set" :
				"EXPUNGE takes no arguments");
		return;
	}
	if (cmd->s->selected->readonly) {
		imap_cmd_done(cmd, IMAP_NO, NULL, "Mailbox is read-only");
		return;
	}
	cmd->ctx = calloc(1, sizeof(struct expunge_ctx));
	if (cmd->ctx == NULL)
		abort();
	cmd->free_ctx = expunge_free;
	if (cmd->uid)
		imap_selected_catch_up(cmd, expunge_start);
	else
		expunge_start(cmd);
}
