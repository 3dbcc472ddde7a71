/* maildir-name - mailbox names as Maildir++ folder names and back, the
 * way Dovecot writes them with its listescape plugin: levels joined by
 * '.', each in modified UTF-7 (RFC 3501 5.1.3), with '.', '\' and a
 * leading '~' of a level escaped as "\xx" (lowercase hex). Escaping is what
 * keeps "a.b" (".a\2eb") and "a/b" (".a.b") apart. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/transfer.h"

#define NAME_ESCAPE '\\'

static const char mbase64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* The code point of the UTF-8 sequence at s (len bytes left), or -1 when
 * it is not valid UTF-8 (overlong, surrogate, beyond U+10FFFF, cut
 * short); *n_r gets its length. */
static long utf8_next(const unsigned char *s, size_t len, size_t *n_r)
{
	static const long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	long cp;

	if (s[0] < 0x80) {
		*n_r = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (n > len)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n_r = n;
	return cp;
}

static void utf8_put(struct buf *out, long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12), n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		b[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	buf_append(out, b, n);
}

/* A run of non-ASCII characters (valid UTF-8) at s as "&...-": UTF-16BE
 * in modified base64. Returns the bytes consumed (0: s starts no valid
 * sequence). */
static size_t utf7_run(struct buf *out, const unsigned char *s, size_t len)
{
	unsigned long bits = 0;
	unsigned nbits = 0;
	size_t used = 0, n;
	long cp;

	while (used < len && s[used] >= 0x80 && (cp = utf8_next(s + used, len - used, &n)) >= 0) {
		unsigned units[2], k = 1;

		if (used == 0)
			buf_append(out, "&", 1);
		if (cp >= 0x10000) {
			units[0] = 0xd800 + (unsigned)((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + (unsigned)((cp - 0x10000) & 0x3ff);
			k = 2;
		} else {
			units[0] = (unsigned)cp;
		}
		for (unsigned u = 0; u < k; u++) {
			bits = (bits << 16 | units[u]) & 0xffffffUL;
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				buf_append(out, &mbase64[(bits >> nbits) & 0x3f], 1);
			}
		}
		used += n;
	}
	if (used == 0)
		return 0;
	if (nbits > 0)
		buf_append(out, &mbase64[(bits << (6 - nbits)) & 0x3f], 1);
	buf_append(out, "-", 1);
	return used;
}

char *transfer_maildir_folder_encode(const char *mailbox)
{
	const unsigned char *s = (const unsigned char *)mailbox;
	size_t len = strlen(mailbox);
	bool level_start = true;
	struct buf out;

	buf_init(&out, 0);
	buf_append(&out, ".", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t used;

		if (c == '/') {
			buf_append(&out, ".", 1);
			level_start = true;
			i++;
			continue;
		}
		if (c >= 0x80 && (used = utf7_run(&out, s + i, len - i)) > 0) {
			i += used;
		} else if (c == '&') {
			buf_append(&out, "&-", 2);
			i++;
		} else if (c < 0x20 || c >= 0x7f || c == '.' || c == NAME_ESCAPE ||
			   (c == '~' && level_start)) {
			/* bytes that are not UTF-8 too: the round trip stays exact */
			buf_printf(&out, "%c%02x", NAME_ESCAPE, c);
			i++;
		} else {
			buf_append(&out, &c, 1);
			i++;
		}
		level_start = false;
	}
	buf_append(&out, "", 1);
	return out.data;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "\xx" escapes of one level undone (not "\00": a name holds no NUL). */
static void level_unescape(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = -1, lo = -1;

		if (s[i] == NAME_ESCAPE && i + 2 < len) {
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
		}
		if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
			char c = (char)(hi << 4 | lo);

			buf_append(out, &c, 1);
			i += 2;
		} else {
			buf_append(out, &s[i], 1);
		}
	}
}

/* One "&...-" section at s (after the '&'), strictly: characters that
 * stand for themselves must not be encoded, surrogates must pair, spare
 * bits must be zero. Returns the bytes consumed up to and including the
 * '-', 0 when it is not valid. */
static size_t utf7_section(struct buf *out, const char *s, size_t len)
{
	unsigned long bits = 0;
	unsigned nbits = 0;
	unsigned high = 0;   /* a high surrogate waiting for its pair */
	size_t i;

	for (i = 0; i < len && s[i] != '-'; i++) {
		const char *p = s[i] != '\0' ? strchr(mbase64, s[i]) : NULL;

		if (p == NULL)
			return 0;
		bits = (bits << 6 | (unsigned long)(p - mbase64)) & 0xffffffUL;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unsigned unit = (unsigned)(bits >> nbits) & 0xffff;

		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return 0;
			utf8_put(out, 0x10000 + ((long)(high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit == 0 || (unit >= 0x20 && unit < 0x7f) || (unit >= 0xdc00 && unit <= 0xdfff)) {
			return 0;
		} else {
			utf8_put(out, unit);
		}
	}
	if (i == 0 || i == len || high != 0 || nbits >= 6 || (bits & ((1UL << nbits) - 1)) != 0)
		return 0;
	return i + 1;
}

/* One level, unescaped, from modified UTF-7 into out; false (out
 * unchanged) when it is not valid modified UTF-7. Bytes above 0x7f stand
 * for themselves (encode writes invalid UTF-8 so). */
static bool level_utf7_decode(struct buf *out, const char *s, size_t len)
{
	size_t start = out->len;

	for (size_t i = 0; i < len;) {
		size_t used;

		if (s[i] != '&') {
			buf_append(out, &s[i++], 1);
		} else if (i + 1 < len && s[i + 1] == '-') {
			buf_append(out, "&", 1);
			i += 2;
		} else if ((used = utf7_section(out, s + i + 1, len - i - 1)) > 0) {
			i += 1 + used;
		} else {
			out->len = start;
			return false;
		}
	}
	return true;
}

char *transfer_maildir_folder_decode(const char *folder)
{
	struct buf out, level;

	buf_init(&out, 0);
	buf_init(&level, 0);
	if (*folder == '.')
		folder++;
	for (;;) {
		size_t n = strcspn(folder, ".");

		buf_reset(&level);
		level_unescape(&level, folder, n);
		if (level.len > 0 && !level_utf7_decode(&out, level.data, level.len))
			buf_append(&out, level.data, level.len);
		if (folder[n] == '\0')
			break;
		buf_append(&out, "/", 1);
		folder += n + 1;
	}
	buf_release(&level);
	buf_append(&out, "", 1);
	return out.data;
}
