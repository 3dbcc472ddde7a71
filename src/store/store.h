/* store - one account's message store: DATA/mail/DOMAIN/LOCAL/index.db
 * (SQLite, WAL, synchronous=FULL) plus immutable message files.
 *
 * Message files hold the message exactly as served (CRLF line ends), so a
 * message's size is its file's size. A copy shares the file. index.db holds
 * mailboxes (name, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special use, the
 * counts of messages, unseen, deleted and octets, the \Recent
 * watermark), messages (UID, flags, keywords, MODSEQ, internal date,
 * size, file, SHA-256 digest of the bytes), expunged UIDs with their
 * MODSEQ (for the expunge horizon), subscriptions, the keywords used per mailbox and a structure
 * cache per file. Mailbox names are UTF-8 (as IMAP4rev2 has them), '/'
 * separates levels. A mailbox is named for a lookup and addressed by a
 * ref (struct store_mailbox_ref) once selected.
 *
 * Every function here is blocking (file and SQLite I/O): on an I/O thread
 * call it only from a job (conn_job). Every change is reported to the
 * change hub (hub.h) after it is committed.
 *
 * A struct store_account may be used by several threads at once: each
 * call on it runs under the handle's mutex, so calls on one account are
 * serialised. That costs little, since SQLite lets one writer at a time
 * into a database anyway; what is slow and needs no index (reading a
 * message, writing a streamed append) runs outside the mutex. */
#ifndef TERN_STORE_STORE_H
#define TERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct store_account;
struct store_append;
struct store_reader;
struct store_root;

enum store_error {
	STORE_OK,
	STORE_ERR_NOT_FOUND,   /* no such mailbox or message */
	STORE_ERR_EXISTS,      /* mailbox already exists */
	STORE_ERR_INVALID,     /* bad name, bad argument */
	STORE_ERR_TOO_BIG,     /* message over the size limit */
	STORE_ERR_LOCKED,      /* held by another session (store_lock) */
	STORE_ERR_IO,          /* disk or database error; detail is logged */
	STORE_ERR_CORRUPT,     /* index inconsistent with files; detail is logged */
	STORE_ERR_NO_SPACE,    /* the disk (or the file system's quota) is full */
	STORE_ERR_GONE,        /* the mailbox of a ref was deleted or renamed away
				* (or recreated: another UIDVALIDITY); for
				* store_account_get_again, the account */
	STORE_ERR_HAS_CHILDREN, /* delete of a mailbox with children (NO [HASCHILDREN]) */
	STORE_ERR__COUNT
};
const char *store_error_name(enum store_error error);

/* System flags, stored as a bit set. (\Recent is per IMAP session.) */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};

enum store_special {
	STORE_SPECIAL_NONE,
	STORE_SPECIAL_DRAFTS,
	STORE_SPECIAL_SENT,
	STORE_SPECIAL_JUNK,
	STORE_SPECIAL_TRASH,
	STORE_SPECIAL_ARCHIVE,
	STORE_SPECIAL__COUNT
};
/* "\Drafts" ... or NULL for NONE (RFC 6154). */
const char *store_special_attr(enum store_special special);

/* A mailbox as a session holds it once selected: its row id and the
 * UIDVALIDITY it had. Every call on a selected mailbox takes one and
 * answers STORE_ERR_GONE when the row is gone or has another UIDVALIDITY,
 * so a session never reads or changes a mailbox created, or renamed, under
 * the old name (a RENAME keeps id and UIDVALIDITY: the ref follows it). */
struct store_mailbox_ref {
	int64_t id;
	uint32_t uidvalidity;
};

struct store_mailbox {
	int64_t id;                /* ref: { id, uidvalidity } */
	char *name;                /* "INBOX", "Sent", "Archive/2026" (separator '/') */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	enum store_special special;
	bool subscribed;           /* store_mailbox_list only (subscriptions table) */
	bool has_children;         /* store_mailbox_list only: some mailbox is NAME/... */
	/* Maintained by the index (triggers), never counted per call. */
	uint32_t messages;         /* count */
	uint32_t unseen;           /* messages without \Seen */
	uint32_t deleted;          /* messages with \Deleted */
	uint64_t size;             /* octets */
	uint32_t recent;           /* messages at or above the \Recent watermark
				    * (STATUS RECENT; a range of the UID index) */
};

struct store_message {
	uint32_t uid;
	unsigned flags;            /* enum store_flag bits */
	char *keywords;            /* space-separated, NULL when none */
	uint64_t modseq;
	int64_t internal_date;     /* seconds since the epoch */
	uint64_t size;             /* octets, exactly what is served */
};

/* The store of a data folder, for the server: sessions and deliveries
 * get their accounts from it. Opening keeps the path only (accounts are
 * opened when asked for). After store_root_close no get succeeds
 * (STORE_ERR_INVALID); handles still held then (a job the server stops
 * without) stay usable, and the last put frees the root. */
enum store_error store_root_open(const char *data_dir, struct store_root **root_r);
void store_root_close(struct store_root **root);
/* Keep a handle open `seconds` after its last put (the server's
 * [server] account_linger), so that a client that logs in again finds
 * the account open; a thread of the root closes it then, and
 * store_root_close closes what lingers. Call once, before the first get;
 * 0 (the default) closes at the last put. */
enum store_error store_root_linger(struct store_root *root, unsigned seconds);
/* Close the account's handle now if it only lingers (nobody holds it):
 * `tern user del` asks for this through the control socket before it
 * takes the account's folder. Returns whether one was closed. Blocking. */
bool store_root_release(struct store_root *root, const char *address);
/* The free-space floor of the data folder's file system ([limits]
 * min_free_space; 0, the default, = none): below it store_append_begin
 * answers STORE_ERR_NO_SPACE (IMAP's OVERQUOTA), as the queue refuses
 * SMTP's MAIL. Deliveries from the queue and expunges are not refused:
 * the queue's files are on the floor's side already. */
void store_root_set_min_free(struct store_root *root, uint64_t min_free);
/* [store] expunge_horizon: seconds an expunged UID is remembered for
 * QRESYNC (store_expunged_since); 0 = forever. Without a call, and for
 * accounts from store_open, 30 days. Call before the first get. */
void store_root_set_expunge_horizon(struct store_root *root, unsigned seconds);
/* Whether the data folder has at least the floor free (a statvfs at most
 * once a second). Thread-safe. */
bool store_root_has_space(struct store_root *root);

/* The account's handle, shared: while any caller holds it, every
 * store_account_get of the same address (any case) returns the same
 * handle, with one SQLite connection, one lock and one msg/ descriptor.
 * The first get opens it as store_open does (a caller that asks while
 * it opens, or while its last holder closes it, waits); the last put
 * closes it. Each get is paired with one store_account_put, which sets
 * *acct to NULL. An open that fails (STORE_ERR_IO) while handles linger
 * closes those and tries once more: they may hold the last descriptors.
 * Thread-safe. */
enum store_error store_account_get(struct store_root *root, const char *address,
				   struct store_account **acct_r);
/* The handle again for a caller that had one from store_account_get and
 * gave it back (an idle IMAP session), only if the account's store is
 * still the incarnation `id` (store_account_id of the handle it had):
 * STORE_ERR_GONE when the account's folder or its index.db is gone (the
 * account was deleted: `tern user del`) or holds another incarnation
 * (deleted and added again under the same address). It never creates a
 * folder or a file. An open that waits for a removal holding the folder
 * (store_remove_begin) answers STORE_ERR_GONE once it has moved it away.
 * Paired with store_account_put like store_account_get. Thread-safe. */
enum store_error store_account_get_again(struct store_root *root, const char *address,
					 uint64_t id, struct store_account **acct_r);
void store_account_put(struct store_account **acct);
/* The incarnation of the account's store: a random 64-bit id, never 0,
 * made with its index.db and kept by every open of it (a copy of the
 * folder moves the account and keeps it); an account deleted and added
 * again under the same address gets another. */
uint64_t store_account_id(const struct store_account *acct);

/* Open an account's store, creating its folder (0700), index.db (0600) and
 * the mailboxes INBOX, Drafts, Sent, Junk, Trash, Archive on first use. A
 * store left by a crash is repaired here (orphan files removed, missing
 * files reported and dropped from the index). The handle is the
 * caller's own, shared with nobody (the admin commands, tests); close it
 * with store_close. */
enum store_error store_open(const char *data_dir, const char *address,
			    struct store_account **acct_r);
void store_close(struct store_account **acct);
/* The caller keeps the account open but will not use it for a while (a
 * logged-in session going idle): give back the memory SQLite caches for
 * it, and the structure parts the handle keeps. Costs a re-read from the
 * OS page cache next time. */
void store_release_memory(struct store_account *acct);
/* The account's folder: DATA/mail/DOMAIN/LOCAL */
const char *store_path(const struct store_account *acct);

/* Mailboxes, ordered by name, with subscribed and has_children; free
 * with store_mailboxes_free. */
enum store_error store_mailbox_list(struct store_account *acct,
				    struct store_mailbox **boxes_r, size_t *n_r);
/* One mailbox by name (SELECT, STATUS, APPEND and COPY destinations):
 * the ref is { box_r->id, box_r->uidvalidity }. subscribed and
 * has_children are not filled. Free with store_mailbox_free. */
enum store_error store_mailbox_get(struct store_account *acct, const char *name,
				   struct store_mailbox *box_r);
/* Create a mailbox, and its missing superiors as ordinary mailboxes
 * (RFC 9051 6.3.4). STORE_ERR_EXISTS when it exists (INBOX in any case). */
enum store_error store_mailbox_create(struct store_account *acct, const char *name,
				      enum store_special special);
/* Delete a mailbox (RFC 9051 6.3.5): INBOX is refused (STORE_ERR_INVALID),
 * one with children STORE_ERR_HAS_CHILDREN. Its messages go (files no
 * other message shares are unlinked), its subscription stays (6.3.7). */
enum store_error store_mailbox_delete(struct store_account *acct, const char *name);
/* Rename a mailbox and its children ("a" -> "b": "a/x" -> "b/x"), keeping
 * ids and UIDVALIDITY, creating missing superiors of the new name.
 * STORE_ERR_EXISTS when the new name, or a child's, exists;
 * STORE_ERR_NOT_FOUND when old does not. RENAME INBOX (RFC 9051 6.3.6)
 * creates `new` (new id, new UIDVALIDITY), moves every INBOX message into
 * it and leaves INBOX empty; INBOX's children stay. One transaction.
 * Subscriptions are not renamed. */
enum store_error store_mailbox_rename(struct store_account *acct, const char *old_name,
				      const char *new_name);
void store_mailbox_free(struct store_mailbox *box);
void store_mailboxes_free(struct store_mailbox *boxes, size_t n);

/* Subscriptions (RFC 9051 6.3.7), by name: a name that does not exist may
 * be subscribed, and a subscription outlives its mailbox. Subscribing
 * twice is STORE_OK; unsubscribing a name not subscribed is
 * STORE_ERR_NOT_FOUND. The list is ordered by name; free it with
 * store_names_free. */
enum store_error store_subscribe(struct store_account *acct, const char *name, bool on);
enum store_error store_subscriptions(struct store_account *acct, char ***names_r, size_t *n_r);
void store_names_free(char **names, size_t n);

/* The keywords ever used in a mailbox (append, copy or move into it, flag
 * changes), sorted, for FLAGS and PERMANENTFLAGS; free with
 * store_names_free. At most STORE_MAILBOX_KEYWORDS_MAX per mailbox: a
 * change that would add more fails with STORE_ERR_INVALID (NO [LIMIT]). */
#define STORE_MAILBOX_KEYWORDS_MAX 100
enum store_error store_mailbox_keywords(struct store_account *acct,
					const struct store_mailbox_ref *ref,
					char ***kw_r, size_t *n_r);

/* Messages of a mailbox in UID order (POP3, export: a whole load; IMAP
 * uses store_view_load and store_messages_get); free with
 * store_messages_free. */
enum store_error store_message_list(struct store_account *acct,
				    const struct store_mailbox_ref *ref,
				    struct store_message **msgs_r, size_t *n_r);
void store_messages_free(struct store_message *msgs, size_t n);

/* A compact view of a mailbox for SELECT: no heap object per message,
 * two arrays of n entries (one malloc each; NULL when n is 0). A
 * message's byte holds its enum store_flag bits and STORE_VIEW_KEYWORDS
 * when it has keywords (FETCH FLAGS looks keywords up for those only);
 * store_view_flags makes the byte. */
#define STORE_VIEW_KEYWORDS (1u << 5)
uint8_t store_view_flags(unsigned flags, const char *keywords);
struct store_view {
	uint32_t n;
	uint32_t *uids;            /* ascending */
	uint8_t *flags;            /* enum store_flag bits | STORE_VIEW_KEYWORDS per message */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};
enum store_error store_view_load(struct store_account *acct, const struct store_mailbox_ref *ref,
				 struct store_view *view_r);
void store_view_free(struct store_view *view);

/* Messages by UID (FETCH, SEARCH: in batches). out (the caller's, n
 * entries) gets in out[i] the message uids[i], or uid 0 when there is
 * none. The entries' keywords are malloc'd: a malloc'd out is freed
 * whole with store_messages_free(out, n). */
enum store_error store_messages_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				    const uint32_t *uids, size_t n, struct store_message *out);

/* Reading many messages in turn (SEARCH's text keys, in batches): one
 * read transaction finds the file and the cached structure blob
 * (store_structure_get's) of every message of the batch; each message's
 * reader is then opened without asking the index again. uids: n UIDs
 * (at most STORE_SCAN_MAX; the array must outlive the scan). A UID the
 * mailbox no longer holds (at the scan, or when its reader is opened) has
 * no reader: STORE_ERR_NOT_FOUND. Blocking. */
#define STORE_SCAN_MAX 1024
struct store_scan;
enum store_error store_scan_open(struct store_account *acct, const struct store_mailbox_ref *ref,
				 const uint32_t *uids, size_t n, struct store_scan **scan_r);
/* The cached structure of the i-th message (valid until the scan is
 * freed; *len_r its length), or NULL when none is cached. */
const void *store_scan_structure(const struct store_scan *scan, size_t i, size_t *len_r);
/* A reader of the i-th message's file (as store_reader_open gives). */
enum store_error store_scan_reader(const struct store_scan *scan, size_t i,
				   struct store_reader **reader_r);
void store_scan_free(struct store_scan **scan);

/* What changed since `modseq` (change notifications, QRESYNC):
 * changed_r the messages with MODSEQ > modseq in UID order (new ones
 * included; free with store_messages_free), expunged_r the UIDs expunged
 * with MODSEQ > modseq, ascending (free()), and the mailbox's
 * HIGHESTMODSEQ. Indexed: never a scan of the mailbox. Expunges older
 * than the expunge horizon (store_expunged_since) are forgotten: for a
 * modseq the horizon has passed, expunged_r lists only the expunges
 * still remembered (a live session's modseq is never that old; a
 * resynchronising client asks store_expunged_since, which says so). */
enum store_error store_changes_since(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint64_t modseq,
				     struct store_message **changed_r, size_t *n_changed_r,
				     uint32_t **expunged_r, size_t *n_expunged_r,
				     uint64_t *highestmodseq_r);

/* The expunge horizon: an expunged UID is remembered (with its MODSEQ)
 * for the account's expunge_horizon ([store] expunge_horizon), then
 * pruned; the mailbox keeps the highest MODSEQ pruned. QRESYNC (RFC 7162
 * 3.2.5.1, 3.2.6): *uids_r (free(); NULL when none) the UIDs expunged
 * with MODSEQ > modseq, ascending, read from the MODSEQ index (never a
 * scan of the mailbox). *complete_r is true when that list is every
 * expunge since modseq, false when the horizon has passed modseq (some
 * expunges in between were pruned: the caller treats every UID the
 * client knows and the mailbox no longer holds as vanished). */
enum store_error store_expunged_since(struct store_account *acct, const struct store_mailbox_ref *ref,
				      uint64_t modseq, uint32_t **uids_r, size_t *n_r,
				      bool *complete_r);

/* \Recent for IMAP4rev1 (RFC 3501 2.3.2): the first session to select a
 * mailbox after a message arrived is the one that sees it \Recent. Sets
 * the mailbox's watermark to UIDNEXT, atomically, and returns the old
 * one: messages with uid >= *first_recent_r are \Recent for the caller. */
enum store_error store_recent_take(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t *first_recent_r);
/* The watermark without moving it: EXAMINE MUST NOT take \Recent away
 * (RFC 3501 6.3.2). */
enum store_error store_recent_peek(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t *first_recent_r);

/* A cache entry per message file (the MIME structure src/mail computes;
 * opaque bytes here): copies share it, it goes with the file. It is in
 * parts, so that a FETCH of the strings it sends as they are reads those
 * alone. */
enum store_structure_part {
	STORE_STRUCTURE_TREE,           /* the part tree (mail_structure_serialize) */
	STORE_STRUCTURE_BODYSTRUCTURE,  /* the sealed strings (mail_structure_string_seal) */
	STORE_STRUCTURE_BODY,
	STORE_STRUCTURE_ENVELOPE,
	STORE_STRUCTURE__COUNT
};
struct store_blob {
	const void *data;
	size_t len;
};
/* All parts of one entry together at most. */
#define STORE_STRUCTURE_MAX (16u * 1024 * 1024)
/* get: the tree of one message; STORE_ERR_NOT_FOUND when none (or no
 * such message), *data_r malloc'd. */
enum store_error store_structure_get(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint32_t uid, void **data_r, size_t *len_r);
/* put: every part (an empty one is {NULL, 0} or {"", 0}), replacing what
 * was there. */
enum store_error store_structure_put(struct store_account *acct, const struct store_mailbox_ref *ref,
				     uint32_t uid, const struct store_blob parts[STORE_STRUCTURE__COUNT]);
/* A FETCH batch in one read (a range scan when the batch is dense):
 * out[i] gets the row of uids[0..n) (ascending) as store_messages_get
 * gives it (uid 0 for one gone), and for each message found, in UID
 * order, cb(ctx, i, parts, held) is called with the parts of its cache
 * entry that `mask` names (bits 1u << part): the others, and every part
 * of a message without an entry, are {NULL, 0}. cb runs under the
 * account's lock with the parts pointing into SQLite's row or the
 * handle's memory, valid only during the call (no copy is made for it):
 * it keeps a copy of what it needs and calls nothing of the store. It
 * returns whether the parts checked out: those the handle then keeps in
 * memory (bounded), and hands over again with `held` true (checked
 * before, they need no check again); a batch whose parts are all held
 * reads the message rows alone. On error out[] is as store_messages_get
 * leaves it. */
typedef bool store_structure_cb(void *ctx, size_t i,
				const struct store_blob parts[STORE_STRUCTURE__COUNT], bool held);
enum store_error store_messages_get_structures(struct store_account *acct,
					       const struct store_mailbox_ref *ref,
					       const uint32_t *uids, size_t n, unsigned mask,
					       struct store_message *out, store_structure_cb *cb,
					       void *ctx);

/* Append a message held in memory. Durable before it returns STORE_OK: the
 * file and its folder are fsync'd and the index transaction committed.
 * internal_date 0 means now. *uid_r (may be NULL) gets the new UID. */
enum store_error store_append(struct store_account *acct, const char *mailbox,
			      const void *data, size_t len, unsigned flags,
			      const char *keywords, int64_t internal_date, uint32_t *uid_r);

/* Append a message written in pieces (large messages, imports). Bare LF
 * line ends are written as given: convert before writing when needed.
 * commit is durable like store_append and frees the handle; abort removes
 * the partial file. */
enum store_error store_append_begin(struct store_account *acct, const char *mailbox,
				    struct store_append **ap_r);
enum store_error store_append_write(struct store_append *ap, const void *data, size_t len);
enum store_error store_append_commit(struct store_append **ap, unsigned flags,
				     const char *keywords, int64_t internal_date,
				     uint32_t *uid_r);
void store_append_abort(struct store_append **ap);
/* Whether the append's mailbox already holds a message with exactly the
 * bytes written so far (same SHA-256 digest, same size), for importers
 * that must not duplicate mail on a re-run: they ask before committing
 * and abort when *present_r is true. Every appended message has its digest
 * recorded; messages stored before digests existed get theirs computed
 * here on first need (only those of the same size). Not atomic with the
 * commit: two concurrent imports of one message may both store it. */
enum store_error store_append_present(struct store_append *ap, bool *present_r);

/* Appends in bulk (`tern import`): many messages per index transaction
 * and one fsync of msg/ per batch, where store_append_commit costs three
 * device flushes per message. A message is written with
 * store_append_begin/write as usual, then handed to a batch with
 * store_batch_add instead of being committed: nothing of it is visible,
 * durable or to be reported until store_batch_commit returns. The commit
 * fsyncs every file of the batch (concurrently), renames them into place,
 * fsyncs msg/ once, then adds every row in one transaction
 * (synchronous=FULL). A crash at any point leaves either the whole batch
 * or none of it in the index (files without a row are removed by the
 * next open's repair). IMAP APPEND and delivery keep their one-message
 * calls. The batch holds each pending message's file open: keep batches
 * to STORE_BATCH_MAX messages (store_batch_add says when it is full). */
#define STORE_BATCH_MAX 256
struct store_batch;
/* STORE_ERR_IO (logged) when its sync threads cannot start. */
enum store_error store_batch_new(struct store_account *acct, struct store_batch **batch_r);
/* Take over *ap (set to NULL in every case), with what the message is
 * stored with (want_uid 0: the next UID; else at least the mailbox's
 * UIDNEXT when committed). When its mailbox already holds the same bytes
 * (as store_append_present tells), or a message pending in the batch
 * does, *present_r is true and the message is dropped. STORE_ERR_INVALID
 * for bad keywords, STORE_ERR_IO for a failed append (both dropped).
 * *full_r (may be NULL): the batch should be committed now. */
enum store_error store_batch_add(struct store_batch *b, struct store_append **ap,
				 unsigned flags, const char *keywords, int64_t internal_date,
				 uint32_t want_uid, bool *present_r, bool *full_r);
/* Messages pending (added since the last commit). */
size_t store_batch_count(const struct store_batch *b);
/* What became of a pending message, in the order added. */
struct store_batch_result {
	uint32_t uid;               /* its UID when error is STORE_OK */
	enum store_error error;     /* STORE_ERR_EXISTS: want_uid below UIDNEXT */
};
/* Commit the pending messages (results: store_batch_count entries) and
 * empty the batch. STORE_OK when the transaction committed (then each
 * result says what became of its message); else the error that stopped
 * it, also in every result: none of them was stored. */
enum store_error store_batch_commit(struct store_batch *b, struct store_batch_result *results);
/* Drop what is pending (its files removed) and free the batch. */
void store_batch_free(struct store_batch **b);

/* Local delivery: a message that already exists as a file (the queue's
 * immutable file, already durable) enters a mailbox without being written
 * again. The file is hard-linked into the account's msg/ folder (it must
 * be on the same file system: the queue and the mail are both under DATA;
 * EXDEV is refused, logged as such), the folder is fsync'd, and the index
 * row, which records `queue_id`, is committed (synchronous=FULL) before
 * STORE_OK. Idempotent: when the mailbox already holds a message with
 * that queue id, its UID is returned with STORE_OK and nothing is added,
 * so a crash between a delivery and the queue's record of it never
 * delivers twice. The hub is told after the commit.
 *
 * `size` is the file's size in octets: the message is stored exactly as
 * the file holds it (CRLF line ends, every header the queue added), so
 * its size as served (POP3 LIST, IMAP RFC822.SIZE, quota) is the number
 * of bytes the queue wrote; a file of another size, or one that is not a
 * regular file, is refused (STORE_ERR_INVALID). queue_id: 1 to
 * STORE_QUEUE_ID_MAX bytes. */
#define STORE_QUEUE_ID_MAX 128
enum store_error store_deliver(struct store_account *acct, const char *mailbox, int dirfd,
			       const char *name, uint64_t size, unsigned flags,
			       int64_t internal_date, const char *queue_id, uint32_t *uid_r);

/* Several messages for one account in one transaction and one fsync of
 * msg/ (messages that arrive together enter the index together). Each
 * item is delivered as by store_deliver, with its own result in `error`
 * and `uid`. Returns STORE_OK when the transaction committed (then each
 * item's error says what happened to it: STORE_OK, delivered or found
 * there already; STORE_ERR_NOT_FOUND, no such mailbox or file;
 * STORE_ERR_INVALID; STORE_ERR_IO), else the error that stopped it, also
 * set in every item: nothing was delivered. */
struct store_delivery {
	const char *mailbox;
	int dirfd;                 /* the file's folder (the queue's) */
	const char *name;          /* the file, in dirfd */
	uint64_t size;             /* the file's size */
	unsigned flags;            /* enum store_flag bits */
	int64_t internal_date;     /* 0: now */
	const char *queue_id;
	uint32_t uid;              /* out */
	enum store_error error;    /* out */
};
enum store_error store_deliver_batch(struct store_account *acct, struct store_delivery *items,
				     size_t n);

/* The octets an account's mailboxes hold, for quota checks.
 * store_account_used asks an open handle. store_account_usage asks the
 * root: from the account's handle when someone holds it open, else from
 * its index.db opened read-only, so that asking (say, at every RCPT)
 * never opens, repairs or closes the account, which costs fsyncs; an
 * account never opened holds 0. Blocking. */
enum store_error store_account_used(struct store_account *acct, uint64_t *used_r);
enum store_error store_account_usage(struct store_root *root, const char *address,
				     uint64_t *used_r);
/* The one quota rule (SMTP's RCPT, the queue's delivery, IMAP APPEND):
 * whether `size` more octets fit an account holding `used` under `quota`
 * (0 = unlimited). */
bool store_quota_allows(uint64_t quota, uint64_t used, uint64_t size);
/* The same asked of an open account: STORE_OK, STORE_ERR_NO_SPACE when
 * the message does not fit (IMAP's OVERQUOTA), or the error of asking.
 * Blocking. */
enum store_error store_account_room(struct store_account *acct, uint64_t quota, uint64_t size);

/* Read a message's bytes. The open looks the message up in the index
 * (blocking, from a job). read returns the next bytes in order, pread
 * the bytes at `offset` (without moving read's position): bytes read, 0
 * at or past the end, -1 on error (errno). Both block while the disk
 * reads, so call them from a job; a loop hands store_reader_fd() to
 * conn_send_file(), which reads inline only what the page cache holds.
 * The descriptor stays the reader's: store_reader_close closes it. */
enum store_error store_reader_open(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t uid, struct store_reader **reader_r);
ssize_t store_reader_read(struct store_reader *reader, void *buf, size_t len);
ssize_t store_reader_pread(const struct store_reader *reader, void *buf, size_t len,
			   uint64_t offset);
int store_reader_fd(const struct store_reader *reader);
uint64_t store_reader_size(const struct store_reader *reader);
void store_reader_close(struct store_reader **reader);

enum store_flag_op {
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
	STORE_FLAGS_REPLACE,
};
/* Whether s[0..len) is a keyword the store keeps: an IMAP flag-keyword
 * (RFC 9051 9: an atom, 7-bit, no atom-specials; not a \system flag) of
 * at most 128 bytes. No I/O. */
bool store_keyword_valid(const char *s, size_t len);

/* What a flag update changed in one message: its new flags, keywords
 * (NULL when none) and MODSEQ. */
struct store_flag_change {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
};
/* Change flags/keywords of the given UIDs (missing UIDs are skipped).
 * Every message the call changes gets the same new MODSEQ (RFC 7162 3.1:
 * one per command). changes_r (may be NULL) lists only the messages
 * whose flags or keywords changed, in the order of uids; free with
 * store_flag_changes_free. */
enum store_error store_flags_update(struct store_account *acct, const struct store_mailbox_ref *ref,
				    const uint32_t *uids, size_t n, enum store_flag_op op,
				    unsigned flags, const char *keywords,
				    struct store_flag_change **changes_r, size_t *n_changes_r);
/* STORE (UNCHANGEDSINCE n), RFC 7162 3.1.3: store_flags_update, in the
 * same one transaction, except that a message whose MODSEQ is above
 * unchangedsince is left alone and its UID listed in *modified_r
 * (ascending, free(); NULL when none). The others change as
 * store_flags_update changes them, all with one new MODSEQ. A MODSEQ is
 * at least 1, so UNCHANGEDSINCE 0 changes nothing and lists every
 * message of uids that exists. Missing UIDs are in neither list. */
enum store_error store_flags_update_unchanged(struct store_account *acct,
					      const struct store_mailbox_ref *ref,
					      const uint32_t *uids, size_t n, enum store_flag_op op,
					      unsigned flags, const char *keywords,
					      uint64_t unchangedsince,
					      struct store_flag_change **changes_r, size_t *n_changes_r,
					      uint32_t **modified_r, size_t *n_modified_r);
void store_flag_changes_free(struct store_flag_change *changes, size_t n);

/* Remove the given UIDs whatever their flags (POP3), record them as
 * expunged with one new MODSEQ, and delete files no other message shares.
 * Durable before it returns. */
enum store_error store_expunge(struct store_account *acct, const struct store_mailbox_ref *ref,
			       const uint32_t *uids, size_t n);
/* IMAP EXPUNGE: remove, in one transaction, those messages that have
 * \Deleted now, of the given UIDs (UID EXPUNGE) or of all (uids NULL, n
 * 0). *expunged_r (free()) gets the UIDs removed, ascending. */
enum store_error store_expunge_deleted(struct store_account *acct, const struct store_mailbox_ref *ref,
				       const uint32_t *uids, size_t n,
				       uint32_t **expunged_r, size_t *n_r);

/* Copy UIDs to another mailbox (by name), sharing files; flags, keywords
 * and internal date travel. new_uids_r (n entries, may be NULL) gets the
 * new UIDs in the same order, 0 for a source UID that does not exist
 * (skipped) or repeats an earlier one. STORE_ERR_NOT_FOUND only when dest does not exist
 * ([TRYCREATE]). */
enum store_error store_copy(struct store_account *acct, const struct store_mailbox_ref *ref,
			    const uint32_t *uids, size_t n, const char *dest,
			    uint32_t *new_uids_r);
/* MOVE (RFC 6851): a copy and the expunge of the sources, in one
 * transaction (the expunge takes one MODSEQ in the source). Same
 * arguments and results as store_copy. */
enum store_error store_move(struct store_account *acct, const struct store_mailbox_ref *ref,
			    const uint32_t *uids, size_t n, const char *dest,
			    uint32_t *new_uids_r);

/* In-process exclusive lock on an account for a purpose ("pop3"): the POP3
 * maildrop lock of RFC 1939 section 8. STORE_ERR_LOCKED when held.
 * Thread-safe. */
struct store_lock;
enum store_error store_lock(const char *address, const char *purpose, struct store_lock **lock_r);
void store_unlock(struct store_lock **lock);

/* Taking an account's mail away when the account is deleted (remove.c),
 * so that an account added later under the same address starts empty.
 *
 * store_remove_begin takes DATA/mail/DOMAIN/LOCAL exclusively (the flock
 * every open handle holds shared): STORE_ERR_LOCKED when a session or an
 * import has it open, and then nothing must change. While the handle is
 * held, a store_open of the account waits. An account without a folder
 * gives a handle too (commit then does nothing).
 *
 * store_remove_commit moves the folder, in one rename, to
 * DATA/mail/DOMAIN/.deleted/LOCAL.YYYYMMDDTHHMMSSZ with `keep`, else to
 * DATA/mail/DOMAIN/.deleting/... (with .2, .3, ... when taken): no
 * account folder can start with '.'. It then releases the lock and,
 * unless `keep`, removes the moved folder; what a crash leaves in
 * .deleting is removed by the next store_remove_begin in the domain. *where_r gets the
 * moved folder's path (malloc'd) when it is still there (keep, or a
 * removal that failed), else NULL. Frees the handle.
 *
 * store_remove_abort releases the handle and changes nothing. */
/* The space reserve (reserve.c): `tern serve` keeps DATA/space.reserve,
 * 8 MiB of allocated blocks, so that a full disk does not stop users from
 * deleting mail. store_expunge that fails with STORE_ERR_NO_SPACE gives
 * the reserve up (store_reserve_release) and tries once more, then makes
 * it again when the disk has room (store_reserve_restore). Without
 * store_reserve_init (the admin commands) there is no reserve.
 * Thread-safe. */
void store_reserve_init(const char *data_dir);
bool store_reserve_release(void);
void store_reserve_restore(void);

struct store_removal;
enum store_error store_remove_begin(const char *data_dir, const char *address,
				    struct store_removal **rm_r);
enum store_error store_remove_commit(struct store_removal **rm, bool keep, char **where_r);
void store_remove_abort(struct store_removal **rm);

#endif
