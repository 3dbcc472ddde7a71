/* smtp-reply - the one reply function of the SMTP session (every reply,
 * its log line, the error count, the tarpit, the 421 after too many) and
 * the typed failures it maps to reply codes (STYLE habits 3 and 4). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp/smtp-session.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct smtp_status smtp_fail_statuses[] = {
	[SMTP_FAIL_TEMP] = { 451, "4.3.0", "Temporary failure, please try again later" },
	[SMTP_FAIL_NO_SPACE] = { 452, "4.3.1", "Insufficient system storage, please try again later" },
	[SMTP_FAIL_TOO_BIG] = { 552, "5.3.4", "Message too big" },
	[SMTP_FAIL_TOO_MANY_HOPS] = { 554, "5.4.6", "Too many hops (Received headers): a mail loop?" },
	[SMTP_FAIL_RELAY_DENIED] = { 554, "5.7.1", "Relaying denied" },
	[SMTP_FAIL_ROUTING] = { 554, "5.7.1",
				"Relaying denied: no routing by the local part (%, !, quoted @)" },
	[SMTP_FAIL_UNKNOWN_USER] = { 550, "5.1.1", "No such user here" },
	[SMTP_FAIL_OVER_QUOTA] = { 452, "4.2.2", "Mailbox full, please try again later" },
	[SMTP_FAIL_TOO_MANY_RCPTS] = { 452, "4.5.3", "Too many recipients" },
	[SMTP_FAIL_AUTH_REQUIRED] = { 530, "5.7.0", "Authentication required" },
	[SMTP_FAIL_AUTH_ENCRYPT] = { 538, "5.7.11",
				     "Encryption required for requested authentication mechanism" },
	[SMTP_FAIL_AUTH_INVALID] = { 535, "5.7.8", "Authentication credentials invalid" },
	[SMTP_FAIL_AUTH_TEMP] = { 454, "4.7.0", "Temporary authentication failure" },
	[SMTP_FAIL_SENDER_OWNER] = { 553, "5.7.1",
				     "Sender address not owned by the authenticated user" },
};
_Static_assert(ARRAY_SIZE(smtp_fail_statuses) == SMTP_FAIL__COUNT, "smtp_fail_statuses");

/* How a reply is told. */
enum smtp_reply_flags {
	SMTP_REPLY_COUNTED = 1 << 0,   /* a 4xx/5xx counts towards errors_per_session */
};

/* Write every line of `text` with the code, "-" between lines and " "
 * before the last, and the enhanced code where it belongs. */
static void smtp_reply_write(struct smtp_session *s, unsigned code, const char *enhanced,
			     const char *text)
{
	const char *line = text;

	/* RFC 2034 3: none in the replies to HELO and EHLO. */
	if (s->verb == SMTP_VERB_EHLO || s->verb == SMTP_VERB_HELO)
		enhanced = NULL;
	for (;;) {
		const char *nl = strchr(line, '\n');
		int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);

		conn_printf(s->conn, "%u%c%s%s%.*s\r\n", code, nl != NULL ? '-' : ' ',
			    enhanced != NULL ? enhanced : "", enhanced != NULL ? " " : "", len, line);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

static void smtp_reply_log(struct smtp_session *s, unsigned code, const char *enhanced,
			   const char *text)
{
	char escaped[256];

	log_escape(escaped, sizeof(escaped), text, strlen(text));
	conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"reply\" code=%u status=%s cmd=\"%s\" text=\"%s\"",
		 code, enhanced != NULL ? enhanced : "-", s->cmd_log, escaped);
}

static void smtp_reply_va(struct smtp_session *s, unsigned flags, unsigned code,
			  const char *enhanced, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void smtp_reply_va(struct smtp_session *s, unsigned flags, unsigned code,
			  const char *enhanced, const char *fmt, va_list ap)
{
	unsigned limit = s->cfg->limits.errors_per_session;
	char text[1024];

	if (conn_is_closing(s->conn))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	smtp_reply_write(s, code, enhanced, text);
	if (code < 400)
		return;
	smtp_reply_log(s, code, enhanced, text);
	if ((flags & SMTP_REPLY_COUNTED) == 0 || code == 421)
		return;
	s->errors++;
	if (limit != 0 && s->errors >= limit) {
		smtp_reply_bye(s, "4.7.0", "Too many errors");
		conn_close(s->conn, "too many errors");
		return;
	}
	if (limit != 0 && s->errors >= (limit + 1) / 2)
		s->tarpit = true;
}

void smtp_reply(struct smtp_session *s, unsigned code, const char *enhanced, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_reply_va(s, SMTP_REPLY_COUNTED, code, enhanced, fmt, ap);
	va_end(ap);
}

void smtp_reply_uncounted(struct smtp_session *s, unsigned code, const char *enhanced,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_reply_va(s, 0, code, enhanced, fmt, ap);
	va_end(ap);
}

void smtp_reply_status(struct smtp_session *s, const struct smtp_status *status,
		       const char *detail)
{
	if (detail != NULL)
		smtp_reply(s, status->code, status->enhanced, "%s: %s", status->text, detail);
	else
		smtp_reply(s, status->code, status->enhanced, "%s", status->text);
}

const struct smtp_status *smtp_fail_status(enum smtp_fail fail)
{
	if ((unsigned)fail >= SMTP_FAIL__COUNT)
		fail = SMTP_FAIL_TEMP;
	return &smtp_fail_statuses[fail];
}

void smtp_reply_fail(struct smtp_session *s, enum smtp_fail fail, const char *what)
{
	const struct smtp_status *status = smtp_fail_status(fail);

	if (fail == SMTP_FAIL_TEMP || fail == SMTP_FAIL_NO_SPACE)
		conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"failure\" what=\"%s\" status=%s",
			 what != NULL ? what : "?", status->enhanced);
	if (fail == SMTP_FAIL_TOO_MANY_RCPTS)
		smtp_reply_uncounted(s, status->code, status->enhanced, "%s", status->text);
	else
		smtp_reply(s, status->code, status->enhanced, "%s", status->text);
}

void smtp_reply_bye(struct smtp_session *s, const char *enhanced, const char *text)
{
	smtp_reply_uncounted(s, 421, enhanced, "%s %s", smtp_session_hostname(s), text);
}

enum smtp_fail smtp_fail_from_queue(enum queue_error error)
{
	switch (error) {
	case QUEUE_ERR_NO_SPACE:
		return SMTP_FAIL_NO_SPACE;
	case QUEUE_ERR_TOO_BIG:
		return SMTP_FAIL_TOO_BIG;
	case QUEUE_OK:
	case QUEUE_ERR_IO:
	case QUEUE_ERR__COUNT:
	default:
		return SMTP_FAIL_TEMP;
	}
}

enum smtp_fail smtp_fail_from_relay(enum smtp_relay_verdict verdict)
{
	switch (verdict) {
	case SMTP_RELAY_DENIED:
		return SMTP_FAIL_RELAY_DENIED;
	case SMTP_RELAY_TRICK:
		return SMTP_FAIL_ROUTING;
	case SMTP_RELAY_UNKNOWN:
		return SMTP_FAIL_UNKNOWN_USER;
	case SMTP_RELAY_LOCAL:
	case SMTP_RELAY_EXTERNAL:
	case SMTP_RELAY_TEMP:
	case SMTP_RELAY_MISCONFIG:
	case SMTP_RELAY__COUNT:
	default:
		return SMTP_FAIL_TEMP;
	}
}
