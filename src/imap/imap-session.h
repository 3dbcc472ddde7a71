/* imap-session - one IMAP session: the states of RFC 9051 3, the command
 * table and its dispatch, the reply functions every command uses, and
 * the one mapping of store and directory errors to response codes.
 * Internal to src/imap.
 *
 * Commands run one at a time, in the order they arrived (tagged replies
 * stay in order even when a client pipelines, as Apple Mail does): the
 * session feeds the parser only between commands. A command's run() is
 * called with its arguments; it ends, now or later (after a job, or after
 * a producer has written everything), with exactly one imap_cmd_done.
 * Before the tagged reply, imap_cmd_done lets the selected mailbox send
 * the untagged updates the session owes (imap-selected.h, imap_sync). */
#ifndef TERN_IMAP_IMAP_SESSION_H
#define TERN_IMAP_IMAP_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conn.h"
#include "imap/imap-arg.h"
#include "imap/imap-parser.h"
#include "imap/imap.h"
#include "store/store.h"

struct imap_selected;
struct imap_session;

enum imap_state {
	IMAP_STATE_NOT_AUTHENTICATED,
	IMAP_STATE_AUTHENTICATED,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
	IMAP_STATE__COUNT
};
#define IMAP_IN(state) (1u << (state))
const char *imap_state_name(enum imap_state state);

struct imap_cmd;

enum imap_command_flags {
	IMAP_CMD_UID = 1 << 0,          /* also exists as "UID name" */
	/* FETCH, STORE, SEARCH (not their UID forms): no EXPUNGE may be
	 * sent while it runs or in its reply (RFC 9051 7.5.1). */
	IMAP_CMD_NO_EXPUNGE = 1 << 1,
	/* Read the selected mailbox's changes before the reply even when the
	 * hub has not (yet) said it changed: NOOP and CHECK (how a client
	 * polls), IDLE, APPEND (RFC 9051 6.3.12: EXISTS for a message
	 * appended to the selected mailbox). The hub's word is posted to the
	 * session's loop, so it may come a moment after the change. */
	IMAP_CMD_SYNC = 1 << 2,
};

struct imap_command {
	const char *name;               /* upper case */
	unsigned states;                /* IMAP_IN() bits where it is allowed */
	unsigned flags;                 /* enum imap_command_flags */
	void (*run)(struct imap_cmd *cmd);
	/* Optional: the command streams literals (APPEND's messages, see
	 * imap_parser_set_stream). Called at each streamed literal with the
	 * arguments parsed so far (cmd->args), and again whenever more input
	 * arrives while the literal is being read: it takes the literal's
	 * bytes from conn_input() itself and calls imap_cmd_stream_end()
	 * once they are all consumed (or imap_cmd_done to refuse, see there).
	 * run() is called when the whole command has arrived. */
	void (*stream)(struct imap_cmd *cmd);
	/* Bytes a streamed literal may have (0: the command streams none). */
	uint64_t (*stream_max)(const struct imap_session *s);
};
/* The command table (imap-commands.c): every command, with its run(). */
const struct imap_command *imap_command_find(const char *name, bool uid);

struct imap_cmd {
	struct imap_session *s;
	const struct imap_command *def;
	const char *tag;                /* the parser's: valid until imap_cmd_done */
	const struct imap_arg *args;    /* after the command name (and after "UID") */
	size_t n_args;
	bool uid;                       /* sent as UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE */
	/* A UID command that names message numbers (UID SEARCH 2): no
	 * EXPUNGE or VANISHED in its reply, as for the plain forms (RFC
	 * 7162 3.2.10.2). Set by the command before imap_cmd_done. */
	bool no_expunge;
	/* A streaming command whose rest failed to parse: the parser's
	 * reason, and run() is called to end the command with a BAD. */
	const char *malformed;
	/* The command's own state while it runs; `free_ctx` (may be NULL) is
	 * called by imap_cmd_done and when the connection closes first. */
	void *ctx;
	void (*free_ctx)(struct imap_cmd *cmd);
	/* A producer (FETCH, SEARCH, LIST) that stopped at the output
	 * high-water mark continues here when the output drains. */
	void (*drained)(struct imap_cmd *cmd);
	/* A command that reads lines of its own from the client (AUTHENTICATE's
	 * responses, IDLE's DONE) sets this: the session hands it each line
	 * (without CRLF; valid during the call only) and, once it ends the
	 * command, reads what follows in the same packet as commands. A line
	 * over [imap] line_length is skipped to its end, then handed over as
	 * NULL. Set it with imap_cmd_lines. */
	void (*line)(struct imap_cmd *cmd, const char *line, size_t len);
};

struct imap_session {
	struct conn *conn;
	const struct config *cfg;
	const struct imap_context *ctx;
	enum imap_state state;
	struct imap_parser *parser;
	struct imap_cmd *cmd;           /* the command running, or NULL */
	unsigned errors;                /* BAD and NO replies, for [limits] errors_per_session */
	unsigned auth_failures;         /* failed logins, for [limits] auth_failures */
	unsigned auth_commands;         /* commands before login (bounded, DESIGN 7) */
	bool waiting;                   /* STARTTLS or LOGOUT: read nothing more */
	bool streaming;                 /* cmd reads a streamed literal */
	bool arriving;                  /* cmd streams: the rest of it is still parsed */
	bool in_input;                  /* inside imap_session_input's loop */
	bool partial;                   /* the parser holds part of a command */
	bool skipping_line;             /* cmd's line was too long: dropping it to its end */

	bool capability_asked;          /* told before login (greeting, CAPABILITY): the login OK carries them */
	bool rev2;                      /* ENABLE IMAP4rev2 */
	bool utf8_accept;               /* ENABLE UTF8=ACCEPT: names in UTF-8, not modified UTF-7 */
	bool idling;                    /* inside IDLE, waiting for DONE */
	/* RFC 7162 (imap-condstore.h): MODSEQ in every untagged FETCH, and
	 * HIGHESTMODSEQ at SELECT; qresync (ENABLE QRESYNC, which implies
	 * condstore): VANISHED instead of EXPUNGE, the QRESYNC select
	 * parameter and the VANISHED FETCH modifier. */
	bool condstore;
	bool qresync;

	char *address;                  /* logged in as */
	/* From AUTHENTICATED on while the session is busy; NULL when it gave
	 * the handle back while idle (imap_session_release), taken again
	 * before the next command and by IDLE's syncs. */
	struct store_account *acct;
	/* store_account_id of the handle the login got: taken again only
	 * from that incarnation (store_account_get_again). */
	uint64_t account_id;
	struct imap_selected *selected; /* SELECTED only (imap-selected.h) */
};

/* Replies. Text holds no CR/LF; strings from mail or from the client go
 * through imap_write_string. */
enum imap_status { IMAP_OK, IMAP_NO, IMAP_BAD };

/* "* " fmt CRLF. */
void imap_untagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A continuation request: exactly "+ " text CRLF, the space also when
 * text is empty (the Gmail apps need it). */
void imap_continue(struct imap_session *s, const char *text);
/* Raw bytes, for responses built in pieces (FETCH, LIST). */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* A string as a quoted string when it can be one, else as a literal
 * ({n} CRLF bytes); NIL for NULL. 8-bit bytes go quoted only to an
 * IMAP4rev2 or UTF8=ACCEPT session (RFC 9051 4.3, RFC 6855 3). */
void imap_write_string(struct imap_session *s, const char *str, size_t len);
/* A mailbox name (UTF-8 inside tern) as this session reads it: modified
 * UTF-7 for IMAP4rev1 (RFC 9051 A.1), UTF-8 once IMAP4rev2 or UTF8=ACCEPT
 * is enabled, quoted as imap_write_string does. */
void imap_write_mailbox(struct imap_session *s, const char *name);
/* A mailbox name as the client wrote it, to tern's UTF-8 form: mUTF-7
 * decoded for IMAP4rev1, UTF-8 checked otherwise, INBOX in any case made "INBOX", a trailing
 * "/" dropped. malloc'd; NULL for a name that cannot be one (the caller
 * replies). */
char *imap_mailbox_from_client(struct imap_session *s, const struct imap_arg *arg);
/* The same for a LIST pattern or reference: may be empty, keeps a
 * trailing "/". */
char *imap_pattern_from_client(struct imap_session *s, const struct imap_arg *arg);

/* End the command: the selected mailbox's owed updates first (not EXPUNGE
 * for IMAP_CMD_NO_EXPUNGE commands), then "tag OK [code] text". code may
 * be NULL; it is written inside the brackets as given ("READ-WRITE",
 * "APPENDUID 38505 3955"). BAD and NO count as errors. Frees ctx, and
 * reads the next command. */
void imap_cmd_done(struct imap_cmd *cmd, enum imap_status status, const char *code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* End the command with the response code and text of a store error (the
 * one mapping: NOT_FOUND -> NONEXISTENT or TRYCREATE as `dest` says,
 * EXISTS -> ALREADYEXISTS, HAS_CHILDREN -> HASCHILDREN, NO_SPACE ->
 * OVERQUOTA, TOO_BIG -> TOOBIG / LIMIT, GONE -> the mailbox is gone,
 * IO -> SERVERBUG or UNAVAILABLE, CORRUPT -> SERVERBUG, ...). `what` goes
 * to the log. */
void imap_cmd_fail(struct imap_cmd *cmd, enum store_error error, bool dest, const char *what);

/* Read lines for the running command (struct imap_cmd.line): input is
 * otherwise paused while a command runs. imap_cmd_done stops it. */
void imap_cmd_lines(struct imap_cmd *cmd,
		    void (*line)(struct imap_cmd *cmd, const char *line, size_t len));

/* A streaming command has consumed its literal's bytes: the parser goes
 * on with the rest of the command. To refuse a synchronizing literal
 * instead (its bytes are never sent), call imap_cmd_done without this:
 * the session then forgets the half-read command. */
void imap_cmd_stream_end(struct imap_cmd *cmd);

/* Run work(cmd) off the loop, then done(cmd) on it (conn_job). */
void imap_cmd_job(struct imap_cmd *cmd, void (*work)(struct imap_cmd *cmd),
		  void (*done)(struct imap_cmd *cmd));

/* Give the account handle back (s->acct becomes NULL; the put runs in a
 * job, since it may close the account) unless a job runs: for a session
 * with nothing to do. The next command, or sync, takes it again. */
void imap_session_release(struct imap_session *s);

/* Taking the handle back answered STORE_ERR_GONE: the account was
 * deleted (or deleted and added again) while the session held no handle.
 * Logs it, sends "* BYE" and closes the connection; the running
 * command's tagged reply is never sent. */
void imap_session_account_gone(struct imap_session *s);

/* Lifecycle, called by imap.c's protocol callbacks. */
struct imap_session *imap_session_new(struct conn *conn);
void imap_session_input(struct imap_session *s);
void imap_session_drained(struct imap_session *s);
void imap_session_tls_ready(struct imap_session *s);
void imap_session_timeout(struct imap_session *s, enum conn_end why);
void imap_session_free(struct imap_session *s);

/* The capability list for this session's state and TLS (without
 * "CAPABILITY" itself): for CAPABILITY, the greeting's and the login's
 * response code. */
const char *imap_capabilities(const struct imap_session *s);

#endif
