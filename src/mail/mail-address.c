/* mail-address - the RFC 5322 3.4 address-list reader; see mail-address.h. */
#include "mail/mail-address.h"

#include <stdbool.h>
#include <string.h>

struct mail_address_reader {
	const unsigned char *s;
	size_t len, pos;
	char out[MAIL_ADDRESS_MAX + 1];   /* the address being built */
	size_t n;
	bool overflow;
};

static int mail_address_peek(const struct mail_address_reader *r)
{
	return r->pos < r->len ? r->s[r->pos] : -1;
}

/* RFC 5322 3.2.3 atext, and UTF-8 (RFC 6532 3.2). */
static bool mail_address_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c >= 0x80 && c <= 0xff) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static void mail_address_put(struct mail_address_reader *r, char c)
{
	if (r->n >= MAIL_ADDRESS_MAX) {
		r->overflow = true;
		return;
	}
	r->out[r->n++] = c;
}

/* CFWS (3.2.2): white space (line ends too, should the value be folded
 * still) and comments, nested, with quoted pairs. False for a comment
 * that does not close. */
static bool mail_address_cfws(struct mail_address_reader *r)
{
	unsigned depth = 0;

	while (r->pos < r->len) {
		unsigned char c = r->s[r->pos];

		if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '(')
			return true;
		r->pos++;
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == '\\' && depth > 0 && r->pos < r->len)
			r->pos++;
	}
	return depth == 0;
}

/* A quoted string (3.2.4), copied with its quotes and quoted pairs as
 * written. False when it does not close or holds a control character
 * (read to its end all the same, so that recovery starts after it). */
static bool mail_address_quoted(struct mail_address_reader *r)
{
	bool bad = false;

	mail_address_put(r, '"');
	r->pos++;
	while (r->pos < r->len) {
		unsigned char c = r->s[r->pos++];

		if (c == '"') {
			mail_address_put(r, '"');
			return !bad;
		}
		bad |= (c < 0x20 && c != '\t') || c == 0x7f;
		mail_address_put(r, (char)c);
		if (c == '\\') {
			/* quoted-pair (3.2.1): VCHAR or WSP, not obs-qp's controls */
			if (r->pos >= r->len)
				return false;
			c = r->s[r->pos++];
			bad |= (c < 0x20 && c != '\t') || c == 0x7f;
			mail_address_put(r, (char)c);
		}
	}
	return false;
}

static void mail_address_atom(struct mail_address_reader *r)
{
	while (r->pos < r->len && mail_address_atext(r->s[r->pos]))
		mail_address_put(r, (char)r->s[r->pos++]);
}

/* What a run of words and dots turned out to be. */
enum mail_address_words {
	MAIL_ADDRESS_WORDS_NONE,     /* nothing before the special */
	MAIL_ADDRESS_WORDS_LOCAL,    /* a local part: word *("." word) */
	MAIL_ADDRESS_WORDS_PHRASE,   /* a display name: only before '<' or ':' */
	MAIL_ADDRESS_WORDS_ERROR,
};

/* Words and dots, with CFWS between, up to the next special (or the
 * end), copied into r->out (a display name too: the caller drops it). */
static enum mail_address_words mail_address_words(struct mail_address_reader *r)
{
	bool words = false, phrase = false, dot_last = false, dot_bad = false;

	for (;;) {
		int c;

		if (!mail_address_cfws(r))
			return MAIL_ADDRESS_WORDS_ERROR;
		c = mail_address_peek(r);
		if (c == '.') {
			/* obs-phrase allows dots; a local part only between words */
			dot_bad |= !words || dot_last;
			dot_last = true;
			mail_address_put(r, '.');
			r->pos++;
		} else if (c == '"' || mail_address_atext(c)) {
			phrase |= words && !dot_last;
			if (c != '"')
				mail_address_atom(r);
			else if (!mail_address_quoted(r))
				return MAIL_ADDRESS_WORDS_ERROR;
			words = true;
			dot_last = false;
		} else {
			break;
		}
	}
	if (!words)
		return dot_last ? MAIL_ADDRESS_WORDS_ERROR : MAIL_ADDRESS_WORDS_NONE;
	return phrase || dot_bad || dot_last ? MAIL_ADDRESS_WORDS_PHRASE : MAIL_ADDRESS_WORDS_LOCAL;
}

/* The domain after '@' (3.4.1): a dot-atom or a domain literal. */
static bool mail_address_domain(struct mail_address_reader *r)
{
	mail_address_put(r, '@');
	r->pos++;
	if (!mail_address_cfws(r))
		return false;
	if (mail_address_peek(r) == '[') {
		while (r->pos < r->len) {
			unsigned char c = r->s[r->pos++];

			if (c == ' ' || c == '\t')
				continue;
			/* dtext (3.4.1): printable, no brackets or backslash inside */
			if (c < 0x21 || c == 0x7f || c == '\\' || (c == '[' && r->out[r->n - 1] != '@'))
				return false;
			mail_address_put(r, (char)c);
			if (c == ']')
				return mail_address_cfws(r);
		}
		return false;
	}
	for (;;) {
		size_t before = r->n;

		mail_address_atom(r);
		if (r->n == before && !r->overflow)
			return false;
		if (!mail_address_cfws(r))
			return false;
		if (mail_address_peek(r) != '.')
			return true;
		mail_address_put(r, '.');
		r->pos++;
		if (!mail_address_cfws(r))
			return false;
	}
}

/* local-part ["@" domain], the local part read already. */
static bool mail_address_spec_rest(struct mail_address_reader *r)
{
	if (mail_address_peek(r) == '@' && !mail_address_domain(r))
		return false;
	return true;
}

/* "<" [obs-route] addr-spec ">" (3.4, 4.4), at the '<'. */
static bool mail_address_angle(struct mail_address_reader *r)
{
	r->pos++;
	r->n = 0;   /* the display name is dropped */
	r->overflow = false;
	if (!mail_address_cfws(r))
		return false;
	if (mail_address_peek(r) == '@') {
		/* obs-route: "@a,@b:" is skipped */
		while (r->pos < r->len && r->s[r->pos] != ':' && r->s[r->pos] != '>')
			r->pos++;
		if (mail_address_peek(r) != ':')
			return false;
		r->pos++;
	}
	if (mail_address_words(r) != MAIL_ADDRESS_WORDS_LOCAL || !mail_address_spec_rest(r) ||
	    !mail_address_cfws(r) || mail_address_peek(r) != '>')
		return false;
	r->pos++;
	return mail_address_cfws(r);
}

/* Skip to the comma (or the group's ';') that ends a broken element,
 * outside quotes, comments and angle brackets. */
static void mail_address_recover(struct mail_address_reader *r, bool in_group)
{
	unsigned comment = 0;
	bool quoted = false, angle = false;

	while (r->pos < r->len) {
		unsigned char c = r->s[r->pos];

		if (!quoted && comment == 0 && !angle && (c == ',' || (in_group && c == ';')))
			return;
		r->pos++;
		if (c == '\\' && (quoted || comment > 0))
			r->pos += r->pos < r->len ? 1 : 0;
		else if (c == '"' && comment == 0)
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (c == '(')
			comment++;
		else if (c == ')' && comment > 0)
			comment--;
		else if (comment == 0 && c == '<')
			angle = true;
		else if (comment == 0 && c == '>')
			angle = false;
	}
}

/* One element: a mailbox, the start of a group (*in_group set), or
 * nothing. False for a broken one. */
static bool mail_address_element(struct mail_address_reader *r, bool *in_group,
				 mail_address_fn *cb, void *ctx)
{
	enum mail_address_words words;
	int c;

	r->n = 0;
	r->overflow = false;
	words = mail_address_words(r);
	if (words == MAIL_ADDRESS_WORDS_ERROR)
		return false;
	c = mail_address_peek(r);
	if (c == ':' && words != MAIL_ADDRESS_WORDS_NONE && !*in_group) {
		/* group = display-name ":" [group-list] ";" */
		r->pos++;
		*in_group = true;
		return true;
	}
	if (c == '<') {
		if (!mail_address_angle(r))
			return false;
	} else if (words == MAIL_ADDRESS_WORDS_NONE) {
		return true;   /* an empty element */
	} else if (words != MAIL_ADDRESS_WORDS_LOCAL || !mail_address_spec_rest(r)) {
		return false;
	}
	if (r->overflow || r->n == 0)
		return false;
	c = mail_address_peek(r);
	if (c != -1 && c != ',' && !(c == ';' && *in_group))
		return false;
	r->out[r->n] = '\0';
	cb(ctx, r->out, r->n);
	return true;
}

unsigned mail_address_list(const char *value, size_t len, mail_address_fn *cb, void *ctx)
{
	struct mail_address_reader r = { .s = (const unsigned char *)value, .len = len };
	bool in_group = false;
	unsigned errors = 0;

	while (r.pos < r.len) {
		bool was_in_group = in_group;

		if (!mail_address_element(&r, &in_group, cb, ctx)) {
			errors++;
			mail_address_recover(&r, in_group);
		} else if (in_group && !was_in_group) {
			continue;   /* the group's first member follows its ':' */
		}
		if (!mail_address_cfws(&r)) {
			errors++;
			break;
		}
		if (mail_address_peek(&r) == ';' && in_group) {
			in_group = false;
			r.pos++;
			if (!mail_address_cfws(&r)) {
				errors++;
				break;
			}
		}
		if (mail_address_peek(&r) == ',') {
			r.pos++;
		} else if (r.pos < r.len) {
			/* something after a complete element or group, or a stray
			 * special: skipped up to the next comma */
			errors++;
			if (mail_address_peek(&r) == ';' && !in_group)
				r.pos++;
			mail_address_recover(&r, in_group);
		}
	}
	/* a group that never closed has given its members: tolerated */
	return errors;
}
