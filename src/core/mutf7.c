/* mutf7 - modified UTF-7 runs; see mutf7.h. */
#include "core/mutf7.h"

#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"

/* RFC 3501 5.1.3: base64 with ',' for '/'. */
static const char mutf7_base64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool mutf7_direct(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

size_t mutf7_encode_run(struct buf *out, const unsigned char *s, size_t len)
{
	unsigned long bits = 0;
	unsigned nbits = 0;
	size_t used = 0, n;

	while (used < len && !mutf7_direct(s[used]) &&
	       (n = utf8_char_len(s + used, len - used)) > 0) {
		uint32_t cp = utf8_decode(s + used, n), units[2];
		unsigned k = 1;

		if (used == 0)
			buf_append(out, "&", 1);
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			k = 2;
		} else {
			units[0] = cp;
		}
		for (unsigned u = 0; u < k; u++) {
			bits = (bits << 16 | units[u]) & 0xffffffUL;
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				buf_append(out, &mutf7_base64[(bits >> nbits) & 0x3f], 1);
			}
		}
		used += n;
	}
	if (used == 0)
		return 0;
	if (nbits > 0)
		buf_append(out, &mutf7_base64[(bits << (6 - nbits)) & 0x3f], 1);
	buf_append(out, "-", 1);
	return used;
}

static void mutf7_put(struct buf *out, uint32_t cp)
{
	unsigned char b[4];

	buf_append(out, b, utf8_encode(cp, b));
}

/* The run after a '&' (s starts after it): the bytes consumed, the '-'
 * included; 0 when it is not valid. */
static size_t mutf7_decode_run(struct buf *out, const char *s, size_t len)
{
	unsigned long bits = 0;
	unsigned nbits = 0;
	uint32_t high = 0;   /* a high surrogate waiting for its pair */
	size_t i;

	for (i = 0; i < len && s[i] != '-'; i++) {
		const char *p = s[i] != '\0' ? strchr(mutf7_base64, s[i]) : NULL;
		uint32_t unit;

		if (p == NULL)
			return 0;
		bits = (bits << 6 | (unsigned long)(p - mutf7_base64)) & 0xffffffUL;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (uint32_t)(bits >> nbits) & 0xffff;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return 0;
			mutf7_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit == 0 || (unit < 0x80 && mutf7_direct((unsigned char)unit)) ||
			   (unit >= 0xdc00 && unit <= 0xdfff)) {
			/* RFC 3501 5.1.3: a character that can stand for
			 * itself must not be encoded. */
			return 0;
		} else {
			mutf7_put(out, unit);
		}
	}
	if (i == 0 || i == len || high != 0 || nbits >= 6 || (bits & ((1UL << nbits) - 1)) != 0)
		return 0;
	return i + 1;
}

bool mutf7_decode(struct buf *out, const char *s, size_t len, bool raw_ok)
{
	size_t start = out->len;

	for (size_t i = 0; i < len;) {
		size_t used;

		if (!raw_ok && !mutf7_direct((unsigned char)s[i]))
			goto fail;
		if (s[i] != '&') {
			buf_append(out, &s[i++], 1);
		} else if (i + 1 < len && s[i + 1] == '-') {
			buf_append(out, "&", 1);
			i += 2;
		} else if ((used = mutf7_decode_run(out, s + i + 1, len - i - 1)) > 0) {
			i += 1 + used;
		} else {
			goto fail;
		}
	}
	return true;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return false;
}
