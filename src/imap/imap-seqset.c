/* imap-seqset - sequence sets read into sorted, merged ranges, and UID
 * lists written back; see imap-seqset.h. */
#include "imap/imap-seqset.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* RFC 9051 9: seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT,
 * a non-zero 32-bit number without leading zeros. Returns the position
 * after it, NULL when there is none. */
static const char *imap_seq_number(const char *s, uint32_t star, uint32_t *n_r)
{
	uint64_t n = 0;

	if (*s == '*') {
		*n_r = star;
		return s + 1;
	}
	if (*s < '1' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return NULL;
	}
	*n_r = (uint32_t)n;
	return s;
}

static int imap_range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

bool imap_seqset_parse(const char *s, uint32_t star, size_t max_ranges,
		       struct imap_seqset *set_r)
{
	struct imap_range *r = NULL;
	size_t n = 0, cap = 0, count = 0;

	memset(set_r, 0, sizeof(*set_r));
	/* RFC 5182 / RFC 9051 9: seq-last-command, "$" alone. */
	if (strcmp(s, "$") == 0) {
		set_r->saved = true;
		return true;
	}
	set_r->ordered = true;
	for (;;) {
		uint32_t lo, hi;

		if ((s = imap_seq_number(s, star, &lo)) == NULL)
			goto fail;
		hi = lo;
		if (*s == ':' && (s = imap_seq_number(s + 1, star, &hi)) == NULL)
			goto fail;
		if (lo > hi || (n > 0 && lo <= r[n - 1].hi))
			set_r->ordered = false;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (++count > max_ranges)
			goto fail;
		/* "*" is 0 in an empty mailbox (the only way to get a 0):
		 * a range with it holds nothing. */
		if (lo > 0) {
			if (n == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				r = realloc(r, cap * sizeof(*r));
				if (r == NULL)
					abort();
			}
			r[n++] = (struct imap_range){ lo, hi };
		}
		if (*s == '\0')
			break;
		if (*s++ != ',')
			goto fail;
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), imap_range_cmp);
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m > 0 && (r[m - 1].hi == UINT32_MAX || r[i].lo <= r[m - 1].hi + 1)) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
		} else {
			r[m++] = r[i];
		}
	}
	set_r->ranges = r;
	set_r->n = m;
	return true;
fail:
	free(r);
	return false;
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool imap_seqset_next_run(const uint32_t *nums, size_t n, size_t *i, struct imap_range *range_r)
{
	size_t j = *i;

	if (j >= n)
		return false;
	while (j + 1 < n && nums[j + 1] <= nums[j] + 1 && nums[j] != UINT32_MAX)
		j++;
	range_r->lo = nums[*i];
	range_r->hi = nums[j];
	*i = j + 1;
	return true;
}

void imap_range_write(struct buf *out, const struct imap_range *range)
{
	if (range->lo == range->hi)
		buf_printf(out, "%u", range->lo);
	else
		buf_printf(out, "%u:%u", range->lo, range->hi);
}

void imap_seqset_write(struct buf *out, const uint32_t *nums, size_t n)
{
	struct imap_range range;
	bool first = true;
	size_t i = 0;

	while (imap_seqset_next_run(nums, n, &i, &range)) {
		if (!first)
			buf_append(out, ",", 1);
		first = false;
		imap_range_write(out, &range);
	}
}
