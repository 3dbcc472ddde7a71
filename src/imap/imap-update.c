/* imap-update - the untagged updates a selected session owes (EXPUNGE,
 * FETCH FLAGS, EXISTS, RECENT), folded from what the store reports changed
 * into the session's view. No I/O: the responses go into a buffer that
 * imap-sync.c sends, so the numbering rules are tested on their own. */
#include "imap/imap-selected.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-flags.h"
#include "imap/imap-qresync.h"

/* The index of `uid` in the ascending uids[0..n), or n when absent. */
static size_t update_find(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] < uid)
			lo = mid + 1;
		else if (uids[mid] > uid)
			hi = mid;
		else
			return mid;
	}
	return n;
}

uint32_t imap_view_seq(const struct store_view *v, uint32_t uid)
{
	size_t at = update_find(v->uids, v->n, uid);

	return at < v->n ? (uint32_t)(at + 1) : 0;
}

uint32_t imap_selected_seq(const struct imap_selected *sel, uint32_t uid)
{
	return imap_view_seq(&sel->view, uid);
}

void imap_selected_flags_set(struct imap_selected *sel, uint32_t uid, unsigned flags,
			     uint64_t modseq)
{
	uint32_t seq = imap_selected_seq(sel, uid);

	if (seq != 0 && sel->view.flags[seq - 1] != (uint8_t)flags) {
		imap_view_private(sel);
		sel->view.flags[seq - 1] = (uint8_t)flags;
	}
	if (imap_selected_own(sel, modseq))
		return;
	if (sel->n_own == IMAP_SELECTED_OWN_MAX) {
		/* Full (many STOREs without a sync between): the oldest may be
		 * repeated to the client, which is harmless. */
		memmove(sel->own, sel->own + 1, (IMAP_SELECTED_OWN_MAX - 1) * sizeof(sel->own[0]));
		sel->n_own--;
	}
	sel->own[sel->n_own++] = modseq;
}

/* Only UIDs the view still holds join, in a sorted merge without
 * duplicates: a UID may be reported twice, by the store's answer to
 * EXPUNGE and by a later read of the changes. */
void imap_update_pending(struct imap_selected *sel, const uint32_t *expunged, size_t n)
{
	uint32_t *merged;
	size_t i = 0, j = 0, k = 0;

	if (n == 0)
		return;
	/* Every UID of `expunged` went after sel->modseq (a sync's read
	 * from it, or the session's own expunge). */
	if (sel->n_pending == 0)
		sel->pending_modseq = sel->modseq;
	merged = malloc((sel->n_pending + n) * sizeof(*merged));
	if (merged == NULL)
		abort();
	while (i < sel->n_pending || j < n) {
		uint32_t uid;

		if (j == n || (i < sel->n_pending && sel->pending[i] <= expunged[j])) {
			uid = sel->pending[i++];
		} else {
			uid = expunged[j++];
			if (update_find(sel->view.uids, sel->view.n, uid) == sel->view.n)
				continue;       /* never in the view, or already told */
		}
		if (k == 0 || merged[k - 1] != uid)
			merged[k++] = uid;
	}
	free(sel->pending);
	sel->pending = merged;
	sel->n_pending = k;
	if (k == 0) {
		free(merged);
		sel->pending = NULL;
	}
}

/* RFC 5182 2.1: an expunged message leaves the saved result "$" too,
 * when its EXPUNGE is sent (both lists ascending: one pass). */
static void update_expunge_saved(struct imap_selected *sel)
{
	size_t w = 0, p = 0;

	for (size_t r = 0; r < sel->n_saved; r++) {
		while (p < sel->n_pending && sel->pending[p] < sel->saved[r])
			p++;
		if (p < sel->n_pending && sel->pending[p] == sel->saved[r])
			continue;
		sel->saved[w++] = sel->saved[r];
	}
	sel->n_saved = w;
	if (w == 0) {
		free(sel->saved);
		sel->saved = NULL;
	}
}

/* EXPUNGE for every pending UID, highest number first: a number sent
 * then stays right for the next line (RFC 9051 7.5.1: each EXPUNGE
 * lowers the numbers above it); or, once QRESYNC is on, VANISHED of
 * their UIDs (RFC 7162 3.2.10.2: only messages the session was told of,
 * which the pending ones all are). The messages then leave the view. */
static void update_expunge(struct imap_selected *sel, bool vanished, struct buf *out)
{
	struct store_view *v = &sel->view;
	size_t w = 0, p = 0;

	imap_view_private(sel);
	if (vanished)
		imap_vanished_write(out, false, sel->pending, sel->n_pending);
	for (size_t i = sel->n_pending; !vanished && i-- > 0;) {
		size_t at = update_find(v->uids, v->n, sel->pending[i]);

		if (at < v->n)
			buf_printf(out, "* %zu EXPUNGE\r\n", at + 1);
	}
	for (size_t r = 0; r < v->n; r++) {
		if (p < sel->n_pending && sel->pending[p] == v->uids[r]) {
			p++;
			continue;
		}
		v->uids[w] = v->uids[r];
		v->flags[w] = v->flags[r];
		w++;
	}
	v->n = (uint32_t)w;
	update_expunge_saved(sel);
	free(sel->pending);
	sel->pending = NULL;
	sel->n_pending = 0;
}

uint64_t imap_selected_modseq(const struct imap_selected *sel)
{
	return sel->n_pending > 0 ? sel->pending_modseq : sel->modseq;
}

bool imap_selected_own(const struct imap_selected *sel, uint64_t modseq)
{
	for (size_t i = 0; i < sel->n_own; i++) {
		if (sel->own[i] == modseq)
			return true;
	}
	return false;
}

uint32_t imap_update_recent_count(const struct imap_selected *sel)
{
	uint32_t n = 0;

	if (sel->first_recent == 0)
		return 0;
	for (size_t i = sel->view.n; i-- > 0 && sel->view.uids[i] >= sel->first_recent;)
		n++;
	return n;
}

/* rev1: new messages are \Recent here unless another session selected
 * the mailbox first (RFC 3501 2.3.2). The watermark store_recent_take
 * gave, `from`, says which: messages from it on are ours. With \Recent
 * messages of our own already before the new ones, one watermark cannot
 * also leave out what another session took in between (rare: it selected
 * the mailbox while we had it): those are counted \Recent here too. */
static void update_recent(struct imap_selected *sel, uint32_t last_old, uint32_t from)
{
	if (from == 0)
		return;
	if (sel->first_recent == 0 || sel->first_recent > last_old)
		sel->first_recent = from;
}

void imap_update_write(struct imap_selected *sel, const struct store_message *changed,
		       size_t n_changed, const uint32_t *expunged, size_t n_expunged,
		       unsigned mode, uint32_t recent_from, struct buf *out)
{
	struct store_view *v = &sel->view;
	bool rev1 = (mode & IMAP_UPDATE_REV1) != 0;
	uint32_t last_old, n_new = 0;

	imap_update_pending(sel, expunged, n_expunged);
	if ((mode & IMAP_UPDATE_EXPUNGE) && sel->n_pending > 0)
		update_expunge(sel, (mode & IMAP_UPDATE_VANISHED) != 0, out);
	if (n_changed > 0)
		imap_view_private(sel);
	last_old = v->n > 0 ? v->uids[v->n - 1] : 0;
	for (size_t i = 0; i < n_changed; i++) {
		const struct store_message *m = &changed[i];
		size_t at;

		if (m->uid > last_old) {
			n_new++;
			continue;
		}
		at = update_find(v->uids, v->n, m->uid);
		if (at == v->n)
			continue;
		v->flags[at] = store_view_flags(m->flags, m->keywords);
		if (imap_selected_own(sel, m->modseq))
			continue;
		buf_printf(out, "* %zu FETCH (UID %u FLAGS ", at + 1, m->uid);
		imap_flags_write(out, m->flags, m->keywords,
				 rev1 && sel->first_recent != 0 && m->uid >= sel->first_recent);
		if (mode & IMAP_UPDATE_MODSEQ)
			buf_printf(out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
		buf_append_str(out, ")\r\n");
	}
	if (n_new == 0)
		return;
	v->uids = realloc(v->uids, (v->n + n_new) * sizeof(*v->uids));
	v->flags = realloc(v->flags, (v->n + n_new) * sizeof(*v->flags));
	if (v->uids == NULL || v->flags == NULL)
		abort();
	for (size_t i = 0; i < n_changed; i++) {
		if (changed[i].uid <= last_old)
			continue;
		v->uids[v->n] = changed[i].uid;
		v->flags[v->n] = store_view_flags(changed[i].flags, changed[i].keywords);
		v->n++;
		if (changed[i].uid >= v->uidnext)
			v->uidnext = changed[i].uid + 1;
	}
	buf_printf(out, "* %u EXISTS\r\n", v->n);
	if (rev1) {
		update_recent(sel, last_old, recent_from);
		buf_printf(out, "* %u RECENT\r\n", imap_update_recent_count(sel));
	}
}
