/* smtp-client-txn - the SMTP client's transactions: the checks against
 * what the server announced, MAIL and the RCPTs (pipelined or one by
 * one), the 452 split, DATA or BDAT, RSET between transactions and
 * messages, and every recipient's result (smtp-client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "smtp/smtp-client-private.h"
#include "smtp/smtp-client-cmd.h"

/* ---- results ---- */

/* text, cut to size - 1 octets */
static void smtp_client_text_copy(char *dst, size_t size, const char *text)
{
	size_t n = strnlen(text, size - 1);

	memcpy(dst, text, n);
	dst[n] = '\0';
}

void smtp_client_result(struct smtp_client *c, size_t i, unsigned code, const char *enhanced,
			const char *text, bool remote, const char *stage)
{
	const struct smtp_client_message *msg = c->msg;
	struct smtp_client_result r = {
		.status = code >= 200 && code < 300 ? SMTP_CLIENT_DELIVERED
			: code >= 500 && code < 600 ? SMTP_CLIENT_BOUNCED : SMTP_CLIENT_DEFERRED,
		.code = code,
		.enhanced = enhanced,
		.text = text,
		.remote = remote,
		.stage = stage != NULL ? stage : "",
	};
	char cut[SMTP_CLIENT_TEXT_MAX + 1];

	if (c->rcpt[i] == SMTP_CLIENT_RCPT_DONE)
		return;
	if (strlen(text) > SMTP_CLIENT_TEXT_MAX) {
		smtp_client_text_copy(cut, sizeof(cut), text);
		r.text = cut;
	}
	if (r.status == SMTP_CLIENT_DELIVERED)
		r.dsn_relayed = !smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_DSN);
	c->rcpt[i] = SMTP_CLIENT_RCPT_DONE;
	c->n_left--;
	if (c->conn != NULL)
		conn_log(c->conn, r.status == SMTP_CLIENT_DELIVERED ? LOG_LEVEL_INFO : LOG_LEVEL_INFO,
			 "rcpt=%s status=%s stage=\"%s\" reply=\"%u %s %.200s\"", msg->rcpts[i].address,
			 smtp_client_status_name(r.status), r.stage, code, enhanced, r.text);
	msg->rcpt_done(msg->arg, i, &r);
}

/* The enhanced code of a reply, or one from its class (RFC 3463 3.1). */
static const char *smtp_client_enhanced(unsigned code, const char *enhanced)
{
	if (enhanced[0] != '\0')
		return enhanced;
	return code >= 500 ? "5.0.0" : code >= 400 ? "4.0.0" : "2.0.0";
}

void smtp_client_result_reply(struct smtp_client *c, size_t i, const struct smtp_client_reply *r)
{
	/* a code outside 2xx, 4xx, 5xx (a 3xx out of turn) is not a verdict */
	unsigned code = r->code >= 300 && r->code < 400 ? 451 : r->code;

	smtp_client_result(c, i, code, smtp_client_enhanced(code, r->enhanced), r->text, true,
			   c->waiting);
}

/* ---- the message ---- */

void smtp_client_message_set(struct smtp_client *c, const struct smtp_client_message *msg)
{
	c->msg = msg;
	c->rcpt = calloc(msg->n_rcpts > 0 ? msg->n_rcpts : 1, 1);
	if (c->rcpt == NULL)
		abort();
	c->n_left = msg->n_rcpts;
	c->reusable = true;
	c->messages++;
	c->mail_answered = false;
}

void smtp_client_message_free(struct smtp_client *c)
{
	smtp_client_send_free(c);
	free(c->rcpt);
	c->rcpt = NULL;
	c->msg = NULL;
}

void smtp_client_message_end(struct smtp_client *c, enum smtp_client_next next)
{
	const struct smtp_client_message *msg = c->msg;

	smtp_client_message_free(c);
	if (c->conn != NULL)
		conn_log(c->conn, LOG_LEVEL_INFO, "msg=\"message done\" next=%s",
			 smtp_client_next_name(next));
	if (c->conn != NULL && !conn_is_closing(c->conn))
		c->state = SMTP_CLIENT_IDLE;
	msg->done(msg->arg, c, next);
	if (c->msg != NULL || c->parked || c->conn == NULL || conn_is_closing(c->conn))
		return;
	/* RFC 5321 4.1.1.10; a server that closes without replying is fine */
	smtp_client_command(c, SMTP_CLIENT_QUIT, "QUIT", c->policy->timeouts.command, "QUIT");
}

bool smtp_client_next(struct smtp_client *client, const struct smtp_client_message *msg)
{
	struct smtp_client *c = client;

	bool can = c->msg == NULL && c->reusable && c->conn != NULL && !conn_is_closing(c->conn) &&
		   c->state == SMTP_CLIENT_IDLE;

	if (c->parked) {
		/* taken back: its owner hears nothing more of it */
		c->parked = false;
		c->gone = NULL;
		if (!can && c->conn != NULL && !conn_is_closing(c->conn))
			conn_close(c->conn, "not reusable");
	}
	if (!can)
		return false;
	smtp_client_message_set(c, msg);
	smtp_client_command(c, SMTP_CLIENT_RSET, "RSET", c->policy->timeouts.command, "RSET");
	return true;
}

/* ---- MAIL and RCPT ---- */

/* What keeps this server from taking the message as it is (every
 * recipient bounces), or NULL. */
static const char *smtp_client_refusal(struct smtp_client *c, unsigned *code_r,
				       const char **enhanced_r, char *text, size_t size)
{
	const struct smtp_client_message *msg = c->msg;

	if (smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_SIZE) && c->ehlo.size_max > 0 &&
	    msg->length > c->ehlo.size_max) {
		/* RFC 1870 6: do not send what the server said it cannot take */
		*code_r = 552;
		*enhanced_r = "5.3.4";
		snprintf(text, size, "message too big for the server (%llu octets; it takes at most %llu)",
			 (unsigned long long)msg->length, (unsigned long long)c->ehlo.size_max);
		return text;
	}
	if (!smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_SMTPUTF8) && smtp_client_cmd_needs_utf8(msg)) {
		/* RFC 6531 3.5: not to a server without SMTPUTF8 */
		*code_r = 553;
		*enhanced_r = "5.6.7";
		snprintf(text, size, "the message needs SMTPUTF8, which the server does not support");
		return text;
	}
	if (!smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_8BITMIME) && msg->eightbit) {
		/* RFC 6152 3: convert or bounce; tern does not convert (a DKIM
		 * signature would break, RFC 6376 5.3) */
		*code_r = 554;
		*enhanced_r = "5.6.3";
		snprintf(text, size, "the message has 8-bit content, and the server does not support "
			 "8BITMIME");
		return text;
	}
	return NULL;
}

/* What the server offers, for the MAIL and RCPT lines. */
static struct smtp_client_cmd_ext smtp_client_cmd_ext(const struct smtp_client *c)
{
	return (struct smtp_client_cmd_ext){
		.size = smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_SIZE),
		.smtputf8 = smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_SMTPUTF8),
		.dsn = smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_DSN),
	};
}

static void smtp_client_mail(struct smtp_client *c)
{
	struct smtp_client_cmd_ext ext = smtp_client_cmd_ext(c);

	smtp_client_cmd_mail(&c->cmd, c->msg, &ext);
	smtp_client_sending(c);
	conn_write(c->conn, c->cmd.data, c->cmd.len);
	c->mail_sent = true;
	c->mail_unanswered = true;
	c->unanswered = 1;
}

static void smtp_client_rcpt(struct smtp_client *c, size_t i)
{
	struct smtp_client_cmd_ext ext = smtp_client_cmd_ext(c);

	smtp_client_cmd_rcpt(&c->cmd, &c->msg->rcpts[i], &ext);
	smtp_client_sending(c);
	conn_write(c->conn, c->cmd.data, c->cmd.len);
}

/* Send the RCPTs this transaction may send now: under PIPELINING as many
 * as the window allows, else one after MAIL's or the previous RCPT's
 * reply. */
static void smtp_client_rcpts_send(struct smtp_client *c)
{
	bool pipelining = smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_PIPELINING);
	size_t window = pipelining ? SMTP_CLIENT_PIPELINE_MAX : 1;

	while (!c->stop_rcpts && c->send_at < c->msg->n_rcpts && c->unanswered < window) {
		size_t i = c->send_at++;

		if (c->rcpt[i] != SMTP_CLIENT_RCPT_PENDING)
			continue;
		smtp_client_rcpt(c, i);
		c->rcpt[i] = SMTP_CLIENT_RCPT_SENT;
		c->unanswered++;
	}
}

/* Wait for the next reply of MAIL/RCPT, or go on to the data. */
static void smtp_client_rcpts_next(struct smtp_client *c)
{
	smtp_client_rcpts_send(c);
	if (c->unanswered > 0) {
		smtp_client_expect(c, SMTP_CLIENT_RCPT, c->mail_unanswered ? "MAIL" : "RCPT",
				   c->mail_unanswered ? c->policy->timeouts.command
						      : c->policy->timeouts.rcpt);
		return;
	}
	if (c->mail_failed) {
		/* RFC 5321 4.1.1.2: MAIL's refusal is every recipient's */
		for (size_t i = 0; i < c->msg->n_rcpts; i++)
			if (c->rcpt[i] != SMTP_CLIENT_RCPT_DONE)
				smtp_client_result(c, i, c->saved.code, c->saved.enhanced, c->saved.text,
						   true, "MAIL");
		smtp_client_message_end(c, SMTP_CLIENT_NEXT_NONE);
		return;
	}
	if (c->accepted == 0) {
		/* every RCPT was refused (a 452 splits only after an accepted
		 * one): no data; the next message's RSET ends the transaction */
		smtp_client_message_end(c, SMTP_CLIENT_NEXT_NONE);
		return;
	}
	if (smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_CHUNKING)) {
		/* the first chunk after the RCPT replies too, although RFC
		 * 2920 3.1 would let BDAT join their group (it is not among
		 * the commands that must end one), as RFC 3030 4.2's example
		 * does: no message goes out that no recipient takes, and a
		 * 452's split stays one transaction after the other */
		smtp_client_send_start(c, true);
		return;
	}
	/* RFC 2920 3.1: DATA after the RCPT replies, so that it is sent only
	 * when someone takes the message */
	smtp_client_command(c, SMTP_CLIENT_DATA, "DATA", c->policy->timeouts.data, "DATA");
}

void smtp_client_txn_start(struct smtp_client *c)
{
	unsigned code;
	const char *enhanced;
	char text[256];

	if (smtp_client_refusal(c, &code, &enhanced, text, sizeof(text)) != NULL) {
		for (size_t i = 0; i < c->msg->n_rcpts; i++)
			if (c->rcpt[i] != SMTP_CLIENT_RCPT_DONE)
				smtp_client_result(c, i, code, enhanced, text, false, "MAIL");
		smtp_client_message_end(c, SMTP_CLIENT_NEXT_NONE);
		return;
	}
	c->send_at = c->reply_at = 0;
	c->accepted = 0;
	c->mail_failed = c->stop_rcpts = false;
	smtp_client_mail(c);
	smtp_client_rcpts_next(c);
}

static void smtp_client_rcpt_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	size_t i = c->reply_at;

	while (i < c->msg->n_rcpts && c->rcpt[i] != SMTP_CLIENT_RCPT_SENT)
		i++;
	if (c->unanswered == 0 || (!c->mail_unanswered && i == c->msg->n_rcpts)) {
		/* more replies than commands: the server is confused */
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", "RCPT",
				  "a reply out of turn: %u %s", r->code, r->text);
		return;
	}
	c->unanswered--;
	if (c->mail_unanswered) {
		if (r->code == 421 && c->messages > 1) {
			/* RFC 5321 3.8: the server closes the connection it kept
			 * (smtp_client_abort makes it SMTP_CLIENT_NEXT_FRESH) */
			smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.4.2", "MAIL",
					  "the reused connection was closed: %u %s", r->code, r->text);
			return;
		}
		c->mail_unanswered = false;
		c->mail_answered = true;
		if (r->code < 200 || r->code >= 300) {
			unsigned code = r->code >= 300 && r->code < 400 ? 451 : r->code;

			c->mail_failed = c->stop_rcpts = true;
			c->saved.code = code;
			snprintf(c->saved.enhanced, sizeof(c->saved.enhanced), "%s",
				 smtp_client_enhanced(code, r->enhanced));
			smtp_client_text_copy(c->saved.text, sizeof(c->saved.text), r->text);
		}
		smtp_client_rcpts_next(c);
		return;
	}
	c->reply_at = i + 1;
	if (c->mail_failed) {
		c->rcpt[i] = SMTP_CLIENT_RCPT_PENDING;   /* MAIL's result follows */
	} else if (r->code >= 200 && r->code < 300) {
		c->rcpt[i] = SMTP_CLIENT_RCPT_ACCEPTED;
		c->accepted++;
	} else if (r->code == 452 && c->accepted > 0) {
		/* RFC 5321 4.5.3.1.10: too many recipients; the rest go in
		 * the next transaction */
		c->rcpt[i] = SMTP_CLIENT_RCPT_PENDING;
		c->stop_rcpts = true;
	} else {
		smtp_client_result_reply(c, i, r);
	}
	smtp_client_rcpts_next(c);
}

void smtp_client_txn_results(struct smtp_client *c, const struct smtp_client_reply *r)
{
	for (size_t i = 0; i < c->msg->n_rcpts; i++)
		if (c->rcpt[i] == SMTP_CLIENT_RCPT_ACCEPTED)
			smtp_client_result_reply(c, i, r);
}

void smtp_client_txn_end(struct smtp_client *c, const struct smtp_client_reply *r)
{
	if (r != NULL)
		smtp_client_txn_results(c, r);
	smtp_client_send_free(c);
	if (c->n_left == 0) {
		smtp_client_message_end(c, SMTP_CLIENT_NEXT_NONE);
		return;
	}
	/* recipients left by a 452: a new transaction, after RSET */
	smtp_client_command(c, SMTP_CLIENT_RSET, "RSET", c->policy->timeouts.command, "RSET");
}

void smtp_client_txn_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	switch (c->state) {
	case SMTP_CLIENT_RSET:
		if (r->code != 250) {
			smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", "RSET",
					  "RSET refused: %u %s", r->code, r->text);
			return;
		}
		smtp_client_txn_start(c);
		return;
	case SMTP_CLIENT_RCPT:
		smtp_client_rcpt_reply(c, r);
		return;
	case SMTP_CLIENT_DATA:
		if (r->code == 354) {
			smtp_client_send_start(c, false);
			return;
		}
		if (r->code >= 200 && r->code < 400) {
			/* a 2xx to DATA is no delivery: nothing was sent */
			smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", "DATA",
					  "unexpected reply to DATA: %u %s", r->code, r->text);
			return;
		}
		smtp_client_txn_end(c, r);
		return;
	case SMTP_CLIENT_BDAT:
		smtp_client_send_reply(c, r);
		return;
	case SMTP_CLIENT_DOT:
		if (c->bdat)
			smtp_client_send_reply(c, r);
		else
			smtp_client_txn_end(c, r);
		return;
	default:
		smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.5.0", c->waiting,
				  "a reply out of turn: %u %s", r->code, r->text);
		return;
	}
}
