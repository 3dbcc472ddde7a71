/* fuzz-imap-seqset - libFuzzer harness for sequence sets and modified
 * UTF-7: a set read is sorted, disjoint and bounded, and written back and
 * read again it is the same set; a name decoded from modified UTF-7
 * encodes to a form that decodes the same, and valid UTF-8 survives the
 * round trip exactly. Input: four bytes of "*", then the text. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "imap/imap-seqset.h"
#include "imap/imap-utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RANGES 64
#define FUZZ_MAX_NUMS 4096

static void fuzz_seqset(const char *s, uint32_t star)
{
	struct imap_seqset set, again;
	uint32_t *nums;
	size_t n = 0;
	struct buf out;

	if (!imap_seqset_parse(s, star, FUZZ_MAX_RANGES, &set))
		return;
	if (set.n > FUZZ_MAX_RANGES || (set.saved && set.n != 0))
		abort();
	for (size_t i = 0; i < set.n; i++) {
		const struct imap_range *r = &set.ranges[i];

		if (r->lo == 0 || r->lo > r->hi || (i > 0 && r->lo <= set.ranges[i - 1].hi + 1))
			abort();
		if (!imap_seqset_contains(&set, r->lo) || !imap_seqset_contains(&set, r->hi) ||
		    imap_seqset_contains(&set, r->lo - 1))
			abort();
	}
	/* Small sets: every number, written and read back. */
	nums = malloc(FUZZ_MAX_NUMS * sizeof(*nums));
	if (nums == NULL)
		abort();
	for (size_t i = 0; i < set.n && n < FUZZ_MAX_NUMS; i++)
		for (uint64_t v = set.ranges[i].lo; v <= set.ranges[i].hi && n < FUZZ_MAX_NUMS; v++)
			nums[n++] = (uint32_t)v;
	if (n > 0 && n < FUZZ_MAX_NUMS) {
		buf_init(&out, 0);
		imap_seqset_write(&out, nums, n);
		buf_append(&out, "", 1);
		if (!imap_seqset_parse(out.data, star, FUZZ_MAX_RANGES, &again) || again.n != set.n ||
		    memcmp(again.ranges, set.ranges, set.n * sizeof(*set.ranges)) != 0)
			abort();
		imap_seqset_free(&again);
		buf_release(&out);
	}
	free(nums);
	imap_seqset_free(&set);
}

static void fuzz_utf7(const char *s, size_t len)
{
	struct buf a, b, c;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&c, 0);
	if (imap_utf7_to_utf8(s, &a)) {
		if (!imap_utf8_to_utf7(a.data, &b) || !imap_utf7_to_utf8(b.data, &c) ||
		    strcmp(a.data, c.data) != 0)
			abort();
	}
	buf_reset(&a);
	buf_reset(&b);
	if (imap_utf8_to_utf7(s, &a) != utf8_valid((const unsigned char *)s, len))
		abort();
	if (a.len > 0 && (!imap_utf7_to_utf8(a.data, &b) || strcmp(b.data, s) != 0))
		abort();
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t star;
	char *s;

	if (size < 4)
		return 0;
	star = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	/* Mostly small mailboxes, so that sets stay small enough to list. */
	if ((data[0] & 0x80) == 0)
		star &= 0x3ff;
	s = malloc(size - 3);
	if (s == NULL)
		abort();
	memcpy(s, data + 4, size - 4);
	s[size - 4] = '\0';
	fuzz_seqset(s, star);
	fuzz_utf7(s, strlen(s));
	free(s);
	return 0;
}
