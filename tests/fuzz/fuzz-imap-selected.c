/* fuzz-imap-selected - libFuzzer harness for the selected mailbox's pure
 * parts. First byte even: the rest is STORE's arguments ("+FLAGS (...)"),
 * taken apart by the command parser and read by imap_store_args_parse;
 * what it accepts must hold only valid, distinct keywords, within the
 * bound. Odd: the rest drives the update writer over a view (rounds of
 * expunges, flag changes and new messages, with EXPUNGE allowed or not,
 * as EXPUNGE or QRESYNC's VANISHED lines, with CONDSTORE's MODSEQ or
 * not); the view must stay ascending, the owed expunges inside it, and
 * every EXPUNGE, VANISHED and EXISTS line must match the view. Some
 * rounds share the view with a twin session first (imap-view-share.c):
 * whatever the round writes, the twin's bytes must not change. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "imap/imap-flags.h"
#include "imap/imap-parser.h"
#include "imap/imap-selected.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits fuzz_limits = {
	.max_line = 8192, .max_literal = 1024, .max_literals = 4096,
	.max_depth = 8, .max_args = 500,
};

static void fuzz_store_args(const uint8_t *data, size_t size)
{
	struct imap_parser *p = imap_parser_new(&fuzz_limits);
	struct buf in;
	size_t off = 0, used;
	enum imap_parse_result r;

	buf_init(&in, 0);
	buf_append_str(&in, "a STORE 1 ");
	buf_append(&in, data, size);
	buf_append_str(&in, "\r\n");
	while ((r = imap_parser_feed(p, in.data + off, in.len - off, &used)) == IMAP_PARSE_CONTINUE)
		off += used;
	if (r == IMAP_PARSE_COMMAND) {
		const struct imap_parsed *cmd = imap_parser_command(p);
		struct imap_store_args args;
		const char *why;

		if (cmd->n_args < 1) {
			imap_parser_free(&p);
			buf_release(&in);
			return;
		}
		if (imap_store_args_parse(cmd->args + 1, cmd->n_args - 1, &args, &why) ==
		    IMAP_STORE_PARSE_OK) {
			const char *k = args.keywords.data, *end = k + args.keywords.len;
			size_t n = 0;

			if (args.n_keywords > STORE_MAILBOX_KEYWORDS_MAX || (args.flags & ~0x1fu) != 0)
				__builtin_trap();
			while (args.keywords.len > 0 && k <= end) {
				const char *sp = memchr(k, ' ', (size_t)(end - k));
				size_t len = sp != NULL ? (size_t)(sp - k) : (size_t)(end - k);

				if (len == 0 || k[0] == '\\')
					__builtin_trap();
				for (const char *o = args.keywords.data; o < k; o++) {
					if ((o == args.keywords.data || o[-1] == ' ') &&
					    strncasecmp(o, k, len) == 0 && (o[len] == ' '))
						__builtin_trap();    /* a repeat */
				}
				n++;
				k += len + 1;
			}
			if (n != args.n_keywords)
				__builtin_trap();
		}
		imap_store_args_free(&args);
	}
	imap_parser_free(&p);
	buf_release(&in);
}

static void fuzz_check(const struct imap_selected *sel)
{
	for (uint32_t i = 1; i < sel->view.n; i++) {
		if (sel->view.uids[i - 1] >= sel->view.uids[i])
			__builtin_trap();
	}
	for (size_t i = 0; i < sel->n_pending; i++) {
		if ((i > 0 && sel->pending[i - 1] >= sel->pending[i]) ||
		    imap_selected_seq(sel, sel->pending[i]) == 0)
			__builtin_trap();
	}
}

/* Takes the UIDs of "* VANISHED set" out of v[0..*n). */
static void fuzz_vanish(uint32_t *v, uint32_t *n, const char *set, const char *end)
{
	char *copy = strndup(set, (size_t)(end - set));
	struct imap_seqset ss;
	uint64_t named = 0;
	uint32_t w = 0;

	if (copy == NULL)
		abort();
	if (!imap_seqset_parse(copy, 0, 100000, &ss))
		__builtin_trap();
	for (uint32_t i = 0; i < *n; i++)
		if (!imap_seqset_contains(&ss, v[i]))
			v[w++] = v[i];
	/* VANISHED names only messages the session holds (RFC 7162 3.2.10.2) */
	for (size_t r = 0; r < ss.n; r++)
		named += (uint64_t)ss.ranges[r].hi - ss.ranges[r].lo + 1;
	if (named != *n - w)
		__builtin_trap();
	*n = w;
	imap_seqset_free(&ss);
	free(copy);
}

/* Replays the EXPUNGE and VANISHED lines on a copy of the old view: the
 * result must be the new view. */
static void fuzz_replay(const uint32_t *old, uint32_t n_old, const struct imap_selected *sel,
			const struct buf *out)
{
	uint32_t *v = malloc((n_old + 1) * sizeof(*v)), n = n_old;
	const char *p = out->data, *end = out->data + out->len;

	if (v == NULL)
		abort();
	memcpy(v, old, n_old * sizeof(*v));
	while (p != NULL && p < end) {
		unsigned long seq;
		char *after;

		if (strncmp(p, "* VANISHED ", 11) == 0) {
			const char *eol = memchr(p, '\r', (size_t)(end - p));

			if (eol == NULL)
				__builtin_trap();
			fuzz_vanish(v, &n, p + 11, eol);
		} else if (strncmp(p, "* ", 2) == 0) {
			seq = strtoul(p + 2, &after, 10);
			if (strncmp(after, " EXPUNGE\r\n", 10) == 0) {
				if (seq == 0 || seq > n)
					__builtin_trap();
				memmove(v + seq - 1, v + seq, (n - seq) * sizeof(*v));
				n--;
			} else if (strncmp(after, " EXISTS\r\n", 9) == 0 && seq != sel->view.n) {
				__builtin_trap();
			}
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (p != NULL)
			p++;
	}
	for (uint32_t i = 0; i < n && i < sel->view.n; i++) {
		if (v[i] != sel->view.uids[i])
			__builtin_trap();
	}
	free(v);
}

/* Shares sel's view with a twin holding the same bytes; returns false
 * when it cannot be shared now (owed expunges, an empty view). */
static bool fuzz_twin(struct imap_selected *sel, struct imap_selected *twin, uint32_t **snap_u,
		      uint8_t **snap_f)
{
	uint32_t n = sel->view.n;

	imap_view_share(sel, "fuzz@example.org");
	if (sel->shared == NULL)
		return false;
	memset(twin, 0, sizeof(*twin));
	twin->view.n = n;
	twin->view.uids = malloc(n * sizeof(uint32_t));
	twin->view.flags = malloc(n);
	*snap_u = malloc(n * sizeof(uint32_t));
	*snap_f = malloc(n);
	if (twin->view.uids == NULL || twin->view.flags == NULL || *snap_u == NULL || *snap_f == NULL)
		abort();
	memcpy(twin->view.uids, sel->view.uids, n * sizeof(uint32_t));
	memcpy(twin->view.flags, sel->view.flags, n);
	memcpy(*snap_u, sel->view.uids, n * sizeof(uint32_t));
	memcpy(*snap_f, sel->view.flags, n);
	imap_view_share(twin, "FUZZ@example.org");
	if (twin->shared != sel->shared || twin->view.uids != sel->view.uids)
		__builtin_trap();
	return true;
}

static void fuzz_twin_check(struct imap_selected *twin, uint32_t *snap_u, uint8_t *snap_f)
{
	if (memcmp(twin->view.uids, snap_u, twin->view.n * sizeof(uint32_t)) != 0 ||
	    memcmp(twin->view.flags, snap_f, twin->view.n) != 0)
		__builtin_trap();
	imap_view_unshare(twin);
	free(snap_u);
	free(snap_f);
}

static void fuzz_updates(const uint8_t *data, size_t size)
{
	struct imap_selected sel;
	uint32_t uid = 0, n = size > 0 ? data[0] % 64 : 0;
	size_t at = 1;
	struct buf out;

	memset(&sel, 0, sizeof(sel));
	sel.view.uids = malloc((n + 1) * sizeof(uint32_t));
	sel.view.flags = calloc(n + 1, 1);
	if (sel.view.uids == NULL || sel.view.flags == NULL)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		uid += 1 + (at < size ? data[at++] % 4 : 0);
		sel.view.uids[sel.view.n++] = uid;
	}
	sel.first_recent = size > 1 ? data[1] % 8 : 0;
	buf_init(&out, 0);
	while (at + 3 <= size) {
		uint8_t op = data[at], a = data[at + 1], b = data[at + 2];
		uint32_t expunged[8], *old, n_old = sel.view.n, last, *snap_u = NULL;
		struct store_message changed[8];
		struct imap_selected twin;
		uint8_t *snap_f = NULL;
		bool twinned;
		size_t n_exp = 0, n_ch = 0;

		at += 3;
		memset(changed, 0, sizeof(changed));
		/* Expunged UIDs: ascending, some never in the view. */
		for (uint32_t u = a % 4 + 1; n_exp < (size_t)(op % 8) && u < uid + 4; u += 1 + b % 3)
			expunged[n_exp++] = u;
		/* Changed: a few known ones, then new ones above the highest. */
		last = sel.view.n > 0 ? sel.view.uids[sel.view.n - 1] : 0;
		for (uint32_t u = b % 5 + 1; n_ch < 4 && u <= last; u += 1 + a % 5)
			changed[n_ch++] = (struct store_message){ .uid = u, .flags = a & 0x1f,
								  .modseq = op };
		for (uint32_t k = 0; k < (uint32_t)(a % 4) && n_ch < 8; k++)
			changed[n_ch++] = (struct store_message){ .uid = uid + 1 + k, .modseq = b };
		uid += a % 4;
		old = malloc((n_old + 1) * sizeof(*old));
		if (old == NULL)
			abort();
		memcpy(old, sel.view.uids, n_old * sizeof(*old));
		twinned = (b & 0x80) && fuzz_twin(&sel, &twin, &snap_u, &snap_f);
		if (op & 0x80)
			imap_selected_flags_set(&sel, b, a & 0x1f, op);
		imap_update_write(&sel, changed, n_ch, expunged, n_exp,
				  ((op & 0x40) ? IMAP_UPDATE_EXPUNGE : 0u) |
				  ((op & 0x20) ? IMAP_UPDATE_REV1 : 0u) |
				  ((a & 0x40) ? IMAP_UPDATE_VANISHED : 0u) |
				  ((a & 0x20) ? IMAP_UPDATE_MODSEQ : 0u), b % 16, &out);
		fuzz_check(&sel);
		fuzz_replay(old, n_old, &sel, &out);
		if (twinned)
			fuzz_twin_check(&twin, snap_u, snap_f);
		free(old);
		buf_reset(&out);
		sel.n_own = 0;
	}
	buf_release(&out);
	imap_view_unshare(&sel);
	free(sel.view.uids);
	free(sel.view.flags);
	free(sel.pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0)
		fuzz_store_args(data + 1, size - 1);
	else
		fuzz_updates(data + 1, size - 1);
	return 0;
}
