/* fuzz-imap-command - what the IMAP harnesses that read a command's
 * arguments share: the input, after a prefix ("a SEARCH "), run through
 * the real command parser, and the parsed command handed over. */
#ifndef TERN_FUZZ_IMAP_COMMAND_H
#define TERN_FUZZ_IMAP_COMMAND_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"

static const struct imap_parser_limits fuzz_imap_limits = {
	.max_line = 65536, .max_literal = 4096, .max_literals = 8192,
	.max_depth = 100, .max_args = 5000,
};

/* Feed prefix, data and CRLF; call fn(cmd, data, size) when a command
 * is read (not when the parser refuses the line). */
static inline void fuzz_imap_command(const char *prefix, const uint8_t *data, size_t size,
				     void (*fn)(const struct imap_parsed *cmd, const uint8_t *data,
						size_t size))
{
	struct imap_parser *p = imap_parser_new(&fuzz_imap_limits);
	size_t plen = strlen(prefix), len = plen + size + 2, off = 0;
	char *line = malloc(len);

	if (line == NULL)
		abort();
	memcpy(line, prefix, plen);
	memcpy(line + plen, data, size);
	memcpy(line + plen + size, "\r\n", 2);
	while (off < len) {
		size_t used = 0;
		enum imap_parse_result r = imap_parser_feed(p, line + off, len - off, &used);

		off += used;
		if (r == IMAP_PARSE_COMMAND) {
			fn(imap_parser_command(p), data, size);
			break;
		}
		if (r == IMAP_PARSE_ERROR || (r == IMAP_PARSE_NEED_MORE && used == 0))
			break;
	}
	imap_parser_free(&p);
	free(line);
}

#endif
