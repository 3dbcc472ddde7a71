/* cmd-append - APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502) and
 * APPENDUID (RFC 4315): each message literal is streamed from the input
 * buffer into store_append_begin/write in jobs, bare LF line ends made
 * CRLF on the way (eM Client sends them; the store serves what it holds,
 * so sizes and sections stay consistent). Nothing is committed before the
 * whole command has arrived, then all messages are, or none: a client
 * that disconnects in a literal leaves nothing behind, and the OK comes
 * only once every message is durable (the store's rule). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/dir.h"
#include "imap/imap-commands.h"
#include "imap/imap-date.h"
#include "imap/imap-flags.h"
#include "imap/imap-seqset.h"

/* Messages of one MULTIAPPEND: each holds an open file until the end. */
#define IMAP_APPEND_MESSAGES_MAX 100
/* Bytes taken from the input and written to the store per job. */
#define IMAP_APPEND_CHUNK (256u * 1024)

struct imap_append_msg {
	struct store_append *ap;
	unsigned flags;
	char *keywords;
	int64_t date;
	uint32_t uid;
};

struct imap_append {
	char *mailbox;                  /* UTF-8 */
	struct imap_append_msg *msgs;
	size_t n;
	size_t args_used;               /* arguments before the current message's */
	/* the literal being read */
	bool in_literal;
	bool discard;                   /* refused: read and dropped (non-synchronizing) */
	bool binary;                    /* literal8: written as sent */
	bool prev_cr;
	uint64_t left;
	uint64_t bytes;                 /* of the literals so far, for the quota */
	struct buf chunk;               /* converted bytes for the next write */
	/* the first failure; the command's reply */
	enum imap_status status;        /* IMAP_OK while none */
	enum store_error error;         /* NO: the store's */
	const char *why;                /* BAD: the syntax */
	uint32_t uidvalidity;
};

static void imap_append_abort_all(struct imap_append *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->msgs[i].ap != NULL)
			store_append_abort(&a->msgs[i].ap);
}

static void imap_append_release(struct imap_append *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->msgs[i].keywords);
	free(a->msgs);
	buf_release(&a->chunk);
	free(a->mailbox);
	free(a);
}

static void imap_append_abort_work(void *arg)
{
	struct imap_append *a = arg;

	imap_append_abort_all(a);
	imap_append_release(a);
}

static void imap_append_free(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;
	bool open = false;

	cmd->ctx = NULL;
	for (size_t i = 0; i < a->n; i++)
		open |= a->msgs[i].ap != NULL;
	if (open && conn_is_closing(cmd->s->conn)) {
		/* the client went in the middle: the partial files go, off
		 * the loop */
		conn_job_after_close(cmd->s->conn, imap_append_abort_work, a);
		return;
	}
	imap_append_abort_work(a);
}

uint64_t cmd_append_stream_max(const struct imap_session *s)
{
	uint64_t max = s->cfg->limits.message_size;

	return max != 0 ? max : UINT64_MAX;
}

/* Record the first failure; later messages are read and dropped. */
static void imap_append_failed(struct imap_append *a, enum imap_status status,
			       enum store_error error, const char *why)
{
	if (a->status != IMAP_OK)
		return;
	a->status = status;
	a->error = error;
	a->why = why;
}

static void imap_append_reply_failure(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;

	if (a->status == IMAP_BAD)
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", a->why);
	else if (a->why != NULL)
		imap_cmd_done(cmd, IMAP_NO, "LIMIT", "%s", a->why);
	else
		imap_cmd_fail(cmd, a->error, true, "append");
}

/* The arguments of the message whose literal starts now: [flags]
 * [date-time] before it (RFC 9051 9 append-message; the first message
 * has the mailbox before them). */
static void imap_append_args(struct imap_cmd *cmd, struct imap_append *a)
{
	const struct imap_arg *args = cmd->args + a->args_used;
	size_t n = cmd->n_args - a->args_used;
	struct imap_append_msg msg = { 0 };
	const char *why = NULL;

	a->args_used = cmd->n_args;
	if (a->mailbox == NULL) {
		if (n < 2 || (a->mailbox = imap_mailbox_from_client(cmd->s, &args[0])) == NULL) {
			imap_append_failed(a, IMAP_BAD, STORE_OK, "APPEND needs a valid mailbox name");
			return;
		}
		args++;
		n--;
	}
	/* the last argument is the literal itself */
	n--;
	if (n > 0 && args[0].type == IMAP_ARG_LIST) {
		/* the flag list as STORE FLAGS reads it: one reader for both */
		struct imap_arg item[2] = {
			{ .type = IMAP_ARG_ATOM, .str = "FLAGS", .len = 5 },
			args[0],
		};
		struct imap_store_args flags;
		enum imap_store_parse r = imap_store_args_parse(item, 2, &flags, &why);

		if (r == IMAP_STORE_PARSE_OK) {
			msg.flags = flags.flags;
			if (flags.keywords.len > 0 &&
			    (msg.keywords = strndup(flags.keywords.data, flags.keywords.len)) == NULL)
				abort();
		}
		imap_store_args_free(&flags);
		if (r != IMAP_STORE_PARSE_OK) {
			imap_append_failed(a, r == IMAP_STORE_PARSE_LIMIT ? IMAP_NO : IMAP_BAD,
					   STORE_OK, why);
			return;
		}
		args++;
		n--;
	}
	if (n > 0) {
		const char *date = imap_arg_string(&args[0]);

		if (n > 1 || date == NULL || !imap_date_time_parse(date, args[0].len, &msg.date)) {
			free(msg.keywords);
			imap_append_failed(a, IMAP_BAD, STORE_OK, "Invalid APPEND arguments");
			return;
		}
	}
	if (a->n >= IMAP_APPEND_MESSAGES_MAX) {
		free(msg.keywords);
		imap_append_failed(a, IMAP_NO, STORE_OK, "Too many messages in one APPEND");
		return;
	}
	a->msgs = reallocarray(a->msgs, a->n + 1, sizeof(*a->msgs));
	if (a->msgs == NULL)
		abort();
	a->msgs[a->n++] = msg;
}

static void imap_append_read(struct imap_cmd *cmd);

/* Job: the bytes converted so far to the current message's file. */
static void imap_append_write_work(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;
	struct imap_append_msg *msg = &a->msgs[a->n - 1];
	enum store_error err = store_append_write(msg->ap, a->chunk.data, a->chunk.len);

	if (err != STORE_OK)
		imap_append_failed(a, IMAP_NO, err, NULL);
}

static void imap_append_written(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;

	buf_reset(&a->chunk);
	if (a->status != IMAP_OK)
		a->discard = true;
	imap_append_read(cmd);
}

/* Take what is buffered of the literal; write it out in chunks; at its
 * end hand the command back to the parser. */
static void imap_append_read(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_append *a = cmd->ctx;
	struct buf *in = conn_input(s->conn);
	size_t take = in->len < a->left ? in->len : (size_t)a->left;

	if (conn_is_closing(s->conn))
		return;
	if (a->discard) {
		buf_consume(in, take);
		a->left -= take;
	} else {
		size_t room = IMAP_APPEND_CHUNK - a->chunk.len;
		const char *p = in->data, *end;

		if (take > room)
			take = room;
		end = p + take;
		/* RFC 9051 4.3: a message's lines end in CRLF; a bare LF gets
		 * its CR (a literal8 is binary: written as sent) */
		while (p < end) {
			const char *lf = a->binary ? NULL : memchr(p, '\n', (size_t)(end - p));
			size_t run = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

			buf_append(&a->chunk, p, run);
			if (run > 0)
				a->prev_cr = p[run - 1] == '\r';
			p += run;
			if (lf == NULL)
				break;
			buf_append(&a->chunk, a->prev_cr ? "\n" : "\r\n", a->prev_cr ? 1 : 2);
			a->prev_cr = false;
			p++;
		}
		buf_consume(in, take);
		a->left -= take;
		if (a->chunk.len >= IMAP_APPEND_CHUNK || (a->left == 0 && a->chunk.len > 0)) {
			imap_cmd_job(cmd, imap_append_write_work, imap_append_written);
			return;
		}
	}
	if (a->left > 0)
		return;   /* more arrives: the session calls the stream again */
	a->in_literal = false;
	conn_set_input_max(s->conn, s->cfg->imap.conn.line_length);
	imap_cmd_stream_end(cmd);
}

/* Job: the new message's file (store_append_begin checks the mailbox and
 * the free-space floor), once the account's quota has room for every
 * literal of the command (RFC 9051 7.1: OVERQUOTA, as SMTP's 452 4.2.2). */
static void imap_append_begin_work(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_append *a = cmd->ctx;
	struct dir_delivery info;
	enum store_error err = STORE_OK;

	a->bytes += a->left;
	if (dir_delivery_lookup(s->ctx->dir, s->address, &info) == DIR_OK) {
		err = store_account_room(s->acct, info.quota, a->bytes);
		dir_delivery_free(&info);
	}
	if (err == STORE_OK)
		err = store_append_begin(s->acct, a->mailbox, &a->msgs[a->n - 1].ap);
	if (err != STORE_OK)
		imap_append_failed(a, IMAP_NO, err, NULL);
}

/* Job: abort what was written, after a failure. */
static void imap_append_abort_job(struct imap_cmd *cmd)
{
	imap_append_abort_all(cmd->ctx);
}

static void imap_append_literal(struct imap_cmd *cmd, bool sync)
{
	struct imap_append *a = cmd->ctx;

	if (a->status != IMAP_OK) {
		if (sync) {
			/* RFC 9051 7.5: refused before the "+ ", the client
			 * sends no bytes; the rest of the command never comes */
			imap_cmd_job(cmd, imap_append_abort_job, imap_append_reply_failure);
			return;
		}
		/* RFC 7888 4: a non-synchronizing literal is read anyway */
		a->discard = true;
	} else if (sync) {
		imap_continue(cmd->s, "Ready for literal data");
	}
	imap_append_read(cmd);
}

static void imap_append_begun(struct imap_cmd *cmd)
{
	imap_append_literal(cmd, imap_parser_stream_sync(cmd->s->parser));
}

void cmd_append_stream(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_append *a = cmd->ctx;

	if (a == NULL) {
		a = calloc(1, sizeof(*a));
		if (a == NULL)
			abort();
		buf_init(&a->chunk, 0);
		cmd->ctx = a;
		cmd->free_ctx = imap_append_free;
	}
	if (a->in_literal) {
		imap_append_read(cmd);
		return;
	}
	a->in_literal = true;
	a->discard = false;
	a->prev_cr = false;
	a->left = imap_parser_stream_size(s->parser);
	a->binary = imap_parser_stream_literal8(s->parser);
	/* the literal's bytes come in larger pieces than command lines */
	conn_set_input_max(s->conn, IMAP_APPEND_CHUNK);
	if (a->status == IMAP_OK)
		imap_append_args(cmd, a);
	if (a->status != IMAP_OK) {
		imap_append_literal(cmd, imap_parser_stream_sync(s->parser));
		return;
	}
	imap_cmd_job(cmd, imap_append_begin_work, imap_append_begun);
}

/* Job: every message committed, or none (RFC 3502 6). */
static void imap_append_commit_work(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;
	struct store_mailbox box = { 0 };
	struct store_mailbox_ref ref;
	enum store_error err = STORE_OK;
	size_t i, committed = 0;

	for (i = 0; i < a->n && err == STORE_OK; i++) {
		struct imap_append_msg *m = &a->msgs[i];

		err = store_append_commit(&m->ap, m->flags, m->keywords, m->date, &m->uid);
		if (err == STORE_OK)
			committed++;
	}
	if (store_mailbox_get(cmd->s->acct, a->mailbox, &box) == STORE_OK) {
		a->uidvalidity = box.uidvalidity;
		ref = (struct store_mailbox_ref){ box.id, box.uidvalidity };
		store_mailbox_free(&box);
	} else {
		ref = (struct store_mailbox_ref){ 0, 0 };
	}
	if (err == STORE_OK)
		return;
	imap_append_abort_all(a);
	if (committed > 0 && ref.id != 0) {
		uint32_t *uids = calloc(committed, sizeof(*uids));

		if (uids == NULL)
			abort();
		for (i = 0; i < committed; i++)
			uids[i] = a->msgs[i].uid;
		/* what went in before the failure goes out again */
		store_expunge(cmd->s->acct, &ref, uids, committed);
		free(uids);
	}
	imap_append_failed(a, IMAP_NO, err, NULL);
}

static void imap_append_committed(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;
	struct buf code;
	uint32_t *uids;

	if (a->status != IMAP_OK) {
		imap_append_reply_failure(cmd);
		return;
	}
	/* RFC 4315 3: APPENDUID uidvalidity uid-set, in the order sent
	 * (committed in that order: the UIDs ascend) */
	uids = malloc(a->n * sizeof(*uids));
	if (uids == NULL)
		abort();
	for (size_t i = 0; i < a->n; i++)
		uids[i] = a->msgs[i].uid;
	buf_init(&code, 0);
	imap_seqset_write(&code, uids, a->n);
	free(uids);
	if (a->uidvalidity != 0) {
		char *text = NULL;

		if (asprintf(&text, "APPENDUID %u %s", a->uidvalidity, code.data) < 0)
			abort();
		imap_cmd_done(cmd, IMAP_OK, text, "APPEND completed");
		free(text);
	} else {
		imap_cmd_done(cmd, IMAP_OK, NULL, "APPEND completed");
	}
	buf_release(&code);
}

void cmd_append(struct imap_cmd *cmd)
{
	struct imap_append *a = cmd->ctx;

	if (a == NULL) {
		/* no literal was streamed: the command is malformed */
		imap_cmd_done(cmd, IMAP_BAD, NULL, "APPEND needs a mailbox and a message literal");
		return;
	}
	if (cmd->malformed != NULL)
		imap_append_failed(a, IMAP_BAD, STORE_OK, cmd->malformed);
	/* arguments after the last message (RFC 3502 6: only messages) */
	else if (cmd->n_args > a->args_used)
		imap_append_failed(a, IMAP_BAD, STORE_OK, "Unexpected arguments after the message");
	if (a->status != IMAP_OK) {
		imap_cmd_job(cmd, imap_append_abort_job, imap_append_reply_failure);
		return;
	}
	imap_cmd_job(cmd, imap_append_commit_work, imap_append_committed);
}
