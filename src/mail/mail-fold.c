/* mail-fold - Unicode simple case folding and the case-insensitive
 * substring matcher SEARCH uses (RFC 9051 6.4.4); see mail-decode.h. */
#include "mail/mail-decode.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "mail/mail-fold-table.h"

struct mail_match {
	unsigned char *needle;      /* folded */
	size_t n;
	bool found;
	unsigned char pend[4];      /* a character cut at the end of the last piece */
	size_t n_pend;
	struct buf text;            /* the folded piece, after the last n-1 bytes of the one before */
};

uint32_t mail_fold_char(uint32_t c)
{
	size_t lo = 0, hi = sizeof(mail_fold_runs) / sizeof(mail_fold_runs[0]);

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mail_fold_run *r = &mail_fold_runs[mid];

		if (c < r->lo) {
			hi = mid;
		} else if (c > r->hi) {
			lo = mid + 1;
		} else {
			if ((c - r->lo) % r->stride != 0)
				return c;
			return (uint32_t)((int64_t)c + r->delta);
		}
	}
	return c;
}

int mail_fold_utf8(const void *s, size_t len, struct buf *out)
{
	const unsigned char *p = s;
	size_t i = 0;
	/* A folded character is at most 4 bytes, as is any source one. */
	unsigned char *o = (unsigned char *)buf_reserve(out, len);
	size_t n = 0;

	if (o == NULL)
		return -1;
	while (i < len) {
		size_t k;
		uint32_t c;

		if (p[i] < 0x80) {
			o[n++] = (unsigned char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + ('a' - 'A') : p[i]);
			i++;
			continue;
		}
		k = utf8_char_len(p + i, len - i);
		if (k == 0) {
			o[n++] = p[i++];
			continue;
		}
		c = mail_fold_char(utf8_decode(p + i, k));
		if ((c < 0x800 ? 2u : c < 0x10000 ? 3u : 4u) > k) {
			/* Folding lengthened it (U+023A -> U+2C65): make room. */
			buf_commit(out, n);
			o = (unsigned char *)buf_reserve(out, len - i + 4);
			if (o == NULL)
				return -1;
			n = utf8_encode(c, o);
		} else {
			n += utf8_encode(c, o + n);
		}
		i += k;
	}
	buf_commit(out, n);
	return 0;
}

struct mail_match *mail_match_new(const char *needle, size_t len)
{
	struct mail_match *m = calloc(1, sizeof(*m));
	struct buf b;

	if (m == NULL)
		abort();
	buf_init(&b, 0);
	if (mail_fold_utf8(needle, len, &b) < 0)
		abort();  /* no cap */
	m->n = b.len;
	m->needle = (unsigned char *)b.data;  /* NULL for an empty needle */
	buf_init(&m->text, 0);
	mail_match_reset(m);
	return m;
}

void mail_match_free(struct mail_match **mp)
{
	struct mail_match *m = *mp;

	if (m == NULL)
		return;
	free(m->needle);
	buf_release(&m->text);
	free(m);
	*mp = NULL;
}

void mail_match_reset(struct mail_match *m)
{
	m->found = m->n == 0;
	m->n_pend = 0;
	buf_reset(&m->text);
}

/* The length a character starting with lead byte c has, 1 for a byte
 * that cannot start one. */
static size_t mail_match_lead_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

bool mail_match_push(struct mail_match *m, const void *text, size_t len)
{
	const unsigned char *p = text;
	size_t cut;

	if (m->found)
		return true;
	if (m->n_pend > 0) {
		/* Complete the character the last piece cut. */
		size_t want = mail_match_lead_len(m->pend[0]) - m->n_pend;

		while (want > 0 && len > 0 && (*p & 0xc0) == 0x80) {
			m->pend[m->n_pend++] = *p++;
			len--;
			want--;
		}
		if (want > 0 && len == 0)
			return false;  /* still cut: wait for more */
		if (mail_fold_utf8(m->pend, m->n_pend, &m->text) < 0)
			abort();
		m->n_pend = 0;
	}
	cut = utf8_cut_tail(p, len);
	if (mail_fold_utf8(p, len - cut, &m->text) < 0)
		abort();
	memcpy(m->pend, p + len - cut, cut);
	m->n_pend = cut;
	if (m->text.len >= m->n && memmem(m->text.data, m->text.len, m->needle, m->n) != NULL) {
		m->found = true;
		return true;
	}
	/* Keep the last n-1 bytes: a match may straddle two pieces. */
	if (m->text.len >= m->n)
		buf_consume(&m->text, m->text.len - (m->n - 1));
	return false;
}

bool mail_match_finish(struct mail_match *m)
{
	if (!m->found && m->n_pend > 0) {
		if (mail_fold_utf8(m->pend, m->n_pend, &m->text) < 0)
			abort();
		m->found = m->text.len >= m->n &&
			   memmem(m->text.data, m->text.len, m->needle, m->n) != NULL;
	}
	m->n_pend = 0;
	return m->found;
}

bool mail_match_found(const struct mail_match *m)
{
	return m->found;
}

bool mail_match_contains(const char *text, size_t text_len, const char *needle, size_t needle_len)
{
	struct mail_match *m = mail_match_new(needle, needle_len);
	bool found;

	mail_match_push(m, text, text_len);
	found = mail_match_finish(m);

	mail_match_free(&m);
	return found;
}
