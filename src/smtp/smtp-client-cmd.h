/* smtp-client-cmd - the SMTP client's MAIL and RCPT lines with their
 * ESMTP parameters, without I/O: SIZE (RFC 1870), BODY (RFC 6152),
 * SMTPUTF8 (RFC 6531), RET and ENVID, NOTIFY and ORCPT (RFC 3461 4, the
 * values as xtext), each only when the caller says the server offers
 * its extension. (Apart from the session's files because smtp-param.h's
 * server-side extension names and smtp-client-ehlo.h's cannot meet in
 * one file.) */
#ifndef TERN_SMTP_SMTP_CLIENT_CMD_H
#define TERN_SMTP_SMTP_CLIENT_CMD_H

#include <stdbool.h>

#include "smtp/smtp-client.h"

struct buf;

/* What the server offers, as far as MAIL and RCPT care. */
struct smtp_client_cmd_ext {
	bool size, smtputf8, dsn;
};

/* Whether the message needs SMTPUTF8: it says so, or an address in its
 * envelope is not ASCII. */
bool smtp_client_cmd_needs_utf8(const struct smtp_client_message *msg);

/* Replace b's content by the MAIL line (CRLF included): SIZE= the
 * message's length, BODY=8BITMIME for an 8-bit one, SMTPUTF8 when
 * needed, RET and ENVID under DSN. */
void smtp_client_cmd_mail(struct buf *b, const struct smtp_client_message *msg,
			  const struct smtp_client_cmd_ext *ext);
/* The same for one RCPT: NOTIFY and ORCPT under DSN (ORCPT as the queue
 * keeps it, "type;address", the address made xtext). */
void smtp_client_cmd_rcpt(struct buf *b, const struct smtp_client_rcpt *rcpt,
			  const struct smtp_client_cmd_ext *ext);

#endif
