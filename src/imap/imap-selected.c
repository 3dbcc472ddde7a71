/* imap-selected - the selected state of a session: entering and leaving
 * it, the hub watch that marks the mailbox changed, the sets of a
 * command turned into UIDs, the session's own flag changes, and the
 * paced sending of long untagged output. The updates themselves are
 * imap-sync.c's (job) and imap-update.c's (what to write). */
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/hub.h"

/* Ranges a set may have before merging: a command line holds at most
 * [imap] line_length bytes, so this only bounds the parser's work. */
#define SELECTED_MAX_RANGES 100000
/* Bytes handed to the connection at a time by imap_selected_send: the
 * output buffer's size ([limits] output_buffer), within these. */
#define SELECTED_SEND_PIECE_MIN (4u * 1024)
#define SELECTED_SEND_PIECE_MAX (1024u * 1024)

static void selected_changed(void *arg, const struct hub_change *change)
{
	struct imap_session *s = arg;
	struct imap_selected *sel = s->selected;

	if (sel == NULL)
		return;
	if (change->kind == HUB_CHANGE_ACCOUNT) {
		/* the next sync takes the handle again, or ends the session */
		sel->changed = true;
		imap_idle_changed(s);
		return;
	}
	if (change->mailbox_id != sel->ref.id)
		return;
	/* Already read (the session's own EXPUNGE, MOVE, or a sync that
	 * came first), or this session's own STORE: nothing to read. */
	if (change->kind != HUB_CHANGE_MAILBOX &&
	    (change->modseq <= sel->modseq ||
	     (change->kind == HUB_CHANGE_FLAGS && imap_selected_own(sel, change->modseq))))
		return;
	if (change->kind == HUB_CHANGE_MAILBOX && change->mailbox != NULL &&
	    change->uidvalidity == sel->ref.uidvalidity && strcmp(change->mailbox, sel->name) != 0) {
		/* Renamed (the ref follows the id): keep its new name. */
		char *name = strdup(change->mailbox);

		if (name != NULL) {
			free(sel->name);
			sel->name = name;
		}
	}
	sel->changed = true;
	imap_idle_changed(s);
}

struct imap_selected *imap_selected_new(struct imap_session *s, const struct store_mailbox_ref *ref,
					const char *name, bool readonly, struct store_view *view,
					uint32_t first_recent)
{
	struct imap_selected *sel = calloc(1, sizeof(*sel));

	if (sel == NULL || (sel->name = strdup(name)) == NULL) {
		free(sel);
		return NULL;
	}
	sel->watch = hub_watch_add(s->address, ref->id, conn_loop(s->conn), selected_changed, s);
	if (sel->watch == NULL) {
		free(sel->name);
		free(sel);
		return NULL;
	}
	sel->ref = *ref;
	sel->readonly = readonly;
	sel->view = *view;
	memset(view, 0, sizeof(*view));
	sel->modseq = sel->view.highestmodseq;
	sel->first_recent = first_recent;
	imap_view_share(sel, s->address);
	/* What arrived between the view's read and the watch is read by
	 * the first sync. */
	sel->changed = true;
	return sel;
}

void imap_selected_free(struct imap_selected **selp)
{
	struct imap_selected *sel = *selp;

	if (sel == NULL)
		return;
	*selp = NULL;
	hub_watch_remove(&sel->watch);
	imap_view_unshare(sel);
	store_view_free(&sel->view);
	if (sel->send != NULL) {
		buf_release(sel->send);
		free(sel->send);
	}
	free(sel->name);
	free(sel->saved);
	free(sel->pending);
	free(sel);
}

bool imap_selected_recent(const struct imap_session *s, uint32_t uid)
{
	const struct imap_selected *sel = s->selected;

	return !s->rev2 && sel != NULL && sel->first_recent != 0 && uid >= sel->first_recent;
}

/* The view's UIDs within the UID ranges (both ascending: one pass). */
static size_t selected_uids_in(const struct store_view *v, const struct imap_seqset *set,
			       uint32_t *out)
{
	size_t n = 0, r = 0;

	for (size_t i = 0; i < v->n && r < set->n; i++) {
		while (r < set->n && set->ranges[r].hi < v->uids[i])
			r++;
		if (r < set->n && v->uids[i] >= set->ranges[r].lo)
			out[n++] = v->uids[i];
	}
	return n;
}

bool imap_selected_uids(struct imap_session *s, const struct imap_arg *set, bool uid,
			uint32_t **uids_r, size_t *n_r, const char **why_r)
{
	const struct imap_selected *sel = s->selected;
	const struct store_view *v = &sel->view;
	struct imap_seqset ss;
	uint32_t star, *out;
	size_t n = 0;

	*uids_r = NULL;
	*n_r = 0;
	if (set->type != IMAP_ARG_ATOM) {
		*why_r = "Invalid sequence set";
		return false;
	}
	star = uid ? (v->n > 0 ? v->uids[v->n - 1] : 0) : v->n;
	if (!imap_seqset_parse(set->str, star, SELECTED_MAX_RANGES, &ss)) {
		*why_r = "Invalid sequence set";
		return false;
	}
	if (!uid && !ss.saved && ss.n > 0 && ss.ranges[ss.n - 1].hi > v->n) {
		/* RFC 9051 9 (seq-number): only numbers of existing messages;
		 * "*" in an empty mailbox names none (imap_seqset_parse). */
		imap_seqset_free(&ss);
		*why_r = "Invalid message sequence number";
		return false;
	}
	out = malloc((v->n > 0 ? v->n : 1) * sizeof(*out));
	if (out == NULL)
		abort();
	if (ss.saved) {
		/* "$" (RFC 5182 2.1): imap-update.c keeps it within the view */
		n = sel->n_saved;
		if (n > 0)
			memcpy(out, sel->saved, n * sizeof(*out));
	} else if (uid) {
		n = selected_uids_in(v, &ss, out);
	} else if (v->n > 0) {
		for (size_t r = 0; r < ss.n; r++) {
			for (uint32_t seq = ss.ranges[r].lo; seq <= ss.ranges[r].hi; seq++) {
				if (seq >= 1)
					out[n++] = v->uids[seq - 1];
			}
		}
	}
	imap_seqset_free(&ss);
	if (n == 0) {
		free(out);
		out = NULL;
	}
	*uids_r = out;
	*n_r = n;
	return true;
}

static void selected_send_more(struct imap_cmd *cmd)
{
	struct imap_selected *sel = cmd->s->selected;
	struct buf *out = sel->send;
	uint64_t max = cmd->s->cfg->limits.output_buffer;
	void (*then)(struct imap_cmd *cmd);

	if (max < SELECTED_SEND_PIECE_MIN)
		max = SELECTED_SEND_PIECE_MIN;
	if (max > SELECTED_SEND_PIECE_MAX)
		max = SELECTED_SEND_PIECE_MAX;

	while (sel->send_off < out->len) {
		size_t piece = out->len - sel->send_off;

		if (conn_is_closing(cmd->s->conn)) {
			sel->send_off = out->len;
			break;
		}
		if (conn_output_full(cmd->s->conn)) {
			cmd->drained = selected_send_more;
			return;
		}
		if (piece > max)
			piece = (size_t)max;
		imap_write(cmd->s, out->data + sel->send_off, piece);
		sel->send_off += piece;
	}
	cmd->drained = NULL;
	buf_release(out);
	free(out);
	sel->send = NULL;
	sel->send_off = 0;
	then = sel->send_then;
	sel->send_then = NULL;
	then(cmd);
}

void imap_selected_send(struct imap_cmd *cmd, struct buf **out, void (*then)(struct imap_cmd *cmd))
{
	struct imap_selected *sel = cmd->s->selected;

	sel->send = *out;
	*out = NULL;
	sel->send_off = 0;
	sel->send_then = then;
	selected_send_more(cmd);
}
