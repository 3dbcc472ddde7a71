/* imap-parser - the incremental IMAP command parser; see imap-parser.h.
 *
 * A command is read a line at a time: the bytes up to each LF are
 * gathered (bounded by max_line for the whole command), and a complete
 * line is then tokenised at once, which keeps the result the same however
 * the bytes were split. A line that ends in a literal header is followed
 * by the literal's bytes and then by the command's next line; the open
 * lists and the arguments read so far carry over from line to line.
 *
 * Arguments are gathered as nodes that refer to their text by offset into
 * one arena (tag, name, strings, literals), so that growing it never
 * leaves a pointer dangling; the struct imap_arg arrays handed out are
 * built from the nodes when a command (or a streamed literal) is
 * reported. A list's elements must be contiguous there: while a list is
 * open its elements sit on the `pending` stack, and when it closes they
 * move to `done` in one piece. */
#include "imap/imap-parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/number.h"

/* Bytes kept of a line that is being skipped, to see whether it ends in
 * a literal header ("~{" 19 digits "+}"). */
#define IMAP_PARSER_TAIL 32
/* Memory a parser keeps between commands; more is given back. */
#define IMAP_PARSER_KEEP 4096

enum imap_parser_state {
	IMAP_PARSER_LINE,           /* gathering a line of the command */
	IMAP_PARSER_LITERAL,        /* reading a held literal's bytes */
	IMAP_PARSER_STREAM,         /* the caller reads a streamed literal */
	IMAP_PARSER_SKIP_LINE,      /* an error is pending: skipping to the line's end */
	IMAP_PARSER_SKIP_LITERAL,   /* an error is pending: skipping a literal's bytes */
	IMAP_PARSER_DONE,           /* a command or an error was handed out */
};

struct imap_node {
	enum imap_arg_type type;
	size_t off, len;            /* ATOM, QUOTED, LITERAL, NIL: text in the arena */
	size_t first, n;            /* LIST: its elements, done[first .. first + n) */
	bool literal8, streamed;
};

struct imap_node_stack {
	struct imap_node *nodes;
	size_t n, cap;
};

struct imap_parser {
	struct imap_parser_limits limits;
	uint64_t (*stream)(void *ctx, const char *name);
	void *stream_ctx;

	enum imap_parser_state state;
	struct buf line;            /* the line being gathered, without its LF */
	size_t cmd_bytes;           /* the command's bytes outside literals so far */
	bool started;               /* the tag and name were read */
	bool need_sep;              /* the next token must follow a space or ')' */
	struct buf arena;           /* every text of the command, NUL-terminated */
	size_t tag_off, name_off;
	bool have_tag;
	uint64_t stream_max;        /* from the stream callback; 0: nothing streams */
	size_t literals_len;        /* held literal bytes so far */
	unsigned n_nodes;           /* arguments so far, lists' elements included */

	struct imap_node_stack pending; /* top-level arguments and open lists' elements */
	size_t *open;               /* per open list: where its elements start in pending */
	unsigned depth;
	struct imap_node_stack done;    /* elements of closed lists */

	uint64_t literal_left;      /* LITERAL, SKIP_LITERAL: bytes still to come */
	uint64_t literal_size;
	bool literal_sync, literal8;

	struct imap_arg *out;
	size_t out_cap;
	struct imap_parsed parsed;

	char tail[IMAP_PARSER_TAIL];
	size_t tail_len;
	const char *error_reason;
	bool error_too_big;
	struct imap_parse_error error;
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		abort();
	p->limits = *limits;
	p->open = calloc((size_t)limits->max_depth + 1, sizeof(*p->open));
	if (p->open == NULL)
		abort();
	buf_init(&p->line, 0);
	buf_init(&p->arena, 0);
	p->state = IMAP_PARSER_LINE;
	return p;
}

static void imap_parser_release(struct imap_parser *p, bool all)
{
	if (all || p->line.cap > IMAP_PARSER_KEEP)
		buf_release(&p->line);
	if (all || p->arena.cap > IMAP_PARSER_KEEP)
		buf_release(&p->arena);
	if (all || p->pending.cap * sizeof(struct imap_node) > IMAP_PARSER_KEEP) {
		free(p->pending.nodes);
		p->pending = (struct imap_node_stack){ 0 };
	}
	if (all || p->done.cap * sizeof(struct imap_node) > IMAP_PARSER_KEEP) {
		free(p->done.nodes);
		p->done = (struct imap_node_stack){ 0 };
	}
	if (all || p->out_cap * sizeof(struct imap_arg) > IMAP_PARSER_KEEP) {
		free(p->out);
		p->out = NULL;
		p->out_cap = 0;
	}
}

void imap_parser_free(struct imap_parser **parser)
{
	struct imap_parser *p = *parser;

	if (p == NULL)
		return;
	imap_parser_release(p, true);
	free(p->open);
	free(p);
	*parser = NULL;
}

void imap_parser_set_stream(struct imap_parser *parser,
			    uint64_t (*stream)(void *ctx, const char *name), void *ctx)
{
	parser->stream = stream;
	parser->stream_ctx = ctx;
}

/* Forget the command before: the start of a new one. */
static void imap_parser_begin(struct imap_parser *p, bool release_all)
{
	imap_parser_release(p, release_all);
	buf_reset(&p->line);
	buf_reset(&p->arena);
	p->pending.n = 0;
	p->done.n = 0;
	p->depth = 0;
	p->state = IMAP_PARSER_LINE;
	p->cmd_bytes = 0;
	p->started = false;
	p->need_sep = false;
	p->have_tag = false;
	p->stream_max = 0;
	p->literals_len = 0;
	p->n_nodes = 0;
	p->tail_len = 0;
	p->error_reason = NULL;
	p->error_too_big = false;
	memset(&p->parsed, 0, sizeof(p->parsed));
	memset(&p->error, 0, sizeof(p->error));
}

void imap_parser_reset(struct imap_parser *parser)
{
	imap_parser_begin(parser, true);
}

/* RFC 9051 9: ATOM-CHAR is any CHAR but atom-specials. The parser also
 * takes list-wildcards ('%', '*': LIST patterns, sequence sets), '\'
 * (flags) and ']' (ASTRING-CHAR) in the atoms of arguments. */
static bool imap_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

/* A command name: ATOM-CHAR strictly. */
static bool imap_name_char(unsigned char c)
{
	return imap_atom_char(c) && c != '%' && c != '*' && c != '\\' && c != ']';
}

/* RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">. */
static bool imap_tag_char(unsigned char c)
{
	return imap_atom_char(c) && c != '%' && c != '*' && c != '\\' && c != '+';
}

/* The length of the tag that starts s, when a space follows it; 0 else. */
static size_t imap_scan_tag(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && imap_tag_char((unsigned char)s[i]))
		i++;
	return i < len && s[i] == ' ' ? i : 0;
}

static size_t imap_arena_add(struct imap_parser *p, const char *s, size_t len)
{
	size_t off = p->arena.len;

	buf_append(&p->arena, s, len);
	buf_append(&p->arena, "", 1);
	return off;
}

/* Note the error; the command is then skipped to its end. */
static void imap_parser_fail(struct imap_parser *p, const char *reason, bool too_big)
{
	if (p->error_reason == NULL) {
		p->error_reason = reason;
		p->error_too_big = too_big;
	}
}

static enum imap_parse_result imap_parser_report_error(struct imap_parser *p)
{
	p->error.tag = p->have_tag ? p->arena.data + p->tag_off : NULL;
	p->error.reason = p->error_reason;
	p->error.too_big = p->error_too_big;
	p->state = IMAP_PARSER_DONE;
	return IMAP_PARSE_ERROR;
}

static struct imap_node *imap_node_push(struct imap_node_stack *st)
{
	if (st->n == st->cap) {
		st->cap = st->cap == 0 ? 16 : st->cap * 2;
		st->nodes = realloc(st->nodes, st->cap * sizeof(*st->nodes));
		if (st->nodes == NULL)
			abort();
	}
	st->nodes[st->n] = (struct imap_node){ 0 };
	return &st->nodes[st->n++];
}

/* A new argument (max_args bounds them all), or NULL after an error. */
static struct imap_node *imap_parser_node(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_node *node;

	if (p->n_nodes >= p->limits.max_args) {
		imap_parser_fail(p, "Too many arguments", true);
		return NULL;
	}
	p->n_nodes++;
	node = imap_node_push(&p->pending);
	node->type = type;
	return node;
}

static bool imap_parser_list_open(struct imap_parser *p)
{
	if (p->depth >= p->limits.max_depth) {
		imap_parser_fail(p, "Lists nested too deeply", true);
		return false;
	}
	if (imap_parser_node(p, IMAP_ARG_LIST) == NULL)
		return false;
	p->open[p->depth++] = p->pending.n;
	return true;
}

static bool imap_parser_list_close(struct imap_parser *p)
{
	size_t start, n;
	struct imap_node *list;

	if (p->depth == 0) {
		imap_parser_fail(p, "Unexpected ')'", false);
		return false;
	}
	start = p->open[--p->depth];
	n = p->pending.n - start;
	list = &p->pending.nodes[start - 1];
	list->first = p->done.n;
	list->n = n;
	for (size_t i = 0; i < n; i++)
		*imap_node_push(&p->done) = p->pending.nodes[start + i];
	p->pending.n = start;
	return true;
}

/* The end of an atom that starts at s[pos]. An atom holding '[' runs to
 * the matching ']', spaces and parentheses included (BODY[HEADER.FIELDS
 * (From)]); when the line holds no such ']', the '[' is an ordinary
 * character ("[Gmail]/Sent" is an atom either way). */
static size_t imap_scan_atom(const char *s, size_t len, size_t pos)
{
	unsigned brackets = 0;
	size_t i = pos;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (brackets > 0) {
			if (c < 0x20 || c >= 0x7f)
				break;
			if (c == '[')
				brackets++;
			else if (c == ']')
				brackets--;
		} else if (c == '[') {
			brackets++;
		} else if (!imap_atom_char(c)) {
			break;
		}
		i++;
	}
	if (brackets > 0) {
		for (i = pos; i < len && imap_atom_char((unsigned char)s[i]); i++)
			;
	}
	return i;
}

/* A quoted string at s[pos] (the '"'): its text, escapes undone, into the
 * arena. Returns the position after the closing '"', 0 on error. */
static size_t imap_parser_quoted(struct imap_parser *p, const char *s, size_t len, size_t pos)
{
	struct imap_node *node;
	size_t off = p->arena.len, i;

	for (i = pos + 1; i < len && s[i] != '"'; i++) {
		char c = s[i];

		if (c == '\\') {
			/* RFC 9051 9: quoted-specials are the only escapes. */
			if (i + 1 == len || (s[i + 1] != '"' && s[i + 1] != '\\')) {
				imap_parser_fail(p, "Invalid escape in quoted string", false);
				return 0;
			}
			c = s[++i];
		} else if (c == '\0' || c == '\r') {
			imap_parser_fail(p, "NUL or CR in quoted string", false);
			return 0;
		}
		buf_append(&p->arena, &c, 1);
	}
	if (i == len) {
		imap_parser_fail(p, "Missing '\"'", false);
		return 0;
	}
	buf_append(&p->arena, "", 1);
	if ((node = imap_parser_node(p, IMAP_ARG_QUOTED)) == NULL)
		return 0;
	node->off = off;
	node->len = p->arena.len - 1 - off;
	return i + 1;
}

/* A literal header "{n}", "{n+}" or "~{n}" (RFC 9051 4.3, RFC 7888,
 * RFC 3516), exactly s[0..len): its size and kind. */
static bool imap_literal_header(const char *s, size_t len, uint64_t *size_r, bool *sync_r,
				bool *literal8_r)
{
	size_t start;

	*literal8_r = len > 0 && s[0] == '~';
	start = *literal8_r ? 2 : 1;
	if (len < start + 2 || s[start - 1] != '{' || s[len - 1] != '}')
		return false;
	*sync_r = s[len - 2] != '+';
	/* RFC 9051 9: number64, at most 2^63 - 1. */
	return number_parse_u64(s + start, len - 1 - (*sync_r ? 0 : 1) - start, INT64_MAX,
				size_r);
}

/* The line s[0..len) ends in a non-synchronizing literal header: its size. */
static bool imap_trailing_nonsync(const char *s, size_t len, uint64_t *size_r)
{
	const char *open = memrchr(s, '{', len);
	bool sync, literal8;
	size_t start;

	if (open == NULL)
		return false;
	start = (size_t)(open - s);
	if (start > 0 && s[start - 1] == '~')
		start--;
	return imap_literal_header(s + start, len - start, size_r, &sync, &literal8) && !sync;
}

/* A line that failed: skip a non-synchronizing literal it ends in (RFC
 * 7888 4: the client sends it anyway) and the rest of the command;
 * otherwise the command ends here. */
static enum imap_parse_result imap_parser_line_failed(struct imap_parser *p, const char *s,
						      size_t len)
{
	uint64_t size;

	if (imap_trailing_nonsync(s, len, &size)) {
		p->literal_left = size;
		p->state = IMAP_PARSER_SKIP_LITERAL;
		return IMAP_PARSE_NEED_MORE;
	}
	return imap_parser_report_error(p);
}

/* Build the struct imap_arg arrays of what was read. */
static void imap_parser_finish_args(struct imap_parser *p)
{
	size_t n = p->done.n + p->pending.n;

	if (n > p->out_cap) {
		p->out = realloc(p->out, n * sizeof(*p->out));
		if (p->out == NULL)
			abort();
		p->out_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct imap_node *node = i < p->done.n ? &p->done.nodes[i] :
			&p->pending.nodes[i - p->done.n];
		struct imap_arg *arg = &p->out[i];

		*arg = (struct imap_arg){ .type = node->type, .str = "", .len = node->len,
			.literal8 = node->literal8, .streamed = node->streamed };
		if (node->type == IMAP_ARG_LIST) {
			arg->list = p->out + node->first;
			arg->n = node->n;
		} else if (!node->streamed) {
			arg->str = p->arena.data + node->off;
		}
	}
	p->parsed.tag = p->arena.data + p->tag_off;
	p->parsed.name = p->arena.data + p->name_off;
	p->parsed.args = p->out + p->done.n;
	p->parsed.n_args = p->pending.n;
}

/* The tag and the command name at the start of the command's first line;
 * returns the position after them, 0 on error. */
static size_t imap_parser_head(struct imap_parser *p, const char *s, size_t len)
{
	size_t tag_len = imap_scan_tag(s, len), pos, start;

	if (tag_len == 0) {
		size_t i = 0;

		while (i < len && imap_tag_char((unsigned char)s[i]))
			i++;
		if (i > 0 && i == len) {
			p->tag_off = imap_arena_add(p, s, i);
			p->have_tag = true;
			imap_parser_fail(p, "Missing command name", false);
		} else {
			imap_parser_fail(p, i == 0 ? "Missing tag" : "Invalid tag", false);
		}
		return 0;
	}
	p->tag_off = imap_arena_add(p, s, tag_len);
	p->have_tag = true;
	for (pos = tag_len; pos < len && s[pos] == ' '; pos++)
		;
	for (start = pos; pos < len && imap_name_char((unsigned char)s[pos]); pos++)
		;
	if (pos == start || (pos < len && s[pos] != ' ')) {
		imap_parser_fail(p, pos == start ? "Missing command name" : "Invalid command name",
				 false);
		return 0;
	}
	p->name_off = imap_arena_add(p, s + start, pos - start);
	p->started = true;
	if (p->stream != NULL)
		p->stream_max = p->stream(p->stream_ctx, p->arena.data + p->name_off);
	p->need_sep = true;
	return pos;
}

/* The literal header tok[0..tok_len) that must end the line s[0..len):
 * start reading the literal. */
static enum imap_parse_result imap_parser_literal(struct imap_parser *p, const char *tok,
						  size_t tok_len, const char *s, size_t len)
{
	struct imap_node *node;
	uint64_t size;
	bool sync, literal8;

	if (!imap_literal_header(tok, tok_len, &size, &sync, &literal8)) {
		imap_parser_fail(p, "Invalid literal", false);
		return imap_parser_line_failed(p, s, len);
	}
	/* APPEND's messages: top-level literals after the mailbox name. */
	bool stream = p->stream_max > 0 && p->depth == 0 && p->pending.n >= 1;
	uint64_t max = stream ? p->stream_max : p->limits.max_literal;

	/* RFC 9051 9 / RFC 3516: literal8 is append-data only. */
	if (literal8 && !stream) {
		imap_parser_fail(p, "Literal8 only for a message to append", false);
		return imap_parser_line_failed(p, s, len);
	}
	if (!stream && max > p->limits.max_literals - p->literals_len)
		max = p->limits.max_literals - p->literals_len;
	if (size > max) {
		imap_parser_fail(p, "Literal too big", true);
		return imap_parser_line_failed(p, s, len);
	}
	if ((node = imap_parser_node(p, IMAP_ARG_LITERAL)) == NULL)
		return imap_parser_line_failed(p, s, len);
	node->literal8 = literal8;
	node->len = (size_t)size;
	p->literal_size = size;
	p->literal_sync = sync;
	p->literal8 = literal8;
	p->need_sep = true;
	if (stream) {
		node->streamed = true;
		p->state = IMAP_PARSER_STREAM;
		imap_parser_finish_args(p);
		return IMAP_PARSE_STREAM;
	}
	node->off = p->arena.len;
	p->literal_left = size;
	p->state = IMAP_PARSER_LITERAL;
	if (size == 0) {
		buf_append(&p->arena, "", 1);
		p->state = IMAP_PARSER_LINE;
	}
	return sync ? IMAP_PARSE_CONTINUE : IMAP_PARSE_NEED_MORE;
}

/* A whole line of the command (its line end removed). */
static enum imap_parse_result imap_parser_line(struct imap_parser *p)
{
	const char *s = p->line.data != NULL ? p->line.data : "";
	size_t len = p->line.len, pos = 0;

	if (!p->started) {
		/* An empty line between commands is ignored, as Dovecot does. */
		if (len == 0) {
			p->cmd_bytes = 0;
			return IMAP_PARSE_NEED_MORE;
		}
		if ((pos = imap_parser_head(p, s, len)) == 0)
			return imap_parser_line_failed(p, s, len);
	}
	while (pos < len) {
		unsigned char c = (unsigned char)s[pos];
		struct imap_node *node;
		size_t end;

		if (c == ' ') {
			/* More than one space is taken as one. */
			p->need_sep = false;
			pos++;
			continue;
		}
		if (c == ')') {
			if (!imap_parser_list_close(p))
				return imap_parser_line_failed(p, s, len);
			p->need_sep = true;
			pos++;
			continue;
		}
		if (p->need_sep) {
			imap_parser_fail(p, "Missing space between arguments", false);
			return imap_parser_line_failed(p, s, len);
		}
		if (c == '(') {
			if (!imap_parser_list_open(p))
				return imap_parser_line_failed(p, s, len);
			pos++;
			continue;
		}
		p->need_sep = true;
		if (c == '"') {
			if ((pos = imap_parser_quoted(p, s, len, pos)) == 0)
				return imap_parser_line_failed(p, s, len);
			continue;
		}
		if (c == '{' || (c == '~' && pos + 1 < len && s[pos + 1] == '{')) {
			return imap_parser_literal(p, s + pos, len - pos, s, len);
		}
		end = imap_scan_atom(s, len, pos);
		if (end < len && s[end] != ' ' && s[end] != ')') {
			imap_parser_fail(p, (unsigned char)s[end] >= 0x80 ? "8-bit data in atom" :
					 "Invalid characters in atom", false);
			return imap_parser_line_failed(p, s, len);
		}
		bool nil = end - pos == 3 && strncasecmp(s + pos, "NIL", 3) == 0;

		if ((node = imap_parser_node(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM)) == NULL)
			return imap_parser_line_failed(p, s, len);
		node->off = imap_arena_add(p, s + pos, end - pos);
		node->len = end - pos;
		pos = end;
	}
	if (p->depth > 0) {
		imap_parser_fail(p, "Missing ')'", false);
		return imap_parser_report_error(p);
	}
	imap_parser_finish_args(p);
	p->state = IMAP_PARSER_DONE;
	return IMAP_PARSE_COMMAND;
}

/* Keep the last bytes of a line being skipped. */
static void imap_parser_tail(struct imap_parser *p, const char *data, size_t len)
{
	if (len >= IMAP_PARSER_TAIL) {
		memcpy(p->tail, data + len - IMAP_PARSER_TAIL, IMAP_PARSER_TAIL);
		p->tail_len = IMAP_PARSER_TAIL;
		return;
	}
	if (p->tail_len + len > IMAP_PARSER_TAIL) {
		size_t drop = p->tail_len + len - IMAP_PARSER_TAIL;

		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, data, len);
	p->tail_len += len;
}

/* LINE: gather bytes up to the LF, then parse the line. */
static enum imap_parse_result imap_parser_line_input(struct imap_parser *p, const char *data,
						     size_t len, size_t *used_r)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - data) : len;
	size_t room = p->limits.max_line - p->cmd_bytes;

	if (n + (lf != NULL) > room) {
		/* Too long: keep what fits for the tag, skip the rest. */
		size_t keep = room < n ? room : n;

		buf_append(&p->line, data, keep);
		if (!p->started) {
			size_t tag_len = imap_scan_tag(p->line.data, p->line.len);

			if (tag_len > 0) {
				p->tag_off = imap_arena_add(p, p->line.data, tag_len);
				p->have_tag = true;
			}
		}
		imap_parser_fail(p, "Command line too long", true);
		p->tail_len = 0;
		imap_parser_tail(p, p->line.data, p->line.len);
		buf_reset(&p->line);
		p->state = IMAP_PARSER_SKIP_LINE;
		*used_r = keep;
		return IMAP_PARSE_NEED_MORE;
	}
	buf_append(&p->line, data, n);
	p->cmd_bytes += n;
	*used_r = n;
	if (lf == NULL)
		return IMAP_PARSE_NEED_MORE;
	/* A bare LF ends a line as CRLF does (clients send it). */
	p->cmd_bytes++;
	*used_r = n + 1;
	if (p->line.len > 0 && p->line.data[p->line.len - 1] == '\r') {
		p->line.len--;
		p->line.data[p->line.len] = '\0';
	}
	enum imap_parse_result r = imap_parser_line(p);

	buf_reset(&p->line);
	return r;
}

/* SKIP_LINE: drop bytes to the LF; a non-synchronizing literal at the
 * line's end is skipped too, then the line after it. */
static enum imap_parse_result imap_parser_skip_line(struct imap_parser *p, const char *data,
						    size_t len, size_t *used_r)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - data) : len;
	uint64_t size;

	imap_parser_tail(p, data, n);
	*used_r = lf != NULL ? n + 1 : n;
	if (lf == NULL)
		return IMAP_PARSE_NEED_MORE;
	if (p->tail_len > 0 && p->tail[p->tail_len - 1] == '\r')
		p->tail_len--;
	if (imap_trailing_nonsync(p->tail, p->tail_len, &size)) {
		p->literal_left = size;
		p->state = IMAP_PARSER_SKIP_LITERAL;
		p->tail_len = 0;
		return IMAP_PARSE_NEED_MORE;
	}
	return imap_parser_report_error(p);
}

enum imap_parse_result imap_parser_feed(struct imap_parser *parser, const char *data,
					size_t len, size_t *used_r)
{
	struct imap_parser *p = parser;
	enum imap_parse_result r = IMAP_PARSE_NEED_MORE;
	size_t used = 0;

	if (p->state == IMAP_PARSER_STREAM) {
		*used_r = 0;
		return IMAP_PARSE_STREAM;
	}
	if (p->state == IMAP_PARSER_DONE && len > 0)
		imap_parser_begin(p, false);
	while (used < len && r == IMAP_PARSE_NEED_MORE) {
		size_t n = 0;

		switch (p->state) {
		case IMAP_PARSER_LINE:
			r = imap_parser_line_input(p, data + used, len - used, &n);
			break;
		case IMAP_PARSER_LITERAL:
			n = p->literal_left < len - used ? (size_t)p->literal_left : len - used;
			buf_append(&p->arena, data + used, n);
			p->literal_left -= n;
			if (p->literal_left == 0) {
				buf_append(&p->arena, "", 1);
				p->literals_len += (size_t)p->literal_size;
				p->state = IMAP_PARSER_LINE;
			}
			break;
		case IMAP_PARSER_SKIP_LITERAL:
			n = p->literal_left < len - used ? (size_t)p->literal_left : len - used;
			p->literal_left -= n;
			if (p->literal_left == 0)
				p->state = IMAP_PARSER_SKIP_LINE;
			break;
		case IMAP_PARSER_SKIP_LINE:
			r = imap_parser_skip_line(p, data + used, len - used, &n);
			break;
		case IMAP_PARSER_STREAM:
		case IMAP_PARSER_DONE:
			/* A command ended inside this feed: the rest waits. */
			*used_r = used;
			return r;
		}
		used += n;
	}
	*used_r = used;
	return r;
}

const struct imap_parsed *imap_parser_command(const struct imap_parser *parser)
{
	return &parser->parsed;
}

uint64_t imap_parser_stream_size(const struct imap_parser *parser)
{
	return parser->literal_size;
}

bool imap_parser_stream_sync(const struct imap_parser *parser)
{
	return parser->literal_sync;
}

bool imap_parser_stream_literal8(const struct imap_parser *parser)
{
	return parser->literal8;
}

void imap_parser_stream_done(struct imap_parser *parser)
{
	if (parser->state == IMAP_PARSER_STREAM)
		parser->state = IMAP_PARSER_LINE;
}

size_t imap_parser_memory(const struct imap_parser *parser)
{
	return parser->line.cap + parser->arena.cap +
	       (parser->pending.cap + parser->done.cap) * sizeof(struct imap_node) +
	       parser->out_cap * sizeof(struct imap_arg);
}

const struct imap_parse_error *imap_parser_error(const struct imap_parser *parser)
{
	return &parser->error;
}
