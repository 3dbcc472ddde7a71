/* imap-commands - the run() function of every IMAP command, each written
 * by the part of src/imap that owns it, and the command table
 * (imap-commands.c) that names them. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_COMMANDS_H
#define TERN_IMAP_IMAP_COMMANDS_H

#include "imap/imap-session.h"

/* Whether a password may be sent now (DESIGN 7: TLS, or loopback when
 * [auth] allow_plaintext_loopback says so). */
bool imap_plaintext_allowed(const struct imap_session *s);

/* Any state (cmd-any.c). */
void cmd_capability(struct imap_cmd *cmd);
void cmd_noop(struct imap_cmd *cmd);
void cmd_logout(struct imap_cmd *cmd);
void cmd_id(struct imap_cmd *cmd);

/* Not authenticated (cmd-auth.c). */
void cmd_starttls(struct imap_cmd *cmd);
void cmd_authenticate(struct imap_cmd *cmd);
void cmd_login(struct imap_cmd *cmd);

/* Authenticated (cmd-any.c: ENABLE, NAMESPACE; cmd-mailbox.c; cmd-list.c;
 * cmd-status.c; cmd-append.c). */
void cmd_enable(struct imap_cmd *cmd);
void cmd_namespace(struct imap_cmd *cmd);
void cmd_create(struct imap_cmd *cmd);
void cmd_delete(struct imap_cmd *cmd);
void cmd_rename(struct imap_cmd *cmd);
void cmd_subscribe(struct imap_cmd *cmd);
void cmd_unsubscribe(struct imap_cmd *cmd);
void cmd_list(struct imap_cmd *cmd);
/* RFC 9051 6.3.9: whether a mailbox name matches a LIST pattern ("*"
 * matches anything, "%" anything but the hierarchy delimiter "/"). */
bool imap_list_match(const char *pattern, const char *name);
void cmd_lsub(struct imap_cmd *cmd);
void cmd_status(struct imap_cmd *cmd);
/* STATUS items (cmd-status.c), for STATUS and LIST's RETURN (STATUS). */
enum imap_status_item {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_UIDNEXT = 1 << 1,
	IMAP_STATUS_UIDVALIDITY = 1 << 2,
	IMAP_STATUS_UNSEEN = 1 << 3,
	IMAP_STATUS_DELETED = 1 << 4,
	IMAP_STATUS_SIZE = 1 << 5,
	IMAP_STATUS_RECENT = 1 << 6,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 7,  /* RFC 7162 3.1.7 */
};
/* "(MESSAGES UNSEEN)" to IMAP_STATUS_* bits; false for anything else. */
bool imap_status_items_parse(const struct imap_arg *list, unsigned *items_r);
/* "* STATUS name (MESSAGES 3 UNSEEN 1)" CRLF, from the store's counts. */
void imap_status_write(struct imap_session *s, const struct store_mailbox *box, unsigned items);
void cmd_append(struct imap_cmd *cmd);
/* APPEND's streamed message literals (struct imap_command.stream). */
void cmd_append_stream(struct imap_cmd *cmd);
uint64_t cmd_append_stream_max(const struct imap_session *s);

/* The selected mailbox (i7-selected: cmd-select.c, cmd-close.c ...). */
void cmd_select(struct imap_cmd *cmd);
void cmd_examine(struct imap_cmd *cmd);
void cmd_close(struct imap_cmd *cmd);
void cmd_unselect(struct imap_cmd *cmd);
void cmd_expunge(struct imap_cmd *cmd);
/* CHECK (cmd_check is `tern check`) */
void cmd_checkpoint(struct imap_cmd *cmd);
void cmd_idle(struct imap_cmd *cmd);
void cmd_store(struct imap_cmd *cmd);
void cmd_copy(struct imap_cmd *cmd);
void cmd_move(struct imap_cmd *cmd);
/* i7-fetch: cmd-fetch.c. */
void cmd_fetch(struct imap_cmd *cmd);
/* i7-search: cmd-search.c. */
void cmd_search(struct imap_cmd *cmd);

#endif
