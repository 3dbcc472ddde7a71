/* cmd-status - STATUS (RFC 9051 6.3.11) and the STATUS response it and
 * LIST's RETURN (STATUS ...) (RFC 5819) write, from the counts the store
 * maintains (never a scan of the mailbox). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"

static const struct {
	const char *name;
	unsigned item;
} imap_status_names[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES },
	{ "UIDNEXT", IMAP_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAP_STATUS_UNSEEN },
	{ "DELETED", IMAP_STATUS_DELETED },
	{ "SIZE", IMAP_STATUS_SIZE },
	{ "RECENT", IMAP_STATUS_RECENT },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
};
#define IMAP_STATUS_NAMES (sizeof(imap_status_names) / sizeof(imap_status_names[0]))

bool imap_status_items_parse(const struct imap_arg *list, unsigned *items_r)
{
	*items_r = 0;
	if (list->type != IMAP_ARG_LIST || list->n == 0)
		return false;
	for (size_t i = 0; i < list->n; i++) {
		size_t k;

		if (list->list[i].type != IMAP_ARG_ATOM)
			return false;
		for (k = 0; k < IMAP_STATUS_NAMES; k++)
			if (strcasecmp(list->list[i].str, imap_status_names[k].name) == 0)
				break;
		if (k == IMAP_STATUS_NAMES)
			return false;
		*items_r |= imap_status_names[k].item;
	}
	return true;
}

void imap_status_write(struct imap_session *s, const struct store_mailbox *box, unsigned items)
{
	struct buf line;
	bool first = true;

	imap_write(s, "* STATUS ", 9);
	imap_write_mailbox(s, box->name);
	buf_init(&line, 0);
	buf_append(&line, " (", 2);
	for (size_t k = 0; k < IMAP_STATUS_NAMES; k++) {
		unsigned item = imap_status_names[k].item;
		uint64_t value;

		if ((items & item) == 0)
			continue;
		switch (item) {
		case IMAP_STATUS_MESSAGES: value = box->messages; break;
		case IMAP_STATUS_UIDNEXT: value = box->uidnext; break;
		case IMAP_STATUS_UIDVALIDITY: value = box->uidvalidity; break;
		case IMAP_STATUS_UNSEEN: value = box->unseen; break;
		case IMAP_STATUS_DELETED: value = box->deleted; break;
		case IMAP_STATUS_SIZE: value = box->size; break;
		/* the messages no session has selected since they came */
		case IMAP_STATUS_RECENT: value = box->recent; break;
		/* never 0: every mailbox keeps MODSEQs (no NOMODSEQ, RFC 7162 3.1.2.2) */
		case IMAP_STATUS_HIGHESTMODSEQ: value = box->highestmodseq; break;
		default: value = 0; break;
		}
		buf_printf(&line, "%s%s %llu", first ? "" : " ", imap_status_names[k].name,
			   (unsigned long long)value);
		first = false;
	}
	buf_append(&line, ")\r\n", 3);
	imap_write(s, line.data, line.len);
	buf_release(&line);
}

struct imap_status_cmd {
	char *name;
	unsigned items;
	struct store_mailbox box;
	enum store_error error;
};

static void imap_status_free(struct imap_cmd *cmd)
{
	struct imap_status_cmd *st = cmd->ctx;

	free(st->name);
	if (st->error == STORE_OK)
		store_mailbox_free(&st->box);
	free(st);
	cmd->ctx = NULL;
}

static void imap_status_work(struct imap_cmd *cmd)
{
	struct imap_status_cmd *st = cmd->ctx;

	st->error = store_mailbox_get(cmd->s->acct, st->name, &st->box);
}

static void imap_status_done(struct imap_cmd *cmd)
{
	struct imap_status_cmd *st = cmd->ctx;

	if (st->error != STORE_OK) {
		imap_cmd_fail(cmd, st->error, false, "STATUS");
		return;
	}
	imap_status_write(cmd->s, &st->box, st->items);
	imap_cmd_done(cmd, IMAP_OK, NULL, "STATUS completed");
}

void cmd_status(struct imap_cmd *cmd)
{
	struct imap_status_cmd *st = calloc(1, sizeof(*st));

	if (st == NULL)
		abort();
	st->error = STORE_ERR_NOT_FOUND;
	cmd->ctx = st;
	cmd->free_ctx = imap_status_free;
	if (cmd->n_args != 2 || (st->name = imap_mailbox_from_client(cmd->s, &cmd->args[0])) == NULL ||
	    !imap_status_items_parse(&cmd->args[1], &st->items)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "STATUS takes a mailbox and a list of items");
		return;
	}
	/* RFC 7162 3.1: a CONDSTORE enabling command */
	if (st->items & IMAP_STATUS_HIGHESTMODSEQ)
		imap_condstore_enable(cmd->s);
	imap_cmd_job(cmd, imap_status_work, imap_status_done);
}
