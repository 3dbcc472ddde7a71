/* imap-write - strings and mailbox names as a session writes and reads
 * them (RFC 9051 4.3, 5.1): quoted or literal, UTF-8 or modified UTF-7,
 * INBOX in any case. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "imap/imap-session.h"
#include "imap/imap-utf7.h"

/* Longer strings go as literals: a quoted string is one line's worth. */
#define IMAP_QUOTED_MAX 1024
/* A mailbox name in bytes (UTF-8); the store bounds its own. */
#define IMAP_MAILBOX_MAX 1024

/* RFC 9051 5.1 and 4.3: an IMAP4rev2 session, like one that enabled
 * UTF8=ACCEPT (RFC 6855 3), has mailbox names and quoted strings in
 * UTF-8; modified UTF-7 is for IMAP4rev1 only (RFC 9051 A.1). */
static bool imap_utf8_names(const struct imap_session *s)
{
	return s->rev2 || s->utf8_accept;
}

static bool imap_quotable(const struct imap_session *s, const char *str, size_t len)
{
	if (len > IMAP_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return false;
		if (c >= 0x80 && !imap_utf8_names(s))
			return false;
	}
	return true;
}

void imap_write_string(struct imap_session *s, const char *str, size_t len)
{
	struct buf out;

	if (str == NULL) {
		imap_write(s, "NIL", 3);
		return;
	}
	buf_init(&out, 0);
	if (imap_quotable(s, str, len)) {
		buf_append(&out, "\"", 1);
		for (size_t i = 0; i < len; i++) {
			if (str[i] == '"' || str[i] == '\\')
				buf_append(&out, "\\", 1);
			buf_append(&out, &str[i], 1);
		}
		buf_append(&out, "\"", 1);
		imap_write(s, out.data, out.len);
	} else {
		buf_printf(&out, "{%zu}\r\n", len);
		imap_write(s, out.data, out.len);
		imap_write(s, str, len);
	}
	buf_release(&out);
}

void imap_write_mailbox(struct imap_session *s, const char *name)
{
	struct buf utf7;

	if (imap_utf8_names(s)) {
		imap_write_string(s, name, strlen(name));
		return;
	}
	buf_init(&utf7, 0);
	if (!imap_utf8_to_utf7(name, &utf7)) {
		/* the store holds valid UTF-8 only; never write what is not */
		buf_reset(&utf7);
		buf_append_str(&utf7, "?");
	}
	imap_write_string(s, utf7.data, utf7.len);
	buf_release(&utf7);
}

/* RFC 9051 5.1: INBOX is case-insensitive, also as the first level of a
 * name ("inbox/x" is INBOX's child). */
static void imap_inbox_fix(char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
}

/* A name or pattern as the client wrote it, in UTF-8: text[0..len) is
 * modified UTF-7 unless the session enabled UTF8=ACCEPT. */
static char *imap_name_decode(struct imap_session *s, const struct imap_arg *arg, bool pattern)
{
	const char *text = imap_arg_astring(arg);
	struct buf out;
	bool ok;
	char *name;

	if (text == NULL || arg->len > IMAP_MAILBOX_MAX || strlen(text) != arg->len ||
	    (arg->len == 0 && !pattern))
		return NULL;
	buf_init(&out, 0);
	if (imap_utf8_names(s))
		ok = utf8_valid((const unsigned char *)text, arg->len) &&
		     buf_append(&out, text, arg->len) == 0;
	else
		ok = imap_utf7_to_utf8(text, &out);
	/* RFC 9051 6.3.4: a trailing hierarchy separator is not part of
	 * the name. */
	while (ok && !pattern && out.len > 1 && out.data[out.len - 1] == '/')
		out.len--;
	name = ok ? strndup(out.len > 0 ? out.data : "", out.len) : NULL;
	buf_release(&out);
	if (ok && name == NULL)
		abort();
	if (name != NULL)
		imap_inbox_fix(name);
	return name;
}

char *imap_mailbox_from_client(struct imap_session *s, const struct imap_arg *arg)
{
	return imap_name_decode(s, arg, false);
}

char *imap_pattern_from_client(struct imap_session *s, const struct imap_arg *arg)
{
	return imap_name_decode(s, arg, true);
}
