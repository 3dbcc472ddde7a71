/* pop3-mail - the TRANSACTION and UPDATE states (RFC 1939 5, 6): STAT,
 * LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT. LIST and UIDL are
 * written by a resumable producer that stops when the output queue is
 * full and continues from protocol->drained; RETR and TOP open the
 * message in a job and hand its file to conn_send_file with the
 * byte-stuffer as the filter, so the disk is read off the loop. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/number.h"
#include "pop3/pop3-session.h"

/* The message an argument names, or NULL after replying why not. */
static struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg)
{
	uint64_t n;

	if (!number_parse_u64(arg, strlen(arg), UINT32_MAX, &n) || n == 0) {
		pop3_reply(s, POP3_REPLY_ERR, "Invalid message number");
		return NULL;
	}
	if (n > s->n_msgs) {
		pop3_reply(s, POP3_REPLY_ERR, "No such message, only %zu messages in maildrop",
			   s->n_msgs);
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, POP3_REPLY_ERR, "Message %" PRIu64 " already deleted", n);
		return NULL;
	}
	return &s->msgs[n - 1];
}

static size_t pop3_msg_number(const struct pop3_session *s, const struct pop3_msg *m)
{
	return (size_t)(m - s->msgs) + 1;
}

/* RFC 1939 7: 1-70 characters 0x21-0x7E, the same for the same message in
 * every session: UIDVALIDITY and UID say exactly that. */
static const char *pop3_uidl(const struct pop3_session *s, const struct pop3_msg *m,
			     char buf[static 17])
{
	snprintf(buf, 17, "%08" PRIx32 "%08" PRIx32, s->inbox.uidvalidity, m->uid);
	return buf;
}

static void pop3_maildrop_totals(const struct pop3_session *s, size_t *count_r, uint64_t *size_r)
{
	size_t i;

	*count_r = 0;
	*size_r = 0;
	for (i = 0; i < s->n_msgs; i++) {
		if (!s->msgs[i].deleted) {
			(*count_r)++;
			*size_r += s->msgs[i].size;
		}
	}
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t count;
	uint64_t size;

	(void)cmd;
	pop3_maildrop_totals(s, &count, &size);
	pop3_reply(s, POP3_REPLY_OK, "%zu %" PRIu64, count, size);
}

static void pop3_producer_start(struct pop3_session *s, enum pop3_producer_kind kind)
{
	memset(&s->producer, 0, sizeof(s->producer));
	s->producer.kind = kind;
	pop3_session_wait(s);
}

static void pop3_producer_end(struct pop3_session *s)
{
	pop3_producer_free(s);
	pop3_session_continue(s);
}

void pop3_producer_free(struct pop3_session *s)
{
	if (s->producer.reader != NULL)
		store_reader_close(&s->producer.reader);
	memset(&s->producer, 0, sizeof(s->producer));
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m;
	size_t count;
	uint64_t size;

	if (cmd->argc == 1) {
		m = pop3_msg_arg(s, cmd->args[0]);
		if (m != NULL)
			pop3_reply(s, POP3_REPLY_OK, "%zu %" PRIu64, pop3_msg_number(s, m), m->size);
		return;
	}
	pop3_maildrop_totals(s, &count, &size);
	pop3_reply(s, POP3_REPLY_OK, "%zu messages (%" PRIu64 " octets)", count, size);
	pop3_producer_start(s, POP3_PRODUCER_LIST);
	pop3_producer_run(s);
}

void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m;
	char uidl[17];

	if (cmd->argc == 1) {
		m = pop3_msg_arg(s, cmd->args[0]);
		if (m != NULL)
			pop3_reply(s, POP3_REPLY_OK, "%zu %s", pop3_msg_number(s, m),
				   pop3_uidl(s, m, uidl));
		return;
	}
	pop3_reply(s, POP3_REPLY_OK, "Unique-ID listing follows");
	pop3_producer_start(s, POP3_PRODUCER_UIDL);
	pop3_producer_run(s);
}

static void pop3_conn_write(void *ctx, const void *data, size_t len)
{
	conn_write(ctx, data, len);
}

/* conn_send_file's filter: RFC 1939 3 byte-stuffing; true once TOP has
 * sent its lines. */
static bool pop3_message_filter(void *arg, const char *data, size_t len)
{
	struct pop3_session *s = arg;

	return pop3_stuff_feed(&s->producer.stuff, data, len, pop3_conn_write, s->conn);
}

static void pop3_message_sent(void *arg, enum conn_send_result result)
{
	struct pop3_session *s = arg;
	struct pop3_producer *p = &s->producer;

	if (result == CONN_SEND_OK) {
		pop3_stuff_finish(&p->stuff, pop3_conn_write, s->conn);
		pop3_producer_end(s);
		return;
	}
	if (result != CONN_SEND_CLOSED) {
		/* The +OK is out: all that is left is to hang up. */
		conn_log(s->conn, LOG_LEVEL_ERROR, "msg=\"message read failed\" uid=%" PRIu32
			 " error=%s", p->uid, conn_send_result_name(result));
		conn_close(s->conn, "message read failed");
	}
	pop3_producer_free(s);
}

/* Job: open the message file (blocking). */
static void pop3_message_open_work(void *arg)
{
	struct pop3_session *s = arg;

	s->producer.open_error = store_reader_open(s->acct, &s->inbox, s->producer.uid,
						   &s->producer.reader);
	store_release_memory(s->acct);
}

static void pop3_message_open_done(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_producer *p = &s->producer;

	if (conn_is_closing(s->conn))
		return;
	if (p->open_error != STORE_OK) {
		enum store_error error = p->open_error;
		char what[64];

		snprintf(what, sizeof(what), "store_reader_open uid=%" PRIu32 " error=%s", p->uid,
			 store_error_name(error));
		p->reader = NULL;
		pop3_producer_free(s);
		pop3_reply_failure(s, pop3_failure_from_store(error), what);
		pop3_session_continue(s);
		return;
	}
	/* RFC 1939 7: the size before byte-stuffing. */
	if (p->stuff.top)
		pop3_reply(s, POP3_REPLY_OK, "Top of message follows");
	else
		pop3_reply(s, POP3_REPLY_OK, "%" PRIu64 " octets", p->size);
	conn_send_file(s->conn, store_reader_fd(p->reader), 0, store_reader_size(p->reader),
		       pop3_message_filter, pop3_message_sent, s);
}

static void pop3_message_start(struct pop3_session *s, struct pop3_msg *m, bool top,
			       uint64_t lines)
{
	pop3_producer_start(s, POP3_PRODUCER_MESSAGE);
	s->producer.uid = m->uid;
	s->producer.size = m->size;
	pop3_stuff_init(&s->producer.stuff, top, lines);
	conn_job(s->conn, pop3_message_open_work, pop3_message_open_done, s);
}

void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0]);

	if (m == NULL)
		return;
	s->retr_count++;
	pop3_message_start(s, m, false, 0);
}

void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0]);
	uint64_t lines;

	if (m == NULL)
		return;
	if (!number_parse_u64(cmd->args[1], strlen(cmd->args[1]), UINT64_MAX, &lines)) {
		pop3_reply(s, POP3_REPLY_ERR, "Invalid number of lines");
		return;
	}
	s->top_count++;
	pop3_message_start(s, m, true, lines);
}

static void pop3_listing_run(struct pop3_session *s)
{
	struct pop3_producer *p = &s->producer;
	char uidl[17];

	while (p->next < s->n_msgs) {
		const struct pop3_msg *m = &s->msgs[p->next];

		if (conn_output_full(s->conn))
			return;
		p->next++;
		if (m->deleted)
			continue;
		if (p->kind == POP3_PRODUCER_UIDL)
			conn_printf(s->conn, "%zu %s\r\n", pop3_msg_number(s, m),
				    pop3_uidl(s, m, uidl));
		else
			conn_printf(s->conn, "%zu %" PRIu64 "\r\n", pop3_msg_number(s, m), m->size);
	}
	conn_write(s->conn, ".\r\n", 3);
	pop3_producer_end(s);
}

void pop3_producer_run(struct pop3_session *s)
{
	/* A message is produced by the core (conn_send_file). */
	if (conn_is_closing(s->conn) || s->producer.kind == POP3_PRODUCER_MESSAGE)
		return;
	if (s->producer.kind != POP3_PRODUCER_NONE)
		pop3_listing_run(s);
}

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0]);

	if (m == NULL)
		return;
	/* RFC 1939 5: only marked; removed in the UPDATE state. */
	m->deleted = true;
	pop3_reply(s, POP3_REPLY_OK, "Message %zu deleted", pop3_msg_number(s, m));
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t i, count;
	uint64_t size;

	(void)cmd;
	for (i = 0; i < s->n_msgs; i++)
		s->msgs[i].deleted = false;
	pop3_maildrop_totals(s, &count, &size);
	pop3_reply(s, POP3_REPLY_OK, "Maildrop has %zu messages (%" PRIu64 " octets)", count, size);
}

void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_reply(s, POP3_REPLY_OK, "Nothing happens");
}

/* Job: the UPDATE state's removal, durable before the +OK; the maildrop
 * is released here too, before the reply, so that a client that logs in
 * again right after QUIT does not find it still locked. */
static void pop3_update_work(void *arg)
{
	struct pop3_session *s = arg;

	s->expunge_error = s->n_expunge == 0 ? STORE_OK :
		store_expunge(s->acct, &s->inbox, s->expunge_uids, s->n_expunge);
	store_account_put(&s->acct);
	store_unlock(&s->lock);
}

static void pop3_update_done(void *arg)
{
	struct pop3_session *s = arg;

	if (s->expunge_error == STORE_OK && s->n_expunge == 0) {
		pop3_reply(s, POP3_REPLY_OK, "Bye");
	} else if (s->expunge_error == STORE_OK) {
		s->dele_count = (unsigned)s->n_expunge;
		pop3_reply(s, POP3_REPLY_OK, "Bye, %zu messages deleted", s->n_expunge);
	} else {
		/* RFC 1939 6: -ERR when some deleted messages were not removed. */
		char what[64];
		snprintf(what, sizeof(what), "store_expunge error=%s",
			 store_error_name(s->expunge_error));
		pop3_reply_failure(s, pop3_failure_from_store(s->expunge_error), what);
	}
	conn_close(s->conn, "QUIT");
}

void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t i;

	(void)cmd;
	if (s->state == POP3_STATE_AUTHORIZATION) {
		pop3_reply(s, POP3_REPLY_OK, "Bye");
		conn_close(s->conn, "QUIT");
		return;
	}
	s->state = POP3_STATE_UPDATE;
	for (i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].deleted)
			s->n_expunge++;
	}
	if (s->n_expunge > 0) {
		s->expunge_uids = calloc(s->n_expunge, sizeof(*s->expunge_uids));
		if (s->expunge_uids == NULL)
			abort();
	}
	s->n_expunge = 0;
	for (i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].deleted)
			s->expunge_uids[s->n_expunge++] = s->msgs[i].uid;
	}
	pop3_session_wait(s);
	conn_job(s->conn, pop3_update_work, pop3_update_done, s);
}
