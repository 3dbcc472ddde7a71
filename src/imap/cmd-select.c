/* cmd-select - entering and leaving the selected state: SELECT and
 * EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1 for rev1's RECENT and
 * UNSEEN), CLOSE (6.4.1), UNSELECT (6.4.2, RFC 3691) and CHECK (RFC 3501
 * 6.4.1; gone from rev2, kept for rev1 clients). */
#include "imap/imap-commands.h"
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

struct select_ctx {
	char *name;
	bool readonly;
	bool take_recent;
	enum store_error error;
	struct store_mailbox box;
	struct store_view view;
	char **keywords;
	size_t n_keywords;
	uint32_t first_recent;
};

static void select_free(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;

	store_mailbox_free(&ctx->box);
	store_view_free(&ctx->view);
	store_names_free(ctx->keywords, ctx->n_keywords);
	free(ctx->name);
	free(ctx);
	cmd->ctx = NULL;
}

static void select_work(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	struct store_account *acct = cmd->s->acct;
	struct store_mailbox_ref ref;

	ctx->error = store_mailbox_get(acct, ctx->name, &ctx->box);
	if (ctx->error != STORE_OK)
		return;
	ref = (struct store_mailbox_ref){ ctx->box.id, ctx->box.uidvalidity };
	ctx->error = store_view_load(acct, &ref, &ctx->view);
	if (ctx->error == STORE_OK)
		ctx->error = store_mailbox_keywords(acct, &ref, &ctx->keywords, &ctx->n_keywords);
	/* After the view: a message arriving in between is \Recent here,
	 * read by the first sync (RFC 3501 2.3.2: one session sees it so). */
	if (ctx->error == STORE_OK && ctx->take_recent) {
		ctx->error = store_recent_take(acct, &ref, &ctx->first_recent);
		if (ctx->first_recent == 0)
			ctx->first_recent = 1;
	}
}

static void select_flags_write(struct buf *out, const struct select_ctx *ctx, bool permanent)
{
	buf_append_str(out, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < ctx->n_keywords; i++)
		buf_printf(out, " %s", ctx->keywords[i]);
	/* New keywords may be made until the store's bound. */
	if (permanent && ctx->n_keywords < STORE_MAILBOX_KEYWORDS_MAX)
		buf_append_str(out, " \\*");
}

static void select_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct select_ctx *ctx = cmd->ctx;
	struct store_mailbox_ref ref = { ctx->box.id, ctx->box.uidvalidity };
	struct imap_selected *sel;
	struct buf flags;
	uint32_t unseen = 0;

	if (ctx->error != STORE_OK) {
		imap_cmd_fail(cmd, ctx->error, false, ctx->readonly ? "examine" : "select");
		return;
	}
	sel = imap_selected_new(s, &ref, ctx->box.name, ctx->readonly, &ctx->view,
				ctx->first_recent);
	if (sel == NULL) {
		imap_cmd_fail(cmd, STORE_ERR_IO, false, "select watch");
		return;
	}
	s->selected = sel;
	s->state = IMAP_STATE_SELECTED;

	imap_untagged(s, "%u EXISTS", sel->view.n);
	if (!s->rev2) {
		imap_untagged(s, "%u RECENT", imap_update_recent_count(sel));
		for (uint32_t i = 0; i < sel->view.n && unseen == 0; i++) {
			if ((sel->view.flags[i] & STORE_FLAG_SEEN) == 0)
				unseen = i + 1;
		}
		if (unseen != 0)
			imap_untagged(s, "OK [UNSEEN %u] First unseen", unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", sel->view.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", sel->view.uidnext);
	buf_init(&flags, 0);
	select_flags_write(&flags, ctx, false);
	imap_untagged(s, "FLAGS (%s)", flags.data);
	buf_reset(&flags);
	if (ctx->readonly) {
		imap_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox");
	} else {
		select_flags_write(&flags, ctx, true);
		imap_untagged(s, "OK [PERMANENTFLAGS (%s)] Flags permitted", flags.data);
	}
	buf_release(&flags);
	if (s->rev2) {
		/* RFC 9051 6.3.2: the mailbox's name as the server has it. */
		static const char list[] = "* LIST () \"/\" ";

		imap_write(s, list, sizeof(list) - 1);
		imap_write_mailbox(s, sel->name);
		imap_write(s, "\r\n", 2);
	}
	if (ctx->readonly)
		imap_cmd_done(cmd, IMAP_OK, "READ-ONLY", "EXAMINE completed");
	else
		imap_cmd_done(cmd, IMAP_OK, "READ-WRITE", "SELECT completed");
}

static void select_start(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->s;
	struct select_ctx *ctx;
	char *name;

	if (cmd->n_args != 1) {
		/* No select parameters (CONDSTORE, QRESYNC) are offered. */
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected a mailbox name");
		return;
	}
	/* RFC 9051 6.3.2: the selected mailbox is closed first, even when
	 * this SELECT fails; 7.1: [CLOSED] says so. */
	if (s->selected != NULL) {
		imap_selected_free(&s->selected);
		s->state = IMAP_STATE_AUTHENTICATED;
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	name = imap_mailbox_from_client(s, &cmd->args[0]);
	if (name == NULL) {
		imap_cmd_done(cmd, IMAP_NO, "NONEXISTENT", "Invalid mailbox name");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		abort();
	ctx->name = name;
	ctx->readonly = readonly;
	/* EXAMINE changes no per-user state (RFC 3501 6.3.2: \Recent stays). */
	ctx->take_recent = !s->rev2 && !readonly;
	cmd->ctx = ctx;
	cmd->free_ctx = select_free;
	imap_cmd_job(cmd, select_work, select_done);
}

void cmd_select(struct imap_cmd *cmd)
{
	select_start(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	select_start(cmd, true);
}

struct close_ctx {
	enum store_error error;
};

static void close_ctx_free(struct imap_cmd *cmd)
{
	free(cmd->ctx);
	cmd->ctx = NULL;
}

static void close_work(struct imap_cmd *cmd)
{
	struct close_ctx *ctx = cmd->ctx;
	uint32_t *expunged = NULL;
	size_t n = 0;

	ctx->error = store_expunge_deleted(cmd->s->acct, &cmd->s->selected->ref, NULL, 0,
					   &expunged, &n);
	free(expunged);
}

static void close_unselect(struct imap_session *s)
{
	imap_selected_free(&s->selected);
	s->state = IMAP_STATE_AUTHENTICATED;
}

static void close_done(struct imap_cmd *cmd)
{
	struct close_ctx *ctx = cmd->ctx;

	/* RFC 9051 6.4.1: no EXPUNGE responses, and unselected whatever
	 * happened; a mailbox deleted meanwhile has nothing to expunge. */
	close_unselect(cmd->s);
	if (ctx->error != STORE_OK && ctx->error != STORE_ERR_GONE)
		imap_cmd_fail(cmd, ctx->error, false, "close");
	else
		imap_cmd_done(cmd, IMAP_OK, NULL, "CLOSE completed");
}

void cmd_close(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "CLOSE takes no arguments");
		return;
	}
	if (cmd->s->selected->readonly) {
		close_unselect(cmd->s);
		imap_cmd_done(cmd, IMAP_OK, NULL, "CLOSE completed");
		return;
	}
	cmd->ctx = calloc(1, sizeof(struct close_ctx));
	if (cmd->ctx == NULL)
		abort();
	cmd->free_ctx = close_ctx_free;
	imap_cmd_job(cmd, close_work, close_done);
}

void cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "UNSELECT takes no arguments");
		return;
	}
	close_unselect(cmd->s);
	imap_cmd_done(cmd, IMAP_OK, NULL, "UNSELECT completed");
}

void cmd_checkpoint(struct imap_cmd *cmd)
{
	/* Every change is durable when made: only the updates remain, and
	 * imap_cmd_done sends them. */
	if (cmd->n_args != 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "CHECK takes no arguments");
		return;
	}
	imap_cmd_done(cmd, IMAP_OK, NULL, "CHECK completed");
}
