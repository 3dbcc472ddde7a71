/* smtp-client-send - the message going out: read from its file in jobs
 * on the thread pool (never on the loop), in pieces, each put into wire
 * form (smtp-client-data.h) and sent after DATA's 354 with the final
 * ".", or as one BDAT chunk each (RFC 3030), waiting for each chunk's
 * reply. Output back-pressure holds the next read until the queue
 * drains; a block that does not go out within [smtp] client_block_timeout
 * ends the connection. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/conn.h"
#include "smtp/smtp-client-private.h"

/* What one read takes from the file: one BDAT chunk at most (the wire
 * form may be twice as long). */
#define SMTP_CLIENT_PIECE (128u * 1024)

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

/* Write the wire form of what was read (got bytes; at the end, the
 * message's end too): after DATA's 354 as it is, else as a BDAT chunk of
 * its exact length; then wait for the reply, or read on. */
static void smtp_client_send_piece(struct smtp_client *c, size_t got)
{
	size_t len;

	if (conn_input(c->conn)->len > 0) {
		/* the server spoke before the message was all out (after the
		 * 354, or before this chunk): what it said answers nothing
		 * sent, and its reply to the end would be taken from it */
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "a reply while the message was going out");
		return;
	}
	len = smtp_client_data_encode(&c->body, c->raw, got, c->out);
	c->last_chunk = c->pos == c->end;
	if (c->last_chunk)
		len += smtp_client_data_end(&c->body, c->out + len);
	if (c->bdat)
		conn_printf(c->conn, "BDAT %zu%s\r\n", len, c->last_chunk ? " LAST" : "");
	conn_write(c->conn, c->out, len);
	if (c->last_chunk || c->bdat) {
		if (c->last_chunk)
			smtp_client_expect(c, SMTP_CLIENT_DOT, c->bdat ? "BDAT LAST" : "end of data",
					   c->policy->timeouts.dot);
		else
			smtp_client_expect(c, SMTP_CLIENT_BDAT, "BDAT", c->policy->timeouts.block);
		smtp_client_input(c);
		return;
	}
	if (!conn_output_full(c->conn))
		smtp_client_send_next(c);
	/* else protocol->drained goes on */
}

/* The piece read is in c->raw (c->got bytes): out it goes. */
static void smtp_client_send_done(void *arg)
{
	struct smtp_client *c = arg;

	if (conn_is_closing(c->conn))
		return;   /* the close reports the message */
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
	conn_timer(c->conn, 0, NULL);
	/* RFC 5321 4.5.3.2.5: each block must go out within this */
	conn_set_idle_timeout(c->conn, c->policy->timeouts.block);
	conn_job(c->conn, smtp_client_send_work, smtp_client_send_done, c);
}

void smtp_client_send_start(struct smtp_client *c, bool bdat)
{
	c->bdat = bdat;
	smtp_client_data_init(&c->body, !bdat);
	c->pos = c->msg->offset;
	c->end = c->msg->offset + c->msg->length;
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
}

void smtp_client_send_free(struct smtp_client *c)
{
	free(c->raw);
	free(c->out);
	c->raw = c->out = NULL;
}
