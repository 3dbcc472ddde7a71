/* utf8 - checking that text is well-formed UTF-8, for what clients and
 * administrators send (SASL fields, new passwords, SMTPUTF8 addresses). */
#ifndef TERN_CORE_UTF8_H
#define TERN_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629 4) without a NUL: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const unsigned char *s, size_t len);

/* The length (1 to 4) of the well-formed character that starts s[0..len),
 * by the rules of utf8_valid(); 0 when it is malformed, cut short by len,
 * a NUL, or len is 0. */
size_t utf8_char_len(const unsigned char *s, size_t len);

#endif
