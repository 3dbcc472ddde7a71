/* hub - the change hub: tells every session, on any I/O thread, what
 * another session or a delivery changed in a mailbox.
 *
 * The store calls hub_notify() after each committed change; watchers get a
 * copy of the change on their own loop (loop_post), so a callback runs on
 * the thread of the session that registered it. A change costs the
 * watches it reaches (and the account's watched mailboxes), however many
 * other watches there are: 10,000 sessions in IDLE on 1,000 accounts are
 * not scanned for one delivery. */
#ifndef TERN_STORE_HUB_H
#define TERN_STORE_HUB_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct hub_watch;

enum hub_change_kind {
	HUB_CHANGE_APPEND,     /* new message(s) */
	HUB_CHANGE_FLAGS,      /* flags or keywords changed */
	HUB_CHANGE_EXPUNGE,    /* message(s) removed */
	HUB_CHANGE_MAILBOX,    /* mailbox created, deleted or renamed */
	HUB_CHANGE_ACCOUNT,    /* the account's store may have been taken away
				* (`tern user del`): mailbox NULL, mailbox_id 0 */
	HUB_CHANGE__COUNT
};

/* "append", "flags", "expunge", "mailbox", "account" (logs, and the changes another
 * process forwards: root-control.h); NULL for a value out of range. */
const char *hub_change_kind_name(enum hub_change_kind kind);

struct hub_change {
	const char *address;   /* the account */
	const char *mailbox;   /* its name after the change (for a delete: before);
				* NULL for a change another process made */
	int64_t mailbox_id;    /* the mailbox's row id (store_mailbox_ref) */
	uint32_t uidvalidity;
	enum hub_change_kind kind;
	uint64_t modseq;       /* the mailbox's HIGHESTMODSEQ after the change */
};

/* Watch an account's mailbox by id (store_mailbox_ref.id; 0: every
 * mailbox). HUB_CHANGE_MAILBOX (create, delete, rename: one change per
 * mailbox affected) and HUB_CHANGE_ACCOUNT go to every watch of the
 * account. A deleted
 * mailbox's row id may be taken again by a later one: a watcher compares
 * change->uidvalidity with its ref's. cb(arg, change)
 * runs on `loop` (or, with loop NULL, synchronously in the notifying thread:
 * for tests and tools). `change` is valid only during the call. Thread-safe. */
struct hub_watch *hub_watch_add(const char *address, int64_t mailbox_id,
				struct loop *loop,
				void (*cb)(void *arg, const struct hub_change *change),
				void *arg);
/* After this returns, cb is never called again. Call on the watch's loop. */
void hub_watch_remove(struct hub_watch **watch);

/* Report a committed change. Returns how many watches it went to.
 * Thread-safe, never blocks on I/O. */
size_t hub_notify(const struct hub_change *change);

#endif
