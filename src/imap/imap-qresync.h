/* imap-qresync - the sans-I/O pieces of QRESYNC (RFC 7162 3.2): the
 * SELECT/EXAMINE (QRESYNC (...)) parameter read into a struct, the
 * sequence-match rule of 3.2.5.2, the set of UIDs a resynchronising
 * client is told have vanished, and the VANISHED response writer. */
#ifndef TERN_IMAP_IMAP_QRESYNC_H
#define TERN_IMAP_IMAP_QRESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-seqset.h"

struct buf;
struct imap_arg;

/* At most this many ranges in each of the three sets (as written). */
#define IMAP_QRESYNC_MAX_RANGES 100000

/* QRESYNC (uidvalidity mod-sequence-value [known-uids]
 * [(known-sequence-set known-uid-set)]), RFC 7162 3.2.5 and 7. */
struct imap_qresync {
	uint32_t uidvalidity;          /* nz-number */
	uint64_t modseq;               /* 1 .. 2^63-1 */
	bool has_known_uids;
	struct imap_seqset known_uids; /* has_known_uids: the UIDs the client knows */
	/* The sequence-match data (3.2.5.2), has_match: the i-th message
	 * number of match_seqs is paired with the i-th UID of match_uids;
	 * both sets hold the same count of numbers, each written ascending. */
	bool has_match;
	struct imap_seqset match_seqs, match_uids;
};

/* Read the list that follows the QRESYNC atom of SELECT/EXAMINE
 * (`list` must be an IMAP_ARG_LIST: "(67890007 90060115194045000
 * 41:211 (1,7 41,211))"). Syntax only (the mailbox is not looked at):
 * false with *why_r (a static text for a tagged BAD) on anything else
 * than the grammar: 0 or more than 32 bits for UIDVALIDITY, 0 or more
 * than 63 bits for the MODSEQ (the CHANGEDSINCE 0 tolerance is FETCH's
 * only), "*" or "$" or 0 in a set, a set written out of ascending order,
 * match sets of different sizes, more than IMAP_QRESYNC_MAX_RANGES
 * ranges in a set, extra elements. On true the caller frees *q_r with
 * imap_qresync_free; on false there is nothing to free. */
bool imap_qresync_parse(const struct imap_arg *list, struct imap_qresync *q_r,
			const char **why_r);
void imap_qresync_free(struct imap_qresync *q);

/* RFC 7162 3.2.5.2: given the mailbox as the session now sees it (uids:
 * its n UIDs, ascending; uids[i] is message number i+1), the highest UID
 * of a sequence/UID pair of q that matches (the message numbered seq has
 * that UID): the client knows every expunge up to it, so no UID <= it is
 * reported vanished. 0 when q has no match data or no pair matches.
 * O(pair ranges * log n), whatever the size of the sets. */
uint32_t imap_qresync_match_uid(const struct imap_qresync *q, const uint32_t *uids, uint32_t n);

/* The UIDs to report in SELECT's VANISHED (EARLIER) (3.2.5.1), as
 * ascending disjoint ranges in *ranges_r (free(); NULL when none): those
 * of the client's known UIDs (known-uids, else 1:uidnext-1) above
 * imap_qresync_match_uid(q, uids, n) that are
 *   - complete: in expunged (store_expunged_since's list, ascending), or
 *   - !complete (the expunge horizon passed q->modseq): not in uids (the
 *     mailbox's UIDs, ascending): every UID the mailbox no longer holds.
 * UIDs from uidnext on never existed and are never listed. Never lists
 * the numbers one by one (known-uids may be 1:4294967295): at most
 * n + n_expunged + known-uids' ranges + 1 ranges. */
void imap_qresync_vanished(const struct imap_qresync *q, const uint32_t *uids, uint32_t n,
			   uint32_t uidnext, const uint32_t *expunged, size_t n_expunged,
			   bool complete, struct imap_range **ranges_r, size_t *n_ranges_r);

/* Longest VANISHED line written (clients limit line length): a longer
 * set is split into several responses. */
#define IMAP_VANISHED_LINE_MAX 8192

/* "* VANISHED (EARLIER) 1:3,7\r\n" (without "(EARLIER) " when !earlier)
 * for n ascending UIDs, ranges compressed, split into several responses
 * so that no line exceeds IMAP_VANISHED_LINE_MAX; nothing for n == 0. */
void imap_vanished_write(struct buf *out, bool earlier, const uint32_t *uids, size_t n);
/* The same for ascending disjoint ranges (imap_qresync_vanished's). */
void imap_vanished_write_ranges(struct buf *out, bool earlier, const struct imap_range *ranges,
				size_t n);

#endif
