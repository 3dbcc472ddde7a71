/* test-mail-text - a message's text as SEARCH reads it (mail/mail-text.h):
 * header fields decoded, text parts decoded by transfer encoding and
 * charset, attachments skipped, messages inside messages, broken mail;
 * read in pieces of every size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/mail-mime.h"
#include "mail/mail-text.h"

/* What the sink saw: "T:name=value\n" / "I:name=value\n" for fields,
 * "B:text|\n" for each part (its pieces joined). */
struct seen {
	struct buf out;
	bool in_part;
};

static void on_field(void *ctx, bool top, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	struct seen *s = ctx;

	assert_false(s->in_part);
	assert_int_equal(buf_append_str(&s->out, top ? "T:" : "I:"), 0);
	assert_int_equal(buf_append(&s->out, name, name_len), 0);
	assert_int_equal(buf_append_str(&s->out, "="), 0);
	assert_int_equal(buf_append(&s->out, value, value_len), 0);
	assert_int_equal(buf_append_str(&s->out, "\n"), 0);
}

static void on_body(void *ctx, const char *text, size_t len)
{
	struct seen *s = ctx;

	if (!s->in_part)
		assert_int_equal(buf_append_str(&s->out, "B:"), 0);
	s->in_part = true;
	assert_int_equal(buf_append(&s->out, text, len), 0);
}

static void on_part_end(void *ctx)
{
	struct seen *s = ctx;

	if (!s->in_part)
		assert_int_equal(buf_append_str(&s->out, "B:"), 0);
	s->in_part = false;
	assert_int_equal(buf_append_str(&s->out, "|\n"), 0);
}

static const struct mail_text_sink sink = { on_field, on_body, on_part_end };

static char *read_text(const char *msg, size_t step)
{
	size_t len = strlen(msg);
	struct mail_mime_parser *p = mail_mime_parser_new();
	struct mail_structure *st;
	struct mail_text *t;
	struct seen s;
	uint64_t off, want;
	uint64_t last = 0;

	mail_mime_parser_push(p, msg, len);
	st = mail_mime_parser_finish(&p);
	buf_init(&s.out, 0);
	s.in_part = false;
	t = mail_text_new(st, &sink, &s);
	while (mail_text_want(t, &off, &want)) {
		size_t n = want < step ? (size_t)want : step;

		assert_true(off >= last);       /* in file order */
		assert_true(off + want <= len);
		mail_text_push(t, msg + off, n);
		last = off + n;
	}
	mail_text_end(t);
	mail_text_free(&t);
	assert_null(t);
	mail_structure_free(&st);
	assert_int_equal(buf_append(&s.out, "", 1), 0);
	return s.out.data;
}

static void check(const char *msg, const char *want)
{
	static const size_t steps[] = { 100000, 1, 2, 3, 7, 64 };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *got = read_text(msg, steps[i]);

		assert_string_equal(got, want);
		free(got);
	}
}

static void test_plain(void **state)
{
	(void)state;
	check("Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: a@b\r\n\r\nHello\r\n",
	      "T:Subject=caf\xc3\xa9\nT:From=a@b\nB:Hello\r\n|\n");
	/* Header only. */
	check("Subject: x\r\n", "T:Subject=x\n");
	check("Subject: x\r\n\r\n", "T:Subject=x\n");   /* an empty body is no text */
	check("", "");
}

static void test_encodings(void **state)
{
	(void)state;
	check("Content-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	      "Gr=C3=BC=C3=9Fe, soft=\r\nbreak\r\n",
	      "T:Content-Type=text/plain; charset=utf-8\n"
	      "T:Content-Transfer-Encoding=quoted-printable\n"
	      "B:Gr\xc3\xbc\xc3\x9f" "e, softbreak\r\n|\n");
	check("Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
	      "Content-Transfer-Encoding: base64\r\n\r\n"
	      "Q2Fm6SBhdSBsYWl0\r\n",
	      "T:Content-Type=text/plain; charset=\"ISO-8859-1\"\n"
	      "T:Content-Transfer-Encoding=base64\n"
	      "B:Caf\xc3\xa9 au lait|\n");
	check("Content-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4",
	      "T:Content-Type=text/plain; charset=koi8-r\n"
	      "B:\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82|\n");
	/* Unknown charset: bytes as they are. */
	check("Content-Type: text/plain; charset=x-nope\r\n\r\n\xe9t\xe9",
	      "T:Content-Type=text/plain; charset=x-nope\nB:\xe9t\xe9|\n");
}

static const char multipart[] =
	"From: =?iso-8859-1?q?J=F6rg?= <j@example.org>\r\n"
	"Subject: mixed\r\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
	"\r\n"
	"preamble is not text\r\n"
	"--XX\r\n"
	"Content-Type: multipart/alternative; boundary=YY\r\n"
	"\r\n"
	"--YY\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"na=C3=AFve plain\r\n"
	"--YY\r\n"
	"Content-Type: text/html; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"PGI+bmHvdmU8L2I+\r\n"
	"--YY--\r\n"
	"--XX\r\n"
	"Content-Type: image/png; name=\"secret.png\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0IGltYWdl\r\n"
	"--XX\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: =?utf-8?b?aW5uZXIgw6k=?=\r\n"
	"\r\n"
	"inner body\r\n"
	"--XX--\r\n"
	"epilogue\r\n";

static void test_multipart(void **state)
{
	(void)state;
	check(multipart,
	      "T:From=J\xc3\xb6rg <j@example.org>\n"
	      "T:Subject=mixed\n"
	      "T:Content-Type=multipart/mixed; boundary=\"XX\"\n"
	      "B:na\xc3\xafve plain|\n"
	      "B:<b>na\xc3\xafve</b>|\n"
	      "I:Subject=inner \xc3\xa9\n"
	      "B:inner body|\n");
}

static void test_broken(void **state)
{
	char *got;

	(void)state;
	/* No closing boundary, bad base64, a cut QP escape. */
	got = read_text("Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\naGVs*bG8=\r\n--B\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nx=4", 1000);
	assert_non_null(strstr(got, "B:hello|"));
	assert_non_null(strstr(got, "B:x=4|"));
	free(got);
	/* NUL and 8-bit in a header. */
	got = read_text("Subject: a\0b \xff\r\n\r\nz", 1000);
	assert_non_null(got);
	free(got);
}

/* The top header alone, without a structure: its fields, no part, and
 * nothing read past the header's end (but for the piece holding it). */
static void check_header_only(const char *msg, const char *want)
{
	static const size_t steps[] = { 100000, 1, 3, 16 };
	size_t len = strlen(msg);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct mail_text *t;
		struct seen s;
		uint64_t off, left, pushed = 0;

		buf_init(&s.out, 0);
		s.in_part = false;
		t = mail_text_new(NULL, &sink, &s);
		while (mail_text_want(t, &off, &left)) {
			size_t n = len - pushed < steps[i] ? len - pushed : steps[i];

			assert_int_equal(off, pushed);
			if (n == 0)
				break;  /* the input ended first */
			mail_text_push(t, msg + off, n);
			pushed += n;
		}
		mail_text_end(t);
		mail_text_free(&t);
		assert_int_equal(buf_append(&s.out, "", 1), 0);
		assert_string_equal(s.out.data, want);
		if (steps[i] == 1) {
			const char *end = strstr(msg, "\r\n\r\n");

			assert_true(end == NULL || pushed == (uint64_t)(end - msg) + 4);
		}
		buf_release(&s.out);
	}
}

static void test_header_only(void **state)
{
	(void)state;
	check_header_only(multipart, "T:From=J\xc3\xb6rg <j@example.org>\n"
				     "T:Subject=mixed\n"
				     "T:Content-Type=multipart/mixed; boundary=\"XX\"\n");
	check_header_only("Subject: =?utf-8?q?a=C3=A9?=\r\n folded\r\n\r\nbody",
			  "T:Subject=a\xc3\xa9 folded\n");
	check_header_only("Subject: cut", "T:Subject=cut\n");     /* no end of header */
	check_header_only("", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_header_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
