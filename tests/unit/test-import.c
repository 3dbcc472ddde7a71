/* test-import - Maildir++ and mbox import, Maildir++ export, and the mbox
 * splitter (fed whole and one byte at a time). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"
#include "store/transfer.h"
#include "store-ref.h"

struct fixture {
	char dir[64];
	char src[128];
	struct store_account *acct;
	FILE *out, *err;
	struct transfer_import im;
};

/* Import options: into `mailbox` (NULL: INBOX), the default size limit. */
static const struct transfer_import *im(struct fixture *f, const char *mailbox)
{
	f->im.mailbox = mailbox;
	f->im.max_size = 52428800;
	f->im.out = f->out;
	f->im.err = f->err;
	return &f->im;
}

/* Everything written to fp so far (malloc'd). */
static char *slurp(FILE *fp)
{
	long len;
	char *text;

	fflush(fp);
	len = ftell(fp);
	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(fp);
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	fseek(fp, 0, SEEK_END);
	return text;
}

/* Whether what was said on fp contains `what`. */
static bool said(FILE *fp, const char *what)
{
	char *text = slurp(fp);
	bool found = strstr(text, what) != NULL;

	free(text);
	return found;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-test-import-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	assert_int_equal(mkdir(f->src, 0700), 0);
	assert_int_equal(store_open(f->dir, "u@example.org", &f->acct), STORE_OK);
	f->out = tmpfile();
	f->err = tmpfile();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(&f->acct);
	fclose(f->out);
	if (getenv("TEST_VERBOSE") != NULL) {
		char *text = slurp(f->err);

		fputs(text, stderr);
		free(text);
	}
	fclose(f->err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text, time_t mtime)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	if (mtime != 0) {
		struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };

		utimes(path, tv);
	}
}

static void make_dirs(const char *base, const char *folder)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", base, folder);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s%s/cur", base, folder);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s%s/new", base, folder);
	mkdir(path, 0700);
}

static char *read_msg(struct store_account *acct, const char *box, uint32_t uid)
{
	struct store_reader *r;
	char *buf;
	size_t size;

	if (store_reader_open(acct, TREF(acct, box), uid, &r) != STORE_OK)
		return NULL;
	size = (size_t)store_reader_size(r);
	buf = calloc(1, size + 1);
	assert_int_equal(store_reader_read(r, buf, size + 1), (ssize_t)size);
	store_reader_close(&r);
	return buf;
}

static void make_maildir(const char *src)
{
	char path[512];

	make_dirs(src, "");
	make_dirs(src, "/.Work.Projects");
	make_dirs(src, "/.sent");
	snprintf(path, sizeof(path), "%s/cur", src);
	write_file(path, "1700000000.M1P1.host:2,SF", "Subject: one\n\nbody one\n", 1700000000);
	write_file(path, "1700000001.M2P1.host:2,", "Subject: two\r\n\r\nbody two\r\n", 0);
	write_file(path, "1700000003.M4P1.host:2,S", "", 0);   /* empty: skipped */
	snprintf(path, sizeof(path), "%s/new", src);
	write_file(path, "1700000002.M3P1.host", "Subject: three\n\nx\n", 0);
	write_file(src, "dovecot-uidlist",
		   "3 V1234567 N20 Gabcdef\n"
		   "5 W30 :1700000000.M1P1.host\n"
		   "9 :1700000001.M2P1.host\n", 0);
	snprintf(path, sizeof(path), "%s/.Work.Projects/cur", src);
	write_file(path, "1700000005.M5P1.host:2,RT", "Subject: p\n\np\n", 0);
	snprintf(path, sizeof(path), "%s/.sent/cur", src);
	write_file(path, "1700000006.M6P1.host:2,S", "Subject: s\n\ns\n", 0);
	/* a garbage uidlist in a folder: UIDs not kept, no crash */
	write_file(path, "../dovecot-uidlist", "garbage\n\x01\x02", 0);
}

static void test_maildir(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_message *msgs;
	struct store_mailbox box;
	char path[512];
	char *text;
	size_t n;

	make_maildir(f->src);
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 5);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.uidvalidity, 1234567);
	assert_int_equal(box.uidnext, 21);
	assert_int_equal(box.messages, 3);
	store_mailbox_free(&box);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(msgs[0].uid, 5);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(msgs[0].internal_date, 1700000000);
	assert_int_equal(msgs[1].uid, 9);
	assert_int_equal(msgs[1].flags, 0);
	assert_int_equal(msgs[2].uid, 20);   /* not in the uidlist: N */
	store_messages_free(msgs, n);
	text = read_msg(f->acct, "INBOX", 5);
	assert_string_equal(text, "Subject: one\r\n\r\nbody one\r\n");
	free(text);
	text = read_msg(f->acct, "INBOX", 9);
	assert_string_equal(text, "Subject: two\r\n\r\nbody two\r\n");
	free(text);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "Work/Projects"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0].flags, STORE_FLAG_ANSWERED | STORE_FLAG_DELETED);
	store_messages_free(msgs, n);
	assert_int_equal(store_mailbox_get(f->acct, "Work", &box), STORE_OK);
	store_mailbox_free(&box);
	/* ".sent" lands in the special-use Sent */
	assert_int_equal(store_mailbox_get(f->acct, "Sent", &box), STORE_OK);
	assert_int_equal(box.messages, 1);
	store_mailbox_free(&box);

	/* importing again stores nothing: every message is already there
	 * (the empty one is skipped again) */
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.present, 5);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.uidvalidity, 1234567);
	assert_int_equal(box.messages, 3);
	assert_int_equal(box.uidnext, 21);
	store_mailbox_free(&box);
	/* one new file: only that one is added, with a new UID */
	snprintf(path, sizeof(path), "%s/new", f->src);
	write_file(path, "1700000009.M9P1.host", "Subject: nine\n\nnine\n", 0);
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.present, 5);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(msgs[3].uid, 21);
	store_messages_free(msgs, n);
}

static void test_maildir_bad(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	char path[512];

	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st),
			 STORE_ERR_NOT_FOUND);
	assert_int_equal(transfer_import_maildir(f->acct, "/nonexistent/x", im(f, NULL), &st),
			 STORE_ERR_NOT_FOUND);
	/* only new/, with a uidlist of garbage */
	snprintf(path, sizeof(path), "%s/new", f->src);
	mkdir(path, 0700);
	write_file(path, "a", "Subject: a\n\na\n", 0);
	write_file(f->src, "dovecot-uidlist", "3 Vxx\n", 0);
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, "Imported/Box"), &st),
			 STORE_OK);
	assert_int_equal(st.messages, 1);
}

static const char mbox_text[] =
	"From alice@example.org Sat Jan  3 01:05:34 1996\n"
	"Subject: first\n"
	"Status: RO\n"
	"X-Status: AF\n"
	"X-Keywords: Work, $Label1\n"
	"\n"
	">From the start\n"
	">>From quoted twice\n"
	"From inside a line is content\n"
	"\n"
	"From bob@example.org Sun Jan  4 02:00:00 1996\n"
	"Subject: second\n"
	"\n"
	"line\r\n"
	"\n"
	"\n"
	"From X-IMAP pseudo Thu Jan  1 00:00:00 1970\n"
	"X-IMAP: 1 2\n"
	"\n"
	"internal\n"
	"\n"
	"From carol@example.org garbage date\n"
	"Subject: third\n"
	"\n"
	"no final newline";

static void test_mbox(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_message *msgs;
	char *text;
	size_t n;

	write_file(f->src, "mbox", mbox_text, 0);
	strcat(f->src, "/mbox");
	assert_int_equal(transfer_import_mbox(f->acct, f->src, im(f, "Old"), &st), STORE_OK);
	assert_int_equal(st.messages, 3);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "Old"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(msgs[0].flags, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED);
	assert_string_equal(msgs[0].keywords, "$Label1 Work");
	assert_int_equal(msgs[0].internal_date, 820631134);
	assert_int_equal(msgs[1].flags, 0);
	assert_int_equal(msgs[1].internal_date, 820720800);
	assert_true(msgs[2].internal_date > 1700000000);   /* unparsable: now */
	store_messages_free(msgs, n);
	text = read_msg(f->acct, "Old", 1);
	assert_string_equal(text, "Subject: first\r\n\r\nFrom the start\r\n>From quoted twice\r\n"
			    "From inside a line is content\r\n");
	free(text);
	text = read_msg(f->acct, "Old", 2);
	assert_string_equal(text, "Subject: second\r\n\r\nline\r\n\r\n");
	free(text);
	text = read_msg(f->acct, "Old", 3);
	assert_string_equal(text, "Subject: third\r\n\r\nno final newline\r\n");
	free(text);
	/* the progress lines */
	{
		char line[512];
		int lines = 0;

		rewind(f->out);
		while (fgets(line, sizeof(line), f->out) != NULL) {
			assert_true(strncmp(line, "imported Old ", 13) == 0);
			lines++;
		}
		assert_int_equal(lines, 3);
	}
}

static void test_mbox_bad(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	char path[256];

	snprintf(path, sizeof(path), "%s/empty", f->src);
	write_file(f->src, "empty", "", 0);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 0);
	snprintf(path, sizeof(path), "%s/nofrom", f->src);
	write_file(f->src, "nofrom", "Subject: x\n\nbody\n", 0);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_ERR_INVALID);
	assert_int_equal(st.messages, 0);
	snprintf(path, sizeof(path), "%s/missing", f->src);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_ERR_NOT_FOUND);
	snprintf(path, sizeof(path), "%s/emptymsg", f->src);
	write_file(f->src, "emptymsg", "From a\n\nFrom b\n\nFrom c\nx\n", 0);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, "INBOX"), &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.skipped, 2);
}

struct collect {
	char out[4096];
	size_t len;
	int messages;
};

static int col_begin(void *ctx, const char *from, size_t len)
{
	struct collect *c = ctx;

	(void)from;
	(void)len;
	c->messages++;
	c->len += (size_t)snprintf(c->out + c->len, sizeof(c->out) - c->len, "[BEGIN]");
	return 0;
}

static int col_data(void *ctx, const char *data, size_t len)
{
	struct collect *c = ctx;

	assert_true(c->len + len < sizeof(c->out));
	memcpy(c->out + c->len, data, len);
	c->len += len;
	return 0;
}

static int col_end(void *ctx)
{
	struct collect *c = ctx;

	c->len += (size_t)snprintf(c->out + c->len, sizeof(c->out) - c->len, "[END]");
	return 0;
}

static const struct mbox_callbacks col_cb = { col_begin, col_data, col_end };

static void test_mbox_split_bytewise(void **state)
{
	struct collect whole = { 0 }, bytes = { 0 };
	struct mbox_parser *p;
	int rc = 0;

	(void)state;
	assert_int_equal(mbox_split(mbox_text, strlen(mbox_text), &col_cb, &whole), 0);
	assert_int_equal(whole.messages, 4);
	p = mbox_parser_new(&col_cb, &bytes);
	for (size_t i = 0; i < strlen(mbox_text) && rc == 0; i++)
		rc = mbox_parser_feed(p, mbox_text + i, 1);
	assert_int_equal(rc, 0);
	assert_int_equal(mbox_parser_finish(p), 0);
	mbox_parser_free(&p);
	assert_int_equal(whole.len, bytes.len);
	assert_memory_equal(whole.out, bytes.out, whole.len);
	assert_int_equal(mbox_split("junk\n", 5, &col_cb, &bytes), MBOX_ERR_NOT_MBOX);
}

static void test_mbox_long_line(void **state)
{
	size_t len = 3 * MBOX_LINE_MAX + 100;
	char *text = malloc(len + 64);
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_message *msgs;
	char path[256];
	FILE *fp;
	size_t n;

	memcpy(text, "From a\n\n", 8);
	memset(text + 8, 'x', len);
	memcpy(text + 8 + len, "\r\n", 2);
	snprintf(path, sizeof(path), "%s/long", f->src);
	fp = fopen(path, "w");
	fwrite(text, 1, len + 10, fp);
	fclose(fp);
	free(text);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(msgs[0].size, len + 4);
	store_messages_free(msgs, n);
}

/* Hostile Maildir: a uidlist that lists one UID twice, a FIFO, symlinks to
 * files and folders outside the tree; nothing hangs, nothing outside is
 * read, the import succeeds. */
static void test_maildir_hostile(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_message *msgs;
	struct store_mailbox box;
	char path[1024], outside[256];
	size_t n;

	make_dirs(f->src, "");
	snprintf(path, sizeof(path), "%s/cur", f->src);
	write_file(path, "a:2,S", "Subject: a\n\na\n", 0);
	write_file(path, "b:2,", "Subject: b\n\nb\n", 0);
	write_file(path, "c:2,", "Subject: c\n\nc\n", 0);
	write_file(path, "d:2,", "Subject: d\n\nd\n", 0);
	write_file(f->src, "dovecot-uidlist",
		   "3 V77 N10\n5 :a\n5 :b\n7 :c\n", 0);
	/* a FIFO: must not block the import */
	snprintf(path, sizeof(path), "%s/cur/fifo:2,", f->src);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* symlinks out of the tree: a file, a folder, and cur/ of a folder */
	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	make_dirs(outside, "");
	snprintf(path, sizeof(path), "%s/cur", outside);
	write_file(path, "secret:2,", "Subject: secret\n\nsecret\n", 0);
	snprintf(path, sizeof(path), "%s/cur/secret:2,", outside);
	{
		char link[1024];

		snprintf(link, sizeof(link), "%s/cur/link:2,", f->src);
		assert_int_equal(symlink(path, link), 0);
		snprintf(link, sizeof(link), "%s/.Evil", f->src);
		assert_int_equal(symlink(outside, link), 0);
		snprintf(link, sizeof(link), "%s/.Sneaky", f->src);
		assert_int_equal(mkdir(link, 0700), 0);
		snprintf(path, sizeof(path), "%s/cur", outside);
		snprintf(link, sizeof(link), "%s/.Sneaky/cur", f->src);
		assert_int_equal(symlink(path, link), 0);
	}
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.skipped, 2);   /* the FIFO and the symlinked file */
	assert_true(said(f->err, "fifo:2,: a FIFO, not a regular file"));
	assert_true(said(f->err, "link:2,: a symbolic link, not followed"));
	assert_true(said(f->err, ".Evil: symbolic link, not followed"));
	assert_true(said(f->err, ".Sneaky/cur: a symbolic link, not followed"));
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 4);
	/* a keeps 5 and c keeps 7; b (5 again) and d get UIDs from N on */
	assert_int_equal(msgs[0].uid, 5);
	assert_int_equal(msgs[1].uid, 7);
	assert_int_equal(msgs[2].uid, 10);
	assert_int_equal(msgs[3].uid, 11);
	store_messages_free(msgs, n);
	assert_int_equal(store_mailbox_get(f->acct, "Evil", &box), STORE_ERR_NOT_FOUND);
	if (store_mailbox_get(f->acct, "Sneaky", &box) == STORE_OK) {
		assert_int_equal(box.messages, 0);
		store_mailbox_free(&box);
	}
}

/* mbox edge cases: a body line that is just "From " after an empty line is
 * content; CR-only and mixed line ends become CRLF; mboxrd unquoting. */
static void test_mbox_edges(void **state)
{
	static const char text[] =
		"From a@example.org Sat Jan  3 01:05:34 1996\n"
		"Subject: one\r\n"
		"\n"
		"From \n"
		"still one\rcr only\r\n"
		">From x\n"
		">>>From y\n"
		">Fromage\n"
		"\n"
		"From b@example.org Sat Jan  3 01:05:34 1996\n"
		"Subject: two\n"
		"\n"
		"end\r";
	struct fixture *f = *state;
	struct transfer_stats st;
	char path[256], *msg;

	write_file(f->src, "edges", text, 0);
	snprintf(path, sizeof(path), "%s/edges", f->src);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 2);
	msg = read_msg(f->acct, "INBOX", 1);
	assert_string_equal(msg, "Subject: one\r\n\r\nFrom \r\nstill one\r\ncr only\r\n"
			    "From x\r\n>>From y\r\n>Fromage\r\n");
	free(msg);
	msg = read_msg(f->acct, "INBOX", 2);
	assert_string_equal(msg, "Subject: two\r\n\r\nend\r\n");
	free(msg);
}

/* Sources that must not be read: a symlink (to a file in mbox format, or
 * to another account's stored message), a FIFO (without hanging: alarm()
 * turns a hang into a failure), a folder, and a store file reached
 * through a symlinked folder. Each is refused with its reason, and no
 * mailbox is created for it. */
static void test_mbox_refused(void **state)
{
	struct fixture *f = *state;
	struct store_account *other;
	struct transfer_stats st;
	struct store_mailbox box;
	char path[512], target[512], msgdir[512];
	uint32_t uid;

	write_file(f->src, "real", "From a\n\nreal\n", 0);
	snprintf(target, sizeof(target), "%s/real", f->src);
	snprintf(path, sizeof(path), "%s/link", f->src);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, "Links"), &st), STORE_ERR_INVALID);
	assert_int_equal(st.messages, 0);
	assert_true(said(f->err, "link: a symbolic link, not followed"));
	assert_int_equal(store_mailbox_get(f->acct, "Links", &box), STORE_ERR_NOT_FOUND);

	snprintf(path, sizeof(path), "%s/fifo", f->src);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_ERR_INVALID);
	alarm(0);
	assert_true(said(f->err, "fifo: a FIFO, not a regular file"));
	assert_int_equal(transfer_import_mbox(f->acct, f->src, im(f, NULL), &st), STORE_ERR_INVALID);
	assert_true(said(f->err, "a folder, not a regular file"));

	/* another account's message, named through a symlinked folder (the
	 * last part is no symlink, so O_NOFOLLOW alone would let it in) */
	assert_int_equal(store_open(f->dir, "v@example.org", &other), STORE_OK);
	assert_int_equal(store_append(other, "INBOX", "From x\r\n\r\nsecret\r\n", 18, 0, NULL, 0, &uid),
			 STORE_OK);
	snprintf(msgdir, sizeof(msgdir), "%s/msg", store_path(other));
	snprintf(path, sizeof(path), "%s/msgs", f->src);
	assert_int_equal(symlink(msgdir, path), 0);
	{
		char cmd[1024], name[256] = "";
		FILE *ls;

		snprintf(cmd, sizeof(cmd), "ls '%s'", msgdir);
		ls = popen(cmd, "r");
		assert_non_null(ls);
		assert_non_null(fgets(name, sizeof(name), ls));
		pclose(ls);
		name[strcspn(name, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/msgs/%s", f->src, name);
	}
	assert_int_equal(transfer_import_mbox(f->acct, path, im(f, NULL), &st), STORE_ERR_INVALID);
	assert_true(said(f->err, "a file of tern's own message store, not imported"));
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 0);
	store_mailbox_free(&box);
	store_close(&other);
}

/* [limits] message_size: a larger message is skipped with its size and
 * the limit, the ones around it are imported; the size counted is the
 * stored one (CRLF), so a message that only CRLF makes too big is too
 * big. */
static void test_size_limit(void **state)
{
	struct fixture *f = *state;
	struct transfer_import opts;
	struct transfer_stats st;
	struct store_message *msgs;
	char path[512], *text, *big;
	size_t n;

	big = malloc(3000);
	assert_non_null(big);
	memset(big, 'x', 2999);
	big[2999] = '\0';
	text = malloc(4000);
	assert_non_null(text);
	snprintf(text, 4000, "From a\n\nsmall\n\nFrom b\n\n%s\n\nFrom c\n\nsmall too\n", big);
	write_file(f->src, "mbox", text, 0);
	snprintf(path, sizeof(path), "%s/mbox", f->src);
	opts = *im(f, NULL);
	opts.max_size = 2048;
	assert_int_equal(transfer_import_mbox(f->acct, path, &opts, &st), STORE_OK);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.skipped, 1);
	assert_true(said(f->err, "mbox#2: 3003 bytes, over the limit of 2048 ([limits] message_size)"));
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &msgs, &n), STORE_OK);
	assert_int_equal(n, 2);
	store_messages_free(msgs, n);

	/* Maildir: a file over the limit is not even read; one that fits
	 * with LF but not with CRLF is skipped too */
	make_dirs(f->src, "/md");
	snprintf(path, sizeof(path), "%s/md/cur", f->src);
	write_file(path, "big:2,", big, 0);
	memset(big, '\n', 2000);
	big[2000] = '\0';
	write_file(path, "lines:2,", big, 0);
	write_file(path, "ok:2,", "Subject: ok\n\nok\n", 0);
	snprintf(path, sizeof(path), "%s/md", f->src);
	opts.mailbox = "Md";
	assert_int_equal(transfer_import_maildir(f->acct, path, &opts, &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.skipped, 2);
	assert_true(said(f->err, "big:2,: 2999 bytes, over the limit of 2048"));
	assert_true(said(f->err, "lines:2,: 4000 bytes, over the limit of 2048"));
	free(big);
	free(text);
}

/* Running an mbox import again stores nothing new and counts what was
 * there; a second mbox with one new message adds exactly that one; a
 * message twice in one file is stored once. */
static void test_mbox_rerun(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_mailbox box;
	char one[512], two[512];

	write_file(f->src, "one", mbox_text, 0);
	snprintf(one, sizeof(one), "%s/one", f->src);
	assert_int_equal(transfer_import_mbox(f->acct, one, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 3);
	assert_int_equal(transfer_import_mbox(f->acct, one, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.present, 3);
	assert_int_equal(st.skipped, 0);
	/* the same messages into another mailbox are new there */
	assert_int_equal(transfer_import_mbox(f->acct, one, im(f, "Other"), &st), STORE_OK);
	assert_int_equal(st.messages, 3);

	write_file(f->src, "two", "From a@example.org Sat Jan  3 01:05:34 1996\n"
		   "Subject: second\n\nline\r\n\n\n"
		   "From n@example.org Sat Jan  3 01:05:34 1996\nSubject: new\n\nnew\n\n"
		   "From n@example.org Sat Jan  3 01:05:34 1996\nSubject: new\n\nnew\n", 0);
	snprintf(two, sizeof(two), "%s/two", f->src);
	assert_int_equal(transfer_import_mbox(f->acct, two, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.present, 2);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 4);
	store_mailbox_free(&box);
}

/* Files in the account's msg/ folder. */
static size_t msg_files(struct fixture *f)
{
	char path[256];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/mail/example.org/u/msg", f->dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* One message into a batch. */
static enum store_error batch_put(struct store_batch *b, struct fixture *f, const char *box,
				  const char *text, uint32_t want_uid, bool *present_r)
{
	struct store_append *ap;

	assert_int_equal(store_append_begin(f->acct, box, &ap), STORE_OK);
	assert_int_equal(store_append_write(ap, text, strlen(text)), STORE_OK);
	return store_batch_add(b, &ap, STORE_FLAG_SEEN, NULL, 0, want_uid, present_r, NULL);
}

/* The store's batch: nothing visible before the commit, duplicates inside
 * the batch and against the mailbox dropped, a UID below UIDNEXT failing
 * its message only, and what is dropped leaving no file behind. */
static void test_batch(void **state)
{
	struct fixture *f = *state;
	struct store_batch_result res[STORE_BATCH_MAX];
	struct store_mailbox box;
	struct store_batch *b;
	bool present, full;
	size_t files0;
	uint32_t uid;
	char *text;

	assert_int_equal(store_mailbox_create(f->acct, "Other", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(store_append(f->acct, "INBOX", "a\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	files0 = msg_files(f);
	assert_int_equal(store_batch_new(f->acct, &b), STORE_OK);
	assert_int_equal(batch_put(b, f, "INBOX", "b\r\n", 0, &present), STORE_OK);
	assert_false(present);
	/* already in the mailbox; then pending in the batch */
	assert_int_equal(batch_put(b, f, "INBOX", "a\r\n", 0, &present), STORE_OK);
	assert_true(present);
	assert_int_equal(batch_put(b, f, "INBOX", "b\r\n", 0, &present), STORE_OK);
	assert_true(present);
	/* the same bytes elsewhere are new there */
	assert_int_equal(batch_put(b, f, "Other", "b\r\n", 7, &present), STORE_OK);
	assert_false(present);
	/* below Other's UIDNEXT once 7 is in: that one alone fails */
	assert_int_equal(batch_put(b, f, "Other", "c\r\n", 3, &present), STORE_OK);
	assert_int_equal(batch_put(b, f, "INBOX", "d\r\n", 0, &present), STORE_OK);
	assert_int_equal(store_batch_count(b), 4);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 1);
	store_mailbox_free(&box);

	assert_int_equal(store_batch_commit(b, res), STORE_OK);
	assert_int_equal(store_batch_count(b), 0);
	assert_int_equal(res[0].error, STORE_OK);
	assert_int_equal(res[0].uid, 2);
	assert_int_equal(res[1].error, STORE_OK);
	assert_int_equal(res[1].uid, 7);
	assert_int_equal(res[2].error, STORE_ERR_EXISTS);
	assert_int_equal(res[3].error, STORE_OK);
	assert_int_equal(res[3].uid, 3);
	text = read_msg(f->acct, "Other", 7);
	assert_string_equal(text, "b\r\n");
	free(text);
	assert_int_equal(msg_files(f), files0 + 3);

	/* a full batch says so; dropping it leaves nothing */
	for (unsigned i = 0; i < STORE_BATCH_MAX; i++) {
		char msg[32];
		struct store_append *ap;

		snprintf(msg, sizeof(msg), "n%u\r\n", i);
		assert_int_equal(store_append_begin(f->acct, "INBOX", &ap), STORE_OK);
		assert_int_equal(store_append_write(ap, msg, strlen(msg)), STORE_OK);
		assert_int_equal(store_batch_add(b, &ap, 0, NULL, 0, 0, &present, &full), STORE_OK);
		assert_null(ap);
		assert_int_equal(full, i + 1 == STORE_BATCH_MAX);
	}
	store_batch_free(&b);
	assert_null(b);
	assert_int_equal(msg_files(f), files0 + 3);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 3);
	store_mailbox_free(&box);
}

/* More messages than a batch holds, with a dovecot-uidlist whose N is
 * raised between them: every UID as listed, the rest after N. */
static void test_maildir_batches(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_mailbox box;
	char path[512], name[64], text[64];
	FILE *ul;
	char *msg;

	make_dirs(f->src, "");
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", f->src);
	ul = fopen(path, "w");
	assert_non_null(ul);
	fprintf(ul, "3 V42 N5000\n");
	snprintf(path, sizeof(path), "%s/cur", f->src);
	for (unsigned i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "%u.M%uP1.host:2,S", 1700000000 + i, i);
		snprintf(text, sizeof(text), "Subject: %u\n\n%u\n", i, i);
		write_file(path, name, text, 0);
		if (i < 600)
			fprintf(ul, "%u :%u.M%uP1.host\n", 10 + i * 2, 1700000000 + i, i);
	}
	fclose(ul);
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 700);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box), STORE_OK);
	assert_int_equal(box.messages, 700);
	assert_int_equal(box.uidvalidity, 42);
	assert_int_equal(box.uidnext, 5100);
	store_mailbox_free(&box);
	msg = read_msg(f->acct, "INBOX", 10 + 599 * 2);
	assert_string_equal(msg, "Subject: 599\r\n\r\n599\r\n");
	free(msg);
	msg = read_msg(f->acct, "INBOX", 5099);
	assert_string_equal(msg, "Subject: 699\r\n\r\n699\r\n");
	free(msg);
	assert_true(said(f->out, "imported INBOX 5000 "));
	/* again: nothing new */
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.present, 700);
}

static void test_export_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_account *other;
	struct store_message *a, *b;
	struct store_mailbox box1, box2;
	char out[256];
	uint32_t uid;
	size_t na, nb;

	make_maildir(f->src);
	assert_int_equal(transfer_import_maildir(f->acct, f->src, im(f, NULL), &st), STORE_OK);
	assert_int_equal(store_append(f->acct, "INBOX", "Subject: new\r\n\r\n.\r\n", 20,
				      STORE_FLAG_DRAFT | STORE_FLAG_SEEN, NULL, 0, &uid), STORE_OK);
	snprintf(out, sizeof(out), "%s/export", f->dir);
	assert_int_equal(transfer_export_maildir(f->acct, out, f->out, f->err, &st), STORE_OK);
	assert_int_equal(st.messages, 6);
	assert_int_equal(transfer_export_maildir(f->acct, out, f->out, f->err, &st), STORE_ERR_EXISTS);

	assert_int_equal(store_open(f->dir, "v@example.org", &other), STORE_OK);
	assert_int_equal(transfer_import_maildir(other, out, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 6);
	assert_int_equal(store_mailbox_get(f->acct, "INBOX", &box1), STORE_OK);
	assert_int_equal(store_mailbox_get(other, "INBOX", &box2), STORE_OK);
	assert_int_equal(box1.uidvalidity, box2.uidvalidity);
	assert_int_equal(box1.uidnext, box2.uidnext);
	store_mailbox_free(&box1);
	store_mailbox_free(&box2);
	assert_int_equal(store_message_list(f->acct, TREF(f->acct, "INBOX"), &a, &na), STORE_OK);
	assert_int_equal(store_message_list(other, TREF(other, "INBOX"), &b, &nb), STORE_OK);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		char *x = read_msg(f->acct, "INBOX", a[i].uid), *y = read_msg(other, "INBOX", b[i].uid);

		assert_int_equal(a[i].uid, b[i].uid);
		assert_int_equal(a[i].flags, b[i].flags);
		assert_int_equal(a[i].internal_date, b[i].internal_date);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	store_messages_free(a, na);
	store_messages_free(b, nb);
	assert_int_equal(store_mailbox_get(other, "Work/Projects", &box2), STORE_OK);
	assert_int_equal(box2.messages, 1);
	store_mailbox_free(&box2);
	store_close(&other);
}

/* Maildir++ folder names, both ways, against Dovecot's forms (its
 * listescape escaping, RFC 3501 5.1.3 modified UTF-7 examples), and the
 * round trip over names made of the awkward bytes. */
static void test_folder_names(void **state)
{
	static const struct {
		const char *mailbox, *folder;
	} both[] = {
		{ "a.b", ".a\\2eb" },
		{ "a/b", ".a.b" },
		{ "a\\b", ".a\\5cb" },
		{ "~home", ".\\7ehome" },
		{ "a/~b", ".a.\\7eb" },
		{ "a~b", ".a~b" },
		{ "Work.2024/Q1", ".Work\\2e2024.Q1" },
		{ "R&D", ".R&-D" },
		{ "\xc3\x84rger", ".&AMQ-rger" },
		{ "\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", ".&U,BTFw-.&ZeVnLIqe-" },
		{ "\xf0\x9f\x98\x80", ".&2D3eAA-" },
		{ "x\xff", ".x\\ff" },
		{ "INBOX/x", ".INBOX.x" },
	};
	static const struct {
		const char *folder, *mailbox;
	} decode[] = {
		{ ".a\\2Eb", "a.b" },          /* hex in either case */
		{ ".&AGE-", "&AGE-" },          /* 'a' may not be encoded: kept */
		{ ".&AMQ", "&AMQ" },            /* unterminated: kept */
		{ ".&2D0-", "&2D0-" },          /* lone high surrogate: kept */
		{ ".a\\00b", "a\\00b" },        /* no NUL in a name */
		{ ".a\\zzb.\\2", "a\\zzb/\\2" },
		{ ".\\5c2e", "\\2e" },
		{ ".\\26AMQ-", "\xc3\x84" },    /* escaped '&' starts UTF-7 too */
		{ ".a..b", "a//b" },
	};
	static const char alphabet[] = "a.\\~&-/\xc3\x84\xff\xe6\x97\xa5\xf0\x9f\x98\x80" "A";
	char name[32];

	(void)state;
	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		char *folder = transfer_maildir_folder_encode(both[i].mailbox);
		char *back = transfer_maildir_folder_decode(both[i].folder);

		assert_string_equal(folder, both[i].folder);
		assert_string_equal(back, both[i].mailbox);
		free(folder);
		free(back);
	}
	for (size_t i = 0; i < sizeof(decode) / sizeof(decode[0]); i++) {
		char *back = transfer_maildir_folder_decode(decode[i].folder);

		assert_string_equal(back, decode[i].mailbox);
		free(back);
	}
	srand(5);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(1 + rand() % (int)(sizeof(name) - 1));
		char *folder, *back;

		for (size_t i = 0; i < len; i++)
			name[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		name[len] = '\0';
		folder = transfer_maildir_folder_encode(name);
		back = transfer_maildir_folder_decode(folder);
		assert_string_equal(back, name);
		assert_null(strchr(folder, '/'));
		free(folder);
		free(back);
	}
}

/* Mailboxes "a.b" and "a/b" used to share the folder .a.b (one uidlist
 * entry lost): now each has its own, the export says which names it
 * escaped, and an import reads them back to the same mailboxes. */
static void test_export_escaped(void **state)
{
	static const char *const names[] = { "a", "a.b", "a/b", "a\\b", "\xc3\x84rger", "R&D" };
	struct fixture *f = *state;
	struct transfer_stats st;
	struct store_account *other;
	struct store_mailbox box;
	char out[256], path[512];
	struct stat sb;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char text[64];

		snprintf(text, sizeof(text), "Subject: %zu\r\n\r\n%s\r\n", i, names[i]);
		assert_int_equal(transfer_mailbox_ensure(f->acct, names[i]), STORE_OK);
		assert_int_equal(store_append(f->acct, names[i], text, strlen(text), 0, NULL, 0, NULL),
				 STORE_OK);
	}
	snprintf(out, sizeof(out), "%s/export", f->dir);
	assert_int_equal(transfer_export_maildir(f->acct, out, f->out, f->err, &st), STORE_OK);
	assert_int_equal(st.messages, 6);
	snprintf(path, sizeof(path), "%s/.a\\2eb/cur", out);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/.a.b/cur", out);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/.&AMQ-rger/cur", out);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(said(f->out, "mailbox a.b exported as .a\\2eb\n"));
	assert_true(said(f->out, "mailbox a\\b exported as .a\\5cb\n"));
	assert_true(said(f->out, "mailbox \xc3\x84rger exported as .&AMQ-rger\n"));
	assert_true(said(f->out, "mailbox R&D exported as .R&-D\n"));
	assert_false(said(f->out, "mailbox a/b exported"));
	assert_false(said(f->out, "mailbox Sent exported"));

	assert_int_equal(store_open(f->dir, "v@example.org", &other), STORE_OK);
	assert_int_equal(transfer_import_maildir(other, out, im(f, NULL), &st), STORE_OK);
	assert_int_equal(st.messages, 6);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char text[64], *got;

		assert_int_equal(store_mailbox_get(other, names[i], &box), STORE_OK);
		assert_int_equal(box.messages, 1);
		got = read_msg(other, names[i], box.uidnext - 1);
		snprintf(text, sizeof(text), "Subject: %zu\r\n\r\n%s\r\n", i, names[i]);
		assert_string_equal(got, text);
		free(got);
		store_mailbox_free(&box);
	}
	store_close(&other);
}

/* the dovecot-uidlist parser on its own, with broken input */
static void test_uidlist_parse(void **state)
{
	static const char v3[] =
		"3 V1700000000 N42 G3085f01b7f11094c501100008c4a11c1\n"
		"1 :1700000000.M1P1.host,S=2345,W=2398\n"
		"5 W1024 :1700000100.M2P9.host:2,S\n"
		"17 :1700000200.M3P9.host\r\n"
		"41 G0123 :last";
	static const char *const bad[] = {
		"", "\n", "x\n", "3 Vxx N5\n1 :a\n", "3 V0 N5\n", "3 N5\n",
		"3 V4294967296\n", "3 V5 N4294967296\n", "1 0 5\n", "1 -5 3\n",
	};
	static const char nul[] = "3 V5 N9\n1 :a\0x\n2 :b\n";
	struct transfer_uidlist ul;
	char *big;
	size_t n;

	(void)state;
	assert_true(transfer_uidlist_parse(v3, strlen(v3), &ul));
	assert_int_equal(ul.uidvalidity, 1700000000);
	assert_int_equal(ul.nextuid, 42);
	assert_int_equal(ul.n, 4);
	assert_int_equal(ul.entries[0].uid, 1);
	assert_string_equal(ul.entries[0].base, "1700000000.M1P1.host,S=2345,W=2398");
	assert_int_equal(ul.entries[1].uid, 5);
	assert_string_equal(ul.entries[1].base, "1700000100.M2P9.host");
	assert_string_equal(ul.entries[2].base, "1700000200.M3P9.host");
	assert_int_equal(ul.entries[3].uid, 41);
	assert_string_equal(ul.entries[3].base, "last");   /* no final newline */
	transfer_uidlist_free(&ul);

	assert_true(transfer_uidlist_parse("1 1234 8\n1 a.host\n7 b.host\n", 28, &ul));
	assert_int_equal(ul.uidvalidity, 1234);
	assert_int_equal(ul.nextuid, 8);
	assert_int_equal(ul.n, 2);
	assert_string_equal(ul.entries[1].base, "b.host");
	assert_int_equal(ul.entries[1].uid, 7);
	transfer_uidlist_free(&ul);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(transfer_uidlist_parse(bad[i], strlen(bad[i]), &ul));
		assert_int_equal(ul.n, 0);
		assert_null(ul.entries);
		transfer_uidlist_free(&ul);
	}

	/* bad entries are skipped, the good ones kept */
	{
		static const char text[] =
			"3 V77 N10\n0 :zero\n4294967295 :max\n-1 :neg\n7\n8 :\n"
			"9x :glued\n 11 :spaced\n12\t:tab\n";

		assert_true(transfer_uidlist_parse(text, strlen(text), &ul));
		assert_int_equal(ul.n, 2);
		assert_int_equal(ul.entries[0].uid, 11);
		assert_int_equal(ul.entries[1].uid, 12);
		transfer_uidlist_free(&ul);
	}

	/* fuzz finding: a line starting with CR ("\r7 99\r") was parsed
	 * past the CR cut and kept "99\r" as the file name */
	{
		static const char text[] = "3 V77 N10\n\r7 99\r\n8 ok\r\n";

		assert_true(transfer_uidlist_parse(text, strlen(text), &ul));
		assert_int_equal(ul.n, 1);
		assert_int_equal(ul.entries[0].uid, 8);
		assert_string_equal(ul.entries[0].base, "ok");
		transfer_uidlist_free(&ul);
	}

	/* fuzz finding: a name that is all info (":2,S", ";:d") gave an entry
	 * with an empty base, which matched a file named ":2,..." */
	{
		static const char text[] = "3 V777 N1\n10 ;:d\n11 ::2,S\n12 :ok:2,S\n";

		assert_true(transfer_uidlist_parse(text, strlen(text), &ul));
		assert_int_equal(ul.n, 1);
		assert_int_equal(ul.entries[0].uid, 12);
		assert_string_equal(ul.entries[0].base, "ok");
		transfer_uidlist_free(&ul);
	}

	/* a line with a NUL byte is skipped, and only that line (reading with
	 * fgets() used to swallow the next one too) */
	assert_true(transfer_uidlist_parse(nul, sizeof(nul) - 1, &ul));
	assert_int_equal(ul.n, 1);
	assert_int_equal(ul.entries[0].uid, 2);
	assert_string_equal(ul.entries[0].base, "b");
	transfer_uidlist_free(&ul);

	/* an overlong line is skipped whole; its tail is not a line of its own */
	n = 2 * TRANSFER_UIDLIST_LINE_MAX;
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "3 V5\n4 :", 8);
	memset(big + 8, 'a', n);
	memcpy(big + 8 + n, " 9 :tail\n6 :b\n", 14);
	assert_true(transfer_uidlist_parse(big, n + 22, &ul));
	assert_int_equal(ul.n, 1);
	assert_int_equal(ul.entries[0].uid, 6);
	transfer_uidlist_free(&ul);
	/* the longest line read: TRANSFER_UIDLIST_LINE_MAX - 2 bytes */
	n = TRANSFER_UIDLIST_LINE_MAX - 2 - 3;   /* after "4 :" */
	memcpy(big, "3 V5\n4 :", 8);
	memset(big + 8, 'a', n);
	assert_true(transfer_uidlist_parse(big, 8 + n, &ul));
	assert_int_equal(ul.n, 1);
	assert_int_equal(strlen(ul.entries[0].base), n);
	transfer_uidlist_free(&ul);
	memset(big + 8, 'a', n + 1);
	assert_true(transfer_uidlist_parse(big, 8 + n + 1, &ul));
	assert_int_equal(ul.n, 0);
	transfer_uidlist_free(&ul);
	/* an overlong header is read from its start */
	memcpy(big, "3 V5 N7 ", 8);
	memset(big + 8, 'x', 2 * TRANSFER_UIDLIST_LINE_MAX);
	memcpy(big + 8 + 2 * TRANSFER_UIDLIST_LINE_MAX, "\n3 :c\n", 6);
	assert_true(transfer_uidlist_parse(big, 14 + 2 * TRANSFER_UIDLIST_LINE_MAX, &ul));
	assert_int_equal(ul.uidvalidity, 5);
	assert_int_equal(ul.nextuid, 7);
	assert_int_equal(ul.n, 1);
	transfer_uidlist_free(&ul);
	free(big);
}

/* Maildir file names: flags and the base name */
static void test_maildir_name(void **state)
{
	static const struct {
		const char *name, *base;
		unsigned flags;
	} cases[] = {
		{ "1700000000.M1P1.host:2,SF", "1700000000.M1P1.host",
		  STORE_FLAG_SEEN | STORE_FLAG_FLAGGED },
		{ "x,S=2345,W=2398:2,DRT", "x,S=2345,W=2398",
		  STORE_FLAG_DRAFT | STORE_FLAG_ANSWERED | STORE_FLAG_DELETED },
		{ "x!2,Sab", "x", STORE_FLAG_SEEN },
		{ "x;2,F,S", "x", STORE_FLAG_FLAGGED },   /* stops at ',' */
		{ "x:2,", "x", 0 },
		{ "x:1,S", "x", 0 },                      /* experimental info */
		{ "x:2", "x", 0 },
		{ "plain", "plain", 0 },
		{ "", "", 0 },
		{ ":2,S", "", STORE_FLAG_SEEN },
		{ "a;b:2,S", "a", STORE_FLAG_SEEN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *base = transfer_maildir_base(cases[i].name);

		assert_string_equal(base, cases[i].base);
		assert_int_equal(transfer_maildir_flags(cases[i].name), cases[i].flags);
		free(base);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maildir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maildir_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox_bad, setup, teardown),
		cmocka_unit_test(test_mbox_split_bytewise),
		cmocka_unit_test_setup_teardown(test_mbox_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maildir_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maildir_batches, setup, teardown),
		cmocka_unit_test(test_uidlist_parse),
		cmocka_unit_test(test_maildir_name),
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test_setup_teardown(test_export_escaped, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
