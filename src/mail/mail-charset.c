/* mail-charset - converting a MIME charset to UTF-8 in pieces (iconv for
 * everything but UTF-8 and US-ASCII), and making text valid UTF-8; see
 * mail-decode.h. */
#include "mail/mail-decode.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

/* The longest charset name tried, and the longest incomplete character
 * held between blocks (iconv's multibyte and escape sequences are short). */
#define MAIL_CHARSET_NAME_MAX 40
#define MAIL_CHARSET_PEND 16
/* Input is converted in blocks that end at fixed offsets of the stream
 * (multiples of this), whatever pieces it comes in: glibc's stateful
 * decoders (UTF-7, ISO-2022-*) report an invalid sequence at a place that
 * depends on where one iconv call ended, so only calls at the same places
 * give the same text for the same bytes. */
#define MAIL_CHARSET_BLOCK 4096

struct mail_charset {
	bool utf8;                  /* UTF-8 or US-ASCII: no iconv */
	iconv_t cd;
	size_t n_block;             /* bytes of the current block taken */
	size_t n_hold;              /* a held character, then the block's bytes */
	unsigned char hold[MAIL_CHARSET_PEND + MAIL_CHARSET_BLOCK];
};

static const char mail_charset_replacement[] = "\xef\xbf\xbd";  /* U+FFFD */

static int mail_charset_replace(struct buf *out)
{
	return buf_append(out, mail_charset_replacement, 3);
}

bool mail_charset_is_utf8(const char *name)
{
	static const char *const names[] = {
		"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-ir-6", "iso646-us",
		"us", "cp367", "ibm367", "csascii", "default",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

/* MIME names that glibc's iconv does not know, or knows as a smaller set
 * than mail means by them. */
static const char *mail_charset_alias(const char *name)
{
	static const struct {
		const char *mime, *iconv;
	} aliases[] = {
		{ "iso-8859-8-i", "ISO-8859-8" },
		{ "ks_c_5601-1987", "CP949" },
		{ "gb2312", "GBK" },
		{ "x-sjis", "SHIFT_JIS" },
		{ "x-gbk", "GBK" },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(name, aliases[i].mime) == 0)
			return aliases[i].iconv;
	}
	return name;
}

struct mail_charset *mail_charset_open(const char *name)
{
	struct mail_charset *cs;
	size_t len = strlen(name);
	iconv_t cd = (iconv_t)-1;

	if (len == 0 || len > MAIL_CHARSET_NAME_MAX)
		return NULL;
	/* Only a plain name reaches iconv: "//TRANSLIT" or a path must not. */
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '+'))
			return NULL;
	}
	if (!mail_charset_is_utf8(name)) {
		cd = iconv_open("UTF-8", mail_charset_alias(name));
		if (cd == (iconv_t)-1)
			return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		abort();
	cs->utf8 = cd == (iconv_t)-1;
	cs->cd = cd;
	return cs;
}

void mail_charset_close(struct mail_charset **csp)
{
	struct mail_charset *cs = *csp;

	if (cs == NULL)
		return;
	if (!cs->utf8)
		iconv_close(cs->cd);
	free(cs);
	*csp = NULL;
}

/* UTF-8 in, valid UTF-8 out. Stops before a character cut short at the
 * end unless `final`; *used_r gets the bytes read. */
static int mail_charset_run_utf8(const unsigned char *p, size_t n, bool final, struct buf *out,
				 size_t *used_r)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		size_t k;

		while (run < n && p[run] != 0 && p[run] < 0x80)
			run++;
		if (run > i) {
			if (buf_append(out, p + i, run - i) < 0)
				return -1;
			i = run;
			continue;
		}
		k = utf8_char_len(p + i, n - i);
		if (k > 0) {
			if (buf_append(out, p + i, k) < 0)
				return -1;
			i += k;
			continue;
		}
		if (!final && utf8_cut_tail(p + i, n - i) == n - i)
			break;
		if (mail_charset_replace(out) < 0)
			return -1;
		i++;
	}
	*used_r = i;
	return 0;
}

/* The same through iconv. */
static int mail_charset_run_iconv(struct mail_charset *cs, const unsigned char *p, size_t n,
				  bool final, struct buf *out, size_t *used_r)
{
	char *inp = (char *)p;
	size_t inleft = n;

	while (inleft > 0) {
		size_t room = inleft * 4 + 16;
		char *o;
		char *op;
		size_t oleft;
		size_t r;

		if (room > 16384)
			room = 16384;
		o = buf_reserve(out, room);
		if (o == NULL)
			return -1;
		op = o;
		oleft = room;
		r = iconv(cs->cd, &inp, &inleft, &op, &oleft);
		buf_commit(out, (size_t)(op - o));
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL && !final)
			break;  /* cut short: held for the next block */
		/* EILSEQ, or EINVAL at the end: one replacement, one byte on. */
		if (mail_charset_replace(out) < 0)
			return -1;
		inp++;
		inleft--;
	}
	*used_r = n - inleft;
	return 0;
}

static int mail_charset_run(struct mail_charset *cs, const unsigned char *p, size_t n, bool final,
			    struct buf *out, size_t *used_r)
{
	if (cs->utf8)
		return mail_charset_run_utf8(p, n, final, out, used_r);
	return mail_charset_run_iconv(cs, p, n, final, out, used_r);
}

/* Convert what is held; a character cut short at its end stays held
 * unless `final`. */
static int mail_charset_convert(struct mail_charset *cs, bool final, struct buf *out)
{
	size_t used;
	size_t rest;

	if (mail_charset_run(cs, cs->hold, cs->n_hold, final, out, &used) < 0) {
		cs->n_hold = 0;
		return -1;
	}
	rest = cs->n_hold - used;
	if (rest > MAIL_CHARSET_PEND) {
		rest = 0;  /* too long to be a character */
		if (mail_charset_replace(out) < 0) {
			cs->n_hold = 0;
			return -1;
		}
	}
	memmove(cs->hold, cs->hold + used, rest);
	cs->n_hold = rest;
	return 0;
}

int mail_charset_push(struct mail_charset *cs, const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;

	while (len > 0) {
		size_t k = MAIL_CHARSET_BLOCK - cs->n_block;

		if (k > len)
			k = len;
		memcpy(cs->hold + cs->n_hold, p, k);
		cs->n_hold += k;
		cs->n_block += k;
		p += k;
		len -= k;
		if (cs->n_block == MAIL_CHARSET_BLOCK) {
			cs->n_block = 0;
			if (mail_charset_convert(cs, false, out) < 0)
				return -1;
		}
	}
	return 0;
}

int mail_charset_finish(struct mail_charset *cs, struct buf *out)
{
	int ret = mail_charset_convert(cs, true, out);

	cs->n_hold = 0;
	cs->n_block = 0;
	if (!cs->utf8) {
		/* A stateful charset (ISO-2022-JP) may owe a shift back. */
		char tail[16];
		char *op = tail;
		size_t oleft = sizeof(tail);

		if (iconv(cs->cd, NULL, NULL, &op, &oleft) != (size_t)-1 && ret == 0 &&
		    buf_append(out, tail, sizeof(tail) - oleft) < 0)
			ret = -1;
		iconv(cs->cd, NULL, NULL, NULL, NULL);
	}
	return ret;
}

int mail_utf8_sanitize(const void *s, size_t len, struct buf *out)
{
	size_t used;

	return mail_charset_run_utf8(s, len, true, out, &used);
}
