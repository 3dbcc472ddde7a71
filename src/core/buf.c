/* buf - bounded growable byte buffer; see buf.h for the contract. */
#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static bool buf_fits(const struct buf *b, size_t n)
{
	if (SIZE_MAX - b->len - 1 < n)
		return false;
	return b->max == 0 || b->max - b->len >= n;
}

/* Grow capacity so that len + n + 1 (room for a NUL) fits. */
static void buf_grow(struct buf *b, size_t n)
{
	size_t need = b->len + n + 1;
	size_t cap;

	if (need <= b->cap)
		return;
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = realloc(b->data, cap);
	if (b->data == NULL)
		abort();
	b->cap = cap;
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (!buf_fits(b, n))
		return NULL;
	buf_grow(b, n);
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	char *p;

	if (n == 0)
		return 0;
	p = buf_reserve(b, n);
	if (p == NULL)
		return -1;
	memcpy(p, data, n);
	buf_commit(b, n);
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_u64(struct buf *b, uint64_t v)
{
	char digits[20];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_append(b, digits + n, sizeof(digits) - n);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	p = buf_reserve(b, (size_t)n);
	if (p == NULL)
		return -1;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

bool buf_line(const struct buf *b, size_t *line_len_r, size_t *total_r)
{
	const char *lf;

	if (b->len == 0)
		return false;
	lf = memchr(b->data, '\n', b->len);
	if (lf == NULL)
		return false;
	*total_r = (size_t)(lf - b->data) + 1;
	*line_len_r = *total_r - 1;
	if (*line_len_r > 0 && b->data[*line_len_r - 1] == '\r')
		(*line_len_r)--;
	return true;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
