/* control-proto - the control socket's request and reply lines, parsed
 * without I/O; see control.h. */
#include <string.h>

#include "core/control.h"

static bool control_verb_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '-';
}

static bool control_arg_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

int control_request_parse(const char *line, size_t len, struct control_request *req_r,
			  const char **error_r)
{
	const char *sp = memchr(line, ' ', len);
	size_t vlen = sp != NULL ? (size_t)(sp - line) : len;
	size_t alen = sp != NULL ? len - vlen - 1 : 0;

	memset(req_r, 0, sizeof(*req_r));
	if (len > CONTROL_LINE_MAX) {
		*error_r = "request too long";
		return -1;
	}
	if (vlen == 0 || vlen > CONTROL_VERB_MAX) {
		*error_r = "no command";
		return -1;
	}
	for (size_t i = 0; i < vlen; i++) {
		if (!control_verb_char(line[i])) {
			*error_r = "bad command";
			return -1;
		}
	}
	if (sp != NULL && (alen == 0 || alen > CONTROL_ARG_MAX)) {
		*error_r = "bad argument";
		return -1;
	}
	for (size_t i = 0; i < alen; i++) {
		if (!control_arg_char(sp[1 + i])) {
			*error_r = "bad argument";
			return -1;
		}
	}
	memcpy(req_r->verb, line, vlen);
	if (sp != NULL) {
		memcpy(req_r->arg, sp + 1, alen);
		req_r->has_arg = true;
	}
	return 0;
}

bool control_text_ok(const char *text)
{
	size_t len = strlen(text);

	if (len > CONTROL_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return false;
	return true;
}

int control_reply_parse(const char *line, size_t len, bool *ok_r, char *text)
{
	size_t skip;

	text[0] = '\0';
	if (len >= 2 && memcmp(line, "ok", 2) == 0 && (len == 2 || line[2] == ' ')) {
		*ok_r = true;
		skip = len == 2 ? 2 : 3;
	} else if (len > 6 && memcmp(line, "error ", 6) == 0) {
		*ok_r = false;
		skip = 6;
	} else {
		return -1;
	}
	if (len - skip > CONTROL_TEXT_MAX || (skip == 3 && len == 3))
		return -1;
	for (size_t i = skip; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return -1;
	memcpy(text, line + skip, len - skip);
	text[len - skip] = '\0';
	return 0;
}
