/* utf8 - checking that text is well-formed UTF-8, for what clients and
 * administrators send (SASL fields, new passwords, SMTPUTF8 addresses),
 * and reading and writing its characters (mail decoding, SEARCH). */
#ifndef TERN_CORE_UTF8_H
#define TERN_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629 4) without a NUL: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const unsigned char *s, size_t len);

/* The length (1 to 4) of the well-formed character that starts s[0..len),
 * by the rules of utf8_valid(); 0 when it is malformed, cut short by len,
 * a NUL, or len is 0. */
size_t utf8_char_len(const unsigned char *s, size_t len);

/* The code point of the well-formed character of n bytes (as
 * utf8_char_len gave n) at s. */
uint32_t utf8_decode(const unsigned char *s, size_t n);

/* Append code point c (at most U+10FFFF, no surrogate) to out[0..4) and
 * return its length (1 to 4). */
size_t utf8_encode(uint32_t c, unsigned char *out);

/* How many bytes at the end of s[0..len) begin a character that the
 * input cut short (a lead byte and the continuation bytes that follow it,
 * fewer than it needs): 0 to 3. A streaming reader holds them for the
 * next piece. */
size_t utf8_cut_tail(const unsigned char *s, size_t len);

#endif
