/* cmd-copy - COPY and MOVE, and their UID forms (RFC 9051 6.4.7, 6.4.8,
 * 6.4.9; RFC 6851; RFC 4315 COPYUID). The store does each in one
 * transaction; MOVE's source messages leave the view through the sync's
 * EXPUNGEs, after the untagged OK [COPYUID] (RFC 6851 4.3). */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

struct copy_ctx {
	bool move;
	char *dest;
	uint32_t *uids;
	size_t n;
	uint32_t *new_uids;             /* n entries; 0 for a source that was gone */
	uint32_t dest_uidvalidity;
	enum store_error error;
	struct buf code;                /* "COPYUID ..." for the reply */
};

static void copy_free(struct imap_cmd *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;

	free(ctx->dest);
	free(ctx->uids);
	free(ctx->new_uids);
	buf_release(&ctx->code);
	free(ctx);
	cmd->ctx = NULL;
}

static void copy_work(struct imap_cmd *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;
	struct store_account *acct = cmd->s->acct;
	const struct store_mailbox_ref *ref = &cmd->s->selected->ref;
	struct store_mailbox box;

	ctx->error = (ctx->move ? store_move : store_copy)(acct, ref, ctx->uids, ctx->n,
							   ctx->dest, ctx->new_uids);
	if (ctx->error != STORE_OK)
		return;
	/* For COPYUID only: a destination deleted since has none to give. */
	if (store_mailbox_get(acct, ctx->dest, &box) == STORE_OK) {
		ctx->dest_uidvalidity = box.uidvalidity;
		store_mailbox_free(&box);
	}
}

/* "COPYUID <uidvalidity> <source set> <dest set>" (RFC 4315 3), for the
 * messages copied; both sets ascending, so their ranges pair up. Moves
 * the copied sources' UIDs to the front of ctx->uids. Returns how many. */
static size_t copy_code(struct copy_ctx *ctx)
{
	size_t k = 0;

	for (size_t i = 0; i < ctx->n; i++) {
		if (ctx->new_uids[i] == 0)
			continue;
		ctx->uids[k] = ctx->uids[i];
		ctx->new_uids[k] = ctx->new_uids[i];
		k++;
	}
	if (k == 0 || ctx->dest_uidvalidity == 0)
		return k;
	buf_printf(&ctx->code, "COPYUID %u ", ctx->dest_uidvalidity);
	imap_seqset_write(&ctx->code, ctx->uids, k);
	buf_append_str(&ctx->code, " ");
	imap_seqset_write(&ctx->code, ctx->new_uids, k);
	return k;
}

static void move_reply(struct imap_cmd *cmd)
{
	imap_cmd_done_modseq(cmd, "MOVE completed");
}

static void copy_done(struct imap_cmd *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;
	struct imap_selected *sel = cmd->s->selected;
	const char *code;
	size_t k;

	if (ctx->error != STORE_OK) {
		/* NOT_FOUND: the destination, [TRYCREATE] (RFC 9051 6.4.7). */
		imap_cmd_fail(cmd, ctx->error, true, ctx->move ? "move" : "copy");
		return;
	}
	k = copy_code(ctx);
	code = ctx->code.len > 0 ? ctx->code.data : NULL;
	/* Into the selected mailbox itself: EXISTS with the reply, without
	 * waiting for the hub's word. */
	if (strcmp(ctx->dest, sel->name) == 0)
		sel->changed = true;
	if (!ctx->move) {
		imap_cmd_done(cmd, IMAP_OK, code, "COPY completed");
		return;
	}
	if (code != NULL)
		imap_untagged(cmd->s, "OK [%s] Moved UIDs", code);
	/* The sources are gone: their EXPUNGEs come with the reply (MOVE
	 * allows them, also by message number: RFC 6851 3.3). */
	imap_update_pending(sel, ctx->uids, k);
	sel->changed = true;
	if (cmd->s->condstore && k > 0)
		imap_sync(cmd, false, move_reply);   /* RFC 6851 4.4 */
	else
		imap_cmd_done(cmd, IMAP_OK, NULL, "MOVE completed");
}

static void copy_start(struct imap_cmd *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;
	const char *why;

	if (!imap_selected_uids(cmd->s, &cmd->args[0], cmd->uid, &ctx->uids, &ctx->n, &why)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	}
	if (ctx->n == 0) {
		/* RFC 9051 6.4.9: a UID set naming nothing is no error. */
		imap_cmd_done(cmd, IMAP_OK, NULL, "No messages");
		return;
	}
	ctx->new_uids = calloc(ctx->n, sizeof(*ctx->new_uids));
	if (ctx->new_uids == NULL)
		abort();
	imap_cmd_job(cmd, copy_work, copy_done);
}

static void copy_begin(struct imap_cmd *cmd, bool move)
{
	struct copy_ctx *ctx;
	char *dest;

	if (cmd->n_args != 2) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected a set and a mailbox");
		return;
	}
	if (move && cmd->s->selected->readonly) {
		imap_cmd_done(cmd, IMAP_NO, NULL, "Mailbox is read-only");
		return;
	}
	dest = imap_mailbox_from_client(cmd->s, &cmd->args[1]);
	if (dest == NULL) {
		imap_cmd_done(cmd, IMAP_NO, NULL, "Invalid mailbox name");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		abort();
	ctx->move = move;
	ctx->dest = dest;
	buf_init(&ctx->code, 0);
	cmd->ctx = ctx;
	cmd->free_ctx = copy_free;
	if (cmd->uid)
		imap_selected_catch_up(cmd, copy_start);
	else
		copy_start(cmd);
}

void cmd_copy(struct imap_cmd *cmd)
{
	copy_begin(cmd, false);
}

void cmd_move(struct imap_cmd *cmd)
{
	copy_begin(cmd, true);
}
