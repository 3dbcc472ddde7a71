/* buf - the one byte buffer type: growable up to a hard cap.
 *
 * Every input and output queue in tern is a struct buf. Growth is checked
 * against `max` before anything is added, so hitting the cap is an error the
 * caller turns into a protocol reply ("line too long"), never an unbounded
 * allocation. A buffer that is emptied can give its memory back with
 * buf_release(), so an idle connection holds none. */
#ifndef TERN_CORE_BUF_H
#define TERN_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;    /* data[0..len) is the content; NUL-terminated when len<cap */
	size_t len;
	size_t cap;
	size_t max;    /* hard cap on len; 0 means no cap (only for trusted data) */
};

/* Initialise an empty buffer that will never hold more than `max` bytes. */
void buf_init(struct buf *b, size_t max);

/* Append n bytes. Returns 0, or -1 (nothing appended) when the result would
 * exceed b->max. Aborts only on allocation failure. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A number in decimal: what buf_printf("%" PRIu64) appends, without the
 * format machinery (a FETCH of 100,000 messages writes two per line). */
int buf_append_u64(struct buf *b, uint64_t v);

/* Make room for at least n more bytes without changing len; returns a pointer
 * to the free space, or NULL when len+n would exceed max. After writing k
 * bytes there, call buf_commit(b, k). */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Find a complete line (ending in LF). Returns true and sets *line_len_r to
 * the length without the line end (CRLF or bare LF) and *total_r to the
 * length including it. Returns false when no LF is buffered yet. */
bool buf_line(const struct buf *b, size_t *line_len_r, size_t *total_r);

/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Empty the buffer and free its memory; the buffer stays usable. */
void buf_release(struct buf *b);

#endif
