/* smtp-client-send - the message going out: read from its file in jobs
 * on the thread pool (never on the loop), in pieces, each put into wire
 * form (smtp-client-data.h) and sent after DATA's 354 with the final
 * ".", or as one BDAT chunk each (RFC 3030): to a server that offers
 * PIPELINING up to SMTP_CLIENT_BDAT_WINDOW chunks before their replies
 * (each reply answers the oldest chunk out), else one chunk per reply.
 * Output back-pressure holds the next read until the queue drains; a
 * block that does not go out within [smtp] client_block_timeout, or a
 * data phase longer than its size allows (smtp_client_timeouts.data_rate),
 * ends the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/loop.h"
#include "smtp/smtp-client-private.h"

/* What one read takes from the file: one BDAT chunk at most (the wire
 * form may be twice as long). */
#define SMTP_CLIENT_PIECE (128u * 1024)
/* Pipelined BDAT chunks out before their replies, at most: what is sent
 * in vain after a refused chunk is bounded (4 x 128 KiB of the file). */
#define SMTP_CLIENT_BDAT_WINDOW 4

static void smtp_client_send_work(void *arg)
{
	struct smtp_client *c = arg;
	uint64_t want = c->end - c->pos;
	ssize_t n;

	if (want > SMTP_CLIENT_PIECE)
		want = SMTP_CLIENT_PIECE;
	do
		n = pread(c->msg->fd, c->raw, (size_t)want, (off_t)c->pos);
	while (n < 0 && errno == EINTR);
	c->got = n;
}

/* Pipelined BDAT: the next chunk, when the window and the output allow
 * (without PIPELINING the window is one chunk: each waits for the
 * previous one's reply). */
static void smtp_client_send_more(struct smtp_client *c)
{
	size_t window = c->bdat_pipe ? SMTP_CLIENT_BDAT_WINDOW : 1;

	if (c->state == SMTP_CLIENT_BDAT && !c->chunk_failed && c->pos < c->end &&
	    c->chunks_out < window && !conn_is_closing(c->conn) && !conn_job_running(c->conn) &&
	    !conn_output_full(c->conn))
		smtp_client_send_next(c);
}

/* Write the wire form of what was read (got bytes; at the end, the
 * message's end too): after DATA's 354 as it is, else as a BDAT chunk of
 * its exact length; then read on, or wait for the replies. */
static void smtp_client_send_piece(struct smtp_client *c, size_t got)
{
	size_t len;

	if (conn_input(c->conn)->len > 0 && c->chunks_out == 0) {
		/* the server spoke before the message was all out (after the
		 * 354, or before this chunk) with no chunk to answer: what it
		 * said answers nothing sent, and its reply to the end would be
		 * taken from it */
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "a reply while the message was going out");
		return;
	}
	len = smtp_client_data_encode(&c->body, c->raw, got, c->out);
	c->last_chunk = c->pos == c->end;
	if (c->last_chunk)
		len += smtp_client_data_end(&c->body, c->out + len);
	if (c->bdat) {
		conn_printf(c->conn, "BDAT %zu%s\r\n", len, c->last_chunk ? " LAST" : "");
		if (++c->chunks_out > 1)
			c->chunks_overlapped = true;
	}
	conn_write(c->conn, c->out, len);
	if (c->last_chunk) {
		c->data_deadline = 0;   /* all out: the reply has the dot timeout */
		smtp_client_expect(c, SMTP_CLIENT_DOT, c->bdat ? "BDAT LAST" : "end of data",
				   c->policy->timeouts.dot);
		smtp_client_input(c);
		return;
	}
	if (c->bdat) {
		/* the replies to the chunks out, read as they come */
		smtp_client_expect(c, SMTP_CLIENT_BDAT, "BDAT", c->policy->timeouts.block);
		smtp_client_input(c);
		smtp_client_send_more(c);
		return;
	}
	if (!conn_output_full(c->conn))
		smtp_client_send_next(c);
	/* else protocol->drained goes on */
}

/* Whether the server said more after the reply just read than a 421
 * (RFC 5321 3.8: it may close at any time, saying so). */
static bool smtp_client_send_said_more(struct smtp_client *c)
{
	const struct buf *in = conn_input(c->conn);

	return in->len > 0 && memcmp(in->data, "421", in->len < 3 ? in->len : 3) != 0;
}

void smtp_client_send_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	bool final;

	if (c->chunks_out == 0) {
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "a reply out of turn: %u %s", r->code, r->text);
		return;
	}
	final = c->last_chunk && c->chunks_out == 1;
	if (!final && r->code != 250 && r->code < 400 && !c->chunk_failed) {
		/* RFC 3030 2: a chunk but the last is answered 250 or an
		 * error; a 2xx or 3xx other than that is no verdict on the
		 * message, which is not all out */
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "unexpected reply to BDAT: %u %s", r->code, r->text);
		return;
	}
	if (final && c->chunks_overlapped && !c->chunk_failed && smtp_client_send_said_more(c)) {
		/* a reply more than the chunks out: each reply is matched to
		 * its chunk by count alone (RFC 2920 3.1), so which one is the
		 * end's is not known; a 250 taken for it might be an earlier
		 * chunk's, the real verdict a refusal. Not delivered, nor
		 * bounced: tried again. */
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "more replies than BDAT chunks (the end's not known): %u %s",
				  r->code, r->text);
		return;
	}
	c->chunks_out--;
	if (c->chunk_failed) {
		/* RFC 3030 2: the chunks in the pipeline after a failed one
		 * are discarded; their replies say nothing more */
		if (c->chunks_out == 0)
			smtp_client_txn_end(c, NULL);
		return;
	}
	if (final || r->code != 250) {
		/* the end of data's reply, or a refused chunk: the
		 * transaction is over (RFC 3030 2: no more chunks after a
		 * 4xx/5xx), its recipients get this reply */
		smtp_client_txn_results(c, r);
		if (c->chunks_out == 0) {
			smtp_client_txn_end(c, NULL);
			return;
		}
		c->chunk_failed = true;
	}
	/* the next reply's wait; a chunk more if the window allows */
	if (c->chunks_out > 0 && c->last_chunk)
		smtp_client_expect(c, SMTP_CLIENT_DOT, "BDAT LAST", c->policy->timeouts.dot);
	else if (c->chunks_out > 0)
		smtp_client_expect(c, SMTP_CLIENT_BDAT, "BDAT", c->policy->timeouts.block);
	else
		smtp_client_wait(c, 0);
	smtp_client_send_more(c);
}

/* The piece read is in c->raw (c->got bytes): out it goes. */
static void smtp_client_send_done(void *arg)
{
	struct smtp_client *c = arg;

	if (conn_is_closing(c->conn))
		return;   /* the close reports the message */
	if (smtp_client_data_late(c))
		return;
	if (c->got <= 0) {
		/* the file is shorter than said, or unreadable: the server
		 * must not take a part of it, so no end of data is sent */
		conn_log(c->conn, LOG_LEVEL_ERROR,
			 "msg=\"smtp client: reading the message failed\" error=%s",
			 c->got < 0 ? "read error" : "short file");
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.3.0", "DATA",
				  "local error reading the message");
		return;
	}
	c->pos += (uint64_t)c->got;
	smtp_client_send_piece(c, (size_t)c->got);
}

void smtp_client_send_next(struct smtp_client *c)
{
	c->state = SMTP_CLIENT_BODY;
	c->waiting = "DATA";
	smtp_client_wait(c, 0);
	/* RFC 5321 4.5.3.2.5: each block must go out within this */
	conn_set_idle_timeout(c->conn, c->policy->timeouts.block);
	conn_job(c->conn, smtp_client_send_work, smtp_client_send_done, c);
}

void smtp_client_send_start(struct smtp_client *c, bool bdat)
{
	c->bdat = bdat;
	/* RFC 3030 4.2, RFC 2920 3.1: BDAT may be pipelined; each reply
	 * answers the oldest chunk not answered */
	c->bdat_pipe = bdat && smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_PIPELINING);
	c->chunks_out = 0;
	c->chunk_failed = c->chunks_overlapped = false;
	smtp_client_data_init(&c->body, !bdat);
	c->pos = c->msg->offset;
	c->end = c->msg->offset + c->msg->length;
	c->data_deadline = 0;
	if (c->policy->timeouts.data_rate > 0)
		c->data_deadline = loop_now_ms(c->loop) + (uint64_t)c->policy->timeouts.block * 1000 +
				   c->msg->length * 1000 / c->policy->timeouts.data_rate;
	if (c->raw == NULL) {
		c->raw = malloc(SMTP_CLIENT_PIECE);
		c->out = malloc(SMTP_CLIENT_DATA_OUT_MAX(SMTP_CLIENT_PIECE) + SMTP_CLIENT_DATA_END_MAX);
		if (c->raw == NULL || c->out == NULL)
			abort();
	}
	if (c->pos == c->end)
		smtp_client_send_piece(c, 0);   /* an empty message: its end alone */
	else
		smtp_client_send_next(c);
}

void smtp_client_send_drained(struct smtp_client *c)
{
	if (c->state == SMTP_CLIENT_BODY && !conn_job_running(c->conn) && c->pos < c->end)
		smtp_client_send_next(c);
	else
		smtp_client_send_more(c);
}

void smtp_client_send_free(struct smtp_client *c)
{
	free(c->raw);
	free(c->out);
	c->raw = c->out = NULL;
	c->data_deadline = 0;
}
