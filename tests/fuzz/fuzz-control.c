/* fuzz-control - libFuzzer harness for the control socket's line parsers
 * (core/control.h): the same bytes as a request and as a reply. What
 * parses must be within the protocol's bounds and characters, and
 * written back must be exactly the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_request(const char *line, size_t len)
{
	char again[CONTROL_LINE_MAX + 2];
	struct control_request req;
	const char *error = NULL;
	int n;

	if (control_request_parse(line, len, &req, &error) < 0) {
		if (error == NULL)
			__builtin_trap();
		return;
	}
	if (strlen(req.verb) == 0 || strlen(req.verb) > CONTROL_VERB_MAX ||
	    strlen(req.arg) > CONTROL_ARG_MAX || req.has_arg != (req.arg[0] != '\0'))
		__builtin_trap();
	for (const char *c = req.verb; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
			__builtin_trap();
	for (const char *c = req.arg; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			__builtin_trap();
	n = snprintf(again, sizeof(again), "%s%s%s", req.verb, req.has_arg ? " " : "", req.arg);
	if (n < 0 || (size_t)n != len || memcmp(again, line, len) != 0)
		__builtin_trap();
}

static void fuzz_reply(const char *line, size_t len)
{
	char text[CONTROL_TEXT_MAX + 1], again[CONTROL_TEXT_MAX + 16];
	bool ok;
	int n;

	if (control_reply_parse(line, len, &ok, text) < 0)
		return;
	if (!control_text_ok(text) || (!ok && text[0] == '\0'))
		__builtin_trap();
	n = snprintf(again, sizeof(again), "%s%s%s", ok ? "ok" : "error", text[0] != '\0' ? " " : "",
		     text);
	if (n < 0 || (size_t)n != len || memcmp(again, line, len) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_request((const char *)data, size);
	fuzz_reply((const char *)data, size);
	return 0;
}
