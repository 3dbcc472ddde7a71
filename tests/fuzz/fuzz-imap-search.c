/* fuzz-imap-search - libFuzzer harness for the SEARCH program reader and
 * evaluator (imap/imap-search.h). Input: a command line after "a SEARCH "
 * (run through the real command parser). A program that reads is
 * evaluated against a fake message, without and with text fed in small
 * pieces: the answers must agree wherever the first one decided. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-imap-command.h"
#include "imap/imap-search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static void fuzz_search(const struct imap_parsed *cmd, const uint8_t *data, size_t size)
{
	struct imap_search_program *prog;
	const char *why;

	if (imap_search_parse(cmd->args, cmd->n_args, 7, 9, &prog, &why) == IMAP_SEARCH_OK) {
		if (prog == NULL || prog->root == NULL)
			abort();
		fuzz_eval(prog, data, size);
		imap_search_program_free(&prog);
	} else if (prog != NULL || why == NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_imap_command("a SEARCH ", data, size, fuzz_search);
	return 0;
}
