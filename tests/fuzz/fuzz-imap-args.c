/* fuzz-imap-args - libFuzzer harness for what the session reads out of
 * parsed commands: the client's bytes go through the real parser, then
 * every list argument through the STATUS item reader, every string
 * through the date-time reader, and every pair of strings through LIST's
 * pattern matcher, checked against a plain table-driven matcher (on short
 * strings). Never a crash; the two matchers always agree. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imap/imap-commands.h"
#include "imap/imap-date.h"
#include "imap/imap-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ORACLE_MAX 24

/* The plain matcher: m[i][k] says whether p[i..] matches n[k..], filled
 * from the ends (a table, not a recursion, whose cost grows
 * exponentially with the stars of a pattern). */
static bool fuzz_match(const char *p, const char *n)
{
	size_t lp = strlen(p), ln = strlen(n);
	bool m[FUZZ_ORACLE_MAX + 1][FUZZ_ORACLE_MAX + 1];

	for (size_t i = lp + 1; i-- > 0;) {
		for (size_t k = ln + 1; k-- > 0;) {
			if (i == lp)
				m[i][k] = k == ln;
			else if (p[i] == '*')
				m[i][k] = m[i + 1][k] || (k < ln && m[i][k + 1]);
			else if (p[i] == '%')
				m[i][k] = m[i + 1][k] || (k < ln && n[k] != '/' && m[i][k + 1]);
			else
				m[i][k] = k < ln && p[i] == n[k] && m[i + 1][k + 1];
		}
	}
	return m[0][0];
}

static void fuzz_strings(const struct imap_arg *args, size_t n, const char **strs, size_t *n_strs)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		unsigned items;
		int64_t when;

		if (a->type == IMAP_ARG_LIST) {
			(void)imap_status_items_parse(a, &items);
			fuzz_strings(a->list, a->n, strs, n_strs);
			continue;
		}
		if (a->streamed || a->type == IMAP_ARG_NIL)
			continue;
		(void)imap_date_time_parse(a->str, a->len, &when);
		if (*n_strs < 16 && strlen(a->str) == a->len)
			strs[(*n_strs)++] = a->str;
	}
}

static void fuzz_command(const struct imap_parsed *cmd)
{
	const char *strs[16];
	size_t n = 0;

	fuzz_strings(cmd->args, cmd->n_args, strs, &n);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < n; k++) {
			bool got = imap_list_match(strs[i], strs[k]);

			if (strlen(strs[i]) <= FUZZ_ORACLE_MAX && strlen(strs[k]) <= FUZZ_ORACLE_MAX &&
			    got != fuzz_match(strs[i], strs[k]))
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imap_parser_limits limits = {
		.max_line = 4096, .max_literal = 4096, .max_literals = 16384,
		.max_depth = 8, .max_args = 256,
	};
	struct imap_parser *parser = imap_parser_new(&limits);
	const char *p = (const char *)data;

	while (size > 0) {
		size_t used = 0;
		enum imap_parse_result r = imap_parser_feed(parser, p, size, &used);

		p += used;
		size -= used;
		if (r == IMAP_PARSE_COMMAND)
			fuzz_command(imap_parser_command(parser));
		else if (r == IMAP_PARSE_NEED_MORE && used == 0)
			break;
	}
	imap_parser_free(&parser);
	return 0;
}
