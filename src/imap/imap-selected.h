/* imap-selected - the selected mailbox of a session (RFC 9051 6.3.2,
 * 7.5.1): its compact view (UIDs in sequence order and system flags, one
 * array each), what the session has been told, and the untagged updates
 * (EXISTS, EXPUNGE, FETCH FLAGS, and rev1's RECENT) it owes when other
 * sessions or deliveries change the mailbox. Changes arrive from the
 * change hub on the session's loop; the updates are read from the store
 * (store_changes_since) in a job, before a command's tagged reply, and
 * at once during IDLE. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_SELECTED_H
#define TERN_IMAP_IMAP_SELECTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "store/store.h"

struct hub_watch;

struct imap_selected {
	struct store_mailbox_ref ref;
	char *name;                     /* UTF-8 */
	bool readonly;                  /* EXAMINE */
	struct store_view view;         /* message i+1 is view.uids[i] */
	uint64_t modseq;                /* the session has been told everything up to it */
	uint32_t first_recent;          /* rev1: UIDs from it on are \Recent here */
	struct hub_watch *watch;
	bool changed;                   /* the hub reported a change not yet read */
	/* SEARCHRES (RFC 5182): the UIDs of the last SEARCH ... SAVE, for "$". */
	uint32_t *saved;
	size_t n_saved;
};

/* The UIDs a command's set names, ascending and known to the session:
 * message numbers (cmd->uid false) or UIDs (true; "$" included). A
 * message number out of range is an error (false, with a BAD reply's text
 * in *why_r); a UID that does not exist is skipped (RFC 9051 6.4.9). */
bool imap_selected_uids(struct imap_session *s, const struct imap_arg *set, bool uid,
			uint32_t **uids_r, size_t *n_r, const char **why_r);
/* The message number of a UID the session knows, or 0. */
uint32_t imap_selected_seq(const struct imap_selected *sel, uint32_t uid);

/* Before a UID command acts: read messages that arrived since the view
 * was made and send their EXISTS (allowed at any time), so that a UID the
 * client learnt elsewhere (its own APPENDUID, another session) works, as
 * iOS and macOS Mail expect. then(cmd) runs after. */
void imap_selected_catch_up(struct imap_cmd *cmd, void (*then)(struct imap_cmd *cmd));

/* The session's own flag change (STORE), already written by the store:
 * record it in the view so that no other update repeats it. */
void imap_selected_flags_set(struct imap_selected *sel, uint32_t uid, unsigned flags,
			     uint64_t modseq);

/* Owed updates, then done(cmd): called by imap_cmd_done before the tagged
 * reply; no EXPUNGE when `no_expunge`. */
void imap_sync(struct imap_cmd *cmd, bool no_expunge, void (*done)(struct imap_cmd *cmd));

/* Leave the selected state (CLOSE, UNSELECT, SELECT of another mailbox,
 * logout): the watch is removed and the view freed. */
void imap_selected_free(struct imap_selected **sel);

#endif
