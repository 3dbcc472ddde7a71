/* store-private - what the files of src/store share and nobody else sees:
 * the account handle, the database result mapping, and the calls import
 * needs to keep a source's UIDVALIDITY and UIDs. */
#ifndef TERN_STORE_STORE_PRIVATE_H
#define TERN_STORE_STORE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/db.h"
#include "store/hub.h"
#include "store/store.h"

/* Longest address (RFC 5321 4.5.3.1.3 path, without the brackets). */
#define STORE_ADDRESS_MAX 254
/* Largest message accepted: sizes are 32-bit numbers in IMAP. */
#define STORE_MESSAGE_MAX ((uint64_t)UINT32_MAX)
/* Message files live in this folder of the account folder. */
#define STORE_MSG_DIR "msg"
/* Temporary files (being written) carry this prefix in STORE_MSG_DIR. */
#define STORE_TMP_PREFIX "tmp."

enum store_account_state {
	STORE_ACCOUNT_OPENING,   /* its first caller is opening it */
	STORE_ACCOUNT_OPEN,
	STORE_ACCOUNT_CLOSING,   /* its last caller is closing it */
};

struct store_pending;

/* Mailboxes per handle whose views are kept (message-view.c): SELECT
 * copies one instead of reading the mailbox's rows, after reading only
 * what changed since it was made. */
#define STORE_VIEWS_CACHED 4
struct store_view_cached {
	int64_t box_id;            /* 0: a free slot */
	struct store_view view;    /* at view.highestmodseq */
	uint64_t used;             /* views_clock at the last use: the oldest goes */
};

struct store_account {
	struct db *db;     /* index.db */
	char *address;     /* canonical (store_address_canon) */
	char *data_dir;    /* DATA */
	char *path;        /* DATA/mail/DOMAIN/LOCAL */
	uint64_t id;       /* the store's incarnation (schema v6, store_account_id) */
	int msg_fd;        /* the open STORE_MSG_DIR folder (fsync, *at calls) */
	int lock_fd;       /* holds a shared flock while the account is open */
	/* A file was removed from msg/ while the handle was open: the clean
	 * marker waits for an fsync of msg/ (store_msg_unlink). */
	atomic_bool msg_unsynced;

	/* Every call on the handle runs under it (store_enter). */
	pthread_mutex_t mutex;
	/* Kept views, under the mutex (message-view.c). */
	struct store_view_cached views[STORE_VIEWS_CACHED];
	uint64_t views_clock;
	/* Parts of structure cache entries read lately (parts-cache.c). */
	struct store_parts_cache *parts_cache;
	/* Changes committed under the mutex, for store_leave to report. */
	struct store_pending *pending;
	size_t n_pending, cap_pending;
	/* Files no row uses since a commit under the mutex, for store_leave
	 * to unlink once it is released (store_files_unlink). */
	char **unlinks;
	size_t n_unlinks, cap_unlinks;

	/* Shared handles (root.c); root NULL: from store_open. The rest is
	 * under the root's mutex. */
	struct store_root *root;
	struct store_account *next;
	unsigned refs;
	enum store_account_state state;
	time_t idle_until;        /* refs 0 and lingering: closed from then on */
};

/* DESIGN 3: blocking work never runs on an I/O loop. The store's blocking
 * entry points (every SQL statement, opening and closing an account,
 * giving its memory back, writing a message) call this: on a loop thread
 * it logs the function and aborts, in every build, since such a call
 * stalls every session of that loop; the unit tests, which run sessions on
 * real loops, fail on it. Reading an open message (store_reader_read,
 * store_reader_pread) is one of them, since it blocks on a cold cache: a
 * loop sends a message with conn_send_file(store_reader_fd()) instead. */
void store_check_off_loop(const char *function);

/* A handle for a canonical address (taken over), not yet open. */
struct store_account *store_account_new(char *address);
/* Open it: folders, lock, index.db, repair when needed; with `create`,
 * making the folders and index.db that are missing, else answering
 * STORE_ERR_GONE (not logged) when the account's folder or its index.db
 * is not there (store_account_get_again). On failure what was opened
 * stays for store_account_unload. Blocking. */
enum store_error store_account_load(struct store_account *acct, const char *data_dir,
				    bool create);
/* Close what store_account_load opened. `clean`: its holders are done
 * with it (not a failed open). Blocking. */
void store_account_unload(struct store_account *acct, bool clean);
void store_account_free(struct store_account *acct);

/* Take the handle's mutex; store_leave gives it back and then tells the
 * hub about the changes store_notify recorded meanwhile (outside the
 * mutex, so that a watcher may use the store), then unlinks the files
 * store_files_unlink handed it. Every public call on an
 * account runs between the two; internal helpers expect it held. */
void store_enter(struct store_account *acct);
void store_leave(struct store_account *acct);

/* Free the handle's kept views (store_account_unload). */
void store_views_free(struct store_account *acct);

/* The store's error for a database result (the db layer has logged it):
 * a full disk stays STORE_ERR_NO_SPACE, a unique key STORE_ERR_EXISTS, a
 * newer schema STORE_ERR_CORRUPT, the rest STORE_ERR_IO. */
enum store_error store_db_result(enum db_result result);

/* Remove a file from msg/ (what is left is the caller's: an index row
 * going, an append or delivery failing, a repair). */
void store_msg_unlink(struct store_account *acct, const char *name);

/* A file name no other writer (thread or process) can pick: time, pid and
 * a per-process counter; out holds at least STORE_FILE_NAME_MAX bytes. */
#define STORE_FILE_NAME_MAX 96
void store_file_name(char *out, size_t outsize);

/* A message being written (message.c): the file tmp_name in msg/, to be
 * renamed to name when it is durable. */
struct store_append {
	struct store_account *acct;
	char *mailbox;
	int fd;
	bool failed;
	uint64_t size;
	EVP_MD_CTX *sha;   /* SHA-256 of the bytes written */
	char tmp_name[STORE_FILE_NAME_MAX + sizeof(STORE_TMP_PREFIX)];
	char name[STORE_FILE_NAME_MAX];
};
/* Before an append is committed: one that failed (STORE_ERR_IO) or has
 * keywords that are not valid (STORE_ERR_INVALID) is aborted; else
 * *kw_r gets the normalised keywords (malloc'd, or NULL for none). */
enum store_error store_append_ready(struct store_append **ap, const char *keywords,
				    char **kw_r);
/* Free the handle and close its file (if fd >= 0), leaving the file
 * where it is: the caller has taken it over or removed it. */
void store_append_free(struct store_append **ap);

/* A reader of the file `name` in msg/, which the index says holds `size`
 * octets: STORE_ERR_NOT_FOUND (not logged) when there is no such file,
 * STORE_ERR_CORRUPT (logged) when it has another size. Needs no index,
 * nor the handle's mutex. */
enum store_error store_reader_open_file(struct store_account *acct, const char *name,
					uint64_t size, struct store_reader **reader_r);

/* Validate a mailbox name and write its canonical form ("inbox" ->
 * "INBOX") into out. Returns false when the name is not acceptable. */
bool store_mailbox_name_canon(const char *name, char *out, size_t outsize);
#define STORE_MAILBOX_NAME_MAX 512

/* A mailbox's row as the calls inside a transaction use it. */
struct store_box {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t deleted;                        /* with \Deleted */
	char name[STORE_MAILBOX_NAME_MAX + 1];   /* canonical */
};
/* Inside a transaction (or a single read): the mailbox of a name
 * (STORE_ERR_INVALID: a bad name, STORE_ERR_NOT_FOUND), of a row id
 * (STORE_ERR_NOT_FOUND), or of a ref (STORE_ERR_GONE when the id is gone
 * or has another UIDVALIDITY). */
enum store_error store_box_by_name(struct store_account *acct, const char *name,
				   struct store_box *box_r);
enum store_error store_box_by_id(struct store_account *acct, int64_t id, struct store_box *box_r);
enum store_error store_box_by_ref(struct store_account *acct, const struct store_mailbox_ref *ref,
				  struct store_box *box_r);
/* Inside a transaction: a new, empty mailbox of a canonical name; with
 * `superiors`, the missing superiors of the name too (RFC 9051 6.3.4),
 * as ordinary mailboxes. Each one created is recorded for the hub
 * (store_notify: on a rollback, store_notify_rollback). STORE_ERR_EXISTS
 * when the name exists. */
enum store_error store_box_create(struct store_account *acct, const char *canon,
				  enum store_special special, bool superiors,
				  struct store_box *box_r);

/* A message to index (its file already durable in msg/). */
struct store_new_message {
	const struct store_box *box;  /* where it goes: uidnext is raised */
	const char *file;             /* its name in msg/ */
	uint64_t size;
	unsigned flags;
	const char *keywords;         /* normalised, or NULL */
	int64_t internal_date;        /* 0: now */
	const unsigned char *digest;  /* STORE_DIGEST_LEN bytes, or NULL: computed when needed */
	const char *queue_id;         /* delivered by the queue, or NULL */
	uint32_t want_uid;            /* 0: the next; else at least UIDNEXT (STORE_ERR_EXISTS) */
};
/* Inside a transaction: add the file's row and the message's, record its
 * keywords in the mailbox's list, and raise UIDNEXT (message.c). */
enum store_error store_message_add(struct store_account *acct, const struct store_new_message *m,
				   uint32_t *uid_r, uint64_t *modseq_r);

/* A struct store_message from a row whose first six columns are uid,
 * flags, keywords, modseq, internal_date, size (message.c). */
#define STORE_MESSAGE_COLUMNS "uid, flags, keywords, modseq, internal_date, size"
void store_message_from_row(sqlite3_stmt *stmt, struct store_message *m);
/* collect.c: step a prepared, bound statement (NULL: it failed to
 * prepare, STORE_ERR_IO) to its end and finalize it, collecting its rows:
 * as messages (STORE_MESSAGE_COLUMNS first; free with
 * store_messages_free), as UIDs (the first column; free()) or as names
 * (the first column; store_names_free). `what` names it in the log. */
enum store_error store_messages_collect(struct store_account *acct, sqlite3_stmt *stmt,
					const char *what, struct store_message **msgs_r, size_t *n_r);
enum store_error store_uids_collect(struct store_account *acct, sqlite3_stmt *stmt,
				    const char *what, uint32_t **uids_r, size_t *n_r);
enum store_error store_names_collect(struct store_account *acct, sqlite3_stmt *stmt,
				     const char *what, char ***names_r, size_t *n_r);

/* Inside a transaction: take the mailbox's next MODSEQ (HIGHESTMODSEQ+1,
 * stored). */
enum store_error store_mailbox_next_modseq(struct store_account *acct, int64_t id,
					   uint64_t *modseq_r);
/* A new UIDVALIDITY: the current time, strictly above any handed out before
 * in this account. Inside a transaction. */
enum store_error store_uidvalidity_next(struct store_account *acct, uint32_t *uidvalidity_r);
/* Open acct->path/index.db and bring its schema up to date (schema.c). */
enum store_error store_schema_open(struct store_account *acct);

/* Record a committed change of an account's mailbox, for the hub (told
 * by store_leave). Under the handle's mutex. */
void store_notify(struct store_account *acct, const struct store_box *box,
		  enum hub_change_kind kind, uint64_t modseq);
/* A transaction that recorded changes (mark: acct->n_pending before it)
 * was rolled back: forget them. */
void store_notify_rollback(struct store_account *acct, size_t mark);

/* Inside a transaction: add a normalised keyword list (NULL: none) to the
 * keywords of mailbox `box_id` (mailbox-keywords.c); STORE_ERR_INVALID
 * when that takes it past STORE_MAILBOX_KEYWORDS_MAX. */
enum store_error store_keywords_record(struct store_account *acct, int64_t box_id,
				       const char *keywords);

/* Inside a transaction (message-update.c): remove the rows of `uids` in
 * the mailbox (those that exist), record them as expunged with one new
 * MODSEQ (*modseq_r, 0 when none was there), and drop the rows of files
 * nobody uses any more: their names go into *unused_r (NULL-terminated,
 * malloc'd, for store_files_unlink after the commit). *removed_r
 * (may be NULL) gets how many rows went. */
enum store_error store_rows_expunge(struct store_account *acct, const struct store_box *box,
				    const uint32_t *uids, size_t n, uint64_t *modseq_r,
				    size_t *removed_r, char ***unused_r);
/* Inside a transaction: run one statement binding ?1 = a, ?2 = b
 * (mailbox-change.c). */
enum store_error store_exec_ids(struct store_account *acct, const char *sql, int64_t a, int64_t b);
/* The wall clock as SQL writes it (seconds since the epoch, as time()):
 * when an expunged row was recorded (expunged.expunged_at). */
#define STORE_SQL_NOW "CAST(strftime('%s', 'now') AS INTEGER)"
/* The expunge horizon of accounts opened without a root (store_open). */
#define STORE_EXPUNGE_HORIZON_DEFAULT (30u * 86400u)
/* Inside an expunge's transaction, once its rows are recorded
 * (expunge-horizon.c): forget the mailbox's expunged rows older than the
 * account's horizon, raising the mailbox's pruned_modseq to the highest
 * MODSEQ forgotten. Reads one row when there is nothing to prune. */
enum store_error store_expunged_prune(struct store_account *acct, int64_t box_id);
/* Inside a read: the mailbox's highest MODSEQ pruned (0: none). */
enum store_error store_expunged_pruned_modseq(struct store_account *acct, int64_t box_id,
					      uint64_t *modseq_r);
/* root.c: [store] expunge_horizon (store_root_set_expunge_horizon). */
unsigned store_root_expunge_horizon(const struct store_root *root);
/* Inside a transaction: drop the rows of those files (ids) that no
 * message uses any more; their names into *unused_r as above. */
enum store_error store_files_drop_unused(struct store_account *acct, const int64_t *ids,
					 size_t n, char ***unused_r);
/* After the commit, under the handle's mutex: the files of a list from
 * store_rows_expunge or store_files_drop_unused are unlinked by
 * store_leave, after the mutex is released and the hub told (removing
 * thousands of files, each a discard on some file systems, took seconds
 * in which every other caller of the account waited). The list is
 * taken (NULL: nothing); with acct NULL it is only freed. */
void store_files_unlink(struct store_account *acct, char **names);

/* Normalise a keyword list (space separated) into a sorted, unique,
 * space-separated malloc'd string, or NULL when empty. Returns false for an
 * invalid keyword. */
bool store_keywords_normalize(const char *keywords, char **out_r);

/* Message digests (message-digest.c): SHA-256 of a message's bytes. */
#define STORE_DIGEST_LEN 32
/* The digest of what was written to an append so far. */
void store_append_digest(const struct store_append *ap, unsigned char digest[STORE_DIGEST_LEN]);
/* Whether `mailbox` holds a message of `size` octets with this digest.
 * Rows of that size with no digest yet (index.db from before digests) get
 * theirs computed and stored on the way. */
enum store_error store_mailbox_has_digest(struct store_account *acct, const char *mailbox,
					  const unsigned char digest[STORE_DIGEST_LEN],
					  uint64_t size, bool *present_r);

/* Lower-cased malloc'd copy of an address whose parts can name folders
 * (DATA/mail/DOMAIN/LOCAL: neither empty, nor starting with '.', nor
 * holding '/', a backslash, ".." or a control character), or NULL. */
char *store_address_canon(const char *address);
/* The account's index, in its folder. */
#define STORE_INDEX_NAME "index.db"

/* root.c: the open handle of a canonical address, with a reference the
 * caller puts; NULL when none is open (nothing is opened). */
struct store_account *store_root_hold(struct store_root *root, const char *address);
/* root.c: the root's DATA. */
const char *store_root_data_dir(const struct store_root *root);

/* Remove leftovers of a crash; called by store_account_load while it
 * holds the account exclusively. */
enum store_error store_repair(struct store_account *acct);

/* For import: give an empty mailbox a source's UIDVALIDITY and UIDNEXT.
 * STORE_ERR_EXISTS when the mailbox holds or has held messages. */
enum store_error store_mailbox_set_uids(struct store_account *acct, const char *mailbox,
					uint32_t uidvalidity, uint32_t uidnext);
/* For import: raise a mailbox's UIDNEXT to at least uidnext. */
enum store_error store_mailbox_raise_uidnext(struct store_account *acct, const char *mailbox,
					     uint32_t uidnext);
/* Like store_append_commit, but with the UID given (want_uid 0: the next
 * one). want_uid must be >= the mailbox's UIDNEXT, else STORE_ERR_EXISTS
 * (and the append is aborted). */
enum store_error store_append_commit_uid(struct store_append **ap, unsigned flags,
					 const char *keywords, int64_t internal_date,
					 uint32_t want_uid, uint32_t *uid_r);

/* Whether uids[0..n) are ascending and dense enough that one scan of the
 * primary key over [uids[0], uids[n-1]] reads few rows it does not want
 * (FETCH 1:*, SEARCH: a batch of the view): then one statement steps
 * through them instead of one lookup per UID (message-view.c, used by
 * the message and the structure reads alike). */
bool store_uids_scan_pays(const uint32_t *uids, size_t n);

/* parts-cache.c: parts of structure cache entries kept in memory by the
 * handle, keyed by (mailbox id, UIDVALIDITY, UID), under the account's
 * mutex. At most STORE_PARTS_CACHE_MAX bytes a handle and
 * STORE_PARTS_CACHE_TOTAL for the process; past them put keeps nothing.
 * get: true when every part of `mask` is held, parts_r then pointing
 * into the cache (the others {NULL, 0}) until the next put or forget.
 * put: a copy of the parts of `mask` (*cp made on first use), replacing
 * what was held for the UID. forget: drop the UID's entry. free: all. */
#define STORE_PARTS_CACHE_MAX (16u * 1024 * 1024)
#define STORE_PARTS_CACHE_TOTAL (256u * 1024 * 1024)
struct store_parts_cache;
bool store_parts_cache_get(struct store_parts_cache *c, int64_t box_id, uint32_t uidvalidity,
			   uint32_t uid, unsigned mask, struct store_blob parts_r[STORE_STRUCTURE__COUNT]);
void store_parts_cache_put(struct store_parts_cache **cp, int64_t box_id, uint32_t uidvalidity,
			   uint32_t uid, unsigned mask,
			   const struct store_blob parts[STORE_STRUCTURE__COUNT]);
void store_parts_cache_forget(struct store_parts_cache *c, int64_t box_id, uint32_t uid);
void store_parts_cache_free(struct store_parts_cache **cp);

/* How a batch of messages by UID is read (message-view.c): the two
 * statements, both with the message columns (STORE_MESSAGE_COLUMNS)
 * first and ?1 the mailbox, scan_sql over the UIDs ?2..?3 in UID order,
 * lookup_sql for the one UID ?2; ?4 is bound to `arg`; and, when set,
 * what row() takes of each row found besides the message (i: its index
 * in the batch). The texts are literals (the statement cache's keys). */
struct store_batch_read {
	const char *scan_sql, *lookup_sql;
	int64_t arg;
	void (*row)(void *ctx, size_t i, sqlite3_stmt *stmt);
	void *ctx;
};
/* The statements of a plain batch (store_messages_get's). */
#define STORE_MESSAGES_SCAN_SQL "SELECT " STORE_MESSAGE_COLUMNS " FROM messages" \
	" WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid"
#define STORE_MESSAGES_LOOKUP_SQL "SELECT " STORE_MESSAGE_COLUMNS " FROM messages" \
	" WHERE mailbox_id = ?1 AND uid = ?2"
/* store_messages_get with `how`: one read transaction, a range scan when
 * store_uids_scan_pays, else a lookup per UID. out[] zeroed by the
 * caller; on error it is zeroed again. */
enum store_error store_messages_read(struct store_account *acct, const struct store_mailbox_ref *ref,
				     const uint32_t *uids, size_t n, struct store_message *out,
				     const struct store_batch_read *how);

#endif
