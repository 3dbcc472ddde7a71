/* mail-envelope - the ENVELOPE of a message (RFC 9051 7.5.2) from its
 * header fields: date, subject, the address lists as (name adl mailbox
 * host) with groups, in-reply-to and message-id. RFC 2047 words stay as
 * they are. The address reader follows what Dovecot shows for broken
 * lists (a missing mailbox or domain is "MISSING_MAILBOX" /
 * "MISSING_DOMAIN"), so it is not mail-address.c's, which serves
 * sendmail -t and drops what it cannot deliver to. */
#include "mail/mail-mime-internal.h"

#include <stdlib.h>
#include <string.h>

/* The most addresses one field gives; more are dropped. */
#define MAIL_ENVELOPE_MAX_ADDRESSES 1000

struct mail_envelope_reader {
	const char *s;
	size_t len, pos;
	struct buf *out;
	unsigned count;
	/* the element being read */
	struct buf phrase, local, domain, route, comment;
};

static void mail_envelope_put(struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) < 0)
		abort();
}

static bool mail_envelope_atext(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>@,;:\\\".[]", c) == NULL;
}

/* White space and comments; the text of the last comment is kept (a
 * mailbox without a display name takes it, RFC 5322 obs use). */
static void mail_envelope_cfws(struct mail_envelope_reader *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			r->pos++;
		} else if (c == '(') {
			unsigned depth = 1;

			buf_reset(&r->comment);
			r->pos++;
			while (r->pos < r->len && depth > 0) {
				c = r->s[r->pos++];
				if (c == '(')
					depth++;
				else if (c == ')' && --depth == 0)
					break;
				else if (c == '\\' && r->pos < r->len)
					c = r->s[r->pos++];
				mail_envelope_put(&r->comment, &c, 1);
			}
		} else {
			return;
		}
	}
}

/* A quoted string's content, unescaped, at the '"'. */
static void mail_envelope_quoted(struct mail_envelope_reader *r, struct buf *to)
{
	r->pos++;
	while (r->pos < r->len && r->s[r->pos] != '"') {
		if (r->s[r->pos] == '\\' && r->pos + 1 < r->len)
			r->pos++;
		mail_envelope_put(to, r->s + r->pos, 1);
		r->pos++;
	}
	r->pos += r->pos < r->len ? 1 : 0;
}

/* Words (atoms, quoted strings) and dots up to a special. `phrase`
 * joins words with one space (a display name); else they are joined
 * as written (a local part or a domain). Returns whether any word or
 * dot was read. */
static bool mail_envelope_words(struct mail_envelope_reader *r, struct buf *to, bool phrase)
{
	bool any = false;

	for (;;) {
		unsigned char c;

		mail_envelope_cfws(r);
		if (r->pos >= r->len)
			return any;
		c = (unsigned char)r->s[r->pos];
		if (c != '"' && c != '.' && !mail_envelope_atext(c))
			return any;
		if (phrase && to->len > 0 && c != '.')
			mail_envelope_put(to, " ", 1);
		if (c == '"') {
			mail_envelope_quoted(r, to);
		} else if (c == '.') {
			mail_envelope_put(to, ".", 1);
			r->pos++;
		} else {
			size_t start = r->pos;

			while (r->pos < r->len && mail_envelope_atext((unsigned char)r->s[r->pos]))
				r->pos++;
			mail_envelope_put(to, r->s + start, r->pos - start);
		}
		any = true;
	}
}

/* The domain after '@': a dot-atom or a domain literal. */
static void mail_envelope_domain(struct mail_envelope_reader *r)
{
	mail_envelope_cfws(r);
	if (r->pos < r->len && r->s[r->pos] == '[') {
		size_t start = r->pos;

		while (r->pos < r->len && r->s[r->pos] != ']')
			r->pos++;
		r->pos += r->pos < r->len ? 1 : 0;
		mail_envelope_put(&r->domain, r->s + start, r->pos - start);
		return;
	}
	(void)mail_envelope_words(r, &r->domain, false);
}

static void mail_envelope_nstring(struct buf *out, const struct buf *b)
{
	if (b->len == 0)
		mail_envelope_put(out, "NIL", 3);
	else
		mail_imap_append_string(out, b->data, b->len);
}

/* One (name adl mailbox host) from the element read, the start of a
 * group (NIL NIL name NIL) or its end (NIL NIL NIL NIL). */
static void mail_envelope_emit(struct mail_envelope_reader *r, const struct buf *name,
			       bool group_start, bool group_end)
{
	struct buf *out = r->out;

	if (r->count++ >= MAIL_ENVELOPE_MAX_ADDRESSES)
		return;
	if (r->count == 1)
		mail_envelope_put(out, "(", 1);
	if (group_end) {
		mail_envelope_put(out, "(NIL NIL NIL NIL)", 17);
		return;
	}
	mail_envelope_put(out, "(", 1);
	if (group_start || name == NULL || name->len == 0)
		mail_envelope_put(out, "NIL", 3);
	else
		mail_imap_append_human(out, name->data, name->len);
	mail_envelope_put(out, " ", 1);
	if (group_start) {
		mail_envelope_put(out, "NIL ", 4);
		mail_imap_append_string(out, r->phrase.len > 0 ? r->phrase.data : "", r->phrase.len);
		mail_envelope_put(out, " NIL)", 5);
		return;
	}
	mail_envelope_nstring(out, &r->route);
	mail_envelope_put(out, " ", 1);
	if (r->local.len == 0)
		mail_envelope_put(out, "\"MISSING_MAILBOX\"", 17);
	else
		mail_imap_append_string(out, r->local.data, r->local.len);
	mail_envelope_put(out, " ", 1);
	if (r->domain.len == 0)
		mail_envelope_put(out, "\"MISSING_DOMAIN\"", 16);
	else
		mail_imap_append_string(out, r->domain.data, r->domain.len);
	mail_envelope_put(out, ")", 1);
}

/* "<" [route ":"] local "@" domain ">", at the '<'. */
static void mail_envelope_angle(struct mail_envelope_reader *r)
{
	r->pos++;
	mail_envelope_cfws(r);
	if (r->pos < r->len && r->s[r->pos] == '@') {
		/* obs-route (RFC 5322 4.4): "@a,@b:" kept as "@a,@b" */
		size_t start = r->pos;

		while (r->pos < r->len && r->s[r->pos] != ':' && r->s[r->pos] != '>')
			r->pos++;
		mail_envelope_put(&r->route, r->s + start, r->pos - start);
		if (r->pos < r->len && r->s[r->pos] == ':')
			r->pos++;
	}
	(void)mail_envelope_words(r, &r->local, false);
	mail_envelope_cfws(r);
	if (r->pos < r->len && r->s[r->pos] == '@') {
		r->pos++;
		mail_envelope_domain(r);
	}
	/* anything else up to the '>' is dropped */
	while (r->pos < r->len && r->s[r->pos] != '>' && r->s[r->pos] != ',')
		r->pos++;
	r->pos += r->pos < r->len && r->s[r->pos] == '>' ? 1 : 0;
}

/* Read an address list (RFC 5322 3.4) into r->out. */
static void mail_envelope_addresses(struct mail_envelope_reader *r)
{
	bool in_group = false;

	while (r->pos < r->len) {
		size_t start = r->pos;
		bool words, name_from_comment, angle = false;

		buf_reset(&r->phrase);
		buf_reset(&r->local);
		buf_reset(&r->domain);
		buf_reset(&r->route);
		buf_reset(&r->comment);
		words = mail_envelope_words(r, &r->phrase, true);
		if (r->pos < r->len && r->s[r->pos] == ':' && words && !in_group) {
			r->pos++;
			mail_envelope_emit(r, NULL, true, false);
			in_group = true;
			continue;
		}
		name_from_comment = false;
		if (r->pos < r->len && r->s[r->pos] == '<') {
			mail_envelope_angle(r);
			angle = true;
		} else if (words) {
			/* an addr-spec, or a local part alone: read it again as one */
			buf_reset(&r->phrase);
			buf_reset(&r->comment);
			r->pos = start;
			(void)mail_envelope_words(r, &r->local, false);
			mail_envelope_cfws(r);
			if (r->pos < r->len && r->s[r->pos] == '@') {
				r->pos++;
				mail_envelope_domain(r);
			}
			name_from_comment = true;
		}
		mail_envelope_cfws(r);
		if (words || angle) {
			const struct buf *name = &r->phrase;

			if ((name_from_comment || r->phrase.len == 0) && r->comment.len > 0)
				name = &r->comment;
			mail_envelope_emit(r, name, false, false);
		}
		/* to the end of the element */
		while (r->pos < r->len && r->s[r->pos] != ',' && !(in_group && r->s[r->pos] == ';')) {
			if (r->s[r->pos] == '"') {
				struct buf skip;

				buf_init(&skip, 0);
				mail_envelope_quoted(r, &skip);
				buf_release(&skip);
			} else {
				r->pos++;
			}
		}
		if (r->pos < r->len && r->s[r->pos] == ';') {
			mail_envelope_emit(r, NULL, false, true);
			in_group = false;
		}
		if (r->pos < r->len)
			r->pos++;
	}
	if (in_group)
		mail_envelope_emit(r, NULL, false, true);
}

/* One address field: NIL when it holds no address. */
static void mail_envelope_address_field(const struct mail_mime_fields *f, enum mail_mime_field which,
					struct buf *out)
{
	const struct buf *v = &f->value[which];
	const char *nul = v->len > 0 ? memchr(v->data, '\0', v->len) : NULL;
	struct mail_envelope_reader r = {
		.s = v->data, .len = nul != NULL ? (size_t)(nul - v->data) : v->len, .out = out,
	};

	buf_init(&r.phrase, 0);
	buf_init(&r.local, 0);
	buf_init(&r.domain, 0);
	buf_init(&r.route, 0);
	buf_init(&r.comment, 0);
	if (f->set[which])
		mail_envelope_addresses(&r);
	mail_envelope_put(out, r.count > 0 ? ")" : "NIL", r.count > 0 ? 1 : 3);
	buf_release(&r.phrase);
	buf_release(&r.local);
	buf_release(&r.domain);
	buf_release(&r.route);
	buf_release(&r.comment);
}

static void mail_envelope_string(const struct mail_mime_fields *f, enum mail_mime_field which,
				 bool human, struct buf *out)
{
	const struct buf *v = &f->value[which];

	if (!f->set[which])
		mail_envelope_put(out, "NIL", 3);
	else if (human)
		mail_imap_append_human(out, v->len > 0 ? v->data : "", v->len);
	else
		mail_imap_append_string(out, v->len > 0 ? v->data : "", v->len);
}

/* Whether an address field is there and gives an address. */
static bool mail_envelope_has_address(const struct mail_mime_fields *f, enum mail_mime_field which)
{
	struct buf probe;
	bool has;

	buf_init(&probe, 0);
	mail_envelope_address_field(f, which, &probe);
	has = probe.len != 3 || memcmp(probe.data, "NIL", 3) != 0;
	buf_release(&probe);
	return has;
}

char *mail_envelope_build(const struct mail_mime_fields *f)
{
	struct buf out;
	char *s;

	buf_init(&out, 0);
	mail_envelope_put(&out, "(", 1);
	mail_envelope_string(f, MAIL_MIME_F_DATE, false, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_string(f, MAIL_MIME_F_SUBJECT, true, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, MAIL_MIME_F_FROM, &out);
	/* RFC 9051 7.5.2: sender and reply-to default to from */
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, mail_envelope_has_address(f, MAIL_MIME_F_SENDER) ?
				    MAIL_MIME_F_SENDER : MAIL_MIME_F_FROM, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, mail_envelope_has_address(f, MAIL_MIME_F_REPLY_TO) ?
				    MAIL_MIME_F_REPLY_TO : MAIL_MIME_F_FROM, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, MAIL_MIME_F_TO, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, MAIL_MIME_F_CC, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_address_field(f, MAIL_MIME_F_BCC, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_string(f, MAIL_MIME_F_IN_REPLY_TO, false, &out);
	mail_envelope_put(&out, " ", 1);
	mail_envelope_string(f, MAIL_MIME_F_MESSAGE_ID, false, &out);
	mail_envelope_put(&out, ")", 1);
	s = mail_mime_strndup(out.data, out.len);
	buf_release(&out);
	return s;
}
