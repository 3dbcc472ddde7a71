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
 * Feeding a command whole or one byte at a time gives the same results. */
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
 * IMAP_PARSE_STREAM): the command. Valid until the next feed that starts
 * a new command. */
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

/* The parser reports CONTINUE for literals but the caller needs it to
 * forget a half-read command (the connection is closing, a STARTTLS). */
void imap_parser_reset(struct imap_parser *parser);

#endif
