/* test-mail-mime - the MIME structure parser on the corpus of real-world
 * and broken messages in tests/unit/mime-corpus: ENVELOPE, BODY,
 * BODYSTRUCTURE and every section compared with what Dovecot answered
 * (NAME.expected, written by regen.py; NAME.tern holds the items where
 * tern differs on purpose, docs/ARCHITECTURE.md says why, in the same
 * form, and the lines "differs size" and "differs sections" where the
 * size and the section ranges are not Dovecot's), each message
 * pushed whole, one byte at a time and in pieces of 7 with the same
 * result; the serialised form round trip and corrupt blobs; the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail-mime-check.h"

struct corpus_file {
	char *data;
	size_t len;
};

static char corpus_dir[4096];

static bool read_file(const char *path, struct corpus_file *f)
{
	FILE *fp = fopen(path, "rb");
	long n;

	if (fp == NULL)
		return false;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	f->data = malloc((size_t)n + 1);
	assert_non_null(f->data);
	assert_int_equal(fread(f->data, 1, (size_t)n, fp), (size_t)n);
	f->data[n] = '\0';
	f->len = (size_t)n;
	fclose(fp);
	return true;
}

static struct mail_structure *parse_chunked(const char *data, size_t len, size_t chunk)
{
	struct mail_mime_parser *p = mail_mime_parser_new();
	size_t off;

	for (off = 0; off < len; off += chunk)
		mail_mime_parser_push(p, data + off, len - off < chunk ? len - off : chunk);
	return mail_mime_parser_finish(&p);
}

/* "1.2.3" into {1,2,3}; "0" is depth 0. */
static size_t parse_path(const char *s, uint32_t *part)
{
	size_t depth = 0;

	if (strcmp(s, "0") == 0)
		return 0;
	while (*s != '\0') {
		part[depth++] = (uint32_t)strtoul(s, (char **)&s, 10);
		if (*s == '.')
			s++;
	}
	return depth;
}

static enum mail_section_kind parse_kind(const char *s)
{
	enum mail_section_kind k;

	for (k = 0; k < MAIL_SECTION__COUNT; k++) {
		if (strcmp(mail_section_kind_name(k), s) == 0)
			return k;
	}
	fail_msg("kind %s", s);
	return MAIL_SECTION_BODY;
}

/* The item `name` of an expectation file ("envelope 12\n...\n"), or NULL. */
static char *expected_item(const struct corpus_file *f, const char *name)
{
	const char *p = f->data, *end = f->data + f->len;
	size_t name_len = strlen(name);

	while (p < end && strncmp(p, "section ", 8) != 0 && strncmp(p, "differs ", 8) != 0) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n;

		assert_non_null(sp);
		n = strtoul(sp + 1, (char **)&sp, 10);
		assert_true(*sp == '\n');
		if ((size_t)(sp - p) > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == ' ') {
			char *v = malloc(n + 1);

			assert_non_null(v);
			memcpy(v, sp + 1, n);
			v[n] = '\0';
			return v;
		}
		p = sp + 1 + n + 1;
	}
	return NULL;
}

static int failures;

static void compare(const char *name, const char *item, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	failures++;
	print_message("%s: %s differs\n  got  %s\n  want %s\n", name, item, got, want);
}

/* Every section of the expectation must give the bytes Dovecot sent. */
static void compare_sections(const char *name, const struct mail_structure *st,
			     const struct corpus_file *eml, const struct corpus_file *exp)
{
	const char *p = strstr(exp->data, "\nsection ");

	while (p != NULL) {
		char path[64], kind[16];
		unsigned long long want_len, want_hash;
		uint32_t part[8];
		uint64_t off = 0, len = 0;
		size_t depth;

		assert_int_equal(sscanf(p + 1, "section %63s %15s %llu %llx", path, kind, &want_len, &want_hash), 4);
		depth = parse_path(path, part);
		if (!mail_structure_section(st, part, depth, parse_kind(kind), &off, &len))
			len = 0;
		assert_true(off + len <= eml->len);
		if (len != want_len || mmc_fnv1a(eml->data + off, (size_t)len) != want_hash) {
			failures++;
			print_message("%s: section %s %s: got %llu bytes at %llu, want %llu\n", name, path,
				      kind, (unsigned long long)len, (unsigned long long)off, want_len);
		}
		p = strstr(p + 1, "\nsection ");
	}
}

static void check_message(const char *name)
{
	char path[8192];
	struct corpus_file eml, exp, tern = { NULL, 0 };
	struct mail_structure *whole, *one, *seven, *back;
	static const char *const items[] = { "envelope", "body", "bodystructure" };
	struct buf blob;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s.eml", corpus_dir, name);
	assert_true(read_file(path, &eml));
	snprintf(path, sizeof(path), "%s/%s.expected", corpus_dir, name);
	assert_true(read_file(path, &exp));
	snprintf(path, sizeof(path), "%s/%s.tern", corpus_dir, name);
	(void)read_file(path, &tern);

	whole = parse_chunked(eml.data, eml.len, eml.len > 0 ? eml.len : 1);
	one = parse_chunked(eml.data, eml.len, 1);
	seven = parse_chunked(eml.data, eml.len, 7);
	mmc_check(whole);
	mmc_same(whole, one);
	mmc_same(whole, seven);

	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		char *want = tern.data != NULL ? expected_item(&tern, items[i]) : NULL;
		const char *got = i == 0 ? mail_structure_envelope(whole) :
				  i == 1 ? mail_structure_body(whole) : mail_structure_bodystructure(whole);

		if (want == NULL)
			want = expected_item(&exp, items[i]);
		assert_non_null(want);
		compare(name, items[i], got, want);
		free(want);
	}
	{
		char *size = expected_item(&exp, "size");

		assert_non_null(size);
		if (tern.data == NULL || strstr(tern.data, "differs size\n") == NULL)
			assert_int_equal(strtoull(size, NULL, 10), mail_structure_size(whole));
		free(size);
	}
	if (tern.data == NULL || strstr(tern.data, "differs sections\n") == NULL)
		compare_sections(name, whole, &eml, &exp);

	buf_init(&blob, 0);
	assert_int_equal(mail_structure_serialize(whole, &blob), 0);
	back = mail_structure_deserialize(blob.data, blob.len);
	assert_non_null(back);
	mmc_same(whole, back);
	buf_release(&blob);

	mail_structure_free(&whole);
	assert_null(whole);
	mail_structure_free(&one);
	mail_structure_free(&seven);
	mail_structure_free(&back);
	free(eml.data);
	free(exp.data);
	free(tern.data);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void **state)
{
	DIR *d;
	struct dirent *e;
	char *names[256];
	size_t n = 0, i;

	(void)state;
	d = opendir(corpus_dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 4 && strcmp(e->d_name + len - 4, ".eml") == 0) {
			assert_true(n < 256);
			names[n++] = strndup(e->d_name, len - 4);
		}
	}
	closedir(d);
	assert_true(n >= 20);
	qsort(names, n, sizeof(names[0]), by_name);
	failures = 0;
	for (i = 0; i < n; i++) {
		check_message(names[i]);
		free(names[i]);
	}
	assert_int_equal(failures, 0);
}

static struct mail_structure *parse_str(const char *msg)
{
	struct mail_structure *a = parse_chunked(msg, strlen(msg), strlen(msg) + 1);
	struct mail_structure *b = parse_chunked(msg, strlen(msg), 1);

	mmc_check(a);
	mmc_same(a, b);
	mail_structure_free(&b);
	return a;
}

/* The bytes of a section, or "-" when it does not exist. */
static char *section(const struct mail_structure *st, const char *msg, const char *path,
		     enum mail_section_kind kind)
{
	uint32_t part[8];
	size_t depth = parse_path(path, part);
	uint64_t off, len;

	if (!mail_structure_section(st, part, depth, kind, &off, &len))
		return strdup("-");
	return strndup(msg + off, (size_t)len);
}

static void check_section(const struct mail_structure *st, const char *msg, const char *path,
			  enum mail_section_kind kind, const char *want)
{
	char *got = section(st, msg, path, kind);

	assert_string_equal(got, want);
	free(got);
}

static void test_sections(void **state)
{
	static const char msg[] =
		"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"pre\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
		"aGVsbG8=\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
		"--c\r\n\r\none\r\n--c\r\nContent-Type: text/html\r\n\r\ntwo\r\n--c--\r\n"
		"\r\n--b--\r\nepilogue\r\n";
	struct mail_structure *st;
	const uint32_t p1[] = { 1 }, p2[] = { 2 }, p21[] = { 2, 1 }, p3[] = { 3 };

	(void)state;
	st = parse_str(msg);
	check_section(st, msg, "0", MAIL_SECTION_BODY, msg);
	check_section(st, msg, "0", MAIL_SECTION_HEADER,
		      "Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
	check_section(st, msg, "0", MAIL_SECTION_MIME, "-");
	check_section(st, msg, "1", MAIL_SECTION_BODY, "aGVsbG8=");
	check_section(st, msg, "1", MAIL_SECTION_MIME,
		      "Content-Type: text/plain\r\nContent-Transfer-Encoding: BASE64\r\n\r\n");
	check_section(st, msg, "1", MAIL_SECTION_HEADER, "-");
	check_section(st, msg, "1.1", MAIL_SECTION_BODY, "aGVsbG8=");
	check_section(st, msg, "1.1.1", MAIL_SECTION_BODY, "-");
	check_section(st, msg, "2", MAIL_SECTION_MIME, "Content-Type: message/rfc822\r\n\r\n");
	check_section(st, msg, "2", MAIL_SECTION_HEADER,
		      "Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n");
	check_section(st, msg, "2", MAIL_SECTION_TEXT,
		      "--c\r\n\r\none\r\n--c\r\nContent-Type: text/html\r\n\r\ntwo\r\n--c--\r\n");
	check_section(st, msg, "2.1", MAIL_SECTION_BODY, "one");
	check_section(st, msg, "2.1", MAIL_SECTION_MIME, "\r\n");
	check_section(st, msg, "2.2", MAIL_SECTION_BODY, "two");
	check_section(st, msg, "2.2", MAIL_SECTION_MIME, "Content-Type: text/html\r\n\r\n");
	check_section(st, msg, "2.3", MAIL_SECTION_BODY, "-");
	check_section(st, msg, "3", MAIL_SECTION_BODY, "-");
	check_section(st, msg, "0.1", MAIL_SECTION_BODY, "-");
	assert_string_equal(mail_structure_encoding(st, p1, 1), "base64");
	assert_string_equal(mail_structure_encoding(st, p2, 1), "7bit");
	assert_string_equal(mail_structure_encoding(st, p21, 2), "7bit");
	assert_string_equal(mail_structure_encoding(st, NULL, 0), "7bit");
	assert_null(mail_structure_encoding(st, p3, 1));
	assert_string_equal(mail_structure_body(st),
			    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"BASE64\" 8 0)"
			    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 120 "
			    "(NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) "
			    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)"
			    "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) \"alternative\") 11)"
			    " \"mixed\")");
	mail_structure_free(&st);

	/* not multipart: part 1 is the body, and HEADER needs a message */
	st = parse_str("Subject: x\r\n\r\nbody\r\n");
	check_section(st, "Subject: x\r\n\r\nbody\r\n", "1", MAIL_SECTION_BODY, "body\r\n");
	check_section(st, "Subject: x\r\n\r\nbody\r\n", "0", MAIL_SECTION_TEXT, "body\r\n");
	check_section(st, "Subject: x\r\n\r\nbody\r\n", "1", MAIL_SECTION_HEADER, "-");
	check_section(st, "Subject: x\r\n\r\nbody\r\n", "2", MAIL_SECTION_BODY, "-");
	mail_structure_free(&st);
}

static void check_bodystructure(const char *msg, const char *want)
{
	struct mail_structure *st = parse_str(msg);

	assert_string_equal(mail_structure_bodystructure(st), want);
	mail_structure_free(&st);
}

/* RFC 2231: continuations in any order, charsets converted to UTF-8, an
 * unknown charset and a broken %-escape kept as they are. */
static void test_rfc2231(void **state)
{
	(void)state;
	check_bodystructure("Content-Type: a/b; n*1*=%E9t%E9; n*0*=iso-8859-1'fr'%C9t; x*=''plain\r\n\r\n",
			    "(\"a\" \"b\" (\"n\" {8}\r\n\xc3\x89t\xc3\xa9t\xc3\xa9 \"x\" \"plain\") NIL NIL"
			    " \"7bit\" 0 NIL NIL NIL NIL)");
	check_bodystructure("Content-Type: a/b; n*=x-no-such-charset''%41%4; m*0=\"a\"; m*1=b\r\n\r\n",
			    "(\"a\" \"b\" (\"n\" \"A%4\" \"m\" \"ab\") NIL NIL \"7bit\" 0 NIL NIL NIL NIL)");
	check_bodystructure("Content-Type: a/b; n*=utf-8''%FF%41\r\n\r\n",
			    "(\"a\" \"b\" (\"n\" {2}\r\n\xff" "A) NIL NIL \"7bit\" 0 NIL NIL NIL NIL)");
	/* an unquoted boundary with '=' in it (common, if not allowed) */
	check_bodystructure("Content-Type: multipart/mixed; boundary=--=_a\r\n\r\n----=_a\r\n\r\nx\r\n----=_a--\r\n",
			    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL)"
			    " \"mixed\" (\"boundary\" \"--=_a\") NIL NIL NIL)");
}

/* Replace the hash at the end of a blob after changing it. */
static void rehash(struct buf *blob)
{
	uint64_t h = mmc_blob_hash(blob->data, blob->len - 8);
	size_t i;

	for (i = 0; i < 8; i++)
		blob->data[blob->len - 8 + i] = (char)(h >> (8 * i));
}

static void put_u64(struct buf *blob, size_t at, uint64_t v)
{
	size_t i;

	for (i = 0; i < 8; i++)
		blob->data[at + i] = (char)(v >> (8 * i));
}

/* Where the node count is: after the magic and the size. */
#define NODES_AT 12

/* A sealed string opens to itself, in place; a flipped byte anywhere, a
 * cut one, another message size or a capped buffer fail. */
static void test_string_seal(void **state)
{
	static const char msg[] =
		"From: a@b\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n"
		"<p>two</p>\r\n--b--\r\n";
	struct mail_structure *st = parse_str(msg);
	const char *strings[3] = { mail_structure_bodystructure(st), mail_structure_body(st),
				   mail_structure_envelope(st) };
	uint64_t size = mail_structure_size(st);
	struct buf sealed, copy;
	const char *s;
	size_t len;

	(void)state;
	buf_init(&sealed, 0);
	buf_init(&copy, 0);
	for (int k = 0; k < 3; k++) {
		buf_reset(&sealed);
		assert_int_equal(mail_structure_string_seal(strings[k], size, &sealed), 0);
		assert_true(mail_structure_string_open(sealed.data, sealed.len, size, &s, &len));
		assert_ptr_equal(s, sealed.data);
		assert_int_equal(len, strlen(strings[k]));
		assert_memory_equal(s, strings[k], len);
		assert_false(mail_structure_string_open(sealed.data, sealed.len, size + 1, &s, &len));
		assert_null(s);
		assert_int_equal(len, 0);
		for (size_t i = 0; i < sealed.len; i++) {
			buf_reset(&copy);
			assert_int_equal(buf_append(&copy, sealed.data, sealed.len), 0);
			copy.data[i] ^= 0x20;
			assert_false(mail_structure_string_open(copy.data, copy.len, size, &s, &len));
			assert_false(mail_structure_string_open(sealed.data, i, size, &s, &len));
		}
	}
	/* the empty string seals too */
	buf_reset(&sealed);
	assert_int_equal(mail_structure_string_seal("", 0, &sealed), 0);
	assert_int_equal(sealed.len, 8);
	assert_true(mail_structure_string_open(sealed.data, sealed.len, 0, &s, &len));
	assert_int_equal(len, 0);
	assert_false(mail_structure_string_open(NULL, 0, 0, &s, &len));
	assert_false(mail_structure_string_open("", 0, 0, &s, &len));
	/* a capped buffer: nothing appended, an error */
	buf_release(&copy);
	buf_init(&copy, 16);
	assert_int_equal(buf_append(&copy, "keep", 4), 0);
	assert_int_equal(mail_structure_string_seal(strings[0], size, &copy), -1);
	assert_int_equal(copy.len, 4);
	buf_release(&copy);
	buf_release(&sealed);
	mail_structure_free(&st);
}

static void test_blob_corrupt(void **state)
{
	static const char msg[] =
		"From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
		"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ntwo\r\n--b--\r\n";
	struct mail_structure *st = parse_str(msg), *back;
	struct buf blob, copy;
	size_t i;

	(void)state;
	buf_init(&blob, 0);
	assert_int_equal(mail_structure_serialize(st, &blob), 0);
	buf_init(&copy, 0);
	for (i = 0; i < blob.len; i++) {
		/* a flipped byte anywhere, or the blob cut short */
		buf_reset(&copy);
		assert_int_equal(buf_append(&copy, blob.data, blob.len), 0);
		copy.data[i] ^= 0x20;
		assert_null(mail_structure_deserialize(copy.data, copy.len));
		assert_null(mail_structure_deserialize(blob.data, i));
	}
	/* a well hashed blob that lies: node 0 ends past the message, its
	 * kind is unknown, no node, more nodes than there are */
	buf_reset(&copy);
	assert_int_equal(buf_append(&copy, blob.data, blob.len), 0);
	put_u64(&copy, NODES_AT + 4 + 16, mail_structure_size(st) + 1);
	rehash(&copy);
	assert_null(mail_structure_deserialize(copy.data, copy.len));
	buf_reset(&copy);
	assert_int_equal(buf_append(&copy, blob.data, blob.len), 0);
	copy.data[NODES_AT + 4 + 36] = 7;
	rehash(&copy);
	assert_null(mail_structure_deserialize(copy.data, copy.len));
	for (i = 0; i < 3; i++) {
		static const char counts[3] = { 0, 5, 0x7f };

		buf_reset(&copy);
		assert_int_equal(buf_append(&copy, blob.data, blob.len), 0);
		copy.data[NODES_AT] = counts[i];
		rehash(&copy);
		assert_null(mail_structure_deserialize(copy.data, copy.len));
	}
	assert_null(mail_structure_deserialize("", 0));
	assert_null(mail_structure_deserialize("TMS\x01", 4));
	assert_null(mail_structure_deserialize("TMS\x02", 4));
	assert_null(mail_structure_deserialize("TMS\x03", 4));
	back = mail_structure_deserialize(blob.data, blob.len);
	assert_non_null(back);
	mmc_same(st, back);
	mail_structure_free(&back);

	/* a capped buffer: nothing appended, an error */
	buf_release(&copy);
	buf_init(&copy, 16);
	assert_int_equal(buf_append(&copy, "keep", 4), 0);
	assert_int_equal(mail_structure_serialize(st, &copy), -1);
	assert_int_equal(copy.len, 4);
	buf_release(&copy);
	buf_release(&blob);
	mail_structure_free(&st);
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/* Bounds: more parts, deeper nesting and larger headers than kept give a
 * structure, in bounded memory, whatever the chunking. */
static void test_bounds(void **state)
{
	struct buf msg;
	struct mail_structure *st;
	size_t i;

	(void)state;
	buf_init(&msg, 0);
	buf_append_str(&msg, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (i = 0; i < MAIL_MIME_MAX_PARTS + 500; i++)
		buf_append_str(&msg, "--b\r\n\r\nx\r\n");
	buf_append_str(&msg, "--b--\r\n");
	st = parse_str(msg.data);
	assert_true(count(mail_structure_bodystructure(st), "(\"text\"") < MAIL_MIME_MAX_PARTS);
	assert_true(count(mail_structure_bodystructure(st), "(\"text\"") > MAIL_MIME_MAX_PARTS - 10);
	mail_structure_free(&st);

	/* message/rfc822 in message/rfc822, 300 deep */
	buf_reset(&msg);
	for (i = 0; i < 300; i++)
		buf_append_str(&msg, "Content-Type: message/rfc822\r\n\r\n");
	buf_append_str(&msg, "end\r\n");
	st = parse_str(msg.data);
	assert_true(count(mail_structure_bodystructure(st), "\"rfc822\"") < MAIL_MIME_MAX_DEPTH);
	assert_non_null(strstr(mail_structure_bodystructure(st), "\"application\" \"octet-stream\""));
	mail_structure_free(&st);

	/* a 1 MB subject is cut to the field bound; a 1 MB line without end */
	buf_reset(&msg);
	buf_append_str(&msg, "Subject: ");
	for (i = 0; i < 1 << 20; i++)
		buf_append(&msg, i % 8 == 7 ? " " : "w", 1);
	buf_append_str(&msg, "\r\n\r\nbody");
	st = parse_str(msg.data);
	assert_true(strlen(mail_structure_envelope(st)) < 70000);
	assert_true(strlen(mail_structure_envelope(st)) > 60000);
	mail_structure_free(&st);
	buf_reset(&msg);
	for (i = 0; i < 1 << 20; i++)
		buf_append(&msg, "-", 1);
	st = parse_str(msg.data);
	assert_string_equal(mail_structure_envelope(st), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	mail_structure_free(&st);
	buf_release(&msg);

	/* nothing at all */
	st = parse_chunked("", 0, 1);
	mmc_check(st);
	assert_string_equal(mail_structure_bodystructure(st),
			    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	mail_structure_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_blob_corrupt),
		cmocka_unit_test(test_string_seal),
		cmocka_unit_test(test_bounds),
	};
	const char *slash = strrchr(__FILE__, '/');

	snprintf(corpus_dir, sizeof(corpus_dir), "%.*s/mime-corpus",
		 slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
