/* mail-address - the RFC 5322 3.4 address-list reader: the addresses of a
 * To, Cc or Bcc field, for `tern sendmail -t`. No I/O, no allocation.
 *
 * What it reads, in an unfolded value (mail_header_unfold):
 * - mailboxes as addr-spec ("a@b") or as name-addr ("Name <a@b>", the
 *   display name of atoms and quoted strings ignored), separated by
 *   commas; empty elements between commas are skipped (RFC 5322 4.4);
 * - groups ("team: a@b, c@d;"), of which the members count, and the empty
 *   one ("undisclosed-recipients:;");
 * - comments (nested, with quoted pairs) and white space wherever CFWS
 *   may be, the obsolete route before an addr-spec in angle brackets
 *   ("<@hop:a@b>", 4.4), skipped;
 * - a local part alone ("root"), as sendmail has always taken one: the
 *   caller qualifies it with its own domain.
 * A local part is dot-separated atoms or quoted strings, kept as written
 * (quotes included: SMTP takes the same form); a domain is a dot-atom
 * or a domain literal ("[192.0.2.1]"). Bytes from 0x80 up are atom text
 * (RFC 6532: UTF-8; judging it is the caller's business); other control
 * characters are errors.
 *
 * An element that cannot be read (an unclosed quote, comment or angle
 * bracket, a stray special, an address over MAIL_ADDRESS_MAX octets) is
 * an error: it is counted, nothing of it is given, and reading goes on
 * at the next comma outside quotes, comments and brackets. */
#ifndef TERN_MAIL_MAIL_ADDRESS_H
#define TERN_MAIL_MAIL_ADDRESS_H

#include <stddef.h>

/* The longest address given (RFC 5321 4.5.3.1.3: a path holds 256
 * octets with its brackets). */
#define MAIL_ADDRESS_MAX 254

/* Called for each address, in order: `addr` is "local@domain", or the
 * local part alone when it had no domain; NUL-terminated, `len` octets,
 * valid during the call only. */
typedef void mail_address_fn(void *ctx, const char *addr, size_t len);

/* Read the address list value[0..len) (unfolded; may hold NUL, which is
 * an error like any control character). Returns the number of elements
 * that could not be read (0: all were). */
unsigned mail_address_list(const char *value, size_t len, mail_address_fn *cb, void *ctx);

#endif
