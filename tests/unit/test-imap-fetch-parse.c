/* test-imap-fetch-parse - the FETCH item parser: every item and macro,
 * sections with part numbers, HEADER.FIELDS lists, partial ranges, the
 * bounds, and malformed items (each a BAD, never a crash); and the
 * HEADER.FIELDS(.NOT) filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap-fetch-header.h"
#include "imap/imap-fetch-parse.h"

static struct imap_arg atom(const char *s)
{
	struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = s, .len = strlen(s) };

	return a;
}

/* A transcript of a request: "uid needs=S,C,N" then one line per item. */
static char *show(const struct imap_fetch_request *req)
{
	struct buf out;

	buf_init(&out, 0);
	buf_printf(&out, "%s%s%s%s%s\n", req->uid ? "uid" : "-", req->modseq ? " modseq" : "",
		   req->needs & IMAP_FETCH_NEED_STRUCTURE ? " structure" : "",
		   req->needs & IMAP_FETCH_NEED_CONTENT ? " content" : "",
		   req->needs & IMAP_FETCH_NEED_SEEN ? " seen" : "");
	for (size_t i = 0; i < req->n; i++) {
		const struct imap_fetch_item *it = &req->items[i];

		buf_printf(&out, "%s", imap_fetch_attr_name(it->attr));
		if (it->label != NULL)
			buf_printf(&out, " %s", it->label);
		if (it->attr == IMAP_FETCH_SECTION || it->attr == IMAP_FETCH_BINARY_SIZE) {
			buf_printf(&out, " t%d%s%s part=", (int)it->text, it->peek ? " peek" : "",
				   it->binary ? " binary" : "");
			for (size_t k = 0; k < it->depth; k++)
				buf_printf(&out, "%s%u", k ? "." : "", it->part[k]);
			for (size_t k = 0; k < it->n_fields; k++)
				buf_printf(&out, " f=%s", it->fields[k]);
			if (it->partial)
				buf_printf(&out, " <%llu.%llu>", (unsigned long long)it->origin,
					   (unsigned long long)it->length);
		}
		buf_append(&out, "\n", 1);
	}
	return out.data;
}

static void check_arg(const struct imap_arg *arg, bool uid, const char *expected)
{
	struct imap_fetch_request req;
	const char *why = NULL;
	char *got;

	if (!imap_fetch_parse(arg, uid, &req, &why))
		fail_msg("refused: %s", why);
	got = show(&req);
	assert_string_equal(got, expected);
	free(got);
	imap_fetch_request_free(&req);
}

static void check(const char *item, const char *expected)
{
	struct imap_arg a = atom(item);

	check_arg(&a, false, expected);
}

static void check_bad_arg(const struct imap_arg *arg, const char *why_expected)
{
	struct imap_fetch_request req;
	const char *why = NULL;

	assert_false(imap_fetch_parse(arg, false, &req, &why));
	assert_non_null(why);
	if (why_expected != NULL)
		assert_string_equal(why, why_expected);
	assert_int_equal(req.n, 0);
	assert_null(req.items);
}

static void check_bad(const char *item)
{
	struct imap_arg a = atom(item);

	check_bad_arg(&a, NULL);
}

static void test_simple(void **state)
{
	(void)state;
	check("FLAGS", "-\nFLAGS\n");
	check("uid", "uid\n");
	check("InternalDate", "-\nINTERNALDATE\n");
	check("RFC822.SIZE", "-\nRFC822.SIZE\n");
	check("ENVELOPE", "- structure\nENVELOPE\n");
	check("BODY", "- structure\nBODY\n");
	check("BODYSTRUCTURE", "- structure\nBODYSTRUCTURE\n");
	/* RFC 7162 3.1.4.2: a flag of the request, as UID */
	check("MODSEQ", "- modseq\n");
	check("modseq", "- modseq\n");
}

static void test_macros(void **state)
{
	(void)state;
	check("ALL", "- structure\nFLAGS\nINTERNALDATE\nRFC822.SIZE\nENVELOPE\n");
	check("fast", "-\nFLAGS\nINTERNALDATE\nRFC822.SIZE\n");
	check("FULL", "- structure\nFLAGS\nINTERNALDATE\nRFC822.SIZE\nENVELOPE\nBODY\n");
	/* A macro is not an item inside a list. */
	{
		struct imap_arg in[] = { atom("ALL") };
		struct imap_arg list = { .type = IMAP_ARG_LIST, .str = "", .list = in, .n = 1 };

		check_bad_arg(&list, "unknown FETCH item");
	}
}

static void test_sections(void **state)
{
	(void)state;
	check("BODY[]", "- content seen\nBODY[] BODY[] t0 part=\n");
	check("body.peek[]", "- content\nBODY[] BODY[] t0 peek part=\n");
	check("BODY[1.2.3]", "- structure content seen\nBODY[] BODY[1.2.3] t0 part=1.2.3\n");
	check("BODY.PEEK[header]", "- content\nBODY[] BODY[HEADER] t1 peek part=\n");
	check("BODY[TEXT]", "- content seen\nBODY[] BODY[TEXT] t4 part=\n");
	check("BODY[2.MIME]", "- structure content seen\nBODY[] BODY[2.MIME] t5 part=2\n");
	check("BODY[2.HEADER]", "- structure content seen\nBODY[] BODY[2.HEADER] t1 part=2\n");
	check("BODY[4.2.TEXT]", "- structure content seen\nBODY[] BODY[4.2.TEXT] t4 part=4.2\n");
	check("BODY.PEEK[HEADER.FIELDS (From To)]",
	      "- content\nBODY[] BODY[HEADER.FIELDS (From To)] t2 peek part= f=From f=To\n");
	check("BODY.PEEK[header.fields.not (\"Subject\" X-A)]",
	      "- content\nBODY[] BODY[HEADER.FIELDS.NOT (Subject X-A)] t3 peek part= "
	      "f=Subject f=X-A\n");
	check("BODY[1.HEADER.FIELDS (DATE)]",
	      "- structure content seen\nBODY[] BODY[1.HEADER.FIELDS (DATE)] t2 part=1 f=DATE\n");
	/* Names with atom-specials are legal field names: echoed quoted. */
	check("BODY[HEADER.FIELDS (\"a(b\" \"c\\\\d\" \"e\\\"f\")]",
	      "- content seen\nBODY[] BODY[HEADER.FIELDS (\"a(b\" \"c\\\\d\" \"e\\\"f\")] "
	      "t2 part= f=a(b f=c\\d f=e\"f\n");
}

static void test_partial(void **state)
{
	(void)state;
	check("BODY[]<0.100>", "- content seen\nBODY[] BODY[] t0 part= <0.100>\n");
	check("BODY.PEEK[1]<10000.1>", "- structure content\nBODY[] BODY[1] t0 peek part=1 <10000.1>\n");
	check("BINARY.PEEK[1]<5.7>",
	      "- structure content\nBODY[] BINARY[1] t0 peek binary part=1 <5.7>\n");
	check("BODY[]<9223372036854775807.9223372036854775807>",
	      "- content seen\nBODY[] BODY[] t0 part= <9223372036854775807.9223372036854775807>\n");
	check("BODY[]<007.1>", "- content seen\nBODY[] BODY[] t0 part= <7.1>\n");
	check_bad("BODY[]<0.0>");
	check_bad("BODY[]<1>");
	check_bad("BODY[]<1.>");
	check_bad("BODY[]<.1>");
	check_bad("BODY[]<1.2");
	check_bad("BODY[]<1.2>x");
	check_bad("BODY[]<-1.2>");
	check_bad("BODY[]<9223372036854775808.1>");
	check_bad("BODY[]<1.02>");
	check_bad("BINARY.SIZE[1]<0.1>");
}

static void test_binary(void **state)
{
	(void)state;
	check("BINARY[]", "- structure content seen\nBODY[] BINARY[] t0 binary part=\n");
	check("BINARY[1.2]", "- structure content seen\nBODY[] BINARY[1.2] t0 binary part=1.2\n");
	check("binary.peek[3]", "- structure content\nBODY[] BINARY[3] t0 peek binary part=3\n");
	check("BINARY.SIZE[1]",
	      "- structure content\nBINARY.SIZE BINARY.SIZE[1] t0 peek binary part=1\n");
	check("BINARY.SIZE[]", "- structure content\nBINARY.SIZE BINARY.SIZE[] t0 peek binary part=\n");
	/* BINARY takes part numbers only (RFC 9051 9 section-binary). */
	check_bad("BINARY[HEADER]");
	check_bad("BINARY[1.MIME]");
	check_bad("BINARY[1.TEXT]");
	check_bad("BINARY.SIZE[TEXT]");
	check_bad("BINARY");
	check_bad("BINARY.PEEK");
	check_bad("BINARY.SIZE");
}

static void test_rfc822(void **state)
{
	(void)state;
	check("RFC822", "- content seen\nBODY[] RFC822 t0 part=\n");
	check("RFC822.HEADER", "- content\nBODY[] RFC822.HEADER t1 peek part=\n");
	check("rfc822.text", "- content seen\nBODY[] RFC822.TEXT t4 part=\n");
	check_bad("RFC822[]");
	check_bad("RFC822.HEADER[]");
}

static void test_lists(void **state)
{
	struct imap_arg in[] = { atom("FLAGS"), atom("BODY.PEEK[HEADER.FIELDS (From)]"),
				 atom("UID"), atom("flags"), atom("RFC822.SIZE"), atom("BODY[]<0.10>"),
				 atom("BODY[]<0.10>") };
	struct imap_arg list = { .type = IMAP_ARG_LIST, .str = "", .list = in, .n = 7 };
	struct imap_arg one = atom("RFC822.SIZE");

	(void)state;
	check_arg(&list, false,
		  "uid content seen\nFLAGS\nBODY[] BODY[HEADER.FIELDS (From)] t2 peek "
		  "part= f=From\nRFC822.SIZE\nBODY[] BODY[] t0 part= <0.10>\nBODY[] BODY[] t0 "
		  "part= <0.10>\n");
	/* UID FETCH always sends the UID. */
	check_arg(&one, true, "uid\nRFC822.SIZE\n");
	list.n = 1;
	check_arg(&list, true, "uid\nFLAGS\n");
	{
		struct imap_arg ms[] = { atom("MODSEQ"), atom("FLAGS"), atom("MODSEQ") };
		struct imap_arg l2 = { .type = IMAP_ARG_LIST, .str = "", .list = ms, .n = 3 };

		check_arg(&l2, true, "uid modseq\nFLAGS\n");
	}
	check_bad("MODSEQ[]");
	check_bad("MODSEQ.PEEK");
}

static void test_malformed(void **state)
{
	struct imap_arg q = { .type = IMAP_ARG_QUOTED, .str = "FLAGS", .len = 5 };
	struct imap_arg nil = { .type = IMAP_ARG_NIL, .str = "" };
	struct imap_arg empty = { .type = IMAP_ARG_LIST, .str = "" };
	struct imap_arg inner[] = { atom("FLAGS") };
	struct imap_arg nested_in[] = { { .type = IMAP_ARG_LIST, .str = "", .list = inner, .n = 1 } };
	struct imap_arg nested = { .type = IMAP_ARG_LIST, .str = "", .list = nested_in, .n = 1 };
	struct imap_arg quoted_in[] = { q };
	struct imap_arg quoted_list = { .type = IMAP_ARG_LIST, .str = "", .list = quoted_in, .n = 1 };
	struct imap_arg with_nul = { .type = IMAP_ARG_ATOM, .str = "FLAGS\0X", .len = 7 };

	(void)state;
	check_bad_arg(&q, NULL);
	check_bad_arg(&nil, NULL);
	check_bad_arg(&empty, NULL);
	check_bad_arg(&nested, NULL);
	check_bad_arg(&quoted_list, NULL);
	check_bad_arg(&with_nul, NULL);
	check_bad("");
	check_bad("FLAG");
	check_bad("FLAGSX");
	check_bad("FLAGS[]");
	check_bad("BODY.PEEK");
	check_bad("BODY[");
	check_bad("BODY]");
	check_bad("BODY[]]");
	check_bad("BODY[[]");
	check_bad("BODY[0]");
	check_bad("BODY[01]");
	check_bad("BODY[1.0]");
	check_bad("BODY[1.]");
	check_bad("BODY[.1]");
	check_bad("BODY[1..2]");
	check_bad("BODY[4294967296]");
	check_bad("BODY[MIME]");
	check_bad("BODY[HEADERX]");
	check_bad("BODY[TEXT.HEADER]");
	check_bad("BODY[1.TEXTS]");
	check_bad("BODY[HEADER ]");
	check_bad("BODY[HEADER.FIELDS]");
	check_bad("BODY[HEADER.FIELDS ()]");
	check_bad("BODY[HEADER.FIELDS (From]");
	check_bad("BODY[HEADER.FIELDS (From )]");
	check_bad("BODY[HEADER.FIELDS ( From)]");
	check_bad("BODY[HEADER.FIELDS  (From)]");
	check_bad("BODY[HEADER.FIELDS (From)");
	check_bad("BODY[HEADER.FIELDS From]");
	check_bad("BODY[HEADER.FIELDS (\"\")]");
	check_bad("BODY[HEADER.FIELDS (\"a b\")]");
	check_bad("BODY[HEADER.FIELDS (\"a:b\")]");
	check_bad("BODY[HEADER.FIELDS (\"unterminated)]");
	check_bad("BODY[HEADER.FIELDS (\"bad\\escape\")]");
	check_bad("BODY[HEADER.FIELDS ({3}\r\nabc)]");
	check_bad("BODY[HEADER.FIELDS (From)]x");
	check_bad("BODY[1.HEADER.FIELDS.NOT]");
}

static void test_bounds(void **state)
{
	struct imap_arg many[IMAP_FETCH_MAX_ITEMS + 1];
	struct imap_arg list = { .type = IMAP_ARG_LIST, .str = "", .list = many };
	struct buf deep, fields;
	struct imap_arg a;

	(void)state;
	for (size_t i = 0; i <= IMAP_FETCH_MAX_ITEMS; i++)
		many[i] = atom("BODY[]");
	list.n = IMAP_FETCH_MAX_ITEMS;
	{
		struct imap_fetch_request req;
		const char *why;

		assert_true(imap_fetch_parse(&list, false, &req, &why));
		assert_int_equal(req.n, IMAP_FETCH_MAX_ITEMS);
		imap_fetch_request_free(&req);
	}
	list.n = IMAP_FETCH_MAX_ITEMS + 1;
	check_bad_arg(&list, "too many FETCH items");

	buf_init(&deep, 0);
	buf_append_str(&deep, "BODY[1");
	for (size_t i = 1; i < IMAP_FETCH_MAX_DEPTH; i++)
		buf_append_str(&deep, ".1");
	buf_append_str(&deep, "]");
	a = atom(deep.data);
	{
		struct imap_fetch_request req;
		const char *why;

		assert_true(imap_fetch_parse(&a, false, &req, &why));
		assert_int_equal(req.items[0].depth, IMAP_FETCH_MAX_DEPTH);
		imap_fetch_request_free(&req);
	}
	deep.len--;
	buf_append_str(&deep, ".1]");
	a = atom(deep.data);
	check_bad_arg(&a, "section nested too deeply");
	buf_release(&deep);

	buf_init(&fields, 0);
	buf_append_str(&fields, "BODY[HEADER.FIELDS (");
	for (size_t i = 0; i <= IMAP_FETCH_MAX_FIELDS; i++)
		buf_printf(&fields, "%sX-%zu", i > 0 ? " " : "", i);
	buf_append_str(&fields, ")]");
	a = atom(fields.data);
	check_bad_arg(&a, "too many header field names");
	buf_release(&fields);
}

/* Every prefix of valid items is refused or accepted without a crash or
 * a leak (the sanitizer build checks the leaks). */
static void test_prefixes(void **state)
{
	static const char *const items[] = {
		"BODY.PEEK[1.2.HEADER.FIELDS.NOT (\"X\\\"Y\" Received)]<12.34>",
		"BINARY.PEEK[1.2.3]<0.1>", "BINARY.SIZE[7]", "RFC822.HEADER",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		for (size_t len = 0; len <= strlen(items[i]); len++) {
			struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = items[i], .len = len };
			struct imap_fetch_request req;
			const char *why;

			if (imap_fetch_parse(&a, false, &req, &why))
				imap_fetch_request_free(&req);
		}
	}
}

static char *filter(const char *header, const char *names_csv, bool exclude)
{
	char *copy = strdup(names_csv), *save = NULL, *names[8];
	size_t n = 0;
	struct buf out;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		names[n++] = t;
	buf_init(&out, 0);
	imap_fetch_header_filter(header, strlen(header), names, n, exclude, &out);
	buf_append(&out, "", 1);
	free(copy);
	return out.data;
}

static void check_filter(const char *header, const char *names, bool exclude, const char *expected)
{
	char *got = filter(header, names, exclude);

	assert_string_equal(got, expected);
	free(got);
}

static void test_filter(void **state)
{
	static const char header[] = "From: a@example.org\r\n"
				     "To: b@example.org,\r\n c@example.org\r\n"
				     "subject: hi\r\n"
				     "not a field\r\n"
				     "X-Empty:\r\n"
				     "FROM : second\r\n"
				     "\r\n";

	(void)state;
	check_filter(header, "From", false, "From: a@example.org\r\nFROM : second\r\n\r\n");
	check_filter(header, "to,SUBJECT", false,
		     "To: b@example.org,\r\n c@example.org\r\nsubject: hi\r\n\r\n");
	check_filter(header, "From,To", true, "subject: hi\r\nnot a field\r\nX-Empty:\r\n\r\n");
	check_filter(header, "Nothing", false, "\r\n");
	check_filter(header, "Fro,rom,From:", false, "\r\n");
	check_filter("", "From", false, "\r\n");
	check_filter("", "From", true, "\r\n");
	/* Bare LF stays as stored; a last field without a line end gets one. */
	check_filter("A: 1\nB: 2\n\n", "B", false, "B: 2\n\r\n");
	check_filter("A: 1\r\nB: 2", "B", false, "B: 2\r\n\r\n");
	check_filter("A: 1\r\nB: 2\r", "A,B", false, "A: 1\r\nB: 2\r\r\n\r\n");
	/* A field whose name is longer than the reader keeps is still cut out whole. */
	{
		struct buf h, want;
		char *got;

		buf_init(&h, 0);
		buf_init(&want, 0);
		buf_append_str(&h, "Long: ");
		for (int i = 0; i < 5000; i++)
			buf_append_str(&h, i % 70 == 69 ? "\r\n x" : "y");
		buf_append_str(&h, "\r\nShort: z\r\n\r\n");
		buf_append(&want, h.data, h.len - 12);
		buf_append_str(&want, "\r\n");
		got = filter(h.data, "long", false);
		assert_string_equal(got, want.data);
		free(got);
		got = filter(h.data, "long", true);
		assert_string_equal(got, "Short: z\r\n\r\n");
		free(got);
		buf_release(&h);
		buf_release(&want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),   cmocka_unit_test(test_macros),
		cmocka_unit_test(test_sections), cmocka_unit_test(test_partial),
		cmocka_unit_test(test_binary),   cmocka_unit_test(test_rfc822),
		cmocka_unit_test(test_lists),    cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),   cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
