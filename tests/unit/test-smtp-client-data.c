/* test-smtp-client-data - the outgoing message encoder: dot-stuffing,
 * the final ".\r\n", a missing last CRLF added, bare CR and bare LF made
 * CRLF (also split across pieces), BDAT without stuffing; and every
 * output read back by tern's own DATA reader (smtp-data.h, the strict
 * one against smuggling), fed in every piece size, ending exactly at the
 * end with the message intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-client-data.h"
#include "smtp/smtp-data.h"

/* Encode `in` in pieces of `step` bytes (0: whole) and end it. */
static size_t encode(bool dot, const char *in, size_t len, size_t step, char *out)
{
	struct smtp_client_data d;
	size_t n = 0;

	smtp_client_data_init(&d, dot);
	for (size_t off = 0; off < len;) {
		size_t piece = step == 0 || step > len - off ? len - off : step;

		n += smtp_client_data_encode(&d, in + off, piece, out + n);
		off += piece;
	}
	n += smtp_client_data_end(&d, out + n);
	assert_int_equal(d.size, n);
	return n;
}

static void expect(bool dot, const char *in, const char *want)
{
	char out[256];
	size_t len = strlen(in);

	for (size_t step = 0; step <= len; step++) {
		size_t n = encode(dot, in, len, step, out);

		out[n] = '\0';
		assert_string_equal(out, want);
	}
}

static void test_stuffing(void **state)
{
	(void)state;
	expect(true, "Hello\r\n", "Hello\r\n.\r\n");
	expect(true, ".\r\n", "..\r\n.\r\n");
	expect(true, "a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n");
	expect(true, "a.b\r\n", "a.b\r\n.\r\n");
	expect(true, "", ".\r\n");
	/* RFC 5321 4.1.1.4: the last line gets its CRLF */
	expect(true, "no end", "no end\r\n.\r\n");
	expect(true, ".", "..\r\n.\r\n");
	/* BDAT: no stuffing, no final dot */
	expect(false, ".a\r\n", ".a\r\n");
	expect(false, "", "");
	expect(false, "x", "x\r\n");
}

static void test_bare_line_ends(void **state)
{
	(void)state;
	expect(true, "a\nb\n", "a\r\nb\r\n.\r\n");
	expect(true, "a\rb\r", "a\r\nb\r\n.\r\n");
	expect(true, "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
	expect(true, "a\n\rb", "a\r\n\r\nb\r\n.\r\n");
	/* the smuggling shapes never make an end or a stuffing-less dot */
	expect(true, "a\n.\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	expect(true, "a\r.\rb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	expect(true, "a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
	expect(true, "a\r.\r\n", "a\r\n..\r\n.\r\n");
	expect(false, "a\nb\r", "a\r\nb\r\n");
}

/* What the DATA reader gives back. */
struct collect {
	char buf[4096];
	size_t len;
};

static void collect_out(void *ctx, uint64_t offset, const char *data, size_t len)
{
	struct collect *c = ctx;

	assert_int_equal(offset, c->len);
	assert_true(c->len + len <= sizeof(c->buf));
	memcpy(c->buf + c->len, data, len);
	c->len += len;
}

/* The input with bare CRs and LFs made CRLF and a last CRLF added. */
static size_t normalize(const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r') {
			out[n++] = '\r';
			out[n++] = '\n';
			if (i + 1 < len && in[i + 1] == '\n')
				i++;
		} else if (in[i] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			out[n++] = in[i];
		}
	}
	if (n > 0 && out[n - 1] != '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

static void round_trip(const char *in, size_t len)
{
	char wire[4096], want[4096];
	struct collect c;
	struct smtp_data reader;
	size_t n = encode(true, in, len, 0, wire), wlen = normalize(in, len, want);

	for (size_t step = 1; step <= n; step++) {
		size_t off = 0, used = 0;
		enum smtp_data_status st = SMTP_DATA_MORE;

		c.len = 0;
		smtp_data_init(&reader, SMTP_DATA_MODE_DOT, UINT64_MAX, collect_out, &c);
		while (off < n && st == SMTP_DATA_MORE) {
			size_t piece = step > n - off ? n - off : step;

			st = smtp_data_feed(&reader, wire + off, piece, &used);
			off += st == SMTP_DATA_END ? used : piece;
		}
		assert_int_equal(st, SMTP_DATA_END);
		assert_int_equal(off, n);   /* the end is the very end */
		assert_int_equal(smtp_data_error(&reader), SMTP_DATA_ERROR_NONE);
		assert_int_equal(c.len, wlen);
		assert_memory_equal(c.buf, want, wlen);
	}
}

static void test_round_trip(void **state)
{
	static const char *const cases[] = {
		"Subject: x\r\n\r\nbody\r\n", ".\r\n.\r\n", "\r\n.\r\n", "a\n.\nb", "\r\r\r",
		"\n\n\n", ".\r.\n.", "..\r\n...", "x\r\n.\r\nQUIT\r\n", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip(cases[i], strlen(cases[i]));
	/* a NUL and 8-bit bytes go as they are */
	round_trip("a\0b\xff\r\n", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_bare_line_ends),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
