/* mail-bodystructure - the BODYSTRUCTURE and BODY strings (RFC 9051
 * 7.5.2) of a parsed message, from the IMAP fields each part holds. */
#include "mail/mail-mime-internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void mail_bodystructure_put(struct buf *out, const char *s)
{
	if (buf_append_str(out, s) < 0)
		abort();
}

static void mail_bodystructure_number(struct buf *out, uint64_t n)
{
	if (buf_printf(out, " %" PRIu64, n) < 0)
		abort();
}

/* One part, its children first for a multipart. The depth of the tree
 * is bounded (MAIL_MIME_MAX_DEPTH, checked by the deserialiser too), and
 * so is this recursion. */
static void mail_bodystructure_write(const struct mail_structure *st, uint32_t i, bool ext,
				     struct buf *out)
{
	const struct mail_mime_node *n = &st->nodes[i];
	uint32_t c;

	mail_bodystructure_put(out, "(");
	if (n->kind == MAIL_MIME_MULTIPART) {
		for (c = n->first_child; c != MAIL_MIME_NONE; c = st->nodes[c].next)
			mail_bodystructure_write(st, c, ext, out);
		mail_bodystructure_put(out, " ");
		mail_bodystructure_put(out, n->basic);
	} else {
		mail_bodystructure_put(out, n->basic);
		mail_bodystructure_number(out, n->end - n->body_off);
		if (n->kind == MAIL_MIME_MESSAGE) {
			/* RFC 9051 7.5.2: envelope, body and lines of the message */
			const struct mail_mime_node *m = &st->nodes[n->first_child];

			mail_bodystructure_put(out, " ");
			mail_bodystructure_put(out, m->envelope);
			mail_bodystructure_put(out, " ");
			mail_bodystructure_write(st, n->first_child, ext, out);
		}
		if (n->kind == MAIL_MIME_MESSAGE || n->text)
			mail_bodystructure_number(out, n->lines);
	}
	if (ext) {
		mail_bodystructure_put(out, " ");
		mail_bodystructure_put(out, n->ext);
	}
	mail_bodystructure_put(out, ")");
}

static char *mail_bodystructure_string(const struct mail_structure *st, bool ext)
{
	struct buf out;
	char *s;

	buf_init(&out, 0);
	mail_bodystructure_write(st, 0, ext, &out);
	s = mail_mime_strndup(out.data, out.len);
	buf_release(&out);
	return s;
}

void mail_bodystructure_build(struct mail_structure *st)
{
	st->bodystructure = mail_bodystructure_string(st, true);
	st->body = mail_bodystructure_string(st, false);
}
