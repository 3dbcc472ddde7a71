/* utf8 - checking that text is well-formed UTF-8, for what clients and
 * administrators send (SASL fields, new passwords). */
#ifndef TERN_CORE_UTF8_H
#define TERN_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629 4) without a NUL: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const unsigned char *s, size_t len);

#endif
