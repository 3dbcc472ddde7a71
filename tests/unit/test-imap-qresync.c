/* test-imap-qresync - the QRESYNC parameter of SELECT/EXAMINE (RFC 7162
 * 3.2.5 and its ABNF in 7): what it reads, and broken input (each a BAD
 * with a reason, never a crash); the sequence match of 3.2.5.2 against a
 * naive count on random mailboxes; the VANISHED (EARLIER) set, complete
 * and past the expunge horizon; and the VANISHED lines, split at 8 KB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-parser.h"
#include "imap/imap-qresync.h"

static const struct imap_parser_limits limits = {
	.max_line = 1 << 20, .max_literal = 4096, .max_literals = 8192,
	.max_depth = 10, .max_args = 1000,
};

/* Parse `param` (what follows QRESYNC) through the real command parser. */
static bool parse(const char *param, struct imap_qresync *q, const char **why)
{
	struct imap_parser *p = imap_parser_new(&limits);
	size_t len = strlen(param) + 16, used = 0;
	char *line = malloc(len);
	bool ok = false;

	assert_non_null(line);
	len = (size_t)snprintf(line, len, "a X %s\r\n", param);
	assert_int_equal(imap_parser_feed(p, line, len, &used), IMAP_PARSE_COMMAND);
	{
		const struct imap_parsed *cmd = imap_parser_command(p);

		assert_int_equal(cmd->n_args, 1);
		ok = imap_qresync_parse(&cmd->args[0], q, why);
	}
	imap_parser_free(&p);
	free(line);
	return ok;
}

static void parse_ok(const char *param, struct imap_qresync *q)
{
	const char *why = NULL;

	if (!parse(param, q, &why))
		fail_msg("%s refused: %s", param, why);
	assert_null(why);
}

static void parse_bad(const char *param, const char *why_expected)
{
	struct imap_qresync q;
	const char *why = NULL;

	if (parse(param, &q, &why))
		fail_msg("%s accepted", param);
	assert_non_null(why);
	if (why_expected != NULL)
		assert_string_equal(why, why_expected);
	/* nothing to free on false */
	assert_false(q.has_known_uids);
	assert_false(q.has_match);
	assert_null(q.known_uids.ranges);
	assert_null(q.match_seqs.ranges);
}

/* A set as "lo:hi,lo" for comparing. */
static char *set_text(const struct imap_seqset *set)
{
	struct buf out;

	buf_init(&out, 0);
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0)
			buf_append(&out, ",", 1);
		imap_range_write(&out, &set->ranges[i]);
	}
	buf_append(&out, "", 1);
	return out.data;
}

static void assert_set(const struct imap_seqset *set, const char *expected)
{
	char *got = set_text(set);

	assert_string_equal(got, expected);
	free(got);
}

static void test_parse(void **state)
{
	struct imap_qresync q;

	(void)state;
	parse_ok("(67890007 90060115194045000)", &q);
	assert_int_equal(q.uidvalidity, 67890007);
	assert_true(q.modseq == 90060115194045000ULL);
	assert_false(q.has_known_uids);
	assert_false(q.has_match);
	imap_qresync_free(&q);

	parse_ok("(67890007 90060115194045000 41:211,214:541)", &q);
	assert_true(q.has_known_uids);
	assert_set(&q.known_uids, "41:211,214:541");
	assert_false(q.has_match);
	imap_qresync_free(&q);

	/* the RFC's own example (3.2.5.2) */
	parse_ok("(67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,"
		 "22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997))", &q);
	assert_set(&q.known_uids, "1:29997");
	assert_true(q.has_match);
	assert_set(&q.match_seqs, "5000,7500,9000,9990:9999");
	assert_int_equal(q.match_uids.n, 13);
	imap_qresync_free(&q);

	/* the match data without known UIDs (the ABNF makes both optional) */
	parse_ok("(1 2 (1,7 41,211))", &q);
	assert_false(q.has_known_uids);
	assert_true(q.has_match);
	imap_qresync_free(&q);

	/* known UIDs are a set: any order, overlaps merge */
	parse_ok("(1 2 9,3:1,2)", &q);
	assert_set(&q.known_uids, "1:3,9");
	imap_qresync_free(&q);

	/* the largest values */
	parse_ok("(4294967295 9223372036854775807 4294967295)", &q);
	assert_int_equal(q.uidvalidity, UINT32_MAX);
	assert_true(q.modseq == INT64_MAX);
	imap_qresync_free(&q);
}

static void test_parse_bad(void **state)
{
	static const char syntax[] =
		"QRESYNC takes (uidvalidity modseq [known-uids] [(seqs uids)])";

	(void)state;
	parse_bad("QRESYNC", syntax);
	parse_bad("\"(1 2)\"", syntax);
	parse_bad("()", syntax);
	parse_bad("(1)", syntax);
	parse_bad("(1 2 3 (1 1) 4)", syntax);
	parse_bad("(1 2 1:3 1:3)", syntax);
	parse_bad("(1 2 (1 1) 1:3)", syntax);
	parse_bad("(1 2 (1 1) (1 1))", syntax);
	parse_bad("(0 5)", "QRESYNC: bad UIDVALIDITY");
	parse_bad("(4294967296 5)", "QRESYNC: bad UIDVALIDITY");
	parse_bad("(-1 5)", "QRESYNC: bad UIDVALIDITY");
	parse_bad("(abc 5)", "QRESYNC: bad UIDVALIDITY");
	parse_bad("((1) 5)", "QRESYNC: bad UIDVALIDITY");
	parse_bad("(\"1\" 5)", "QRESYNC: bad UIDVALIDITY");
	/* CHANGEDSINCE 0 is FETCH's tolerance only (RFC 7162 7) */
	parse_bad("(1 0)", "QRESYNC: bad mod-sequence");
	parse_bad("(1 9223372036854775808)", "QRESYNC: bad mod-sequence");
	parse_bad("(1 99999999999999999999999)", "QRESYNC: bad mod-sequence");
	parse_bad("(1 NIL)", "QRESYNC: bad mod-sequence");
	parse_bad("(1 2 *)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 1:*)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 $)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 0)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 0:5)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 1,,2)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 1:4294967296)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 \"1:5\")", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 NIL)", "QRESYNC: bad known UIDs");
	parse_bad("(1 2 1:3 ())", "QRESYNC: the match data is (known-sequence-set known-uid-set)");
	parse_bad("(1 2 1:3 (1))", "QRESYNC: the match data is (known-sequence-set known-uid-set)");
	parse_bad("(1 2 1:3 (1 2 3))",
		  "QRESYNC: the match data is (known-sequence-set known-uid-set)");
	parse_bad("(1 2 1:3 (1,2 5))", "QRESYNC: the match sets differ in size");
	parse_bad("(1 2 1:3 (1:4294967295 1))", "QRESYNC: the match sets differ in size");
	/* 3.2.5.2: both written ascending, since they pair by position */
	parse_bad("(1 2 1:3 (2,1 5,6))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 (1,2 6,5))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 (3:1 5:7))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 (1:3,3 5:8))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 (1,* 5,6))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 ((1) 5))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
	parse_bad("(1 2 1:3 (1 0))", "QRESYNC: bad match set (ascending numbers, no \"*\")");
}

/* More ranges than IMAP_QRESYNC_MAX_RANGES in a set: refused. */
static void test_parse_bound(void **state)
{
	size_t n = IMAP_QRESYNC_MAX_RANGES + 1;
	struct imap_qresync q;
	const char *why = NULL;
	struct buf param;

	(void)state;
	buf_init(&param, 0);
	buf_append_str(&param, "(1 2 ");
	for (size_t i = 0; i < n; i++)
		buf_printf(&param, "%s%zu", i > 0 ? "," : "", 2 * i + 1);
	buf_append(&param, ")", 2);
	assert_false(parse(param.data, &q, &why));
	assert_string_equal(why, "QRESYNC: bad known UIDs");
	buf_release(&param);

	/* exactly the bound is fine */
	buf_init(&param, 0);
	buf_append_str(&param, "(1 2 ");
	for (size_t i = 0; i < n - 1; i++)
		buf_printf(&param, "%s%zu", i > 0 ? "," : "", 2 * i + 1);
	buf_append(&param, ")", 2);
	parse_ok(param.data, &q);
	assert_int_equal(q.known_uids.n, n - 1);
	imap_qresync_free(&q);
	buf_release(&param);
}

/* A struct imap_qresync with match data from two written sets. */
static void match_data(struct imap_qresync *q, const char *seqs, const char *uids)
{
	memset(q, 0, sizeof(*q));
	assert_true(imap_seqset_parse(seqs, 0, 1000, &q->match_seqs));
	assert_true(imap_seqset_parse(uids, 0, 1000, &q->match_uids));
	q->has_match = true;
}

static void test_match_rfc(void **state)
{
	/* 3.2.5.2: the 4th message has UID 8 (a match), the 12th UID 25
	 * where the client says 24 (none): nothing up to 8 is vanished. */
	uint32_t uids[20];
	struct imap_qresync q;

	(void)state;
	for (uint32_t i = 0; i < 20; i++)
		uids[i] = i < 4 ? 2 * i + 2 : 2 * i + 3;
	assert_int_equal(uids[3], 8);
	assert_int_equal(uids[11], 25);
	match_data(&q, "4,12", "8,24");
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 8);
	/* a later pair that matches counts even after one that does not */
	imap_qresync_free(&q);
	match_data(&q, "4,12,13", "8,24,27");
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 27);
	/* past the end of the mailbox nothing matches */
	imap_qresync_free(&q);
	match_data(&q, "21,4294967295", "50,4294967295");
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 0);
	assert_int_equal(imap_qresync_match_uid(&q, uids, 0), 0);
	imap_qresync_free(&q);
	/* no match data: 0 */
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 0);
	/* huge sets on a small mailbox: one bisection per segment */
	match_data(&q, "1:4294967295", "1:4294967295");
	for (uint32_t i = 0; i < 20; i++)
		uids[i] = i + 1;
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 20);
	uids[5] = 100;   /* the rest are above too */
	for (uint32_t i = 6; i < 20; i++)
		uids[i] = 100 + i;
	assert_int_equal(imap_qresync_match_uid(&q, uids, 20), 5);
	imap_qresync_free(&q);
}

/* A small deterministic generator (tests must not depend on rand()). */
static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

/* Ascending UIDs in 1..limit, each kept with probability 1/keep. */
static uint32_t random_uids(uint64_t *s, uint32_t *out, uint32_t limit, uint32_t keep)
{
	uint32_t n = 0;

	for (uint32_t u = 1; u <= limit; u++)
		if (rnd(s) % keep == 0)
			out[n++] = u;
	return n;
}

static char *written(const uint32_t *nums, size_t n)
{
	struct buf out;

	buf_init(&out, 0);
	imap_seqset_write(&out, nums, n);
	buf_append(&out, "", 1);
	return out.data;
}

/* The sequence match against a naive check of every pair. */
static void test_match_random(void **state)
{
	uint32_t mailbox[200], seqs[200], pair_uids[200];
	uint64_t s = 7;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		uint32_t n = random_uids(&s, mailbox, 200, 1 + rnd(&s) % 3);
		uint32_t n_pairs = 0, naive = 0, got;
		struct imap_qresync q;
		char *a, *b;

		/* pairs: some true ones of the mailbox, some shifted */
		for (uint32_t seq = 1; seq <= n + 5 && n_pairs < 200; seq++) {
			uint32_t uid;

			if (rnd(&s) % 3 != 0)
				continue;
			uid = seq <= n ? mailbox[seq - 1] : 200 + seq;
			if (rnd(&s) % 4 == 0)
				uid += 1 + rnd(&s) % 2;
			if (n_pairs > 0 && uid <= pair_uids[n_pairs - 1])
				continue;
			seqs[n_pairs] = seq;
			pair_uids[n_pairs++] = uid;
		}
		if (n_pairs == 0)
			continue;
		for (uint32_t i = 0; i < n_pairs; i++)
			if (seqs[i] <= n && mailbox[seqs[i] - 1] == pair_uids[i])
				naive = pair_uids[i];
		a = written(seqs, n_pairs);
		b = written(pair_uids, n_pairs);
		match_data(&q, a, b);
		got = imap_qresync_match_uid(&q, mailbox, n);
		if (got != naive)
			fail_msg("round %d: seqs %s uids %s: got %u, want %u", round, a, b, got, naive);
		imap_qresync_free(&q);
		free(a);
		free(b);
	}
}

static char *ranges_text(const struct imap_range *r, size_t n)
{
	struct imap_seqset set = { .ranges = (struct imap_range *)r, .n = n };

	return set_text(&set);
}

static void vanished_is(const struct imap_qresync *q, const uint32_t *uids, uint32_t n,
			uint32_t uidnext, const uint32_t *exp, size_t n_exp, bool complete,
			const char *expected)
{
	struct imap_range *r;
	size_t n_r;
	char *got;

	imap_qresync_vanished(q, uids, n, uidnext, exp, n_exp, complete, &r, &n_r);
	got = ranges_text(r, n_r);
	assert_string_equal(got, expected);
	free(got);
	free(r);
}

static void test_vanished(void **state)
{
	static const uint32_t uids[] = { 3, 5, 8, 9 };
	static const uint32_t exp[] = { 1, 2, 4, 6, 7, 10 };
	struct imap_qresync q;

	(void)state;
	/* no known-uids: 1:UIDNEXT-1 */
	parse_ok("(1 2)", &q);
	vanished_is(&q, uids, 4, 12, exp, 6, true, "1:2,4,6:7,10");
	/* past the horizon: every UID the mailbox does not hold */
	vanished_is(&q, uids, 4, 12, exp + 1, 5, false, "1:2,4,6:7,10:11");
	/* a mailbox that never held a message */
	vanished_is(&q, NULL, 0, 1, NULL, 0, false, "");
	vanished_is(&q, NULL, 0, 1, NULL, 0, true, "");
	/* emptied: all of it */
	vanished_is(&q, NULL, 0, 6, NULL, 0, false, "1:5");
	imap_qresync_free(&q);

	/* known-uids restrict it */
	parse_ok("(1 2 2:6,10)", &q);
	vanished_is(&q, uids, 4, 12, exp, 6, true, "2,4,6,10");
	vanished_is(&q, uids, 4, 12, exp, 6, false, "2,4,6,10");
	imap_qresync_free(&q);

	/* UIDs from UIDNEXT on never existed */
	parse_ok("(1 2 1:4294967295)", &q);
	vanished_is(&q, uids, 4, 12, exp, 6, false, "1:2,4,6:7,10:11");
	vanished_is(&q, uids, 4, 4294967295u, NULL, 0, false, "1:2,4,6:7,10:4294967294");
	imap_qresync_free(&q);

	/* the match data: the 2nd message is UID 5, so nothing up to 5 */
	parse_ok("(1 2 1:11 (2 5))", &q);
	vanished_is(&q, uids, 4, 12, exp, 6, true, "6:7,10");
	vanished_is(&q, uids, 4, 12, exp, 6, false, "6:7,10:11");
	imap_qresync_free(&q);
	/* a pair that does not match changes nothing */
	parse_ok("(1 2 1:11 (2 4))", &q);
	vanished_is(&q, uids, 4, 12, exp, 6, true, "1:2,4,6:7,10");
	imap_qresync_free(&q);
}

/* The set against a naive one, on random mailboxes. */
static void test_vanished_random(void **state)
{
	uint32_t mailbox[300], known[300], exp[300];
	uint64_t s = 11;

	(void)state;
	for (int round = 0; round < 1000; round++) {
		uint32_t uidnext = 1 + rnd(&s) % 300;
		uint32_t n = random_uids(&s, mailbox, uidnext - 1, 2);
		uint32_t n_known = random_uids(&s, known, 299, 1 + rnd(&s) % 2);
		uint32_t n_exp = 0, match = 0;
		bool complete = rnd(&s) % 2 == 0, has_known = rnd(&s) % 2 == 0;
		struct imap_qresync q;
		struct buf naive;
		char *param, *k = written(known, n_known);
		size_t i = 0;

		/* the store remembers some of the UIDs the mailbox lacks */
		for (uint32_t u = 1; u < uidnext; u++) {
			while (i < n && mailbox[i] < u)
				i++;
			if ((i == n || mailbox[i] != u) && rnd(&s) % 2 == 0)
				exp[n_exp++] = u;
		}
		has_known = has_known && n_known > 0;
		if (n > 0 && rnd(&s) % 2 == 0) {
			uint32_t seq = 1 + rnd(&s) % n;

			if (asprintf(&param, "(1 2%s%s (%u %u))", has_known ? " " : "",
				     has_known ? k : "", seq, mailbox[seq - 1]) < 0)
				abort();
			match = mailbox[seq - 1];
		} else if (asprintf(&param, "(1 2%s%s)", has_known ? " " : "",
				    has_known ? k : "") < 0) {
			abort();
		}
		parse_ok(param, &q);
		buf_init(&naive, 0);
		{
			struct buf nums;
			uint32_t cnt = 0;

			buf_init(&nums, 0);
			for (uint32_t u = match + 1; u < uidnext; u++) {
				bool in_known = !q.has_known_uids || imap_seqset_contains(&q.known_uids, u);
				bool held = false, gone = false;

				for (uint32_t j = 0; j < n; j++)
					held |= mailbox[j] == u;
				for (uint32_t j = 0; j < n_exp; j++)
					gone |= exp[j] == u;
				if (in_known && (complete ? gone : !held)) {
					buf_append(&nums, &u, sizeof(u));
					cnt++;
				}
			}
			{
				char *t = written((const uint32_t *)(void *)nums.data, cnt);

				buf_append_str(&naive, t);
				free(t);
			}
			buf_release(&nums);
		}
		buf_append(&naive, "", 1);
		vanished_is(&q, mailbox, n, uidnext, exp, n_exp, complete, naive.data);
		buf_release(&naive);
		imap_qresync_free(&q);
		free(param);
		free(k);
	}
}

static void test_write(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3, 7, 9, 10 };
	static const struct imap_range ranges[] = { { 1, 3 }, { 7, 7 }, { 9, 10 } };
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_vanished_write(&out, true, uids, 6);
	buf_append(&out, "", 1);
	assert_string_equal(out.data, "* VANISHED (EARLIER) 1:3,7,9:10\r\n");
	buf_reset(&out);
	imap_vanished_write(&out, false, uids, 6);
	imap_vanished_write_ranges(&out, true, ranges, 3);
	buf_append(&out, "", 1);
	assert_string_equal(out.data, "* VANISHED 1:3,7,9:10\r\n* VANISHED (EARLIER) 1:3,7,9:10\r\n");
	buf_reset(&out);
	imap_vanished_write(&out, false, NULL, 0);
	imap_vanished_write_ranges(&out, true, NULL, 0);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/* Many ranges: several lines, none longer than the bound, together the
 * whole set. */
static void test_write_split(void **state)
{
	size_t n = 20000, lines = 0;
	uint32_t *uids = malloc(n * sizeof(*uids));
	struct buf out, joined;
	char *expected;

	(void)state;
	assert_non_null(uids);
	for (size_t i = 0; i < n; i++)
		uids[i] = (uint32_t)(4000000000u + 2 * i);
	buf_init(&out, 0);
	imap_vanished_write(&out, true, uids, n);
	buf_init(&joined, 0);
	for (size_t pos = 0; pos < out.len;) {
		const char *line = out.data + pos;
		const char *end = memchr(line, '\n', out.len - pos);
		size_t len;

		assert_non_null(end);
		len = (size_t)(end - line) + 1;
		assert_true(len <= IMAP_VANISHED_LINE_MAX);
		assert_true(len > IMAP_VANISHED_LINE_MAX - 30 || pos + len == out.len);
		assert_memory_equal(line, "* VANISHED (EARLIER) ", 21);
		assert_memory_equal(end - 1, "\r\n", 2);
		if (joined.len > 0)
			buf_append(&joined, ",", 1);
		buf_append(&joined, line + 21, len - 23);
		pos += len;
		lines++;
	}
	assert_true(lines > 10);
	buf_append(&joined, "", 1);
	expected = written(uids, n);
	assert_string_equal(joined.data, expected);
	/* the ranges writer splits the same way */
	{
		struct imap_range *r = malloc(n * sizeof(*r));
		struct buf again;

		assert_non_null(r);
		for (size_t i = 0; i < n; i++)
			r[i] = (struct imap_range){ uids[i], uids[i] };
		buf_init(&again, 0);
		imap_vanished_write_ranges(&again, true, r, n);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.data, out.data, out.len);
		buf_release(&again);
		free(r);
	}
	free(expected);
	buf_release(&joined);
	buf_release(&out);
	free(uids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_bound),
		cmocka_unit_test(test_match_rfc),
		cmocka_unit_test(test_match_random),
		cmocka_unit_test(test_vanished),
		cmocka_unit_test(test_vanished_random),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
