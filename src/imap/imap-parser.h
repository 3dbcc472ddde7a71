/* imap-parser - the incremental IMAP command parser: fed the client's
 * bytes in pieces of any size, it hands back one command at a time (tag,
 * name, arguments as struct imap_arg). No I/O: the session writes what
 * the parser asks for (the "+ " continuation of a synchronizing literal)
 * and reads the bytes of a streamed literal (APPEND) itself.
 *
 * Literals (RFC 9051 4.3, RFC 7888 LITERAL+ / LITERAL-): a synchronizing
 * literal {n} is accepted only when its size is within the bounds, then
 * IMAP_PARSE_CONTINUE says "send the continuation now"; refused, the
 * command ends in IMAP_PARSE_ERROR and the client never sends the bytes,
 * so the session stays in step. A non-synchronizing literal {n+} that is
 * refused is read and discarded before the error, for the same reason.
 *
 * Bounds (struct imap_parser_limits): the command's bytes outside
 * literals, each literal held in memory and all of them together, nesting
 * depth, argument count. A command over a bound is skipped to its end
 * and reported as IMAP_PARSE_ERROR (with its tag when it was read).
 *
 * Feeding a command whole or one byte at a time gives the same results.
 *
 * What the parser reads (RFC 9051 9, and where the RFC leaves room):
 * - tag SP name [SP arguments] CRLF. The tag is any ASTRING-CHAR but '+';
 *   the name is an atom. "UID FETCH 1 FLAGS" arrives as name "UID" with
 *   "FETCH" as its first argument: the session resolves it.
 * - A bare LF ends a line as CRLF does (clients send it); an empty line
 *   between commands is ignored, as Dovecot does; more than one space
 *   between arguments counts as one, and a space before the line end or
 *   a ')' is allowed. A line without a tag, or with a tag and no name, is
 *   an error (with the tag when there was one).
 * - Atoms take '\', '%', '*' and ']' besides ATOM-CHAR (flags, LIST
 *   patterns, sequence sets); an atom holding '[' runs to its ']' (see
 *   imap-arg.h), and when the line has no such ']' the '[' is an ordinary
 *   character. No 8-bit bytes in atoms; quoted strings take them (UTF-8,
 *   RFC 9051 / UTF8=ACCEPT), but not NUL, CR or LF, and only \" and \\
 *   as escapes.
 * - A literal header ends its line; its bytes are the literal. ~{n}
 *   (literal8) only at the message position of a streaming command (RFC
 *   9051 9: append-data), an error elsewhere. A held literal may hold NUL
 *   bytes.
 * - Streaming: the literals at the message position are the top-level
 *   arguments after the first one (APPEND mailbox [flags] [date] message,
 *   repeated for MULTIAPPEND, RFC 3502). Each is reported as
 *   IMAP_PARSE_STREAM, with the arguments so far, the streamed literal the
 *   last of them (struct imap_arg streamed); its bytes never pass through
 *   the parser. */
#ifndef TERN_IMAP_IMAP_PARSER_H
#define TERN_IMAP_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-arg.h"

struct imap_parser;

struct imap_parser_limits {
	size_t max_line;           /* bytes of a command outside literals ([imap] line_length) */
	size_t max_literal;        /* one literal held in memory */
	size_t max_literals;       /* all literals of one command held in memory */
	unsigned max_depth;        /* nesting of lists */
	unsigned max_args;         /* arguments of one command, lists' elements included */
};

enum imap_parse_result {
	IMAP_PARSE_NEED_MORE,      /* everything fed is used: feed more */
	IMAP_PARSE_COMMAND,        /* a whole command: imap_parser_command() */
	IMAP_PARSE_CONTINUE,       /* a synchronizing literal was accepted:
	                            * write "+ " text CRLF, then feed more */
	IMAP_PARSE_STREAM,         /* a literal the command streams (see
	                            * imap_parser_set_stream): its size is in
	                            * imap_parser_stream_size(); the caller reads
	                            * those bytes itself (after writing "+ "
	                            * when imap_parser_stream_sync() is true),
	                            * then calls imap_parser_stream_done() */
	IMAP_PARSE_ERROR,          /* a malformed or refused command: tag and
	                            * reason in imap_parser_error() */
	IMAP_PARSE__COUNT
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **parser);

/* Which literals are streamed rather than held: `stream(ctx, name)` is
 * asked once the command's name is read (name as written, e.g. "APPEND");
 * when it returns the maximum size it streams (> 0), every literal of that
 * command at the message position is reported as IMAP_PARSE_STREAM, up to
 * that size (a larger one is refused as for max_literal, with "TOOBIG"). */
void imap_parser_set_stream(struct imap_parser *parser,
			    uint64_t (*stream)(void *ctx, const char *name), void *ctx);

/* Parse data[0..len). *used_r gets the bytes consumed (consume them from
 * the input buffer); call again with the rest until NEED_MORE. */
enum imap_parse_result imap_parser_feed(struct imap_parser *parser, const char *data,
					size_t len, size_t *used_r);

/* After IMAP_PARSE_COMMAND (and, with the arguments so far, after
 * IMAP_PARSE_STREAM): the command. After COMMAND it is valid until the
 * next feed that starts a new command (a feed of 0 bytes does not) or
 * imap_parser_reset; after STREAM until the next feed. */
struct imap_parsed {
	const char *tag;
	const char *name;          /* as written; commands match it ignoring case */
	const struct imap_arg *args;
	size_t n_args;
};
const struct imap_parsed *imap_parser_command(const struct imap_parser *parser);

uint64_t imap_parser_stream_size(const struct imap_parser *parser);
bool imap_parser_stream_sync(const struct imap_parser *parser);
bool imap_parser_stream_literal8(const struct imap_parser *parser);
void imap_parser_stream_done(struct imap_parser *parser);

/* After IMAP_PARSE_ERROR: the tag (NULL when none was read: the reply is
 * then untagged "* BAD") and why; `too_big` when a bound was crossed
 * (reply with [TOOBIG] or [LIMIT]). */
struct imap_parse_error {
	const char *tag;
	const char *reason;
	bool too_big;
};
const struct imap_parse_error *imap_parser_error(const struct imap_parser *parser);

/* The bytes of command memory the parser holds (its buffers' sizes, not
 * the struct itself): bounded by the limits whatever it is fed, 0 after
 * imap_parser_reset. For tests and the idle-memory figures. */
size_t imap_parser_memory(const struct imap_parser *parser);

/* Forget a half-read command (the connection is closing, a STARTTLS),
 * and give back every byte of command memory: a session may call it
 * whenever no command is running (between commands, in IDLE), so that
 * an idle parser holds nothing but itself. */
void imap_parser_reset(struct imap_parser *parser);

#endif
