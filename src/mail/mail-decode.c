/* mail-decode - the Content-Transfer-Encoding decoders (RFC 2045 6.7
 * quoted-printable, 6.8 base64), streaming; see mail-decode.h. */
#include "mail/mail-decode.h"

#include <string.h>

#include "core/number.h"

/* The quoted-printable reader's states (mail_decoder.qp). */
enum mail_qp_state {
	MAIL_QP_TEXT,       /* in text; `hold` has white space that may end the line */
	MAIL_QP_CR,         /* after a CR (hold still held) */
	MAIL_QP_EQ,         /* after '=' */
	MAIL_QP_EQ_HEX,     /* after '=' and one hex digit (in `nibble`) */
	MAIL_QP_EQ_WSP,     /* after '=' and white space: a soft break with padding */
	MAIL_QP_EQ_CR,      /* after '=' (and white space) and a CR */
};

_Static_assert(sizeof(((struct mail_decoder *)0)->hold) + 2 <= MAIL_DECODE_HOLD,
	       "what a decoder holds back fits MAIL_DECODE_HOLD");

static bool mail_decode_ascii_eq(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

enum mail_cte mail_cte_parse(const char *value, size_t len)
{
	if (value == NULL)
		return MAIL_CTE_IDENTITY;
	while (len > 0 && (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')) {
		value++;
		len--;
	}
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
			   value[len - 1] == '\r' || value[len - 1] == '\n'))
		len--;
	if (len == 0 || mail_decode_ascii_eq(value, len, "7bit") ||
	    mail_decode_ascii_eq(value, len, "8bit") || mail_decode_ascii_eq(value, len, "binary"))
		return MAIL_CTE_IDENTITY;
	if (mail_decode_ascii_eq(value, len, "base64"))
		return MAIL_CTE_BASE64;
	if (mail_decode_ascii_eq(value, len, "quoted-printable"))
		return MAIL_CTE_QP;
	return MAIL_CTE_UNKNOWN;
}

const char *mail_cte_name(enum mail_cte cte)
{
	static const char *const names[] = {
		[MAIL_CTE_IDENTITY] = "identity",
		[MAIL_CTE_BASE64] = "base64",
		[MAIL_CTE_QP] = "quoted-printable",
		[MAIL_CTE_UNKNOWN] = "unknown",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == MAIL_CTE__COUNT, "a name per encoding");

	return (unsigned)cte < MAIL_CTE__COUNT ? names[cte] : "?";
}

void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
	d->qp = MAIL_QP_TEXT;
	if (cte == MAIL_CTE_UNKNOWN)
		d->bad = true;
}

static size_t mail_decode_b64(struct mail_decoder *d, const unsigned char *in, size_t len,
			      unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		int v = number_base64_digit(c);

		if (v < 0) {
			if (c == '=') {
				d->b64_end = true;
				d->symbols++;
			} else if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
				d->bad = true;  /* RFC 2045 6.8: ignored, but not valid */
			}
			continue;
		}
		if (d->b64_end) {
			d->bad = true;  /* data after the padding: ignored */
			continue;
		}
		d->symbols++;
		d->acc = (d->acc << 6 | (uint32_t)v) & 0xffffff;
		d->bits += 6;
		if (d->bits >= 8) {
			d->bits -= 8;
			out[n++] = (unsigned char)(d->acc >> d->bits);
		}
	}
	return n;
}

static size_t mail_decode_flush_hold(struct mail_decoder *d, unsigned char *out)
{
	size_t n = d->n_hold;

	memcpy(out, d->hold, n);
	d->n_hold = 0;
	return n;
}

static size_t mail_decode_qp(struct mail_decoder *d, const unsigned char *in, size_t len,
			     unsigned char *out)
{
	size_t n = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = in[i];
		/* RFC 2045 6.7 asks for upper case; lower case is read too
		 * (rule 1: "a robust implementation might recognize lowercase"). */
		int v = number_hex_digit(c);

		switch ((enum mail_qp_state)d->qp) {
		case MAIL_QP_TEXT:
			if (c == ' ' || c == '\t') {
				/* Rule 3: white space at a line's end is padding. */
				if (d->n_hold == sizeof(d->hold))
					n += mail_decode_flush_hold(d, out + n);
				d->hold[d->n_hold++] = c;
			} else if (c == '\r') {
				d->qp = MAIL_QP_CR;
			} else if (c == '\n') {
				d->n_hold = 0;  /* a bare LF ends a line too */
				out[n++] = '\r';
				out[n++] = '\n';
			} else if (c == '=') {
				n += mail_decode_flush_hold(d, out + n);
				d->qp = MAIL_QP_EQ;
			} else {
				n += mail_decode_flush_hold(d, out + n);
				out[n++] = c;
			}
			break;
		case MAIL_QP_CR:
			d->qp = MAIL_QP_TEXT;
			if (c == '\n') {
				d->n_hold = 0;
				out[n++] = '\r';
				out[n++] = '\n';
				break;
			}
			d->bad = true;  /* a CR alone is kept as a byte */
			n += mail_decode_flush_hold(d, out + n);
			out[n++] = '\r';
			continue;       /* read c again */
		case MAIL_QP_EQ:
			if (v >= 0) {
				d->nibble = c;
				d->qp = MAIL_QP_EQ_HEX;
			} else if (c == '\r') {
				d->qp = MAIL_QP_EQ_CR;
			} else if (c == '\n') {
				d->qp = MAIL_QP_TEXT;  /* a soft line break */
			} else if (c == ' ' || c == '\t') {
				d->qp = MAIL_QP_EQ_WSP;
			} else {
				d->bad = true;  /* rule 1: a lone '=' is kept */
				out[n++] = '=';
				d->qp = MAIL_QP_TEXT;
				continue;
			}
			break;
		case MAIL_QP_EQ_HEX:
			d->qp = MAIL_QP_TEXT;
			if (v >= 0) {
				out[n++] = (unsigned char)(number_hex_digit(d->nibble) << 4 | v);
				break;
			}
			d->bad = true;
			out[n++] = '=';
			out[n++] = d->nibble;
			continue;
		case MAIL_QP_EQ_WSP:
			if (c == ' ' || c == '\t')
				break;
			if (c == '\r') {
				d->qp = MAIL_QP_EQ_CR;
				break;
			}
			d->qp = MAIL_QP_TEXT;
			if (c == '\n')
				break;
			d->bad = true;  /* "= x": the '=' kept, the padding lost */
			out[n++] = '=';
			continue;
		case MAIL_QP_EQ_CR:
			d->qp = MAIL_QP_TEXT;
			if (c == '\n')
				break;
			d->bad = true;  /* "=" CR without LF: taken for a soft break */
			continue;
		}
		i++;
	}
	return n;
}

size_t mail_decoder_push(struct mail_decoder *d, const void *in, size_t len, void *out)
{
	switch (d->cte) {
	case MAIL_CTE_BASE64:
		return mail_decode_b64(d, in, len, out);
	case MAIL_CTE_QP:
		return mail_decode_qp(d, in, len, out);
	case MAIL_CTE_IDENTITY:
	case MAIL_CTE_UNKNOWN:
	case MAIL_CTE__COUNT:
		break;
	}
	memcpy(out, in, len);
	return len;
}

size_t mail_decoder_finish(struct mail_decoder *d, void *out)
{
	unsigned char *o = out;
	size_t n = 0;

	if (d->cte == MAIL_CTE_BASE64) {
		if (d->symbols % 4 != 0)
			d->bad = true;
		d->bits = 0;
		d->symbols = 0;
		return 0;
	}
	if (d->cte != MAIL_CTE_QP)
		return 0;
	switch ((enum mail_qp_state)d->qp) {
	case MAIL_QP_TEXT:
		d->n_hold = 0;  /* the end of the input ends the last line */
		break;
	case MAIL_QP_CR:
		d->bad = true;
		d->n_hold = 0;
		o[n++] = '\r';
		break;
	case MAIL_QP_EQ:
		d->bad = true;
		o[n++] = '=';
		break;
	case MAIL_QP_EQ_HEX:
		d->bad = true;
		o[n++] = '=';
		o[n++] = d->nibble;
		break;
	case MAIL_QP_EQ_WSP:
	case MAIL_QP_EQ_CR:
		break;
	}
	d->qp = MAIL_QP_TEXT;
	return n;
}

bool mail_decoder_bad(const struct mail_decoder *d)
{
	return d->bad;
}
