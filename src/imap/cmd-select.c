/* cmd-select - entering and leaving the selected state: SELECT and
 * EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1 for rev1's RECENT and
 * UNSEEN) with their CONDSTORE and QRESYNC parameters (RFC 7162 3.1.8,
 * 3.2.5), CLOSE (6.4.1), UNSELECT (6.4.2, RFC 3691) and CHECK (RFC 3501
 * 6.4.1; gone from rev2, kept for rev1 clients). */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-flags.h"
#include "imap/imap-qresync.h"
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
	/* (QRESYNC (...)): the client's state, and what the job found for
	 * it when the UIDVALIDITY matched (resync). */
	bool has_qresync;
	struct imap_qresync q;
	bool resync;
	struct imap_range *vanished;
	size_t n_vanished;
	struct store_message *changed;
	size_t n_changed;
};

static void select_free(struct imap_cmd *cmd)
{
	struct select_ctx *ctx = cmd->ctx;

	store_mailbox_free(&ctx->box);
	store_view_free(&ctx->view);
	store_names_free(ctx->keywords, ctx->n_keywords);
	if (ctx->has_qresync)
		imap_qresync_free(&ctx->q);
	free(ctx->vanished);
	store_messages_free(ctx->changed, ctx->n_changed);
	free(ctx->name);
	free(ctx);
	cmd->ctx = NULL;
}

/* RFC 7162 3.2.5.1: what changed since the client's MODSEQ, read after
 * the view. Expunges and changes made after the view was read are the
 * first sync's (the view still holds those messages): only messages of
 * the view get a FETCH, and a UID the view holds is not vanished. */
static enum store_error select_resync_read(struct select_ctx *ctx, struct store_account *acct,
					   const struct store_mailbox_ref *ref)
{
	const struct store_view *v = &ctx->view;
	uint32_t *expunged = NULL, *unused = NULL;
	size_t n_expunged = 0, n_unused = 0, w = 0;
	uint64_t highest;
	bool complete;
	enum store_error err;

	ctx->resync = true;
	err = store_expunged_since(acct, ref, ctx->q.modseq, &expunged, &n_expunged, &complete);
	if (err == STORE_OK)
		err = store_changes_since(acct, ref, ctx->q.modseq, &ctx->changed, &ctx->n_changed,
					  &unused, &n_unused, &highest);
	free(unused);
	if (err != STORE_OK) {
		free(expunged);
		return err;
	}
	for (size_t i = 0; i < n_expunged; i++)
		if (imap_view_seq(v, expunged[i]) == 0)
			expunged[w++] = expunged[i];
	imap_qresync_vanished(&ctx->q, v->uids, v->n, v->uidnext, expunged, w, complete,
			      &ctx->vanished, &ctx->n_vanished);
	free(expunged);
	/* "the server should only report flag changes ... for the
	 * specified messages" (known-uids) */
	w = 0;
	for (size_t i = 0; i < ctx->n_changed; i++) {
		struct store_message *m = &ctx->changed[i];

		if (imap_view_seq(v, m->uid) == 0 ||
		    (ctx->q.has_known_uids && !imap_seqset_contains(&ctx->q.known_uids, m->uid))) {
			free(m->keywords);
			continue;
		}
		ctx->changed[w++] = *m;
	}
	ctx->n_changed = w;
	return STORE_OK;
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
	if (ctx->error == STORE_OK && ctx->has_qresync && ctx->q.uidvalidity == ref.uidvalidity)
		ctx->error = select_resync_read(ctx, acct, &ref);
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

static void select_reply(struct imap_cmd *cmd)
{
	const struct select_ctx *ctx = cmd->ctx;

	if (ctx->readonly)
		imap_cmd_done(cmd, IMAP_OK, "READ-ONLY", "EXAMINE completed");
	else
		imap_cmd_done(cmd, IMAP_OK, "READ-WRITE", "SELECT completed");
}

/* RFC 7162 3.2.5.1: VANISHED (EARLIER) first, then a FETCH (UID FLAGS
 * MODSEQ) of every message changed since the client's MODSEQ, at the
 * pace the client reads them. */
static void select_resync_send(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct select_ctx *ctx = cmd->ctx;
	struct buf *out = malloc(sizeof(*out));

	if (out == NULL)
		abort();
	buf_init(out, 0);
	imap_vanished_write_ranges(out, true, ctx->vanished, ctx->n_vanished);
	for (size_t i = 0; i < ctx->n_changed; i++) {
		const struct store_message *m = &ctx->changed[i];

		buf_printf(out, "* %u FETCH (UID %u FLAGS ", imap_selected_seq(s->selected, m->uid),
			   m->uid);
		imap_flags_write(out, m->flags, m->keywords, imap_selected_recent(s, m->uid));
		buf_printf(out, " MODSEQ (%llu))\r\n", (unsigned long long)m->modseq);
	}
	imap_selected_send(cmd, &out, select_reply);
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
	if (s->condstore)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)sel->view.highestmodseq);
	if (ctx->resync) {
		select_resync_send(cmd);
		return;
	}
	select_reply(cmd);
}

/* The select parameters (RFC 4466 2.1): CONDSTORE and QRESYNC (...),
 * each at most once. Returns the BAD reply's text, or NULL. */
static const char *select_params(struct imap_session *s, const struct imap_arg *list,
				 struct select_ctx *ctx, bool *condstore_r)
{
	const char *why;

	if (list->type != IMAP_ARG_LIST || list->n == 0)
		return "Expected a list of select parameters";
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_arg *p = &list->list[i];

		if (imap_arg_atom_is(p, "CONDSTORE") && !*condstore_r) {
			*condstore_r = true;
		} else if (imap_arg_atom_is(p, "QRESYNC") && !ctx->has_qresync) {
			/* RFC 7162 3.2.5: BAD unless ENABLE QRESYNC came first */
			if (!s->qresync)
				return "QRESYNC must be enabled first (ENABLE QRESYNC)";
			if (i + 1 == list->n)
				return "QRESYNC needs its arguments";
			if (!imap_qresync_parse(&list->list[++i], &ctx->q, &why))
				return why;
			ctx->has_qresync = true;
		} else {
			return "Unknown select parameter";
		}
	}
	return NULL;
}

static void select_start(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->s;
	struct select_ctx *ctx;
	const char *why;
	bool condstore = false;
	char *name;

	if (cmd->n_args != 1 && cmd->n_args != 2) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected a mailbox name");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		abort();
	cmd->ctx = ctx;
	cmd->free_ctx = select_free;
	/* RFC 7162 3.2.5: every parameter is checked before anything is
	 * opened (or closed): a BAD changes nothing. */
	if (cmd->n_args == 2 && (why = select_params(s, &cmd->args[1], ctx, &condstore)) != NULL) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	}
	/* RFC 9051 6.3.2: the selected mailbox is closed first, even when
	 * this SELECT fails; 7.1: [CLOSED] says so. */
	if (s->selected != NULL) {
		imap_selected_free(&s->selected);
		s->state = IMAP_STATE_AUTHENTICATED;
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	/* RFC 7162 3.1.8 (a QRESYNC parameter needs QRESYNC enabled, and
	 * CONDSTORE with it) */
	if (condstore)
		imap_condstore_enable(s);
	name = imap_mailbox_from_client(s, &cmd->args[0]);
	if (name == NULL) {
		imap_cmd_done(cmd, IMAP_NO, "NONEXISTENT", "Invalid mailbox name");
		return;
	}
	ctx->name = name;
	ctx->readonly = readonly;
	/* EXAMINE changes no per-user state (RFC 3501 6.3.2: \Recent stays). */
	ctx->take_recent = !s->rev2 && !readonly;
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
