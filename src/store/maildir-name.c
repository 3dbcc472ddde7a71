/* maildir-name - mailbox names as Maildir++ folder names and back, the
 * way Dovecot writes them with its listescape plugin: levels joined by
 * '.', each in modified UTF-7 (RFC 3501 5.1.3), with '.', '\' and a
 * leading '~' of a level escaped as "\xx" (lowercase hex). Escaping is what
 * keeps "a.b" (".a\2eb") and "a/b" (".a.b") apart. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mutf7.h"
#include "core/number.h"
#include "store/transfer.h"

#define NAME_ESCAPE '\\'

char *transfer_maildir_folder_encode(const char *mailbox)
{
	const unsigned char *s = (const unsigned char *)mailbox;
	size_t len = strlen(mailbox);
	bool level_start = true;
	struct buf out;

	buf_init(&out, 0);
	buf_append(&out, ".", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t used;

		if (c == '/') {
			buf_append(&out, ".", 1);
			level_start = true;
			i++;
			continue;
		}
		if (c >= 0x80 && (used = mutf7_encode_run(&out, s + i, len - i)) > 0) {
			i += used;
		} else if (c == '&') {
			buf_append(&out, "&-", 2);
			i++;
		} else if (c < 0x20 || c >= 0x7f || c == '.' || c == NAME_ESCAPE ||
			   (c == '~' && level_start)) {
			/* bytes that are not UTF-8 too: the round trip stays exact */
			buf_printf(&out, "%c%02x", NAME_ESCAPE, c);
			i++;
		} else {
			buf_append(&out, &c, 1);
			i++;
		}
		level_start = false;
	}
	buf_append(&out, "", 1);
	return out.data;
}

/* "\xx" escapes of one level undone (not "\00": a name holds no NUL). */
static void level_unescape(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = -1, lo = -1;

		if (s[i] == NAME_ESCAPE && i + 2 < len) {
			hi = number_hex_digit((unsigned char)s[i + 1]);
			lo = number_hex_digit((unsigned char)s[i + 2]);
		}
		if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
			char c = (char)(hi << 4 | lo);

			buf_append(out, &c, 1);
			i += 2;
		} else {
			buf_append(out, &s[i], 1);
		}
	}
}

char *transfer_maildir_folder_decode(const char *folder)
{
	struct buf out, level;

	buf_init(&out, 0);
	buf_init(&level, 0);
	if (*folder == '.')
		folder++;
	for (;;) {
		size_t n = strcspn(folder, ".");

		buf_reset(&level);
		level_unescape(&level, folder, n);
		/* Bytes above 0x7f stand for themselves (encode writes bytes
		 * that are not UTF-8 so); a level that is not valid modified
		 * UTF-7 is taken as it is. */
		if (level.len > 0 && !mutf7_decode(&out, level.data, level.len, true))
			buf_append(&out, level.data, level.len);
		if (folder[n] == '\0')
			break;
		buf_append(&out, "/", 1);
		folder += n + 1;
	}
	buf_release(&level);
	buf_append(&out, "", 1);
	return out.data;
}
