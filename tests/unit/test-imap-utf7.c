/* test-imap-utf7 - mailbox names between UTF-8 and modified UTF-7 (RFC
 * 3501 5.1.3): the RFC's example, surrogate pairs, "&-", and the strict
 * decoder refusing every form the RFC rules out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-utf7.h"

static const struct {
	const char *utf8, *utf7;
} both[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	/* RFC 3501 5.1.3's example. */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xc3\x84rger", "&AMQ-rger" },
	{ "Entw\xc3\xbcrfe/\xc3\xa4\xc3\xb6\xc3\xbc", "Entw&APw-rfe/&AOQA9gD8-" },
	/* U+1F600 as the pair D83D DE00. */
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "a\xf0\x9f\x98\x80\xc3\xa9z", "a&2D3eAADp-z" },
	/* Not printable: encoded too. */
	{ "a\tb\x7f", "a&AAk-b&AH8-" },
	{ "-&-", "-&--" },
};

static void test_both_ways(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		buf_reset(&out);
		assert_true(imap_utf8_to_utf7(both[i].utf8, &out));
		assert_non_null(out.data);
		assert_string_equal(out.data, both[i].utf7);
		buf_reset(&out);
		assert_true(imap_utf7_to_utf8(both[i].utf7, &out));
		assert_string_equal(out.data, both[i].utf8);
	}
	buf_release(&out);
}

static void test_decode_strict(void **state)
{
	static const char *const bad[] = {
		"&",          /* '&' alone */
		"a&b",        /* no '-' */
		"&AMQ",       /* run not closed */
		"&AEE-",      /* 'A' needlessly encoded */
		"&ACY-",      /* '&' encoded rather than "&-" */
		"&AAA-",      /* NUL */
		"&2D0-",      /* high surrogate alone */
		"&2D3YPQ-",   /* high surrogate twice */
		"&3gA-",      /* low surrogate alone */
		"&AMR-",      /* spare bits not zero */
		"&AMQA-",     /* a stray base64 character */
		"&AM=-",      /* not the alphabet */
		"&AM/-",      /* '/' is ',' in modified base64 */
		"\xc3\x84rger", /* 8-bit */
		"a\tb",       /* a control character as itself */
		"a\x7f",
	};
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&out);
		buf_append_str(&out, "kept");
		if (imap_utf7_to_utf8(bad[i], &out))
			print_error("\"%s\" accepted\n", bad[i]);
		assert_string_equal(out.data, "kept");
	}
	/* Two runs side by side are each valid. */
	buf_reset(&out);
	assert_true(imap_utf7_to_utf8("&AMQ-&AMQ-", &out));
	assert_string_equal(out.data, "\xc3\x84\xc3\x84");
	buf_release(&out);
}

static void test_encode_invalid(void **state)
{
	static const char *const bad[] = {
		"\xff", "a\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",
	};
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&out);
		assert_false(imap_utf8_to_utf7(bad[i], &out));
		assert_int_equal(out.len, 0);
	}
	/* Appended to what is there. */
	buf_append_str(&out, "x/");
	assert_true(imap_utf8_to_utf7("\xc3\xa9", &out));
	assert_string_equal(out.data, "x/&AOk-");
	assert_true(imap_utf7_to_utf8("/&AOk-", &out));
	assert_string_equal(out.data, "x/&AOk-/\xc3\xa9");
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_encode_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
