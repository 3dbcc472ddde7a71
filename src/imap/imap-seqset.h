/* imap-seqset - sequence sets (RFC 9051 9: sequence-set, seq-range, "*",
 * and "$" of SEARCHRES, RFC 5182) read into sorted, merged ranges, and
 * UID lists written back compactly (COPYUID, APPENDUID, ESEARCH ALL). */
#ifndef TERN_IMAP_IMAP_SEQSET_H
#define TERN_IMAP_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct imap_range {
	uint32_t lo, hi;            /* lo <= hi */
};

struct imap_seqset {
	struct imap_range *ranges;  /* ascending, disjoint, not adjacent */
	size_t n;
	bool saved;                 /* the set was "$": the caller substitutes its saved result */
	/* As written, each range ascending ("3:1" is not) and above the one
	 * before it, so that the n-th number written is the n-th of the set
	 * (RFC 7162 3.2.5.2 pairs two sets by position). */
	bool ordered;
};

/* Read `s`. "*" stands for `star` (the largest message number or UID in
 * use; 0 in an empty mailbox, where a range with "*" ("*", "1:*") then
 * matches nothing: the set may be empty). "3:1" is
 * "1:3" (RFC 9051 9). Returns false for anything else than the grammar,
 * 0 as a number included; at most `max_ranges` ranges before merging. */
bool imap_seqset_parse(const char *s, uint32_t star, size_t max_ranges,
		       struct imap_seqset *set_r);
void imap_seqset_free(struct imap_seqset *set);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);

/* Write ascending numbers as "1:3,7,9:10". */
void imap_seqset_write(struct buf *out, const uint32_t *nums, size_t n);
/* The run of consecutive numbers that starts at nums[*i] (nums ascending,
 * n of them) as a range; *i moves past it. false when *i is at n. */
bool imap_seqset_next_run(const uint32_t *nums, size_t n, size_t *i, struct imap_range *range_r);
/* Write one range: "7" or "9:10". */
void imap_range_write(struct buf *out, const struct imap_range *range);

#endif
