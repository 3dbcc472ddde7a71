/* smtp-client-reply - the byte-fed parser of SMTP replies; see
 * smtp-client-reply.h. */
#include "smtp/smtp-client-reply.h"

#include <string.h>

static const char *const smtp_client_reply_error_names[] = {
	[SMTP_CLIENT_REPLY_OK] = "ok",
	[SMTP_CLIENT_REPLY_BAD_CODE] = "bad reply code",
	[SMTP_CLIENT_REPLY_BAD_SEPARATOR] = "bad character after the reply code",
	[SMTP_CLIENT_REPLY_CODE_MISMATCH] = "reply code changed within a multiline reply",
	[SMTP_CLIENT_REPLY_LINE_TOO_LONG] = "reply line too long",
	[SMTP_CLIENT_REPLY_TOO_MANY_LINES] = "reply with too many lines",
};
_Static_assert(sizeof(smtp_client_reply_error_names) / sizeof(smtp_client_reply_error_names[0]) ==
	       SMTP_CLIENT_REPLY_ERROR__COUNT, "smtp_client_reply_error_names");

const char *smtp_client_reply_error_name(enum smtp_client_reply_error error)
{
	return (unsigned)error < SMTP_CLIENT_REPLY_ERROR__COUNT ?
	       smtp_client_reply_error_names[error] : "?";
}

void smtp_client_reply_init(struct smtp_client_reply_parser *p)
{
	p->reply.code = 0;
	p->reply.enhanced[0] = '\0';
	p->reply.lines = 0;
	p->reply.text[0] = '\0';
	p->reply.text_len = 0;
	p->reply.truncated = false;
	p->line_len = 0;
	p->done = false;
	p->error = SMTP_CLIENT_REPLY_OK;
}

const struct smtp_client_reply *smtp_client_reply_get(const struct smtp_client_reply_parser *p)
{
	return &p->reply;
}

enum smtp_client_reply_error smtp_client_reply_error(const struct smtp_client_reply_parser *p)
{
	return p->error;
}

static bool smtp_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "x.y.z" at the start of text (RFC 3463 2: class 2, 4 or 5, subject and
 * detail of 1 to 3 digits), followed by SP or the end; its length, or 0. */
static size_t smtp_enhanced_len(const char *text, size_t len, char class)
{
	size_t i = 0;

	if (len < 5 || text[0] != class || text[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && smtp_digit(text[i]) && i - start < 4)
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len || text[i] == ' ' ? i : 0;
}

/* Add one line's text to the reply, made printable, within the bound. */
static void smtp_reply_add_text(struct smtp_client_reply *r, const char *text, size_t len)
{
	size_t room;

	if (r->lines > 1) {
		if (r->text_len < SMTP_CLIENT_REPLY_TEXT_MAX)
			r->text[r->text_len++] = '\n';
		else
			r->truncated = true;
	}
	room = SMTP_CLIENT_REPLY_TEXT_MAX - r->text_len;
	if (len > room) {
		len = room;
		r->truncated = true;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		r->text[r->text_len++] = (char)((c >= 32 && c < 127) || c == '\t' ? c : '?');
	}
	r->text[r->text_len] = '\0';
}

/* One complete line, without its line end. */
static enum smtp_client_reply_result smtp_reply_line(struct smtp_client_reply_parser *p,
						     const char *line, size_t len)
{
	struct smtp_client_reply *r = &p->reply;
	unsigned code;
	bool last;
	size_t skip;

	/* RFC 5321 4.2: 2-5, 0-5, 0-9 */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    !smtp_digit(line[2])) {
		p->error = SMTP_CLIENT_REPLY_BAD_CODE;
		return SMTP_CLIENT_REPLY_ERROR;
	}
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	       (unsigned)(line[2] - '0');
	if (len == 3) {
		last = true;           /* Reply-code [ SP textstring ] CRLF */
	} else if (line[3] == ' ' || line[3] == '-') {
		last = line[3] == ' ';
	} else {
		p->error = SMTP_CLIENT_REPLY_BAD_SEPARATOR;
		return SMTP_CLIENT_REPLY_ERROR;
	}
	if (r->lines == 0) {
		r->code = code;
	} else if (code != r->code) {
		p->error = SMTP_CLIENT_REPLY_CODE_MISMATCH;
		return SMTP_CLIENT_REPLY_ERROR;
	}
	if (++r->lines > SMTP_CLIENT_REPLY_LINES_MAX) {
		p->error = SMTP_CLIENT_REPLY_TOO_MANY_LINES;
		return SMTP_CLIENT_REPLY_ERROR;
	}
	line += len > 3 ? 4 : 3;
	len -= len > 3 ? 4 : 3;
	/* RFC 2034 3: the enhanced code of a 2xx, 4xx or 5xx reply leads
	 * every line's text; its class is the code's first digit */
	skip = code / 100 != 3 ? smtp_enhanced_len(line, len, (char)('0' + code / 100)) : 0;
	if (skip > 0 && r->lines == 1 && skip < sizeof(r->enhanced)) {
		memcpy(r->enhanced, line, skip);
		r->enhanced[skip] = '\0';
	}
	if (skip > 0 && r->enhanced[0] != '\0' && skip == strlen(r->enhanced) &&
	    memcmp(line, r->enhanced, skip) == 0) {
		line += skip;
		len -= skip;
		if (len > 0) {
			line++;
			len--;
		}
	}
	smtp_reply_add_text(r, line, len);
	if (!last)
		return SMTP_CLIENT_REPLY_MORE;
	p->done = true;
	return SMTP_CLIENT_REPLY_DONE;
}

enum smtp_client_reply_result smtp_client_reply_feed(struct smtp_client_reply_parser *p,
						     const char *data, size_t len, size_t *used_r)
{
	size_t i = 0;

	*used_r = 0;
	if (p->error != SMTP_CLIENT_REPLY_OK)
		return SMTP_CLIENT_REPLY_ERROR;
	if (p->done)
		return SMTP_CLIENT_REPLY_DONE;
	while (i < len) {
		const char *lf = memchr(data + i, '\n', len - i);
		size_t piece = lf != NULL ? (size_t)(lf - (data + i)) : len - i;
		enum smtp_client_reply_result result;
		size_t line_len;

		/* the line end counts towards the bound */
		if (piece + (lf != NULL) > SMTP_CLIENT_REPLY_LINE_MAX - p->line_len) {
			p->error = SMTP_CLIENT_REPLY_LINE_TOO_LONG;
			*used_r = i;
			return SMTP_CLIENT_REPLY_ERROR;
		}
		memcpy(p->line + p->line_len, data + i, piece);
		p->line_len += piece;
		i += piece;
		if (lf == NULL)
			break;
		i++;   /* the LF */
		line_len = p->line_len;
		if (line_len > 0 && p->line[line_len - 1] == '\r')
			line_len--;
		p->line_len = 0;
		result = smtp_reply_line(p, p->line, line_len);
		if (result != SMTP_CLIENT_REPLY_MORE) {
			*used_r = i;
			return result;
		}
	}
	*used_r = i;
	return SMTP_CLIENT_REPLY_MORE;
}
