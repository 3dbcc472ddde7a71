/* test-queue - the queue from receiving to the mailbox: a message lands
 * durable with its envelope and is delivered into each local recipient's
 * INBOX exactly once, sharing one file; big messages through the
 * temporary file; one fsync per message on the way to the OK; a failing
 * or over-quota delivery stays queued with its error and is retried; a
 * recipient that no longer exists fails (and is reported); the free-space floor; the
 * envelope's second file when it is too big for the extended attribute;
 * queue.db rebuilt from the files (rows lost, files left by a crash);
 * an insert into queue.db that fails after the OK (tried again);
 * hold, release, flush and remove. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "core/log.h"
#include "queue-harness.h"
#include "queue/queue-db.h"
#include "queue/queue-envelope.h"
#include "queue/queue-private.h"

static const char t_text[] =
	"Received: from client.example by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"Subject: hello\r\n"
	"\r\n"
	"a body\r\n";

static int setup(void **state)
{
	return qh_state_setup(state, "queue", false);
}

static int setup_open(void **state)
{
	return qh_state_setup(state, "queue", true);
}

static int teardown(void **state)
{
	return qh_state_teardown(state);
}

/* What `tern queue list` would show, for one message. */
struct t_listed {
	size_t messages;
	char id[QUEUE_ID_LEN + 1];
	size_t n_rcpts;
	enum queue_state state[8];
	char error[8][64];
	unsigned attempts[8];
	uint64_t size;
};

static void t_list_cb(void *ctx, const struct queue_list_message *msg)
{
	struct t_listed *l = ctx;

	l->messages++;
	snprintf(l->id, sizeof(l->id), "%s", msg->id);
	l->size = msg->size;
	l->n_rcpts = msg->n_rcpts;
	for (size_t i = 0; i < msg->n_rcpts && i < 8; i++) {
		l->state[i] = msg->rcpts[i].state;
		l->attempts[i] = msg->rcpts[i].attempts;
		snprintf(l->error[i], sizeof(l->error[i]), "%s",
			 msg->rcpts[i].error != NULL ? msg->rcpts[i].error : "");
	}
}

static void t_list(struct qh *h, struct t_listed *l)
{
	char *error = NULL;

	memset(l, 0, sizeof(*l));
	assert_int_equal(queue_list(h->data, t_list_cb, l, &error), 0);
}

static char *t_path(struct qh *h, const char *folder, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/queue/%s/%s", h->data, folder, name) < 0)
		abort();
	return path;
}

/* The one message file of an account's msg/ folder. */
static void t_mail_file(struct qh *h, const char *local, struct stat *st)
{
	char folder[512], path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(folder, sizeof(folder), "%s/mail/" QH_DOMAIN "/%s/msg", h->data, local);
	d = opendir(folder);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", folder, de->d_name);
		assert_int_equal(lstat(path, st), 0);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

/* queue.db and its -wal and -shm gone (a power loss took what the
 * index had): the reopened queue rebuilds it from the files and tries
 * bob's copy again, which the store finds there already. */
static void t_lose_index(struct qh *h)
{
	static const char *const names[] = { "queue.db", "queue.db-wal", "queue.db-shm" };

	qh_close(h);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = t_path(h, "", names[i]);

		assert_int_equal(unlink(path), 0);
		free(path);
	}
	qh_open(h);
	assert_true(qh_wait_tries(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
}

static void t_inbox_one(struct qh *h, const char *address, const char *expect)
{
	char *texts[4];

	assert_int_equal(qh_inbox(h, address, texts, 4), 1);
	assert_string_equal(texts[0], expect);
	free(texts[0]);
}

/* Run one statement on queue.db from a connection of the test's own. */
static void t_queue_sql(struct qh *h, const char *sql)
{
	char *path = t_path(h, "", "queue.db");
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

/* queue.db refuses every new message row (a trigger), or takes them
 * again. */
static void t_refuse_rows(struct qh *h, bool refuse)
{
	t_queue_sql(h, refuse ? "CREATE TRIGGER t_refuse BEFORE INSERT ON messages"
				" BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
			      : "DROP TRIGGER t_refuse;");
}

/* The OK waits only for the file: a queue.db that refuses the row
 * (here a trigger; in life a full disk) fails nothing. The message is
 * acknowledged, stays out of the list while the insert fails, and is
 * indexed and delivered once queue.db takes it again, without another
 * message to carry it. */
static void test_index_failure_after_ok(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	char id[QUEUE_ID_LEN + 1];
	struct t_listed l;

	t_refuse_rows(h, true);
	assert_int_equal(qh_send_acked(h->queue, &env, t_text, id), QUEUE_OK);
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
	assert_int_equal(qh_inbox_count(h, QH_BOB), 0);
	t_refuse_rows(h, false);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
}

/* The queue closes while queue.db still refuses the insert of an
 * acknowledged message: nothing of it leaks, and the next open (the rows
 * taken again) indexes it from its file and delivers it once. */
static void test_index_failure_at_close(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	char id[QUEUE_ID_LEN + 1];
	struct t_listed l;

	t_refuse_rows(h, true);
	assert_int_equal(qh_send_acked(h->queue, &env, t_text, id), QUEUE_OK);
	qh_close(h);
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
	assert_int_equal(qh_inbox_count(h, QH_BOB), 0);
	t_refuse_rows(h, false);
	qh_open(h);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
	qh_close(h);
	qh_open(h);
	qh_sleep_ms(200);
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
}

/* Acknowledged messages waiting for their rows are bounded: past
 * QUEUE_UNINDEXED_MAX, new mail is refused (the session answers 4xx)
 * until queue.db takes the rows; then all are delivered, once. */
static void test_index_failure_bounded(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);

	t_refuse_rows(h, true);
	for (int i = 0; i < QUEUE_UNINDEXED_MAX; i++)
		assert_int_equal(qh_send_acked(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_null(queue_msg_begin(h->queue, &env));
	t_refuse_rows(h, false);
	assert_true(qh_wait_finished(h, QUEUE_UNINDEXED_MAX));
	assert_int_equal(qh_inbox_count(h, QH_BOB), QUEUE_UNINDEXED_MAX);
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
}

/* The message lands durable with its envelope (the remote recipient keeps
 * it queued), the local one gets it once, with Return-Path first; a
 * reopen (a restart) and a lost queue.db (its rows gone: a power loss)
 * deliver nothing twice. */
static void test_durable_and_once(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = QH_BOB, .local = true },
		{ .address = "dave@elsewhere.example", .orcpt = "rfc822;dave@elsewhere.example",
		  .notify = QUEUE_NOTIFY_FAILURE },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char id[QUEUE_ID_LEN + 1], expect[512], *path, *record;
	struct queue_record rec;
	const char *error;
	struct t_listed l;
	struct stat st;
	ssize_t len;

	env.envid = "env-1";
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_true(queue_id_valid(id, strlen(id)));
	assert_true(qh_wait_tries(h, 1));
	snprintf(expect, sizeof(expect), "Return-Path: <" QH_ALICE ">\r\n%s", t_text);
	t_inbox_one(h, QH_BOB, expect);

	/* the queue's file: the message and its envelope, 0600 */
	path = t_path(h, "msg", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, strlen(expect));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 2);   /* the queue and bob's INBOX */
	len = getxattr(path, "user.tern.envelope", NULL, 0);
	assert_true(len > 0);
	record = malloc((size_t)len);
	assert_int_equal(getxattr(path, "user.tern.envelope", record, (size_t)len), len);
	assert_int_equal(queue_record_parse(record, (size_t)len, &rec, &error), 0);
	assert_string_equal(rec.id, id);
	assert_int_equal(rec.size, st.st_size);
	assert_string_equal(rec.env.envid, "env-1");
	assert_int_equal(rec.env.n_rcpts, 2);
	assert_string_equal(rec.env.rcpts[1].orcpt, "rfc822;dave@elsewhere.example");
	queue_record_free(&rec);
	free(record);
	free(path);
	path = t_path(h, "..", "queue");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(path);

	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_string_equal(l.id, id);
	assert_int_equal(l.n_rcpts, 2);
	assert_int_equal(l.state[0], QUEUE_STATE_DELIVERED);
	assert_int_equal(l.state[1], QUEUE_STATE_QUEUED);

	/* a restart: nothing delivered again */
	qh_close(h);
	qh_open(h);
	qh_sleep_ms(200);
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);

	/* queue.db lost: rebuilt from the file, delivered again into the
	 * store, which finds the first copy */
	t_lose_index(h);
	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_int_equal(l.state[0], QUEUE_STATE_DELIVERED);
	assert_int_equal(l.state[1], QUEUE_STATE_QUEUED);
}

/* Three local accounts: one file on disk, one link each; the queue's own
 * link and its row go once every recipient has it. */
static void test_three_share_one_file(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = QH_ALICE, .local = true },
		{ .address = QH_BOB, .local = true },
		{ .address = QH_CAROL, .local = true },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 3);
	struct stat a, b, c;
	char id[QUEUE_ID_LEN + 1], *path;
	struct t_listed l;

	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_true(qh_wait_finished(h, 1));
	t_mail_file(h, "alice", &a);
	t_mail_file(h, "bob", &b);
	t_mail_file(h, "carol", &c);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_ino, c.st_ino);
	assert_int_equal(a.st_nlink, 3);
	path = t_path(h, "msg", id);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	/* the envelope is not left on the mailboxes' copy */
	{
		char file[1024];
		struct dirent *de;
		DIR *d;

		snprintf(file, sizeof(file), "%s/mail/" QH_DOMAIN "/bob/msg", h->data);
		d = opendir(file);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				break;
		assert_non_null(de);
		snprintf(file + strlen(file), sizeof(file) - strlen(file), "/%s", de->d_name);
		closedir(d);
		assert_int_equal(getxattr(file, "user.tern.envelope", NULL, 0), -1);
		assert_int_equal(errno, ENODATA);
	}
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 1);
}

/* Delivery keeps an account's store open for its next job, but not for
 * long: once idle, the account can be deleted (store_remove_begin
 * refuses while anyone holds it). */
static void test_idle_account_released(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct store_removal *rm = NULL;
	enum store_error err = STORE_ERR_LOCKED;

	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(store_remove_begin(h->data, QH_BOB, &rm), STORE_ERR_LOCKED);
	for (unsigned waited = 0; waited < 3 * 5000 && err == STORE_ERR_LOCKED; waited += 100) {
		qh_sleep_ms(100);
		err = store_remove_begin(h->data, QH_BOB, &rm);
	}
	assert_int_equal(err, STORE_OK);
	store_remove_abort(&rm);
}

/* A message bigger than the memory part goes through tmp/ and arrives
 * byte for byte; tmp/ is empty afterwards. */
static void test_big_message(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_CAROL, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	size_t len = 3 * 1024 * 1024 + 17, hlen;
	char *text = malloc(len + 1), *got[2], *path;

	env.sender = "";
	for (size_t i = 0; i < len; i++)
		text[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
	text[len] = '\0';
	assert_int_equal(qh_send_pieces(h->queue, &env, text, len, 7000, NULL), QUEUE_OK);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(qh_inbox(h, QH_CAROL, got, 2), 1);
	hlen = strlen("Return-Path: <>\r\n");
	assert_memory_equal(got[0], "Return-Path: <>\r\n", hlen);
	assert_int_equal(strlen(got[0]), hlen + len);
	assert_memory_equal(got[0] + hlen, text, len);
	free(got[0]);
	free(text);
	path = t_path(h, "tmp", "");
	assert_int_equal(tmpdir_count(path, NULL), 0);
	free(path);
}

/* At one sender, each OK costs one fsync (the pool's files are made
 * ahead of use). */
static void test_one_fsync_per_message(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = "x@elsewhere.example" };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct queue_stats st;

	for (int i = 0; i < 20; i++)
		assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	queue_stats(h->queue, &st);
	assert_int_equal(st.committed, 20);
	assert_int_equal(st.commit_rounds, 20);
	assert_int_equal(st.fsyncs, 20);
}

/* Over quota: stays queued with its error, tried again after a flush,
 * delivered once there is room. */
static void test_over_quota(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	char id[QUEUE_ID_LEN + 1];
	struct t_listed l;
	unsigned changed;

	assert_int_equal(dir_user_set_quota(h->dir, QH_BOB, 50), DIR_OK);
	qh_open(h);
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_true(qh_wait_tries(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 0);
	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_int_equal(l.state[0], QUEUE_STATE_DEFERRED);
	assert_int_equal(l.attempts[0], 1);
	assert_string_equal(l.error[0], "mailbox over quota");

	/* a flush tries again at once: still over quota */
	assert_int_equal(queue_flush(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 1);
	assert_true(qh_wait_tries(h, 2));
	t_list(h, &l);
	assert_int_equal(l.attempts[0], 2);

	assert_int_equal(dir_user_set_quota(h->dir, QH_BOB, 0), DIR_OK);
	assert_int_equal(queue_flush(h->queue, NULL, &changed), QUEUE_ADMIN_OK);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
	assert_int_equal(queue_flush(h->queue, "AAAAAAAAAAAAAAAA", &changed),
			 QUEUE_ADMIN_NOT_FOUND);
}

/* A store that cannot take the message (its msg/ folder is not a
 * folder): deferred with the store's error; after the repair and a
 * flush it arrives. */
static void test_store_failure(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_CAROL, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	char id[QUEUE_ID_LEN + 1], folder[512];
	struct t_listed l;
	unsigned changed;
	int fd;

	/* carol's account folder exists, its msg/ is a file */
	snprintf(folder, sizeof(folder), "%s/mail", h->data);
	assert_int_equal(mkdir(folder, 0700), 0);
	snprintf(folder, sizeof(folder), "%s/mail/" QH_DOMAIN, h->data);
	assert_int_equal(mkdir(folder, 0700), 0);
	snprintf(folder, sizeof(folder), "%s/mail/" QH_DOMAIN "/carol", h->data);
	assert_int_equal(mkdir(folder, 0700), 0);
	snprintf(folder, sizeof(folder), "%s/mail/" QH_DOMAIN "/carol/msg", h->data);
	fd = open(folder, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	qh_open(h);
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_true(qh_wait_tries(h, 1));
	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_int_equal(l.state[0], QUEUE_STATE_DEFERRED);
	assert_true(l.error[0][0] != '\0');

	assert_int_equal(unlink(folder), 0);
	assert_int_equal(queue_flush(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_true(qh_wait_finished(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_CAROL), 1);
}

/* More recipients due at once than one scan of queue.db takes (1,000):
 * the next scan comes once those are delivered, until none is left. */
static void test_many_due(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_CAROL, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct t_listed l;
	unsigned changed;

	assert_int_equal(dir_user_set_quota(h->dir, QH_CAROL, 1), DIR_OK);
	qh_open(h);
	for (int i = 0; i < 1200; i++)
		assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_true(qh_wait_tries(h, 1200));
	assert_int_equal(qh_inbox_count(h, QH_CAROL), 0);
	assert_int_equal(dir_user_set_quota(h->dir, QH_CAROL, 0), DIR_OK);
	assert_int_equal(queue_flush(h->queue, NULL, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 1200);
	assert_true(qh_wait_finished(h, 1200));
	assert_int_equal(qh_inbox_count(h, QH_CAROL), 1200);
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
}

/* An account deleted after RCPT: failed for good, and reported to the
 * sender (test-queue-report.c has the reports); the message is then done
 * with and leaves the queue. */
static void test_no_such_account(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "ghost@example.org", .local = true },
		{ .address = QH_BOB, .local = true },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	struct t_listed l;

	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	/* the message, then the report into alice's INBOX */
	assert_true(qh_wait_finished(h, 2));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 1);
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
}

/* Below the free-space floor the queue takes no message. */
static void test_free_space_floor(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);

	qh_config(h, "min_free_space = 1024G\n");
	qh_open(h);
	assert_false(queue_has_space(h->queue));
	assert_null(queue_msg_begin(h->queue, &env));
	qh_close(h);
	qh_config(h, "min_free_space = 1M\n");
	qh_open(h);
	assert_true(queue_has_space(h->queue));
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
}

/* Too many recipients for the extended attribute: the envelope goes to
 * env/ID, the message is delivered, and the rebuild reads it back. */
static void test_envelope_file(void **state)
{
	struct qh *h = *state;
	struct queue_rcpt rcpts[300];
	char addresses[300][80];
	struct queue_envelope env;
	char id[QUEUE_ID_LEN + 1], *path;
	struct t_listed l;
	struct stat st;

	for (size_t i = 0; i < 300; i++) {
		snprintf(addresses[i], sizeof(addresses[i]),
			 "a-rather-long-recipient-name-%03zu@far-away.example", i);
		rcpts[i] = (struct queue_rcpt){ .address = addresses[i] };
	}
	rcpts[150] = (struct queue_rcpt){ .address = QH_BOB, .local = true };
	env = QH_ENVELOPE(rcpts, 300);
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	path = t_path(h, "env", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(path);
	assert_true(qh_wait_tries(h, 1));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);

	t_lose_index(h);
	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_int_equal(l.n_rcpts, 300);
}

/* Write a file into the queue's folder as a crash could leave it. */
static void t_plant(struct qh *h, const char *folder, const char *name, const char *data)
{
	char *path = t_path(h, folder, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	free(path);
}

static bool t_exists(struct qh *h, const char *folder, const char *name)
{
	char *path = t_path(h, folder, name);
	bool there = access(path, F_OK) == 0;

	free(path);
	return there;
}

/* What a crash leaves in the folders, sorted out at the next open. */
static void test_rebuild(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = "x@elsewhere.example" };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	char id[QUEUE_ID_LEN + 1], *path, *record;
	struct queue_record rec;
	struct t_listed l;
	size_t rlen;

	qh_open(h);
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	qh_close(h);
	/* a message written but its envelope never set (a crash before the
	 * fsync); one whose envelope says another size; a finished one
	 * (envelope removed, not unlinked); an empty file (the pool); a
	 * leftover temporary file and envelope file; not a queue name */
	t_plant(h, "msg", "NOENVELOPE222222", "Return-Path: <>\r\n\r\nx\r\n");
	t_plant(h, "msg", "WRONGSIZE2222222", "Return-Path: <>\r\n\r\nx\r\n");
	queue_record_init(&rec, "WRONGSIZE2222222", 1, 99, &env);
	record = queue_record_format(&rec, &rlen);
	path = t_path(h, "msg", "WRONGSIZE2222222");
	assert_int_equal(setxattr(path, "user.tern.envelope", record, rlen, 0), 0);
	free(path);
	free(record);
	queue_record_free(&rec);
	t_plant(h, "msg", "POOLFILE22222222", "");
	/* an empty file linked elsewhere is no pool file: handed out, its
	 * open would refuse it and cost a message a 451 */
	t_plant(h, "msg", "LINKEDPOOL222222", "");
	{
		char *from = t_path(h, "msg", "LINKEDPOOL222222"), *to = t_path(h, "tmp", "elsewhere");

		assert_int_equal(link(from, to), 0);
		free(from);
		free(to);
	}
	t_plant(h, "tmp", "TMPFILE222222222", "partial");
	t_plant(h, "env", "ORPHANENV2222222", "tern-envelope 1\n");
	t_plant(h, "msg", "not-a-queue-file", "left alone");
	/* and a row whose file is gone */
	path = t_path(h, "msg", id);
	assert_int_equal(unlink(path), 0);
	free(path);

	qh_open(h);
	assert_false(t_exists(h, "msg", "NOENVELOPE222222"));
	assert_false(t_exists(h, "msg", "WRONGSIZE2222222"));
	assert_true(t_exists(h, "msg", "POOLFILE22222222"));
	assert_false(t_exists(h, "msg", "LINKEDPOOL222222"));
	assert_false(t_exists(h, "tmp", "TMPFILE222222222"));
	assert_false(t_exists(h, "env", "ORPHANENV2222222"));
	assert_true(t_exists(h, "msg", "not-a-queue-file"));
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
}

/* A crash between the record of a message's last delivery and its
 * finish leaves its file and rows with nothing left to try: the reopened
 * queue finishes it, and keeps one with a recipient still to try. */
static void test_rebuild_finishes_done(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "x@elsewhere.example" },
		{ .address = "y@elsewhere.example" },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char done[QUEUE_ID_LEN + 1], left[QUEUE_ID_LEN + 1];
	struct queue_db_result res[3];
	struct t_listed l;
	int64_t next = 0;

	qh_open(h);
	/* no relay runs here: both stay queued until recorded below */
	assert_int_equal(qh_send(h->queue, &env, t_text, done), QUEUE_OK);
	assert_int_equal(qh_send(h->queue, &env, t_text, left), QUEUE_OK);
	res[0] = (struct queue_db_result){ .id = done, .idx = 0, .state = QUEUE_STATE_DELIVERED };
	res[1] = (struct queue_db_result){ .id = done, .idx = 1, .state = QUEUE_STATE_DELIVERED };
	res[2] = (struct queue_db_result){ .id = left, .idx = 0, .state = QUEUE_STATE_DELIVERED };
	assert_int_equal(queue_db_record(h->queue->db, res, 3, queue_now(), &h->queue->schedule,
					 &next), DB_OK);
	qh_close(h);

	qh_open(h);
	assert_false(t_exists(h, "msg", done));
	assert_true(t_exists(h, "msg", left));
	t_list(h, &l);
	assert_int_equal(l.messages, 1);
	assert_string_equal(l.id, left);
}

/* hold, release, remove on a queued message; a removed message's file
 * and row are gone. */
static void test_hold_release_remove(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "x@elsewhere.example" },
		{ .address = "y@elsewhere.example" },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char id[QUEUE_ID_LEN + 1];
	struct t_listed l;
	unsigned changed;

	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_int_equal(queue_hold(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 2);
	t_list(h, &l);
	assert_int_equal(l.state[0], QUEUE_STATE_HELD);
	assert_int_equal(l.state[1], QUEUE_STATE_HELD);
	assert_int_equal(queue_hold(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 0);
	assert_int_equal(queue_release(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 2);
	t_list(h, &l);
	assert_int_equal(l.state[0], QUEUE_STATE_QUEUED);
	assert_int_equal(queue_hold(h->queue, "BBBBBBBBBBBBBBBB", &changed), QUEUE_ADMIN_NOT_FOUND);
	assert_int_equal(queue_release(h->queue, "bad id", &changed), QUEUE_ADMIN_NOT_FOUND);
	assert_int_equal(queue_remove(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_false(t_exists(h, "msg", id));
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
	assert_int_equal(queue_remove(h->queue, id, &changed), QUEUE_ADMIN_NOT_FOUND);
}

/* A held message's local recipients wait for the release. */
static void test_hold_local(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "x@elsewhere.example" },
		{ .address = QH_BOB, .local = true },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char id[QUEUE_ID_LEN + 1];
	struct t_listed l;
	unsigned changed;

	assert_int_equal(dir_user_set_quota(h->dir, QH_BOB, 10), DIR_OK);
	qh_open(h);
	assert_int_equal(qh_send(h->queue, &env, t_text, id), QUEUE_OK);
	assert_true(qh_wait_tries(h, 1));
	assert_int_equal(queue_hold(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 2);
	assert_int_equal(dir_user_set_quota(h->dir, QH_BOB, 0), DIR_OK);
	/* a flush does not touch what is held */
	assert_int_equal(queue_flush(h->queue, NULL, &changed), QUEUE_ADMIN_OK);
	assert_int_equal(changed, 0);
	qh_sleep_ms(100);
	assert_int_equal(qh_inbox_count(h, QH_BOB), 0);
	assert_int_equal(queue_release(h->queue, id, &changed), QUEUE_ADMIN_OK);
	assert_true(qh_wait_tries(h, 2));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
	t_list(h, &l);
	assert_int_equal(l.state[0], QUEUE_STATE_QUEUED);
	assert_int_equal(l.state[1], QUEUE_STATE_DELIVERED);
}

/* An abort leaves nothing; a refused message is not queued. */
static void test_abort_and_refusals(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpt = { .address = QH_BOB, .local = true };
	struct queue_envelope env = QH_ENVELOPE(&rcpt, 1);
	struct queue_msg *m;
	char big[100 * 1024], *path;
	struct t_listed l;

	memset(big, 'x', sizeof(big));
	m = queue_msg_begin(h->queue, &env);
	assert_non_null(m);
	while (!queue_msg_add(m, big, sizeof(big)))
		;
	assert_int_equal(queue_msg_flush(m), QUEUE_OK);
	assert_true(t_exists(h, "tmp", queue_msg_id(m)));
	queue_msg_abort(&m);
	assert_null(m);
	path = t_path(h, "tmp", "");
	assert_int_equal(tmpdir_count(path, NULL), 0);
	free(path);

	/* an envelope that cannot be queued */
	env.sender = "a\r\nInjected: yes";
	assert_null(queue_msg_begin(h->queue, &env));
	env.sender = QH_ALICE;
	env.n_rcpts = 0;
	assert_null(queue_msg_begin(h->queue, &env));
	env.n_rcpts = 1;

	/* over [limits] message_size (plus what tern adds): refused */
	qh_close(h);
	qh_config(h, "message_size = 64K\n");
	qh_open(h);
	assert_int_equal(qh_send_pieces(h->queue, &env, big, 64 * 1024 + 1, 4096, NULL), QUEUE_OK);
	{
		char *huge = malloc(256 * 1024);

		memset(huge, 'y', 256 * 1024);
		assert_int_equal(qh_send_pieces(h->queue, &env, huge, 256 * 1024, 4096, NULL),
				 QUEUE_ERR_TOO_BIG);
		m = queue_msg_begin(h->queue, &env);
		assert_false(queue_msg_add(m, huge, 1000));
		assert_true(queue_msg_add(m, huge, 256 * 1024));
		assert_int_equal(qh_commit(m), QUEUE_ERR_TOO_BIG);
		free(huge);
	}
	assert_true(qh_wait_finished(h, 1));
	t_list(h, &l);
	assert_int_equal(l.messages, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_durable_and_once, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_three_share_one_file, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_idle_account_released, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_big_message, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_one_fsync_per_message, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_over_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_such_account, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_free_space_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_file, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_finishes_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_failure_after_ok, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_index_failure_bounded, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_index_failure_at_close, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_hold_release_remove, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_hold_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_refusals, setup_open, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
