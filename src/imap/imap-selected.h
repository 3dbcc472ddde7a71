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

struct buf;
struct hub_watch;
struct imap_sync_job;
struct imap_view_share;

/* Own flag changes (STORE) not yet passed by a sync: their MODSEQs, so
 * that the sync does not repeat them (one STORE per MODSEQ, RFC 7162 3.1). */
#define IMAP_SELECTED_OWN_MAX 8

struct imap_selected {
	struct store_mailbox_ref ref;
	char *name;                     /* UTF-8 */
	bool readonly;                  /* EXAMINE */
	struct store_view view;         /* message i+1 is view.uids[i] */
	/* view's arrays are the registry's, read by other sessions too
	 * (imap-view-share.c), or NULL: they are this session's. */
	struct imap_view_share *shared;
	uint64_t modseq;                /* the session has been told everything up to it */
	uint32_t first_recent;          /* rev1: UIDs from it on are \Recent here; 0: none */
	struct hub_watch *watch;
	bool changed;                   /* the hub reported a change not yet read */
	bool sync_failed;               /* the last sync could not read the store: IDLE waits
	                                 * for the next change or DONE to try again */
	/* SEARCHRES (RFC 5182): the UIDs of the last SEARCH ... SAVE, for "$",
	 * ascending; always within the view (an EXPUNGE sent removes them). */
	uint32_t *saved;
	size_t n_saved;
	/* imap-sync.c's state. */
	uint32_t *pending;              /* expunged, still in the view: EXPUNGE owed
	                                 * (RFC 9051 7.5.1), ascending */
	size_t n_pending;
	uint64_t pending_modseq;        /* modseq when the first of them joined:
	                                 * below every owed expunge's MODSEQ */
	uint64_t own[IMAP_SELECTED_OWN_MAX]; /* see IMAP_SELECTED_OWN_MAX */
	size_t n_own;
	struct imap_sync_job *job;      /* a sync's job runs (never two at once) */
	/* imap_selected_send's output not yet handed to the connection. */
	struct buf *send;
	size_t send_off;
	void (*send_then)(struct imap_cmd *cmd);
};

/* Enter the selected state: a new selection of `ref` (name copied, view
 * taken over: *view is emptied), watched through the change hub on the
 * session's loop. Returns NULL, taking nothing, when the watch cannot be
 * made. */
struct imap_selected *imap_selected_new(struct imap_session *s, const struct store_mailbox_ref *ref,
					const char *name, bool readonly, struct store_view *view,
					uint32_t first_recent);

/* The UIDs a command's set names, ascending and known to the session:
 * message numbers (cmd->uid false) or UIDs (true; "$" included). A
 * message number out of range is an error (false, with a BAD reply's text
 * in *why_r); a UID that does not exist is skipped (RFC 9051 6.4.9). */
bool imap_selected_uids(struct imap_session *s, const struct imap_arg *set, bool uid,
			uint32_t **uids_r, size_t *n_r, const char **why_r);
/* The message number of a UID the session knows, or 0; imap_view_seq
 * the same in any view (binary search). */
uint32_t imap_selected_seq(const struct imap_selected *sel, uint32_t uid);
uint32_t imap_view_seq(const struct store_view *v, uint32_t uid);

/* Before a UID command acts: read messages that arrived since the view
 * was made and send their EXISTS (allowed at any time), so that a UID the
 * client learnt elsewhere (its own APPENDUID, another session) works, as
 * iOS and macOS Mail expect. then(cmd) runs after. */
void imap_selected_catch_up(struct imap_cmd *cmd, void (*then)(struct imap_cmd *cmd));

/* The session's own flag change (STORE), already written by the store:
 * record it in the view (flags as store_view_flags makes them) so that
 * no other update repeats it. */
void imap_selected_flags_set(struct imap_selected *sel, uint32_t uid, unsigned flags,
			     uint64_t modseq);

/* The HIGHESTMODSEQ the session may be told: sel->modseq, or while
 * expunges are owed one below theirs (RFC 7162 3.2: a client that keeps
 * it and loses the connection before their VANISHED must still learn of
 * them at its next QRESYNC). */
uint64_t imap_selected_modseq(const struct imap_selected *sel);

/* Whether `modseq` is one of the session's own STOREs not yet passed by
 * a sync (sel->own). */
bool imap_selected_own(const struct imap_selected *sel, uint64_t modseq);

/* Whether a message of the view is \Recent for this (rev1) session. */
bool imap_selected_recent(const struct imap_session *s, uint32_t uid);

/* Owed updates, then done(cmd): called by imap_cmd_done before the tagged
 * reply; no EXPUNGE when `no_expunge`. The store is read when the hub
 * said the mailbox changed, or always for IMAP_CMD_SYNC commands. When
 * the mailbox is gone (deleted by another session), the client gets
 * "* BYE", the connection closes and done is never called: the session
 * frees the command at the close. The same holds for catch_up. */
void imap_sync(struct imap_cmd *cmd, bool no_expunge, void (*done)(struct imap_cmd *cmd));
/* The hub reported a change of the selected mailbox: inside IDLE the
 * updates go out at once (cmd-idle.c); otherwise nothing (the next
 * command's reply carries them). */
void imap_idle_changed(struct imap_session *s);

/* Send *out (taken over; *out becomes NULL) to the client at the pace it
 * reads: pieces while the output is below its high-water mark, the rest
 * from cmd->drained; then then(cmd). A STORE over 100,000 messages, or
 * their EXPUNGEs, never crosses the connection's hard output cap. One at
 * a time per session. */
void imap_selected_send(struct imap_cmd *cmd, struct buf **out, void (*then)(struct imap_cmd *cmd));

/* How a session reads the untagged updates (imap_update_write). */
enum imap_update_mode {
	IMAP_UPDATE_EXPUNGE = 1 << 0,   /* expunges may be told now */
	IMAP_UPDATE_REV1 = 1 << 1,      /* IMAP4rev1: \Recent, RECENT */
	IMAP_UPDATE_MODSEQ = 1 << 2,    /* CONDSTORE on: FETCH carries MODSEQ (RFC 7162 3.1.4) */
	IMAP_UPDATE_VANISHED = 1 << 3,  /* QRESYNC on: VANISHED, not EXPUNGE (RFC 7162 3.2.10.2) */
};
/* The mode bits of a session (all but IMAP_UPDATE_EXPUNGE). */
unsigned imap_update_mode(const struct imap_session *s);

/* The untagged updates (imap-update.c, no I/O): fold what the store says
 * changed since sel->modseq into the view and write the responses owed.
 * expunged (ascending) join sel->pending; they are told, and the
 * messages leave the view, only with IMAP_UPDATE_EXPUNGE: EXPUNGE lines
 * (highest number first, so each number is right when it is read), or
 * one VANISHED with IMAP_UPDATE_VANISHED; then FETCH (UID n FLAGS ...
 * [MODSEQ (m)]) for messages whose flags another session changed (not
 * the MODSEQs in sel->own); then EXISTS for new messages (and RECENT for
 * rev1, where `recent_from` is the \Recent watermark store_recent_take
 * gave for them, 0 when not taken). `mode`: enum imap_update_mode bits. */
void imap_update_write(struct imap_selected *sel, const struct store_message *changed,
		       size_t n_changed, const uint32_t *expunged, size_t n_expunged,
		       unsigned mode, uint32_t recent_from, struct buf *out);
/* Expunged UIDs the session learnt without a sync (its own EXPUNGE,
 * MOVE) into sel->pending, as imap_update_write takes them. */
void imap_update_pending(struct imap_selected *sel, const uint32_t *expunged, size_t n);
/* The \Recent messages of the view (rev1 RECENT). */
uint32_t imap_update_recent_count(const struct imap_selected *sel);

/* Sharing the view (imap-view-share.c). imap_view_share: the view is
 * exactly the mailbox at sel->modseq (after SELECT, or a sync that left
 * no EXPUNGE owed); when another session has the same bytes for the same
 * mailbox and MODSEQ, read its copy instead of this one (which is freed),
 * else offer this one to the sessions that come next. imap_view_private:
 * before changing the view, make it this session's own again (a copy).
 * imap_view_unshare: let go of a shared view (the arrays become NULL).
 * On the session's loop; the registry is locked. */
void imap_view_share(struct imap_selected *sel, const char *address);
void imap_view_private(struct imap_selected *sel);
void imap_view_unshare(struct imap_selected *sel);

/* Leave the selected state (CLOSE, UNSELECT, SELECT of another mailbox,
 * logout): the watch is removed and the view freed. */
void imap_selected_free(struct imap_selected **sel);

#endif
