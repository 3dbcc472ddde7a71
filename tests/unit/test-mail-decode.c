/* test-mail-decode - the decoders of mail/mail-decode.h: base64 and
 * quoted-printable fed whole and one byte at a time, charsets to UTF-8,
 * RFC 2047 words, case folding and the matcher, with broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "mail/mail-decode.h"

/* Decode `in` in pieces of `step` bytes (0: whole); returns the output
 * (malloc'd, NUL-terminated), its length and the bad flag. */
static char *decode(enum mail_cte cte, const char *in, size_t len, size_t step, size_t *len_r,
		    bool *bad_r)
{
	struct mail_decoder d;
	char *out = malloc(MAIL_DECODE_OUT_MAX(len) + MAIL_DECODE_HOLD + 1);
	size_t n = 0, off = 0;

	assert_non_null(out);
	mail_decoder_init(&d, cte);
	while (off < len) {
		size_t k = step == 0 || step > len - off ? len - off : step;

		n += mail_decoder_push(&d, in + off, k, out + n);
		off += k;
	}
	n += mail_decoder_finish(&d, out + n);
	out[n] = '\0';
	*len_r = n;
	*bad_r = mail_decoder_bad(&d);
	return out;
}

/* Every chunking gives the same output and flag: returns the output. */
static void check_decode(enum mail_cte cte, const char *in, const char *want, size_t want_len,
			 bool want_bad)
{
	size_t steps[] = { 0, 1, 2, 3, 5, 7 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n;
		bool bad;
		char *out = decode(cte, in, strlen(in), steps[i], &n, &bad);

		assert_int_equal(n, want_len);
		assert_memory_equal(out, want, want_len);
		assert_int_equal(bad, want_bad);
		free(out);
	}
}

#define CHECK(cte, in, want, bad) check_decode(cte, in, want, sizeof(want) - 1, bad)

static void test_cte_parse(void **state)
{
	(void)state;
	assert_int_equal(mail_cte_parse(NULL, 0), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_parse("", 0), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_parse(" 7BIT", 5), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_parse("8bit\r\n", 6), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_parse("Binary", 6), MAIL_CTE_IDENTITY);
	assert_int_equal(mail_cte_parse(" Base64 ", 8), MAIL_CTE_BASE64);
	assert_int_equal(mail_cte_parse("Quoted-Printable", 16), MAIL_CTE_QP);
	assert_int_equal(mail_cte_parse("x-uuencode", 10), MAIL_CTE_UNKNOWN);
	assert_int_equal(mail_cte_parse("base64x", 7), MAIL_CTE_UNKNOWN);
	assert_string_equal(mail_cte_name(MAIL_CTE_QP), "quoted-printable");
}

static void test_base64(void **state)
{
	(void)state;
	CHECK(MAIL_CTE_BASE64, "", "", false);
	CHECK(MAIL_CTE_BASE64, "aGVsbG8=", "hello", false);
	CHECK(MAIL_CTE_BASE64, "aGVs\r\nbG8h", "hello!", false);
	CHECK(MAIL_CTE_BASE64, "aGk=\r\n", "hi", false);
	CHECK(MAIL_CTE_BASE64, "AP8A", "\0\xff\0", false);
	/* Broken: missing padding, junk, data after the padding, one lone symbol. */
	CHECK(MAIL_CTE_BASE64, "aGVsbG8", "hello", true);
	CHECK(MAIL_CTE_BASE64, "aGV*sbG8=", "hello", true);
	CHECK(MAIL_CTE_BASE64, "aGk=aGk=", "hi", true);
	CHECK(MAIL_CTE_BASE64, "a", "", true);
	CHECK(MAIL_CTE_BASE64, "====", "", false);
}

static void test_qp(void **state)
{
	(void)state;
	CHECK(MAIL_CTE_QP, "", "", false);
	CHECK(MAIL_CTE_QP, "caf=C3=A9", "caf\xc3\xa9", false);
	CHECK(MAIL_CTE_QP, "caf=c3=a9", "caf\xc3\xa9", false);      /* lower case read */
	CHECK(MAIL_CTE_QP, "soft=\r\nbreak", "softbreak", false);
	CHECK(MAIL_CTE_QP, "soft=  \r\nbreak", "softbreak", false); /* padding after '=' */
	CHECK(MAIL_CTE_QP, "soft=\nbreak", "softbreak", false);
	CHECK(MAIL_CTE_QP, "line  \r\nnext\t\r\n", "line\r\nnext\r\n", false);
	CHECK(MAIL_CTE_QP, "a\nb", "a\r\nb", false);                /* bare LF */
	CHECK(MAIL_CTE_QP, "a b  c", "a b  c", false);
	CHECK(MAIL_CTE_QP, "end  ", "end", false);
	CHECK(MAIL_CTE_QP, "x  =41", "x  A", false);
	/* Broken: lone '=', bad hex, cut at the end, bare CR. */
	CHECK(MAIL_CTE_QP, "a=zb", "a=zb", true);
	CHECK(MAIL_CTE_QP, "a=4zb", "a=4zb", true);
	CHECK(MAIL_CTE_QP, "a=4", "a=4", true);
	CHECK(MAIL_CTE_QP, "a=", "a=", true);
	CHECK(MAIL_CTE_QP, "a\rb", "a\rb", true);
	CHECK(MAIL_CTE_QP, "a = b", "a =b", true);
}

static void test_qp_long_whitespace(void **state)
{
	char in[400], want[400];

	(void)state;
	memset(in, ' ', 300);
	memcpy(in + 300, "x", 2);
	memcpy(want, in, 302);
	check_decode(MAIL_CTE_QP, in, want, 301, false);
}

/* Bare LFs in quoted-printable become CRLF: the output is twice the
 * input, inside MAIL_DECODE_OUT_MAX (fuzz-mail-decode found it writing
 * past a buffer of len + MAIL_DECODE_HOLD). */
static void test_qp_bare_lf_bound(void **state)
{
	enum { N = 300 };
	char in[N];
	unsigned char *out = malloc(MAIL_DECODE_OUT_MAX(N));
	struct mail_decoder d;
	size_t n;

	(void)state;
	assert_non_null(out);
	memset(in, '\n', N);
	mail_decoder_init(&d, MAIL_CTE_QP);
	n = mail_decoder_push(&d, in, N, out);
	assert_int_equal(n, 2 * N);
	assert_true(n <= MAIL_DECODE_OUT_MAX(N));
	assert_int_equal(mail_decoder_finish(&d, out), 0);
	assert_memory_equal(out, "\r\n\r\n", 4);
	free(out);
}

static void test_identity(void **state)
{
	(void)state;
	CHECK(MAIL_CTE_IDENTITY, "as =41 is", "as =41 is", false);
	CHECK(MAIL_CTE_UNKNOWN, "kept", "kept", true);
}

/* Convert `in` from `charset` in pieces of `step` bytes. */
static char *convert(const char *charset, const char *in, size_t len, size_t step)
{
	struct mail_charset *cs = mail_charset_open(charset);
	struct buf out;
	size_t off = 0;

	assert_non_null(cs);
	buf_init(&out, 0);
	while (off < len) {
		size_t k = step == 0 || step > len - off ? len - off : step;

		assert_int_equal(mail_charset_push(cs, in + off, k, &out), 0);
		off += k;
	}
	assert_int_equal(mail_charset_finish(cs, &out), 0);
	mail_charset_close(&cs);
	assert_null(cs);
	assert_int_equal(buf_append(&out, "", 1), 0);
	return out.data;
}

static void check_convert(const char *charset, const char *in, size_t len, const char *want)
{
	size_t steps[] = { 0, 1, 2, 3 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *out = convert(charset, in, len, steps[i]);

		assert_string_equal(out, want);
		free(out);
	}
}

static void test_charset(void **state)
{
	(void)state;
	check_convert("ISO-8859-1", "caf\xe9", 4, "caf\xc3\xa9");
	check_convert("windows-1252", "\x80", 1, "\xe2\x82\xac");
	check_convert("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 6,
		      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");  /* Привет */
	check_convert("utf-8", "j\xc3\xb6rg \xf0\x9f\x98\x80", 10, "j\xc3\xb6rg \xf0\x9f\x98\x80");
	check_convert("UTF-8", "a\xff" "b\xc3", 4, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	check_convert("us-ascii", "plain", 5, "plain");
	check_convert("shift_jis", "\x82\xa0", 2, "\xe3\x81\x82");        /* あ */
	check_convert("shift_jis", "\x82", 1, "\xef\xbf\xbd");             /* cut */
	check_convert("ISO-2022-JP", "\x1b$B$\"\x1b(B", 8, "\xe3\x81\x82"); /* stateful */
	check_convert("ks_c_5601-1987", "\xb0\xa1", 2, "\xea\xb0\x80");    /* 가, by alias */
	assert_null(mail_charset_open("x-no-such-charset"));
	assert_null(mail_charset_open("UTF-8//TRANSLIT"));
	assert_null(mail_charset_open("/etc/passwd"));
	assert_null(mail_charset_open(""));
	assert_null(mail_charset_open("unknown-8bit"));
	assert_true(mail_charset_is_utf8("US-ASCII"));
	assert_true(mail_charset_is_utf8("utf8"));
	assert_false(mail_charset_is_utf8("latin1"));
}

/* Broken input in a stateful or multibyte charset gives the same text
 * however it is cut (the fuzz-mail-text finding: invalid UTF-7 in 9-byte
 * pieces gave one more U+FFFD than whole). */
static void test_charset_pieces(void **state)
{
	static const struct {
		const char *charset, *in;
		size_t len;
	} cases[] = {
		{ "utf7", "+bType\0t/mr", 11 },
		{ "utf7", "+AGE-+AGEx+ZeVnLIqe-a+", 22 },
		{ "utf7", "a+\xff+-+AAA+Zx", 12 },
		{ "ISO-2022-JP", "\x1b$B$\"\x1b(\x1b$B\xff$", 12 },
		{ "shift_jis", "\x82\x82\xa0\x82\xff\x82", 6 },
		{ "UTF-16", "\xff\xfe" "a\0\0\xd8" "b\0\xdc", 9 },
		{ "gb18030", "\x81\x30\x81\x81\x30\xff\x81", 7 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *whole = convert(cases[i].charset, cases[i].in, cases[i].len, 0);

		for (size_t step = 1; step <= cases[i].len; step++) {
			char *cut = convert(cases[i].charset, cases[i].in, cases[i].len, step);

			if (strcmp(cut, whole) != 0)
				fail_msg("%s case %zu in %zu-byte pieces: \"%s\" not \"%s\"",
					 cases[i].charset, i, step, cut, whole);
			free(cut);
		}
		free(whole);
	}
	/* The same across the end of a block. */
	{
		static const size_t steps[] = { 1, 3, 9, 13, 4095, 4096, 4097 };
		char in[4110];
		char *whole;

		memset(in, 'a', 4090);
		memcpy(in + 4090, "+bType\0t/mr+AGE-+Zx", 20);
		whole = convert("utf7", in, sizeof(in), 0);
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			char *cut = convert("utf7", in, sizeof(in), steps[i]);

			assert_string_equal(cut, whole);
			free(cut);
		}
		free(whole);
	}
}

static void test_charset_cap(void **state)
{
	struct mail_charset *cs = mail_charset_open("latin1");
	struct buf out;

	(void)state;
	assert_non_null(cs);
	buf_init(&out, 4);
	/* Held until its block ends or the input does. */
	assert_int_equal(mail_charset_push(cs, "\xe9\xe9\xe9", 3, &out), 0);
	assert_int_equal(mail_charset_finish(cs, &out), -1);
	assert_true(out.len <= 4);
	mail_charset_close(&cs);
	buf_release(&out);
}

static void test_sanitize(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(mail_utf8_sanitize("ok \xc3\xa9 \xc0\xaf \xed\xa0\x80 \0!", 15, &out), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_string_equal(out.data, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
				      "\xef\xbf\xbd \xef\xbf\xbd!");
	assert_true(utf8_valid((unsigned char *)out.data, out.len - 1));
	buf_release(&out);
}

static char *header(const char *raw)
{
	struct buf out;

	buf_init(&out, 0);
	assert_int_equal(mail_decode_header(raw, strlen(raw), &out), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_true(utf8_valid((unsigned char *)out.data, out.len - 1));
	return out.data;
}

static void check_header(const char *raw, const char *want)
{
	char *got = header(raw);

	assert_string_equal(got, want);
	free(got);
}

static void test_rfc2047(void **state)
{
	(void)state;
	check_header(" plain text", "plain text");
	check_header(" =?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9");
	check_header(" =?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9");
	check_header(" =?iso-8859-1?Q?a_b?= c", "a b c");
	/* RFC 2047 8's examples. */
	check_header("=?ISO-8859-1?Q?a?= b", "a b");
	check_header("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab");
	check_header("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab");
	check_header("=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=", "ab");
	check_header("=?ISO-8859-1?Q?a_b?=", "a b");
	check_header("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b");
	check_header("(=?ISO-8859-1?Q?a?=)", "(a)");
	/* A UTF-8 character split between two words comes out whole. */
	check_header("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "\xc3\xa9\xc3\xa9");
	check_header("=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=", "\xc3\xa9");
	/* RFC 2231 5 language suffix. */
	check_header("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	/* Other charsets. */
	check_header("=?koi8-r?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	/* Raw UTF-8 (RFC 6532) stays; raw 8-bit that is not UTF-8 is made valid. */
	check_header(" J\xc3\xb6rg", "J\xc3\xb6rg");
	check_header(" J\xf6rg", "J\xef\xbf\xbdrg");
}

static void test_rfc2047_broken(void **state)
{
	(void)state;
	check_header("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");            /* bad encoding */
	check_header("=?utf-8?q?abc", "=?utf-8?q?abc");                /* not closed */
	check_header("=??q?abc?=", "=??q?abc?=");                      /* no charset */
	check_header("=?utf-8?q?a=zz?=", "=?utf-8?q?a=zz?=");          /* bad hex */
	check_header("=?utf-8?q?a=4?=", "=?utf-8?q?a=4?=");            /* cut hex */
	check_header("=?utf-8?b?Y2F*?=", "=?utf-8?b?Y2F*?=");          /* bad base64 */
	check_header("=?x-nope?q?abc?= d", "=?x-nope?q?abc?= d");      /* unknown charset */
	check_header("=?utf-8?q?a?= =?x-nope?q?b?=", "a =?x-nope?q?b?=");
	check_header("=?utf-8?q?a b?=", "=?utf-8?q?a b?=");            /* space inside */
	check_header("=?", "=?");
	check_header("=?=?utf-8?q?x?=", "=?x");
	check_header("=?utf-8?q?=FF?=", "\xef\xbf\xbd");               /* invalid UTF-8 */
	check_header("a=?utf-8?q?b?=c", "abc");                        /* inside a word */
	check_header("", "");
	check_header(" \r\n ", "");
}

static void test_rfc2047_long_word(void **state)
{
	char raw[3000];
	size_t n;

	(void)state;
	memcpy(raw, "=?utf-8?q?", 10);
	n = 10;
	for (size_t i = 0; i < 2000; i++)
		raw[n++] = 'x';
	memcpy(raw + n, "?=", 3);
	check_header(raw, raw);     /* too long: kept as written */
}

static void test_fold(void **state)
{
	(void)state;
	assert_int_equal(mail_fold_char('A'), 'a');
	assert_int_equal(mail_fold_char('z'), 'z');
	assert_int_equal(mail_fold_char(0xc9), 0xe9);      /* É */
	assert_int_equal(mail_fold_char(0xdf), 0xdf);      /* ß: no simple folding */
	assert_int_equal(mail_fold_char(0x1e9e), 0xdf);    /* ẞ (status S) */
	assert_int_equal(mail_fold_char(0x100), 0x101);    /* Ā */
	assert_int_equal(mail_fold_char(0x101), 0x101);
	assert_int_equal(mail_fold_char(0x391), 0x3b1);    /* Α */
	assert_int_equal(mail_fold_char(0x3c2), 0x3c3);    /* ς */
	assert_int_equal(mail_fold_char(0x3a3), 0x3c3);    /* Σ */
	assert_int_equal(mail_fold_char(0x410), 0x430);    /* А */
	assert_int_equal(mail_fold_char(0x401), 0x451);    /* Ё */
	assert_int_equal(mail_fold_char(0x531), 0x561);    /* Ա */
	assert_int_equal(mail_fold_char(0x212a), 'k');     /* Kelvin */
	assert_int_equal(mail_fold_char(0xb5), 0x3bc);     /* µ */
	assert_int_equal(mail_fold_char(0x130), 0x130);    /* İ: Turkic only */
	assert_int_equal(mail_fold_char(0x10400), 0x10428); /* Deseret */
	assert_int_equal(mail_fold_char(0x4e00), 0x4e00);
}

static void test_fold_utf8(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* Lengthening (U+023A -> U+2C65), shortening (Kelvin -> k), bad bytes kept. */
	assert_int_equal(mail_fold_utf8("\xc8\xba\xc8\xba\xe2\x84\xaa\xff", 8, &out), 0);
	assert_int_equal(out.len, 3 + 3 + 1 + 1);
	assert_memory_equal(out.data, "\xe2\xb1\xa5\xe2\xb1\xa5k\xff", 8);
	buf_release(&out);
}

static void test_match(void **state)
{
	(void)state;
	assert_true(mail_match_contains("Hello World", 11, "WORLD", 5));
	assert_false(mail_match_contains("Hello World", 11, "worlds", 6));
	assert_true(mail_match_contains("anything", 8, "", 0));
	assert_true(mail_match_contains("", 0, "", 0));
	assert_false(mail_match_contains("", 0, "a", 1));
	assert_true(mail_match_contains("CAF\xc3\x89", 5, "caf\xc3\xa9", 5));         /* CAFÉ */
	assert_true(mail_match_contains("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", 10,
					"\xcf\x83\xce\xbf\xcf\x86", 6));            /* ΣΟΦΙΑ / σοφ */
	assert_true(mail_match_contains("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", 12,
					"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 12));
	assert_true(mail_match_contains("x\xffy", 3, "\xff", 1));
	assert_false(mail_match_contains("Stra\xc3\x9f" "e", 7, "strasse", 7));   /* simple folding */
	assert_true(mail_match_contains("cut \xc3", 5, "\xc3", 1));               /* cut at the end */
}

/* A text fed in pieces of every size finds what it holds. */
static void test_match_pieces(void **state)
{
	const char *text = "Das ist \xc3\x9c" "BER gro\xc3\x9f und \xe2\x84\xaa" "elvin";
	size_t len = strlen(text);

	(void)state;
	for (size_t step = 1; step <= len; step++) {
		struct mail_match *m = mail_match_new("\xc3\xbc" "ber gro", 9);
		struct mail_match *k = mail_match_new("kelvin", 6);
		struct mail_match *no = mail_match_new("kelvins", 7);

		for (size_t off = 0; off < len; off += step) {
			size_t n = step > len - off ? len - off : step;

			mail_match_push(m, text + off, n);
			mail_match_push(k, text + off, n);
			mail_match_push(no, text + off, n);
		}
		assert_true(mail_match_found(m));
		assert_true(mail_match_found(k));
		assert_false(mail_match_found(no));
		mail_match_reset(m);
		assert_false(mail_match_found(m));
		assert_false(mail_match_push(m, "nothing", 7));
		mail_match_free(&m);
		mail_match_free(&k);
		mail_match_free(&no);
		assert_null(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cte_parse),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_qp_long_whitespace),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_qp_bare_lf_bound),
		cmocka_unit_test(test_charset_pieces),
		cmocka_unit_test(test_charset_cap),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_rfc2047_broken),
		cmocka_unit_test(test_rfc2047_long_word),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_fold_utf8),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
