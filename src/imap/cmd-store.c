/* cmd-store - STORE and UID STORE (RFC 9051 6.4.6, 6.4.9): FLAGS,
 * +FLAGS, -FLAGS and their .SILENT forms, system flags and keywords, and
 * the UNCHANGEDSINCE modifier (RFC 7162 3.1.3). The store writes the
 * change with one MODSEQ and says what changed; this session gets FETCH
 * (FLAGS) for those messages unless .SILENT, and no later sync repeats
 * them. */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-flags.h"
#include "imap/imap-selected.h"

#include <stdlib.h>

#include "core/buf.h"

struct store_ctx {
	struct imap_store_args args;
	bool unchanged_given;           /* (UNCHANGEDSINCE n) */
	uint64_t unchangedsince;
	uint32_t *uids;
	size_t n;
	enum store_error error;
	struct store_flag_change *changes;
	size_t n_changes;
	uint32_t *modified;             /* UIDs that failed UNCHANGEDSINCE, ascending */
	size_t n_modified;
};

static void store_ctx_free(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;

	imap_store_args_free(&ctx->args);
	free(ctx->uids);
	store_flag_changes_free(ctx->changes, ctx->n_changes);
	free(ctx->modified);
	free(ctx);
	cmd->ctx = NULL;
}

static void store_work(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	const char *keywords = ctx->args.keywords.len > 0 ? ctx->args.keywords.data : NULL;

	if (ctx->unchanged_given)
		ctx->error = store_flags_update_unchanged(cmd->s->acct, &cmd->s->selected->ref,
							  ctx->uids, ctx->n, ctx->args.op,
							  ctx->args.flags, keywords,
							  ctx->unchangedsince, &ctx->changes,
							  &ctx->n_changes, &ctx->modified,
							  &ctx->n_modified);
	else
		ctx->error = store_flags_update(cmd->s->acct, &cmd->s->selected->ref, ctx->uids,
						ctx->n, ctx->args.op, ctx->args.flags, keywords,
						&ctx->changes, &ctx->n_changes);
}

static void store_sent(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	struct buf code;

	if (ctx->n_modified == 0) {
		imap_cmd_done(cmd, IMAP_OK, NULL, "STORE completed");
		return;
	}
	/* RFC 7162 3.1.3: [MODIFIED set], message numbers for STORE, UIDs
	 * for UID STORE (both ascending: numbers follow UIDs). */
	if (!cmd->uid) {
		size_t w = 0;

		for (size_t i = 0; i < ctx->n_modified; i++) {
			uint32_t seq = imap_selected_seq(cmd->s->selected, ctx->modified[i]);

			if (seq != 0)
				ctx->modified[w++] = seq;
		}
		ctx->n_modified = w;
	}
	if (ctx->n_modified == 0) {
		imap_cmd_done(cmd, IMAP_OK, NULL, "STORE completed");
		return;
	}
	buf_init(&code, 0);
	buf_append_str(&code, "MODIFIED ");
	imap_seqset_write(&code, ctx->modified, ctx->n_modified);
	imap_cmd_done(cmd, IMAP_OK, code.data, "Conditional STORE failed for some messages");
	buf_release(&code);
}

static void store_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct store_ctx *ctx = cmd->ctx;
	struct imap_selected *sel = s->selected;
	struct buf *out;

	if (ctx->error == STORE_ERR_INVALID) {
		/* The store's bound on a mailbox's keywords. */
		imap_cmd_done(cmd, IMAP_NO, "LIMIT", "Too many keywords in this mailbox");
		return;
	}
	if (ctx->error != STORE_OK) {
		imap_cmd_fail(cmd, ctx->error, false, "store");
		return;
	}
	out = malloc(sizeof(*out));
	if (out == NULL)
		abort();
	buf_init(out, 0);
	for (size_t i = 0; i < ctx->n_changes; i++) {
		const struct store_flag_change *c = &ctx->changes[i];
		uint32_t seq = imap_selected_seq(sel, c->uid);

		imap_selected_flags_set(sel, c->uid, store_view_flags(c->flags, c->keywords), c->modseq);
		/* RFC 9051 6.4.6: .SILENT, no FETCH for this session's change;
		 * but once CONDSTORE is on the new MODSEQ is told, with the
		 * UID (RFC 7162 3.1.3, 3.2.4). */
		if ((ctx->args.silent && !s->condstore) || seq == 0)
			continue;
		buf_printf(out, "* %u FETCH (", seq);
		if (cmd->uid || s->condstore)
			buf_printf(out, "UID %u", c->uid);   /* RFC 9051 6.4.9 */
		if (!ctx->args.silent) {
			buf_append_str(out, cmd->uid || s->condstore ? " FLAGS " : "FLAGS ");
			imap_flags_write(out, c->flags, c->keywords, imap_selected_recent(s, c->uid));
		}
		if (s->condstore)
			buf_printf(out, " MODSEQ (%llu)", (unsigned long long)c->modseq);
		buf_append_str(out, ")\r\n");
	}
	imap_selected_send(cmd, &out, store_sent);
}

static void store_start(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	const char *why;

	if (!imap_selected_uids(cmd->s, &cmd->args[0], cmd->uid, &ctx->uids, &ctx->n, &why)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	}
	if (ctx->n == 0) {
		imap_cmd_done(cmd, IMAP_OK, NULL, "STORE completed");
		return;
	}
	imap_cmd_job(cmd, store_work, store_done);
}

void cmd_store(struct imap_cmd *cmd)
{
	struct store_ctx *ctx;
	const char *why;

	size_t first = 1;

	if (cmd->n_args < 1) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected a set, FLAGS and flags");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		abort();
	cmd->ctx = ctx;
	cmd->free_ctx = store_ctx_free;
	if (cmd->n_args > 1 && cmd->args[1].type == IMAP_ARG_LIST) {
		/* RFC 4466 2.5 store-modifiers; RFC 7162 7: one UNCHANGEDSINCE */
		const struct imap_arg *mods = &cmd->args[1];

		if (mods->n != 2 || !imap_arg_atom_is(&mods->list[0], "UNCHANGEDSINCE") ||
		    !imap_modseq_parse(&mods->list[1], true, &ctx->unchangedsince)) {
			imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected (UNCHANGEDSINCE mod-sequence)");
			return;
		}
		ctx->unchanged_given = true;
		first = 2;
	}
	switch (imap_store_args_parse(cmd->args + first, cmd->n_args - first, &ctx->args, &why)) {
	case IMAP_STORE_PARSE_OK:
		break;
	case IMAP_STORE_PARSE_BAD:
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	case IMAP_STORE_PARSE_LIMIT:
		imap_cmd_done(cmd, IMAP_NO, "LIMIT", "%s", why);
		return;
	}
	if (cmd->s->selected->readonly) {
		imap_cmd_done(cmd, IMAP_NO, NULL, "Mailbox is read-only");
		return;
	}
	if (ctx->unchanged_given)
		imap_condstore_enable(cmd->s);       /* RFC 7162 3.1 */
	if (cmd->uid)
		imap_selected_catch_up(cmd, store_start);
	else
		store_start(cmd);
}
