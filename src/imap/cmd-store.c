/* cmd-store - STORE and UID STORE (RFC 9051 6.4.6, 6.4.9): FLAGS,
 * +FLAGS, -FLAGS and their .SILENT forms, system flags and keywords. The
 * store writes the change with one MODSEQ and says what changed; this
 * session gets FETCH (FLAGS) for those messages unless .SILENT, and no
 * later sync repeats them. */
#include "imap/imap-commands.h"
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

struct store_ctx {
	enum store_flag_op op;
	bool silent;
	unsigned flags;
	struct buf keywords;            /* space-separated, "" when none */
	uint32_t *uids;
	size_t n;
	enum store_error error;
	struct store_flag_change *changes;
	size_t n_changes;
};

static const struct {
	const char *name;
	unsigned flag;
} store_system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

static void store_ctx_free(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;

	buf_release(&ctx->keywords);
	free(ctx->uids);
	store_flag_changes_free(ctx->changes, ctx->n_changes);
	free(ctx);
	cmd->ctx = NULL;
}

/* RFC 9051 9: flag-keyword is an atom (no atom-specials). */
static bool store_keyword_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* Whether the keyword is in the space-separated list (flags ignore case,
 * RFC 9051 2.3.2). */
static bool store_keyword_listed(const struct buf *list, const char *kw, size_t len)
{
	const char *p = list->data, *end = list->data + list->len;

	while (p != NULL && p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n = sp != NULL ? (size_t)(sp - p) : (size_t)(end - p);

		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p = sp != NULL ? sp + 1 : NULL;
	}
	return false;
}

/* One flag of the command into ctx. NULL, or the BAD reply's text. */
static const char *store_flag_add(struct store_ctx *ctx, const struct imap_arg *arg,
				  size_t *n_keywords)
{
	if (arg->type != IMAP_ARG_ATOM)
		return "Invalid flag";
	if (arg->str[0] == '\\') {
		for (size_t i = 0; i < sizeof(store_system_flags) / sizeof(store_system_flags[0]); i++) {
			if (strcasecmp(arg->str, store_system_flags[i].name) == 0) {
				ctx->flags |= store_system_flags[i].flag;
				return NULL;
			}
		}
		/* RFC 3501 2.3.2: \Recent is the server's; a rev1 client that
		 * sends it back in FLAGS loses nothing by its being ignored. */
		if (strcasecmp(arg->str, "\\Recent") == 0)
			return NULL;
		return "Invalid system flag";
	}
	if (!store_keyword_valid(arg->str, arg->len))
		return "Invalid keyword";
	if (store_keyword_listed(&ctx->keywords, arg->str, arg->len))
		return NULL;
	(*n_keywords)++;
	if (ctx->keywords.len > 0)
		buf_append_str(&ctx->keywords, " ");
	buf_append(&ctx->keywords, arg->str, arg->len);
	return NULL;
}

/* "+FLAGS.SILENT" and friends. */
static bool store_item_parse(struct store_ctx *ctx, const struct imap_arg *arg)
{
	const char *p = arg->str;

	if (arg->type != IMAP_ARG_ATOM)
		return false;
	ctx->op = STORE_FLAGS_REPLACE;
	if (*p == '+' || *p == '-') {
		ctx->op = *p == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		p++;
	}
	if (strncasecmp(p, "FLAGS", 5) != 0)
		return false;
	p += 5;
	ctx->silent = strcasecmp(p, ".SILENT") == 0;
	return ctx->silent || *p == '\0';
}

static void store_work(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;

	ctx->error = store_flags_update(cmd->s->acct, &cmd->s->selected->ref, ctx->uids, ctx->n,
					ctx->op, ctx->flags,
					ctx->keywords.len > 0 ? ctx->keywords.data : NULL,
					&ctx->changes, &ctx->n_changes);
}

static void store_sent(struct imap_cmd *cmd)
{
	imap_cmd_done(cmd, IMAP_OK, NULL, "STORE completed");
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

		imap_selected_flags_set(sel, c->uid, c->flags, c->modseq);
		/* RFC 9051 6.4.6: .SILENT, no FETCH for this session's change. */
		if (ctx->silent || seq == 0)
			continue;
		buf_printf(out, "* %u FETCH (", seq);
		if (cmd->uid)
			buf_printf(out, "UID %u ", c->uid);   /* RFC 9051 6.4.9 */
		buf_append_str(out, "FLAGS ");
		imap_flags_write(out, c->flags, c->keywords, imap_selected_recent(s, c->uid));
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
	const struct imap_arg *flags;
	size_t n_flags, n_keywords = 0;

	if (cmd->n_args < 3) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected a set, FLAGS and flags");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		abort();
	buf_init(&ctx->keywords, 0);
	cmd->ctx = ctx;
	cmd->free_ctx = store_ctx_free;
	if (!store_item_parse(ctx, &cmd->args[1])) {
		/* A modifier list (UNCHANGEDSINCE, RFC 7162) lands here too:
		 * CONDSTORE is not offered. */
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Expected FLAGS, +FLAGS or -FLAGS");
		return;
	}
	/* A parenthesised list, or flags as separate arguments (RFC 9051 9). */
	flags = &cmd->args[2];
	n_flags = cmd->n_args - 2;
	if (flags->type == IMAP_ARG_LIST) {
		if (cmd->n_args != 3) {
			imap_cmd_done(cmd, IMAP_BAD, NULL, "Unexpected arguments after the flag list");
			return;
		}
		n_flags = flags->n;
		flags = flags->list;
	}
	for (size_t i = 0; i < n_flags; i++) {
		const char *why = store_flag_add(ctx, &flags[i], &n_keywords);

		if (why != NULL) {
			imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
			return;
		}
		if (n_keywords > STORE_MAILBOX_KEYWORDS_MAX) {
			imap_cmd_done(cmd, IMAP_NO, "LIMIT", "Too many keywords");
			return;
		}
	}
	if (cmd->s->selected->readonly) {
		imap_cmd_done(cmd, IMAP_NO, NULL, "Mailbox is read-only");
		return;
	}
	if (cmd->uid)
		imap_selected_catch_up(cmd, store_start);
	else
		store_start(cmd);
}
