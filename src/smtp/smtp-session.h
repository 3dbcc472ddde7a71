/* smtp-session - one SMTP session: the states of RFC 5321 4.1.4 and 4.3,
 * the command table, the one reply function with the typed failures it
 * maps, the mail transaction, and the declarations of the commands, which
 * live one concern per file (smtp-ehlo.c, smtp-auth.c, smtp-mail.c,
 * smtp-receive.c, smtp-basic.c). Internal to src/smtp. */
#ifndef TERN_SMTP_SMTP_SESSION_H
#define TERN_SMTP_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conn.h"
#include "dir/auth-login.h"
#include "mail/mail-header.h"
#include "mailauth/dkim-signer.h"
#include "queue/queue.h"
#include "smtp/smtp-bdat.h"
#include "smtp/smtp-command.h"
#include "smtp/smtp-data.h"
#include "smtp/smtp-relay.h"
#include "smtp/smtp.h"

/* Bounds of one session (DESIGN 7), as Postfix has them: commands before
 * the first MAIL (EHLO, STARTTLS, EHLO, AUTH ... and retries), and
 * "junk" commands (NOOP, RSET, VRFY, EXPN, HELP, and BDAT 0 without
 * LAST), which are counted afresh after each accepted message
 * (smtpd_junk_command_limit). */
#define SMTP_COMMANDS_BEFORE_MAIL_MAX 50
#define SMTP_JUNK_COMMANDS_MAX 100
/* Final recipients of one message after alias expansion, whatever the
 * RCPT count ([limits] recipients bounds the RCPTs themselves). */
#define SMTP_ENVELOPE_RECIPIENTS_MAX 10000
/* RCPTs of one transaction answered 452 4.5.3 (too many recipients)
 * without counting as errors; each one after these counts (Postfix's
 * smtpd_recipient_overshoot_limit), so a client that never stops sending
 * RCPT is cut by [limits] errors_per_session. */
#define SMTP_RCPT_OVERSHOOT_MAX 1000
/* From half of [limits] errors_per_session on, each further error costs
 * the client this wait before its next command (Postfix's
 * smtpd_soft_error_limit and smtpd_error_sleep_time). */
#define SMTP_TARPIT_MS 1000
/* The input buffer while a message arrives (DATA, BDAT): also the most a
 * single feed adds to the queue message past its memory part. */
#define SMTP_DATA_INPUT_MAX (64 * 1024)
/* The longest user name the sendmail socket's Received header carries. */
#define SMTP_LOCAL_USER_MAX 64

enum smtp_state {
	SMTP_STATE_GREETING,   /* port 25: the greeting's last line is not sent yet */
	SMTP_STATE_START,      /* greeted; no EHLO or HELO yet */
	SMTP_STATE_READY,      /* EHLO/HELO done, no transaction */
	SMTP_STATE_MAIL,       /* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,       /* at least one recipient accepted */
	SMTP_STATE_DATA,       /* reading DATA's message */
	SMTP_STATE_BDAT,       /* a BDAT transaction, between its chunks */
	SMTP_STATE__COUNT
};
const char *smtp_state_name(enum smtp_state state);

/* One final recipient of the transaction. */
struct smtp_rcpt {
	char *address;           /* canonical local account, or the external address */
	bool local;
	char *orcpt;             /* DSN ORCPT "type;address" decoded, or NULL */
	unsigned notify;         /* enum smtp_notify bits; 0: not given */
};

/* The mail transaction (RFC 5321 3.3): from MAIL to the end of the data,
 * RSET, EHLO/HELO or STARTTLS. */
struct smtp_txn {
	char *sender;            /* the reverse-path without <>; "" for <> */
	bool smtputf8;           /* MAIL ... SMTPUTF8 */
	enum smtp_ret ret;       /* DSN RET= */
	char *envid;             /* DSN ENVID= decoded, or NULL */
	uint64_t size;           /* SIZE=, 0 when not given */
	struct smtp_rcpt *rcpts;
	size_t n_rcpts;
	void *rcpt_index;        /* tsearch tree of the addresses in rcpts */
	unsigned rcpts_accepted; /* RCPT commands answered 250 */
	unsigned rcpts_refused;  /* RCPT commands refused */
	unsigned rcpts_overshoot; /* of them, refused as too many recipients */
	char *first_rcpt;        /* the only accepted RCPT's path, for Received's FOR */

	/* The message, from DATA or the first BDAT to its end. */
	struct queue_msg *msg;
	char id[32];             /* its queue id (the message is handed over at commit) */
	bool bdat;               /* BDAT was used: no DATA in this transaction */
	bool bdat_failed;        /* a chunk was refused: the rest is dropped until RSET */
	bool flush_due;          /* the message's memory part is full */
	enum queue_error queue_error;   /* the first flush error, QUEUE_OK while none */
	struct smtp_data reader;
	struct smtp_bdat chunks;
	struct mail_header_counter received;   /* the client's Received fields */
	bool header_done;        /* the counter has seen the end of the header */
	/* submission and sendmail: the message's DKIM signer (smtp-sign.c),
	 * NULL when the message is not to be signed */
	struct dkim_signer *dkim;
	bool dkim_failed;        /* a key could not be read: 451, not unsigned */
	struct conn_await *await;       /* waiting for the queue's commit */
	enum queue_error committed;     /* the commit's answer */
};

/* A BDAT chunk whose octets are being read. */
struct smtp_chunk {
	bool active;
	uint64_t left;           /* octets still to come */
	uint64_t size;           /* as announced */
	bool last;
	/* The chunk was refused before its octets: they are read and
	 * dropped, then this reply is given (RFC 3030 2). NULL: stored. */
	const struct smtp_status *refusal;
	const char *refusal_text; /* replaces refusal->text, or NULL */
	bool refusal_counted;     /* an error of its own, not the echo of an earlier one */
};

/* What the session's failures are, whatever layer they came from; one
 * function (smtp_reply_fail) turns them into replies, and only there. */
enum smtp_fail {
	SMTP_FAIL_TEMP,            /* 451 4.3.0 a directory, store or queue error */
	SMTP_FAIL_NO_SPACE,        /* 452 4.3.1 the disk is (nearly) full */
	SMTP_FAIL_TOO_BIG,         /* 552 5.3.4 over [limits] message_size */
	SMTP_FAIL_TOO_MANY_HOPS,   /* 554 5.4.6 over [smtp] max_received */
	SMTP_FAIL_RELAY_DENIED,    /* 554 5.7.1 */
	SMTP_FAIL_ROUTING,         /* 554 5.7.1 percent hack, bang path, quoted @ */
	SMTP_FAIL_UNKNOWN_USER,    /* 550 5.1.1 */
	SMTP_FAIL_OVER_QUOTA,      /* 452 4.2.2 */
	SMTP_FAIL_TOO_MANY_RCPTS,  /* 452 4.5.3, not counted as an error */
	SMTP_FAIL_AUTH_REQUIRED,   /* 530 5.7.0 submission: MAIL before AUTH */
	SMTP_FAIL_AUTH_ENCRYPT,    /* 538 5.7.11 AUTH before TLS */
	SMTP_FAIL_AUTH_INVALID,    /* 535 5.7.8 */
	SMTP_FAIL_AUTH_TEMP,       /* 454 4.7.0 */
	SMTP_FAIL_SENDER_OWNER,    /* 553 5.7.1 submission: not the account's address */
	SMTP_FAIL__COUNT
};

struct smtp_session {
	struct conn *conn;
	const struct config *cfg;
	const struct smtp_context *ctx;
	enum smtp_state state;
	bool waiting;              /* a job, wait or timer runs: no input */
	bool esmtp;                /* EHLO (not HELO) */
	bool trusted;              /* the client is in [smtp] trusted_networks */
	unsigned extensions;       /* enum smtp_extension bits advertised */
	char helo[SMTP_DOMAIN_MAX + 1];
	char *auth_user;           /* the account logged in as (submission) */
	/* SMTP_SERVICE_LOCAL: the peer's uid (SO_PEERCRED) and its user
	 * name, a header word ("unknown" when it has none) */
	unsigned long local_uid;
	char local_user[SMTP_LOCAL_USER_MAX + 1];
	struct sasl *sasl;         /* an AUTH exchange waiting for a response */
	unsigned errors;           /* 4xx/5xx replies counted */
	bool tarpit;               /* wait SMTP_TARPIT_MS before the next command */
	unsigned auth_failures;
	unsigned commands;         /* commands before the first MAIL */
	unsigned junk;             /* NOOP, RSET, VRFY, EXPN, HELP since the last message */
	bool mailed;               /* a MAIL was accepted in this session */
	unsigned messages;         /* accepted in this session */
	/* The command being answered, for the log lines of its replies: the
	 * verb (EHLO/HELO replies carry no enhanced code) and the line,
	 * bounded and escaped, credentials left out. */
	enum smtp_verb verb;
	char cmd_log[128];
	struct smtp_txn txn;
	struct smtp_chunk chunk;
	/* Why the message just ended was refused, for the reply that
	 * follows giving it up. */
	const struct smtp_status *outcome;
};

/* ---- replies (smtp-reply.c) ---- */

/* Every reply goes through here. `enhanced` is the RFC 3463 code ("5.1.1")
 * or NULL; it is left out of the replies to EHLO and HELO (RFC 2034 3).
 * The text is printf-style; a "\n" in it starts another line of a
 * multi-line reply ("250-..." then "250 ..."), each with the enhanced
 * code. A 4xx/5xx reply is logged with the command and counted towards
 * [limits] errors_per_session: from half of it on, the client waits
 * SMTP_TARPIT_MS before each next command; at the limit a 421 follows and
 * the connection is closed. */
void smtp_reply(struct smtp_session *s, unsigned code, const char *enhanced, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
/* The same, logged but not counted (452 4.5.3 too many recipients, which
 * a client meets in the normal course of a large mailing). */
void smtp_reply_uncounted(struct smtp_session *s, unsigned code, const char *enhanced,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A parser's or reader's status, with its detail text (a static string,
 * never client text) after a colon when not NULL. */
void smtp_reply_status(struct smtp_session *s, const struct smtp_status *status,
		       const char *detail);
/* A failure: its reply, and `what` (for the log only) when it is an
 * internal one. */
void smtp_reply_fail(struct smtp_session *s, enum smtp_fail fail, const char *what);
/* The last reply before the server hangs up: "421 4.x.x host text", not
 * counted; the caller closes. */
void smtp_reply_bye(struct smtp_session *s, const char *enhanced, const char *text);
const struct smtp_status *smtp_fail_status(enum smtp_fail fail);
enum smtp_fail smtp_fail_from_queue(enum queue_error error);
enum smtp_fail smtp_fail_from_relay(enum smtp_relay_verdict verdict);

/* ---- the session (smtp-session.c) ---- */

/* Stop taking commands until smtp_session_continue(); for jobs, waits
 * and timers. */
void smtp_session_wait(struct smtp_session *s);
void smtp_session_continue(struct smtp_session *s);
/* Enter a state; sets the idle timeout and the input cap that go with it
 * (RFC 5321 4.5.3.2: [smtp] data_timeout inside a message, idle_timeout
 * waiting for a command; lines up to SMTP_AUTH_LINE_MAX while AUTH is
 * offered, else [smtp] line_length). */
void smtp_session_set_state(struct smtp_session *s, enum smtp_state state);
/* Re-apply the input cap after something it depends on changed (a login,
 * TLS, the end of an AUTH exchange). */
void smtp_session_input_cap(struct smtp_session *s);
/* The host name the session greets with. */
const char *smtp_session_hostname(const struct smtp_session *s);
/* May this client relay (smtp-relay.h)? */
bool smtp_session_may_relay(const struct smtp_session *s);

/* Lifecycle, called by smtp.c's protocol callbacks. */
struct smtp_session *smtp_session_new(struct conn *conn);
void smtp_session_input(struct smtp_session *s);
void smtp_session_tls_ready(struct smtp_session *s);
void smtp_session_timeout(struct smtp_session *s, enum conn_end why);
void smtp_session_free(struct smtp_session *s);

/* ---- the transaction (smtp-txn.c) ---- */

/* Forget the transaction (RFC 5321 4.1.1.5) and go to READY (or START
 * when no EHLO/HELO was given); then(s) runs afterwards, at once or, when
 * a message must be given up, after the job that does it. */
void smtp_txn_reset(struct smtp_session *s, void (*then)(struct smtp_session *s));
/* Give the transaction's message up (a failed BDAT chunk) but keep the
 * transaction; then(s) runs afterwards, as for smtp_txn_reset. */
void smtp_txn_drop_message(struct smtp_session *s, void (*then)(struct smtp_session *s));
/* Add a final recipient unless its address is there already. Returns
 * false, adding nothing, at SMTP_ENVELOPE_RECIPIENTS_MAX. The strings
 * are copied. */
bool smtp_txn_add_rcpt(struct smtp_txn *txn, const char *address, bool local, const char *orcpt,
		       unsigned notify);
/* The envelope of the transaction, for queue_msg_begin; *rcpts_r is a
 * malloc'd array whose strings point into the transaction (free it). */
void smtp_txn_envelope(const struct smtp_session *s, struct queue_envelope *env,
		       struct queue_rcpt **rcpts_r);
/* Free what the transaction holds; a message still open is given up in
 * a job after the close. For the session's end only. */
void smtp_txn_free(struct smtp_session *s);

/* ---- commands ---- */

/* smtp-ehlo.c */
void smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_helo(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_command *cmd);
/* smtp-auth.c */
void smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd);
/* A line read while an AUTH exchange waits for the client's response. */
void smtp_auth_response(struct smtp_session *s, const char *line, size_t len);
/* End an AUTH exchange whose response line was too long (RFC 4954 4). */
void smtp_auth_abort(struct smtp_session *s);
/* Is AUTH offered to this session now (submission, not logged in, TLS
 * or the loopback exception)? */
bool smtp_auth_offered(const struct smtp_session *s);
/* smtp-mail.c */
void smtp_cmd_mail(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd);
/* smtp-receive.c */
void smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd);
/* A BDAT line that is valid but comes out of sequence: read and drop its
 * chunk, then answer 503 5.5.1 with `text`. */
void smtp_bdat_refuse(struct smtp_session *s, const struct smtp_command *cmd, const char *text);
/* Feed the buffered input to DATA's reader or the current BDAT chunk.
 * Returns true when the message or chunk ended and commands follow,
 * false when all input was used and more is needed (or a job runs). */
bool smtp_receive_data(struct smtp_session *s);
bool smtp_receive_chunk(struct smtp_session *s);
/* smtp-sign.c: DKIM signing of what submission and sendmail send */
/* A signer for the message starting now, or NULL when it is not signed
 * (port 25, or no [server] data_dir keys: ctx->dkim NULL). */
struct dkim_signer *smtp_sign_begin(const struct smtp_session *s);
/* The message is complete and accepted: sign it in a job (reading the
 * From domain's keys, the private key operations), put the signatures
 * before it, then run then(s). When a key of the domain cannot be read
 * or fails to sign, txn.dkim_failed is set for then(s) to refuse the
 * message (451 4.3.0: it would leave unsigned). A message that cannot
 * be signed (no From, see dkim_signer_finish) goes unsigned, logged. */
void smtp_sign_finish(struct smtp_session *s, void (*then)(struct smtp_session *s));
/* smtp-basic.c */
void smtp_cmd_rset(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_noop(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_quit(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_expn(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_help(struct smtp_session *s, const struct smtp_command *cmd);

#endif
