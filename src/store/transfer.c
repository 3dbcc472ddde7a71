/* transfer - helpers import and export share: a buffered writer that turns
 * bare LF and bare CR into CRLF (and ends every message with a line end),
 * and creating target mailboxes. */
#include <string.h>

#include "store/store-private.h"
#include "store/transfer.h"

void transfer_writer_init(struct transfer_writer *w, struct store_append *ap)
{
	w->ap = ap;
	w->error = STORE_OK;
	w->prev_cr = 0;
	w->last = -1;
	w->len = 0;
}

static void transfer_writer_drain(struct transfer_writer *w)
{
	if (w->len > 0 && w->error == STORE_OK)
		w->error = store_append_write(w->ap, w->buf, w->len);
	w->len = 0;
}

void transfer_writer_write(struct transfer_writer *w, const void *data, size_t len)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		/* room for "\r\n" */
		if (w->len + 2 > sizeof(w->buf))
			transfer_writer_drain(w);
		/* bare CR (old Mac line ends, mixed files) ends a line too:
		 * message files have CRLF only (DESIGN 5) */
		if (w->prev_cr && p[i] != '\n')
			w->buf[w->len++] = '\n';
		if (p[i] == '\n' && !w->prev_cr)
			w->buf[w->len++] = '\r';
		w->buf[w->len++] = p[i];
		w->prev_cr = p[i] == '\r';
		w->last = (unsigned char)p[i];
	}
}

enum store_error transfer_writer_flush(struct transfer_writer *w)
{
	if (w->len + 2 > sizeof(w->buf))
		transfer_writer_drain(w);
	if (w->prev_cr) {
		w->buf[w->len++] = '\n';
	} else if (w->last >= 0 && w->last != '\n') {
		/* A last line without its line end: end it. A message is lines
		 * (RFC 5322 2.1), SMTP always delivers it so, and POP3 must send
		 * exactly the octets LIST announced (RFC 1939 5). */
		w->buf[w->len++] = '\r';
		w->buf[w->len++] = '\n';
	}
	w->prev_cr = 0;
	w->last = '\n';
	transfer_writer_drain(w);
	return w->error;
}

enum store_error transfer_mailbox_ensure(struct store_account *acct, const char *name)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	struct store_mailbox box;
	enum store_error err;

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	err = store_mailbox_get(acct, canon, &box);
	store_mailbox_free(&box);
	if (err != STORE_ERR_NOT_FOUND)
		return err;
	/* parents first, so the hierarchy has no holes */
	for (char *slash = strchr(canon, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		err = store_mailbox_create(acct, canon, STORE_SPECIAL_NONE);
		*slash = '/';
		if (err != STORE_OK && err != STORE_ERR_EXISTS)
			return err;
	}
	err = store_mailbox_create(acct, canon, STORE_SPECIAL_NONE);
	return err == STORE_ERR_EXISTS ? STORE_OK : err;
}
