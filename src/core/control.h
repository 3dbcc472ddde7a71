/* control - the running server's control socket, DATA/control.sock: how
 * the `tern` commands reach the server (`tern queue hold ID`).
 *
 * A UNIX stream socket, 0600 and owned by the user the server runs as,
 * inside the 0700 data folder: only that user and root can connect, and
 * the peer's uid (SO_PEERCRED) is checked again. The protocol is one
 * request line per connection and one reply line:
 *   request  VERB [SP ARG] LF     VERB: [a-z-], 1..32; ARG: printable
 *                                 ASCII without space, 1..320
 *   reply    "ok" [SP TEXT] LF | "error" SP TEXT LF   TEXT: printable, no LF
 * The server side serves one connection at a time on a thread of its own,
 * so a command may block (the queue's do SQLite work); a client that
 * sends nothing is cut after a few seconds. */
#ifndef TERN_CORE_CONTROL_H
#define TERN_CORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_SOCKET_NAME "control.sock"
#define CONTROL_VERB_MAX 32
/* An address (254, RFC 5321 4.5.3.1.3) with a few numbers: store-changed. */
#define CONTROL_ARG_MAX 320
/* A request line, without its LF. */
#define CONTROL_LINE_MAX (CONTROL_VERB_MAX + 1 + CONTROL_ARG_MAX)
/* A reply's text. */
#define CONTROL_TEXT_MAX 400

/* ---- the line protocol (no I/O) ---- */

struct control_request {
	char verb[CONTROL_VERB_MAX + 1];
	char arg[CONTROL_ARG_MAX + 1];   /* "" when there is none */
	bool has_arg;
};
/* Parse a request line (without its LF). Returns 0, or -1 with *error_r
 * (a static string) saying what is wrong. */
int control_request_parse(const char *line, size_t len, struct control_request *req_r,
			  const char **error_r);

/* Parse a reply line (without its LF) into *ok_r and its text (copied
 * into text, size CONTROL_TEXT_MAX + 1; "" when an ok has none).
 * Returns 0, or -1 when it is not a reply. */
int control_reply_parse(const char *line, size_t len, bool *ok_r, char *text);

/* Whether text can be a reply's text (printable, no line end, bounded). */
bool control_text_ok(const char *text);

/* ---- the server ---- */

enum control_arg {
	CONTROL_ARG_NONE,
	CONTROL_ARG_OPTIONAL,
	CONTROL_ARG_REQUIRED,
};

/* One command the server answers. run (on the control thread; it may
 * block) writes the reply's text into out (CONTROL_TEXT_MAX + 1 bytes)
 * and returns true for "ok", false for "error"; arg is NULL when none was
 * given. */
struct control_command {
	const char *verb;
	enum control_arg arg;
	bool (*run)(void *ctx, const char *arg, char *out);
};

struct control;
/* Listen on DATA/control.sock (a stale one, from a server that died, is
 * replaced: one server per data folder holds the lock) and answer
 * `commands` (which must outlive it) with ctx. Returns 0, or -1 with a
 * malloc'd *error_r. */
int control_open(const char *data_dir, const struct control_command *commands, size_t n,
		 void *ctx, struct control **control_r, char **error_r);
/* The same with several tables, each with its own ctx (the queue's, the
 * store's), searched in order; at most CONTROL_TABLES_MAX (copied; the
 * commands must outlive the server). */
#define CONTROL_TABLES_MAX 4
struct control_table {
	const struct control_command *commands;
	size_t n;
	void *ctx;
};
int control_open_tables(const char *data_dir, const struct control_table *tables, size_t n_tables,
			struct control **control_r, char **error_r);
/* Stop answering (a request being served is finished first), remove the
 * socket. */
void control_close(struct control **control);

/* ---- the client ---- */

enum control_call_result {
	CONTROL_CALL_OK,          /* the server said ok */
	CONTROL_CALL_REFUSED,     /* the server said error */
	CONTROL_CALL_NO_SERVER,   /* nobody listens on DATA/control.sock */
	CONTROL_CALL_FAILED,      /* another failure talking to it */
};
/* Send one request line (without LF) to the server of data_dir and read
 * its reply; *text_r (malloc'd) gets the reply's text, or for NO_SERVER
 * and FAILED what went wrong. Blocking (at most a few seconds more than
 * the command takes). */
enum control_call_result control_call(const char *data_dir, const char *request, char **text_r);

#endif
