/* mail-text - the text of a stored message, as SEARCH reads it: the
 * header fields of the message and of the messages inside it decoded to
 * UTF-8 (RFC 2047), and the content of its text parts with the transfer
 * encoding undone and the charset converted to UTF-8. Driven by the
 * message's MIME structure (mail-mime.h): the reader asks for the byte
 * ranges it needs, in file order, and skips the rest (attachments are
 * never read). No I/O; memory bounded by the pieces pushed. */
#ifndef TERN_MAIL_MAIL_TEXT_H
#define TERN_MAIL_MAIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_structure;
struct mail_text;

/* Where the text goes. Every string is UTF-8 (bytes of an unknown
 * charset are passed as they are) and valid only during the call. */
struct mail_text_sink {
	/* A header field of the top message (top) or of a message inside
	 * it (message/rfc822 parts: !top), its value decoded and unfolded. */
	void (*field)(void *ctx, bool top, const char *name, size_t name_len, const char *value,
		      size_t value_len);
	/* The next piece of a text part's content; part_end after its last. */
	void (*body)(void *ctx, const char *text, size_t len);
	void (*part_end)(void *ctx);
};

/* A reader of the message `st` describes (st must outlive it). With st
 * NULL, a reader of the top message's header alone, which needs no
 * structure: it asks for the bytes from 0 on until the header ends (its
 * fields are then all delivered; no body part is). */
struct mail_text *mail_text_new(const struct mail_structure *st, const struct mail_text_sink *sink,
				void *ctx);
void mail_text_free(struct mail_text **t);

/* The byte range of the message to push next: true with [*off_r,
 * *off_r + *len_r), false when everything was read. (A header-only reader
 * asks for everything from its position on: push what there is.) */
bool mail_text_want(const struct mail_text *t, uint64_t *off_r, uint64_t *len_r);
/* Push the first `len` bytes (0 < len <= *len_r) of the range asked for.
 * A short read (the file is shorter than its structure says) ends the
 * message: call mail_text_end. */
void mail_text_push(struct mail_text *t, const void *data, size_t len);
/* Stop reading (everything needed was found, or the file ended): the part
 * being read ends. */
void mail_text_end(struct mail_text *t);

#endif
