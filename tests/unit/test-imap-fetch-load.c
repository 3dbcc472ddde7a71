/* test-imap-fetch-load - the job half of FETCH on a real store: what each
 * section item of a batch sends (bytes in memory, a file range, a decoded
 * range, ""), \Seen set once and not in a read-only mailbox, the
 * structure parsed once and cached, messages gone under the session,
 * BINARY's encodings (base64, QP, identity, unknown) and the batch bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-fetch.h"
#include "tmpdir.h"

#define ADDR "user@example.org"

static const char plain[] = "From: a@example.org\r\n"
			    "Subject: hi\r\n"
			    "X-Two: 2\r\n"
			    "\r\n"
			    "Hello.\r\n";

/* Part 1 quoted-printable, part 2 base64 of "\0\1\2abc", part 3 x-uuencode. */
static const char multi[] = "From: b@example.org\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=XX\r\n"
			    "\r\n"
			    "--XX\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Transfer-Encoding: quoted-printable\r\n"
			    "\r\n"
			    "a=3Db soft=\r\nbreak\r\n"
			    "--XX\r\n"
			    "Content-Type: application/octet-stream\r\n"
			    "Content-Transfer-Encoding: base64\r\n"
			    "\r\n"
			    "AAECYWJj\r\n"
			    "--XX\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Transfer-Encoding: x-uuencode\r\n"
			    "\r\n"
			    "begin\r\n"
			    "--XX--\r\n";

struct fixture {
	char *dir;
	struct store_account *acct;
	struct store_mailbox_ref ref;
	uint32_t uid_plain, uid_multi;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct store_mailbox box;

	fx->dir = tmpdir_new("fetch-load");
	assert_int_equal(store_open(fx->dir, ADDR, &fx->acct), STORE_OK);
	assert_int_equal(store_append(fx->acct, "INBOX", plain, strlen(plain), 0, NULL, 0,
				      &fx->uid_plain), STORE_OK);
	assert_int_equal(store_append(fx->acct, "INBOX", multi, strlen(multi), 0, NULL, 0,
				      &fx->uid_multi), STORE_OK);
	assert_int_equal(store_mailbox_get(fx->acct, "INBOX", &box), STORE_OK);
	fx->ref.id = box.id;
	fx->ref.uidvalidity = box.uidvalidity;
	store_mailbox_free(&box);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(&fx->acct);
	tmpdir_free(fx->dir);
	free(fx);
	return 0;
}

/* A FETCH of `items` (space-separated atoms, no spaces inside brackets
 * except HEADER.FIELDS lists, written with '_' for the space) on uids. */
static void start(struct imap_fetch *f, struct fixture *fx, const char *items,
		  const uint32_t *uids, size_t n, bool readonly)
{
	struct imap_arg atoms[16], list = { .type = IMAP_ARG_LIST, .str = "", .list = atoms };
	char *copy = strdup(items), *save = NULL;
	const char *why;

	memset(f, 0, sizeof(*f));
	for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		for (char *p = t; *p != '\0'; p++)
			if (*p == '_')
				*p = ' ';
		atoms[list.n] = (struct imap_arg){ .type = IMAP_ARG_ATOM, .str = t,
						   .len = strlen(t) };
		list.n++;
	}
	if (!imap_fetch_parse(&list, true, &f->req, &why))
		fail_msg("%s: %s", items, why);
	free(copy);
	f->uids = malloc(n * sizeof(*uids));
	memcpy(f->uids, uids, n * sizeof(*uids));
	f->n_uids = n;
	f->acct = fx->acct;
	f->ref = fx->ref;
	f->readonly = readonly;
	f->item = -1;
}

static void finish(struct imap_fetch *f)
{
	imap_fetch_batch_free(f);
	imap_fetch_request_free(&f->req);
	free(f->uids);
	free(f->scratch);
}

static void assert_memory(const struct imap_fetch_data *d, const void *bytes, size_t len)
{
	assert_int_equal(d->kind, IMAP_FETCH_DATA_MEMORY);
	assert_int_equal(d->size, len);
	assert_memory_equal(d->data, bytes, len);
}

static void test_sections(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { fx->uid_plain, fx->uid_multi };
	struct imap_fetch f;
	const struct imap_fetch_data *d;
	const char *text = strstr(plain, "\r\n\r\n") + 4;

	start(&f, fx,
	      "BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[2] "
	      "BODY.PEEK[HEADER.FIELDS_(subject_X-TWO)] BODY.PEEK[]<3.4> BODY.PEEK[]<999.4> "
	      "BODY.PEEK[1.MIME]",
	      uids, 2, false);
	imap_fetch_load(&f);
	assert_int_equal(f.error, STORE_OK);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.pos, 2);
	assert_false(f.expunged);
	d = f.extra[0].data;
	assert_memory(&d[0], plain, strlen(plain));
	assert_memory(&d[1], plain, (size_t)(text - plain));
	assert_memory(&d[2], text, strlen(text));
	assert_memory(&d[3], text, strlen(text));            /* part 1 of a single part */
	assert_int_equal(d[4].kind, IMAP_FETCH_DATA_EMPTY);  /* no part 2 */
	assert_memory(&d[5], "Subject: hi\r\nX-Two: 2\r\n\r\n", 25);
	assert_memory(&d[6], plain + 3, 4);
	assert_int_equal(d[7].kind, IMAP_FETCH_DATA_EMPTY);  /* past the end */
	d = f.extra[1].data;
	assert_memory(&d[3], "a=3Db soft=\r\nbreak", 18);
	assert_memory(&d[8], "Content-Type: text/plain\r\nContent-Transfer-Encoding: "
		      "quoted-printable\r\n\r\n", 73);
	/* PEEK: nothing was set; the files are closed */
	for (size_t i = 0; i < 2; i++) {
		assert_false(f.extra[i].seen_set);
		assert_null(f.extra[i].reader);
		assert_false(f.msgs[i].flags & STORE_FLAG_SEEN);
	}
	finish(&f);
}

static void test_structure_cached(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { fx->uid_multi };
	struct imap_fetch f;
	void *blob;
	size_t len;

	assert_int_equal(store_structure_get(fx->acct, &fx->ref, fx->uid_multi, &blob, &len),
			 STORE_ERR_NOT_FOUND);
	start(&f, fx, "BODYSTRUCTURE ENVELOPE", uids, 1, false);
	imap_fetch_load(&f);
	assert_non_null(f.extra[0].st);
	assert_null(f.extra[0].data);
	assert_non_null(strstr(mail_structure_bodystructure(f.extra[0].st), "\"mixed\""));
	finish(&f);
	assert_int_equal(store_structure_get(fx->acct, &fx->ref, fx->uid_multi, &blob, &len),
			 STORE_OK);
	free(blob);
	/* read back from the cache: the same strings, copied from their own
	 * parts (no tree built) when nothing but the structure's strings is
	 * asked */
	start(&f, fx, "BODYSTRUCTURE", uids, 1, false);
	imap_fetch_load(&f);
	assert_null(f.extra[0].st);
	assert_true(f.extra[0].peeked);
	{
		char *bs = strndup(f.strings.data + f.extra[0].str_off[STORE_STRUCTURE_BODYSTRUCTURE],
				   f.extra[0].str_len[STORE_STRUCTURE_BODYSTRUCTURE]);

		assert_non_null(strstr(bs, "\"XX\""));
		assert_non_null(strstr(bs, "\"mixed\""));
		free(bs);
	}
	finish(&f);
	/* with a section too the tree is built from the blob */
	start(&f, fx, "BODYSTRUCTURE BODY.PEEK[1]", uids, 1, false);
	imap_fetch_load(&f);
	assert_non_null(f.extra[0].st);
	assert_false(f.extra[0].peeked);
	assert_non_null(strstr(mail_structure_bodystructure(f.extra[0].st), "\"XX\""));
	finish(&f);
}

static void test_binary(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { fx->uid_multi };
	struct imap_fetch f;
	const struct imap_fetch_data *d;

	start(&f, fx, "BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2] BINARY.SIZE[1] "
		      "BINARY.PEEK[2]<1.2> BINARY.PEEK[9] BINARY.SIZE[9]", uids, 1, false);
	imap_fetch_load(&f);
	assert_false(f.unknown_cte);
	d = f.extra[0].data;
	assert_memory(&d[0], "a=b softbreak", 13);
	assert_false(d[0].literal8);
	assert_memory(&d[1], "\0\1\2abc", 6);
	assert_true(d[1].literal8);
	assert_int_equal(d[2].size, 6);
	assert_int_equal(d[3].size, 13);
	assert_memory(&d[4], "\1\2", 2);
	assert_int_equal(d[5].kind, IMAP_FETCH_DATA_EMPTY);
	assert_int_equal(d[6].size, 0);
	finish(&f);

	/* x-uuencode: the command fails, the message is not written */
	start(&f, fx, "UID BINARY.PEEK[3]", uids, 1, false);
	imap_fetch_load(&f);
	assert_true(f.unknown_cte);
	assert_int_equal(f.n, 0);
	finish(&f);
}

static void test_seen(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { fx->uid_plain, fx->uid_multi };
	struct imap_fetch f;

	/* read-only: never */
	start(&f, fx, "BODY[TEXT]", uids, 2, true);
	imap_fetch_load(&f);
	assert_false(f.extra[0].seen_set || f.extra[1].seen_set);
	finish(&f);
	start(&f, fx, "BODY[TEXT]", uids, 2, false);
	imap_fetch_load(&f);
	for (size_t i = 0; i < 2; i++) {
		assert_true(f.extra[i].seen_set);
		assert_true(f.msgs[i].flags & STORE_FLAG_SEEN);
		assert_true(f.msgs[i].modseq > 0);
	}
	assert_int_equal(f.msgs[0].modseq, f.msgs[1].modseq); /* one MODSEQ per command */
	finish(&f);
	/* already set: not again */
	start(&f, fx, "BODY[TEXT]", uids, 2, false);
	imap_fetch_load(&f);
	assert_false(f.extra[0].seen_set || f.extra[1].seen_set);
	finish(&f);
	assert_int_equal(store_flags_update(fx->acct, &fx->ref, uids, 2, STORE_FLAGS_REMOVE,
					    STORE_FLAG_SEEN, NULL, NULL, NULL), STORE_OK);
}

static void test_gone(void **state)
{
	struct fixture *fx = *state;
	uint32_t uids[] = { fx->uid_plain, 9999 };
	struct imap_fetch f;

	start(&f, fx, "FLAGS BODY.PEEK[]", uids, 2, false);
	imap_fetch_load(&f);
	assert_int_equal(f.error, STORE_OK);
	assert_true(f.expunged);
	assert_int_equal(f.n, 2);
	assert_false(f.extra[0].gone);
	assert_true(f.extra[1].gone);
	finish(&f);

	/* a mailbox deleted under the session */
	start(&f, fx, "FLAGS", uids, 1, false);
	f.ref.uidvalidity++;
	imap_fetch_load(&f);
	assert_int_equal(f.error, STORE_ERR_GONE);
	finish(&f);
}

static bool data_equal(const struct imap_fetch_data *a, const struct imap_fetch_data *b)
{
	return a->kind == b->kind && a->size == b->size &&
	       (a->kind != IMAP_FETCH_DATA_MEMORY || memcmp(a->data, b->data, a->size) == 0);
}

/* The top message's HEADER and TEXT are found by reading the header
 * only (no structure is parsed or cached), with the same bytes as the
 * structure gives, also for a message without an empty line or with
 * bare LF line ends. */
static void test_header_without_structure(void **state)
{
	static const char *const msgs[] = {
		"Subject: only a header\r\nB: 1\r\n",
		"A: 1\nB: 2\n\nbody\n",
		"B: folded\r\n value\r\n\r\n\r\ntext after an empty line\r\n",
	};
	struct fixture *fx = *state;
	struct imap_fetch bare, full;
	void *blob;
	size_t len;

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		uint32_t uid;

		assert_int_equal(store_append(fx->acct, "INBOX", msgs[i], strlen(msgs[i]), 0, NULL, 0,
					      &uid), STORE_OK);
		start(&bare, fx, "BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS_(B)] "
				 "BODY.PEEK[TEXT]<1.3>", &uid, 1, false);
		imap_fetch_load(&bare);
		assert_null(bare.extra[0].st);
		assert_int_equal(store_structure_get(fx->acct, &fx->ref, uid, &blob, &len),
				 STORE_ERR_NOT_FOUND);
		start(&full, fx, "BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS_(B)] "
				 "BODY.PEEK[TEXT]<1.3> BODYSTRUCTURE", &uid, 1, false);
		imap_fetch_load(&full);
		assert_non_null(full.extra[0].st);
		for (size_t k = 0; k < 4; k++)
			assert_true(data_equal(&bare.extra[0].data[k], &full.extra[0].data[k]));
		assert_int_equal(bare.extra[0].data[0].size + bare.extra[0].data[1].size,
				 strlen(msgs[i]));
		finish(&bare);
		finish(&full);
	}
}

/* A section over the inline bound is a file range (or a decoded one), and
 * the batch ends with its message, which keeps its file open. */
static void test_large(void **state)
{
	struct fixture *fx = *state;
	struct buf big, b64;
	uint32_t uids[3], uid_big, uid_b64;
	struct imap_fetch f;
	const struct imap_fetch_data *d;
	size_t body;

	buf_init(&big, 0);
	buf_append_str(&big, "Subject: big\r\n\r\n");
	body = big.len;
	while (big.len < 3 * IMAP_FETCH_INLINE_MAX)
		buf_append_str(&big, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n");
	assert_int_equal(store_append(fx->acct, "INBOX", big.data, big.len, 0, NULL, 0, &uid_big),
			 STORE_OK);
	buf_init(&b64, 0);
	buf_append_str(&b64, "Content-Transfer-Encoding: base64\r\n\r\n");
	while (b64.len < 2 * IMAP_FETCH_INLINE_MAX)
		buf_append_str(&b64, "AAAA\r\n");  /* three NULs a line */
	assert_int_equal(store_append(fx->acct, "INBOX", b64.data, b64.len, 0, NULL, 0, &uid_b64),
			 STORE_OK);

	uids[0] = fx->uid_plain;
	uids[1] = uid_big;
	uids[2] = fx->uid_multi;
	start(&f, fx, "BODY.PEEK[TEXT] BODY.PEEK[TEXT]<10.20>", uids, 3, false);
	imap_fetch_load(&f);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.pos, 2);
	d = f.extra[1].data;
	assert_int_equal(d[0].kind, IMAP_FETCH_DATA_FILE);
	assert_int_equal(d[0].off, body);
	assert_int_equal(d[0].size, big.len - body);
	assert_memory(&d[1], big.data + body + 10, 20);
	assert_non_null(f.extra[1].reader);
	assert_null(f.extra[0].reader);
	imap_fetch_batch_free(&f);
	imap_fetch_load(&f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.pos, 3);
	finish(&f);

	uids[0] = uid_b64;
	start(&f, fx, "BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<5.3>", uids, 1, false);
	imap_fetch_load(&f);
	d = f.extra[0].data;
	assert_int_equal(d[0].kind, IMAP_FETCH_DATA_DECODE);
	assert_int_equal(d[0].size, (b64.len - 37) / 6 * 3);
	assert_int_equal(d[0].skip, 0);
	assert_int_equal(d[0].enc_len, b64.len - 37);
	assert_true(d[0].literal8);
	assert_int_equal(d[1].size, d[0].size);
	assert_int_equal(d[2].kind, IMAP_FETCH_DATA_DECODE);
	assert_int_equal(d[2].skip, 5);
	assert_int_equal(d[2].size, 3);
	finish(&f);

	/* a large identity part: the file's bytes, a string (no NUL in it) */
	uids[0] = uid_big;
	start(&f, fx, "BINARY.PEEK[1] BINARY.PEEK[1]<7.9> BINARY.SIZE[1]", uids, 1, false);
	imap_fetch_load(&f);
	d = f.extra[0].data;
	assert_int_equal(d[0].kind, IMAP_FETCH_DATA_FILE);
	assert_int_equal(d[0].off, body);
	assert_int_equal(d[0].size, big.len - body);
	assert_false(d[0].literal8);
	assert_int_equal(d[1].kind, IMAP_FETCH_DATA_FILE);
	assert_int_equal(d[1].off, body + 7);
	assert_int_equal(d[1].size, 9);
	assert_int_equal(d[2].size, big.len - body);
	finish(&f);
	buf_release(&big);
	buf_release(&b64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structure_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_without_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
