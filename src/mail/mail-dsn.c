/* mail-dsn - writing a Delivery Status Notification (RFC 3464, with RFC
 * 6533 for SMTPUTF8 mail); see mail-dsn.h. */
#include "mail/mail-dsn.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mail/mail-date.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAIL_DSN_TOKEN_MAX 40

static const char *const mail_dsn_action_names[] = {
	[MAIL_DSN_FAILED] = "failed",
	[MAIL_DSN_DELAYED] = "delayed",
	[MAIL_DSN_DELIVERED] = "delivered",
	[MAIL_DSN_RELAYED] = "relayed",
	[MAIL_DSN_EXPANDED] = "expanded",
};
_Static_assert(ARRAY_SIZE(mail_dsn_action_names) == MAIL_DSN__COUNT,
	       "mail_dsn_action_names must cover enum mail_dsn_action");

const char *mail_dsn_action_name(enum mail_dsn_action action)
{
	if ((unsigned)action >= MAIL_DSN__COUNT)
		return "failed";
	return mail_dsn_action_names[action];
}

/* RFC 3463 2: class "." subject "." detail, class 2, 4 or 5, subject and
 * detail 1 to 3 digits. Returns the code's length at text, 0 for none. */
static size_t mail_dsn_status_len(const char *text)
{
	size_t i = 0;

	if (text[0] != '2' && text[0] != '4' && text[0] != '5')
		return 0;
	i = 1;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;

		if (text[i] != '.')
			return 0;
		i++;
		while (text[i] >= '0' && text[i] <= '9' && digits < 4) {
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3)
			return 0;
	}
	/* a code ends there: "5.1.10x" or "5.1.1.2" is none */
	if ((text[i] >= '0' && text[i] <= '9') || text[i] == '.' ||
	    (text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z'))
		return 0;
	return i;
}

bool mail_dsn_status_parse(const char *text, char out[16])
{
	size_t len = text != NULL ? mail_dsn_status_len(text) : 0;

	if (len == 0)
		return false;
	memcpy(out, text, len);
	out[len] = '\0';
	return true;
}

static bool mail_dsn_ascii_n(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static bool mail_dsn_ascii(const char *s)
{
	return mail_dsn_ascii_n(s, strlen(s));
}

/* The longest diagnostic type ("smtp", "X-tern"): with the longest value
 * the Diagnostic-Code line stays within 998 octets. */
#define MAIL_DSN_TYPE_MAX 64

/* A value for a header line: controls and DEL as '?', 8-bit bytes as '?'
 * unless utf8, at most max octets (cut before a UTF-8 sequence that would
 * not fit whole). */
static void mail_dsn_value_max(struct buf *b, const char *s, bool utf8, size_t max)
{
	size_t n = 0;

	for (; *s != '\0' && n < max; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0xc0 && utf8) {
			size_t seq = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			if (n + seq > max)
				break;
		}
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			c = '?';
		buf_append(b, &c, 1);
	}
}

static void mail_dsn_value(struct buf *b, const char *s, bool utf8)
{
	mail_dsn_value_max(b, s, utf8, MAIL_DSN_VALUE_MAX);
}

static void mail_dsn_field(struct buf *b, const char *name, const char *prefix,
			   const char *value, bool utf8)
{
	buf_printf(b, "%s: %s", name, prefix);
	mail_dsn_value(b, value, utf8);
	buf_append_str(b, "\r\n");
}

static void mail_dsn_date(struct buf *b, const char *name, int64_t when)
{
	char date[MAIL_DATE_MAX];

	if (when > 0 && mail_date_write((time_t)when, date, sizeof(date)) == 0)
		buf_printf(b, "%s: %s\r\n", name, date);
}

/* An address with its type (RFC 3464 2.3.2, RFC 6533 3): "rfc822;" for
 * ASCII, "utf-8;" for the rest in a UTF-8 report. */
static void mail_dsn_address(struct buf *b, const char *name, const char *address, bool utf8)
{
	mail_dsn_field(b, name, utf8 && !mail_dsn_ascii(address) ? "utf-8; " : "rfc822; ", address,
		       utf8);
}

/* ORCPT as given: its own type before the ';' (RFC 3461 4.2). */
static void mail_dsn_orcpt(struct buf *b, const char *orcpt, bool utf8)
{
	const char *semi = strchr(orcpt, ';');

	if (semi == NULL || semi == orcpt)
		mail_dsn_address(b, "Original-Recipient", orcpt, utf8);
	else
		mail_dsn_field(b, "Original-Recipient", "", orcpt, utf8);
}

static enum mail_dsn_action mail_dsn_main_action(const struct mail_dsn *d)
{
	static const enum mail_dsn_action order[] = { MAIL_DSN_FAILED, MAIL_DSN_DELAYED };

	for (size_t k = 0; k < ARRAY_SIZE(order); k++)
		for (size_t i = 0; i < d->n_rcpts; i++)
			if (d->rcpts[i].action == order[k])
				return order[k];
	return d->rcpts[0].action;
}

static const char *mail_dsn_subject(enum mail_dsn_action action)
{
	switch (action) {
	case MAIL_DSN_FAILED:
		return "Undelivered Mail Returned to Sender";
	case MAIL_DSN_DELAYED:
		return "Delayed Mail (still being retried)";
	case MAIL_DSN_DELIVERED:
		return "Successful Mail Delivery Report";
	case MAIL_DSN_RELAYED:
		return "Relayed Mail Report";
	case MAIL_DSN_EXPANDED:
		return "Expanded Mail Report";
	case MAIL_DSN__COUNT:
		break;
	}
	return "Mail Delivery Report";
}

static const char *mail_dsn_intro(enum mail_dsn_action action)
{
	switch (action) {
	case MAIL_DSN_FAILED:
		return "Your message could not be delivered to one or more recipients.\r\n"
		       "It has been returned with this report; the reasons follow.\r\n";
	case MAIL_DSN_DELAYED:
		return "Your message has not been delivered to one or more recipients yet.\r\n"
		       "It is still being retried: you need not send it again.\r\n";
	case MAIL_DSN_DELIVERED:
		return "Your message was delivered to the recipients below, as you asked.\r\n";
	case MAIL_DSN_RELAYED:
	case MAIL_DSN_EXPANDED:
	case MAIL_DSN__COUNT:
		break;
	}
	return "Your message was passed on to a server that sends no reports of its own\r\n"
	       "(or to the addresses an alias names), as listed below.\r\n";
}

static void mail_dsn_status(const struct mail_dsn_rcpt *r, char out[16])
{
	if (mail_dsn_status_parse(r->status, out))
		return;
	/* RFC 3461 6.3 (g): no specific code */
	strcpy(out, r->action == MAIL_DSN_FAILED ? "5.0.0" :
		    r->action == MAIL_DSN_DELAYED ? "4.0.0" : "2.0.0");
}

static void mail_dsn_human(struct buf *b, const struct mail_dsn *d, enum mail_dsn_action main)
{
	buf_printf(b, "This is the mail system at %s.\r\n\r\n", d->reporting_mta);
	buf_append_str(b, mail_dsn_intro(main));
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct mail_dsn_rcpt *r = &d->rcpts[i];

		buf_append_str(b, "\r\n<");
		mail_dsn_value(b, r->address, d->utf8);
		buf_printf(b, ">: %s\r\n", mail_dsn_action_name(r->action));
		if (r->diagnostic != NULL) {
			buf_append_str(b, "    ");
			mail_dsn_value(b, r->diagnostic, d->utf8);
			buf_append_str(b, "\r\n");
		}
	}
}

static void mail_dsn_status_part(struct buf *b, const struct mail_dsn *d)
{
	/* RFC 3464 2.2: the per-message fields */
	buf_printf(b, "Reporting-MTA: dns; %s\r\n", d->reporting_mta);
	if (d->envid != NULL)
		mail_dsn_field(b, "Original-Envelope-Id", "", d->envid, d->utf8);
	mail_dsn_date(b, "Arrival-Date", d->arrival);
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct mail_dsn_rcpt *r = &d->rcpts[i];
		char status[16];

		/* RFC 3464 2.3: each recipient's fields after a blank line */
		buf_append_str(b, "\r\n");
		if (r->orcpt != NULL && r->orcpt[0] != '\0')
			mail_dsn_orcpt(b, r->orcpt, d->utf8);
		mail_dsn_address(b, "Final-Recipient", r->address, d->utf8);
		buf_printf(b, "Action: %s\r\n", mail_dsn_action_name(r->action));
		mail_dsn_status(r, status);
		buf_printf(b, "Status: %s\r\n", status);
		if (r->remote_mta != NULL)
			mail_dsn_field(b, "Remote-MTA", "dns; ", r->remote_mta, false);
		if (r->diagnostic_type != NULL && r->diagnostic != NULL) {
			buf_printf(b, "Diagnostic-Code: ");
			mail_dsn_value_max(b, r->diagnostic_type, false, MAIL_DSN_TYPE_MAX);
			buf_append_str(b, "; ");
			mail_dsn_value(b, r->diagnostic, d->utf8);
			buf_append_str(b, "\r\n");
		}
		mail_dsn_date(b, "Last-Attempt-Date", r->last_attempt);
		if (r->action == MAIL_DSN_DELAYED)
			mail_dsn_date(b, "Will-Retry-Until", r->will_retry_until);
	}
}

/* The length of the original's header with its blank line (the whole
 * message when it has no body). */
static size_t mail_dsn_header_len(const char *m, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (m[i] != '\n')
			continue;
		if (m[i + 1] == '\n')
			return i + 2;
		if (m[i + 1] == '\r' && i + 2 < len && m[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* What of the original goes into the report, and whether it is whole:
 * the whole message only for a failure (RFC 3461 4.3), asked for, and
 * within MAIL_DSN_RETURN_MAX. */
static size_t mail_dsn_returned(const struct mail_dsn *d, enum mail_dsn_action main,
				bool *whole_r)
{
	size_t hdr = mail_dsn_header_len(d->message, d->message_len);

	*whole_r = main == MAIL_DSN_FAILED && d->ret == MAIL_DSN_RETURN_FULL &&
		   d->message_len <= MAIL_DSN_RETURN_MAX;
	if (*whole_r)
		return d->message_len;
	if (hdr > MAIL_DSN_HEADER_MAX) {
		/* cut after the last complete line within the bound */
		hdr = MAIL_DSN_HEADER_MAX;
		while (hdr > 0 && d->message[hdr - 1] != '\n')
			hdr--;
	}
	return hdr;
}

static bool mail_dsn_token_ok(const char *t)
{
	size_t n = t != NULL ? strlen(t) : 0;

	if (n == 0 || n > MAIL_DSN_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

static bool mail_dsn_valid(const struct mail_dsn *d)
{
	if (d->n_rcpts == 0 || d->rcpts == NULL || d->to == NULL || d->to[0] == '\0' ||
	    d->reporting_mta == NULL || d->reporting_mta[0] == '\0' || !mail_dsn_token_ok(d->token))
		return false;
	for (size_t i = 0; i < d->n_rcpts; i++)
		if (d->rcpts[i].address == NULL || d->rcpts[i].address[0] == '\0' ||
		    (unsigned)d->rcpts[i].action >= MAIL_DSN__COUNT)
			return false;
	return true;
}

char *mail_dsn_write(const struct mail_dsn *d, size_t *len_r)
{
	enum mail_dsn_action main;
	struct buf b;
	char date[MAIL_DATE_MAX];
	size_t returned = 0;
	bool whole = false, eightbit;

	*len_r = 0;
	if (!mail_dsn_valid(d))
		return NULL;
	main = mail_dsn_main_action(d);
	if (d->message != NULL)
		returned = mail_dsn_returned(d, main, &whole);
	eightbit = !mail_dsn_ascii_n(d->message, returned);
	buf_init(&b, 0);
	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d->reporting_mta);
	buf_append_str(&b, "To: <");
	mail_dsn_value(&b, d->to, d->utf8);
	buf_append_str(&b, ">\r\n");
	buf_printf(&b, "Subject: %s\r\n", mail_dsn_subject(main));
	if (mail_date_write((time_t)d->now, date, sizeof(date)) == 0)
		buf_printf(&b, "Date: %s\r\n", date);
	buf_printf(&b, "Message-ID: <%s@%s>\r\n", d->token, d->reporting_mta);
	/* RFC 3834 5: a report is never answered automatically */
	buf_append_str(&b, "Auto-Submitted: auto-replied\r\n");
	buf_append_str(&b, "MIME-Version: 1.0\r\n");
	buf_printf(&b, "Content-Type: multipart/report; report-type=%s;\r\n"
		       "\tboundary=\"%s/%s\"\r\n",
		   d->utf8 ? "global-delivery-status" : "delivery-status", d->token,
		   d->reporting_mta);
	if (d->utf8 || eightbit)
		buf_append_str(&b, "Content-Transfer-Encoding: 8bit\r\n");
	buf_append_str(&b, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	buf_printf(&b, "--%s/%s\r\n", d->token, d->reporting_mta);
	buf_printf(&b, "Content-Description: Notification\r\n"
		       "Content-Type: text/plain; charset=%s\r\n\r\n",
		   d->utf8 ? "utf-8" : "us-ascii");
	mail_dsn_human(&b, d, main);

	buf_printf(&b, "\r\n--%s/%s\r\n", d->token, d->reporting_mta);
	buf_printf(&b, "Content-Description: Delivery report\r\n"
		       "Content-Type: message/%s\r\n\r\n",
		   d->utf8 ? "global-delivery-status" : "delivery-status");
	mail_dsn_status_part(&b, d);

	if (d->message != NULL) {
		const char *type = whole ? (d->utf8 ? "message/global" : "message/rfc822")
					 : (d->utf8 ? "message/global-headers" : "text/rfc822-headers");

		buf_printf(&b, "\r\n--%s/%s\r\n", d->token, d->reporting_mta);
		buf_printf(&b, "Content-Description: %s\r\nContent-Type: %s\r\n",
			   whole ? "Undelivered Message" : "Message Headers", type);
		if (eightbit)
			buf_append_str(&b, "Content-Transfer-Encoding: 8bit\r\n");
		buf_append_str(&b, "\r\n");
		buf_append(&b, d->message, returned);
		if (returned > 0 && d->message[returned - 1] != '\n')
			buf_append_str(&b, "\r\n");
	}
	buf_printf(&b, "\r\n--%s/%s--\r\n", d->token, d->reporting_mta);
	buf_append(&b, "", 1);
	*len_r = b.len - 1;
	return b.data;
}
