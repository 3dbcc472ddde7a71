/* number - decimal numbers as protocols send them (POP3 message numbers,
 * SMTP SIZE= and BDAT chunk sizes): digits only, bounded, no overflow;
 * and the value of a hex digit (%XX escapes, xtext, quoted-printable,
 * RFC 2047 Q, escaped names) and of a base64 digit (SASL, MIME). */
#ifndef TERN_CORE_NUMBER_H
#define TERN_CORE_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse text[0..len) as a decimal number without sign, leading '+',
 * spaces or overflow, at most `max`. Leading zeros are fine. Returns true
 * and sets *value_r when valid; false for an empty text. */
bool number_parse_u64(const char *text, size_t len, uint64_t max, uint64_t *value_r);

/* The value of the hex digit c (either case), or -1 when it is not one. */
int number_hex_digit(int c);

/* The value of the base64 digit c (RFC 4648 4: A-Z a-z 0-9 + /), or -1
 * when it is not one ('=' included). */
int number_base64_digit(int c);

#endif
