/* smtp-receive - the message of a transaction, from DATA (RFC 5321
 * 4.1.1.4) or BDAT (RFC 3030) to the queue: the client's bytes go through
 * smtp-data's strict reader only (dot-unstuffing, CRLF.CRLF, the bare
 * CR/LF rule), into the queue message after tern's Received header,
 * flushed to the queue's temporary file by jobs whenever its memory part
 * is full, so a message of any size costs a bounded buffer. The Received
 * fields of the header are counted on the way ([smtp] max_received). At
 * the end the message is committed and the session waits (conn_await)
 * for the group commit: 250 only once it is on stable storage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp/smtp-received.h"
#include "smtp/smtp-session.h"

/* The Received counter reads names only. */
#define SMTP_FIELD_KEEP 64

static const struct smtp_status smtp_status_sequence = { 503, "5.5.1", "Bad sequence of commands" };
static const struct smtp_status smtp_status_no_rcpts = { 554, "5.5.1", "No valid recipients" };

/* ---- the message ---- */

/* The reader's output: counted, then added to the queue message. */
static void smtp_receive_output(void *ctx, uint64_t offset, const char *data, size_t len)
{
	struct smtp_session *s = ctx;
	struct smtp_txn *txn = &s->txn;

	(void)offset;
	if (!txn->header_done)
		txn->header_done = !mail_header_counter_push(&txn->received, data, len);
	if (txn->dkim != NULL)
		dkim_signer_feed(txn->dkim, data, len);
	if (txn->msg != NULL && txn->queue_error == QUEUE_OK && queue_msg_add(txn->msg, data, len))
		txn->flush_due = true;
}

/* Tern's own header: the Received field (smtp-received.h). */
static bool smtp_receive_trace(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;
	struct smtp_received r = {
		.helo = s->helo,
		.client_ip = conn_remote_ip(s->conn),
		.hostname = smtp_session_hostname(s),
		.protocol = smtp_received_protocol(s->esmtp, conn_is_tls(s->conn),
						   s->auth_user != NULL, txn->smtputf8),
		.tls_version = conn_tls_version(s->conn),
		.tls_cipher = conn_tls_cipher(s->conn),
		.id = txn->id,
		.for_rcpt = txn->rcpts_accepted == 1 ? txn->first_rcpt : NULL,
		.when = time(NULL),
	};
	struct buf trace;
	bool ok;

	if (s->ctx->service == SMTP_SERVICE_LOCAL) {
		r.local_user = s->local_user;
		r.local_uid = s->local_uid;
		r.protocol = NULL;
	}
	buf_init(&trace, SMTP_RECEIVED_MAX);
	ok = smtp_received_write(&r, &trace) == 0;
	if (ok && queue_msg_add(txn->msg, trace.data, trace.len))
		txn->flush_due = true;
	buf_release(&trace);
	return ok;
}

/* Start the queue message of the transaction. False when the queue
 * cannot take it now (the reply is the caller's). */
static bool smtp_receive_begin(struct smtp_session *s, enum smtp_data_mode mode)
{
	struct smtp_txn *txn = &s->txn;
	const struct mail_header_limits limits = {
		.max_header = (size_t)s->cfg->limits.message_size,
		.max_field = SMTP_FIELD_KEEP,
	};
	struct queue_envelope env;
	struct queue_rcpt *rcpts;

	smtp_txn_envelope(s, &env, &rcpts);
	txn->msg = queue_msg_begin(s->ctx->queue, &env);
	free(rcpts);
	if (txn->msg == NULL)
		return false;
	snprintf(txn->id, sizeof(txn->id), "%s", queue_msg_id(txn->msg));
	if (!smtp_receive_trace(s)) {
		conn_log(s->conn, LOG_LEVEL_ERROR, "msg=\"Received header does not fit\"");
		txn->queue_error = QUEUE_ERR_IO;
	}
	smtp_data_init(&txn->reader, mode, s->cfg->limits.message_size, smtp_receive_output, s);
	txn->dkim = smtp_sign_begin(s);
	mail_header_counter_init(&txn->received, &limits, "Received");
	return true;
}

static enum smtp_fail smtp_receive_begin_fail(const struct smtp_session *s)
{
	return queue_has_space(s->ctx->queue) ? SMTP_FAIL_TEMP : SMTP_FAIL_NO_SPACE;
}

/* ---- flushing the memory part ---- */

struct smtp_flush {
	struct smtp_session *s;
	enum queue_error error;
	void (*then)(struct smtp_session *s);
};

static void smtp_flush_work(void *arg)
{
	struct smtp_flush *f = arg;

	f->error = queue_msg_flush(f->s->txn.msg);
}

static void smtp_flush_done(void *arg)
{
	struct smtp_flush *f = arg;
	struct smtp_session *s = f->s;
	void (*then)(struct smtp_session *s) = f->then;

	if (f->error != QUEUE_OK && s->txn.queue_error == QUEUE_OK) {
		conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"queue flush failed\" id=%s error=%s",
			 s->txn.id, queue_error_name(f->error));
		s->txn.queue_error = f->error;
	}
	free(f);
	if (conn_is_closing(s->conn))
		return;
	smtp_session_continue(s);
	if (then != NULL)
		then(s);
}

/* Move the message's memory part to its file in a job; then(s), when
 * not NULL, runs after it. */
static void smtp_receive_flush(struct smtp_session *s, void (*then)(struct smtp_session *s))
{
	struct smtp_flush *f = calloc(1, sizeof(*f));

	if (f == NULL)
		abort();
	f->s = s;
	f->then = then;
	s->txn.flush_due = false;
	smtp_session_wait(s);
	conn_job(s->conn, smtp_flush_work, smtp_flush_done, f);
}

/* ---- the end of the message ---- */

static void smtp_receive_refused(struct smtp_session *s)
{
	smtp_reply_status(s, s->outcome, NULL);
	s->outcome = NULL;
}

/* Give the message up with this reply; the transaction ends. */
static void smtp_receive_refuse(struct smtp_session *s, const struct smtp_status *status)
{
	s->outcome = status;
	smtp_txn_reset(s, smtp_receive_refused);
}

static void smtp_receive_queued(void *arg, enum queue_error error)
{
	struct smtp_session *s = arg;

	/* A queue thread: the loop reads it after conn_await_done. */
	s->txn.committed = error;
	conn_await_done(s->txn.await);
}

static void smtp_receive_committed(void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_txn *txn = &s->txn;
	char sender[300];

	if (conn_is_closing(s->conn))
		return;
	if (txn->committed == QUEUE_OK) {
		s->messages++;
		s->junk = 0;
		conn_log(s->conn, LOG_LEVEL_INFO,
			 "msg=\"queued\" id=%s from=<%s> rcpts=%zu size=%" PRIu64 " via=%s", txn->id,
			 log_escape(sender, sizeof(sender), txn->sender, 256), txn->n_rcpts,
			 txn->reader.size, txn->bdat ? "bdat" : "data");
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", txn->id);
	} else {
		smtp_reply_fail(s, smtp_fail_from_queue(txn->committed), "queue commit");
	}
	smtp_txn_reset(s, NULL);
	smtp_session_continue(s);
}

/* The message is complete and accepted so far: commit it, and answer
 * when the queue says it is durable. */
static void smtp_receive_commit(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;
	struct queue_msg *msg = txn->msg;

	txn->msg = NULL;   /* handed over */
	smtp_session_wait(s);
	txn->await = conn_await(s->conn, smtp_receive_committed, s);
	queue_msg_commit(msg, smtp_receive_queued, s);
}

/* After signing: commit, or refuse what could not be signed. */
static void smtp_receive_signed(struct smtp_session *s)
{
	if (s->txn.dkim_failed)
		smtp_receive_refuse(s, smtp_fail_status(SMTP_FAIL_TEMP));
	else
		smtp_receive_commit(s);
}

/* What the end of the message decides, in order: the reader's error
 * (bare CR or LF, too big), the queue's, the hop count. NULL: accept. */
static const struct smtp_status *smtp_receive_verdict(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;
	enum smtp_data_error error = smtp_data_error(&txn->reader);

	if (error != SMTP_DATA_ERROR_NONE) {
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"message refused\" id=%s reason=%s", txn->id,
			 smtp_data_error_name(error));
		return smtp_data_error_status(error);
	}
	if (txn->queue_error != QUEUE_OK)
		return smtp_fail_status(smtp_fail_from_queue(txn->queue_error));
	mail_header_counter_finish(&txn->received);
	if (txn->received.count > s->cfg->smtp.max_received) {
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"message refused\" id=%s reason=hops received=%u",
			 txn->id, txn->received.count);
		return smtp_fail_status(SMTP_FAIL_TOO_MANY_HOPS);
	}
	return NULL;
}

static void smtp_receive_finish(struct smtp_session *s)
{
	const struct smtp_status *refusal = smtp_receive_verdict(s);

	if (refusal != NULL)
		smtp_receive_refuse(s, refusal);
	else if (s->txn.dkim != NULL)
		smtp_sign_finish(s, smtp_receive_signed);
	else
		smtp_receive_commit(s);
}

/* ---- DATA ---- */

void smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	if (s->txn.bdat) {
		/* RFC 3030 2: not both in one transaction. */
		smtp_reply(s, 503, "5.5.1", "DATA after BDAT: send RSET first");
		return;
	}
	if (s->state == SMTP_STATE_MAIL) {
		/* RFC 2920 3.1: 554 when every RCPT was refused. */
		if (s->txn.rcpts_refused > 0)
			smtp_reply_status(s, &smtp_status_no_rcpts, NULL);
		else
			smtp_reply(s, 503, "5.5.1", "Need RCPT before DATA");
		return;
	}
	if (!smtp_receive_begin(s, SMTP_DATA_MODE_DOT)) {
		smtp_reply_fail(s, smtp_receive_begin_fail(s), "queue_msg_begin");
		return;
	}
	smtp_session_set_state(s, SMTP_STATE_DATA);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

bool smtp_receive_data(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;
	struct buf *in = conn_input(s->conn);
	enum smtp_data_status status;
	size_t used;

	status = smtp_data_feed(&txn->reader, in->data, in->len, &used);
	buf_consume(in, used);
	if (status == SMTP_DATA_END) {
		/* The CRLF.CRLF came: what follows is the next command. */
		smtp_session_set_state(s, SMTP_STATE_RCPT);
		smtp_receive_finish(s);
		return true;
	}
	if (txn->flush_due)
		smtp_receive_flush(s, NULL);
	return false;
}

/* ---- BDAT ---- */

/* Read the chunk of `size` octets and drop it, then answer `status`. */
static void smtp_chunk_refuse(struct smtp_session *s, uint64_t size,
			      const struct smtp_status *status, const char *text, bool counted)
{
	s->chunk = (struct smtp_chunk){
		.active = true,
		.size = size,
		.refusal = status,
		.refusal_text = text,
		.refusal_counted = counted,
	};
	s->txn.chunks.remaining = size;
	smtp_session_input_cap(s);
}

void smtp_bdat_refuse(struct smtp_session *s, const struct smtp_command *cmd, const char *text)
{
	smtp_chunk_refuse(s, cmd->bdat.size, &smtp_status_sequence, text, true);
}

void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_txn *txn = &s->txn;
	uint64_t size = cmd->bdat.size;

	if (!s->esmtp) {
		smtp_chunk_refuse(s, size, &smtp_status_sequence, "CHUNKING is not offered after HELO",
				  true);
		return;
	}
	if (s->state == SMTP_STATE_MAIL) {
		if (txn->rcpts_refused > 0)
			smtp_chunk_refuse(s, size, &smtp_status_no_rcpts, NULL, true);
		else
			smtp_chunk_refuse(s, size, &smtp_status_sequence, "Need RCPT before BDAT", true);
		return;
	}
	if (txn->bdat_failed) {
		/* RFC 3030 2: chunks pipelined after a failed one are read and
		 * dropped; the client must RSET. Not counted again. */
		smtp_chunk_refuse(s, size, &smtp_status_sequence,
				  "The transaction failed: send RSET", false);
		return;
	}
	if (!txn->bdat) {
		txn->bdat = true;
		smtp_bdat_init(&txn->chunks);
		if (!smtp_receive_begin(s, SMTP_DATA_MODE_RAW)) {
			txn->bdat_failed = true;
			smtp_session_set_state(s, SMTP_STATE_BDAT);
			smtp_chunk_refuse(s, size, smtp_fail_status(smtp_receive_begin_fail(s)), NULL,
					  true);
			return;
		}
	}
	smtp_session_set_state(s, SMTP_STATE_BDAT);
	if (smtp_bdat_chunk(&txn->chunks, size, cmd->bdat.last, s->cfg->limits.message_size) !=
	    SMTP_BDAT_OK) {
		txn->bdat_failed = true;
		smtp_chunk_refuse(s, size, smtp_fail_status(SMTP_FAIL_TOO_BIG), NULL, true);
		return;
	}
	s->chunk = (struct smtp_chunk){ .active = true, .size = size, .last = cmd->bdat.last };
	smtp_session_input_cap(s);
}

/* A chunk (not the last) failed: the message is given up now, the
 * transaction stays, failed, until RSET (RFC 3030 2). */
static void smtp_chunk_fail(struct smtp_session *s, const struct smtp_status *status)
{
	s->txn.bdat_failed = true;
	s->outcome = status;
	smtp_txn_drop_message(s, smtp_receive_refused);
}

/* BDAT LAST: a message whose last line has no CRLF gets one (RFC 5321
 * 4.1.1.4 asks for it; the queue's file holds whole lines). */
static void smtp_chunk_last(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;

	smtp_data_finish(&txn->reader);
	if (smtp_data_line_open(&txn->reader) && smtp_data_error(&txn->reader) ==
	    SMTP_DATA_ERROR_NONE && txn->queue_error == QUEUE_OK) {
		if (txn->flush_due) {
			smtp_receive_flush(s, smtp_chunk_last);
			return;
		}
		/* what is signed is what is stored */
		if (txn->dkim != NULL)
			dkim_signer_feed(txn->dkim, "\r\n", 2);
		if (queue_msg_add(txn->msg, "\r\n", 2))
			txn->flush_due = true;
	}
	smtp_receive_finish(s);
}

bool smtp_receive_chunk(struct smtp_session *s)
{
	struct smtp_txn *txn = &s->txn;
	struct smtp_chunk *chunk = &s->chunk;
	struct buf *in = conn_input(s->conn);
	size_t n = smtp_bdat_take(&txn->chunks, in->len);
	const struct smtp_status *error;

	if (n > 0 && chunk->refusal == NULL) {
		size_t used;

		smtp_data_feed(&txn->reader, in->data, n, &used);
	}
	buf_consume(in, n);
	if (txn->chunks.remaining > 0) {
		if (txn->flush_due)
			smtp_receive_flush(s, NULL);
		return false;
	}
	chunk->active = false;
	smtp_session_input_cap(s);
	if (chunk->refusal != NULL) {
		const char *text = chunk->refusal_text != NULL ? chunk->refusal_text
							       : chunk->refusal->text;

		if (chunk->refusal_counted)
			smtp_reply(s, chunk->refusal->code, chunk->refusal->enhanced, "%s", text);
		else
			smtp_reply_uncounted(s, chunk->refusal->code, chunk->refusal->enhanced, "%s",
					     text);
		return true;
	}
	if (chunk->last) {
		smtp_chunk_last(s);
		return true;
	}
	error = smtp_data_error(&txn->reader) != SMTP_DATA_ERROR_NONE
			? smtp_data_error_status(smtp_data_error(&txn->reader))
		: txn->queue_error != QUEUE_OK
			? smtp_fail_status(smtp_fail_from_queue(txn->queue_error))
			: NULL;
	if (error != NULL) {
		smtp_chunk_fail(s, error);
		return true;
	}
	smtp_reply(s, 250, "2.0.0", "%" PRIu64 " octets received", chunk->size);
	if (txn->flush_due)
		smtp_receive_flush(s, NULL);
	return true;
}
