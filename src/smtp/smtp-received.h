/* smtp-received - the trace header tern puts at the top of every message
 * it accepts (RFC 5321 4.4): where it came from (the EHLO name and the
 * client's address from the connection), who took it, how (the WITH
 * protocol of RFC 3848 and RFC 6531 4.3; TLS version and cipher in a
 * comment), the queue id, `for` the recipient when there is exactly one,
 * and the date. Never a password, never who logged in (the WITH keyword
 * says that someone did). Pure: no I/O. */
#ifndef TERN_SMTP_SMTP_RECEIVED_H
#define TERN_SMTP_SMTP_RECEIVED_H

#include <stdbool.h>
#include <time.h>

#include "core/buf.h"

/* More than any header this writes: the EHLO name (255), the address,
 * the host name (253), a TLS cipher, a path (256) and the date. */
#define SMTP_RECEIVED_MAX 2048

struct smtp_received {
	const char *helo;         /* the EHLO/HELO argument as parsed: a domain or a literal */
	const char *client_ip;    /* "192.0.2.1", "2001:db8::1" */
	const char *hostname;     /* this server ([server] hostname) */
	const char *protocol;     /* smtp_received_protocol() */
	const char *tls_version;  /* "TLSv1.3", or NULL without TLS */
	const char *tls_cipher;   /* "TLS_AES_256_GCM_SHA384", or NULL */
	const char *id;           /* the queue id */
	const char *for_rcpt;     /* the one recipient ("a@b", no brackets), or NULL */
	time_t when;
};

/* The WITH keyword: "SMTP" after HELO; after EHLO "ESMTP" with S for TLS
 * and A for a login (RFC 3848: ESMTPS, ESMTPA, ESMTPSA), or, for a
 * transaction under SMTPUTF8, "UTF8SMTP" with the same letters (RFC 6531
 * 4.3: UTF8SMTPS, UTF8SMTPSA...). */
const char *smtp_received_protocol(bool esmtp, bool tls, bool auth, bool utf8);

/* Append the header field, "Received: ..." folded with CRLF TAB and
 * ending in CRLF, to `out`. The date is local time with its numeric
 * offset (RFC 5321 4.4). Returns 0, or -1 when it does not fit in out's
 * cap (nothing appended is then usable: the caller resets out). */
int smtp_received_write(const struct smtp_received *r, struct buf *out);

#endif
