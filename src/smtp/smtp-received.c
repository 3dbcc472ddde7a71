/* smtp-received - the Received header writer; see smtp-received.h. */
#include "smtp/smtp-received.h"

#include <stdio.h>
#include <string.h>

#include "mail/mail-date.h"

const char *smtp_received_protocol(bool esmtp, bool tls, bool auth, bool utf8)
{
	/* Indexed by utf8 * 4 + tls * 2 + auth. */
	static const char *const names[] = {
		"ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA",
		"UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA",
	};

	if (!esmtp)
		return "SMTP";
	return names[(utf8 ? 4 : 0) + (tls ? 2 : 0) + (auth ? 1 : 0)];
}

int smtp_received_write(const struct smtp_received *r, struct buf *out)
{
	char date[MAIL_DATE_MAX];
	int ret;

	if (mail_date_write(r->when, date, sizeof(date)) < 0)
		return -1;
	if (r->local_user != NULL) {
		/* No client and no protocol: RFC 5322 3.6.7's received-tokens
		 * carry who it was. */
		ret = buf_printf(out, "Received: from local user %s (uid %lu)\r\n", r->local_user,
				 r->local_uid);
	} else {
		/* From-domain: the EHLO name, then TCP-info, an address
		 * literal from the connection (RFC 5321 4.4). */
		ret = buf_printf(out, "Received: from %s ([%s%s])\r\n", r->helo,
				 strchr(r->client_ip, ':') != NULL ? "IPv6:" : "", r->client_ip);
	}
	if (ret == 0 && r->tls_version != NULL)
		ret = buf_printf(out, "\t(using %s with cipher %s)\r\n", r->tls_version,
				 r->tls_cipher != NULL ? r->tls_cipher : "unknown");
	if (ret == 0)
		ret = buf_printf(out, "\tby %s (tern)", r->hostname);
	if (ret == 0 && r->protocol != NULL)
		ret = buf_printf(out, " with %s", r->protocol);
	if (ret == 0)
		ret = buf_printf(out, " id %s", r->id);
	/* RFC 5321 4.4: FOR holds exactly one path, even for many RCPTs. */
	if (ret == 0 && r->for_rcpt != NULL)
		ret = buf_printf(out, "\r\n\tfor <%s>", r->for_rcpt);
	if (ret == 0)
		ret = buf_printf(out, ";\r\n\t%s\r\n", date);
	return ret;
}
