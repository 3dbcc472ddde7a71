/* test-queue-report - the queue's Delivery Status Notifications for local
 * deliveries (queue-report.c), read back from the sender's INBOX: the
 * failure of a recipient that no longer exists, "delivered" for
 * NOTIFY=SUCCESS with ORCPT and ENVID, NOTIFY=NEVER and the null sender
 * (no report), a delay warning and then the bounce at expiry of a
 * mailbox over its quota, a report to an alias's targets, and one to a
 * sender of another domain, which stays queued for the outbound side.
 * The failure of a remote recipient recorded without its report (a crash
 * between the two): reported once by queue_report_unreported, with the
 * status, server and reply the failure recorded, never for a message in
 * flight. And the SRS key the queue keeps (queue-srs.c) and its sender rewriting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "core/log.h"
#include "mail/mail-srs.h"
#include "queue-harness.h"
#include "queue/queue-db.h"
#include "queue/queue-private.h"

static const char t_text[] =
	"Received: from client.example by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"Subject: hello\r\n"
	"\r\n"
	"the body of it\r\n";

static int setup(void **state)
{
	return qh_state_setup(state, "queue-report", false);
}

static int setup_open(void **state)
{
	return qh_state_setup(state, "queue-report", true);
}

static int teardown(void **state)
{
	return qh_state_teardown(state);
}

/* The messages in an account's INBOX, waiting until there are `n`. */
static size_t t_inbox_wait(struct qh *h, const char *address, char **texts, size_t n)
{
	for (unsigned waited = 0; waited < QH_WAIT_MS; waited += 10) {
		if (qh_inbox_count(h, address) >= n)
			break;
		qh_sleep_ms(10);
	}
	return qh_inbox(h, address, texts, n);
}

static void t_free(char **texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
}

struct t_count {
	size_t messages, rcpts;
	bool remote_queued;
};

static void t_count_cb(void *ctx, const struct queue_list_message *msg)
{
	struct t_count *c = ctx;

	c->messages++;
	c->rcpts += msg->n_rcpts;
	for (size_t i = 0; i < msg->n_rcpts; i++)
		if (!msg->rcpts[i].local && msg->rcpts[i].state == QUEUE_STATE_QUEUED &&
		    strcmp(msg->sender, "") == 0)
			c->remote_queued = true;
}

static struct t_count t_count(struct qh *h)
{
	struct t_count c = { .messages = 0 };
	char *error = NULL;

	assert_int_equal(queue_list(h->data, t_count_cb, &c, &error), 0);
	return c;
}

static void test_failed(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "ghost@example.org", .local = true },
		{ .address = QH_BOB, .local = true },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char *texts[1];

	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(t_inbox_wait(h, QH_ALICE, texts, 1), 1);
	assert_non_null(strstr(texts[0], "Return-Path: <>\r\n"));
	assert_non_null(strstr(texts[0], "To: <alice@example.org>\r\n"));
	assert_non_null(strstr(texts[0], "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(texts[0], "Final-Recipient: rfc822; ghost@example.org\r\n"
					 "Action: failed\r\nStatus: 5.1.1\r\n"
					 "Diagnostic-Code: X-tern; no such account\r\n"));
	/* bob was delivered: not in a failure report */
	assert_null(strstr(texts[0], "bob@example.org"));
	/* no RET: the whole message, without the queue's Return-Path */
	assert_non_null(strstr(texts[0], "Content-Type: message/rfc822\r\n\r\n"
					 "Received: from client.example"));
	assert_non_null(strstr(texts[0], "the body of it\r\n"));
	t_free(texts, 1);
	/* both messages done with */
	assert_true(qh_wait_finished(h, 2));
	assert_int_equal(t_count(h).messages, 0);
}

static void test_success(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = QH_BOB, .local = true, .orcpt = "rfc822;Bob@Example.org",
		  .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE },
		{ .address = QH_CAROL, .local = true },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 2);
	char *texts[1];

	env.envid = "ENV-42";
	env.ret = QUEUE_RET_FULL;
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(t_inbox_wait(h, QH_ALICE, texts, 1), 1);
	/* RFC 3461 5.2.3: delivered, for the recipient that asked alone */
	assert_non_null(strstr(texts[0], "Subject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(texts[0], "Original-Envelope-Id: ENV-42\r\n"));
	assert_non_null(strstr(texts[0], "Original-Recipient: rfc822;Bob@Example.org\r\n"
					 "Final-Recipient: rfc822; bob@example.org\r\n"
					 "Action: delivered\r\nStatus: 2.0.0\r\n"));
	assert_null(strstr(texts[0], "carol"));
	/* RFC 3461 4.3: a success returns the header alone, FULL or not */
	assert_non_null(strstr(texts[0], "Content-Type: text/rfc822-headers\r\n"));
	assert_null(strstr(texts[0], "the body of it"));
	t_free(texts, 1);
	assert_true(qh_wait_finished(h, 2));
	assert_int_equal(qh_inbox_count(h, QH_BOB), 1);
	assert_int_equal(qh_inbox_count(h, QH_CAROL), 1);
}

static void test_no_report(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt never[] = {
		{ .address = "ghost@example.org", .local = true, .notify = QUEUE_NOTIFY_NEVER },
	};
	const struct queue_rcpt ghost[] = { { .address = "ghost@example.org", .local = true } };
	struct queue_envelope env = QH_ENVELOPE(never, 1);

	/* NOTIFY=NEVER, and a message from <> (RFC 3461 6.2): no report, and
	 * the message leaves the queue */
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	env = QH_ENVELOPE(ghost, 1);
	env.sender = "";
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_true(qh_wait_finished(h, 2));
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 0);
	assert_int_equal(t_count(h).messages, 0);
}

static void test_delay_then_expiry(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = { { .address = QH_CAROL, .local = true } };
	struct queue_envelope env = QH_ENVELOPE(rcpts, 1);
	char *texts[2];

	qh_config(h, "[queue]\nretry_first = 1\nretry_max = 1\ndelay_warning = 1\nlifetime = 3\n");
	qh_open(h);
	assert_int_equal(dir_user_set_quota(h->dir, QH_CAROL, 1), DIR_OK);
	env.ret = QUEUE_RET_HDRS;
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(t_inbox_wait(h, QH_ALICE, texts, 2), 2);
	/* one warning, however many tries were late */
	assert_non_null(strstr(texts[0], "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(texts[0], "Action: delayed\r\nStatus: 4.2.2\r\n"
					 "Diagnostic-Code: X-tern; mailbox over quota\r\n"));
	assert_non_null(strstr(texts[0], "Will-Retry-Until: "));
	assert_non_null(strstr(texts[1], "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(texts[1], "Action: failed\r\nStatus: 4.2.2\r\n"
					 "Diagnostic-Code: X-tern; mailbox over quota (given up after"));
	/* RET=HDRS */
	assert_non_null(strstr(texts[1], "Content-Type: text/rfc822-headers\r\n"));
	assert_null(strstr(texts[1], "the body of it"));
	t_free(texts, 2);
	assert_true(qh_wait_finished(h, 3));
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 2);
	assert_int_equal(qh_inbox_count(h, QH_CAROL), 0);
	assert_int_equal(t_count(h).messages, 0);
}

static void test_alias_and_remote_sender(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = { { .address = "ghost@example.org", .local = true } };
	struct queue_envelope env = QH_ENVELOPE(rcpts, 1);
	char *texts[1];
	struct t_count c;

	/* a sender that is an alias: its targets get the report */
	assert_int_equal(dir_alias_add(h->dir, "team@example.org", "bob@example.org"), DIR_OK);
	env.sender = "team@example.org";
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(t_inbox_wait(h, QH_BOB, texts, 1), 1);
	assert_non_null(strstr(texts[0], "To: <team@example.org>\r\n"));
	t_free(texts, 1);
	/* a sender of another domain: the report waits for outbound delivery */
	env.sender = "someone@remote.example";
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	for (unsigned waited = 0; waited < QH_WAIT_MS; waited += 10) {
		c = t_count(h);
		if (c.remote_queued && c.messages == 1)
			break;
		qh_sleep_ms(10);
	}
	assert_true(c.remote_queued);
	assert_int_equal(c.messages, 1);
}

/* The id of the one message in the queue. */
static void t_only_id(void *ctx, const struct queue_list_message *msg)
{
	snprintf(ctx, QUEUE_ID_LEN + 1, "%s", msg->id);
}

static void test_remote_failure_unreported(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "someone@remote.example", .local = false,
		  .orcpt = "rfc822;Someone@remote.example" },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 1);
	char id[QUEUE_ID_LEN + 1] = "", *texts[2], *error = NULL;
	struct queue_db_result res;
	int64_t next = 0;

	/* no relay runs here: the remote recipient stays queued */
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(queue_list(h->data, t_only_id, id, &error), 0);
	assert_int_equal(strlen(id), QUEUE_ID_LEN);
	/* the relay recorded the server's 550 and died before the report */
	res = (struct queue_db_result){
		.id = id,
		.idx = 0,
		.state = QUEUE_STATE_FAILED,
		.error = "550 5.1.1 no such user here",
		.arrival = queue_now(),
		.status = "5.1.1",
		.remote_mta = "mx.remote.example",
		.remote = true,
	};
	assert_int_equal(queue_db_record(h->queue->db, &res, 1, queue_now(), &h->queue->schedule,
					 &next), DB_OK);
	/* in flight: its own try reports it, the scan leaves it */
	assert_int_equal(queue_report_unreported(h->queue, false, INT64_MAX,
						 (const char (*)[QUEUE_ID_LEN + 1])id, 1), 0);
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 0);
	/* local recipients only: not this one */
	assert_int_equal(queue_report_unreported(h->queue, true, INT64_MAX, NULL, 0), 0);
	assert_int_equal(qh_inbox_count(h, QH_ALICE), 0);
	assert_int_equal(queue_report_unreported(h->queue, false, INT64_MAX, NULL, 0), 0);
	assert_int_equal(t_inbox_wait(h, QH_ALICE, texts, 1), 1);
	assert_non_null(strstr(texts[0], "Original-Recipient: rfc822;Someone@remote.example\r\n"
					 "Final-Recipient: rfc822; someone@remote.example\r\n"
					 "Action: failed\r\nStatus: 5.1.1\r\n"
					 "Remote-MTA: dns; mx.remote.example\r\n"
					 "Diagnostic-Code: smtp; 550 5.1.1 no such user here\r\n"));
	t_free(texts, 1);
	/* marked: a second scan reports nothing, and the message is done */
	assert_int_equal(queue_report_unreported(h->queue, false, INT64_MAX, NULL, 0), 0);
	/* (the report itself leaves once its delivery is recorded) */
	for (unsigned waited = 0; waited < QH_WAIT_MS && t_count(h).messages > 0; waited += 10)
		qh_sleep_ms(10);
	assert_int_equal(t_count(h).messages, 0);
	assert_int_equal(qh_inbox(h, QH_ALICE, texts, 2), 1);
	t_free(texts, 1);
}

/* queue_db_record says when a message has no recipient left to try, for
 * the delivery that then finishes it without asking again. */
static void test_record_none_left(void **state)
{
	struct qh *h = *state;
	const struct queue_rcpt rcpts[] = {
		{ .address = "one@remote.example", .local = false },
		{ .address = "two@remote.example", .local = false },
		{ .address = "three@remote.example", .local = false },
	};
	struct queue_envelope env = QH_ENVELOPE(rcpts, 3);
	char id[QUEUE_ID_LEN + 1] = "", *error = NULL;
	struct queue_db_result res[2];
	int64_t next = 0;

	/* no relay runs here: the recipients stay queued */
	assert_int_equal(qh_send(h->queue, &env, t_text, NULL), QUEUE_OK);
	assert_int_equal(queue_list(h->data, t_only_id, id, &error), 0);
	for (unsigned i = 0; i < 2; i++)
		res[i] = (struct queue_db_result){ .id = id, .idx = i, .arrival = queue_now(),
						   .state = QUEUE_STATE_DELIVERED, .none_left = true };
	/* the first delivered, the second failed: two left to try */
	res[1].state = QUEUE_STATE_FAILED;
	res[1].error = "550 5.1.1 no such user here";
	assert_int_equal(queue_db_record(h->queue->db, res, 2, queue_now(), &h->queue->schedule,
					 &next), DB_OK);
	assert_false(res[0].none_left);
	assert_false(res[1].none_left);
	/* the other two delivered in one batch: the earlier result of the
	 * batch sees the later one */
	res[0].idx = 1;
	res[1] = (struct queue_db_result){ .id = id, .idx = 2, .arrival = queue_now(),
					   .state = QUEUE_STATE_DELIVERED };
	assert_int_equal(queue_db_record(h->queue->db, res, 2, queue_now(), &h->queue->schedule,
					 &next), DB_OK);
	assert_true(res[0].none_left);
	assert_true(res[1].none_left);
}

static void test_srs_key(void **state)
{
	struct qh *h = *state;
	char path[4096], first[MAIL_SRS_ADDRESS_MAX + 1], out[MAIL_SRS_ADDRESS_MAX + 1];
	char *error = NULL;
	struct stat st;
	int fd;

	/* made on the first start, 0600, 64 hex digits and a line end */
	qh_open(h);
	snprintf(path, sizeof(path), "%s/srs.key", h->data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_non_null(queue_srs(h->queue));
	assert_int_equal(queue_srs_sender(h->queue, "someone@remote.example", first), MAIL_SRS_OK);
	assert_int_equal(strncmp(first, "SRS0=", 5), 0);
	assert_non_null(strstr(first, "=remote.example=someone@"));
	/* a local sender and the null sender are not rewritten */
	assert_int_equal(queue_srs_sender(h->queue, QH_ALICE, out), MAIL_SRS_OK);
	assert_string_equal(out, QH_ALICE);
	assert_int_equal(queue_srs_sender(h->queue, "", out), MAIL_SRS_OK);
	assert_string_equal(out, "");
	/* a local domain in any case */
	assert_int_equal(queue_srs_sender(h->queue, "alice@EXAMPLE.org", out), MAIL_SRS_OK);
	assert_string_equal(out, "alice@EXAMPLE.org");
	/* what an SRS local part cannot carry stays a valid mailbox, as it is */
	assert_int_equal(queue_srs_sender(h->queue, "\"john doe\"@remote.example", out),
			 MAIL_SRS_OK);
	assert_string_equal(out, "\"john doe\"@remote.example");
	assert_int_equal(queue_srs_sender(h->queue, "someone@[192.0.2.1]", out), MAIL_SRS_OK);
	assert_string_equal(out, "someone@[192.0.2.1]");
	/* an SMTPUTF8 local part is a Dot-string (RFC 6531 3.3) */
	assert_int_equal(queue_srs_sender(h->queue, "j\xc3\xb6rg@remote.example", out), MAIL_SRS_OK);
	assert_non_null(strstr(out, "=remote.example=j\xc3\xb6rg@"));
	/* another forwarder's SRS0: SRS1 naming it */
	assert_int_equal(queue_srs_sender(h->queue, "SRS0=abcdef=AB=orig.example=x@fwd.example", out),
			 MAIL_SRS_OK);
	assert_int_equal(strncmp(out, "SRS1=", 5), 0);
	assert_non_null(strstr(out, "=fwd.example==abcdef=AB=orig.example=x@"));
	/* the same key after a restart: the same address, and it decodes */
	qh_close(h);
	chmod(path, 0644);
	qh_open(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(queue_srs_sender(h->queue, "someone@remote.example", out), MAIL_SRS_OK);
	assert_string_equal(out, first);
	assert_int_equal(mail_srs_reverse(queue_srs(h->queue), out, strlen(out), time(NULL), first),
			 MAIL_SRS_OK);
	assert_string_equal(first, "someone@remote.example");
	qh_close(h);
	/* a broken key: the queue does not open, and says which file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a key\n", 10), 10);
	close(fd);
	assert_int_equal(queue_open(&h->cfg, h->root, h->dir, &h->queue, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "srs.key"));
	free(error);
	/* off: no key needed, nothing rewritten */
	qh_config(h, "[queue]\nsrs = no\n");
	qh_open(h);
	assert_null(queue_srs(h->queue));
	assert_int_equal(queue_srs_sender(h->queue, "someone@remote.example", out), MAIL_SRS_OK);
	assert_string_equal(out, "someone@remote.example");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_success, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_no_report, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_delay_then_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_and_remote_sender, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_remote_failure_unreported, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_record_none_left, setup_open, teardown),
		cmocka_unit_test_setup_teardown(test_srs_key, setup, teardown),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
