/* smtp-received - the Received header writer; see smtp-received.h. */
#include "smtp/smtp-received.h"

#include <stdio.h>
#include <string.h>

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

/* RFC 5322 3.3 date-time in local time with its numeric offset; the
 * names are written out so that no locale can change them. */
static int smtp_received_date(time_t when, char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long offset;
	int n;

	if (localtime_r(&when, &tm) == NULL)
		return -1;
	offset = tm.tm_gmtoff / 60;
	n = snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		     tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, offset < 0 ? '-' : '+', (offset < 0 ? -offset : offset) / 60,
		     (offset < 0 ? -offset : offset) % 60);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

int smtp_received_write(const struct smtp_received *r, struct buf *out)
{
	char date[64];
	bool v6 = strchr(r->client_ip, ':') != NULL;
	int ret;

	if (smtp_received_date(r->when, date, sizeof(date)) < 0)
		return -1;
	/* From-domain: the EHLO name, then TCP-info, an address literal
	 * from the connection (RFC 5321 4.4). */
	ret = buf_printf(out, "Received: from %s ([%s%s])\r\n", r->helo, v6 ? "IPv6:" : "",
			 r->client_ip);
	if (ret == 0 && r->tls_version != NULL)
		ret = buf_printf(out, "\t(using %s with cipher %s)\r\n", r->tls_version,
				 r->tls_cipher != NULL ? r->tls_cipher : "unknown");
	if (ret == 0)
		ret = buf_printf(out, "\tby %s (tern) with %s id %s", r->hostname, r->protocol, r->id);
	/* RFC 5321 4.4: FOR holds exactly one path, even for many RCPTs. */
	if (ret == 0 && r->for_rcpt != NULL)
		ret = buf_printf(out, "\r\n\tfor <%s>", r->for_rcpt);
	if (ret == 0)
		ret = buf_printf(out, ";\r\n\t%s\r\n", date);
	return ret;
}
