/* mbox - the mbox splitter (transfer.h): a push parser fed any slices of
 * an mbox file; finds message boundaries, unquotes ">From ", and hands out
 * CRLF lines. No I/O, so it is fuzzed on memory buffers. */
#include <stdlib.h>
#include <string.h>

#include "store/transfer.h"

struct mbox_parser {
	const struct mbox_callbacks *cb;
	void *ctx;
	bool started;        /* the first "From " line was seen */
	bool pending_blank;  /* an empty line held back: it may be a separator */
	bool continuing;     /* the previous piece had no line end */
	bool in_from;        /* the current (long) line is a separator */
	size_t len;
	char line[MBOX_LINE_MAX];
};

struct mbox_parser *mbox_parser_new(const struct mbox_callbacks *cb, void *ctx)
{
	struct mbox_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		abort();
	p->cb = cb;
	p->ctx = ctx;
	return p;
}

void mbox_parser_free(struct mbox_parser **parser)
{
	free(*parser);
	*parser = NULL;
}

static bool mbox_is_from(const char *s, size_t len)
{
	return len >= 5 && memcmp(s, "From ", 5) == 0;
}

/* After the first message, a separator must name a sender (RFC 4155:
 * "From " sender SP timestamp): a body line that is just "From " after an
 * empty line is content, not a new message. */
static bool mbox_is_separator(const char *s, size_t len)
{
	return mbox_is_from(s, len) && len > 5 && s[5] != ' ' && s[5] != '\t' && s[5] != '\r';
}

/* ^>+From  (RFC 4155 and the mboxrd convention) */
static bool mbox_is_quoted_from(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] == '>')
		i++;
	return i > 0 && mbox_is_from(s + i, len - i);
}

static int mbox_emit(struct mbox_parser *p, const char *s, size_t len, bool eol)
{
	int rc = 0;

	if (len > 0)
		rc = p->cb->data(p->ctx, s, len);
	if (rc == 0 && eol)
		rc = p->cb->data(p->ctx, "\r\n", 2);
	return rc;
}

/* One line (eol: it ended in LF, which is not in s) or a piece of one. */
static int mbox_line(struct mbox_parser *p, const char *s, size_t len, bool eol)
{
	bool start = !p->continuing;
	int rc;

	p->continuing = !eol;
	if (eol && len > 0 && s[len - 1] == '\r')
		len--;
	if (!start) {
		if (p->in_from)
			return 0;
		return mbox_emit(p, s, len, eol);
	}
	p->in_from = false;
	if (!p->started) {
		if (len == 0)
			return 0;   /* blank lines before the first message */
		if (!mbox_is_from(s, len))
			return MBOX_ERR_NOT_MBOX;
	}
	if (mbox_is_from(s, len) && (!p->started || (p->pending_blank && mbox_is_separator(s, len)))) {
		if (p->started && (rc = p->cb->end(p->ctx)) != 0)
			return rc;
		p->started = true;
		p->pending_blank = false;
		p->in_from = !eol;
		return p->cb->begin(p->ctx, s, len);
	}
	if (p->pending_blank) {
		p->pending_blank = false;
		if ((rc = mbox_emit(p, NULL, 0, true)) != 0)
			return rc;
	}
	if (len == 0 && eol) {
		p->pending_blank = true;
		return 0;
	}
	if (mbox_is_quoted_from(s, len)) {
		s++;
		len--;
	}
	return mbox_emit(p, s, len, eol);
}

int mbox_parser_feed(struct mbox_parser *p, const void *data, size_t len)
{
	const char *s = data;
	int rc;

	while (len > 0) {
		const char *lf = memchr(s, '\n', len);
		size_t take = lf != NULL ? (size_t)(lf - s) : len;
		size_t room = sizeof(p->line) - p->len;

		if (take >= room) {
			/* A line longer than the buffer: hand out a piece. Keep
			 * a trailing CR back, it may be part of CRLF. */
			memcpy(p->line + p->len, s, room);
			p->len += room;
			s += room;
			len -= room;
			if ((rc = mbox_line(p, p->line, p->len - 1, false)) != 0)
				return rc;
			p->line[0] = p->line[p->len - 1];
			p->len = 1;
			continue;
		}
		memcpy(p->line + p->len, s, take);
		p->len += take;
		if (lf == NULL)
			return MBOX_OK;
		s += take + 1;
		len -= take + 1;
		rc = mbox_line(p, p->line, p->len, true);
		p->len = 0;
		if (rc != 0)
			return rc;
	}
	return MBOX_OK;
}

int mbox_parser_finish(struct mbox_parser *p)
{
	int rc;

	/* A last line without LF still ends in CRLF in the store. */
	if (p->len > 0 || p->continuing) {
		rc = mbox_line(p, p->line, p->len, true);
		p->len = 0;
		if (rc != 0)
			return rc;
	}
	/* A trailing empty line is the separator mbox writers add. */
	p->pending_blank = false;
	if (p->started) {
		p->started = false;
		return p->cb->end(p->ctx);
	}
	return MBOX_OK;
}

int mbox_split(const void *data, size_t len, const struct mbox_callbacks *cb, void *ctx)
{
	struct mbox_parser *p = mbox_parser_new(cb, ctx);
	int rc = mbox_parser_feed(p, data, len);

	if (rc == MBOX_OK)
		rc = mbox_parser_finish(p);
	mbox_parser_free(&p);
	return rc;
}
