/* smtp-client-ehlo - what a server's EHLO reply says it supports (RFC
 * 5321 4.1.1.1, 2.2.2), read by the SMTP client, without I/O: the service
 * extensions the client uses, the SIZE limit (RFC 1870) and the AUTH
 * mechanisms (RFC 4954). */
#ifndef TERN_SMTP_SMTP_CLIENT_EHLO_H
#define TERN_SMTP_SMTP_CLIENT_EHLO_H

#include <stddef.h>
#include <stdint.h>

enum smtp_client_ext {
	SMTP_CLIENT_EXT_PIPELINING = 1 << 0,   /* RFC 2920 */
	SMTP_CLIENT_EXT_SIZE = 1 << 1,         /* RFC 1870 */
	SMTP_CLIENT_EXT_8BITMIME = 1 << 2,     /* RFC 6152 */
	SMTP_CLIENT_EXT_SMTPUTF8 = 1 << 3,     /* RFC 6531 */
	SMTP_CLIENT_EXT_CHUNKING = 1 << 4,     /* RFC 3030 */
	SMTP_CLIENT_EXT_DSN = 1 << 5,          /* RFC 3461 */
	SMTP_CLIENT_EXT_STARTTLS = 1 << 6,     /* RFC 3207 */
	SMTP_CLIENT_EXT_AUTH = 1 << 7,         /* RFC 4954 */
	SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES = 1 << 8,  /* RFC 2034 */
};

/* The SASL mechanisms the client can use. */
enum smtp_client_mech {
	SMTP_CLIENT_MECH_PLAIN = 1 << 0,
	SMTP_CLIENT_MECH_LOGIN = 1 << 1,
};

struct smtp_client_ehlo {
	unsigned ext;           /* enum smtp_client_ext bits */
	uint64_t size_max;      /* SIZE's limit in octets; 0: none announced */
	unsigned mechs;         /* enum smtp_client_mech bits AUTH offered */
};

/* Read the text of a 250 reply to EHLO as smtp-client-reply gives it (the
 * lines joined by '\n'; the first one is the server's name and greeting,
 * the others one keyword each, with its parameters). Keywords are matched
 * without regard to case; unknown ones, and lines that are not keywords,
 * are ignored; a SIZE whose value is not a number counts as SIZE without
 * a limit; the old "AUTH=MECH ..." form counts as AUTH. Never fails: the
 * worst reply is one that offers nothing. *out is overwritten. */
void smtp_client_ehlo_parse(const char *text, size_t len, struct smtp_client_ehlo *out);

#endif
