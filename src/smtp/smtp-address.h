/* smtp-address - the paths and mailboxes of MAIL and RCPT (RFC 5321 4.1.2,
 * 4.5.3.1; RFC 6531 3.3 under SMTPUTF8) and the domain of EHLO/HELO.
 * Pure functions: no I/O, no policy. They say what an address is and
 * which routing tricks it holds; whether to accept or relay it is the
 * session's decision. */
#ifndef TERN_SMTP_SMTP_ADDRESS_H
#define TERN_SMTP_SMTP_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1.1-3, in octets. The local part counts as sent (with
 * its quotes and backslashes); the path from "<" to ">" inclusive, with
 * any source route. */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256
/* RFC 1035 2.3.4: a label is 1-63 octets. */
#define SMTP_LABEL_MAX 63
/* The longest text smtp_address_write() produces: a local part needing
 * quotes and a backslash before every octet, "@", the domain, the NUL. */
#define SMTP_ADDRESS_TEXT_MAX (2 * SMTP_LOCAL_MAX + 3 + SMTP_DOMAIN_MAX + 1)

enum smtp_address_result {
	SMTP_ADDRESS_OK,
	SMTP_ADDRESS_NO_BRACKETS,     /* a path that does not start with "<" */
	SMTP_ADDRESS_BAD_ROUTE,       /* a malformed source route */
	SMTP_ADDRESS_BAD_LOCAL,       /* not a Dot-string or Quoted-string */
	SMTP_ADDRESS_NO_DOMAIN,       /* no "@domain" (only <Postmaster> may omit it) */
	SMTP_ADDRESS_BAD_DOMAIN,      /* not a domain: labels, LDH, hyphens */
	SMTP_ADDRESS_BAD_LITERAL,     /* a malformed or unknown address literal */
	SMTP_ADDRESS_UNTERMINATED,    /* no ">" after the mailbox, or text after it */
	SMTP_ADDRESS_NULL_PATH,       /* "<>" where a recipient is needed */
	SMTP_ADDRESS_LOCAL_TOO_LONG,
	SMTP_ADDRESS_DOMAIN_TOO_LONG,
	SMTP_ADDRESS_LABEL_TOO_LONG,
	SMTP_ADDRESS_PATH_TOO_LONG,
	SMTP_ADDRESS_NON_ASCII,       /* an octet over 127 and UTF-8 was not allowed */
	SMTP_ADDRESS_BAD_UTF8,        /* UTF-8 allowed, but this is not well-formed */
	SMTP_ADDRESS__COUNT
};
/* A short lower-case English text, for a reply or a log ("local part
 * longer than 64 octets"). */
const char *smtp_address_result_text(enum smtp_address_result result);

/* What the relay check must refuse to route (the session decides; these
 * are the facts): the percent hack, bang paths, an "@" hidden in a quoted
 * local part, a source route. */
enum smtp_address_trick {
	SMTP_ADDRESS_TRICK_PERCENT = 1 << 0,      /* '%' in the local part */
	SMTP_ADDRESS_TRICK_BANG = 1 << 1,         /* '!' in the local part */
	SMTP_ADDRESS_TRICK_QUOTED_AT = 1 << 2,    /* '@' in a quoted local part */
	SMTP_ADDRESS_TRICK_SOURCE_ROUTE = 1 << 3, /* <@a,@b:user@c>, accepted and ignored */
};

struct smtp_address {
	/* The local part in canonical form: the quotes of a Quoted-string and
	 * the backslash of each quoted-pair removed (RFC 5321 4.1.2: all
	 * quoted forms are equivalent), case kept (it MAY be case-sensitive).
	 * Never holds a NUL or a control character. "" for <>. */
	char local[SMTP_LOCAL_MAX + 1];
	/* ASCII labels lower-cased; a label with UTF-8 (a U-label, SMTPUTF8
	 * only) kept exactly as given (IDNA comes later); an address literal
	 * in canonical form, "[192.0.2.1]" or "[IPv6:2001:db8::1]". "" for
	 * <> and <Postmaster>. */
	char domain[SMTP_DOMAIN_MAX + 1];
	bool null_path;     /* "<>", the null reverse-path (RFC 5321 3.6.3) */
	bool postmaster;    /* "<Postmaster>" without a domain (RFC 5321 4.1.1.3, any case) */
	bool quoted;        /* the local part was sent as a Quoted-string */
	bool literal;       /* the domain is an address literal */
	bool utf8;          /* the local part or the domain holds UTF-8 */
	unsigned tricks;    /* enum smtp_address_trick bits */
};

enum smtp_path_kind {
	SMTP_PATH_REVERSE,  /* MAIL FROM: a Path or "<>" */
	SMTP_PATH_FORWARD,  /* RCPT TO: a Path or "<Postmaster>" */
};

/* Parse the path that starts text[0..len) (at its "<") through its ">";
 * what follows is the caller's (ESMTP parameters). With utf8 false (no
 * SMTPUTF8 on this transaction), an octet over 127 is
 * SMTP_ADDRESS_NON_ASCII; with utf8 true, UTF-8 may appear in atoms,
 * quoted strings and domain labels, well-formed only. On OK, *addr_r is
 * filled and *consumed_r is the path's length; on anything else both are
 * undefined. */
enum smtp_address_result smtp_address_parse_path(const char *text, size_t len,
						 enum smtp_path_kind kind, bool utf8,
						 struct smtp_address *addr_r, size_t *consumed_r);

/* Parse text[0..len) as exactly one Mailbox ("local@domain", no brackets,
 * no route), as the decoded AUTH= parameter of MAIL holds (RFC 4954 5). */
enum smtp_address_result smtp_address_parse_mailbox(const char *text, size_t len, bool utf8,
						    struct smtp_address *addr_r);

/* Parse text[0..len) as exactly one Domain or address-literal, as EHLO and
 * HELO take (RFC 5321 4.1.1.1; ASCII only, RFC 6531 3.7.1, so no utf8
 * flag). domain_r gets the form described for smtp_address.domain,
 * *literal_r whether it was an address literal. */
enum smtp_address_result smtp_address_parse_domain(const char *text, size_t len,
						   char domain_r[SMTP_DOMAIN_MAX + 1],
						   bool *literal_r);

/* RFC 5322 3.2.3 atext (ASCII), and RFC 5321 Let-dig: ALPHA / DIGIT. */
bool smtp_address_is_atext(unsigned char c);
bool smtp_address_is_let_dig(unsigned char c);

/* Write the address as "local@domain" with the least quoting (RFC 5321
 * 4.1.2: "the form that uses the minimum quoting possible"): the local
 * part is quoted only when it is not a Dot-string. "" for the null path,
 * the local part alone for <Postmaster>. Brackets are the caller's. out
 * must hold SMTP_ADDRESS_TEXT_MAX octets; returns the length written. */
size_t smtp_address_write(const struct smtp_address *addr, char out[SMTP_ADDRESS_TEXT_MAX]);

#endif
