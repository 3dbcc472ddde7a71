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

#include "mail/mail-mime.h"

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

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
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
		if (len != want_len || fnv1a(eml->data + off, (size_t)len) != want_hash) {
			failures++;
			print_message("%s: section %s %s: got %llu bytes at %llu, want %llu\n", name, path,
				      kind, (unsigned long long)len, (unsigned long long)off, want_len);
		}
		p = strstr(p + 1, "\nsection ");
	}
}

static void same_structure(const struct mail_structure *a, const struct mail_structure *b)
{
	static const uint32_t paths[][3] = { { 1, 0, 0 }, { 2, 0, 0 }, { 1, 1, 0 }, { 1, 2, 0 },
					     { 2, 1, 0 }, { 2, 1, 1 }, { 3, 0, 0 }, { 2, 2, 0 } };
	size_t i, depth;
	enum mail_section_kind k;

	assert_string_equal(mail_structure_envelope(a), mail_structure_envelope(b));
	assert_string_equal(mail_structure_body(a), mail_structure_body(b));
	assert_string_equal(mail_structure_bodystructure(a), mail_structure_bodystructure(b));
	assert_int_equal(mail_structure_size(a), mail_structure_size(b));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (depth = 0; depth <= 3; depth++) {
			const char *ea = mail_structure_encoding(a, paths[i], depth);
			const char *eb = mail_structure_encoding(b, paths[i], depth);

			assert_true((ea == NULL) == (eb == NULL));
			if (ea != NULL)
				assert_string_equal(ea, eb);
			for (k = 0; k < MAIL_SECTION__COUNT; k++) {
				uint64_t oa = 0, la = 0, ob = 0, lb = 0;
				bool ra = mail_structure_section(a, paths[i], depth, k, &oa, &la);
				bool rb = mail_structure_section(b, paths[i], depth, k, &ob, &lb);

				assert_true(ra == rb);
				assert_int_equal(oa, ob);
				assert_int_equal(la, lb);
			}
		}
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
	same_structure(whole, one);
	same_structure(whole, seven);

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
	same_structure(whole, back);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	const char *slash = strrchr(__FILE__, '/');

	snprintf(corpus_dir, sizeof(corpus_dir), "%.*s/mime-corpus",
		 slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
