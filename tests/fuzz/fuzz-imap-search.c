/* fuzz-imap-search - libFuzzer harness for the SEARCH program reader and
 * evaluator (imap/imap-search.h). Input: a command line after "a SEARCH "
 * (run through the real command parser). A program that reads is
 * evaluated against a fake message, without and with text fed in small
 * pieces: the answers must agree wherever the first one decided. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits fuzz_limits = {
	.max_line = 65536, .max_literal = 4096, .max_literals = 8192,
	.max_depth = 100, .max_args = 5000,
};

static void fuzz_eval(struct imap_search_program *prog, const uint8_t *data, size_t size)
{
	static const uint32_t saved[] = { 2, 5, 9 };
	struct imap_search_msg m = {
		.seq = 2, .uid = 5, .flags = size % 32, .keywords = "Work $Junk",
		.recent = size % 2 == 0, .internal_date = 1764590400, .size = size,
	};
	enum imap_search_value first = imap_search_eval(prog, &m, saved, 3, false);
	enum imap_search_value second;

	imap_search_text_begin(prog);
	imap_search_text_field(prog, true, "Subject", 7, (const char *)data, size / 2);
	imap_search_text_date(prog, 20261201);
	for (size_t off = size / 2; off < size; off += 5)
		imap_search_text_body(prog, (const char *)data + off, size - off < 5 ? size - off : 5);
	imap_search_text_part_end(prog);
	imap_search_text_field(prog, false, "From", 4, (const char *)data, size);
	(void)imap_search_text_settled(prog);
	second = imap_search_eval(prog, &m, saved, 3, true);
	if (second == IMAP_SEARCH_UNKNOWN || (first != IMAP_SEARCH_UNKNOWN && first != second))
		abort();
	if (first == IMAP_SEARCH_UNKNOWN && !prog->needs_text && !prog->needs_date)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *p = imap_parser_new(&fuzz_limits);
	char *line = malloc(size + 12);
	size_t len, off = 0;

	if (line == NULL)
		abort();
	memcpy(line, "a SEARCH ", 9);
	memcpy(line + 9, data, size);
	memcpy(line + 9 + size, "\r\n", 2);
	len = size + 11;
	while (off < len) {
		size_t used = 0;
		enum imap_parse_result r = imap_parser_feed(p, line + off, len - off, &used);

		off += used;
		if (r == IMAP_PARSE_COMMAND) {
			const struct imap_parsed *cmd = imap_parser_command(p);
			struct imap_search_program *prog;
			const char *why;

			if (imap_search_parse(cmd->args, cmd->n_args, 7, 9, &prog, &why) ==
			    IMAP_SEARCH_OK) {
				if (prog == NULL || prog->root == NULL)
					abort();
				fuzz_eval(prog, data, size);
				imap_search_program_free(&prog);
			} else if (prog != NULL || why == NULL) {
				abort();
			}
			break;
		}
		if (r == IMAP_PARSE_ERROR || (r == IMAP_PARSE_NEED_MORE && used == 0))
			break;
	}
	imap_parser_free(&p);
	free(line);
	return 0;
}
