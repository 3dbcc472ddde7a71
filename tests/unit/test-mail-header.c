/* test-mail-header - the RFC 5322 header reader on ordinary, folded, long
 * and broken headers, each fed whole, one byte at a time and cut in two at
 * every point, with the same transcript; and its helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail-header-run.h"

static const struct mail_header_limits limits_large = { 65536, 4096 };

/* The transcript of in[0..len), checked to be the same in every chunking:
 * whole, one byte at a time, bytes of 1 and 2 alternately, and cut in two
 * at every point, with an empty push between the halves. */
static void check_len(const char *in, size_t len, const struct mail_header_limits *limits,
		      const char *expected)
{
	size_t whole = len, one = 1, pairs[] = { 1, 2 }, k;
	char *got;

	got = mhr_run(in, len, limits, &whole, 1);
	assert_string_equal(got, expected);
	free(got);
	got = mhr_run(in, len, limits, &one, 1);
	assert_string_equal(got, expected);
	free(got);
	got = mhr_run(in, len, limits, pairs, 2);
	assert_string_equal(got, expected);
	free(got);
	for (k = 0; k <= len; k++) {
		size_t split[] = { k, 0, len };

		got = mhr_run(in, len, limits, split, 3);
		assert_string_equal(got, expected);
		free(got);
	}
}

static void check(const char *in, const char *expected)
{
	check_len(in, strlen(in), &limits_large, expected);
}

static void test_ordinary(void **state)
{
	(void)state;
	check("From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
	      "field 0+21 From [ a@example.org] 5+14\n"
	      "field 21+19 To [ b@example.org] 24+14\n"
	      "field 40+13 Subject [ hi] 48+3\n"
	      "end 53+2\n");
	/* No space after the colon, an empty value, odd but valid names. */
	check("X-A:b\r\nX-Empty:\r\n!#$%&'*+-/=?^_`{|}~:z\r\n\r\n",
	      "field 0+7 X-A [b] 4+1\n"
	      "field 7+10 X-Empty [] 15+0\n"
	      "field 17+23 !#$%&'*+-/=?^_`{|}~ [z] 37+1\n"
	      "end 40+2\n");
}

static void test_folded(void **state)
{
	(void)state;
	check("Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n",
	      "field 0+20 Subject [ a\\r\\n b\\r\\n\\tc] 8+10\n"
	      "field 20+6 X [ y] 22+2\n"
	      "end 26+2\n");
	/* A line of white space only folds too: it does not end the header. */
	check("A: b\r\n \r\n\t\r\nC: d\r\n\r\n",
	      "field 0+12 A [ b\\r\\n \\r\\n\\t] 2+8\n"
	      "field 12+6 C [ d] 14+2\n"
	      "end 18+2\n");
	/* Folding right after the colon. */
	check("To:\r\n a@b,\r\n c@d\r\n\r\n",
	      "field 0+18 To [\\r\\n a@b,\\r\\n c@d] 3+13\n"
	      "end 18+2\n");
}

static void test_obsolete_wsp_before_colon(void **state)
{
	(void)state;
	check("Subject : a\r\nTo\t \t: b\r\n\r\n",
	      "field 0+13 Subject [ a] 9+2\n"
	      "field 13+10 To [ b] 19+2\n"
	      "end 23+2\n");
}

static void test_no_body(void **state)
{
	(void)state;
	check("Subject: x\r\n\r\n", "field 0+12 Subject [ x] 8+2\nend 12+2\n");
	check("\r\n", "end 0+2\n");
	check("\r\nbody", "end 0+2\n");
	check("\n", "end 0+1\n");
	check("", "end 0+0\n");
}

static void test_no_empty_line(void **state)
{
	(void)state;
	check("Subject: x\r\nTo: y\r\n",
	      "field 0+12 Subject [ x] 8+2\nfield 12+7 To [ y] 15+2\nend 19+0\n");
	/* The input ends inside the field: no line end at all. */
	check("Subject: x", "field 0+10 Subject [ x] 8+2\nend 10+0\n");
	check("Subject: x\r\n y", "field 0+14 Subject [ x\\r\\n y] 8+6\nend 14+0\n");
	check("Subj", "malformed 0+4 [Subj] 0+4\nend 4+0\n");
	check("Subject:", "field 0+8 Subject [] 8+0\nend 8+0\n");
	check("Subject :", "field 0+9 Subject [] 9+0\nend 9+0\n");
}

static void test_malformed(void **state)
{
	(void)state;
	check("From a@b Mon Jan  1 00:00:00 2024\r\n"
	      "Subject: ok\r\n"
	      "no colon here\r\n"
	      " continued\r\n"
	      "Sub ject: x\r\n"
	      ": empty name\r\n"
	      "To: c\r\n"
	      "\r\n",
	      "malformed 0+35 [From a@b Mon Jan  1 00:00:00 2024] 0+33\n"
	      "field 35+13 Subject [ ok] 43+3\n"
	      "malformed 48+27 [no colon here\\r\\n continued] 48+25\n"
	      "malformed 75+13 [Sub ject: x] 75+11\n"
	      "malformed 88+14 [: empty name] 88+12\n"
	      "field 102+7 To [ c] 105+2\n"
	      "end 109+2\n");
	/* White space where no field precedes it. */
	check(" leading\r\nA: b\r\n\r\n",
	      "malformed 0+10 [ leading] 0+8\nfield 10+6 A [ b] 12+2\nend 16+2\n");
	/* Control bytes and DEL are not name characters. */
	check("A\x01: b\r\nA\x7f: c\r\n\r\n",
	      "malformed 0+7 [A\\x01: b] 0+5\nmalformed 7+7 [A\\x7f: c] 7+5\nend 14+2\n");
}

static void test_nul(void **state)
{
	static const char in[] = "A\0B: x\r\nC: y\0z\r\n\0: w\r\n\r\nbody\0";

	(void)state;
	check_len(in, sizeof(in) - 1, &limits_large,
		  "malformed 0+8 [A\\x00B: x] 0+6\n"
		  "field 8+8 C [ y\\x00z] 10+4\n"
		  "malformed 16+6 [\\x00: w] 16+4\n"
		  "end 22+2\n");
}

static void test_eight_bit(void **state)
{
	(void)state;
	/* RFC 6532: UTF-8 in values; names stay ASCII. Bytes that are not
	 * UTF-8 pass as they are. */
	check("Subject: Gr\xc3\xbc\xc3\x9f\x65\r\nN\xc3\xa4me: x\r\nX: \xff\xfe\r\n\r\n",
	      "field 0+18 Subject [ Gr\\xc3\\xbc\\xc3\\x9fe] 8+8\n"
	      "malformed 18+10 [N\\xc3\\xa4me: x] 18+8\n"
	      "field 28+7 X [ \\xff\\xfe] 30+3\n"
	      "end 35+2\n");
}

static void test_bare_lf(void **state)
{
	(void)state;
	check("A: b\nC: d\n e\n\nbody\n",
	      "field 0+5 A [ b] 2+2\nfield 5+8 C [ d\\n e] 7+5\nend 13+1\n");
	/* Mixed line ends: each line's own. */
	check("A: b\r\nC: d\n e\r\n\n",
	      "field 0+6 A [ b] 2+2\nfield 6+9 C [ d\\n e] 8+5\nend 15+1\n");
	check("A: b\n\r\n", "field 0+5 A [ b] 2+2\nend 5+2\n");
}

static void test_bare_cr(void **state)
{
	(void)state;
	/* A CR not followed by LF is a byte like any other. */
	check("A: b\rc\r\nD: e\r\n\rX\r\n\r\n",
	      "field 0+8 A [ b\\rc] 2+4\n"
	      "field 8+6 D [ e] 10+2\n"
	      "malformed 14+4 [\\rX] 14+2\n"
	      "end 18+2\n");
	check("A: b\r\r\n\r\n", "field 0+7 A [ b\\r] 2+3\nend 7+2\n");
	check("A: b\r\n\r\r\n", "field 0+6 A [ b] 2+2\nmalformed 6+3 [\\r] 6+1\nend 9+0\n");
	check("A: b\r\n\r", "field 0+6 A [ b] 2+2\nmalformed 6+1 [\\r] 6+1\nend 7+0\n");
	check("A: b\r", "field 0+5 A [ b\\r] 2+3\nend 5+0\n");
	check("\r", "malformed 0+1 [\\r] 0+1\nend 1+0\n");
	/* CR CR LF on an empty line is not one. */
	check("\r\r\nA: b\r\n\r\n", "malformed 0+3 [\\r] 0+1\nfield 3+6 A [ b] 5+2\nend 9+2\n");
	/* A line end split after its CR is still one line end. */
	check("A: b\r\n c\r\n\r\n", "field 0+10 A [ b\\r\\n c] 2+6\nend 10+2\n");
}

static void test_long_fields(void **state)
{
	static const struct mail_header_limits small = { 65536, 16 };
	static const struct {
		const char *in, *expected;
	} cases[] = {
		/* Exactly the bound: kept whole. One more byte: cut, but the
		 * offsets stay exact. */
		{ "Subject: 1234567\r\nTo: x\r\n\r\n",
		  "field 0+18 Subject [ 1234567] 8+8\nfield 18+7 To [ x] 21+2\nend 25+2\n" },
		{ "Subject: 12345678\r\nTo: x\r\n\r\n",
		  "field 0+19 Subject [ 1234567] 8+9 truncated\nfield 19+7 To [ x] 22+2\nend 26+2\n" },
		/* Folded: the folding counts, the last line end does not; the
		 * value is cut wherever the bound falls. */
		{ "Subject: 1\r\n 345\r\n\r\n", "field 0+18 Subject [ 1\\r\\n 345] 8+8\nend 18+2\n" },
		{ "Subject: 1\r\n 3456\r\n\r\n",
		  "field 0+19 Subject [ 1\\r\\n 345] 8+9 truncated\nend 19+2\n" },
		/* A name that does not fit: its colon lies past the bound. */
		{ "X-Very-Long-Name-Here: v\r\nA: b\r\n\r\n",
		  "malformed 0+26 [X-Very-Long-Name] 0+24 truncated\nfield 26+6 A [ b] 28+2\nend 32+2\n" },
		/* The colon as the last byte kept, and one byte too far. */
		{ "X-Fifteen-Chars: v\r\n\r\n", "field 0+20 X-Fifteen-Chars [] 16+2 truncated\nend 20+2\n" },
		{ "X-Sixteen-Chars-: v\r\n\r\n",
		  "malformed 0+21 [X-Sixteen-Chars-] 0+19 truncated\nend 21+2\n" },
	};
	char in[6000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_len(cases[i].in, strlen(cases[i].in), &small, cases[i].expected);

	/* A field of 6,000 bytes, with a bound of 16, in every chunking. */
	memset(in, 'x', sizeof(in));
	memcpy(in, "Subject: ", 9);
	memcpy(in + sizeof(in) - 8, "\r\nA:\r\n\r\n", 8);
	check_len(in, sizeof(in), &small,
		  "field 0+5994 Subject [ xxxxxxx] 8+5984 truncated\n"
		  "field 5994+4 A [] 5996+0\nend 5998+2\n");
}

/* The parser never holds more than the field bound, however long the
 * field (a look at its buffer: the only place it keeps bytes). */
static void test_memory_bound(void **state)
{
	static const struct mail_header_limits limits = { 4u << 20, 1000 };
	struct mail_header_parser p;
	struct mail_header_field f;
	size_t i, most = 0;
	char c = 'y';

	(void)state;
	mail_header_parser_init(&p, &limits);
	assert_int_equal(p.kept.cap, 0);
	mail_header_parser_push(&p, "Subject: ", 9);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_NEED_MORE);
	for (i = 0; i < (1u << 20); i++) {
		mail_header_parser_push(&p, &c, 1);
		assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_NEED_MORE);
		if (p.kept.cap > most)
			most = p.kept.cap;
	}
	assert_true(most <= 2 * limits.max_field);
	mail_header_parser_push(&p, "\r\n\r\n", 4);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_FIELD);
	assert_true(f.truncated);
	assert_int_equal(f.value_len, 1000 - 8);
	assert_int_equal(f.value_length, (1u << 20) + 1);
	assert_int_equal(f.length, 9 + (1u << 20) + 2);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_END);
	assert_int_equal(p.kept.cap, 0);
	mail_header_parser_deinit(&p);
}

static void test_header_bound(void **state)
{
	static const char in[] = "A: b\r\n\r\nbody";
	static const char two[] = "Subject: 0123456789\r\nTo: x\r\n\r\n";
	struct mail_header_limits limits = { 8, 100 };

	(void)state;
	/* The header with its empty line is 8 bytes. */
	check_len(in, sizeof(in) - 1, &limits, "field 0+6 A [ b] 2+2\nend 6+2\n");
	limits.max_header = 7;
	check_len(in, sizeof(in) - 1, &limits, "field 0+6 A [ b] 2+2\ntoo-large 6+0\n");
	limits.max_header = 6;
	check_len(in, sizeof(in) - 1, &limits, "field 0+6 A [ b] 2+2\ntoo-large 6+0\n");
	limits.max_header = 5;
	check_len(in, sizeof(in) - 1, &limits, "too-large 0+0\n");
	limits.max_header = 0;
	check_len(in, sizeof(in) - 1, &limits, "too-large 0+0\n");
	check_len("", 0, &limits, "end 0+0\n");
	/* Without an empty line, the input's end is within the bound. */
	limits.max_header = 6;
	check_len(in, 6, &limits, "field 0+6 A [ b] 2+2\nend 6+0\n");
	/* A field that goes on past the bound is not reported. */
	limits.max_header = 20;
	check_len(two, sizeof(two) - 1, &limits, "too-large 0+0\n");
	limits.max_header = 27;
	check_len(two, sizeof(two) - 1, &limits,
		  "field 0+21 Subject [ 0123456789] 8+11\ntoo-large 21+0\n");
	/* Its continuation crosses the bound. */
	limits.max_header = 6;
	check_len("A: b\r\n c\r\n\r\n", 12, &limits, "too-large 0+0\n");
	/* An empty line of CR LF cut by the bound. */
	limits.max_header = 7;
	check_len(in, sizeof(in) - 1, &limits, "field 0+6 A [ b] 2+2\ntoo-large 6+0\n");
}

static void test_after_end(void **state)
{
	static const struct mail_header_limits limits = { 100, 100 };
	struct mail_header_parser p;
	struct mail_header_field f;

	(void)state;
	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, "A: b\r\n\r\nbody", 12);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_FIELD);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_END);
	assert_int_equal(f.offset + f.length, 8);
	/* The body may go on being pushed; the end stays where it was. */
	mail_header_parser_push(&p, "Subject: not a header\r\n", 23);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_END);
	assert_int_equal(f.offset, 6);
	assert_int_equal(f.length, 2);
	assert_null(f.name);
	mail_header_parser_finish(&p);
	assert_int_equal(mail_header_parser_next(&p, &f), MAIL_HEADER_END);
	mail_header_parser_deinit(&p);
}

static void test_unfold(void **state)
{
	char out[64];
	char in_place[] = " a\r\n b\n\tc";
	size_t n;

	(void)state;
	n = mail_header_unfold(" a\r\n b\r\n\tc", 10, out);
	assert_int_equal(n, 6);
	assert_memory_equal(out, " a b\tc", n);
	/* A line end not followed by white space stays (a cut value); a bare
	 * CR is a byte; CR LF LF WSP loses only the LF that folds. */
	n = mail_header_unfold("a\r\n", 3, out);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\r\n", 3);
	n = mail_header_unfold("a\r b", 4, out);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "a\r b", 4);
	n = mail_header_unfold("a\r\n\n b", 6, out);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "a\r\n b", 5);
	n = mail_header_unfold("", 0, out);
	assert_int_equal(n, 0);
	n = mail_header_unfold(in_place, strlen(in_place), in_place);
	assert_int_equal(n, 6);
	assert_memory_equal(in_place, " a b\tc", n);
}

static void test_name_equals(void **state)
{
	(void)state;
	assert_true(mail_header_name_equals("Received", 8, "received"));
	assert_true(mail_header_name_equals("MESSAGE-ID", 10, "Message-ID"));
	assert_false(mail_header_name_equals("Received", 7, "Received"));
	assert_false(mail_header_name_equals("X-Received", 10, "Received"));
	assert_false(mail_header_name_equals("Receive", 7, "Received"));
	/* Only letters fold: '@' and '`' differ by the same bit. */
	assert_false(mail_header_name_equals("A@", 2, "a`"));
	assert_false(mail_header_name_equals("[", 1, "{"));
	assert_true(mail_header_name_equals("", 0, ""));
	assert_string_equal(mail_header_result_name(MAIL_HEADER_TOO_LARGE), "too-large");
	assert_string_equal(mail_header_result_name(MAIL_HEADER__COUNT), "?");
}

static void test_counter(void **state)
{
	static const char msg[] =
		"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"X-Received: not this one\r\n"
		"received :\r\n from c\r\n"
		"RECEIVED: from d\r\n"
		"Received from e (no colon: malformed)\r\n"
		"Subject: x\r\n"
		"\r\n"
		"Received: in the body\r\n";
	static const struct mail_header_limits limits = { 65536, 64 };
	struct mail_header_counter c;
	size_t i;

	(void)state;
	mail_header_counter_init(&c, &limits, "Received");
	assert_false(mail_header_counter_push(&c, msg, sizeof(msg) - 1));
	assert_int_equal(c.count, 3);
	assert_int_equal(mail_header_counter_finish(&c), MAIL_HEADER_END);
	assert_int_equal(c.count, 3);
	mail_header_counter_deinit(&c);

	/* A byte at a time: the header goes on until its empty line. */
	mail_header_counter_init(&c, &limits, "received");
	for (i = 0; i < sizeof(msg) - 1; i++) {
		bool more = mail_header_counter_push(&c, msg + i, 1);

		assert_true(more == (i + 1 < sizeof(msg) - 1 - 23));
	}
	assert_int_equal(mail_header_counter_finish(&c), MAIL_HEADER_END);
	assert_int_equal(c.count, 3);
	mail_header_counter_deinit(&c);

	/* Nothing pushed at all. */
	mail_header_counter_init(&c, &limits, "Received");
	assert_int_equal(mail_header_counter_finish(&c), MAIL_HEADER_END);
	assert_int_equal(c.count, 0);
	mail_header_counter_deinit(&c);
}

static void test_counter_too_large(void **state)
{
	static const struct mail_header_limits limits = { 100, 64 };
	struct mail_header_counter c;
	unsigned i;

	(void)state;
	mail_header_counter_init(&c, &limits, "Received");
	for (i = 0; i < 10 && mail_header_counter_push(&c, "Received: x\r\n", 13); i++)
		;
	/* 7 fields of 13 bytes fit in 100; the 8th does not. */
	assert_int_equal(i, 7);
	assert_int_equal(c.count, 7);
	assert_int_equal(mail_header_counter_finish(&c), MAIL_HEADER_TOO_LARGE);
	assert_int_equal(c.count, 7);
	mail_header_counter_deinit(&c);
}

static void test_find(void **state)
{
	static const char msg[] =
		"Received: from a\r\n"
		"from : First <a@example.org>,\r\n\tSecond <b@example.org>\r\n"
		"From: second occurrence\r\n"
		"Message-ID: <1@x>\r\n"
		"\r\n"
		"Date: in the body\r\n";
	static const struct mail_header_limits limits = { 65536, 16 };
	struct mail_header_field f;

	(void)state;
	/* The whole value, though the field is longer than max_field. */
	assert_true(mail_header_find(msg, sizeof(msg) - 1, &limits, "From", &f));
	assert_int_equal(f.offset, 18);
	assert_int_equal(f.length, 56);
	assert_memory_equal(f.name, "from", 4);
	assert_int_equal(f.name_len, 4);
	assert_int_equal(f.value_length, 48);
	assert_int_equal(f.value_len, 48);
	assert_memory_equal(f.value, " First <a@example.org>,\r\n\tSecond <b@example.org>", 48);
	assert_ptr_equal(f.value, msg + f.value_offset);
	assert_false(f.truncated);

	assert_true(mail_header_find(msg, sizeof(msg) - 1, &limits, "message-id", &f));
	assert_memory_equal(f.value, " <1@x>", f.value_len);
	/* Not in the header; not past the header's bound. */
	assert_false(mail_header_find(msg, sizeof(msg) - 1, &limits, "Date", &f));
	assert_false(mail_header_find(msg, sizeof(msg) - 1, &limits, "To", &f));
	assert_false(mail_header_find("", 0, &limits, "From", &f));
	{
		static const struct mail_header_limits tight = { 30, 16 };

		assert_true(mail_header_find(msg, sizeof(msg) - 1, &tight, "Received", &f));
		assert_false(mail_header_find(msg, sizeof(msg) - 1, &tight, "From", &f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordinary),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_obsolete_wsp_before_colon),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_no_empty_line),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_eight_bit),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_long_fields),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_header_bound),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_unfold),
		cmocka_unit_test(test_name_equals),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_counter_too_large),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
