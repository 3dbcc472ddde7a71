/* mail-header - the RFC 5322 header reader and its helpers; see
 * mail-header.h for the contract. */
#include "mail/mail-header.h"

#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const mail_header_result_names[] = {
	[MAIL_HEADER_FIELD] = "field",
	[MAIL_HEADER_MALFORMED] = "malformed",
	[MAIL_HEADER_NEED_MORE] = "need-more",
	[MAIL_HEADER_END] = "end",
	[MAIL_HEADER_TOO_LARGE] = "too-large",
};
_Static_assert(ARRAY_SIZE(mail_header_result_names) == MAIL_HEADER__COUNT, "result names");

const char *mail_header_result_name(enum mail_header_result result)
{
	return result < MAIL_HEADER__COUNT ? mail_header_result_names[result] : "?";
}

static bool mail_header_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 2.2: printable US-ASCII except ':'. */
static bool mail_header_is_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

void mail_header_parser_init(struct mail_header_parser *p, const struct mail_header_limits *limits)
{
	memset(p, 0, sizeof(*p));
	p->limits = *limits;
	/* 0 would mean "no cap" to buf, and leave nothing to point at. */
	if (p->limits.max_field == 0)
		p->limits.max_field = 1;
	p->state = MAIL_HEADER_STATE_LINE_START;
	buf_init(&p->kept, p->limits.max_field);
}

void mail_header_parser_deinit(struct mail_header_parser *p)
{
	buf_release(&p->kept);
}

void mail_header_parser_push(struct mail_header_parser *p, const void *data, size_t len)
{
	if (p->state == MAIL_HEADER_STATE_DONE)
		return;
	/* A push before the previous bytes were read, or after the end. */
	if (p->in_pos < p->in_len || p->eof)
		abort();
	p->in = data;
	p->in_len = len;
	p->in_pos = 0;
}

void mail_header_parser_finish(struct mail_header_parser *p)
{
	p->eof = true;
}

static void mail_header_consume(struct mail_header_parser *p, size_t n)
{
	p->in_pos += n;
	p->pos += n;
}

static void mail_header_item_start(struct mail_header_parser *p, size_t offset)
{
	p->item_open = true;
	p->last_cr = false;
	p->item_offset = offset;
	p->item_len = 0;
	p->name_len = 0;
	p->colon = 0;
	p->eol_len = 0;
	buf_reset(&p->kept);
}

/* Add bytes to the item; only its first max_field bytes are kept. */
static void mail_header_item_add(struct mail_header_parser *p, const void *data, size_t n)
{
	size_t room = p->limits.max_field - p->kept.len;

	if (room > 0)
		(void)buf_append(&p->kept, data, n < room ? n : room);
	p->item_len += n;
	p->last_cr = ((const unsigned char *)data)[n - 1] == '\r';
}

/* Hand out the item just read; its final line end is p->eol_len long. */
static enum mail_header_result mail_header_emit(struct mail_header_parser *p,
						struct mail_header_field *field_r)
{
	size_t content = p->item_len - p->eol_len;
	size_t kept = p->kept.len < content ? p->kept.len : content;
	/* A field whose name was not kept whole cannot be named. */
	bool field = p->colon != 0 && p->colon < p->limits.max_field;
	size_t value_start = field ? p->colon + 1 : 0;

	field_r->offset = p->item_offset;
	field_r->length = p->item_len;
	field_r->truncated = content > p->limits.max_field;
	if (field) {
		field_r->name = p->kept.data;
		field_r->name_len = p->name_len;
	}
	field_r->value = p->kept.data + value_start;
	field_r->value_len = kept - value_start;
	field_r->value_offset = p->item_offset + value_start;
	field_r->value_length = content - value_start;
	p->reported = p->item_offset + p->item_len;
	p->item_open = false;
	return field ? MAIL_HEADER_FIELD : MAIL_HEADER_MALFORMED;
}

static enum mail_header_result mail_header_done(struct mail_header_parser *p,
						struct mail_header_field *field_r)
{
	field_r->offset = p->end_offset;
	field_r->length = p->end_len;
	return p->end;
}

/* The header ended (END) or was cut (TOO_LARGE); nothing is kept from
 * now on. */
static enum mail_header_result mail_header_stop(struct mail_header_parser *p,
						enum mail_header_result end, size_t offset,
						size_t len, struct mail_header_field *field_r)
{
	p->state = MAIL_HEADER_STATE_DONE;
	p->end = end;
	p->end_offset = offset;
	p->end_len = len;
	p->item_open = false;
	buf_release(&p->kept);
	return mail_header_done(p, field_r);
}

static enum mail_header_result mail_header_at_eof(struct mail_header_parser *p,
						  struct mail_header_field *field_r)
{
	if (p->state == MAIL_HEADER_STATE_LINE_CR) {
		/* A last line that is only a CR: an item, like any bare CR. */
		mail_header_item_start(p, p->pos - 1);
		mail_header_item_add(p, "\r", 1);
		p->state = MAIL_HEADER_STATE_TEXT;
	}
	if (p->item_open) {
		if (p->state != MAIL_HEADER_STATE_LINE_START)
			p->eol_len = 0;
		p->state = MAIL_HEADER_STATE_LINE_START;
		return mail_header_emit(p, field_r);
	}
	return mail_header_stop(p, MAIL_HEADER_END, p->pos, 0, field_r);
}

/* The rest of a line: up to and including its LF, without passing the
 * header bound. */
static void mail_header_text(struct mail_header_parser *p)
{
	const unsigned char *start = p->in + p->in_pos;
	size_t n = p->in_len - p->in_pos;
	const unsigned char *lf;

	if (n > p->limits.max_header - p->pos)
		n = p->limits.max_header - p->pos;
	lf = memchr(start, '\n', n);
	if (lf != NULL) {
		bool cr = lf > start ? lf[-1] == '\r' : p->last_cr;

		n = (size_t)(lf - start) + 1;
		p->eol_len = cr ? 2 : 1;
		p->state = MAIL_HEADER_STATE_LINE_START;
	}
	mail_header_item_add(p, start, n);
	mail_header_consume(p, n);
}

/* One step on byte c at p->pos (inside the header bound). Returns
 * NEED_MORE to go on, or what mail_header_parser_next() returns. */
static enum mail_header_result mail_header_step(struct mail_header_parser *p, unsigned char c,
						struct mail_header_field *field_r)
{
	switch (p->state) {
	case MAIL_HEADER_STATE_LINE_START:
		if (p->item_open) {
			if (!mail_header_is_wsp(c))
				return mail_header_emit(p, field_r);
			/* RFC 5322 2.2.3: folding. */
			p->state = MAIL_HEADER_STATE_TEXT;
			return MAIL_HEADER_NEED_MORE;
		}
		if (c == '\n') {
			mail_header_consume(p, 1);
			return mail_header_stop(p, MAIL_HEADER_END, p->pos - 1, 1, field_r);
		}
		if (c == '\r') {
			mail_header_consume(p, 1);
			p->state = MAIL_HEADER_STATE_LINE_CR;
			return MAIL_HEADER_NEED_MORE;
		}
		mail_header_item_start(p, p->pos);
		p->state = MAIL_HEADER_STATE_NAME;
		return MAIL_HEADER_NEED_MORE;
	case MAIL_HEADER_STATE_LINE_CR:
		if (c == '\n') {
			mail_header_consume(p, 1);
			return mail_header_stop(p, MAIL_HEADER_END, p->pos - 2, 2, field_r);
		}
		/* A bare CR begins a line: it cannot be a name. */
		mail_header_item_start(p, p->pos - 1);
		mail_header_item_add(p, "\r", 1);
		p->state = MAIL_HEADER_STATE_TEXT;
		return MAIL_HEADER_NEED_MORE;
	case MAIL_HEADER_STATE_NAME:
		if (mail_header_is_name_char(c)) {
			mail_header_item_add(p, &c, 1);
			mail_header_consume(p, 1);
			return MAIL_HEADER_NEED_MORE;
		}
		if (p->item_len > 0 && (c == ':' || mail_header_is_wsp(c))) {
			p->name_len = p->item_len;
			p->state = MAIL_HEADER_STATE_NAME_WSP;
			return MAIL_HEADER_NEED_MORE;
		}
		p->state = MAIL_HEADER_STATE_TEXT;
		return MAIL_HEADER_NEED_MORE;
	case MAIL_HEADER_STATE_NAME_WSP:
		/* RFC 5322 4.5.8: field-name *WSP ":". */
		if (c == ':') {
			p->colon = p->item_len;
			p->state = MAIL_HEADER_STATE_TEXT;
		} else if (!mail_header_is_wsp(c)) {
			p->state = MAIL_HEADER_STATE_TEXT;
			return MAIL_HEADER_NEED_MORE;
		}
		mail_header_item_add(p, &c, 1);
		mail_header_consume(p, 1);
		return MAIL_HEADER_NEED_MORE;
	case MAIL_HEADER_STATE_TEXT:
		mail_header_text(p);
		return MAIL_HEADER_NEED_MORE;
	case MAIL_HEADER_STATE_DONE:
		break;
	}
	abort();
}

enum mail_header_result mail_header_parser_next(struct mail_header_parser *p,
						struct mail_header_field *field_r)
{
	memset(field_r, 0, sizeof(*field_r));
	while (p->state != MAIL_HEADER_STATE_DONE) {
		enum mail_header_result r;
		unsigned char c;

		if (p->in_pos == p->in_len) {
			if (!p->eof)
				return MAIL_HEADER_NEED_MORE;
			return mail_header_at_eof(p, field_r);
		}
		c = p->in[p->in_pos];
		if (p->pos >= p->limits.max_header) {
			/* The first byte past the bound still ends the item
			 * before it, which fits. */
			if (p->state == MAIL_HEADER_STATE_LINE_START && p->item_open &&
			    !mail_header_is_wsp(c))
				return mail_header_emit(p, field_r);
			return mail_header_stop(p, MAIL_HEADER_TOO_LARGE, p->reported, 0, field_r);
		}
		r = mail_header_step(p, c, field_r);
		if (r != MAIL_HEADER_NEED_MORE)
			return r;
	}
	return mail_header_done(p, field_r);
}

static unsigned char mail_header_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool mail_header_name_equals(const char *field_name, size_t field_name_len, const char *name)
{
	size_t i;

	if (strlen(name) != field_name_len)
		return false;
	for (i = 0; i < field_name_len; i++) {
		if (mail_header_ascii_lower((unsigned char)field_name[i]) !=
		    mail_header_ascii_lower((unsigned char)name[i]))
			return false;
	}
	return true;
}

size_t mail_header_unfold(const char *raw, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t eol = 0;

		if (raw[i] == '\n')
			eol = 1;
		else if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			eol = 2;
		if (eol > 0 && i + eol < len && mail_header_is_wsp((unsigned char)raw[i + eol])) {
			i += eol;
			continue;
		}
		out[o++] = raw[i++];
	}
	return o;
}

void mail_header_counter_init(struct mail_header_counter *c,
			      const struct mail_header_limits *limits, const char *name)
{
	mail_header_parser_init(&c->parser, limits);
	c->name = name;
	c->count = 0;
}

/* Read every item the parser can give; returns why it stopped. */
static enum mail_header_result mail_header_counter_drain(struct mail_header_counter *c)
{
	struct mail_header_field f;
	enum mail_header_result r;

	while ((r = mail_header_parser_next(&c->parser, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED) {
		if (r == MAIL_HEADER_FIELD && mail_header_name_equals(f.name, f.name_len, c->name))
			c->count++;
	}
	return r;
}

bool mail_header_counter_push(struct mail_header_counter *c, const void *data, size_t len)
{
	mail_header_parser_push(&c->parser, data, len);
	return mail_header_counter_drain(c) == MAIL_HEADER_NEED_MORE;
}

enum mail_header_result mail_header_counter_finish(struct mail_header_counter *c)
{
	mail_header_parser_finish(&c->parser);
	return mail_header_counter_drain(c);
}

void mail_header_counter_deinit(struct mail_header_counter *c)
{
	mail_header_parser_deinit(&c->parser);
}

bool mail_header_find(const void *data, size_t len, const struct mail_header_limits *limits,
		      const char *name, struct mail_header_field *field_r)
{
	const char *text = data;
	struct mail_header_parser p;
	struct mail_header_field f;
	enum mail_header_result r;
	bool found = false;

	mail_header_parser_init(&p, limits);
	mail_header_parser_push(&p, data, len);
	mail_header_parser_finish(&p);
	while (!found && ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
			  r == MAIL_HEADER_MALFORMED)) {
		if (r != MAIL_HEADER_FIELD || !mail_header_name_equals(f.name, f.name_len, name))
			continue;
		*field_r = f;
		field_r->name = text + f.offset;
		field_r->value = text + f.value_offset;
		field_r->value_len = f.value_length;
		field_r->truncated = false;
		found = true;
	}
	mail_header_parser_deinit(&p);
	return found;
}
