/* fuzz-imap-qresync - libFuzzer harness for the QRESYNC parameter
 * (imap/imap-qresync.h). Input: what follows "QRESYNC " in a SELECT (run
 * through the real command parser). A parameter that reads must hold its
 * bounds (UIDVALIDITY and MODSEQ not 0, MODSEQ of 63 bits, match sets of
 * one size); then against a mailbox made from the input, the match UID
 * must be a UID of it, the VANISHED set ascending, inside the known UIDs,
 * above the match and below UIDNEXT, and its VANISHED lines bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fuzz-imap-command.h"
#include "imap/imap-qresync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t set_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (set->ranges[i].lo == 0 || set->ranges[i].lo > set->ranges[i].hi ||
		    (i > 0 && set->ranges[i].lo <= set->ranges[i - 1].hi))
			abort();
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	}
	return n;
}

/* A mailbox from the input's bytes: UIDs ascending, gaps of 1..4. */
static uint32_t fuzz_mailbox(const uint8_t *data, size_t size, uint32_t *uids, uint32_t max)
{
	uint32_t n = 0, uid = 0;

	for (size_t i = 0; i < size && n < max; i++) {
		uid += 1 + data[i] % 4;
		uids[n++] = uid;
	}
	return n;
}

static void fuzz_check(const struct imap_qresync *q, const uint8_t *data, size_t size)
{
	uint32_t uids[512], n = fuzz_mailbox(data, size, uids, 512);
	uint32_t uidnext = (n > 0 ? uids[n - 1] : 0) + 1 + (uint32_t)(size % 7);
	uint32_t match = imap_qresync_match_uid(q, uids, n);
	struct imap_range *r;
	size_t n_r;
	struct buf out;

	if (q->uidvalidity == 0 || q->modseq == 0 || q->modseq > INT64_MAX)
		abort();
	if (q->has_known_uids)
		(void)set_count(&q->known_uids);
	if (q->has_match && set_count(&q->match_seqs) != set_count(&q->match_uids))
		abort();
	if (match != 0) {
		bool found = false;

		for (uint32_t i = 0; i < n; i++)
			found |= uids[i] == match;
		if (!found)
			abort();
	}
	for (int complete = 0; complete < 2; complete++) {
		/* "expunged": the odd UIDs below UIDNEXT the mailbox lacks */
		uint32_t exp[1024];
		size_t n_exp = 0, k = 0;

		for (uint32_t u = 1; u < uidnext && n_exp < 1024; u += 2) {
			while (k < n && uids[k] < u)
				k++;
			if (k == n || uids[k] != u)
				exp[n_exp++] = u;
		}
		imap_qresync_vanished(q, uids, n, uidnext, exp, n_exp, complete != 0, &r, &n_r);
		for (size_t i = 0; i < n_r; i++) {
			if (r[i].lo > r[i].hi || r[i].lo <= match || r[i].hi >= uidnext ||
			    (i > 0 && r[i].lo <= r[i - 1].hi + 1))
				abort();
			if (q->has_known_uids && (!imap_seqset_contains(&q->known_uids, r[i].lo) ||
						  !imap_seqset_contains(&q->known_uids, r[i].hi)))
				abort();
		}
		buf_init(&out, 0);
		imap_vanished_write_ranges(&out, complete != 0, r, n_r);
		for (size_t pos = 0; pos < out.len;) {
			const char *end = memchr(out.data + pos, '\n', out.len - pos);

			if (end == NULL || (size_t)(end - out.data) + 1 - pos > IMAP_VANISHED_LINE_MAX)
				abort();
			pos = (size_t)(end - out.data) + 1;
		}
		buf_release(&out);
		free(r);
	}
}

static void fuzz_qresync(const struct imap_parsed *cmd, const uint8_t *data, size_t size)
{
	struct imap_qresync q;
	const char *why;

	if (cmd->n_args == 0)
		return;
	if (imap_qresync_parse(&cmd->args[0], &q, &why)) {
		if (why != NULL)
			abort();
		fuzz_check(&q, data, size);
		imap_qresync_free(&q);
	} else if (why == NULL || q.has_known_uids || q.has_match) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_imap_command("a X ", data, size, fuzz_qresync);
	return 0;
}
