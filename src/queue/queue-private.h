/* queue-private - what the files of src/queue share: the queue object,
 * a message being received, and the calls between the receiving side,
 * the pool of pre-created files, the committer, the worker (the queue's
 * own loop) and local delivery. Nothing outside src/queue includes it. */
#ifndef TERN_QUEUE_QUEUE_PRIVATE_H
#define TERN_QUEUE_QUEUE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/space-floor.h"
#include "mail/mail-dsn.h"
#include "mail/mail-srs.h"
#include "queue/queue-db.h"
#include "queue/queue-envelope.h"
#include "queue/queue-schedule.h"
#include "queue/queue.h"
#include "store/store.h"

/* The envelope's extended attribute on the message file. */
#define QUEUE_XATTR "user.tern.envelope"
/* What a message keeps in memory before it goes to its temporary file. */
#define QUEUE_MEMORY_MAX (256u * 1024)
/* Headers tern adds (Return-Path, Received, later DKIM-Signature) on top
 * of [limits] message_size. */
#define QUEUE_HEADERS_MAX (64u * 1024)

/* A message being received (queue_msg_begin .. the end of its commit). */
struct queue_msg {
	struct queue *queue;
	struct queue_record rec;   /* id, arrival; size is set when written */
	bool pooled;               /* msg/ID exists already: a pool file */
	char *prefix;              /* queue_msg_prepend's fields, or NULL */
	size_t prefix_len;
	char *mem;                 /* what is not in the temporary file yet */
	size_t mem_len, mem_cap;
	int tmp_fd;                /* tmp/ID, or -1 */
	uint64_t tmp_len;
	uint64_t total;            /* bytes added */
	enum queue_error error;    /* a failure so far: the commit reports it */
	void (*done)(void *arg, enum queue_error error);
	void *arg;
	struct queue_msg *next;    /* in the committer's list */
	/* during its commit round (queue-file.c) */
	int fd;                    /* msg/ID, written */
	int env_fd;                /* env/ID when the envelope did not fit the xattr */
	bool created;              /* the round created msg/ID: its folder needs an fsync */
	bool written;              /* msg/ID holds data of this message (remove it on failure) */
};

struct queue_pool {
	pthread_mutex_t lock;
	char (*ids)[QUEUE_ID_LEN + 1];
	size_t n, cap;
};

struct queue_committer;
struct queue_worker;
struct queue_relay;

struct queue {
	const struct config *cfg;
	struct store_root *store;
	struct dir *dir;
	char *path;                /* DATA/queue */
	int dir_fd, msg_fd, env_fd, tmp_fd;
	struct queue_db *db;
	uint64_t message_max;      /* bytes a message may take: message_size + headers */
	struct queue_schedule schedule;  /* [queue] retries, expiry, delay warning */
	struct mail_srs srs;       /* the key of DATA/srs.key (queue-srs.c) */
	bool srs_on;               /* [queue] srs, and the key was read */
	atomic_bool accepting;     /* false once closing */

	struct space_floor space;   /* [limits] min_free_space */
	struct queue_pool pool;
	struct queue_committer *committer;
	struct queue_worker *worker;
	struct queue_handles *handles;
	struct queue_relay *relay;  /* outbound delivery, or NULL (queue-relay.c) */

	/* counters of queue_stats */
	atomic_uint_fast64_t n_rounds, n_committed, n_indexed, n_fsyncs, n_delivered, n_deferred,
		n_finished, commit_ns;
};

/* queue-pool.c: ids and pre-created files. */
/* A new random id (QUEUE_ID_LEN characters of [A-Z2-7], NUL-terminated). */
void queue_id_new(char id[QUEUE_ID_LEN + 1]);
/* Take a pool file's id (true), or make a fresh id whose file does not
 * exist yet (false). Never blocks on the disk. */
bool queue_pool_take(struct queue *q, char id[QUEUE_ID_LEN + 1]);
/* Give an unused pool file back. */
void queue_pool_put(struct queue *q, const char *id);
/* Whether the pool wants a refill. */
bool queue_pool_low(struct queue *q);
/* Create files until the pool holds its target, with one fsync of msg/.
 * Blocking. Returns 0, or -1 (logged). */
int queue_pool_refill(struct queue *q);
void queue_pool_init(struct queue_pool *pool);
void queue_pool_free(struct queue_pool *pool);

/* queue-file.c: the message file and its envelope. */
/* Write m's final file (Return-Path, then its bytes) and its envelope,
 * not yet synced: m->fd (and m->env_fd) stay open for the round's fsyncs.
 * QUEUE_OK, or the error (logged; the round removes what was written). */
enum queue_error queue_file_write(struct queue *q, struct queue_msg *m);
/* Close what the round opened for m and, unless kept, remove what it
 * wrote. Also removes m's temporary file. */
void queue_file_release(struct queue *q, struct queue_msg *m, bool keep);
/* Read the envelope of msg/ID (open as fd): 0 with *rec_r filled; 1 when
 * the file has none; -1 on a broken or unreadable one (logged). */
int queue_file_envelope(struct queue *q, const char *id, int fd, struct queue_record *rec_r);
/* A message delivered everywhere, or removed: its envelope first (the
 * file may be shared with mailboxes), then the file, then its rows. */
void queue_file_finish(struct queue *q, const char *id);
/* Errors of the file system as the receiving side's errors. */
enum queue_error queue_error_from_errno(int err);

/* queue-commit.c: the group commit. */
int queue_committer_start(struct queue *q, char **error_r);
/* Finish every message handed over, then stop; a message handed over
 * later fails at once (QUEUE_ERR_IO). Free it after the worker stopped. */
void queue_committer_stop(struct queue *q);
void queue_committer_free(struct queue *q);
void queue_committer_add(struct queue *q, struct queue_msg *m);

/* queue-worker.c: the queue's own loop thread: dispatching delivery jobs
 * to the thread pool, the retry timer, scans of queue.db, pool refills. */
int queue_worker_start(struct queue *q, char **error_r);
/* Let running jobs finish, drop what waits (it stays queued), stop. */
void queue_worker_stop(struct queue *q);
/* Something changed (deliveries waiting, a scan or a refill wanted):
 * thread-safe, never blocks. */
void queue_worker_kick(struct queue *q);
/* Ask for a scan of queue.db for due recipients (after a flush, a
 * release, or a retry time). Thread-safe. */
void queue_worker_rescan(struct queue *q);
/* Ask for a pool refill. Thread-safe. */
void queue_worker_refill(struct queue *q);

/* queue-active.c: the messages whose local recipients are being
 * delivered, and the recipients waiting per account. One lock; it is
 * taken before queue.db's (never the other way), so that a scan of
 * queue.db and the update of the set are one step. */
struct queue_active;
struct queue_active *queue_active_new(void);
void queue_active_free(struct queue_active **active);
void queue_active_lock(struct queue_active *active);
void queue_active_unlock(struct queue_active *active);
/* Under the lock: local recipient idx of the message (its DSN NOTIFY bits
 * with it) is due. Added unless it is in flight already. */
void queue_active_add(struct queue_active *active, const char *id, uint64_t size,
		      int64_t arrival, unsigned idx, const char *address, unsigned notify);

/* One local recipient handed to a delivery job. */
struct queue_entry {
	struct queue_item *item;
	unsigned idx;
	unsigned notify;           /* enum queue_notify bits: a success is reported only when asked */
	char *address;
	struct queue_entry *next;
};
/* A message with recipients in flight. */
struct queue_item {
	char id[QUEUE_ID_LEN + 1];
	uint64_t size;
	int64_t arrival;
	unsigned *inflight;
	size_t n_inflight, cap;
	bool held, removed;
	/* under the lock: a try's record found no recipient left
	 * (queue_db_result none_left) */
	bool none_left;
	struct queue_item *hnext;
};
/* Under the lock: the item of an id in flight, or NULL. */
struct queue_item *queue_active_find(struct queue_active *active, const char *id);
/* Under the lock: take up to `max` waiting entries of one account that
 * has none in a job (the account is then running); NULL when none. */
struct queue_entry *queue_active_take(struct queue_active *active, size_t max,
				      const char **address_r);
/* Under the lock: the job of that account has ended. */
void queue_active_account_done(struct queue_active *active, const char *address);
/* Under the lock: the entry's try is over; returns its item when that was
 * its last entry in flight (then no longer in the set: the caller frees
 * it with queue_item_free after finishing it). Frees the entry. */
struct queue_item *queue_active_entry_done(struct queue_active *active, struct queue_entry *e);
void queue_item_free(struct queue_item *item);
/* Under the lock: drop every waiting entry (closing). */
void queue_active_drop_waiting(struct queue_active *active);

/* queue-handles.c: store handles kept open between delivery jobs, each
 * until QUEUE_HANDLE_IDLE_MS without use, at most QUEUE_HANDLES_MAX (and
 * one per 32 descriptors of RLIMIT_NOFILE: a handle holds five). get and
 * put pair up; get, put and expire may block (opening and closing
 * accounts). Thread-safe. */
#define QUEUE_HANDLES_MAX 128
#define QUEUE_HANDLE_IDLE_MS 5000
struct queue_handles;
struct queue_handles *queue_handles_new(struct store_root *root);
void queue_handles_free(struct queue_handles **handles);
enum store_error queue_handles_get(struct queue_handles *handles, const char *address,
				   struct store_account **acct_r);
void queue_handles_put(struct queue_handles *handles, struct store_account *acct);
/* Close the handles idle for long enough; whether any is still open. */
bool queue_handles_expire(struct queue_handles *handles);

/* queue-deliver.c: one account's entries into its store (the entries
 * are freed), the recipients that expired failed, and the reports their
 * results ask for (queue_report). Returns the earliest retry time it
 * set, 0 for none. */
int64_t queue_deliver_run(struct queue *q, struct queue_active *active, const char *address,
			  struct queue_entry *entries);

/* queue-report.c: Delivery Status Notifications. One recipient of a
 * queued message to report on: its index in the envelope and what
 * became of it (mail/mail-dsn.h). */
struct queue_report_rcpt {
	unsigned idx;
	enum mail_dsn_action action;
	const char *status;          /* RFC 3463 code, or NULL */
	const char *remote_mta;      /* NULL for local delivery */
	const char *diagnostic_type; /* "smtp", "X-tern", or NULL */
	const char *diagnostic;
	int64_t last_attempt;
};
/* Report on recipients of message `id` (its file and envelope still in
 * the queue) to its sender, as their NOTIFY asks (none given: FAILURE and
 * DELAY), in one report queued from <>: delivered locally at once when
 * the sender is local. A recipient's delay warning is sent once; after
 * a FAILED recipient's report (or when none is due: NOTIFY=NEVER, the
 * null sender) its final report is marked in queue.db, so that the
 * message can finish. Blocking. 0, or -1 when it must be tried again
 * (the queue or the directory failed; logged). */
int queue_report(struct queue *q, const char *id, const struct queue_report_rcpt *rcpts,
		 size_t n);
/* Report the failed recipients that are local (or remote) of messages
 * that arrived before `before` whose report a crash or an error kept from
 * being queued (at most QUEUE_REPORT_SCAN_MAX), except those of the
 * messages skip[0..n_skip) (in flight: their own try reports them), with
 * the status, server and diagnostic their failure recorded, and finish
 * the messages that are then done with. The queue's first scan does it
 * for local recipients (of the messages older than the start), each of
 * the relay's scans for remote ones. Returns how many could not be
 * queued now (they stay unreported). Blocking. */
#define QUEUE_REPORT_SCAN_MAX 1000
unsigned queue_report_unreported(struct queue *q, bool local, int64_t before,
				 const char (*skip)[QUEUE_ID_LEN + 1], size_t n_skip);
/* The RFC 3463 status of a local delivery's error ("no such account":
 * 5.1.1, "mailbox over quota": 4.2.2, ...; 4.3.0 for the others). */
const char *queue_local_status(const char *error);

/* queue-srs.c: read DATA/srs.key, or make it (with [queue] srs on).
 * Blocking. 0, or -1 with a malloc'd *error_r (a broken key file). */
int queue_srs_open(struct queue *q, char **error_r);

/* queue-relay.c: remote recipients are due now: those of messages that
 * arrived at `since` or later (a commit round: the scan need not read
 * the rest of the queue again), or any (0: a flush, a release);
 * thread-safe, never blocks; nothing once the relay's loop stops. Free
 * the relay after its loop ended (queue_close). */
void queue_relay_kick(struct queue *q, int64_t since);
void queue_relay_free(struct queue *q);

/* queue-rebuild.c: make queue.db agree with the files, fill the pool. */
int queue_rebuild(struct queue *q, char **error_r);

/* The worker's active set, for administration and the committer. */
struct queue_active *queue_worker_active(struct queue *q);

int64_t queue_now(void);

/* How long closing waits for the committer's rounds and the running
 * deliveries (a hung disk): then the process exits, as the core does with
 * jobs that outlive their deadline. */
#define QUEUE_STOP_WAIT_S 10
/* Join a thread of the queue, bounded by QUEUE_STOP_WAIT_S. */
void queue_thread_join(pthread_t thread, const char *what);

#endif
