/* mail-decode - turning the bytes of a message into the text it means:
 * streaming base64 and quoted-printable decoders (RFC 2045 6.7, 6.8) for
 * BINARY[] and for SEARCH, RFC 2047 encoded words in header values,
 * conversion of a charset to UTF-8 (iconv), and a case-insensitive
 * UTF-8 substring matcher for SEARCH. No I/O; every decoder is fed pieces
 * of any size, and the same input gives the same output however it is
 * cut. Broken input (bad base64, cut QP, malformed encoded words, unknown
 * charsets, invalid UTF-8) gives best-effort output and a flag, never a
 * crash. */
#ifndef TERN_MAIL_MAIL_DECODE_H
#define TERN_MAIL_MAIL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* --- Content-Transfer-Encoding --------------------------------------- */

enum mail_cte {
	MAIL_CTE_IDENTITY,      /* 7bit, 8bit, binary: the bytes are the content */
	MAIL_CTE_BASE64,
	MAIL_CTE_QP,            /* quoted-printable */
	MAIL_CTE_UNKNOWN,       /* anything else (BINARY answers [UNKNOWN-CTE]) */
	MAIL_CTE__COUNT
};
/* The encoding a Content-Transfer-Encoding value names, ignoring ASCII
 * case and surrounding white space; NULL or empty is IDENTITY (7bit). */
enum mail_cte mail_cte_parse(const char *value, size_t len);
/* "identity", "base64", "quoted-printable", "unknown": for logs and tests. */
const char *mail_cte_name(enum mail_cte cte);

/* Room `out` needs for decoding `len` bytes in one push (either
 * encoding): the decoders hold at most MAIL_DECODE_HOLD bytes back
 * between pushes and write them with the next push or the finish, and
 * quoted-printable writes a bare LF as CRLF, two bytes for one. */
#define MAIL_DECODE_HOLD 80
#define MAIL_DECODE_OUT_MAX(len) (2 * (len) + MAIL_DECODE_HOLD)

/* A streaming decoder of one part's content. Its fields are private. */
struct mail_decoder {
	enum mail_cte cte;
	bool bad;                   /* the input broke the encoding's rules somewhere */
	/* base64: the bits not yet written, the symbols read ('=' included),
	 * and whether '=' was seen */
	uint32_t acc;
	unsigned bits;
	uint64_t symbols;
	bool b64_end;
	/* quoted-printable: where the reader is (mail-decode.c), the hex
	 * digit after an '=', and white space held back because it may end
	 * a line (RFC 2045 6.7 rule 3) */
	unsigned char qp;
	unsigned char nibble;
	unsigned char hold[MAIL_DECODE_HOLD - 4];
	size_t n_hold;
};

/* Start decoding; UNKNOWN decodes as IDENTITY (and sets `bad`). */
void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte);
/* Decode in[0..len) into out (room for MAIL_DECODE_OUT_MAX(len) bytes);
 * returns the bytes written. Base64 ignores what is not in its alphabet
 * (RFC 2045 6.8) and stops at '='; QP keeps a malformed '=' sequence as
 * it is, drops trailing white space and soft line breaks, and writes
 * hard line breaks as CRLF. Both set `bad` where the input was not
 * valid. */
size_t mail_decoder_push(struct mail_decoder *d, const void *in, size_t len, void *out);
/* The input ended: write what was held back to out (room for
 * MAIL_DECODE_HOLD bytes) and return its length. A base64 input whose
 * length was not a multiple of 4 sets `bad` (its whole bytes are still
 * written); so does a QP input ending inside an '=' sequence. */
size_t mail_decoder_finish(struct mail_decoder *d, void *out);
/* Whether the input broke the encoding's rules (after finish: the whole of it). */
bool mail_decoder_bad(const struct mail_decoder *d);

/* --- charsets -------------------------------------------------------- */

/* A streaming conversion of one charset to UTF-8. */
struct mail_charset;

/* Open a converter from `name` (a MIME charset name, any case, e.g.
 * "ISO-8859-1", "windows-1252", "koi8-r", "utf-8"). US-ASCII and UTF-8
 * need no iconv. NULL (not an error: the caller keeps the bytes raw) when
 * the charset is unknown. */
struct mail_charset *mail_charset_open(const char *name);
/* Whether `name` is UTF-8 or US-ASCII under one of their names. */
bool mail_charset_is_utf8(const char *name);
/* Convert in[0..len) and append the UTF-8 to out. The input is converted
 * in blocks at fixed offsets of the stream, so the text may come up to a
 * block (4 KiB) later than its bytes, and is the same however the input
 * is cut into calls; invalid sequences become U+FFFD. Returns 0, or -1
 * when out's cap was reached (what fitted is appended). */
int mail_charset_push(struct mail_charset *cs, const void *in, size_t len, struct buf *out);
/* The input ended: what is held is converted, a character cut short
 * becomes U+FFFD. Returns as mail_charset_push. The converter can then be
 * used for a new input. */
int mail_charset_finish(struct mail_charset *cs, struct buf *out);
void mail_charset_close(struct mail_charset **cs);

/* Append s[0..len) to out as valid UTF-8: every byte that does not begin
 * a well-formed character (utf8_char_len) becomes U+FFFD. */
int mail_utf8_sanitize(const void *s, size_t len, struct buf *out);

/* --- RFC 2047 encoded words ------------------------------------------ */

/* Decode a header field's raw value (as mail_header_parser gives it,
 * folding included) into UTF-8 appended to out: unfolded, encoded words
 * (=?charset?B|Q?text?=, RFC 2047 2, an RFC 2231 language suffix
 * "charset*lang" allowed) decoded and converted, the white space between
 * two adjacent encoded words dropped (RFC 2047 6.2). A word that is
 * malformed, too long, or of an unknown charset stays as it was written;
 * other text is kept as UTF-8 when it is UTF-8 and made valid otherwise
 * (mail_utf8_sanitize). Returns 0, or -1 when out's cap was reached. */
int mail_decode_header(const char *value, size_t len, struct buf *out);

/* --- case-insensitive matching --------------------------------------- */

/* The simple case folding (Unicode CaseFolding.txt, status C and S) of a
 * code point, every script of it (mail-fold-table.h, generated by
 * scripts/gen-fold-table.py); a code point without one is itself. */
uint32_t mail_fold_char(uint32_t c);
/* Append the case-folded form of UTF-8 s[0..len) to out; bytes that do
 * not begin a well-formed character are copied as they are. */
int mail_fold_utf8(const void *s, size_t len, struct buf *out);

/* A search for one needle in a text fed in pieces: "does the text
 * contain the needle, ignoring case" (RFC 9051 6.4.4: substring match,
 * case-insensitive). Memory: the folded needle, a window of its length,
 * and the folded form of the piece being fed: the text is never held. */
struct mail_match;

/* A matcher for UTF-8 `needle` (folded here). An empty needle matches
 * every text, even an empty one. */
struct mail_match *mail_match_new(const char *needle, size_t len);
void mail_match_free(struct mail_match **m);
/* Start a new text (the last one's result is forgotten). */
void mail_match_reset(struct mail_match *m);
/* Feed the next piece of the text (UTF-8; a character may be cut between
 * pieces). Returns true once the needle was found in the text so far. */
bool mail_match_push(struct mail_match *m, const void *text, size_t len);
/* The text ended: a character cut short at its end is compared as the
 * bytes it is. Returns whether the needle was found. */
bool mail_match_finish(struct mail_match *m);
/* Whether the needle was found in the text fed since the last reset. */
bool mail_match_found(const struct mail_match *m);
/* One call: does `text` contain `needle`, ignoring case. */
bool mail_match_contains(const char *text, size_t text_len, const char *needle, size_t needle_len);

#endif
