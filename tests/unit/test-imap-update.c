/* test-imap-update - the untagged updates a selected session owes
 * (src/imap/imap-update.c), given a view and what the store says changed:
 * exact EXPUNGE numbers, EXPUNGEs held back where they are not allowed,
 * FETCH lines for others' flag changes but not the session's own, EXISTS
 * and rev1 RECENT for new messages; once CONDSTORE / QRESYNC are on,
 * MODSEQ in the FETCH lines and one VANISHED instead of EXPUNGEs; views
 * shared by the sessions of a mailbox, copied on the first change. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-selected.h"

/* A selection whose view holds `uids` (flags 0). */
static struct imap_selected *sel_make(const uint32_t *uids, uint32_t n)
{
	struct imap_selected *sel = calloc(1, sizeof(*sel));

	assert_non_null(sel);
	sel->view.n = n;
	sel->view.uids = malloc((n > 0 ? n : 1) * sizeof(uint32_t));
	sel->view.flags = calloc(n > 0 ? n : 1, 1);
	assert_non_null(sel->view.uids);
	assert_non_null(sel->view.flags);
	if (n > 0)
		memcpy(sel->view.uids, uids, n * sizeof(uint32_t));
	sel->view.uidnext = n > 0 ? uids[n - 1] + 1 : 1;
	return sel;
}

static void sel_free(struct imap_selected *sel)
{
	free(sel->view.uids);
	free(sel->view.flags);
	free(sel->pending);
	free(sel->saved);
	free(sel);
}

static void assert_view(const struct imap_selected *sel, const uint32_t *uids, uint32_t n)
{
	assert_int_equal(sel->view.n, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(sel->view.uids[i], uids[i]);
}

static void assert_out(struct buf *out, const char *expected)
{
	char *got = strndup(out->data != NULL ? out->data : "", out->len);

	assert_string_equal(got, expected);
	free(got);
	buf_reset(out);
}

static void test_expunge_numbers(void **state)
{
	static const uint32_t uids[] = { 10, 20, 30, 40, 50 };
	static const uint32_t gone[] = { 20, 40, 50 };
	static const uint32_t left[] = { 10, 30 };
	struct imap_selected *sel = sel_make(uids, 5);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_update_write(sel, NULL, 0, gone, 3, IMAP_UPDATE_EXPUNGE, 0, &out);
	/* Highest first: each number is right when the client reads it. */
	assert_out(&out, "* 5 EXPUNGE\r\n* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n");
	assert_view(sel, left, 2);
	assert_int_equal(sel->n_pending, 0);
	assert_int_equal(imap_selected_seq(sel, 30), 2);
	assert_int_equal(imap_selected_seq(sel, 20), 0);
	buf_release(&out);
	sel_free(sel);
}

/* RFC 5182 2.1: an expunged message leaves the saved result "$" when
 * its EXPUNGE goes out, not before. */
static void test_expunge_leaves_saved_result(void **state)
{
	static const uint32_t uids[] = { 10, 20, 30, 40, 50 };
	static const uint32_t saved[] = { 10, 20, 40 };
	static const uint32_t gone[] = { 20, 30, 40 };
	struct imap_selected *sel = sel_make(uids, 5);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	sel->saved = malloc(sizeof(saved));
	assert_non_null(sel->saved);
	memcpy(sel->saved, saved, sizeof(saved));
	sel->n_saved = 3;
	/* held back (during FETCH): "$" still names them */
	imap_update_write(sel, NULL, 0, gone, 3, 0, 0, &out);
	assert_int_equal(sel->n_saved, 3);
	imap_update_write(sel, NULL, 0, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 4 EXPUNGE\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n");
	assert_int_equal(sel->n_saved, 1);
	assert_int_equal(sel->saved[0], 10);
	/* the last one goes: nothing is held */
	imap_update_write(sel, NULL, 0, saved, 1, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 1 EXPUNGE\r\n");
	assert_int_equal(sel->n_saved, 0);
	assert_null(sel->saved);
	buf_release(&out);
	sel_free(sel);
}

static void test_expunge_held_back(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3, 4 };
	static const uint32_t gone[] = { 2, 3 };
	static const uint32_t again[] = { 3, 4 };
	static const uint32_t left[] = { 1 };
	struct imap_selected *sel = sel_make(uids, 4);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* During FETCH, STORE, SEARCH (RFC 9051 7.5.1): nothing, and the
	 * numbers stay as they were. */
	imap_update_write(sel, NULL, 0, gone, 2, 0, 0, &out);
	assert_out(&out, "");
	assert_view(sel, uids, 4);
	assert_int_equal(sel->n_pending, 2);
	assert_int_equal(imap_selected_seq(sel, 4), 4);
	/* A UID reported again is owed once. */
	imap_update_write(sel, NULL, 0, again, 2, 0, 0, &out);
	assert_int_equal(sel->n_pending, 3);
	imap_update_write(sel, NULL, 0, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 4 EXPUNGE\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n");
	assert_view(sel, left, 1);
	assert_null(sel->pending);
	buf_release(&out);
	sel_free(sel);
}

static void test_expunge_unknown(void **state)
{
	static const uint32_t uids[] = { 5, 6 };
	/* 7 arrived and went before the session heard of it; 1 was told. */
	static const uint32_t gone[] = { 1, 7 };
	struct imap_selected *sel = sel_make(uids, 2);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_update_write(sel, NULL, 0, gone, 2, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "");
	assert_view(sel, uids, 2);
	imap_update_pending(sel, gone, 2);
	assert_int_equal(sel->n_pending, 0);
	buf_release(&out);
	sel_free(sel);
}

static void test_flags_of_others(void **state)
{
	static const uint32_t uids[] = { 3, 8, 9 };
	struct store_message changed[] = {
		{ .uid = 8, .flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, .modseq = 12 },
		{ .uid = 9, .flags = STORE_FLAG_DELETED, .keywords = "$Junk work", .modseq = 13 },
		{ .uid = 3, .flags = STORE_FLAG_SEEN, .modseq = 14 }, /* out of order: still found */
	};
	struct imap_selected *sel = sel_make(uids, 3);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* 14 is this session's own STORE: already told. */
	imap_selected_flags_set(sel, 3, STORE_FLAG_SEEN, 14);
	imap_update_write(sel, changed, 3, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 2 FETCH (UID 8 FLAGS (\\Seen \\Flagged))\r\n"
			 "* 3 FETCH (UID 9 FLAGS (\\Deleted $Junk work))\r\n");
	assert_int_equal(sel->view.flags[1], STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	/* the view marks the message with keywords (FETCH FLAGS reads those) */
	assert_int_equal(sel->view.flags[2], STORE_FLAG_DELETED | STORE_VIEW_KEYWORDS);
	assert_int_equal(sel->view.flags[0], STORE_FLAG_SEEN);
	buf_release(&out);
	sel_free(sel);
}

/* RFC 7162 3.1.4, 3.2.10.2: MODSEQ in each FETCH; the expunged UIDs in
 * one VANISHED (ranges), held back as EXPUNGEs are, and the numbers
 * after it as if EXPUNGEs had gone. */
static void test_condstore_qresync(void **state)
{
	static const uint32_t uids[] = { 3, 4, 5, 8, 9 };
	static const uint32_t gone[] = { 4, 5, 9 };
	struct store_message changed[] = {
		{ .uid = 8, .flags = STORE_FLAG_SEEN, .modseq = 21 },
		{ .uid = 10, .modseq = 22 },
	};
	struct imap_selected *sel = sel_make(uids, 5);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_update_write(sel, NULL, 0, gone, 3, IMAP_UPDATE_MODSEQ | IMAP_UPDATE_VANISHED, 0, &out);
	assert_out(&out, "");
	assert_int_equal(sel->n_pending, 3);
	imap_update_write(sel, changed, 2, NULL, 0,
			  IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_MODSEQ | IMAP_UPDATE_VANISHED, 0, &out);
	assert_out(&out, "* VANISHED 4:5,9\r\n"
			 "* 2 FETCH (UID 8 FLAGS (\\Seen) MODSEQ (21))\r\n"
			 "* 3 EXISTS\r\n");
	{
		static const uint32_t left[] = { 3, 8, 10 };

		assert_view(sel, left, 3);
	}
	buf_release(&out);
	sel_free(sel);
}

/* RFC 7162 3.2: while expunges are owed, the HIGHESTMODSEQ a session may
 * be told stays below them, whatever MODSEQ the sync has read up to. */
static void test_modseq_below_owed(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	static const uint32_t gone[] = { 2 };
	struct imap_selected *sel = sel_make(uids, 3);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	sel->modseq = 10;
	assert_int_equal(imap_selected_modseq(sel), 10);
	imap_update_write(sel, NULL, 0, gone, 1, IMAP_UPDATE_VANISHED, 0, &out);
	sel->modseq = 25;       /* what imap-sync.c records after the read */
	assert_int_equal(imap_selected_modseq(sel), 10);
	imap_update_pending(sel, gone, 1);  /* more of the same: still below */
	assert_int_equal(imap_selected_modseq(sel), 10);
	imap_update_write(sel, NULL, 0, NULL, 0, IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_VANISHED, 0, &out);
	assert_out(&out, "* VANISHED 2\r\n");
	assert_int_equal(imap_selected_modseq(sel), 25);
	buf_release(&out);
	sel_free(sel);
}

static void test_own_modseqs(void **state)
{
	static const uint32_t uids[] = { 1 };
	struct imap_selected *sel = sel_make(uids, 1);

	(void)state;
	for (uint64_t m = 1; m <= IMAP_SELECTED_OWN_MAX + 3; m++)
		imap_selected_flags_set(sel, 1, 0, m);
	imap_selected_flags_set(sel, 1, 0, IMAP_SELECTED_OWN_MAX + 3);
	assert_int_equal(sel->n_own, IMAP_SELECTED_OWN_MAX);
	assert_int_equal(sel->own[IMAP_SELECTED_OWN_MAX - 1], IMAP_SELECTED_OWN_MAX + 3);
	assert_int_equal(sel->own[0], 4);
	/* A UID not in the view changes nothing but the list. */
	imap_selected_flags_set(sel, 99, STORE_FLAG_SEEN, 50);
	assert_int_equal(sel->view.flags[0], 0);
	sel_free(sel);
}

static void test_new_messages(void **state)
{
	static const uint32_t uids[] = { 1, 2 };
	static const uint32_t all[] = { 1, 2, 5, 6 };
	struct store_message changed[] = {
		{ .uid = 2, .flags = STORE_FLAG_ANSWERED, .modseq = 4 },
		{ .uid = 5, .flags = STORE_FLAG_SEEN, .modseq = 5 },
		{ .uid = 6, .modseq = 6 },
	};
	struct imap_selected *sel = sel_make(uids, 2);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_update_write(sel, changed, 3, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 2 FETCH (UID 2 FLAGS (\\Answered))\r\n* 4 EXISTS\r\n");
	assert_view(sel, all, 4);
	assert_int_equal(sel->view.flags[2], STORE_FLAG_SEEN);
	assert_int_equal(sel->view.uidnext, 7);
	buf_release(&out);
	sel_free(sel);
}

static void test_expunge_then_numbers(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3, 4 };
	static const uint32_t gone[] = { 1 };
	static const uint32_t after[] = { 2, 3, 4, 9 };
	struct store_message changed[] = {
		{ .uid = 4, .flags = STORE_FLAG_SEEN, .modseq = 8 },
		{ .uid = 9, .modseq = 9 },
	};
	struct imap_selected *sel = sel_make(uids, 4);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* The FETCH and EXISTS after an EXPUNGE use the numbers after it. */
	imap_update_write(sel, changed, 2, gone, 1, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 1 EXPUNGE\r\n* 3 FETCH (UID 4 FLAGS (\\Seen))\r\n* 4 EXISTS\r\n");
	assert_view(sel, after, 4);
	buf_reset(&out);
	sel_free(sel);

	/* Held back, the same changes keep the old numbers. */
	sel = sel_make(uids, 4);
	imap_update_write(sel, changed, 2, gone, 1, 0, 0, &out);
	assert_out(&out, "* 4 FETCH (UID 4 FLAGS (\\Seen))\r\n* 5 EXISTS\r\n");
	assert_int_equal(imap_selected_seq(sel, 9), 5);
	imap_update_write(sel, NULL, 0, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 1 EXPUNGE\r\n");
	assert_view(sel, after, 4);
	buf_release(&out);
	sel_free(sel);
}

static void test_recent_rev1(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3 };
	struct store_message changed[] = { { .uid = 4, .modseq = 2 }, { .uid = 5, .modseq = 3 } };
	struct store_message flag[] = { { .uid = 3, .flags = STORE_FLAG_SEEN, .modseq = 4 } };
	struct store_message later[] = { { .uid = 6, .modseq = 5 } };
	struct imap_selected *sel = sel_make(uids, 3);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* Selected with 3 \Recent here; 4 and 5 arrive and nobody else took them. */
	sel->first_recent = 3;
	assert_int_equal(imap_update_recent_count(sel), 1);
	imap_update_write(sel, changed, 2, NULL, 0, IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_REV1, 4, &out);
	assert_out(&out, "* 5 EXISTS\r\n* 3 RECENT\r\n");
	imap_update_write(sel, flag, 1, NULL, 0, IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_REV1, 0, &out);
	assert_out(&out, "* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))\r\n");
	sel_free(sel);

	/* None \Recent here at SELECT (another session had them): the
	 * watermark taken for the new ones says which are. */
	sel = sel_make(uids, 3);
	imap_update_write(sel, changed, 2, NULL, 0, IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_REV1, 5, &out);
	assert_out(&out, "* 5 EXISTS\r\n* 1 RECENT\r\n");
	assert_int_equal(sel->first_recent, 5);
	/* Taken by another session first (the watermark is past them). */
	imap_update_write(sel, later, 1, NULL, 0, IMAP_UPDATE_EXPUNGE | IMAP_UPDATE_REV1, 7, &out);
	assert_out(&out, "* 6 EXISTS\r\n* 2 RECENT\r\n");
	/* rev2: no RECENT, no \Recent. */
	sel->first_recent = 0;
	changed[0].uid = 7;
	imap_update_write(sel, changed, 1, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 7 EXISTS\r\n");
	buf_release(&out);
	sel_free(sel);
}

/* Sessions with the same view of a mailbox at one MODSEQ share one copy
 * (imap-view-share.c); the first change a session makes copies it back,
 * and the others keep the bytes they had. */
static void test_shared_view_copied_on_write(void **state)
{
	const uint32_t u[] = { 1, 2, 3 }, other[] = { 1, 2, 4 }, grown[] = { 1, 2, 3, 7 };
	struct imap_selected *a = sel_make(u, 3), *b = sel_make(u, 3), *c = sel_make(other, 3);
	struct imap_selected *all[] = { a, b, c };
	struct store_message m = { .uid = 7 };
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	for (size_t i = 0; i < 3; i++) {
		all[i]->ref.id = 4;
		all[i]->ref.uidvalidity = 77;
		all[i]->modseq = 9;
	}
	imap_view_share(a, "u@example.org");
	imap_view_share(b, "U@Example.org");
	imap_view_share(c, "u@example.org");
	assert_non_null(a->shared);
	assert_ptr_equal(b->shared, a->shared);
	assert_ptr_equal(b->view.uids, a->view.uids);
	/* same mailbox and MODSEQ, other bytes: not shared */
	assert_non_null(c->shared);
	assert_ptr_not_equal(c->shared, a->shared);
	/* b's own STORE: b copies; a still reads the shared bytes, unchanged */
	imap_selected_flags_set(b, 2, STORE_FLAG_SEEN, 10);
	assert_null(b->shared);
	assert_ptr_not_equal(b->view.uids, a->view.uids);
	assert_int_equal(b->view.flags[1], STORE_FLAG_SEEN);
	assert_int_equal(a->view.flags[1], 0);
	assert_view(b, u, 3);
	/* a new message for a: a copies, grows, and its copy is its own */
	a->modseq = 10;
	imap_update_write(a, &m, 1, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_null(a->shared);
	assert_view(a, grown, 4);
	assert_out(&out, "* 4 EXISTS\r\n");
	/* offered again, a's view is new to the registry */
	imap_view_share(a, "u@example.org");
	assert_non_null(a->shared);
	imap_view_unshare(a);
	imap_view_unshare(c);
	assert_null(a->view.uids);
	for (size_t i = 0; i < 3; i++)
		sel_free(all[i]);
	buf_release(&out);
}

static void test_empty_view(void **state)
{
	struct store_message changed[] = { { .uid = 1, .modseq = 1 } };
	static const uint32_t gone[] = { 1 };
	struct imap_selected *sel = sel_make(NULL, 0);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_update_write(sel, NULL, 0, gone, 1, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "");
	assert_int_equal(imap_selected_seq(sel, 1), 0);
	imap_update_write(sel, changed, 1, NULL, 0, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 1 EXISTS\r\n");
	imap_update_write(sel, NULL, 0, gone, 1, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_out(&out, "* 1 EXPUNGE\r\n");
	assert_int_equal(sel->view.n, 0);
	buf_release(&out);
	sel_free(sel);
}

/* Many messages, every other one expunged: one pass, right numbers. */
static void test_expunge_many(void **state)
{
	enum { N = 100000 };
	uint32_t *uids = malloc(N * sizeof(uint32_t)), *gone = malloc(N / 2 * sizeof(uint32_t));
	struct imap_selected *sel;
	struct buf out;
	const char *p;

	(void)state;
	assert_non_null(uids);
	assert_non_null(gone);
	for (uint32_t i = 0; i < N; i++)
		uids[i] = i + 1;
	for (uint32_t i = 0; i < N / 2; i++)
		gone[i] = 2 * i + 2;
	sel = sel_make(uids, N);
	buf_init(&out, 0);
	imap_update_write(sel, NULL, 0, gone, N / 2, IMAP_UPDATE_EXPUNGE, 0, &out);
	assert_int_equal(sel->view.n, N / 2);
	assert_int_equal(sel->view.uids[N / 2 - 1], N - 1);
	p = out.data;
	assert_memory_equal(p, "* 100000 EXPUNGE\r\n* 99998 EXPUNGE\r\n", 35);
	assert_memory_equal(out.data + out.len - 13, "* 2 EXPUNGE\r\n", 13);
	buf_release(&out);
	sel_free(sel);
	free(uids);
	free(gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expunge_numbers),
		cmocka_unit_test(test_expunge_held_back),
		cmocka_unit_test(test_expunge_leaves_saved_result),
		cmocka_unit_test(test_expunge_unknown),
		cmocka_unit_test(test_flags_of_others),
		cmocka_unit_test(test_own_modseqs),
		cmocka_unit_test(test_condstore_qresync),
		cmocka_unit_test(test_modseq_below_owed),
		cmocka_unit_test(test_new_messages),
		cmocka_unit_test(test_expunge_then_numbers),
		cmocka_unit_test(test_recent_rev1),
		cmocka_unit_test(test_empty_view),
		cmocka_unit_test(test_shared_view_copied_on_write),
		cmocka_unit_test(test_expunge_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
