/* cmd-mailbox - the commands that change the mailbox list (RFC 9051
 * 6.3.4 - 6.3.8): CREATE (with CREATE-SPECIAL-USE, RFC 6154 3), DELETE,
 * RENAME, SUBSCRIBE and UNSUBSCRIBE. Each is one store call in a job;
 * the store's errors become response codes in imap_cmd_fail. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-commands.h"

enum imap_mailbox_op {
	IMAP_MAILBOX_CREATE,
	IMAP_MAILBOX_DELETE,
	IMAP_MAILBOX_RENAME,
	IMAP_MAILBOX_SUBSCRIBE,
	IMAP_MAILBOX_UNSUBSCRIBE,
};

struct imap_mailbox_cmd {
	enum imap_mailbox_op op;
	char *name;
	char *new_name;                 /* RENAME */
	enum store_special special;     /* CREATE ... (USE (\Sent)) */
	enum store_error error;
};

static void imap_mailbox_cmd_free(struct imap_cmd *cmd)
{
	struct imap_mailbox_cmd *m = cmd->ctx;

	free(m->name);
	free(m->new_name);
	free(m);
	cmd->ctx = NULL;
}

static void imap_mailbox_work(struct imap_cmd *cmd)
{
	struct imap_mailbox_cmd *m = cmd->ctx;
	struct store_account *acct = cmd->s->acct;

	switch (m->op) {
	case IMAP_MAILBOX_CREATE:
		m->error = store_mailbox_create(acct, m->name, m->special);
		break;
	case IMAP_MAILBOX_DELETE:
		m->error = store_mailbox_delete(acct, m->name);
		break;
	case IMAP_MAILBOX_RENAME:
		m->error = store_mailbox_rename(acct, m->name, m->new_name);
		break;
	case IMAP_MAILBOX_SUBSCRIBE:
	case IMAP_MAILBOX_UNSUBSCRIBE:
		m->error = store_subscribe(acct, m->name, m->op == IMAP_MAILBOX_SUBSCRIBE);
		break;
	}
}

static void imap_mailbox_done(struct imap_cmd *cmd)
{
	struct imap_mailbox_cmd *m = cmd->ctx;

	if (m->error == STORE_OK) {
		imap_cmd_done(cmd, IMAP_OK, NULL, "%s completed", cmd->def->name);
		return;
	}
	/* RFC 9051 6.3.5: deleting INBOX is not possible */
	if (m->error == STORE_ERR_INVALID && m->op == IMAP_MAILBOX_DELETE &&
	    strcmp(m->name, "INBOX") == 0) {
		imap_cmd_done(cmd, IMAP_NO, "CANNOT", "INBOX cannot be deleted");
		return;
	}
	imap_cmd_fail(cmd, m->error, false, cmd->def->name);
}

static struct imap_mailbox_cmd *imap_mailbox_start(struct imap_cmd *cmd, enum imap_mailbox_op op,
						   size_t n_names)
{
	struct imap_mailbox_cmd *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	m->op = op;
	cmd->ctx = m;
	cmd->free_ctx = imap_mailbox_cmd_free;
	if (cmd->n_args < n_names ||
	    (m->name = imap_mailbox_from_client(cmd->s, &cmd->args[0])) == NULL ||
	    (n_names == 2 && (m->new_name = imap_mailbox_from_client(cmd->s, &cmd->args[1])) == NULL)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s needs %s", cmd->def->name,
			      n_names == 2 ? "two valid mailbox names" : "a valid mailbox name");
		return NULL;
	}
	/* RFC 9051 6.3.4: no names that LIST's wildcards could not tell
	 * from patterns */
	if ((op == IMAP_MAILBOX_CREATE || op == IMAP_MAILBOX_RENAME) &&
	    strpbrk(op == IMAP_MAILBOX_CREATE ? m->name : m->new_name, "*%") != NULL) {
		imap_cmd_done(cmd, IMAP_NO, "CANNOT", "Mailbox names may not hold * or %%");
		return NULL;
	}
	return m;
}

/* RFC 6154 3: "(USE (\Sent))"; one special use per mailbox here. */
static bool imap_create_params(struct imap_cmd *cmd, struct imap_mailbox_cmd *m)
{
	const struct imap_arg *params, *use;

	if (cmd->n_args == 1)
		return true;
	params = &cmd->args[1];
	if (cmd->n_args != 2 || params->type != IMAP_ARG_LIST || params->n != 2 ||
	    !imap_arg_atom_is(&params->list[0], "USE") || params->list[1].type != IMAP_ARG_LIST) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "CREATE takes a name and (USE (attributes))");
		return false;
	}
	use = &params->list[1];
	for (size_t i = 0; i < use->n; i++) {
		enum store_special special = STORE_SPECIAL_NONE;

		for (int k = 1; k < STORE_SPECIAL__COUNT; k++)
			if (use->list[i].type == IMAP_ARG_ATOM &&
			    strcasecmp(use->list[i].str, store_special_attr((enum store_special)k)) == 0)
				special = (enum store_special)k;
		if (special == STORE_SPECIAL_NONE || (m->special != STORE_SPECIAL_NONE &&
						      m->special != special)) {
			imap_cmd_done(cmd, IMAP_NO, "USEATTR", "Special-use attribute not supported");
			return false;
		}
		m->special = special;
	}
	return true;
}

void cmd_create(struct imap_cmd *cmd)
{
	struct imap_mailbox_cmd *m = imap_mailbox_start(cmd, IMAP_MAILBOX_CREATE, 1);

	if (m != NULL && imap_create_params(cmd, m))
		imap_cmd_job(cmd, imap_mailbox_work, imap_mailbox_done);
}

static void imap_mailbox_simple(struct imap_cmd *cmd, enum imap_mailbox_op op, size_t n_names)
{
	struct imap_mailbox_cmd *m = imap_mailbox_start(cmd, op, n_names);

	if (m == NULL)
		return;
	if (cmd->n_args != n_names) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "Unexpected arguments");
		return;
	}
	imap_cmd_job(cmd, imap_mailbox_work, imap_mailbox_done);
}

void cmd_delete(struct imap_cmd *cmd)
{
	imap_mailbox_simple(cmd, IMAP_MAILBOX_DELETE, 1);
}

void cmd_rename(struct imap_cmd *cmd)
{
	imap_mailbox_simple(cmd, IMAP_MAILBOX_RENAME, 2);
}

void cmd_subscribe(struct imap_cmd *cmd)
{
	imap_mailbox_simple(cmd, IMAP_MAILBOX_SUBSCRIBE, 1);
}

void cmd_unsubscribe(struct imap_cmd *cmd)
{
	imap_mailbox_simple(cmd, IMAP_MAILBOX_UNSUBSCRIBE, 1);
}
