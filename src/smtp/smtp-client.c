/* smtp-client - the SMTP client's connection: connecting, the greeting,
 * EHLO/HELO, STARTTLS, AUTH, reading the replies and handing them to the
 * state they answer, the deadlines, QUIT and the end (smtp-client.h). The
 * transaction itself is smtp-client-txn.c's. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/conn-connect.h"
#include "core/listener.h"
#include "core/loop.h"
#include "smtp/smtp-client-private.h"

/* A command line: the longest RCPT with its DSN parameters is ~1,100
 * octets; AUTH PLAIN's initial response up to 12,288 (RFC 4954 4). */
#define SMTP_CLIENT_CMD_MAX 16384

static const char *const smtp_client_tls_names[] = {
	[SMTP_CLIENT_TLS_NONE] = "none",
	[SMTP_CLIENT_TLS_MAY] = "may",
	[SMTP_CLIENT_TLS_ENCRYPT] = "encrypt",
	[SMTP_CLIENT_TLS_VERIFY] = "verify",
};
_Static_assert(sizeof(smtp_client_tls_names) / sizeof(smtp_client_tls_names[0]) ==
	       SMTP_CLIENT_TLS__COUNT, "smtp_client_tls_names");

static const char *const smtp_client_status_names[] = {
	[SMTP_CLIENT_DELIVERED] = "delivered",
	[SMTP_CLIENT_DEFERRED] = "deferred",
	[SMTP_CLIENT_BOUNCED] = "bounced",
};
_Static_assert(sizeof(smtp_client_status_names) / sizeof(smtp_client_status_names[0]) ==
	       SMTP_CLIENT_STATUS__COUNT, "smtp_client_status_names");

static const char *const smtp_client_next_names[] = {
	[SMTP_CLIENT_NEXT_NONE] = "none",
	[SMTP_CLIENT_NEXT_MX] = "next-mx",
	[SMTP_CLIENT_NEXT_PLAIN] = "plain",
	[SMTP_CLIENT_NEXT_FRESH] = "fresh",
};
_Static_assert(sizeof(smtp_client_next_names) / sizeof(smtp_client_next_names[0]) ==
	       SMTP_CLIENT_NEXT__COUNT, "smtp_client_next_names");

const char *smtp_client_tls_name(enum smtp_client_tls tls)
{
	return (unsigned)tls < SMTP_CLIENT_TLS__COUNT ? smtp_client_tls_names[tls] : "?";
}

int smtp_client_tls_parse(const char *word, enum smtp_client_tls *tls_r)
{
	for (unsigned i = 0; i < SMTP_CLIENT_TLS__COUNT; i++) {
		if (strcmp(word, smtp_client_tls_names[i]) == 0) {
			*tls_r = (enum smtp_client_tls)i;
			return 0;
		}
	}
	return -1;
}

const char *smtp_client_status_name(enum smtp_client_status status)
{
	return (unsigned)status < SMTP_CLIENT_STATUS__COUNT ? smtp_client_status_names[status] : "?";
}

const char *smtp_client_next_name(enum smtp_client_next next)
{
	return (unsigned)next < SMTP_CLIENT_NEXT__COUNT ? smtp_client_next_names[next] : "?";
}

void smtp_client_policy_init(struct smtp_client_policy *policy, const struct config *cfg)
{
	*policy = (struct smtp_client_policy){
		.tls = SMTP_CLIENT_TLS_MAY,
		.helo_name = cfg->server.hostname,
		.timeouts = {
			.greeting = cfg->smtp.client_greeting_timeout,
			.command = cfg->smtp.client_command_timeout,
			.rcpt = cfg->smtp.client_rcpt_timeout,
			.data = cfg->smtp.client_data_timeout,
			.block = cfg->smtp.client_block_timeout,
			.dot = cfg->smtp.client_dot_timeout,
			.data_rate = cfg->smtp.client_min_data_rate,
		},
	};
}

/* ---- replies and deadlines ---- */

bool smtp_client_data_late(struct smtp_client *c)
{
	if (c->data_deadline == 0 || loop_now_ms(c->loop) < c->data_deadline)
		return false;
	c->timed_out = true;
	smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.4.2", c->waiting,
			  "timeout: the server took the message too slowly (%llu octets, "
			  "%u s and 1 s per %u octets allowed)", (unsigned long long)c->msg->length,
			  c->policy->timeouts.block, c->policy->timeouts.data_rate);
	return true;
}

static void smtp_client_deadline(void *session)
{
	struct smtp_client *c = session;

	/* a piece being read: its done looks (the buffers are the job's) */
	if (c->data_deadline != 0 && conn_job_running(c->conn))
		return;
	if (smtp_client_data_late(c))
		return;
	c->timed_out = true;
	smtp_client_abort(c, c->mail_sent ? SMTP_CLIENT_NEXT_NONE : SMTP_CLIENT_NEXT_MX, 451, "4.4.2",
			  c->waiting, "timeout waiting for the reply to %s", c->waiting);
}

void smtp_client_wait(struct smtp_client *c, unsigned seconds)
{
	uint64_t ms = (uint64_t)seconds * 1000, now = loop_now_ms(c->loop);

	if (c->data_deadline != 0 && (ms == 0 || c->data_deadline < now + ms))
		ms = c->data_deadline > now ? c->data_deadline - now : 1;
	conn_timer(c->conn, ms, ms > 0 ? smtp_client_deadline : NULL);
}

void smtp_client_expect(struct smtp_client *c, enum smtp_client_state state, const char *stage,
			unsigned seconds)
{
	c->state = state;
	c->waiting = stage;
	/* The deadline is for the whole reply (a trickle runs out); the idle
	 * timeout is its backstop. */
	conn_set_idle_timeout(c->conn, seconds + 1);
	smtp_client_wait(c, seconds);
}

void smtp_client_sending(struct smtp_client *c)
{
	if (c->unanswered == 0 && conn_input(c->conn)->len > 0)
		c->out_of_turn = true;
}

void smtp_client_command(struct smtp_client *c, enum smtp_client_state state, const char *stage,
			 unsigned seconds, const char *fmt, ...)
{
	va_list ap;

	smtp_client_sending(c);
	buf_reset(&c->cmd);
	va_start(ap, fmt);
	buf_vprintf(&c->cmd, fmt, ap);
	va_end(ap);
	buf_append(&c->cmd, "\r\n", 2);
	conn_write(c->conn, c->cmd.data, c->cmd.len);
	smtp_client_expect(c, state, stage, seconds);
}

void smtp_client_abort(struct smtp_client *c, enum smtp_client_next next, unsigned code,
		       const char *enhanced, const char *stage, const char *fmt, ...)
{
	char text[SMTP_CLIENT_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->reusable = false;
	/* a connection used before, lost before this message's MAIL was
	 * answered: the server let it go meanwhile, not a verdict */
	if (next == SMTP_CLIENT_NEXT_NONE && c->messages > 1 && !c->mail_answered)
		next = SMTP_CLIENT_NEXT_FRESH;
	if (c->conn != NULL) {
		conn_log(c->conn, LOG_LEVEL_INFO, "msg=\"smtp client: %s\"", text);
		conn_timer(c->conn, 0, NULL);
		conn_close(c->conn, "smtp client aborted");
	}
	if (c->msg == NULL)
		return;
	for (size_t i = 0; i < c->msg->n_rcpts; i++)
		if (c->rcpt[i] != SMTP_CLIENT_RCPT_DONE)
			smtp_client_result(c, i, code, enhanced, text, false, stage);
	smtp_client_message_end(c, next);
}

/* ---- the session's start: greeting, EHLO, STARTTLS, AUTH ---- */

static bool smtp_client_tls_required(const struct smtp_client *c)
{
	return c->policy->tls == SMTP_CLIENT_TLS_ENCRYPT || c->policy->tls == SMTP_CLIENT_TLS_VERIFY;
}

static void smtp_client_ehlo(struct smtp_client *c)
{
	smtp_client_command(c, SMTP_CLIENT_EHLO, "EHLO", c->policy->timeouts.command, "EHLO %s",
			    c->policy->helo_name);
}

/* Base64 of data[0..len) (RFC 4648 4) into the command being built. */
static void smtp_client_b64(struct smtp_client *c, const char *data, size_t len)
{
	char *out = buf_reserve(&c->cmd, 4 * ((len + 2) / 3) + 1);

	if (out == NULL)
		return;
	buf_commit(&c->cmd, (size_t)EVP_EncodeBlock((unsigned char *)out,
						     (const unsigned char *)data, (int)len));
}

/* RFC 4954 4: the line with its base64, sent as is. */
static void smtp_client_auth_line(struct smtp_client *c, enum smtp_client_state state,
				  const char *prefix, const char *data, size_t len)
{
	smtp_client_sending(c);
	buf_reset(&c->cmd);
	buf_append_str(&c->cmd, prefix);
	smtp_client_b64(c, data, len);
	buf_append(&c->cmd, "\r\n", 2);
	conn_write(c->conn, c->cmd.data, c->cmd.len);
	/* what goes out is a secret: the buffer does not keep it */
	OPENSSL_cleanse(c->cmd.data, c->cmd.len);
	smtp_client_expect(c, state, "AUTH", c->policy->timeouts.command);
}

static void smtp_client_auth(struct smtp_client *c)
{
	const struct smtp_client_policy *p = c->policy;

	if (!c->tls || (conn_tls_peer(c->conn) != CONN_TLS_PEER_VERIFIED && !p->auth_unverified)) {
		/* credentials never go in the clear, nor to a server not
		 * verified unless the policy says so */
		conn_write(c->conn, "QUIT\r\n", 6);
		smtp_client_abort(c, SMTP_CLIENT_NEXT_MX, 451, "4.7.10", "AUTH",
				  "AUTH not sent: %s", !c->tls ? "no TLS"
				  : "the server's certificate did not verify");
		return;
	}
	if (c->ehlo.auth & (1u << SMTP_AUTH_PLAIN)) {
		size_t ulen = strlen(p->auth_user), plen = strlen(p->auth_password);
		char *plain = malloc(ulen + plen + 2);

		if (plain == NULL)
			abort();
		/* RFC 4616 2: authzid NUL authcid NUL passwd */
		plain[0] = '\0';
		memcpy(plain + 1, p->auth_user, ulen);
		plain[1 + ulen] = '\0';
		memcpy(plain + 2 + ulen, p->auth_password, plen);
		smtp_client_auth_line(c, SMTP_CLIENT_AUTH, "AUTH PLAIN ", plain, ulen + plen + 2);
		OPENSSL_cleanse(plain, ulen + plen + 2);
		free(plain);
	} else if (c->ehlo.auth & (1u << SMTP_AUTH_LOGIN)) {
		smtp_client_command(c, SMTP_CLIENT_AUTH, "AUTH", p->timeouts.command, "AUTH LOGIN");
	} else {
		conn_write(c->conn, "QUIT\r\n", 6);
		smtp_client_abort(c, SMTP_CLIENT_NEXT_MX, 451, "4.7.0", "EHLO",
				  "the server offers no AUTH mechanism tern can use (PLAIN, LOGIN)");
	}
}

/* EHLO (or HELO) is done: STARTTLS, AUTH, or the transaction. */
static void smtp_client_greeted(struct smtp_client *c)
{
	if (!c->tls && c->policy->tls != SMTP_CLIENT_TLS_NONE &&
	    smtp_client_ehlo_has(&c->ehlo, SMTP_CLIENT_EXT_STARTTLS)) {
		smtp_client_command(c, SMTP_CLIENT_STARTTLS, "STARTTLS", c->policy->timeouts.command,
				    "STARTTLS");
		return;
	}
	if (!c->tls && smtp_client_tls_required(c)) {
		conn_write(c->conn, "QUIT\r\n", 6);
		smtp_client_abort(c, SMTP_CLIENT_NEXT_MX, 451, "4.7.10", "EHLO",
				  "TLS is required, but the server does not offer STARTTLS");
		return;
	}
	if (c->policy->auth_user != NULL) {
		smtp_client_auth(c);
		return;
	}
	smtp_client_txn_start(c);
}

/* A reply that ends the connection's start (the greeting, EHLO, HELO,
 * a STARTTLS the policy needs): this server does not take the mail now,
 * the next address may. A 5xx here is no verdict on the recipients (as
 * Postfix's smtp_skip_5xx_greeting): they are deferred, the server's
 * reply quoted, its enhanced code's class made 4. */
static void smtp_client_refused(struct smtp_client *c, const struct smtp_client_reply *r)
{
	char enhanced[sizeof(r->enhanced)] = "4.0.0";

	if (r->enhanced[0] != '\0') {
		memcpy(enhanced, r->enhanced, sizeof(enhanced));
		enhanced[0] = '4';
	}
	smtp_client_abort(c, SMTP_CLIENT_NEXT_MX, 451, enhanced, c->waiting,
			  "%s refused: %u %s%s%s", c->waiting, r->code, r->enhanced,
			  r->enhanced[0] ? " " : "", r->text);
}

static void smtp_client_reply(struct smtp_client *c, const struct smtp_client_reply *r)
{
	const struct smtp_client_policy *p = c->policy;

	conn_timer(c->conn, 0, NULL);
	switch (c->state) {
	case SMTP_CLIENT_GREETING:
		/* RFC 5321 3.1: a 554 (or 4xx) greeting: QUIT, try elsewhere */
		if (r->code != 220) {
			conn_write(c->conn, "QUIT\r\n", 6);
			smtp_client_refused(c, r);
			return;
		}
		smtp_client_ehlo(c);
		return;
	case SMTP_CLIENT_EHLO:
		if (r->code == 250) {
			smtp_client_ehlo_parse(r, &c->ehlo);
			smtp_client_greeted(c);
		} else if (r->code >= 500) {
			/* RFC 5321 3.2, 4.1.1.1: a server that does not take EHLO
			 * (500, 501, 502, 550...) may take HELO */
			smtp_client_command(c, SMTP_CLIENT_HELO, "HELO", p->timeouts.command, "HELO %s",
					    p->helo_name);
		} else {
			smtp_client_refused(c, r);
		}
		return;
	case SMTP_CLIENT_HELO:
		if (r->code != 250) {
			smtp_client_refused(c, r);
			return;
		}
		c->ehlo = (struct smtp_client_ehlo){ 0 };   /* no extensions (4.1.1.1) */
		smtp_client_greeted(c);
		return;
	case SMTP_CLIENT_STARTTLS:
		if (r->code == 220) {
			c->state = SMTP_CLIENT_HANDSHAKE;
			conn_starttls(c->conn);
		} else if (smtp_client_tls_required(c)) {
			smtp_client_refused(c, r);
		} else {
			/* offered but refused: go on without (Postfix's "may") */
			c->ehlo.exts &= ~(1u << SMTP_CLIENT_EXT_STARTTLS);
			smtp_client_greeted(c);
		}
		return;
	case SMTP_CLIENT_AUTH:
		if (r->code == 334 && !(c->ehlo.auth & (1u << SMTP_AUTH_PLAIN))) {
			smtp_client_auth_line(c, SMTP_CLIENT_AUTH_USER, "", p->auth_user,
					      strlen(p->auth_user));
			return;
		}
		break;
	case SMTP_CLIENT_AUTH_USER:
		if (r->code == 334) {
			smtp_client_auth_line(c, SMTP_CLIENT_AUTH_PASS, "", p->auth_password,
					      strlen(p->auth_password));
			return;
		}
		break;
	case SMTP_CLIENT_AUTH_PASS:
		break;
	case SMTP_CLIENT_QUIT:
		conn_close(c->conn, "quit");
		return;
	default:
		smtp_client_txn_reply(c, r);
		return;
	}
	/* the end of AUTH */
	if (r->code == 235) {
		smtp_client_txn_start(c);
		return;
	}
	if (r->code == 334)
		conn_write(c->conn, "*\r\n", 3);   /* RFC 4954 4: cancel */
	smtp_client_abort(c, SMTP_CLIENT_NEXT_NONE, 451, "4.7.0", "AUTH",
			  "authentication failed: %u %s", r->code, r->text);
}

/* Whether a reply is expected now (not while the message goes out, a
 * job runs, or the handshake is due). */
static bool smtp_client_reading(const struct smtp_client *c)
{
	return c->conn != NULL && !conn_is_closing(c->conn) && !conn_job_running(c->conn) &&
	       c->state != SMTP_CLIENT_BODY && c->state != SMTP_CLIENT_HANDSHAKE &&
	       c->state != SMTP_CLIENT_CONNECTING && c->state != SMTP_CLIENT_IDLE;
}

/* A parked connection ends by itself: its owner is told. */
static void smtp_client_unpark(struct smtp_client *c)
{
	void (*gone)(void *arg) = c->gone;

	c->parked = false;
	c->gone = NULL;
	if (gone != NULL)
		gone(c->gone_arg);
}

static void smtp_client_park_expired(void *session)
{
	struct smtp_client *c = session;

	smtp_client_unpark(c);
	smtp_client_command(c, SMTP_CLIENT_QUIT, "QUIT", c->policy->timeouts.command, "QUIT");
}

void smtp_client_input(void *session)
{
	struct smtp_client *c = session;
	struct buf *in = conn_input(c->conn);

	if (c->parked && in->len > 0) {
		/* RFC 5321 3.8: a 421 (or anything) while idle: the server is
		 * closing; nothing it says answers what would come next */
		conn_log(c->conn, LOG_LEVEL_INFO, "msg=\"smtp client: the server spoke while idle\" "
			 "bytes=%zu", in->len);
		smtp_client_unpark(c);
		conn_timer(c->conn, 0, NULL);
		conn_close(c->conn, "the server spoke while idle");
		return;
	}

	while (in->len > 0 && smtp_client_reading(c)) {
		size_t used = 0;
		enum smtp_client_reply_result res;

		if (c->out_of_turn) {
			/* RFC 5321 4.1.1, RFC 2920 3.1: a reply follows its command;
			 * one that came before is no answer (a 250 sent with the
			 * 354 must not pass for the end of data's) */
			smtp_client_abort(c, c->mail_sent ? SMTP_CLIENT_NEXT_NONE : SMTP_CLIENT_NEXT_MX,
					  451, "4.5.0", c->waiting, "a reply before %s was sent",
					  c->waiting);
			return;
		}
		res = smtp_client_reply_feed(&c->parser, in->data, in->len, &used);
		if (res == SMTP_CLIENT_REPLY_ERROR) {
			smtp_client_abort(c, c->mail_sent ? SMTP_CLIENT_NEXT_NONE : SMTP_CLIENT_NEXT_MX,
					  451, "4.5.0", c->waiting, "bad reply to %s: %s", c->waiting,
					  smtp_client_reply_error_name(smtp_client_reply_error(&c->parser)));
			return;
		}
		buf_consume(in, used);
		if (res == SMTP_CLIENT_REPLY_DONE) {
			smtp_client_reply(c, smtp_client_reply_get(&c->parser));
			smtp_client_reply_init(&c->parser);
		}
	}
}

/* ---- the connection's callbacks ---- */

static void *smtp_client_open(struct conn *conn)
{
	struct smtp_client *c = conn_connect_arg(conn);

	c->conn = conn;
	c->tls = conn_is_tls(conn);
	conn_log(conn, LOG_LEVEL_INFO, "msg=\"smtp client\" tls_policy=%s auth=%s",
		 smtp_client_tls_name(c->policy->tls), c->policy->auth_user != NULL ? "yes" : "no");
	smtp_client_expect(c, SMTP_CLIENT_GREETING, "greeting", c->policy->timeouts.greeting);
	return c;
}

static void smtp_client_tls_ready(void *session)
{
	struct smtp_client *c = session;

	/* RFC 3207 4.2: forget what the server said before, ask again */
	c->tls = true;
	c->ehlo = (struct smtp_client_ehlo){ 0 };
	smtp_client_reply_init(&c->parser);
	smtp_client_ehlo(c);
}

static void smtp_client_drained(void *session)
{
	smtp_client_send_drained(session);
}

static void smtp_client_timeout(void *session, enum conn_end why)
{
	struct smtp_client *c = session;

	(void)why;
	c->timed_out = true;
}

static void smtp_client_free(struct smtp_client *c)
{
	void (*closed)(void *arg) = c->target.closed;
	void *arg = c->target.arg;

	smtp_client_message_free(c);
	buf_release(&c->cmd);
	free(c);
	if (closed != NULL)
		closed(arg);
}

static void smtp_client_close(void *session)
{
	struct smtp_client *c = session;

	c->reusable = false;
	if (c->parked)
		smtp_client_unpark(c);
	if (c->msg != NULL) {
		bool tls_failed = conn_tls_failed(c->conn);
		char why_text[128] = "";
		const char *why = conn_tls_peer_error(c->conn);

		if (why != NULL)
			snprintf(why_text, sizeof(why_text), "%s", why);
		why = why_text[0] != '\0' ? why_text : NULL;
		c->conn = NULL;   /* gone: nothing more is said to it */
		if (tls_failed && !smtp_client_tls_required(c))
			smtp_client_abort(c, SMTP_CLIENT_NEXT_PLAIN, 451, "4.7.0", "STARTTLS",
					  "TLS handshake failed%s%s", why != NULL ? ": " : "",
					  why != NULL ? why : "");
		else if (tls_failed)
			smtp_client_abort(c, SMTP_CLIENT_NEXT_MX, 451, "4.7.10", "STARTTLS",
					  "TLS handshake failed%s%s", why != NULL ? ": " : "",
					  why != NULL ? why : "");
		else
			smtp_client_abort(c, c->mail_sent ? SMTP_CLIENT_NEXT_NONE : SMTP_CLIENT_NEXT_MX,
					  451, "4.4.2", c->waiting, "%s %s",
					  c->timed_out ? "timeout waiting for the reply to"
						       : "lost connection while waiting for the reply to",
					  c->waiting);
	}
	c->conn = NULL;
	smtp_client_free(c);
}

static void smtp_client_failed(void *arg, enum conn_connect_error why)
{
	struct smtp_client *c = arg;

	smtp_client_abort(c, why == CONN_CONNECT_SHUTDOWN ? SMTP_CLIENT_NEXT_NONE : SMTP_CLIENT_NEXT_MX,
			  451, "4.4.1", "connect", "connect: %s", conn_connect_error_name(why));
	smtp_client_free(c);
}

static const struct protocol smtp_client_protocol = {
	.name = "smtp-out",
	.open = smtp_client_open,
	.input = smtp_client_input,
	.drained = smtp_client_drained,
	.tls_ready = smtp_client_tls_ready,
	.timeout = smtp_client_timeout,
	.close = smtp_client_close,
};

/* The input buffer holds what a read brings (the replies are parsed as
 * they come); the idle timeout is set per command. */
static const struct core_service smtp_client_service = {
	.name = "smtp-out", .protocol = &smtp_client_protocol,
	.limits = { .idle_timeout = 300, .line_length = 4096 },
};
static const struct core_service smtp_client_tls_service = {
	.name = "smtp-outs", .protocol = &smtp_client_protocol, .implicit_tls = true,
	.limits = { .idle_timeout = 300, .line_length = 4096 },
};

void smtp_client_start(struct loop *loop, const struct smtp_client_target *target,
		       const struct smtp_client_message *msg)
{
	struct smtp_client *c = calloc(1, sizeof(*c));
	struct conn_connect req = { 0 };

	if (c == NULL)
		abort();
	c->loop = loop;
	c->target = *target;
	c->policy = target->policy;
	c->state = SMTP_CLIENT_CONNECTING;
	c->waiting = "connect";
	c->start_ms = loop_now_ms(loop);
	buf_init(&c->cmd, SMTP_CLIENT_CMD_MAX);
	smtp_client_reply_init(&c->parser);
	smtp_client_message_set(c, msg);

	req.service = target->implicit_tls ? &smtp_client_tls_service : &smtp_client_service;
	req.remote = target->remote;
	req.source = target->source;
	memcpy(req.server_name, target->server_name, sizeof(req.server_name));
	req.server_name[sizeof(req.server_name) - 1] = '\0';
	req.verify = c->policy->tls == SMTP_CLIENT_TLS_VERIFY ? CONN_TLS_VERIFY_REQUIRE
							       : CONN_TLS_VERIFY_LOG;
	req.connect_timeout = 0;   /* the core's 30 s, as Postfix's smtp_connect_timeout */
	req.greeting_timeout = c->policy->timeouts.greeting;
	req.arg = c;
	req.failed = smtp_client_failed;
	conn_connect(loop, &req);
}

const char *smtp_client_tls_version(const struct smtp_client *client)
{
	return client->conn != NULL ? conn_tls_version(client->conn) : NULL;
}

const char *smtp_client_tls_cipher(const struct smtp_client *client)
{
	return client->conn != NULL ? conn_tls_cipher(client->conn) : NULL;
}

bool smtp_client_park(struct smtp_client *client, unsigned seconds, void (*gone)(void *arg),
		      void *arg)
{
	struct smtp_client *c = client;

	if (c->msg != NULL || c->parked || !c->reusable || c->conn == NULL ||
	    conn_is_closing(c->conn) || c->state != SMTP_CLIENT_IDLE || seconds == 0)
		return false;
	c->parked = true;
	c->gone = gone;
	c->gone_arg = arg;
	c->waiting = "idle";
	conn_set_idle_timeout(c->conn, seconds + 1);
	conn_timer(c->conn, (uint64_t)seconds * 1000, smtp_client_park_expired);
	conn_log(c->conn, LOG_LEVEL_DEBUG, "msg=\"smtp client: idle, for the next message\" "
		 "seconds=%u", seconds);
	return true;
}

void smtp_client_quit(struct smtp_client *client)
{
	struct smtp_client *c = client;

	if (!c->parked)
		return;
	c->parked = false;
	c->gone = NULL;
	if (c->conn != NULL && !conn_is_closing(c->conn))
		smtp_client_command(c, SMTP_CLIENT_QUIT, "QUIT", c->policy->timeouts.command, "QUIT");
}

unsigned smtp_client_messages(const struct smtp_client *client)
{
	return client->messages;
}

uint64_t smtp_client_age_ms(const struct smtp_client *client)
{
	return loop_now_ms(client->loop) - client->start_ms;
}
