/* mail-rfc2047 - RFC 2047 encoded words in header values, decoded into
 * UTF-8 for SEARCH; see mail-decode.h. */
#include "mail/mail-decode.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/number.h"
#include "mail/mail-header.h"

/* RFC 2047 2 limits a word to 75 characters; mailers write longer ones,
 * which are read up to this bound. */
#define MAIL_RFC2047_WORD_MAX 1024
#define MAIL_RFC2047_CHARSET_MAX 64

struct mail_rfc2047_word {
	char charset[MAIL_RFC2047_CHARSET_MAX + 1];  /* without an RFC 2231 language */
	unsigned char bytes[MAIL_DECODE_OUT_MAX(MAIL_RFC2047_WORD_MAX)];
	size_t n;
	size_t end;                 /* the offset after its "?=" */
};

/* The words decoded but not yet converted: adjacent words of one charset
 * are converted together, so that a character split between two words
 * (as some mailers split UTF-8) comes out whole. */
struct mail_rfc2047_pending {
	struct mail_charset *cs;
	char charset[MAIL_RFC2047_CHARSET_MAX + 1];
};

static bool mail_rfc2047_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "Q" (RFC 2047 4.2): '_' is a space, =XX a byte. False when malformed. */
static bool mail_rfc2047_q(const unsigned char *t, size_t len, struct mail_rfc2047_word *w)
{
	w->n = 0;
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '_') {
			w->bytes[w->n++] = ' ';
		} else if (t[i] == '=') {
			int hi, lo;

			if (len - i < 3)
				return false;
			hi = number_hex_digit(t[i + 1]);
			lo = number_hex_digit(t[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			w->bytes[w->n++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else {
			w->bytes[w->n++] = t[i];
		}
	}
	return true;
}

/* "B" (RFC 2047 4.1): base64; padding may be missing, other bytes may not. */
static bool mail_rfc2047_b(const unsigned char *t, size_t len, struct mail_rfc2047_word *w)
{
	struct mail_decoder d;

	for (size_t i = 0; i < len; i++) {
		if (t[i] != '=' && number_base64_digit(t[i]) < 0)
			return false;
	}
	mail_decoder_init(&d, MAIL_CTE_BASE64);
	w->n = mail_decoder_push(&d, t, len, w->bytes);
	w->n += mail_decoder_finish(&d, w->bytes + w->n);
	return true;
}

/* An encoded word "=?charset?enc?text?=" at s[0..len) (RFC 2047 2):
 * true with it decoded into *w. */
static bool mail_rfc2047_word(const char *s, size_t len, struct mail_rfc2047_word *w)
{
	size_t i = 2;
	size_t cs_len, lang;
	char enc;
	size_t text;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	while (i < len && s[i] != '?' && !mail_rfc2047_wsp(s[i]))
		i++;
	cs_len = i - 2;
	if (i + 2 >= len || s[i] != '?' || cs_len == 0)
		return false;
	/* RFC 2231 5: "charset*language". */
	for (lang = 0; lang < cs_len && s[2 + lang] != '*'; lang++)
		;
	if (lang == 0 || lang > MAIL_RFC2047_CHARSET_MAX)
		return false;
	memcpy(w->charset, s + 2, lang);
	w->charset[lang] = '\0';
	enc = s[i + 1];
	if (s[i + 2] != '?')
		return false;
	text = i + 3;
	for (i = text; i + 1 < len; i++) {
		if (s[i] == '?' && s[i + 1] == '=')
			break;
		if (mail_rfc2047_wsp(s[i]) || s[i] == '?' || i - text >= MAIL_RFC2047_WORD_MAX)
			return false;
	}
	if (i + 1 >= len)
		return false;
	w->end = i + 2;
	if (enc == 'Q' || enc == 'q')
		return mail_rfc2047_q((const unsigned char *)s + text, i - text, w);
	if (enc == 'B' || enc == 'b')
		return mail_rfc2047_b((const unsigned char *)s + text, i - text, w);
	return false;
}

static int mail_rfc2047_flush(struct mail_rfc2047_pending *p, struct buf *out)
{
	int ret = 0;

	if (p->cs != NULL) {
		ret = mail_charset_finish(p->cs, out);
		mail_charset_close(&p->cs);
	}
	return ret;
}

/* Add a decoded word: false (nothing written) when its charset is unknown. */
static bool mail_rfc2047_add(struct mail_rfc2047_pending *p, const struct mail_rfc2047_word *w,
			     struct buf *out, int *ret)
{
	if (p->cs == NULL || strcasecmp(p->charset, w->charset) != 0) {
		struct mail_charset *cs = mail_charset_open(w->charset);

		if (cs == NULL)
			return false;
		if (mail_rfc2047_flush(p, out) < 0)
			*ret = -1;
		p->cs = cs;
		memcpy(p->charset, w->charset, sizeof(p->charset));
	}
	if (mail_charset_push(p->cs, w->bytes, w->n, out) < 0)
		*ret = -1;
	return true;
}

static bool mail_rfc2047_all_wsp(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!mail_rfc2047_wsp(s[i]))
			return false;
	}
	return true;
}

int mail_decode_header(const char *value, size_t len, struct buf *out)
{
	struct mail_rfc2047_pending pending = { .cs = NULL };
	struct mail_rfc2047_word *w;
	char *s;
	size_t n, i, raw;
	int ret = 0;

	s = malloc(len + 1);
	w = malloc(sizeof(*w));
	if (s == NULL || w == NULL)
		abort();
	n = mail_header_unfold(value, len, s);
	i = 0;
	while (i < n && mail_rfc2047_wsp(s[i]))
		i++;
	while (n > i && mail_rfc2047_wsp(s[n - 1]))
		n--;
	raw = i;    /* s[raw..i) is text not written yet */
	while (i < n) {
		const char *q;

		if (s[i] != '=' || i + 1 >= n || s[i + 1] != '?') {
			q = memchr(s + i + 1, '=', n - i - 1);
			i = q != NULL ? (size_t)(q - s) : n;
			continue;
		}
		if (!mail_rfc2047_word(s + i, n - i, w)) {
			i += 2;
			continue;
		}
		/* RFC 2047 6.2: white space between adjacent words is dropped. */
		if (pending.cs == NULL || !mail_rfc2047_all_wsp(s + raw, i - raw)) {
			if (mail_rfc2047_flush(&pending, out) < 0 ||
			    mail_utf8_sanitize(s + raw, i - raw, out) < 0)
				ret = -1;
			raw = i;
		}
		if (!mail_rfc2047_add(&pending, w, out, &ret)) {
			/* Unknown charset: the word stays as written. */
			if (mail_rfc2047_flush(&pending, out) < 0)
				ret = -1;
			i += w->end;
			continue;
		}
		i += w->end;
		raw = i;
	}
	if (mail_rfc2047_flush(&pending, out) < 0 || mail_utf8_sanitize(s + raw, n - raw, out) < 0)
		ret = -1;
	free(w);
	free(s);
	return ret;
}
