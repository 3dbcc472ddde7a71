/* mail-imap-quote - the IMAP strings (RFC 9051 4.3) that ENVELOPE and
 * BODYSTRUCTURE are written with; see mail-mime-internal.h. */
#include "mail/mail-mime-internal.h"

#include <stdlib.h>
#include <string.h>

/* Past this many '"' and '\' a literal is shorter than the quoted
 * string, the choice Dovecot makes. */
#define MAIL_IMAP_QUOTE_MAX_ESCAPES 4

static void mail_imap_append(struct buf *out, const void *data, size_t len)
{
	if (len > 0 && buf_append(out, data, len) < 0)
		abort();
}

static void mail_imap_append_literal(struct buf *out, const char *s, size_t len)
{
	if (buf_printf(out, "{%zu}\r\n", len) < 0)
		abort();
	mail_imap_append(out, s, len);
}

void mail_imap_append_string(struct buf *out, const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	unsigned escapes = 0;
	size_t i;

	if (nul != NULL)
		len = (size_t)(nul - s);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c >= 0x80 ||
		    ((c == '"' || c == '\\') && ++escapes > MAIL_IMAP_QUOTE_MAX_ESCAPES)) {
			mail_imap_append_literal(out, s, len);
			return;
		}
	}
	mail_imap_append(out, "\"", 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			mail_imap_append(out, "\\", 1);
		mail_imap_append(out, s + i, 1);
	}
	mail_imap_append(out, "\"", 1);
}

void mail_imap_append_human(struct buf *out, const char *s, size_t len)
{
	struct buf clean;
	bool space = false, changed = false;
	size_t i;

	buf_init(&clean, 0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n') {
			changed = true;
			continue;
		}
		if (c == ' ' || c == '\t') {
			changed |= c == '\t' || space || clean.len == 0;
			space = true;
			continue;
		}
		if (space && clean.len > 0)
			mail_imap_append(&clean, " ", 1);
		space = false;
		if (c == '\0') {
			mail_imap_append(&clean, "\xef\xbf\xbd", 3);
			changed = true;
		} else {
			changed |= c == '"' || c == '\\' || c >= 0x80;
			mail_imap_append(&clean, s + i, 1);
		}
	}
	changed |= space && clean.len > 0;
	if (!changed) {
		mail_imap_append(out, "\"", 1);
		mail_imap_append(out, clean.data, clean.len);
		mail_imap_append(out, "\"", 1);
	} else if (clean.len == 0) {
		mail_imap_append(out, "\"\"", 2);
	} else {
		mail_imap_append_literal(out, clean.data, clean.len);
	}
	buf_release(&clean);
}
