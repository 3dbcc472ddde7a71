/* smtp-client-private - what the files of the SMTP client share: the
 * session, its states, and the calls between the connection's side
 * (smtp-client.c: greeting, EHLO, STARTTLS, AUTH, replies, the end) and
 * the transaction's (smtp-client-txn.c: MAIL, RCPT, DATA, BDAT, the
 * results; smtp-client-send.c: the message going out). Nothing outside
 * the client includes it. */
#ifndef TERN_SMTP_SMTP_CLIENT_PRIVATE_H
#define TERN_SMTP_SMTP_CLIENT_PRIVATE_H

#include "core/buf.h"
#include "core/conn.h"
#include "smtp/smtp-client-data.h"
#include "smtp/smtp-client-ehlo.h"
#include "smtp/smtp-client-reply.h"
#include "smtp/smtp-client.h"

/* What the session waits for. */
enum smtp_client_state {
	SMTP_CLIENT_CONNECTING,   /* the connection is being made */
	SMTP_CLIENT_GREETING,     /* the 220 */
	SMTP_CLIENT_EHLO,
	SMTP_CLIENT_HELO,
	SMTP_CLIENT_STARTTLS,     /* the 220 to STARTTLS */
	SMTP_CLIENT_HANDSHAKE,    /* the TLS handshake (tls_ready, or the close) */
	SMTP_CLIENT_AUTH,         /* 235, or LOGIN's first 334 */
	SMTP_CLIENT_AUTH_USER,    /* LOGIN: the 334 after the user name */
	SMTP_CLIENT_AUTH_PASS,    /* LOGIN: the 235 after the password */
	SMTP_CLIENT_RSET,
	SMTP_CLIENT_RCPT,         /* the replies to MAIL and the RCPTs */
	SMTP_CLIENT_DATA,         /* the 354 */
	SMTP_CLIENT_BODY,         /* the message going out: no reply expected */
	SMTP_CLIENT_BDAT,         /* the reply to a chunk but the last */
	SMTP_CLIENT_DOT,          /* the reply to the end of data */
	SMTP_CLIENT_QUIT,
	SMTP_CLIENT_IDLE,         /* between messages: inside done, or parked */
};

/* A recipient's place in the message. */
enum smtp_client_rcpt_state {
	SMTP_CLIENT_RCPT_PENDING,   /* not sent in this transaction (yet) */
	SMTP_CLIENT_RCPT_SENT,      /* RCPT sent, its reply not read */
	SMTP_CLIENT_RCPT_ACCEPTED,  /* 2xx to RCPT: waits for the end of data */
	SMTP_CLIENT_RCPT_DONE,      /* its result is given */
};

/* A reply kept for later (MAIL's refusal, given to every recipient). */
struct smtp_client_saved {
	unsigned code;
	char enhanced[12];
	char text[SMTP_CLIENT_TEXT_MAX + 1];
	const char *stage;
};

struct smtp_client {
	struct loop *loop;
	struct conn *conn;                /* from open until close */
	struct smtp_client_target target;
	const struct smtp_client_policy *policy;
	enum smtp_client_state state;
	struct smtp_client_reply_parser parser;
	struct smtp_client_ehlo ehlo;
	bool tls;                         /* TLS is on (implicit or STARTTLS) */
	bool mail_sent;                   /* a MAIL went out on this connection */
	bool reusable;                    /* the connection may carry another message */
	bool timed_out;                   /* the close is a timeout's */
	uint64_t start_ms;                /* loop_now_ms when it was asked for */
	unsigned messages;                /* the messages it has carried, the current one included */
	bool mail_answered;               /* the current message's MAIL has its reply */
	/* parked: idle between messages, outside any done (smtp_client_park) */
	bool parked;
	void (*gone)(void *arg);
	void *gone_arg;
	/* a command went out with bytes of the server's already buffered:
	 * they came before it, so they answer something else */
	bool out_of_turn;
	const char *waiting;              /* the command whose reply is awaited, for results */
	struct buf cmd;                   /* a command being built */

	/* the message */
	const struct smtp_client_message *msg;
	unsigned char *rcpt;              /* enum smtp_client_rcpt_state per recipient */
	size_t n_left;                    /* recipients without a result */
	size_t send_at, reply_at;         /* the next RCPT to send; to read the reply of */
	size_t unanswered;                /* MAIL and RCPTs sent, their replies not read */
	size_t accepted;                  /* RCPTs accepted in this transaction */
	bool mail_unanswered;             /* MAIL's reply is the next one */
	bool mail_failed;                 /* MAIL was refused: saved holds why */
	bool stop_rcpts;                  /* no more RCPTs in this transaction (452, MAIL refused) */
	struct smtp_client_saved saved;

	/* the message going out (smtp-client-send.c) */
	bool bdat;
	struct smtp_client_data body;
	uint64_t pos, end;
	char *raw, *out;
	ssize_t got;                      /* the last read: bytes, or -1 */
	bool last_chunk;
	bool bdat_pipe;                   /* BDAT chunks pipelined (the server offers PIPELINING) */
	size_t chunks_out;                /* BDAT chunks sent, their replies not read */
	bool chunk_failed;                /* a chunk was refused: the rest's replies are discarded */
	bool chunks_overlapped;           /* two or more chunks were out at once */
	uint64_t data_deadline;           /* loop_now_ms the data must be out by; 0: none */
};

/* smtp-client.c */
/* Send a command line (CRLF added) and wait for its reply for `seconds`,
 * reporting `stage` if it fails. */
void smtp_client_command(struct smtp_client *c, enum smtp_client_state state, const char *stage,
			 unsigned seconds, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The connection's timer for `seconds` (0: none), or less when the data
 * phase's deadline comes first (smtp_client_timeouts.data_rate). */
void smtp_client_wait(struct smtp_client *c, unsigned seconds);
/* When the data phase's deadline has passed: the session ends (the
 * recipients deferred) and true. */
bool smtp_client_data_late(struct smtp_client *c);
/* Wait for a reply (already asked for) for `seconds`. */
void smtp_client_expect(struct smtp_client *c, enum smtp_client_state state, const char *stage,
			unsigned seconds);
/* The session cannot go on: every recipient without a result gets this
 * one (deferred unless code is 5xx), the message is finished with
 * `next`, and the connection closes. */
void smtp_client_abort(struct smtp_client *c, enum smtp_client_next next, unsigned code,
		       const char *enhanced, const char *stage, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* About to send a command: when no other command awaits its reply and
 * the server's bytes are already buffered, those came before this one
 * (a pipelining desync, or a reply forged ahead): the session ends at
 * the next read (smtp_client_input), deferring what is left. */
void smtp_client_sending(struct smtp_client *c);
/* Read the replies buffered (after a state that did not read them). */
void smtp_client_input(void *session);

/* smtp-client-txn.c */
/* Take msg as the session's message (its recipients all pending). */
void smtp_client_message_set(struct smtp_client *c, const struct smtp_client_message *msg);
/* The session is ready: start the message's first transaction. */
void smtp_client_txn_start(struct smtp_client *c);
/* A reply in one of the transaction's states. */
void smtp_client_txn_reply(struct smtp_client *c, const struct smtp_client_reply *r);
/* Give recipient i a result: the server's reply, or tern's own. */
void smtp_client_result_reply(struct smtp_client *c, size_t i, const struct smtp_client_reply *r);
void smtp_client_result(struct smtp_client *c, size_t i, unsigned code, const char *enhanced,
			const char *text, bool remote, const char *stage);
/* The reply to the data (the end of data, a refused DATA or chunk): the
 * recipients accepted in this transaction get it. */
void smtp_client_txn_results(struct smtp_client *c, const struct smtp_client_reply *r);
/* The transaction is over (its results given, with r when not NULL): the
 * message ends, or the recipients a 452 left go in a new one. */
void smtp_client_txn_end(struct smtp_client *c, const struct smtp_client_reply *r);
/* Every recipient has its result: done, then the next message or QUIT. */
void smtp_client_message_end(struct smtp_client *c, enum smtp_client_next next);
/* The transaction's memory (recipient states, buffers) is freed. */
void smtp_client_message_free(struct smtp_client *c);

/* smtp-client-send.c */
/* After 354 (DATA) or at once (BDAT): send the message. */
void smtp_client_send_start(struct smtp_client *c, bool bdat);
/* Read and send the next piece. */
void smtp_client_send_next(struct smtp_client *c);
/* A reply to a BDAT chunk (states BDAT, DOT after BDAT). */
void smtp_client_send_reply(struct smtp_client *c, const struct smtp_client_reply *r);
/* protocol->drained while the message goes out. */
void smtp_client_send_drained(struct smtp_client *c);
void smtp_client_send_free(struct smtp_client *c);

#endif
