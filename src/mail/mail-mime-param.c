/* mail-mime-param - a part's Content-* fields read into its BODYSTRUCTURE
 * fields: the media type and its parameters (RFC 2045 5.1), RFC 2231
 * parameter continuations and charsets decoded to UTF-8 (as RFC 9051
 * 7.5.2 asks), the disposition (RFC 2183), languages (RFC 3282), and the
 * transfer encoding. Lenient with broken headers, as Dovecot is. */
#include "mail/mail-mime-internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/number.h"
#include "mail/mail-decode.h"

/* The most parameters a field gives; more are dropped. */
#define MAIL_MIME_MAX_PARAMS 64
/* Room for an RFC 2231 charset name and its NUL. */
#define MAIL_MIME_MAX_CHARSET 64

struct mail_mime_param {
	char *name, *value;
	size_t name_len, value_len;
};

struct mail_mime_params {
	struct mail_mime_param p[MAIL_MIME_MAX_PARAMS];
	size_t n;
};

struct mail_mime_scan {
	const char *s;
	size_t len, pos;
};

static void mail_mime_scan_init(struct mail_mime_scan *sc, const struct buf *value)
{
	const char *nul = value->len > 0 ? memchr(value->data, '\0', value->len) : NULL;

	/* an empty field's value may have no buffer: pointer arithmetic on
	 * NULL is undefined (the fuzzer's "Content-Type:" at the very end) */
	sc->s = value->data != NULL ? value->data : "";
	sc->len = nul != NULL ? (size_t)(nul - value->data) : value->len;
	sc->pos = 0;
}

/* White space and comments (RFC 5322 3.2.2), nested, with quoted pairs. */
static void mail_mime_skip_cfws(struct mail_mime_scan *sc)
{
	unsigned depth = 0;

	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];

		if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '(')
			return;
		sc->pos++;
		if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		else if (c == '\\' && sc->pos < sc->len)
			sc->pos++;
	}
}

/* RFC 2045 5.1 token: no space, control character or tspecial; 8-bit
 * bytes are taken (broken mail has them). `value` also takes '/', '='
 * and '?', which unquoted boundaries ("----=_Part_1") hold. */
static size_t mail_mime_token(struct mail_mime_scan *sc, bool value)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->pos];

		if (c <= ' ' || c == 0x7f || strchr("()<>@,;:\\\"[]", c) != NULL ||
		    (!value && strchr("/?=", c) != NULL))
			break;
		sc->pos++;
	}
	return sc->pos - start;
}

static void mail_mime_param_add(struct mail_mime_params *ps, const char *name, size_t name_len,
				const char *value, size_t value_len)
{
	struct mail_mime_param *p;

	if (ps->n == MAIL_MIME_MAX_PARAMS)
		return;
	p = &ps->p[ps->n++];
	p->name = mail_mime_strndup(name, name_len);
	p->name_len = name_len;
	p->value = mail_mime_strndup(value, value_len);
	p->value_len = value_len;
}

/* The value of a parameter: a quoted string (unescaped; an unclosed one
 * runs to the end) or a token. */
static void mail_mime_param_value(struct mail_mime_scan *sc, struct buf *out)
{
	buf_reset(out);
	if (sc->pos < sc->len && sc->s[sc->pos] == '"') {
		sc->pos++;
		while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
			if (sc->s[sc->pos] == '\\' && sc->pos + 1 < sc->len)
				sc->pos++;
			if (buf_append(out, sc->s + sc->pos, 1) < 0)
				abort();
			sc->pos++;
		}
		sc->pos += sc->pos < sc->len ? 1 : 0;
	} else {
		size_t start = sc->pos, n = mail_mime_token(sc, true);

		if (buf_append(out, sc->s + start, n) < 0)
			abort();
	}
}

/* ";" attribute "=" value, until the value ends; a parameter without a
 * name or '=' is dropped and reading goes on at the next ';'. */
static void mail_mime_params_read(struct mail_mime_scan *sc, struct mail_mime_params *ps)
{
	struct buf value;

	buf_init(&value, 0);
	for (;;) {
		size_t name_start, name_len;

		mail_mime_skip_cfws(sc);
		if (sc->pos >= sc->len)
			break;
		if (sc->s[sc->pos] != ';') {
			/* junk: skip to the next ';' outside quotes */
			bool quoted = false;

			while (sc->pos < sc->len && (quoted || sc->s[sc->pos] != ';')) {
				if (sc->s[sc->pos] == '"')
					quoted = !quoted;
				else if (quoted && sc->s[sc->pos] == '\\')
					sc->pos++;
				sc->pos++;
			}
			continue;
		}
		sc->pos++;
		mail_mime_skip_cfws(sc);
		name_start = sc->pos;
		name_len = mail_mime_token(sc, false);
		mail_mime_skip_cfws(sc);
		if (name_len == 0 || sc->pos >= sc->len || sc->s[sc->pos] != '=')
			continue;
		sc->pos++;
		mail_mime_skip_cfws(sc);
		mail_mime_param_value(sc, &value);
		mail_mime_param_add(ps, sc->s + name_start, name_len,
				    value.len > 0 ? value.data : "", value.len);
	}
	buf_release(&value);
}

/* RFC 2231 4: %XX octets; a '%' not followed by two hex digits stays. */
static void mail_mime_percent_decode(const char *s, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];
		int hi, lo;

		if (c == '%' && i + 2 < len && (hi = number_hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = number_hex_digit((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (buf_append(out, &c, 1) < 0)
			abort();
	}
}

/* Convert out's bytes from `charset` to UTF-8 in place (mail-charset).
 * An unknown charset leaves them as they are; a byte that does not
 * convert becomes U+FFFD. */
static void mail_mime_to_utf8(const char *charset, struct buf *text)
{
	struct mail_charset *cs;
	struct buf conv;

	if (charset[0] == '\0' || text->len == 0 || mail_charset_is_utf8(charset) ||
	    (cs = mail_charset_open(charset)) == NULL)
		return;
	buf_init(&conv, 0);
	if (mail_charset_push(cs, text->data, text->len, &conv) < 0 ||
	    mail_charset_finish(cs, &conv) < 0)
		abort();        /* no cap on conv: only out of memory */
	mail_charset_close(&cs);
	buf_reset(text);
	if (buf_append(text, conv.data, conv.len) < 0)
		abort();
	buf_release(&conv);
}

/* The RFC 2231 form of a parameter name: "base*", "base*N", "base*N*". */
struct mail_mime_2231 {
	size_t base_len;
	long section;       /* -1: none */
	bool extended;
};

static bool mail_mime_2231_name(const struct mail_mime_param *p, struct mail_mime_2231 *r)
{
	const char *star = memchr(p->name, '*', p->name_len);
	size_t i;

	if (star == NULL || star == p->name)
		return false;
	r->base_len = (size_t)(star - p->name);
	r->section = -1;
	r->extended = false;
	i = r->base_len + 1;
	if (i == p->name_len) {
		r->extended = true;
		return true;
	}
	if (p->name[i] < '0' || p->name[i] > '9')
		return false;
	r->section = 0;
	while (i < p->name_len && p->name[i] >= '0' && p->name[i] <= '9' && r->section < 100000)
		r->section = r->section * 10 + (p->name[i++] - '0');
	if (i < p->name_len && p->name[i] == '*' && i + 1 == p->name_len) {
		r->extended = true;
		return true;
	}
	return i == p->name_len;
}

/* One extended section (RFC 2231 4): %XX decoded onto out; the first
 * section starts with charset'language', whose charset goes to
 * charset[MAIL_MIME_MAX_CHARSET] (an empty one, or one too long, is none). */
static void mail_mime_2231_section(const char *v, size_t len, bool first, char *charset, struct buf *out)
{
	const char *q1 = first ? memchr(v, '\'', len) : NULL;
	const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;

	if (q2 != NULL) {
		size_t n = (size_t)(q1 - v);

		if (n < MAIL_MIME_MAX_CHARSET) {
			memcpy(charset, v, n);
			charset[n] = '\0';
		}
		len -= (size_t)(q2 + 1 - v);
		v = q2 + 1;
	}
	mail_mime_percent_decode(v, len, out);
}

/* RFC 2231 3, 4: join the sections of the parameter named like ps->p[first]
 * (in section order), decode the extended ones and convert them from the
 * charset of the first, and mark every used one (name set to NULL). */
static void mail_mime_2231_join(struct mail_mime_params *ps, size_t first, struct buf *out)
{
	struct mail_mime_2231 f, r;
	char charset[MAIL_MIME_MAX_CHARSET] = "";
	bool used[MAIL_MIME_MAX_PARAMS] = { false }, any = false;
	size_t base_len, i;

	(void)mail_mime_2231_name(&ps->p[first], &f);
	base_len = f.base_len;
	buf_reset(out);
	for (;;) {
		long best = -1;
		size_t pick = 0;

		/* the unused section with the lowest number (a lone "name*" is 0) */
		for (i = first; i < ps->n; i++) {
			if (used[i] || ps->p[i].name == NULL || !mail_mime_2231_name(&ps->p[i], &r) ||
			    r.base_len != base_len || strncasecmp(ps->p[i].name, ps->p[first].name, base_len) != 0)
				continue;
			if (r.section < 0)
				r.section = 0;
			if (best < 0 || r.section < best) {
				best = r.section;
				pick = i;
			}
		}
		if (best < 0)
			break;
		used[pick] = true;
		(void)mail_mime_2231_name(&ps->p[pick], &r);
		if (r.extended)
			mail_mime_2231_section(ps->p[pick].value, ps->p[pick].value_len, !any, charset, out);
		else if (buf_append(out, ps->p[pick].value, ps->p[pick].value_len) < 0)
			abort();
		any = true;
	}
	mail_mime_to_utf8(charset, out);
	for (i = first; i < ps->n; i++) {
		if (used[i] && i != first) {
			free(ps->p[i].name);
			ps->p[i].name = NULL;
		}
	}
	ps->p[first].name_len = base_len;
}

/* Write the parameters as an IMAP list, or NIL; `default_charset` adds
 * ("charset" "us-ascii") when there is none (text/..., RFC 2045 5.2). */
static void mail_mime_params_write(struct mail_mime_params *ps, bool default_charset, struct buf *out)
{
	struct buf joined;
	bool any = false, charset = false;
	size_t i;

	buf_init(&joined, 0);
	for (i = 0; i < ps->n; i++) {
		struct mail_mime_param *p = &ps->p[i];
		struct mail_mime_2231 r;

		if (p->name == NULL)
			continue;
		if (buf_append_str(out, any ? " " : "(") < 0)
			abort();
		any = true;
		if (mail_mime_2231_name(p, &r)) {
			mail_mime_2231_join(ps, i, &joined);
			mail_imap_append_string(out, p->name, p->name_len);
			if (buf_append_str(out, " ") < 0)
				abort();
			mail_imap_append_string(out, joined.len > 0 ? joined.data : "", joined.len);
		} else {
			mail_imap_append_string(out, p->name, p->name_len);
			if (buf_append_str(out, " ") < 0)
				abort();
			mail_imap_append_string(out, p->value, p->value_len);
		}
		charset |= p->name_len == 7 && strncasecmp(p->name, "charset", 7) == 0;
	}
	buf_release(&joined);
	if (default_charset && !charset) {
		if (buf_append_str(out, any ? " \"charset\" \"us-ascii\"" : "(\"charset\" \"us-ascii\"") < 0)
			abort();
		any = true;
	}
	if (buf_append_str(out, any ? ")" : "NIL") < 0)
		abort();
}

static void mail_mime_params_free(struct mail_mime_params *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->p[i].name);
		free(ps->p[i].value);
	}
	ps->n = 0;
}

static const char *mail_mime_param_find(const struct mail_mime_params *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (ps->p[i].name != NULL && strcasecmp(ps->p[i].name, name) == 0)
			return ps->p[i].value;
	}
	return NULL;
}

/* An nstring field: NIL when absent, else its value as a string. */
static void mail_mime_write_nstring(const struct mail_mime_fields *f, enum mail_mime_field which,
				    struct buf *out)
{
	if (!f->set[which]) {
		if (buf_append_str(out, "NIL") < 0)
			abort();
		return;
	}
	mail_imap_append_string(out, f->value[which].len > 0 ? f->value[which].data : "",
				f->value[which].len);
}

/* ("type" ("param" "value" ...)) or NIL: RFC 2183 disposition. */
static void mail_mime_write_disposition(const struct mail_mime_fields *f, struct buf *out)
{
	struct mail_mime_scan sc;
	struct mail_mime_params ps;
	size_t start, n;

	if (!f->set[MAIL_MIME_F_CONTENT_DISPOSITION]) {
		if (buf_append_str(out, "NIL") < 0)
			abort();
		return;
	}
	mail_mime_scan_init(&sc, &f->value[MAIL_MIME_F_CONTENT_DISPOSITION]);
	mail_mime_skip_cfws(&sc);
	start = sc.pos;
	n = mail_mime_token(&sc, false);
	if (n == 0) {
		if (buf_append_str(out, "NIL") < 0)
			abort();
		return;
	}
	if (buf_append_str(out, "(") < 0)
		abort();
	mail_imap_append_string(out, sc.s + start, n);
	if (buf_append_str(out, " ") < 0)
		abort();
	ps.n = 0;
	mail_mime_params_read(&sc, &ps);
	mail_mime_params_write(&ps, false, out);
	mail_mime_params_free(&ps);
	if (buf_append_str(out, ")") < 0)
		abort();
}

/* ("en" "de") or NIL: RFC 3282 language tags, separated by commas. */
static void mail_mime_write_language(const struct mail_mime_fields *f, struct buf *out)
{
	struct mail_mime_scan sc;
	bool any = false;

	if (f->set[MAIL_MIME_F_CONTENT_LANGUAGE]) {
		mail_mime_scan_init(&sc, &f->value[MAIL_MIME_F_CONTENT_LANGUAGE]);
		for (;;) {
			size_t start, n;

			mail_mime_skip_cfws(&sc);
			start = sc.pos;
			n = mail_mime_token(&sc, false);
			if (n == 0)
				break;
			if (buf_append_str(out, any ? " " : "(") < 0)
				abort();
			any = true;
			mail_imap_append_string(out, sc.s + start, n);
			mail_mime_skip_cfws(&sc);
			if (sc.pos >= sc.len || sc.s[sc.pos] != ',')
				break;
			sc.pos++;
		}
	}
	if (buf_append_str(out, any ? ")" : "NIL") < 0)
		abort();
}

static char *mail_mime_buf_take(struct buf *b)
{
	char *s = mail_mime_strndup(b->len > 0 ? b->data : "", b->len);

	buf_release(b);
	return s;
}

char *mail_mime_part_fill(struct mail_mime_node *node, const struct mail_mime_fields *f,
			  const struct mail_mime_part_ctx *ctx)
{
	struct mail_mime_scan sc;
	struct mail_mime_params ps;
	struct buf basic, ext, enc;
	const char *type = "text", *subtype = "plain", *boundary;
	size_t type_len = 4, subtype_len = 5, i;
	bool params_ok = true;
	char *boundary_r = NULL;

	ps.n = 0;
	if (ctx->digest_child) {
		/* RFC 2046 5.1.5: the default in a digest */
		type = "message";
		type_len = 7;
		subtype = "rfc822";
		subtype_len = 6;
	}
	if (f->set[MAIL_MIME_F_CONTENT_TYPE]) {
		size_t start;

		mail_mime_scan_init(&sc, &f->value[MAIL_MIME_F_CONTENT_TYPE]);
		mail_mime_skip_cfws(&sc);
		start = sc.pos;
		type_len = mail_mime_token(&sc, false);
		type = sc.s + start;
		subtype = "";
		subtype_len = 0;
		mail_mime_skip_cfws(&sc);
		if (type_len == 0) {
			/* no type: Dovecot gives "" "" and no parameters */
			type = "";
			params_ok = false;
		} else if (sc.pos < sc.len && sc.s[sc.pos] == '/') {
			sc.pos++;
			mail_mime_skip_cfws(&sc);
			start = sc.pos;
			subtype_len = mail_mime_token(&sc, false);
			subtype = sc.s + start;
		}
		if (params_ok)
			mail_mime_params_read(&sc, &ps);
	}

	node->kind = MAIL_MIME_LEAF;
	if (type_len == 9 && strncasecmp(type, "multipart", 9) == 0)
		node->kind = MAIL_MIME_MULTIPART;
	else if (type_len == 7 && strncasecmp(type, "message", 7) == 0 &&
		 ((subtype_len == 6 && strncasecmp(subtype, "rfc822", 6) == 0) ||
		  (subtype_len == 6 && strncasecmp(subtype, "global", 6) == 0)))
		node->kind = MAIL_MIME_MESSAGE;
	if (node->kind != MAIL_MIME_LEAF && ctx->too_deep) {
		/* beyond the nesting bound: opaque, as Dovecot shows it */
		node->kind = MAIL_MIME_LEAF;
		type = "application";
		type_len = 11;
		subtype = "octet-stream";
		subtype_len = 12;
	}
	node->text = node->kind == MAIL_MIME_LEAF && type_len == 4 && strncasecmp(type, "text", 4) == 0;

	buf_init(&basic, 0);
	buf_init(&ext, 0);
	buf_init(&enc, 0);
	if (node->kind == MAIL_MIME_MULTIPART) {
		mail_imap_append_string(&basic, subtype, subtype_len);
		mail_mime_params_write(&ps, false, &ext);
		boundary = mail_mime_param_find(&ps, "boundary");
		if (boundary != NULL && boundary[0] != '\0' && strlen(boundary) <= MAIL_MIME_MAX_BOUNDARY)
			boundary_r = mail_mime_strndup(boundary, strlen(boundary));
	} else {
		mail_imap_append_string(&basic, type, type_len);
		if (buf_append_str(&basic, " ") < 0)
			abort();
		mail_imap_append_string(&basic, subtype, subtype_len);
		if (buf_append_str(&basic, " ") < 0)
			abort();
		mail_mime_params_write(&ps, node->text, &basic);
		if (buf_append_str(&basic, " ") < 0)
			abort();
		mail_mime_write_nstring(f, MAIL_MIME_F_CONTENT_ID, &basic);
		if (buf_append_str(&basic, " ") < 0)
			abort();
		mail_mime_write_nstring(f, MAIL_MIME_F_CONTENT_DESCRIPTION, &basic);
		if (buf_append_str(&basic, " ") < 0)
			abort();
	}
	/* the encoding: a token, "7bit" by default (RFC 2045 6.1) */
	if (f->set[MAIL_MIME_F_CONTENT_TRANSFER_ENCODING]) {
		size_t start, n;

		mail_mime_scan_init(&sc, &f->value[MAIL_MIME_F_CONTENT_TRANSFER_ENCODING]);
		mail_mime_skip_cfws(&sc);
		start = sc.pos;
		n = mail_mime_token(&sc, false);
		if (n > 0 && buf_append(&enc, sc.s + start, n) < 0)
			abort();
	}
	if (enc.len == 0 && buf_append_str(&enc, "7bit") < 0)
		abort();
	if (node->kind != MAIL_MIME_MULTIPART)
		mail_imap_append_string(&basic, enc.data, enc.len);
	for (i = 0; i < enc.len; i++) {
		if (enc.data[i] >= 'A' && enc.data[i] <= 'Z')
			enc.data[i] = (char)(enc.data[i] - 'A' + 'a');
	}

	if (node->kind != MAIL_MIME_MULTIPART) {
		mail_mime_write_nstring(f, MAIL_MIME_F_CONTENT_MD5, &ext);
	}
	if (buf_append_str(&ext, " ") < 0)
		abort();
	mail_mime_write_disposition(f, &ext);
	if (buf_append_str(&ext, " ") < 0)
		abort();
	mail_mime_write_language(f, &ext);
	if (buf_append_str(&ext, " ") < 0)
		abort();
	mail_mime_write_nstring(f, MAIL_MIME_F_CONTENT_LOCATION, &ext);

	mail_mime_params_free(&ps);
	node->basic = mail_mime_buf_take(&basic);
	node->ext = mail_mime_buf_take(&ext);
	node->encoding = mail_mime_buf_take(&enc);
	return boundary_r;
}

char *mail_mime_content_charset(const char *value, size_t len)
{
	struct mail_mime_scan sc = { .s = value, .len = len, .pos = 0 };
	struct mail_mime_params ps;
	const char *charset;
	char *r = NULL;

	ps.n = 0;
	/* type "/" subtype, then the parameters (RFC 2045 5.1) */
	mail_mime_skip_cfws(&sc);
	if (mail_mime_token(&sc, false) == 0)
		return NULL;
	mail_mime_skip_cfws(&sc);
	if (sc.pos < sc.len && sc.s[sc.pos] == '/') {
		sc.pos++;
		mail_mime_skip_cfws(&sc);
		(void)mail_mime_token(&sc, false);
	}
	mail_mime_params_read(&sc, &ps);
	charset = mail_mime_param_find(&ps, "charset");
	if (charset != NULL && charset[0] != '\0')
		r = mail_mime_strndup(charset, strlen(charset));
	mail_mime_params_free(&ps);
	return r;
}
