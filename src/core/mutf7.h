/* mutf7 - the encoded runs of modified UTF-7 (RFC 3501 5.1.3), the
 * mailbox name form of IMAP4rev1: shared by the IMAP session's names
 * (imap/imap-utf7) and the Maildir++ folder names of import and export
 * (store/maildir-name), which each add their own rules around them. */
#ifndef TERN_CORE_MUTF7_H
#define TERN_CORE_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Characters that stand for themselves: printable US-ASCII. ('&' does
 * too, but written "&-".) */
bool mutf7_direct(unsigned char c);

/* Write the characters at the start of s[0..len) that are well-formed
 * UTF-8 and not mutf7_direct() as one run "&...-" (UTF-16BE in modified
 * base64) to out. Returns the bytes of s consumed; 0 (nothing written)
 * when s starts with a direct character or with bytes that are not
 * UTF-8. */
size_t mutf7_encode_run(struct buf *out, const unsigned char *s, size_t len);

/* Append the UTF-8 form of the modified UTF-7 text s[0..len) to out:
 * "&-" is '&', each "&...-" run is decoded strictly (the base64
 * alphabet, at least one character, no unit that is a direct character
 * or NUL, surrogates in pairs, spare bits zero, then '-'), and any other
 * byte stands for itself: only direct characters (RFC 3501 5.1.3), or
 * every byte when `raw_ok`. Returns false, out as it was, when s is not
 * valid. */
bool mutf7_decode(struct buf *out, const char *s, size_t len, bool raw_ok);

#endif
