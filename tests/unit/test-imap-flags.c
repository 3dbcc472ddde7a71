/* test-imap-flags - FLAGS lists as IMAP writes them, and STORE's flag
 * arguments (src/imap/imap-flags.c) read from commands the real parser
 * took apart: every item form, lists and separate atoms, keywords
 * without repeats, \Recent ignored, and broken input refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-flags.h"
#include "imap/imap-parser.h"

static const struct imap_parser_limits limits = {
	.max_line = 65536, .max_literal = 1024, .max_literals = 4096,
	.max_depth = 8, .max_args = 1000,
};

/* "tag STORE 1 " + args, parsed; the result of imap_store_args_parse. */
static enum imap_store_parse parse(const char *args, struct imap_store_args *r, const char **why_r)
{
	struct imap_parser *p = imap_parser_new(&limits);
	char line[8192];
	const struct imap_parsed *cmd;
	enum imap_store_parse result;
	size_t used = 0, off = 0;
	int n = snprintf(line, sizeof(line), "a STORE 1 %s\r\n", args);
	enum imap_parse_result pr;

	assert_true(n > 0 && (size_t)n < sizeof(line));
	/* A synchronizing literal asks for its continuation first. */
	while ((pr = imap_parser_feed(p, line + off, (size_t)n - off, &used)) == IMAP_PARSE_CONTINUE)
		off += used;
	assert_int_equal(pr, IMAP_PARSE_COMMAND);
	cmd = imap_parser_command(p);
	assert_true(cmd->n_args >= 1);
	result = imap_store_args_parse(cmd->args + 1, cmd->n_args - 1, r, why_r);
	imap_parser_free(&p);
	return result;
}

static void assert_store(const char *args, enum store_flag_op op, bool silent, unsigned flags,
			 const char *keywords)
{
	struct imap_store_args r;
	const char *why;

	assert_int_equal(parse(args, &r, &why), IMAP_STORE_PARSE_OK);
	assert_int_equal(r.op, op);
	assert_int_equal(r.silent, silent);
	assert_int_equal(r.flags, flags);
	assert_int_equal(r.keywords.len, strlen(keywords));
	if (r.keywords.len > 0)
		assert_memory_equal(r.keywords.data, keywords, r.keywords.len);
	imap_store_args_free(&r);
}

static void assert_bad(const char *args, enum imap_store_parse expected)
{
	struct imap_store_args r;
	const char *why = NULL;

	assert_int_equal(parse(args, &r, &why), expected);
	assert_non_null(why);
	imap_store_args_free(&r);
}

static void test_items(void **state)
{
	(void)state;
	assert_store("FLAGS (\\Seen)", STORE_FLAGS_REPLACE, false, STORE_FLAG_SEEN, "");
	assert_store("+FLAGS (\\Deleted)", STORE_FLAGS_ADD, false, STORE_FLAG_DELETED, "");
	assert_store("-FLAGS.SILENT (\\Flagged)", STORE_FLAGS_REMOVE, true, STORE_FLAG_FLAGGED, "");
	assert_store("+flags.silent (\\seen \\ANSWERED)", STORE_FLAGS_ADD, true,
		     STORE_FLAG_SEEN | STORE_FLAG_ANSWERED, "");
	/* RFC 9051 9: flags as separate arguments too. */
	assert_store("+FLAGS \\Draft \\Seen", STORE_FLAGS_ADD, false,
		     STORE_FLAG_DRAFT | STORE_FLAG_SEEN, "");
	assert_store("FLAGS ()", STORE_FLAGS_REPLACE, false, 0, "");
	assert_store("FLAGS (\\Recent \\Seen)", STORE_FLAGS_REPLACE, false, STORE_FLAG_SEEN, "");
}

static void test_keywords(void **state)
{
	(void)state;
	assert_store("+FLAGS ($Forwarded work $MDNSent)", STORE_FLAGS_ADD, false, 0,
		     "$Forwarded work $MDNSent");
	/* Flags compare without case: one of each. */
	assert_store("+FLAGS (Work work WORK \\Seen $label1 $Label1)", STORE_FLAGS_ADD, false,
		     STORE_FLAG_SEEN, "Work $label1");
}

static void test_broken(void **state)
{
	char many[4096];
	size_t off = 0;

	(void)state;
	assert_bad("FLAG (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("*FLAGS (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS.LOUD (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGSX (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS", IMAP_STORE_PARSE_BAD);
	assert_bad("(UNCHANGEDSINCE 5) +FLAGS (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("\"+FLAGS\" (\\Seen)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (\\Seen) (\\Deleted)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (\\Unknown)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (\\*)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (\"quoted\")", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS ((\\Seen))", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (NIL)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (a%b)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS (a*)", IMAP_STORE_PARSE_BAD);
	assert_bad("+FLAGS ({3}\r\nabc)", IMAP_STORE_PARSE_BAD);
	/* longer than the store keeps (store_keyword_valid) */
	memset(many, 'k', sizeof(many));
	memcpy(many, "+FLAGS (", 8);
	memcpy(many + 8 + 129, ")", 2);
	assert_bad(many, IMAP_STORE_PARSE_BAD);
	memcpy(many + 8 + 128, ")", 2);
	{
		struct imap_store_args r;
		const char *why = NULL;

		assert_int_equal(parse(many, &r, &why), IMAP_STORE_PARSE_OK);
		imap_store_args_free(&r);
	}
	/* More distinct keywords than a mailbox may hold: NO [LIMIT]. */
	off += (size_t)snprintf(many, sizeof(many), "+FLAGS (");
	for (int i = 0; i <= STORE_MAILBOX_KEYWORDS_MAX; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off, "k%d ", i);
	snprintf(many + off - 1, sizeof(many) - off + 1, ")");
	assert_bad(many, IMAP_STORE_PARSE_LIMIT);
}

static void test_write(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	imap_flags_write(&out, 0, NULL, false);
	assert_string_equal(out.data, "()");
	buf_reset(&out);
	imap_flags_write(&out, 0, "", true);
	assert_string_equal(out.data, "(\\Recent)");
	buf_reset(&out);
	imap_flags_write(&out, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |
			 STORE_FLAG_DELETED | STORE_FLAG_DRAFT, "$Forwarded", true);
	assert_string_equal(out.data, "(\\Seen \\Answered \\Flagged \\Deleted \\Draft \\Recent $Forwarded)");
	buf_reset(&out);
	imap_flags_write(&out, 0, "a b", false);
	assert_string_equal(out.data, "(a b)");
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
