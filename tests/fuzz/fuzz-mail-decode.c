/* fuzz-mail-decode - libFuzzer harness for mail/mail-decode.h. Input: a
 * byte choosing the chunk size, then the data. Base64 and QP decoded whole
 * and in chunks give the same bytes and flag within the output bound;
 * RFC 2047 decoding and charset conversion (of charsets named by the
 * input's first line too) give valid UTF-8; the matcher fed in chunks
 * agrees with the one-call match, and finds a needle cut from the data. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "mail/mail-decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_decode(enum mail_cte cte, const uint8_t *in, size_t len, size_t step,
			  unsigned char *out, bool *bad_r)
{
	struct mail_decoder d;
	size_t n = 0;

	mail_decoder_init(&d, cte);
	for (size_t off = 0; off < len; off += step) {
		size_t k = step > len - off ? len - off : step;
		size_t w = mail_decoder_push(&d, in + off, k, out + n);

		if (w > MAIL_DECODE_OUT_MAX(k))
			abort();
		n += w;
	}
	n += mail_decoder_finish(&d, out + n);
	*bad_r = mail_decoder_bad(&d);
	return n;
}

static void fuzz_cte(enum mail_cte cte, const uint8_t *in, size_t len, size_t step)
{
	unsigned char *a = malloc(MAIL_DECODE_OUT_MAX(len) + MAIL_DECODE_HOLD);
	unsigned char *b = malloc(len * (MAIL_DECODE_HOLD + 1) + MAIL_DECODE_HOLD);
	bool bad_a, bad_b;
	size_t na, nb;

	if (a == NULL || b == NULL)
		abort();
	na = fuzz_decode(cte, in, len, len == 0 ? 1 : len, a, &bad_a);
	nb = fuzz_decode(cte, in, len, step, b, &bad_b);
	if (na != nb || memcmp(a, b, na) != 0 || bad_a != bad_b)
		abort();
	if (cte == MAIL_CTE_BASE64 && na > len)
		abort();
	free(a);
	free(b);
}

static void fuzz_valid(const struct buf *b)
{
	if (!utf8_valid((const unsigned char *)b->data, b->len) && memchr(b->data, 0, b->len) == NULL)
		abort();
}

static void fuzz_charset(const char *name, const uint8_t *in, size_t len, size_t step)
{
	struct mail_charset *cs = mail_charset_open(name);
	struct buf a, b;

	if (cs == NULL)
		return;
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (mail_charset_push(cs, in, len, &a) < 0 || mail_charset_finish(cs, &a) < 0)
		abort();
	for (size_t off = 0; off < len; off += step) {
		size_t k = step > len - off ? len - off : step;

		if (mail_charset_push(cs, in + off, k, &b) < 0)
			abort();
	}
	if (mail_charset_finish(cs, &b) < 0)
		abort();
	/* Stateless charsets give the same text however the input is cut. */
	if (mail_charset_is_utf8(name) && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0))
		abort();
	/* iconv writes a NUL for a NUL: the text is valid apart from NULs. */
	fuzz_valid(&a);
	fuzz_valid(&b);
	mail_charset_close(&cs);
	buf_release(&a);
	buf_release(&b);
}

static void fuzz_match(const uint8_t *in, size_t len, size_t step)
{
	size_t nlen = len < 8 ? len : in[0] % 8;
	const char *needle = (const char *)in + (len > 16 ? in[1] % (len - 8) : 0);
	struct mail_match *m;
	bool whole;

	if (needle + nlen > (const char *)in + len)
		return;
	whole = mail_match_contains((const char *)in, len, needle, nlen);
	m = mail_match_new(needle, nlen);
	for (size_t off = 0; off < len; off += step) {
		size_t k = step > len - off ? len - off : step;

		mail_match_push(m, in + off, k);
	}
	if (mail_match_finish(m) != whole)
		abort();
	/* A needle cut from the text on character boundaries is found in it. */
	if (!whole && utf8_valid(in, len) &&
	    utf8_valid((const unsigned char *)needle, nlen))
		abort();
	mail_match_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const charsets[] = { "utf-8", "iso-8859-1", "shift_jis", "iso-2022-jp",
						"utf-16", "gb18030" };
	const uint8_t *in;
	size_t len, step;
	struct buf out;
	char name[41];
	const uint8_t *nl;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	in = data + 1;
	len = size - 1;

	fuzz_cte(MAIL_CTE_BASE64, in, len, step);
	fuzz_cte(MAIL_CTE_QP, in, len, step);
	fuzz_cte(MAIL_CTE_IDENTITY, in, len, step);

	buf_init(&out, 0);
	if (mail_decode_header((const char *)in, len, &out) < 0)
		abort();
	fuzz_valid(&out);
	buf_release(&out);

	for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		fuzz_charset(charsets[i], in, len, step);
	nl = memchr(in, '\n', len < sizeof(name) ? len : sizeof(name));
	if (nl != NULL) {
		memcpy(name, in, (size_t)(nl - in));
		name[nl - in] = '\0';
		if (strlen(name) == (size_t)(nl - in))
			fuzz_charset(name, nl + 1, len - (size_t)(nl + 1 - in), step);
	}
	if (len > 0)
		fuzz_match(in, len, step);
	return 0;
}
