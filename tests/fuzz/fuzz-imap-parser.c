/* fuzz-imap-parser - libFuzzer harness for the IMAP command parser:
 * what the client sends, fed whole and again in pieces of pseudo-random
 * sizes, must give the same events both ways, and every command handed
 * out must keep the bounds. Input: one byte of options (limits, the
 * stream bound, the piece sizes' seed), then the client's bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "imap/imap-arg.h"
#include "imap/imap-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_stream(void *ctx, const char *name)
{
	const uint64_t *max = ctx;

	return strcasecmp(name, "APPEND") == 0 ? *max : 0;
}

/* Walk the arguments: the bounds hold, strings end in their NUL. */
static void fuzz_args(struct buf *out, const struct imap_arg *args, size_t n, unsigned depth,
		      const struct imap_parser_limits *lim, size_t *count, size_t *held)
{
	if (depth > lim->max_depth)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];

		if (++*count > lim->max_args || a->str == NULL)
			abort();
		buf_printf(out, " %d:%zu:", (int)a->type, a->len);
		switch (a->type) {
		case IMAP_ARG_LIST:
			fuzz_args(out, a->list, a->n, depth + 1, lim, count, held);
			break;
		case IMAP_ARG_LITERAL:
			if (a->streamed)
				break;
			if (a->len > lim->max_literal)
				abort();
			*held += a->len;
			/* fall through */
		default:
			if (a->str[a->len] != '\0' || (a->type != IMAP_ARG_LITERAL &&
						       strlen(a->str) != a->len))
				abort();
			buf_append(out, a->str, a->len);
		}
	}
	if (*held > lim->max_literals)
		abort();
}

/* What the parser may hold: its buffers grow by doubling. */
static size_t fuzz_memory_max(const struct imap_parser_limits *lim)
{
	return 2 * (lim->max_line + 256) + 2 * (lim->max_line + lim->max_literals + 256) +
	       (size_t)lim->max_args * 2 * 128 + 4096;
}

/* Feed everything in pieces (0: whole); the events as text. */
static void fuzz_run(const char *in, size_t len, const struct imap_parser_limits *lim,
		     uint64_t stream_max, uint32_t seed, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(lim);
	size_t off = 0, arrived = 0;

	imap_parser_set_stream(p, fuzz_stream, &stream_max);
	for (;;) {
		size_t used, count = 0, held = 0;
		enum imap_parse_result r;

		if (arrived == off) {
			size_t piece = len - arrived;

			if (seed != 0) {
				seed = seed * 1103515245u + 12345u;
				piece = (seed >> 16) % 23 + 1;
			}
			if (piece == 0)
				break;
			arrived = len - arrived < piece ? len : arrived + piece;
		}
		r = imap_parser_feed(p, in + off, arrived - off, &used);
		if (used > arrived - off || imap_parser_memory(p) > fuzz_memory_max(lim))
			abort();
		off += used;
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			if (off != arrived)
				abort();
			if (arrived == len)
				goto end;
			break;
		case IMAP_PARSE_COMMAND:
		case IMAP_PARSE_STREAM: {
			const struct imap_parsed *cmd = imap_parser_command(p);

			buf_printf(out, "[%s %s", cmd->tag, cmd->name);
			fuzz_args(out, cmd->args, cmd->n_args, 0, lim, &count, &held);
			buf_append(out, "]", 1);
			if (r == IMAP_PARSE_STREAM) {
				uint64_t n = imap_parser_stream_size(p);

				if (n > stream_max)
					abort();
				off += len - off < n ? len - off : (size_t)n;
				if (arrived < off)
					arrived = off;
				imap_parser_stream_done(p);
			}
			break;
		}
		case IMAP_PARSE_CONTINUE:
			buf_append(out, "+", 1);
			break;
		case IMAP_PARSE_ERROR: {
			const struct imap_parse_error *e = imap_parser_error(p);

			if (e->reason == NULL)
				abort();
			buf_printf(out, "!%s %s %d", e->tag != NULL ? e->tag : "-", e->reason,
				   e->too_big);
			break;
		}
		case IMAP_PARSE__COUNT:
			abort();
		}
	}
end:
	imap_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim;
	struct buf whole, pieces;
	uint64_t stream_max;
	uint8_t opts;

	if (size < 1)
		return 0;
	opts = data[0];
	lim = (struct imap_parser_limits){
		.max_line = (opts & 1) ? 64 : 1024,
		.max_literal = (opts & 2) ? 8 : 300,
		.max_literals = (opts & 4) ? 12 : 400,
		.max_depth = (opts >> 3) & 3,
		.max_args = (opts & 0x20) ? 5 : 100,
	};
	stream_max = (opts & 0x40) ? 0 : 50;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	fuzz_run((const char *)data + 1, size - 1, &lim, stream_max, 0, &whole);
	fuzz_run((const char *)data + 1, size - 1, &lim, stream_max, (uint32_t)size | 1, &pieces);
	if (whole.len != pieces.len || (whole.len > 0 && memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	buf_release(&whole);
	buf_release(&pieces);
	return 0;
}
