/* test-imap-search - SEARCH programs (imap/imap-search.h): every key of
 * RFC 9051 6.4.4 read from a command line (through the real command
 * parser) and evaluated against fake messages, the text keys fed as the
 * message reader feeds them, RETURN and CHARSET, and broken programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "mail/mail-date.h"
#include "store/store.h"

static const struct imap_parser_limits limits = {
	.max_line = 65536, .max_literal = 65536, .max_literals = 65536,
	.max_depth = 100, .max_args = 10000,
};

/* Parse "a SEARCH <keys>" with the real parser, then the program. */
static enum imap_search_error parse(const char *keys, struct imap_search_program **prog_r,
				    const char **why_r)
{
	struct imap_parser *p = imap_parser_new(&limits);
	const struct imap_parsed *cmd;
	enum imap_search_error e;
	size_t len, used;
	char *line;

	assert_true(asprintf(&line, "a SEARCH %s\r\n", keys) > 0);
	len = strlen(line);
	assert_int_equal(imap_parser_feed(p, line, len, &used), IMAP_PARSE_COMMAND);
	cmd = imap_parser_command(p);
	e = imap_search_parse(cmd->args, cmd->n_args, 10, 100, prog_r, why_r);
	imap_parser_free(&p);
	free(line);
	return e;
}

static struct imap_search_program *program(const char *keys)
{
	struct imap_search_program *prog;
	const char *why;

	assert_int_equal(parse(keys, &prog, &why), IMAP_SEARCH_OK);
	assert_non_null(prog);
	return prog;
}

static enum imap_search_error error(const char *keys)
{
	struct imap_search_program *prog;
	const char *why;
	enum imap_search_error e = parse(keys, &prog, &why);

	assert_null(prog);
	assert_non_null(why);
	return e;
}

static int64_t when(int y, int m, int d, int h)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h };

	return (int64_t)timegm(&tm);
}

static struct imap_search_msg msg1(void)
{
	return (struct imap_search_msg){
		.seq = 3, .uid = 30, .flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
		.keywords = "$Forwarded Work", .recent = false,
		.internal_date = when(2026, 12, 1, 12), .size = 2000, .modseq = 700,
	};
}

/* Metadata only: TRUE or FALSE (never UNKNOWN). */
static bool meta(const char *keys, const struct imap_search_msg *m)
{
	struct imap_search_program *prog = program(keys);
	static const uint32_t saved[] = { 7, 30, 31 };
	enum imap_search_value v = imap_search_eval(prog, m, saved, 3, false);

	assert_false(prog->needs_text);
	assert_int_not_equal(v, IMAP_SEARCH_UNKNOWN);
	imap_search_program_free(&prog);
	assert_null(prog);
	return v == IMAP_SEARCH_TRUE;
}

static void test_flags(void **state)
{
	struct imap_search_msg m = msg1();

	(void)state;
	assert_true(meta("ALL", &m));
	assert_true(meta("SEEN", &m));
	assert_true(meta("flagged", &m));
	assert_false(meta("ANSWERED", &m));
	assert_false(meta("DELETED", &m));
	assert_false(meta("DRAFT", &m));
	assert_true(meta("UNANSWERED", &m));
	assert_true(meta("UNDELETED", &m));
	assert_true(meta("UNDRAFT", &m));
	assert_false(meta("UNFLAGGED", &m));
	assert_false(meta("UNSEEN", &m));
	assert_true(meta("KEYWORD work", &m));
	assert_true(meta("KEYWORD $FORWARDED", &m));
	assert_false(meta("KEYWORD Wor", &m));
	assert_true(meta("UNKEYWORD Wor", &m));
	assert_false(meta("UNKEYWORD Work", &m));
	assert_true(meta("KEYWORD \\Seen", &m));     /* a system flag as a keyword */
	assert_false(meta("KEYWORD \\Recent", &m));  /* \Recent: RECENT */
	assert_true(meta("UNKEYWORD \\Answered", &m));
	m.keywords = NULL;
	assert_false(meta("KEYWORD Work", &m));
	/* rev1 */
	assert_false(meta("RECENT", &m));
	assert_true(meta("OLD", &m));
	assert_false(meta("NEW", &m));
	m.recent = true;
	assert_false(meta("NEW", &m));
	m.flags = 0;
	assert_true(meta("NEW", &m));
}

static void test_sizes_dates(void **state)
{
	struct imap_search_msg m = msg1();

	(void)state;
	assert_true(meta("LARGER 1999", &m));
	assert_false(meta("LARGER 2000", &m));
	assert_true(meta("SMALLER 2001", &m));
	assert_false(meta("SMALLER 2000", &m));
	assert_true(meta("ON 1-Dec-2026", &m));
	assert_true(meta("ON \"01-dec-2026\"", &m));
	assert_false(meta("ON 2-Dec-2026", &m));
	assert_true(meta("BEFORE 2-Dec-2026", &m));
	assert_false(meta("BEFORE 1-Dec-2026", &m));
	assert_true(meta("SINCE 1-Dec-2026", &m));
	assert_false(meta("SINCE 2-Dec-2026", &m));
	/* Time of day does not count. */
	m.internal_date = when(2026, 12, 1, 23);
	assert_true(meta("ON 1-Dec-2026", &m));
	m.internal_date = when(2026, 12, 1, 0);
	assert_true(meta("ON 1-Dec-2026", &m));
	/* The day is UTC's, whatever the server's zone. */
	setenv("TZ", "Pacific/Kiritimati", 1);     /* UTC+14 */
	tzset();
	m.internal_date = when(2026, 12, 1, 23);
	assert_true(meta("ON 1-Dec-2026", &m));
	assert_int_equal(imap_search_day(when(2026, 12, 31, 23)), 20261231);
	unsetenv("TZ");
	tzset();
}

/* RFC 7162 3.1.5: MODSEQ n is "at least n"; the entry name and type are
 * read and ignored (one MODSEQ per message); the program says the
 * answer carries a MODSEQ. */
static void test_modseq(void **state)
{
	struct imap_search_msg m = msg1();
	struct imap_search_program *prog;

	(void)state;
	assert_true(meta("MODSEQ 700", &m));
	assert_true(meta("MODSEQ 0", &m));
	assert_false(meta("MODSEQ 701", &m));
	assert_true(meta("MODSEQ \"/flags/\\\\draft\" all 620", &m));
	assert_true(meta("MODSEQ \"/flags/$MDNSent\" priv 1", &m));
	assert_false(meta("NOT MODSEQ \"/flags/x\" SHARED 1", &m));
	assert_true(meta("OR NOT MODSEQ 720 LARGER 5000", &m));
	prog = program("MODSEQ 5");
	assert_true(prog->has_modseq);
	assert_true(prog->needs_index);
	imap_search_program_free(&prog);
	prog = program("SEEN");
	assert_false(prog->has_modseq);
	imap_search_program_free(&prog);
	assert_int_equal(error("MODSEQ"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ x"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ -1"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ 9223372036854775808"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ \"/flags/\\\\seen\" 5"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ \"/flags/\\\\seen\" other 5"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ \"/other/x\" all 5"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ \"/flags/x\" all"), IMAP_SEARCH_BAD);
	assert_int_equal(error("MODSEQ (5)"), IMAP_SEARCH_BAD);
}

static void test_sets(void **state)
{
	struct imap_search_msg m = msg1();

	(void)state;
	assert_true(meta("3", &m));
	assert_true(meta("1:5", &m));
	assert_false(meta("4:*", &m));
	assert_true(meta("2,3", &m));
	assert_true(meta("*:3", &m));     /* "*" is 10: 3:10 */
	assert_true(meta("UID 30", &m));
	assert_true(meta("UID 25:*", &m));
	assert_false(meta("UID 31:*", &m));
	assert_true(meta("$", &m));       /* 30 is saved */
	assert_true(meta("UID $", &m));
	m.uid = 8;
	assert_false(meta("$", &m));
	assert_false(meta("UID $", &m));
}

static void test_logic(void **state)
{
	struct imap_search_msg m = msg1();

	(void)state;
	assert_true(meta("SEEN FLAGGED", &m));
	assert_true(meta("SEEN FLAGGED UNDELETED", &m));
	assert_false(meta("SEEN FLAGGED DELETED", &m));
	assert_false(meta("DELETED SEEN FLAGGED", &m));
	assert_false(meta("SEEN ANSWERED", &m));
	assert_true(meta("OR ANSWERED SEEN", &m));
	assert_false(meta("OR ANSWERED DELETED", &m));
	assert_true(meta("NOT ANSWERED", &m));
	assert_false(meta("NOT NOT ANSWERED", &m));
	assert_true(meta("(SEEN (FLAGGED LARGER 10))", &m));
	assert_true(meta("OR (ANSWERED DELETED) (SEEN NOT DRAFT)", &m));
	assert_false(meta("NOT OR SEEN ANSWERED", &m));
	assert_true(meta("OR OR ANSWERED DELETED OR DRAFT SEEN", &m));
	assert_true(meta("NOT (ANSWERED SEEN)", &m));
}

static void test_return_charset(void **state)
{
	struct imap_search_program *prog;

	(void)state;
	prog = program("1:3 UID 4 $ RECENT ALL");
	assert_false(prog->needs_index);
	assert_false(prog->needs_text);
	assert_false(prog->needs_date);
	imap_search_program_free(&prog);
	prog = program("SENTON 1-Jan-2000");
	assert_false(prog->needs_index);
	assert_true(prog->needs_date);
	imap_search_program_free(&prog);
	/* system flags are the view's: no index row is read */
	prog = program("SEEN");
	assert_false(prog->needs_index);
	assert_false(prog->esearch);
	assert_int_equal(prog->ret, 0);
	imap_search_program_free(&prog);
	prog = program("OR FLAGGED KEYWORD $Junk");
	assert_true(prog->needs_index);
	imap_search_program_free(&prog);
	prog = program("UNSEEN LARGER 10");
	assert_true(prog->needs_index);
	imap_search_program_free(&prog);
	prog = program("RETURN (MIN MAX count) CHARSET UTF-8 SEEN");
	assert_true(prog->esearch);
	assert_int_equal(prog->ret, IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_COUNT);
	imap_search_program_free(&prog);
	prog = program("RETURN () ALL");
	assert_int_equal(prog->ret, IMAP_SEARCH_RET_ALL);
	imap_search_program_free(&prog);
	prog = program("RETURN (SAVE) $");
	assert_int_equal(prog->ret, IMAP_SEARCH_RET_SAVE);
	assert_true(prog->uses_saved);
	assert_false(prog->uses_seqs);      /* "$" is UIDs */
	imap_search_program_free(&prog);
	/* message numbers hold EXPUNGE back in UID SEARCH (RFC 7162 3.2.10.2) */
	prog = program("OR UID 1:3 NOT 2");
	assert_true(prog->uses_seqs);
	imap_search_program_free(&prog);
	prog = program("UID 1:* SEEN");
	assert_false(prog->uses_seqs);
	imap_search_program_free(&prog);
	prog = program("CHARSET us-ascii SUBJECT x");
	assert_true(prog->needs_text);
	imap_search_program_free(&prog);
	prog = program("CHARSET \"UTF-8\" ALL");
	imap_search_program_free(&prog);
	assert_int_equal(error("CHARSET ISO-8859-1 SUBJECT x"), IMAP_SEARCH_BADCHARSET);
	assert_int_equal(error("CHARSET KOI8-R ALL"), IMAP_SEARCH_BADCHARSET);
	assert_int_equal(error("RETURN (FOO) ALL"), IMAP_SEARCH_BAD);
	assert_int_equal(error("RETURN ALL"), IMAP_SEARCH_BAD);
	assert_int_equal(error("CHARSET"), IMAP_SEARCH_BAD);
	assert_int_equal(error("CHARSET UTF-8"), IMAP_SEARCH_BAD);
	assert_int_equal(error("RETURN (MIN)"), IMAP_SEARCH_BAD);
}

static void test_broken(void **state)
{
	char *deep, *many;
	size_t n = 0;

	(void)state;
	assert_int_equal(error("FOO"), IMAP_SEARCH_BAD);
	assert_int_equal(error("NOT"), IMAP_SEARCH_BAD);
	assert_int_equal(error("OR SEEN"), IMAP_SEARCH_BAD);
	assert_int_equal(error("()"), IMAP_SEARCH_BAD);
	assert_int_equal(error("(SEEN ())"), IMAP_SEARCH_BAD);
	assert_int_equal(error("LARGER"), IMAP_SEARCH_BAD);
	assert_int_equal(error("LARGER -1"), IMAP_SEARCH_BAD);
	assert_int_equal(error("LARGER 9223372036854775808"), IMAP_SEARCH_BAD);
	assert_int_equal(error("SMALLER x"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON 32-Jan-2026"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON 1-Foo-2026"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON 1-Jan-26"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON 2026-01-01"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON 1-Jan-20266"), IMAP_SEARCH_BAD);
	assert_int_equal(error("ON (1-Jan-2026)"), IMAP_SEARCH_BAD);
	assert_int_equal(error("SINCE"), IMAP_SEARCH_BAD);
	assert_int_equal(error("UID"), IMAP_SEARCH_BAD);
	assert_int_equal(error("UID x"), IMAP_SEARCH_BAD);
	assert_int_equal(error("UID 0"), IMAP_SEARCH_BAD);
	assert_int_equal(error("1:"), IMAP_SEARCH_BAD);
	assert_int_equal(error("SUBJECT"), IMAP_SEARCH_BAD);
	assert_int_equal(error("SUBJECT (x)"), IMAP_SEARCH_BAD);
	assert_int_equal(error("HEADER Subject"), IMAP_SEARCH_BAD);
	assert_int_equal(error("KEYWORD"), IMAP_SEARCH_BAD);
	assert_int_equal(error("KEYWORD \"x\""), IMAP_SEARCH_BAD);
	assert_int_equal(error("KEYWORD \\Foo"), IMAP_SEARCH_BAD);
	assert_int_equal(error("KEYWORD (Work)"), IMAP_SEARCH_BAD);
	assert_int_equal(error("SUBJECT \"\xff\""), IMAP_SEARCH_BAD);
	assert_int_equal(error("\"SEEN\""), IMAP_SEARCH_BAD);
	assert_int_equal(error("NIL"), IMAP_SEARCH_BAD);
	/* Bounds: nesting, and the number of keys. */
	deep = calloc(1, 5 * 100 + 10);
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(deep + n, "NOT ");
	strcpy(deep + n, "ALL");
	assert_int_equal(error(deep), IMAP_SEARCH_LIMIT);
	free(deep);
	many = calloc(1, 5 * 1100 + 10);
	n = 0;
	for (int i = 0; i < 1100; i++)
		n += (size_t)sprintf(many + n, "SEEN ");
	assert_int_equal(error(many), IMAP_SEARCH_LIMIT);
	free(many);
}

/* A message's text as the reader feeds it. */
struct text_msg {
	const char *subject, *from;
	uint32_t date;
	const char *parts[3];
	const char *inner_subject;
};

static enum imap_search_value text_eval(const char *keys, const struct text_msg *t,
					const struct imap_search_msg *m)
{
	struct imap_search_program *prog = program(keys);
	enum imap_search_value v = imap_search_eval(prog, m, NULL, 0, false);

	if (v == IMAP_SEARCH_UNKNOWN) {
		imap_search_text_begin(prog);
		imap_search_text_field(prog, true, "Subject", 7, t->subject, strlen(t->subject));
		imap_search_text_field(prog, true, "FROM", 4, t->from, strlen(t->from));
		imap_search_text_date(prog, t->date);
		for (size_t i = 0; i < 3 && t->parts[i] != NULL; i++) {
			/* In pieces of 3 bytes, cutting characters. */
			for (size_t off = 0; off < strlen(t->parts[i]); off += 3) {
				size_t n = strlen(t->parts[i]) - off;

				imap_search_text_body(prog, t->parts[i] + off, n < 3 ? n : 3);
			}
			imap_search_text_part_end(prog);
		}
		if (t->inner_subject != NULL)
			imap_search_text_field(prog, false, "Subject", 7, t->inner_subject,
					       strlen(t->inner_subject));
		v = imap_search_eval(prog, m, NULL, 0, true);
		assert_int_not_equal(v, IMAP_SEARCH_UNKNOWN);
	}
	imap_search_program_free(&prog);
	return v;
}

static void test_text(void **state)
{
	struct imap_search_msg m = msg1();
	struct text_msg t = {
		.subject = "Caf\xc3\xa9 au lait", .from = "J\xc3\xb6rg <jorg@example.org>",
		.date = 20261130,
		.parts = { "Hello \xd0\x9c\xd0\x98\xd0\xa0 world", "second part", NULL },
		.inner_subject = "Forwarded thing",
	};

	(void)state;
	assert_int_equal(text_eval("SUBJECT \"CAF\xc3\x89\"", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SUBJECT lait", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SUBJECT forwarded", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("FROM \"j\xc3\x96rg\"", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("FROM example.org", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("TO example.org", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("CC \"\"", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("HEADER subject \"\"", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("HEADER X-Nope \"\"", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("BODY {6+}\r\n\xd0\xbc\xd0\xb8\xd1\x80", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("BODY \"WORLD\"", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("BODY \"world second\"", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("BODY lait", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("BODY forwarded", &t, &m), IMAP_SEARCH_TRUE);  /* inner header */
	assert_int_equal(text_eval("TEXT lait", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("TEXT \"subject: caf\"", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("TEXT SECOND", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("TEXT nowhere", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("NOT BODY nowhere", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SENTON 30-Nov-2026", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SENTBEFORE 30-Nov-2026", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("SENTBEFORE 1-Dec-2026", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SENTSINCE 30-Nov-2026", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("SENTSINCE 1-Dec-2026", &t, &m), IMAP_SEARCH_FALSE);
	/* The index decides first: no text needed. */
	assert_int_equal(text_eval("ANSWERED BODY world", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("OR SEEN BODY nowhere", &t, &m), IMAP_SEARCH_TRUE);
	assert_int_equal(text_eval("OR ANSWERED (SUBJECT lait FLAGGED)", &t, &m), IMAP_SEARCH_TRUE);
	/* A message without a (valid) Date: never matches SENT*. */
	t.date = 0;
	assert_int_equal(text_eval("SENTBEFORE 1-Dec-2030", &t, &m), IMAP_SEARCH_FALSE);
	assert_int_equal(text_eval("NOT SENTBEFORE 1-Dec-2030", &t, &m), IMAP_SEARCH_TRUE);
}

static void test_settled(void **state)
{
	struct imap_search_program *prog = program("BODY a SUBJECT b");

	(void)state;
	assert_int_equal(prog->n_text_nodes, 2);
	imap_search_text_begin(prog);
	assert_false(imap_search_text_settled(prog));
	imap_search_text_field(prog, true, "Subject", 7, "xbx", 3);
	assert_false(imap_search_text_settled(prog));
	imap_search_text_body(prog, "za", 2);
	assert_true(imap_search_text_settled(prog));
	imap_search_text_begin(prog);
	assert_false(imap_search_text_settled(prog));
	imap_search_program_free(&prog);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(imap_search_kind_name(IMAP_SEARCH_SENTON), "senton");
	assert_string_equal(imap_search_kind_name(IMAP_SEARCH__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_sizes_dates),
		cmocka_unit_test(test_modseq),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_return_charset),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_settled),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
