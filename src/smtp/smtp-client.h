/* smtp-client - tern's SMTP client: one connection to one server, over
 * which it delivers messages, one transaction after the other (RFC 5321
 * 3, 4.1.1). The queue manager decides where mail goes and when
 * (routing, MX order, retries, bounces); for each address it tries it
 * calls smtp_client_start() with the first message and gets every
 * recipient's result back, then may hand the same connection the next
 * message for that destination.
 *
 * What one session does: the greeting (4xx/5xx: try the next address);
 * EHLO, HELO when EHLO gets a 5xx; STARTTLS whenever offered unless the
 * policy says none (RFC 3207), then EHLO again; AUTH PLAIN or LOGIN when
 * the policy has credentials (a smarthost), only over TLS and, unless the
 * policy allows otherwise, a verified certificate; per message: the
 * checks against what the server announced (SIZE, SMTPUTF8, 8BITMIME),
 * MAIL and the RCPTs (batched under PIPELINING, RFC 2920 3.1, with at
 * most SMTP_CLIENT_PIPELINE_MAX commands unanswered), DATA or BDAT
 * (CHUNKING; its chunks pipelined too under PIPELINING, RFC 3030 4.2)
 * with the message normalised to CRLF and dot-stuffed for DATA
 * (smtp-client-data.h), the DSN parameters only to a server that offers
 * DSN; RSET before each further transaction, which may come at once
 * (smtp_client_next) or after the connection waited idle
 * (smtp_client_park); QUIT at the end, a close without its reply being
 * fine.
 *
 * Every recipient of a message gets exactly one result: delivered (a 2xx
 * to the end of data), deferred (4xx, the connection lost or timed out
 * before the final reply, the server's nonsense, and a 5xx to the
 * greeting, EHLO or HELO, which says nothing about the recipients) or
 * bounced (5xx to MAIL, RCPT or the data, or a message this server
 * cannot take as it is). A 452 to a RCPT after
 * another RCPT of the transaction was accepted means "too many
 * recipients" (RFC 5321 4.5.3.1.10): those recipients go in a new
 * transaction on the same connection at once. Mail is never reported
 * delivered without the server's 2xx to its end of data.
 *
 * Timeouts are [smtp] client_*_timeout (RFC 5321 4.5.3.2), each for the
 * whole of a reply (a server that trickles a reply byte by byte runs
 * out), the block timeout for the message going out, and a deadline for
 * the whole data phase that grows with the message's size ([smtp]
 * client_min_data_rate); a server's reply is
 * bounded (smtp-client-reply.h), so a server that sends nonsense, endless
 * lines or a slow trickle costs one connection and bounded memory and
 * ends in a deferral.
 *
 * Everything runs on the loop the session was started on, callbacks
 * included; nothing but smtp_client_start is thread-safe. The message is read from its
 * file in jobs on the thread pool, never on the loop. */
#ifndef TERN_SMTP_SMTP_CLIENT_H
#define TERN_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "queue/queue.h"

struct config;
struct loop;
struct smtp_client;

/* Commands sent and not yet answered, at most, under PIPELINING: MAIL and
 * the RCPTs are sent in groups of up to this many, so that neither side's
 * output can fill while the other is not reading. */
#define SMTP_CLIENT_PIPELINE_MAX 100
/* The reply text a result keeps (more is cut). */
#define SMTP_CLIENT_TEXT_MAX 512

/* TLS for one destination (Postfix's smtp_tls_security_level). */
enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE,     /* never STARTTLS */
	/* STARTTLS when offered, the certificate checked but not required
	 * (RFC 7435); a failed handshake: SMTP_CLIENT_NEXT_PLAIN */
	SMTP_CLIENT_TLS_MAY,
	/* TLS required, the certificate not: no STARTTLS offered or a failed
	 * handshake defers (SMTP_CLIENT_NEXT_MX) */
	SMTP_CLIENT_TLS_ENCRYPT,
	/* TLS required with a certificate that verifies and names the
	 * server (target->server_name) */
	SMTP_CLIENT_TLS_VERIFY,
	SMTP_CLIENT_TLS__COUNT
};
/* "none", "may", "encrypt", "verify"; smtp_client_tls_parse: the mode a
 * word names (0), or -1. For the transport table and the smarthost. */
const char *smtp_client_tls_name(enum smtp_client_tls tls);
int smtp_client_tls_parse(const char *word, enum smtp_client_tls *tls_r);

/* RFC 5321 4.5.3.2, in seconds; and a bound on the whole data phase
 * (the body after DATA's 354, or every BDAT chunk, up to the end of data
 * handed to the connection): block seconds plus one per data_rate octets
 * of the message ([smtp] client_min_data_rate; 0: no bound), so that a
 * server that reads a block per block timeout cannot hold a large
 * message's connection for hours. */
struct smtp_client_timeouts {
	unsigned greeting, command, rcpt, data, block, dot;
	unsigned data_rate;
};

/* How to talk to one destination. Not copied: it must outlive the
 * sessions that use it. */
struct smtp_client_policy {
	enum smtp_client_tls tls;
	const char *helo_name;       /* the name in EHLO/HELO: [server] hostname */
	/* AUTH for a smarthost (RFC 4954), PLAIN or else LOGIN as offered;
	 * NULL user: none. Never sent without TLS; without a verified
	 * certificate only when auth_unverified is set. A server that does
	 * not offer AUTH, or refuses it, defers the mail. */
	const char *auth_user;
	const char *auth_password;
	bool auth_unverified;
	struct smtp_client_timeouts timeouts;
};
/* A policy with the configuration's timeouts and host name, TLS "may",
 * no AUTH. cfg must outlive the policy. */
void smtp_client_policy_init(struct smtp_client_policy *policy, const struct config *cfg);

/* One recipient of a message. */
struct smtp_client_rcpt {
	const char *address;         /* without <> */
	unsigned notify;             /* enum queue_notify bits (DSN NOTIFY), 0: not given */
	const char *orcpt;           /* DSN ORCPT as the queue keeps it ("rfc822;a@b"), or NULL */
};

enum smtp_client_status {
	SMTP_CLIENT_DELIVERED,       /* the server took it (2xx to the end of data) */
	SMTP_CLIENT_DEFERRED,        /* try again later */
	SMTP_CLIENT_BOUNCED,         /* failed for good: a DSN to the sender */
	SMTP_CLIENT_STATUS__COUNT
};
/* "delivered", "deferred", "bounced": for logs. */
const char *smtp_client_status_name(enum smtp_client_status status);

/* One recipient's result: valid during the rcpt_done call only. */
struct smtp_client_result {
	enum smtp_client_status status;
	/* The server's reply (remote is true): its code, its enhanced code,
	 * or one derived from the code's class ("4.0.0", "5.0.0") when it
	 * gave none, and its text (printable ASCII, at most
	 * SMTP_CLIENT_TEXT_MAX), for the DSN's Status and Diagnostic-Code
	 * ("smtp; 550 5.1.1 ..."). Otherwise tern's own: a code and enhanced
	 * code for the DSN and a reason ("lost connection", "message too
	 * big for the server: it takes at most 1000 octets"). */
	unsigned code;
	const char *enhanced;
	const char *text;
	bool remote;
	/* The command the reply answered, or where it happened: "MAIL",
	 * "RCPT", "DATA", "BDAT", "end of data" (the final dot), "BDAT LAST"
	 * (the last chunk: the end of data under CHUNKING), "greeting",
	 * "EHLO", ... Logged with each result, so the log says which of
	 * DATA and BDAT carried a message. */
	const char *stage;
	/* Delivered to a server that does not offer DSN: NOTIFY, ORCPT, RET
	 * and ENVID were not passed on; a recipient with NOTIFY=SUCCESS is
	 * owed a "relayed" DSN (RFC 3461 5.2.2). */
	bool dsn_relayed;
};

/* What the caller should do about the recipients that were deferred. */
enum smtp_client_next {
	/* Nothing now: they wait for their retry. */
	SMTP_CLIENT_NEXT_NONE,
	/* The server could not be used (not connected, its greeting or EHLO
	 * refused, lost before the first MAIL, TLS required and not to be
	 * had): the next address or exchanger may take them now. */
	SMTP_CLIENT_NEXT_MX,
	/* Policy "may": the STARTTLS handshake failed; connect to this
	 * address again and deliver with tls = SMTP_CLIENT_TLS_NONE (as
	 * Postfix's "may" does). */
	SMTP_CLIENT_NEXT_PLAIN,
	/* A connection that had carried a message before failed before this
	 * one's MAIL was answered (lost, timed out, a 421, RSET refused: the
	 * server dropped the idle connection meanwhile): the recipients,
	 * deferred, were never offered; try them on a new connection now. */
	SMTP_CLIENT_NEXT_FRESH,
	SMTP_CLIENT_NEXT__COUNT
};
const char *smtp_client_next_name(enum smtp_client_next next);

/* One message to deliver. Not copied: it (and every string it points
 * to) must stay valid until its done has been called. */
struct smtp_client_message {
	const char *sender;          /* the reverse-path without <>; "" for <> */
	const struct smtp_client_rcpt *rcpts;
	size_t n_rcpts;              /* at least 1 */
	const char *envid;           /* DSN ENVID, or NULL */
	enum queue_ret ret;          /* DSN RET */
	/* The message needs SMTPUTF8 (it came with it, RFC 6531 3.4): to a
	 * server without it, every recipient bounces 5.6.7 (3.5). An address
	 * with UTF-8 needs it too, whatever this says. */
	bool smtputf8;
	/* The body is 8-bit (BODY=8BITMIME): to a server without 8BITMIME it
	 * is not converted (a DKIM signature would break, RFC 6376 5.3) but
	 * bounced 5.6.3 (RFC 6152 3). */
	bool eightbit;
	/* The message: bytes [offset, offset + length) of the open file fd
	 * (the caller's: it stays open until done; not closed here). For a
	 * queue file, offset is past its first line, the Return-Path tern
	 * wrote (queue-file.c): the receiving end adds its own. length is
	 * also SIZE's declaration (RFC 1870 3). */
	int fd;
	uint64_t offset, length;
	/* Each recipient's result, once (index into rcpts), in any order. */
	void (*rcpt_done)(void *arg, size_t index, const struct smtp_client_result *result);
	/* The message is finished: every recipient has had its result. The
	 * caller may hand the connection the next message here
	 * (smtp_client_next); otherwise the session ends with QUIT once done
	 * returns. */
	void (*done)(void *arg, struct smtp_client *client, enum smtp_client_next next);
	void *arg;
};

/* One connection to make. */
struct smtp_client_target {
	struct sockaddr_storage remote;   /* the server's address and port */
	struct sockaddr_storage source;   /* the local address; AF_UNSPEC: the kernel's choice */
	/* The server's name (the exchanger, or the smarthost as configured):
	 * SNI and the certificate check; "" for none */
	char server_name[256];
	bool implicit_tls;                /* TLS from the start (port 465) instead of STARTTLS */
	const struct smtp_client_policy *policy;
	/* Called once at the very end, after the last message's done, when
	 * the connection is gone (for the caller's per-destination count);
	 * may be NULL. The session is freed after it. */
	void (*closed)(void *arg);
	void *arg;
};

/* Connect on `loop` and deliver `msg` (from any thread: what follows,
 * callbacks included, runs on that loop, never from within this call). */
void smtp_client_start(struct loop *loop, const struct smtp_client_target *target,
		       const struct smtp_client_message *msg);

/* From a message's done, or on a parked connection (smtp_client_park):
 * deliver `msg` on the same connection next (RSET, then its
 * transaction). Returns false, taking nothing, when the connection
 * cannot carry another message (it is lost, or the previous message
 * ended in a way that leaves its state unknown): the caller then uses a
 * new connection (a parked one then just ends, its `gone` not called). */
bool smtp_client_next(struct smtp_client *client, const struct smtp_client_message *msg);

/* From a message's done only, instead of smtp_client_next: keep the
 * connection open and idle (no QUIT) for at most `seconds`, for a later
 * smtp_client_next or smtp_client_quit on the session's loop. Returns
 * false, taking nothing, when the connection cannot carry another
 * message (as smtp_client_next). A parked connection ends by itself when
 * the server closes it or says anything (a 421, RFC 5321 3.8: it is not
 * read as a reply to what comes next) or its time runs out (QUIT): then
 * gone(arg) is called, once, before the session is freed; never after
 * smtp_client_next or smtp_client_quit took it back. */
bool smtp_client_park(struct smtp_client *client, unsigned seconds, void (*gone)(void *arg),
		      void *arg);
/* A parked connection: QUIT, and the session ends (gone is not called). */
void smtp_client_quit(struct smtp_client *client);
/* The messages the connection has carried (the one in hand included),
 * and the milliseconds since it was asked for: for reuse limits and logs. */
unsigned smtp_client_messages(const struct smtp_client *client);
uint64_t smtp_client_age_ms(const struct smtp_client *client);

/* About the session, for logs and Received headers: the server's name as
 * its greeting gave it (or ""), and the TLS version and cipher (NULL
 * without TLS). Valid inside callbacks. */
const char *smtp_client_server_greeting(const struct smtp_client *client);
const char *smtp_client_tls_version(const struct smtp_client *client);
const char *smtp_client_tls_cipher(const struct smtp_client *client);

#endif
