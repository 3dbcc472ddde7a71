/* test-pop3-parser - the POP3 command tokenizer and the byte-stuffer of
 * RETR/TOP, fed broken input, and fed in every chunking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "pop3/pop3-parser.h"
#include "pop3/pop3-stuff.h"

static enum pop3_parse_result parse(const char *line, struct pop3_command *cmd)
{
	return pop3_parse_line(line, strlen(line), cmd);
}

static void test_simple(void **state)
{
	struct pop3_command cmd;

	(void)state;
	assert_int_equal(parse("STAT", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.name, "STAT");
	assert_int_equal(cmd.argc, 0);
	assert_int_equal(parse("top 1 10", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.name, "TOP");
	assert_int_equal(cmd.argc, 2);
	assert_string_equal(cmd.args[0], "1");
	assert_string_equal(cmd.args[1], "10");
	assert_int_equal(parse("uIdL", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.name, "UIDL");
}

static void test_spaces(void **state)
{
	struct pop3_command cmd;

	(void)state;
	assert_int_equal(parse("", &cmd), POP3_PARSE_EMPTY);
	assert_int_equal(parse("    ", &cmd), POP3_PARSE_EMPTY);
	assert_int_equal(parse("LIST 1   ", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.argc, 1);
	assert_string_equal(cmd.args[0], "1");
	assert_int_equal(parse("  RETR   2", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.name, "RETR");
	assert_string_equal(cmd.args[0], "2");
	/* PASS keeps inner spaces in `rest`. */
	assert_int_equal(parse("PASS my secret  word", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.rest, "my secret  word");
	assert_int_equal(cmd.rest_len, 15);
	assert_int_equal(cmd.argc, 3);
	assert_int_equal(parse("PASS  lead", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.rest, " lead");
	assert_int_equal(parse("NOOP", &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.rest_len, 0);
	assert_string_equal(cmd.rest, "");
}

static void test_bad_keyword(void **state)
{
	struct pop3_command cmd;

	(void)state;
	assert_int_equal(parse("AB", &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("STATS", &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("ST1T", &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("\xc3\xa9TAT", &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("LIST\xff", &cmd), POP3_PARSE_BAD_KEYWORD);
	assert_string_equal(pop3_parse_result_text(POP3_PARSE_BAD_KEYWORD), "Unknown command");
}

static void test_bad_bytes(void **state)
{
	struct pop3_command cmd;
	const char nul[] = "USER a\0b";

	(void)state;
	assert_int_equal(pop3_parse_line(nul, sizeof(nul) - 1, &cmd), POP3_PARSE_BAD_CHAR);
	assert_int_equal(parse("USER a\tb", &cmd), POP3_PARSE_BAD_CHAR);
	assert_int_equal(parse("USER a\x7f", &cmd), POP3_PARSE_BAD_CHAR);
	assert_int_equal(parse("USER a\rb", &cmd), POP3_PARSE_BAD_CHAR);
	/* Non-ASCII in an argument is not this layer's business. */
	assert_int_equal(parse("USER j\xc3\xb6rg", &cmd), POP3_PARSE_OK);
	assert_string_equal(cmd.args[0], "j\xc3\xb6rg");
}

static void test_lengths(void **state)
{
	struct pop3_command cmd;
	char line[600];
	const char *error = NULL;

	(void)state;
	/* 253 octets + CRLF = 255 is the longest line (RFC 2449 4). */
	memset(line, 'a', sizeof(line));
	memcpy(line, "USER ", 5);
	line[253] = '\0';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_OK);
	line[253] = 'a';
	line[254] = '\0';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_TOO_LONG);
	line[599] = '\0';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_TOO_LONG);

	assert_int_equal(parse("LIST 1 2 3 4 5", &cmd), POP3_PARSE_TOO_MANY_ARGS);
	assert_int_equal(parse("LIST 1 2 3 4", &cmd), POP3_PARSE_OK);
	assert_false(pop3_command_args_valid(&cmd, 0, 1, false, &error));
	assert_string_equal(error, "Too many arguments");
	assert_int_equal(parse("TOP 1", &cmd), POP3_PARSE_OK);
	assert_false(pop3_command_args_valid(&cmd, 2, 2, false, &error));
	assert_string_equal(error, "Missing argument");

	/* 40 octets per argument, the last one of AUTH excepted. */
	memset(line, 'b', sizeof(line));
	memcpy(line, "AUTH ", 5);
	line[5 + 41] = '\0';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_OK);
	assert_false(pop3_command_args_valid(&cmd, 0, 2, false, &error));
	assert_string_equal(error, "Argument too long");
	assert_true(pop3_command_args_valid(&cmd, 0, 2, true, &error));
	memcpy(line, "AUTH PLAIN ", 11);
	line[5 + 41] = 'b';
	line[200] = '\0';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_OK);
	assert_true(pop3_command_args_valid(&cmd, 0, 2, true, &error));
	line[11 + 41] = ' ';
	assert_int_equal(parse(line, &cmd), POP3_PARSE_OK);
	assert_false(pop3_command_args_valid(&cmd, 0, 3, true, &error));
}

/* The byte-stuffer: collect its output in a buf. */
static void collect(void *ctx, const void *data, size_t len)
{
	assert_int_equal(buf_append(ctx, data, len), 0);
}

/* Feed `msg` in chunks of `chunk` bytes; return the output (caller frees). */
static char *stuff(const char *msg, bool top, uint64_t lines, size_t chunk)
{
	struct pop3_stuff st;
	struct buf out;
	size_t len = strlen(msg), off = 0;

	buf_init(&out, 0);
	pop3_stuff_init(&st, top, lines);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (pop3_stuff_feed(&st, msg + off, n, collect, &out))
			break;
		off += n;
	}
	pop3_stuff_finish(&st, collect, &out);
	if (out.data == NULL)
		return strdup("");
	return out.data;
}

static void check_stuff(const char *msg, bool top, uint64_t lines, const char *want)
{
	size_t chunk;

	for (chunk = 1; chunk <= strlen(msg) + 1; chunk++) {
		char *got = stuff(msg, top, lines, chunk);
		assert_string_equal(got, want);
		free(got);
	}
}

static void test_stuffing(void **state)
{
	(void)state;
	check_stuff("", false, 0, ".\r\n");
	check_stuff("a\r\n", false, 0, "a\r\n.\r\n");
	check_stuff(".\r\n", false, 0, "..\r\n.\r\n");
	check_stuff("Subject: x\r\n\r\n.hidden\r\n..two\r\nend. .\r\n.", false, 0,
		    "Subject: x\r\n\r\n..hidden\r\n...two\r\nend. .\r\n..\r\n.\r\n");
	/* No final line end: one is added before the terminator. */
	check_stuff("a\r\nb", false, 0, "a\r\nb\r\n.\r\n");
	check_stuff("a\r\nb\r", false, 0, "a\r\nb\r\r\n.\r\n");
}

static void test_top(void **state)
{
	const char *msg = "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";

	(void)state;
	check_stuff(msg, true, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check_stuff(msg, true, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n");
	check_stuff(msg, true, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_stuff(msg, true, 99, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* Bare LF ends lines too; a header without body. */
	check_stuff("A: 1\n\nbody\n", true, 0, "A: 1\n\n.\r\n");
	check_stuff("A: 1\r\nB: 2", true, 5, "A: 1\r\nB: 2\r\n.\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_bad_keyword),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
