/* smtp-client-cmd - the client's MAIL and RCPT lines (see the header). */
#include "smtp/smtp-client-cmd.h"

#include <string.h>

#include "core/buf.h"
#include "smtp/smtp-param.h"

static bool smtp_client_cmd_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

bool smtp_client_cmd_needs_utf8(const struct smtp_client_message *msg)
{
	if (msg->smtputf8 || !smtp_client_cmd_ascii(msg->sender))
		return true;
	for (size_t i = 0; i < msg->n_rcpts; i++)
		if (!smtp_client_cmd_ascii(msg->rcpts[i].address))
			return true;
	return false;
}

void smtp_client_cmd_mail(struct buf *b, const struct smtp_client_message *msg,
			  const struct smtp_client_cmd_ext *ext)
{
	buf_reset(b);
	buf_printf(b, "MAIL FROM:<%s>", msg->sender);
	if (ext->size)
		buf_printf(b, " SIZE=%llu", (unsigned long long)msg->length);
	if (msg->eightbit)
		buf_append_str(b, " BODY=8BITMIME");
	if (ext->smtputf8 && smtp_client_cmd_needs_utf8(msg))
		buf_append_str(b, " SMTPUTF8");
	if (ext->dsn && msg->ret != QUEUE_RET_DEFAULT)
		buf_append_str(b, msg->ret == QUEUE_RET_FULL ? " RET=FULL" : " RET=HDRS");
	if (ext->dsn && msg->envid != NULL) {
		buf_append_str(b, " ENVID=");
		smtp_xtext_encode(b, msg->envid, strlen(msg->envid));
	}
	buf_append(b, "\r\n", 2);
}

void smtp_client_cmd_rcpt(struct buf *b, const struct smtp_client_rcpt *rcpt,
			  const struct smtp_client_cmd_ext *ext)
{
	static const struct {
		unsigned bit;
		const char *name;
	} notify[] = {
		{ QUEUE_NOTIFY_SUCCESS, "SUCCESS" },
		{ QUEUE_NOTIFY_FAILURE, "FAILURE" },
		{ QUEUE_NOTIFY_DELAY, "DELAY" },
	};
	const char *semi = rcpt->orcpt != NULL ? strchr(rcpt->orcpt, ';') : NULL;

	buf_reset(b);
	buf_printf(b, "RCPT TO:<%s>", rcpt->address);
	if (ext->dsn && (rcpt->notify & QUEUE_NOTIFY_NEVER)) {
		/* RFC 3461 4.1: NEVER only ever alone */
		buf_append_str(b, " NOTIFY=NEVER");
	} else if (ext->dsn && rcpt->notify != 0) {
		const char *sep = " NOTIFY=";

		for (size_t i = 0; i < sizeof(notify) / sizeof(notify[0]); i++) {
			if (rcpt->notify & notify[i].bit) {
				buf_printf(b, "%s%s", sep, notify[i].name);
				sep = ",";
			}
		}
	}
	if (ext->dsn && semi != NULL) {
		/* RFC 3461 4.2: ORCPT=addr-type ";" xtext */
		buf_printf(b, " ORCPT=%.*s;", (int)(semi - rcpt->orcpt), rcpt->orcpt);
		smtp_xtext_encode(b, semi + 1, strlen(semi + 1));
	}
	buf_append(b, "\r\n", 2);
}
