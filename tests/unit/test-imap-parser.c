/* test-imap-parser - the IMAP command parser fed every command form of
 * RFC 9051 and broken input, each whole, one byte at a time and in every
 * other chunk size, with the same events each way; recovery to the next
 * command after each error; the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-arg.h"
#include "imap/imap-parser.h"

static const struct imap_parser_limits test_limits = {
	.max_line = 200,
	.max_literal = 100,
	.max_literals = 150,
	.max_depth = 4,
	.max_args = 40,
};

static uint64_t test_stream(void *ctx, const char *name)
{
	(void)ctx;
	return strcasecmp(name, "APPEND") == 0 ? 1000 : 0;
}

static void dump_args(struct buf *out, const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			buf_append(out, " ", 1);
		switch (a->type) {
		case IMAP_ARG_ATOM:
			buf_append(out, a->str, a->len);
			break;
		case IMAP_ARG_NIL:
			buf_printf(out, "<NIL %s>", a->str);
			break;
		case IMAP_ARG_QUOTED:
			buf_printf(out, "\"%s\"", a->str);
			assert_int_equal(strlen(a->str), a->len);
			break;
		case IMAP_ARG_LITERAL:
			if (a->streamed) {
				buf_printf(out, "<stream %zu>", a->len);
				break;
			}
			buf_printf(out, "%s{%zu}", a->literal8 ? "~" : "", a->len);
			buf_append(out, a->str, a->len);
			assert_int_equal(a->str[a->len], '\0');
			break;
		case IMAP_ARG_LIST:
			buf_append(out, "(", 1);
			dump_args(out, a->list, a->n);
			buf_append(out, ")", 1);
			break;
		case IMAP_ARG__COUNT:
			fail();
		}
	}
}

static void dump_command(struct buf *out, const struct imap_parser *p)
{
	const struct imap_parsed *cmd = imap_parser_command(p);

	buf_printf(out, "[%s %s", cmd->tag, cmd->name);
	if (cmd->n_args > 0) {
		buf_append(out, " ", 1);
		dump_args(out, cmd->args, cmd->n_args);
	}
	buf_append(out, "]", 1);
}

/* Feed `in` arriving `chunk` bytes at a time; the events as text: [tag
 * name args] a command, + a continuation, <S n> a stream (its bytes are
 * taken here), !tag:reason an error (! TOOBIG when too_big), ... when the
 * input ended inside a command. */
static char *run_limits(const char *in, size_t len, size_t chunk,
			const struct imap_parser_limits *limits)
{
	struct imap_parser *p = imap_parser_new(limits);
	size_t off = 0, arrived = chunk < len ? chunk : len;
	struct buf out;
	bool mid = false;

	buf_init(&out, 0);
	imap_parser_set_stream(p, test_stream, NULL);
	for (;;) {
		size_t used = 99;
		enum imap_parse_result r = imap_parser_feed(p, in + off, arrived - off, &used);
		const struct imap_parse_error *e;

		assert_true(used <= arrived - off);
		off += used;
		for (size_t i = off - used; i < off; i++)
			mid = mid || (in[i] != '\r' && in[i] != '\n');
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			assert_int_equal(off, arrived);
			if (arrived == len)
				goto end;
			arrived = len - arrived < chunk ? len : arrived + chunk;
			break;
		case IMAP_PARSE_COMMAND:
			dump_command(&out, p);
			mid = false;
			break;
		case IMAP_PARSE_CONTINUE:
			buf_append(&out, "+", 1);
			break;
		case IMAP_PARSE_STREAM: {
			uint64_t size = imap_parser_stream_size(p);
			size_t take = len - off < size ? len - off : (size_t)size;

			buf_printf(&out, "<S%s%s %llu ", imap_parser_stream_sync(p) ? "+" : "",
				   imap_parser_stream_literal8(p) ? "~" : "", (unsigned long long)size);
			dump_command(&out, p);
			buf_append(&out, in + off, take);
			buf_append(&out, ">", 1);
			off += take;
			if (arrived < off)
				arrived = off;
			imap_parser_stream_done(p);
			break;
		}
		case IMAP_PARSE_ERROR:
			e = imap_parser_error(p);
			buf_printf(&out, "!%s:%s%s", e->tag != NULL ? e->tag : "", e->reason,
				   e->too_big ? " TOOBIG" : "");
			mid = false;
			break;
		case IMAP_PARSE__COUNT:
			fail();
		}
	}
end:
	if (mid && off > 0)
		buf_append(&out, "...", 3);
	buf_append(&out, "", 1);
	imap_parser_free(&p);
	assert_null(p);
	return out.data;
}

static char *run(const char *in, size_t len, size_t chunk)
{
	return run_limits(in, len, chunk, &test_limits);
}

/* Every chunk size gives `want`. */
static void check_len(const char *in, size_t len, const char *want)
{
	for (size_t chunk = 1; chunk <= len + 1; chunk++) {
		char *got = run(in, len, chunk);

		if (strcmp(got, want) != 0)
			print_error("chunk %zu: input \"%s\"\n", chunk, in);
		assert_string_equal(got, want);
		free(got);
	}
}

static void check(const char *in, const char *want)
{
	check_len(in, strlen(in), want);
}

static void test_simple(void **state)
{
	(void)state;
	check("a1 NOOP\r\n", "[a1 NOOP]");
	check("a1 noop\r\nA2 CAPABILITY\r\n", "[a1 noop][A2 CAPABILITY]");
	check("* LOGOUT\r\n", "!:Missing tag");
	check("x] LOGIN user \"pa ss\"\r\n", "[x] LOGIN user \"pa ss\"]");
	check("1 LOGIN \"us\\\"er\" \"p\\\\w\"\r\n", "[1 LOGIN \"us\"er\" \"p\\w\"]");
	check("a SELECT INBOX\r\n", "[a SELECT INBOX]");
	check("a SELECT \"\"\r\n", "[a SELECT \"\"]");
	check("a ID NIL\r\n", "[a ID <NIL NIL>]");
	check("a LOGIN nil x\r\n", "[a LOGIN <NIL nil> x]");
	check("a ID (\"name\" \"mutt\" \"version\" \"2.2\" \"os\" NIL)\r\n",
	      "[a ID (\"name\" \"mutt\" \"version\" \"2.2\" \"os\" <NIL NIL>)]");
	check("a ENABLE IMAP4rev2 UTF8=ACCEPT\r\n", "[a ENABLE IMAP4rev2 UTF8=ACCEPT]");
	check("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
	      "[a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==]");
	check("a STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
	      "[a STATUS blurdybloop (UIDNEXT MESSAGES)]");
	check("a RENAME \"Ärger\" Neu\r\n", "[a RENAME \"Ärger\" Neu]");
	check("a CREATE &AMQ-rger/x\r\n", "[a CREATE &AMQ-rger/x]");
}

static void test_uid_and_fetch(void **state)
{
	(void)state;
	check("a UID FETCH 1:* (FLAGS UID)\r\n", "[a UID FETCH 1:* (FLAGS UID)]");
	check("a FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
	      "[a FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])]");
	check("a FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (To Cc)]<0.100>\r\n",
	      "[a FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (To Cc)]<0.100>]");
	check("a FETCH 1 (BODY[1.2.MIME] BINARY.PEEK[1]<5.7> BINARY.SIZE[2] BODY[])\r\n",
	      "[a FETCH 1 (BODY[1.2.MIME] BINARY.PEEK[1]<5.7> BINARY.SIZE[2] BODY[])]");
	check("a FETCH 1:3,5 ALL\r\n", "[a FETCH 1:3,5 ALL]");
	check("a FETCH $ (UID)\r\n", "[a FETCH $ (UID)]");
	/* An unclosed '[' is an ordinary character. */
	check("a SELECT [Gmail]/Sent\r\n", "[a SELECT [Gmail]/Sent]");
	check("a CREATE a[b c\r\n", "[a CREATE a[b c]");
	check("a FETCH 1 (BODY[TEXT)\r\n", "[a FETCH 1 (BODY[TEXT)]");
}

static void test_store_search_list(void **state)
{
	(void)state;
	check("a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)\r\n",
	      "[a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)]");
	check("a UID STORE 7 FLAGS ()\r\n", "[a UID STORE 7 FLAGS ()]");
	check("a SEARCH CHARSET UTF-8 OR (FROM \"x\" SUBJECT {3}\r\nabc) NOT (SEEN (DELETED))\r\n",
	      "+[a SEARCH CHARSET UTF-8 OR (FROM \"x\" SUBJECT {3}abc) NOT (SEEN (DELETED))]");
	check("a SEARCH RETURN (MIN MAX SAVE) UNDELETED SINCE 1-Feb-1994\r\n",
	      "[a SEARCH RETURN (MIN MAX SAVE) UNDELETED SINCE 1-Feb-1994]");
	check("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"INBOX/*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
	      "[a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"INBOX/*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))]");
	check("a LIST \"\" *\r\na LSUB \"#news.\" comp.%\r\n",
	      "[a LIST \"\" *][a LSUB \"#news.\" comp.%]");
	check("a COPY 1:2 \"Sent Items\"\r\na UID MOVE 4,6 Trash\r\n",
	      "[a COPY 1:2 \"Sent Items\"][a UID MOVE 4,6 Trash]");
	check("a CREATE Drafts (USE (\\Drafts))\r\n", "[a CREATE Drafts (USE (\\Drafts))]");
}

static void test_literals(void **state)
{
	(void)state;
	check("a LOGIN {4}\r\nuser {6}\r\nsecret\r\n", "++[a LOGIN {4}user {6}secret]");
	check("a LOGIN {4+}\r\nuser {6+}\r\nsecret\r\n", "[a LOGIN {4}user {6}secret]");
	check("a LOGIN {0}\r\n {0+}\r\n\r\n", "+[a LOGIN {0} {0}]");
	check_len("a LOGIN {3+}\r\na\0b x\r\n", sizeof("a LOGIN {3+}\r\na\0b x\r\n") - 1,
		  "[a LOGIN {3}a");
	check("a LOGIN {2}\r\n\r\n x\r\n", "+[a LOGIN {2}\r\n x]");
	/* literal8 only for APPEND's messages. */
	check("a X ~{3}\r\nb NOOP\r\n", "!a:Literal8 only for a message to append[b NOOP]");
	check("a X ~{3+}\r\nabc\r\nb NOOP\r\n", "!a:Literal8 only for a message to append[b NOOP]");
	check("a APPEND ~{5}\r\nb NOOP\r\n", "!a:Literal8 only for a message to append[b NOOP]");
	check("a X (a {1}\r\nb c)\r\n", "+[a X (a {1}b c)]");
	check("a X {001}\r\nb\r\n", "+[a X {1}b]");
	/* A literal ends its line. */
	check("a X {3} x\r\nb X\r\n", "!a:Invalid literal[b X]");
	check("a X {3x}\r\nb X\r\n", "!a:Invalid literal[b X]");
	check("a X {}\r\nb X\r\n", "!a:Invalid literal[b X]");
	check("a X {99999999999999999999}\r\nb X\r\n", "!a:Invalid literal[b X]");
	check("a X {3}abc\r\nb X\r\n", "!a:Invalid literal[b X]");
	/* Something must separate a literal from what follows. */
	check("a X {1}\r\nbc\r\nb X\r\n", "+!a:Missing space between arguments[b X]");
}

static void test_append(void **state)
{
	(void)state;
	check("a APPEND INBOX {5}\r\nhello\r\n", "<S+ 5 [a APPEND INBOX <stream 5>]hello>[a APPEND INBOX <stream 5>]");
	check("a APPEND Drafts (\\Seen \\Draft) \"1-Jan-2024 10:00:00 +0100\" {3+}\r\nabc\r\n",
	      "<S 3 [a APPEND Drafts (\\Seen \\Draft) \"1-Jan-2024 10:00:00 +0100\" <stream 3>]abc>"
	      "[a APPEND Drafts (\\Seen \\Draft) \"1-Jan-2024 10:00:00 +0100\" <stream 3>]");
	/* MULTIAPPEND (RFC 3502). */
	check("a APPEND x {2}\r\nab (\\Seen) {1+}\r\nc\r\n",
	      "<S+ 2 [a APPEND x <stream 2>]ab><S 1 [a APPEND x <stream 2> (\\Seen) <stream 1>]c>"
	      "[a APPEND x <stream 2> (\\Seen) <stream 1>]");
	/* The mailbox as a literal is held; literal8 is streamed as such. */
	check("a APPEND {5}\r\nINBOX ~{2}\r\nab\r\n",
	      "+<S+~ 2 [a APPEND {5}INBOX <stream 2>]ab>[a APPEND {5}INBOX <stream 2>]");
	/* Over the stream's bound: refused; non-sync is skipped first. */
	check("a APPEND x {1001}\r\nb NOOP\r\n", "!a:Literal too big TOOBIG[b NOOP]");
	check("a APPEND x {1001+}\r\n", "...");
	/* A stream bound is not a held literal's bound. */
	check("a LOGIN {101}\r\nb NOOP\r\n", "!a:Literal too big TOOBIG[b NOOP]");
}

static void test_refused_nonsync(void **state)
{
	char in[400];
	int n;

	(void)state;
	/* RFC 7888 4: a refused {n+} is read and dropped, then the rest of
	 * the command, before the error. */
	n = snprintf(in, sizeof(in), "a LOGIN {101+}\r\n%0101d {3+}\r\nxyz\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "!a:Literal too big TOOBIG[b NOOP]");
	/* All literals of a command together: 150. */
	n = snprintf(in, sizeof(in), "a X {100+}\r\n%0100d {51+}\r\n%051d\r\nb NOOP\r\n", 0, 0);
	check_len(in, (size_t)n, "!a:Literal too big TOOBIG[b NOOP]");
	n = snprintf(in, sizeof(in), "a X {100+}\r\n%0100d {50+}\r\n%050d\r\nb NOOP\r\n", 0, 0);
	check_len(in, (size_t)n, "[a X {100}0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000 {50}00000000000000000000000000000000000000000000000000][b NOOP]");
	/* A syntax error in a line that ends in {n+}: the literal is skipped. */
	check("a X ) {3+}\r\n(((\r\nb NOOP\r\n", "!a:Unexpected ')'[b NOOP]");
	check("a X \"x {3+}\r\n)))\r\nb NOOP\r\n", "!a:Missing '\"'[b NOOP]");
	/* With a synchronizing literal the client sends nothing more. */
	check("a X ) {3}\r\nb NOOP\r\n", "!a:Unexpected ')'[b NOOP]");
}

static void test_lenient(void **state)
{
	(void)state;
	/* Bare LF, empty lines, extra spaces. */
	check("a NOOP\n", "[a NOOP]");
	check("\r\n\na NOOP\r\n\r\n", "[a NOOP]");
	check("a  FETCH  1   (FLAGS  UID )  \r\n", "[a FETCH 1 (FLAGS UID)]");
	check("a LOGIN {1}\nx\n", "+[a LOGIN {1}x]");
	check("a STORE 1 FLAGS (\\Seen)\r\n", "[a STORE 1 FLAGS (\\Seen)]");
	/* 8-bit in a quoted string (UTF-8, RFC 9051). */
	check("a SELECT \"Entw\xc3\xbcrfe\"\r\n", "[a SELECT \"Entw\xc3\xbcrfe\"]");
	check("a X \"tab\there\"\r\n", "[a X \"tab\there\"]");
}

/* `in` is malformed: `want`, then the command after it is read. */
static void check_recover(const char *in, const char *want)
{
	char *in2, *want2;

	assert_true(asprintf(&in2, "%sz NOOP\r\n", in) > 0);
	assert_true(asprintf(&want2, "%s[z NOOP]", want) > 0);
	check(in2, want2);
	free(in2);
	free(want2);
}

static void test_malformed(void **state)
{
	(void)state;
	check_recover(" NOOP\r\n", "!:Missing tag");
	check_recover("+ NOOP\r\n", "!:Missing tag");
	check_recover("a+ NOOP\r\n", "!:Invalid tag");
	check_recover("a\"b NOOP\r\n", "!:Invalid tag");
	check_recover("NOOP\r\n", "!NOOP:Missing command name");
	check_recover("a \r\n", "!a:Missing command name");
	check_recover("a NO*OP\r\n", "!a:Invalid command name");
	check_recover("a {3}\r\n", "!a:Missing command name");
	check_recover("a X (a b\r\n", "!a:Missing ')'");
	check_recover("a X a b)\r\n", "!a:Unexpected ')'");
	check_recover("a X ((a) b\r\n", "!a:Missing ')'");
	check_recover("a X (a)(b)\r\n", "!a:Missing space between arguments");
	check_recover("a X \"a\"b\r\n", "!a:Missing space between arguments");
	check_recover("a X \"abc\r\n", "!a:Missing '\"'");
	check_recover("a X \"a\\bc\"\r\n", "!a:Invalid escape in quoted string");
	check_recover("a X \"ab\\\r\n", "!a:Invalid escape in quoted string");
	check_recover("a X \"a\rb\"\r\n", "!a:NUL or CR in quoted string");
	check_len("a X \"a\0b\"\r\nb NOOP\r\n", sizeof("a X \"a\0b\"\r\nb NOOP\r\n") - 1,
		  "!a:NUL or CR in quoted string[b NOOP]");
	check_recover("a X a\"b\r\n", "!a:Invalid characters in atom");
	check_recover("a X a{b\r\n", "!a:Invalid characters in atom");
	check_recover("a X a\tb\r\n", "!a:Invalid characters in atom");
	check_recover("a X Entw\xc3\xbcrfe\r\n", "!a:8-bit data in atom");
	check_recover("a NOOP\r\r\n", "!a:Invalid command name");
	check_recover("a X b\rc\r\n", "!a:Invalid characters in atom");
}

static void test_bounds(void **state)
{
	char in[1200];
	int n;

	(void)state;
	/* Too deep: four levels are allowed. */
	check("a X ((((x))))\r\n", "[a X ((((x))))]");
	check("a X (((((x)))))\r\nb NOOP\r\n", "!a:Lists nested too deeply TOOBIG[b NOOP]");
	/* Too many arguments: 40, lists and their elements counted. */
	n = snprintf(in, sizeof(in), "a X");
	for (int i = 0; i < 40; i++)
		n += snprintf(in + n, sizeof(in) - (size_t)n, " %d", i % 10);
	check_len(in, (size_t)snprintf(in + n, sizeof(in) - (size_t)n, "\r\n") + (size_t)n,
		  "[a X 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9]");
	n = snprintf(in, sizeof(in), "a X (");
	for (int i = 0; i < 40; i++)
		n += snprintf(in + n, sizeof(in) - (size_t)n, " %d", i % 10);
	n += snprintf(in + n, sizeof(in) - (size_t)n, ")\r\nb NOOP\r\n");
	check_len(in, (size_t)n, "!a:Too many arguments TOOBIG[b NOOP]");
	/* Line too long: 200 bytes in all outside literals, line ends included. */
	n = snprintf(in, sizeof(in), "a X %0194d\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "[a X 00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000][b NOOP]");
	n = snprintf(in, sizeof(in), "a X %0195d\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "!a:Command line too long TOOBIG[b NOOP]");
	n = snprintf(in, sizeof(in), "a X %01000d\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "!a:Command line too long TOOBIG[b NOOP]");
	/* Too long before the tag ended: no tag. */
	n = snprintf(in, sizeof(in), "%0300d X\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "!:Command line too long TOOBIG[b NOOP]");
	/* The bound spans the lines of a command; literals do not count. */
	n = snprintf(in, sizeof(in), "a X {90}\r\n%090d %0190d\r\nb NOOP\r\n", 0, 0);
	check_len(in, (size_t)n, "+!a:Command line too long TOOBIG[b NOOP]");
	/* A too-long line that ends in {n+}: that literal is skipped too. */
	n = snprintf(in, sizeof(in), "a X %0300d {5+}\r\n(((((\r\nb NOOP\r\n", 0);
	check_len(in, (size_t)n, "!a:Command line too long TOOBIG[b NOOP]");
	/* Empty lines are not counted. */
	memset(in, '\n', 300);
	memcpy(in + 300, "a NOOP\r\n", 8);
	check_len(in, 308, "[a NOOP]");
}

static void test_memory(void **state)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	static char junk[100000];
	const char *in;
	size_t used;

	(void)state;
	assert_int_equal(imap_parser_memory(p), 0);
	/* A line far over the bound, and a refused {n+} literal of 1 MB:
	 * the parser holds what the bounds allow, not what it is fed. */
	memset(junk, 'x', sizeof(junk));
	in = "a X ";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_NEED_MORE);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(imap_parser_feed(p, junk, sizeof(junk), &used), IMAP_PARSE_NEED_MORE);
		assert_int_equal(used, sizeof(junk));
		assert_true(imap_parser_memory(p) <= 1024);
	}
	in = " {1000000+}\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_NEED_MORE);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(imap_parser_feed(p, junk, sizeof(junk), &used), IMAP_PARSE_NEED_MORE);
		assert_true(imap_parser_memory(p) <= 1024);
	}
	assert_int_equal(imap_parser_feed(p, "\r\n", 2, &used), IMAP_PARSE_ERROR);
	assert_true(imap_parser_error(p)->too_big);
	/* Held literals up to their bound, then all given back. */
	in = "b X {100+}\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_NEED_MORE);
	assert_int_equal(imap_parser_feed(p, junk, 100, &used), IMAP_PARSE_NEED_MORE);
	assert_int_equal(imap_parser_feed(p, "\r\n", 2, &used), IMAP_PARSE_COMMAND);
	assert_int_equal(imap_parser_command(p)->args[0].len, 100);
	assert_true(imap_parser_memory(p) > 0 && imap_parser_memory(p) <= 4096);
	imap_parser_reset(p);
	assert_int_equal(imap_parser_memory(p), 0);
	imap_parser_free(&p);
}

static void test_reuse(void **state)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	const struct imap_parsed *cmd;
	const char *in = "a LOGIN {3}\r\n";
	size_t used;

	(void)state;
	/* A half-read command is forgotten by reset. */
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_CONTINUE);
	assert_int_equal(used, strlen(in));
	imap_parser_reset(p);
	in = "b NOOP\r\nc NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, 8);
	cmd = imap_parser_command(p);
	assert_string_equal(cmd->tag, "b");
	assert_string_equal(cmd->name, "NOOP");
	assert_int_equal(cmd->n_args, 0);
	/* A feed of nothing keeps the command. */
	assert_int_equal(imap_parser_feed(p, in + 8, 0, &used), IMAP_PARSE_NEED_MORE);
	assert_int_equal(used, 0);
	assert_string_equal(imap_parser_command(p)->tag, "b");
	assert_int_equal(imap_parser_feed(p, in + 8, 8, &used), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "c");
	/* A stream waits for stream_done. */
	imap_parser_set_stream(p, test_stream, NULL);
	in = "d APPEND x {3}\r\nabc\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_STREAM);
	assert_int_equal(used, 16);
	assert_int_equal(imap_parser_feed(p, in + 16, 5, &used), IMAP_PARSE_STREAM);
	assert_int_equal(used, 0);
	imap_parser_stream_done(p);
	assert_int_equal(imap_parser_feed(p, in + 19, 2, &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
	imap_parser_free(&p);
}

static void test_arg_helpers(void **state)
{
	struct imap_arg atom = { .type = IMAP_ARG_ATOM, .str = "4294967295", .len = 10 };
	struct imap_arg big = { .type = IMAP_ARG_ATOM, .str = "4294967296", .len = 10 };
	struct imap_arg quoted = { .type = IMAP_ARG_QUOTED, .str = "12", .len = 2 };
	struct imap_arg nil = { .type = IMAP_ARG_NIL, .str = "Nil", .len = 3 };
	struct imap_arg lit = { .type = IMAP_ARG_LITERAL, .str = "x", .len = 1 };
	struct imap_arg streamed = { .type = IMAP_ARG_LITERAL, .str = "", .len = 9, .streamed = true };
	struct imap_arg list = { .type = IMAP_ARG_LIST, .str = "" };
	struct imap_arg neg = { .type = IMAP_ARG_ATOM, .str = "-1", .len = 2 };
	uint32_t n32;
	uint64_t n64;

	(void)state;
	assert_true(imap_arg_number(&atom, &n32));
	assert_int_equal(n32, UINT32_MAX);
	assert_false(imap_arg_number(&big, &n32));
	assert_true(imap_arg_number64(&big, &n64));
	assert_int_equal(n64, 4294967296ULL);
	assert_false(imap_arg_number(&quoted, &n32));
	assert_false(imap_arg_number(&neg, &n32));
	assert_false(imap_arg_number64(&neg, &n64));
	assert_string_equal(imap_arg_astring(&atom), "4294967295");
	assert_string_equal(imap_arg_astring(&quoted), "12");
	assert_string_equal(imap_arg_astring(&nil), "Nil");
	assert_string_equal(imap_arg_astring(&lit), "x");
	assert_null(imap_arg_astring(&streamed));
	assert_null(imap_arg_astring(&list));
	assert_null(imap_arg_string(&atom));
	assert_null(imap_arg_string(&nil));
	assert_string_equal(imap_arg_string(&quoted), "12");
	assert_string_equal(imap_arg_string(&lit), "x");
	assert_true(imap_arg_atom_is(&nil, "NIL"));
	assert_false(imap_arg_atom_is(&quoted, "12"));
	assert_false(imap_arg_atom_is(&list, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_uid_and_fetch),
		cmocka_unit_test(test_store_search_list),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_refused_nonsync),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_arg_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
