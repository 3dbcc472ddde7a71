/* pop3-session - one POP3 session: the state machine of RFC 1939
 * (AUTHORIZATION, TRANSACTION, UPDATE), the command table, the one reply
 * function and the mapping of store/directory errors to replies. The
 * commands live in pop3-auth.c and pop3-mail.c. Internal to src/pop3. */
#ifndef TERN_POP3_POP3_SESSION_H
#define TERN_POP3_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conn.h"
#include "dir/auth-login.h"
#include "dir/auth.h"
#include "pop3/pop3-parser.h"
#include "pop3/pop3-stuff.h"
#include "pop3/pop3.h"
#include "store/store.h"

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
	POP3_STATE__COUNT
};
const char *pop3_state_name(enum pop3_state state);

/* One message of the session's snapshot: message number = index + 1. */
struct pop3_msg {
	uint32_t uid;
	uint64_t size;
	bool deleted;
};

enum pop3_producer_kind {
	POP3_PRODUCER_NONE,
	POP3_PRODUCER_LIST,
	POP3_PRODUCER_UIDL,
	POP3_PRODUCER_MESSAGE,
};

/* A multi-line response: LIST/UIDL written while the output queue has
 * room and continued from protocol->drained (STYLE habit 7); a MESSAGE
 * produced by the core (conn_send_file) through the byte-stuffer. */
struct pop3_producer {
	enum pop3_producer_kind kind;
	size_t next;                  /* LIST/UIDL: next index */
	uint32_t uid;                 /* MESSAGE: what to open */
	uint64_t size;                /* MESSAGE: its stored size */
	struct store_reader *reader;  /* MESSAGE: open until the send's done */
	struct pop3_stuff stuff;
	enum store_error open_error;
};

/* The store side of a login, once the credentials are verified (written
 * by the job thread, read in done). */
struct pop3_login {
	char *address;                /* the account */
	enum store_error store;
	bool store_failed;
};

/* What the session's failures are, whatever layer they came from; one
 * function (pop3_reply_failure) turns them into replies. */
enum pop3_failure {
	POP3_FAIL_AUTH,          /* wrong user or password */
	POP3_FAIL_PLAINTEXT,     /* password before TLS */
	POP3_FAIL_IN_USE,        /* maildrop locked (RFC 1939 8, RFC 2449 8.1.2) */
	POP3_FAIL_TEMP,          /* directory or store unavailable: try later */
	POP3_FAIL_PERM,          /* the store is damaged: no use trying again */
	POP3_FAIL__COUNT
};

struct pop3_session {
	struct conn *conn;
	const struct config *cfg;
	const struct pop3_context *ctx;
	enum pop3_state state;
	unsigned errors;
	unsigned auth_failures;
	unsigned auth_commands;       /* commands in AUTHORIZATION (bounded) */
	bool waiting;                 /* a job, timer or producer runs: no input */

	char *user;                   /* from USER, until PASS */
	struct sasl *sasl;            /* an AUTH exchange waiting for a response */
	struct pop3_login login;

	char *address;                /* logged in as */
	struct store_lock *lock;
	struct store_account *acct;
	struct store_mailbox_ref inbox;  /* its INBOX, as the login found it */
	struct pop3_msg *msgs;
	size_t n_msgs;

	struct pop3_producer producer;
	uint32_t *expunge_uids;
	size_t n_expunge;
	enum store_error expunge_error;

	unsigned retr_count;
	unsigned top_count;
	unsigned dele_count;          /* messages expunged at QUIT */
};

enum pop3_reply_kind {
	POP3_REPLY_OK,     /* "+OK text" */
	POP3_REPLY_ERR,    /* "-ERR text", counted as an error */
	POP3_REPLY_BYE,    /* "-ERR text" before the server hangs up; not counted */
	POP3_REPLY_CONTINUE, /* "+ base64" SASL challenge (RFC 5034 4) */
	POP3_REPLY__COUNT
};

/* Every status line goes through here. An error counts towards [limits]
 * errors_per_session; at the limit "-ERR Too many errors" follows and the
 * connection is closed. Text is printf-style and must hold no CR/LF. */
void pop3_reply(struct pop3_session *s, enum pop3_reply_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reply to a failure with its response code (RFC 2449 8, RFC 3206); `what`
 * goes to the log only. */
void pop3_reply_failure(struct pop3_session *s, enum pop3_failure failure, const char *what);
enum pop3_failure pop3_failure_from_store(enum store_error error);
enum pop3_failure pop3_failure_from_login(enum auth_login_result result);

/* Stop taking commands until pop3_session_continue() (a timer or producer
 * runs; jobs pause input on their own but use these too). */
void pop3_session_wait(struct pop3_session *s);
void pop3_session_continue(struct pop3_session *s);

/* Lifecycle, called by pop3.c's protocol callbacks. */
struct pop3_session *pop3_session_new(struct conn *conn);
void pop3_session_input(struct pop3_session *s);
void pop3_session_drained(struct pop3_session *s);
void pop3_session_tls_ready(struct pop3_session *s);
void pop3_session_timeout(struct pop3_session *s, enum conn_end why);
void pop3_session_free(struct pop3_session *s);

/* Commands (pop3-auth.c). */
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
/* A line read while an AUTH exchange waits for the client's response. */
void pop3_auth_response(struct pop3_session *s, const char *line, size_t len);
/* Free a login's fields. */
void pop3_login_clear(struct pop3_login *login);
/* Abandon an AUTH exchange (line too long): reply -ERR. */
void pop3_auth_abort(struct pop3_session *s, const char *why);

/* Commands (pop3-mail.c). */
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd);
/* Continue a LIST/UIDL producer (from drained). */
void pop3_producer_run(struct pop3_session *s);
/* Free what the producer holds (at close). */
void pop3_producer_free(struct pop3_session *s);

#endif
