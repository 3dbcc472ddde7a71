/* smtp-client-ehlo - what a server's EHLO reply offers (RFC 5321 4.1.1.1,
 * 2.2.2), read from the reply the client's parser made
 * (smtp-client-reply.h), without I/O: the extensions the SMTP client
 * uses, SIZE's limit (RFC 1870) and the AUTH mechanisms (RFC 4954, also
 * in the old "AUTH=" form some servers still send). Keywords are matched
 * without case; unknown ones are ignored, as are parameters that do not
 * parse (a SIZE that is no number is taken as no SIZE at all). Of a
 * reply whose text was cut (`truncated`), the last line, maybe a part of
 * one, is not read. */
#ifndef TERN_SMTP_SMTP_CLIENT_EHLO_H
#define TERN_SMTP_SMTP_CLIENT_EHLO_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp/smtp-client-reply.h"

enum smtp_client_ext {
	SMTP_CLIENT_EXT_PIPELINING,          /* RFC 2920 */
	SMTP_CLIENT_EXT_SIZE,                /* RFC 1870 */
	SMTP_CLIENT_EXT_8BITMIME,            /* RFC 6152 */
	SMTP_CLIENT_EXT_SMTPUTF8,            /* RFC 6531 */
	SMTP_CLIENT_EXT_STARTTLS,            /* RFC 3207 */
	SMTP_CLIENT_EXT_CHUNKING,            /* RFC 3030 */
	SMTP_CLIENT_EXT_BINARYMIME,          /* RFC 3030 */
	SMTP_CLIENT_EXT_DSN,                 /* RFC 3461 */
	SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES, /* RFC 2034 */
	SMTP_CLIENT_EXT_AUTH,                /* RFC 4954 */
	SMTP_CLIENT_EXT__COUNT
};
/* The keyword: "PIPELINING", ... */
const char *smtp_client_ext_name(enum smtp_client_ext ext);

enum smtp_auth_mech {
	SMTP_AUTH_PLAIN,              /* RFC 4616 */
	SMTP_AUTH_LOGIN,              /* draft-murchison-sasl-login */
	SMTP_AUTH__COUNT
};

struct smtp_client_ehlo {
	unsigned exts;                /* 1u << enum smtp_client_ext, for each one offered */
	uint64_t size_max;            /* SIZE's limit in octets; 0: none stated (RFC 1870 4) */
	unsigned auth;                /* 1u << enum smtp_auth_mech, for each one offered */
};

/* Read an EHLO reply (a 250; anything else offers nothing). The first
 * line is the server's greeting, not an extension. */
void smtp_client_ehlo_parse(const struct smtp_client_reply *reply, struct smtp_client_ehlo *ehlo_r);

static inline bool smtp_client_ehlo_has(const struct smtp_client_ehlo *ehlo,
					enum smtp_client_ext ext)
{
	return (ehlo->exts & (1u << ext)) != 0;
}

#endif
