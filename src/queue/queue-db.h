/* queue-db - DATA/queue/queue.db: the queue's index and the delivery
 * state of every recipient, through the db layer (WAL, synchronous=NORMAL:
 * a commit waits for no fsync; the files are the truth, and the open
 * rebuilds the index from them).
 *
 * A struct queue_db is used by several threads (the committer, delivery
 * jobs, administration); every function runs its statements under the
 * handle's mutex, as one transaction where it changes several rows.
 * Blocking: never on an I/O loop. */
#ifndef TERN_QUEUE_QUEUE_DB_H
#define TERN_QUEUE_QUEUE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/db.h"
#include "queue/queue.h"

struct queue_db;
struct queue_record;
struct queue_schedule;

/* Open (creating) FOLDER/queue.db and bring its schema up to date. On
 * error returns it with a malloc'd *error_r. */
enum db_result queue_db_open(const char *folder, struct queue_db **qdb_r, char **error_r);
void queue_db_close(struct queue_db **qdb);

/* Insert the messages (each recipient queued) in one transaction; a
 * message already there is left as it is. */
enum db_result queue_db_insert(struct queue_db *qdb, struct queue_record *const *recs, size_t n);

/* Every message id in the index, for the rebuild; with done_only, only
 * those with no recipient left (none that queue_db_undelivered counts).
 * cb may not use qdb. */
enum db_result queue_db_ids(struct queue_db *qdb, bool done_only,
			    void (*cb)(void *ctx, const char *id), void *ctx);
/* Whether the index has the message. */
enum db_result queue_db_exists(struct queue_db *qdb, const char *id, bool *found_r);
/* Delete a message and its recipients (no row: DB_OK). *found_r (may be
 * NULL) says whether there was one. One that fails (a full disk) is
 * tried again at the next delete or queue_db_delete_again (the scans
 * call it). */
enum db_result queue_db_delete(struct queue_db *qdb, const char *id, bool *found_r);
void queue_db_delete_again(struct queue_db *qdb);

/* What became of one recipient's try. */
struct queue_db_result {
	const char *id;
	unsigned idx;
	enum queue_state state;   /* DELIVERED, DEFERRED or FAILED */
	const char *error;        /* DEFERRED, FAILED: why */
	int64_t arrival;          /* the message's, for the schedule */
	/* DEFERRED, FAILED, for a report made later (queue_db_unreported):
	 * the RFC 3463 status (NULL: the local one of the error), the server
	 * that answered (or NULL), and whether error is its reply */
	const char *status;
	const char *remote_mta;
	bool remote;
	/* set by queue_db_record for a DELIVERED result: the message had no
	 * recipient left (as queue_db_undelivered counts) once the
	 * transaction's changes were made, so that whoever finishes it need
	 * not ask queue_db_undelivered */
	bool none_left;
};
/* Record results in one transaction; a recipient no longer there (its
 * message removed meanwhile) is skipped. A DEFERRED result leaves a held
 * recipient held (the try started before the hold); a FAILED one ends
 * it (its report is sent). A DEFERRED result's
 * next try is queue_schedule_next() of its attempts so far, plus this one.
 * *next_try_r gets the earliest next try of the DEFERRED results, 0 when
 * there is none. */
enum db_result queue_db_record(struct queue_db *qdb, struct queue_db_result *results,
			       size_t n, int64_t now, const struct queue_schedule *sched,
			       int64_t *next_try_r);

/* The reports sent for a recipient (the column `reported`, schema 2):
 * its delay warning, and the report of its final failure (or the finding
 * that none was due: NOTIFY=NEVER, the null sender). A failed recipient
 * whose final report is marked counts as done for the message. */
#define QUEUE_REPORTED_DELAY 1u
#define QUEUE_REPORTED_FINAL 2u
enum db_result queue_db_reported(struct queue_db *qdb, const char *id, unsigned idx,
				 unsigned *bits_r);
/* Add `bits` to the recipients idx[0..n) of the message, in one
 * transaction. */
enum db_result queue_db_mark_reported(struct queue_db *qdb, const char *id,
				      const unsigned *idx, size_t n, unsigned bits);
/* Failed recipients that are local (or not) of messages that arrived
 * before `before` whose final report was not sent (a crash or an error
 * came between), at most `limit`; cb may not use qdb. */
struct queue_db_unreported {
	const char *id;
	unsigned idx;
	const char *error;        /* the last try's, or NULL */
	const char *status;       /* as recorded with it (queue_db_result), or NULL */
	const char *remote_mta;
	bool remote;
};
enum db_result queue_db_unreported(struct queue_db *qdb, bool local, int64_t before,
				   size_t limit,
				   void (*cb)(void *ctx, const struct queue_db_unreported *u),
				   void *ctx);

/* Recipients of the message not yet done with: neither delivered nor
 * failed with its final report marked. */
enum db_result queue_db_undelivered(struct queue_db *qdb, const char *id, unsigned *n_r);

/* A recipient due for a try: queued, or deferred with next_try <= now;
 * local ones go to the delivery jobs, the others to the relay
 * (queue-relay.c). */
struct queue_db_due {
	const char *id;
	unsigned idx;
	const char *address;
	uint64_t size;
	int64_t arrival;
	unsigned notify;          /* the recipient's DSN NOTIFY bits (schema 2; 0 before) */
};
/* At most `limit` (0: no limit) due recipients that are local (or
 * not), of messages that arrived at `since` or later (0: all), oldest
 * messages first, each given to cb until it returns false; cb may not
 * use qdb. *n_r counts those given. */
enum db_result queue_db_due(struct queue_db *qdb, bool local, int64_t now, int64_t since,
			    size_t limit, bool (*cb)(void *ctx, const struct queue_db_due *due),
			    void *ctx, size_t *n_r);
/* The earliest next_try after now of a deferred recipient that is local
 * (or not), 0 when there is none. */
enum db_result queue_db_next_try(struct queue_db *qdb, bool local, int64_t now, int64_t *when_r);

/* Administration; *changed_r counts the recipients changed. A message
 * that is not there: DB_OK with *found_r false. */
/* hold: queued and deferred recipients become held. */
enum db_result queue_db_hold(struct queue_db *qdb, const char *id, bool *found_r,
			     unsigned *changed_r);
/* release: held recipients become queued, due now. */
enum db_result queue_db_release(struct queue_db *qdb, const char *id, bool *found_r,
				unsigned *changed_r);
/* flush: deferred recipients of the message (id NULL: of every message)
 * become due now. */
enum db_result queue_db_flush(struct queue_db *qdb, const char *id, bool *found_r,
			      unsigned *changed_r);

/* `tern queue list`: every message, oldest first, with its recipients. */
enum db_result queue_db_list(struct queue_db *qdb,
			     void (*cb)(void *ctx, const struct queue_list_message *msg), void *ctx);

#endif
