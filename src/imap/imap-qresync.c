/* imap-qresync - the QRESYNC parameter of SELECT/EXAMINE, its sequence
 * match, the VANISHED (EARLIER) set and the VANISHED writer; see
 * imap-qresync.h. No I/O: the caller gives the mailbox's state. */
#include "imap/imap-qresync.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-arg.h"

#define QRESYNC_SYNTAX "QRESYNC takes (uidvalidity modseq [known-uids] [(seqs uids)])"

/* A set of the parameter: an atom, no "*" nor "$" (RFC 7162 7:
 * known-uids, known-sequence-set and known-uid-set say "*" is not
 * allowed), written ascending when `ordered`. */
static bool qresync_set(const struct imap_arg *arg, bool ordered, struct imap_seqset *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	if (arg->type != IMAP_ARG_ATOM || strpbrk(arg->str, "*$") != NULL ||
	    !imap_seqset_parse(arg->str, 0, IMAP_QRESYNC_MAX_RANGES, set_r))
		return false;
	if (ordered && !set_r->ordered) {
		imap_seqset_free(set_r);
		return false;
	}
	return true;
}

static uint64_t seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

/* (known-sequence-set known-uid-set), RFC 7162 3.2.5.2. */
static bool qresync_match(const struct imap_arg *list, struct imap_qresync *q,
			  const char **why_r)
{
	if (list->n != 2) {
		*why_r = "QRESYNC: the match data is (known-sequence-set known-uid-set)";
		return false;
	}
	if (!qresync_set(&list->list[0], true, &q->match_seqs) ||
	    !qresync_set(&list->list[1], true, &q->match_uids)) {
		*why_r = "QRESYNC: bad match set (ascending numbers, no \"*\")";
		return false;
	}
	q->has_match = true;
	if (seqset_count(&q->match_seqs) != seqset_count(&q->match_uids)) {
		*why_r = "QRESYNC: the match sets differ in size";
		return false;
	}
	return true;
}

bool imap_qresync_parse(const struct imap_arg *list, struct imap_qresync *q_r,
			const char **why_r)
{
	const struct imap_arg *a = list->list;
	size_t i = 2;

	memset(q_r, 0, sizeof(*q_r));
	*why_r = NULL;
	if (list->type != IMAP_ARG_LIST || list->n < 2 || list->n > 4) {
		*why_r = QRESYNC_SYNTAX;
		return false;
	}
	/* uidvalidity = nz-number; mod-sequence-value is 1 .. 2^63-1
	 * (RFC 7162 7; only FETCH's CHANGEDSINCE is tolerated at 0). */
	if (!imap_arg_number(&a[0], &q_r->uidvalidity) || q_r->uidvalidity == 0) {
		*why_r = "QRESYNC: bad UIDVALIDITY";
		return false;
	}
	if (!imap_arg_number64(&a[1], &q_r->modseq) || q_r->modseq == 0) {
		*why_r = "QRESYNC: bad mod-sequence";
		return false;
	}
	if (i < list->n && a[i].type != IMAP_ARG_LIST) {
		if (!qresync_set(&a[i], false, &q_r->known_uids)) {
			*why_r = "QRESYNC: bad known UIDs";
			return false;
		}
		q_r->has_known_uids = true;
		i++;
	}
	if (i < list->n && a[i].type == IMAP_ARG_LIST) {
		if (!qresync_match(&a[i], q_r, why_r)) {
			imap_qresync_free(q_r);
			return false;
		}
		i++;
	}
	if (i != list->n) {
		imap_qresync_free(q_r);
		*why_r = QRESYNC_SYNTAX;
		return false;
	}
	return true;
}

void imap_qresync_free(struct imap_qresync *q)
{
	imap_seqset_free(&q->known_uids);
	imap_seqset_free(&q->match_seqs);
	imap_seqset_free(&q->match_uids);
	memset(q, 0, sizeof(*q));
}

/* The pairs of the match data, walked as segments over which both the
 * message number and the UID go up by one. */
struct pair_walk {
	const struct imap_seqset *seqs, *uids;
	size_t i, j;               /* current range of each */
	uint64_t off_i, off_j;     /* numbers of it already walked */
};

static bool pair_next(struct pair_walk *w, uint64_t *seq_r, uint64_t *uid_r, uint64_t *len_r)
{
	const struct imap_range *a, *b;
	uint64_t left_a, left_b;

	if (w->i >= w->seqs->n || w->j >= w->uids->n)
		return false;
	a = &w->seqs->ranges[w->i];
	b = &w->uids->ranges[w->j];
	*seq_r = a->lo + w->off_i;
	*uid_r = b->lo + w->off_j;
	left_a = a->hi - *seq_r + 1;
	left_b = b->hi - *uid_r + 1;
	*len_r = left_a < left_b ? left_a : left_b;
	if ((w->off_i += *len_r) == (uint64_t)a->hi - a->lo + 1) {
		w->i++;
		w->off_i = 0;
	}
	if ((w->off_j += *len_r) == (uint64_t)b->hi - b->lo + 1) {
		w->j++;
		w->off_j = 0;
	}
	return true;
}

/* uids[j] - j: it never goes down, since UIDs go up by at least one. */
static int64_t uid_gap(const uint32_t *uids, uint64_t j)
{
	return (int64_t)uids[j] - (int64_t)j;
}

uint32_t imap_qresync_match_uid(const struct imap_qresync *q, const uint32_t *uids, uint32_t n)
{
	struct pair_walk w = { .seqs = &q->match_seqs, .uids = &q->match_uids };
	uint64_t seq, uid, len;
	uint32_t best = 0;

	if (!q->has_match)
		return 0;
	/* Message seq has UID uid when uids[seq-1] - (seq-1) == uid - (seq-1):
	 * along a segment the pairs' side of that is constant, the
	 * mailbox's side never goes down, so the pairs that match are one
	 * run, and the last of them is found by bisection. */
	while (pair_next(&w, &seq, &uid, &len) && seq <= n) {
		int64_t want = (int64_t)uid - (int64_t)(seq - 1);
		uint64_t lo = seq - 1, hi = seq - 1 + len - 1;

		if (hi > (uint64_t)n - 1)
			hi = (uint64_t)n - 1;
		if (uid_gap(uids, lo) > want)
			continue;
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo + 1) / 2;

			if (uid_gap(uids, mid) <= want)
				lo = mid;
			else
				hi = mid - 1;
		}
		if (uid_gap(uids, lo) == want && uids[lo] > best)
			best = uids[lo];
	}
	return best;
}

struct range_list {
	struct imap_range *r;
	size_t n, cap;
};

/* Append [lo, hi] (above every range so far), joined to the last one
 * when they touch. */
static void ranges_add(struct range_list *l, uint32_t lo, uint32_t hi)
{
	if (l->n > 0 && l->r[l->n - 1].hi + 1 == lo) {
		l->r[l->n - 1].hi = hi;
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->r = realloc(l->r, l->cap * sizeof(*l->r));
		if (l->r == NULL)
			abort();
	}
	l->r[l->n++] = (struct imap_range){ lo, hi };
}

/* The UIDs of [lo, hi] the mailbox does not hold; *p is where uids[]
 * was left by the range before (ranges come ascending). */
static void ranges_add_missing(struct range_list *l, const uint32_t *uids, uint32_t n,
			       uint32_t *p, uint32_t lo, uint32_t hi)
{
	uint64_t cur = lo;

	while (*p < n && uids[*p] < lo)
		(*p)++;
	for (; *p < n && uids[*p] <= hi; (*p)++) {
		uint32_t uid = uids[*p];

		if (uid > cur)
			ranges_add(l, (uint32_t)cur, uid - 1);
		cur = (uint64_t)uid + 1;
	}
	if (cur <= hi)
		ranges_add(l, (uint32_t)cur, hi);
}

void imap_qresync_vanished(const struct imap_qresync *q, const uint32_t *uids, uint32_t n,
			   uint32_t uidnext, const uint32_t *expunged, size_t n_expunged,
			   bool complete, struct imap_range **ranges_r, size_t *n_ranges_r)
{
	/* RFC 7162 3.2.5.1: without known-uids, 1:<UIDNEXT-1>. */
	struct imap_range all = { 1, uidnext > 1 ? uidnext - 1 : 0 };
	const struct imap_range *known = q->has_known_uids ? q->known_uids.ranges : &all;
	size_t n_known = q->has_known_uids ? q->known_uids.n : uidnext > 1 ? 1 : 0;
	/* 3.2.5.2: nothing up to the last pair that matches. */
	uint32_t first = imap_qresync_match_uid(q, uids, n) + 1;
	struct range_list l = { 0 };
	uint32_t p = 0;
	size_t k = 0;

	if (uidnext > 1) {
		for (size_t i = 0; i < n_known; i++) {
			uint32_t lo = known[i].lo > first ? known[i].lo : first;
			uint32_t hi = known[i].hi < uidnext - 1 ? known[i].hi : uidnext - 1;

			if (lo > hi)
				continue;
			if (!complete) {
				ranges_add_missing(&l, uids, n, &p, lo, hi);
				continue;
			}
			while (k < n_expunged && expunged[k] < lo)
				k++;
			for (; k < n_expunged && expunged[k] <= hi; k++)
				ranges_add(&l, expunged[k], expunged[k]);
		}
	}
	*ranges_r = l.r;
	*n_ranges_r = l.n;
}

/* VANISHED lines being written: a new one starts before a range would
 * take the current one past IMAP_VANISHED_LINE_MAX. */
struct vanished_out {
	struct buf *out;
	bool earlier;
	size_t line;               /* bytes of the open line; 0: none */
};

/* The longest range written: "4294967295:4294967295". */
#define VANISHED_RANGE_MAX 21

static void vanished_add(struct vanished_out *v, const struct imap_range *range)
{
	size_t before;

	if (v->line > 0 && v->line + 1 + VANISHED_RANGE_MAX + 2 > IMAP_VANISHED_LINE_MAX) {
		buf_append(v->out, "\r\n", 2);
		v->line = 0;
	}
	before = v->out->len;
	if (v->line == 0)
		buf_append_str(v->out, v->earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	else
		buf_append(v->out, ",", 1);
	imap_range_write(v->out, range);
	v->line += v->out->len - before;
}

static void vanished_end(struct vanished_out *v)
{
	if (v->line > 0)
		buf_append(v->out, "\r\n", 2);
}

void imap_vanished_write(struct buf *out, bool earlier, const uint32_t *uids, size_t n)
{
	struct vanished_out v = { .out = out, .earlier = earlier };
	struct imap_range range;
	size_t i = 0;

	while (imap_seqset_next_run(uids, n, &i, &range))
		vanished_add(&v, &range);
	vanished_end(&v);
}

void imap_vanished_write_ranges(struct buf *out, bool earlier, const struct imap_range *ranges,
				size_t n)
{
	struct vanished_out v = { .out = out, .earlier = earlier };

	for (size_t i = 0; i < n; i++)
		vanished_add(&v, &ranges[i]);
	vanished_end(&v);
}
