/* imap-utf7 - mailbox names between UTF-8 and modified UTF-7 (RFC 3501
 * 5.1.3) for IMAP4rev1 sessions; see imap-utf7.h. The encoded runs are
 * core/mutf7's, which the Maildir++ folder names share. */
#include "imap/imap-utf7.h"

#include <string.h>

#include "core/buf.h"
#include "core/mutf7.h"
#include "core/utf8.h"

/* Keep out NUL-terminated, also when nothing was added. */
static void imap_utf7_terminate(struct buf *out)
{
	if (buf_reserve(out, 0) != NULL)
		buf_commit(out, 0);
}

bool imap_utf7_to_utf8(const char *utf7, struct buf *out)
{
	bool ok = mutf7_decode(out, utf7, strlen(utf7), false);

	imap_utf7_terminate(out);
	return ok;
}

bool imap_utf8_to_utf7(const char *utf8, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t len = strlen(utf8);

	if (!utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len;) {
		if (s[i] == '&') {
			buf_append(out, "&-", 2);
			i++;
		} else if (mutf7_direct(s[i])) {
			buf_append(out, &s[i++], 1);
		} else {
			/* Valid UTF-8 without NUL: the run takes at least one. */
			i += mutf7_encode_run(out, s + i, len - i);
		}
	}
	imap_utf7_terminate(out);
	return true;
}
