/* queue-db - queue.db: schema, the committer's inserts, the delivery
 * state of each recipient, and the administration's changes; see
 * queue-db.h. */
#include "queue/queue-db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "queue/queue-envelope.h"
#include "queue/queue-schedule.h"

/* The committer never waits long: only delivery jobs, administration and
 * `tern queue list` share the file. */
#define QUEUE_DB_BUSY_TIMEOUT_MS 30000

/* Messages whose rows a delete could not remove (queue.db could not be
 * written: a full disk) once their files were gone: every later delete
 * and scan tries them again first, so that they leave the queue once
 * there is room, not at the next start's rebuild (nothing else ends a
 * message whose recipients are all done with). At most this many are
 * remembered. */
#define QUEUE_DB_UNDELETED_MAX 4096

struct queue_db {
	struct db *db;
	pthread_mutex_t lock;
	char (*undeleted)[QUEUE_ID_LEN + 1];  /* under lock */
	size_t n_undeleted;
};

static const char *const queue_state_names[] = {
	[QUEUE_STATE_QUEUED] = "queued",
	[QUEUE_STATE_DELIVERED] = "delivered",
	[QUEUE_STATE_DEFERRED] = "deferred",
	[QUEUE_STATE_HELD] = "held",
	[QUEUE_STATE_FAILED] = "failed",
};
_Static_assert(sizeof(queue_state_names) / sizeof(queue_state_names[0]) == QUEUE_STATE__COUNT,
	       "queue_state_names must cover enum queue_state");

const char *queue_state_name(enum queue_state state)
{
	if ((unsigned)state >= QUEUE_STATE__COUNT)
		return "unknown";
	return queue_state_names[state];
}

static enum queue_state queue_state_parse(const unsigned char *text)
{
	for (size_t i = 0; i < QUEUE_STATE__COUNT; i++)
		if (text != NULL && strcmp((const char *)text, queue_state_names[i]) == 0)
			return (enum queue_state)i;
	return QUEUE_STATE_QUEUED;
}

static const char queue_schema_v1[] =
	"CREATE TABLE messages(id TEXT PRIMARY KEY, sender TEXT NOT NULL,"
	" size INTEGER NOT NULL, arrival INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE rcpts(msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, address TEXT NOT NULL, local INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('queued','delivered','deferred','held','failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT, PRIMARY KEY(msg_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX rcpts_due ON rcpts(local, state, next_try);";

/* v2: which reports of a recipient were sent (QUEUE_REPORTED_* bits), and
 * its NOTIFY bits (so that a delivery knows whether to report a success
 * without reading the envelope) */
static const char queue_schema_v2[] =
	"ALTER TABLE rcpts ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rcpts ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;";

/* v3: what a failed try's report needs besides its error, so that a
 * failure recorded before its report (a crash between) is reported as
 * the relay would have: the RFC 3463 status, the server that answered,
 * and whether the error is that server's reply (an "smtp;" diagnostic) */
static const char queue_schema_v3[] =
	"ALTER TABLE rcpts ADD COLUMN status TEXT;"
	"ALTER TABLE rcpts ADD COLUMN remote_mta TEXT;"
	"ALTER TABLE rcpts ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;";

/* v4: messages by arrival, for the relay's scans of what arrived since
 * its last one (queue_db_due's `since`) */
static const char queue_schema_v4[] = "CREATE INDEX messages_arrival ON messages(arrival);";

static const struct db_migration queue_migrations[] = {
	{ .sql = queue_schema_v1 },
	{ .sql = queue_schema_v2 },
	{ .sql = queue_schema_v3 },
	{ .sql = queue_schema_v4 },
};

enum db_result queue_db_open(const char *folder, struct queue_db **qdb_r, char **error_r)
{
	const struct db_params params = {
		.service = "queue",
		.label = "db=queue.db",
		.busy_timeout_ms = QUEUE_DB_BUSY_TIMEOUT_MS,
	};
	struct queue_db *qdb = calloc(1, sizeof(*qdb));
	enum db_result r;

	*qdb_r = NULL;
	if (qdb == NULL)
		abort();
	pthread_mutex_init(&qdb->lock, NULL);
	r = db_open(folder, "queue.db", &params, &qdb->db, error_r);
	/* The files are the truth (the rebuild): a commit need not wait for
	 * the WAL's fsync. A kill -9 loses nothing committed; a power loss
	 * may lose the last commits, which the rebuild and the store's
	 * idempotent delivery make good. */
	if (r == DB_OK)
		r = db_exec(qdb->db, "PRAGMA synchronous=NORMAL", "set synchronous");
	if (r == DB_OK) {
		r = db_migrate(qdb->db, queue_migrations,
			       sizeof(queue_migrations) / sizeof(queue_migrations[0]), NULL);
		if (r != DB_OK)
			errmsg_set(error_r, "%s/queue.db: %s", folder,
				   r == DB_ERR_NEWER ? "made by a newer tern (schema version too high)"
						     : db_result_name(r));
	}
	if (r != DB_OK) {
		queue_db_close(&qdb);
		return r;
	}
	*qdb_r = qdb;
	return DB_OK;
}

void queue_db_close(struct queue_db **qdbp)
{
	struct queue_db *qdb = *qdbp;

	if (qdb == NULL)
		return;
	*qdbp = NULL;
	db_close(&qdb->db);
	pthread_mutex_destroy(&qdb->lock);
	free(qdb->undeleted);
	free(qdb);
}

/* --- helpers ----------------------------------------------------------- */

/* Several statements of one operation (from the connection's cache:
 * every text is a literal), given back together. */
#define QUEUE_DB_STMTS 4

struct queue_db_op {
	struct queue_db *qdb;
	sqlite3_stmt *stmt[QUEUE_DB_STMTS];
	bool transaction;
};

/* Lock, optionally begin, and take the statements (NULL-terminated list
 * of literals); DB_ERR_IO (unlocked) when one does not prepare. */
static enum db_result queue_db_op_start(struct queue_db_op *op, struct queue_db *qdb,
					bool transaction, const char *const *sql)
{
	enum db_result r = DB_OK;

	memset(op, 0, sizeof(*op));
	op->qdb = qdb;
	pthread_mutex_lock(&qdb->lock);
	if (transaction) {
		if ((r = db_begin(qdb->db)) != DB_OK) {
			pthread_mutex_unlock(&qdb->lock);
			return r;
		}
		op->transaction = true;
	}
	for (size_t i = 0; i < QUEUE_DB_STMTS && sql[i] != NULL; i++)
		if ((op->stmt[i] = db_stmt(qdb->db, sql[i])) == NULL)
			r = DB_ERR_IO;
	if (r != DB_OK) {
		for (size_t i = 0; i < QUEUE_DB_STMTS; i++)
			db_stmt_done(qdb->db, op->stmt[i]);
		if (transaction)
			db_rollback(qdb->db);
		pthread_mutex_unlock(&qdb->lock);
	}
	return r;
}

/* Give the statements back, commit (when r is DB_OK) or roll back, unlock. */
static enum db_result queue_db_op_end(struct queue_db_op *op, enum db_result r)
{
	for (size_t i = 0; i < QUEUE_DB_STMTS; i++)
		db_stmt_done(op->qdb->db, op->stmt[i]);
	if (op->transaction) {
		if (r == DB_OK)
			r = db_commit(op->qdb->db);
		else
			db_rollback(op->qdb->db);
	}
	pthread_mutex_unlock(&op->qdb->lock);
	return r;
}

/* Step a statement to its end and reset it. */
static enum db_result queue_db_run(struct queue_db_op *op, sqlite3_stmt *stmt, const char *what)
{
	enum db_result r = db_step(op->qdb->db, stmt, what);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return r == DB_ROW ? DB_OK : r;
}

/* --- the committer and the rebuild ------------------------------------- */

enum db_result queue_db_insert(struct queue_db *qdb, struct queue_record *const *recs, size_t n)
{
	static const char *const sql[] = {
		"INSERT OR IGNORE INTO messages(id, sender, size, arrival) VALUES(?, ?, ?, ?)",
		"INSERT OR IGNORE INTO rcpts(msg_id, idx, address, local, state, notify)"
		" VALUES(?, ?, ?, ?, 'queued', ?)",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	if (n == 0)
		return DB_OK;
	if ((r = queue_db_op_start(&op, qdb, true, sql)) != DB_OK)
		return r;
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		const struct queue_record *rec = recs[i];

		sqlite3_bind_text(op.stmt[0], 1, rec->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(op.stmt[0], 2, rec->env.sender, -1, SQLITE_STATIC);
		sqlite3_bind_int64(op.stmt[0], 3, (sqlite3_int64)rec->size);
		sqlite3_bind_int64(op.stmt[0], 4, rec->arrival);
		r = queue_db_run(&op, op.stmt[0], "insert message");
		for (size_t j = 0; j < rec->env.n_rcpts && r == DB_OK; j++) {
			sqlite3_bind_text(op.stmt[1], 1, rec->id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(op.stmt[1], 2, (sqlite3_int64)j);
			sqlite3_bind_text(op.stmt[1], 3, rec->env.rcpts[j].address, -1, SQLITE_STATIC);
			sqlite3_bind_int(op.stmt[1], 4, rec->env.rcpts[j].local);
			sqlite3_bind_int(op.stmt[1], 5, (int)rec->env.rcpts[j].notify);
			r = queue_db_run(&op, op.stmt[1], "insert recipient");
		}
	}
	return queue_db_op_end(&op, r);
}

/* A recipient not yet done with: neither delivered nor failed with its
 * final report marked (QUEUE_REPORTED_FINAL). */
#define QUEUE_DB_LEFT "state <> 'delivered' AND NOT (state = 'failed' AND (reported & 2) <> 0)"

enum db_result queue_db_ids(struct queue_db *qdb, bool done_only,
			    void (*cb)(void *ctx, const char *id), void *ctx)
{
	static const char *const all[] = { "SELECT id FROM messages", NULL };
	static const char *const done[] = {
		"SELECT id FROM messages m WHERE NOT EXISTS"
		" (SELECT 1 FROM rcpts WHERE msg_id = m.id AND " QUEUE_DB_LEFT ")",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	if ((r = queue_db_op_start(&op, qdb, false, done_only ? done : all)) != DB_OK)
		return r;
	while ((r = db_step(qdb->db, op.stmt[0], "list messages")) == DB_ROW)
		cb(ctx, (const char *)sqlite3_column_text(op.stmt[0], 0));
	return queue_db_op_end(&op, r);
}

/* Lock, prepare sql, bind id as ?1 and step once: DB_ROW or DB_OK, and op
 * is to be ended; or the failure to start (op is not open, *open_r
 * false). */
static enum db_result queue_db_step_id(struct queue_db_op *op, struct queue_db *qdb,
				       const char *sql, const char *id, const char *what,
				       bool *open_r)
{
	const char *const list[] = { sql, NULL };
	enum db_result r;

	*open_r = false;
	if ((r = queue_db_op_start(op, qdb, false, list)) != DB_OK)
		return r;
	*open_r = true;
	sqlite3_bind_text(op->stmt[0], 1, id, -1, SQLITE_STATIC);
	return db_step(qdb->db, op->stmt[0], what);
}

enum db_result queue_db_exists(struct queue_db *qdb, const char *id, bool *found_r)
{
	struct queue_db_op op;
	bool open;
	enum db_result r = queue_db_step_id(&op, qdb, "SELECT 1 FROM messages WHERE id = ?", id,
					    "find message", &open);

	*found_r = r == DB_ROW;
	return open ? queue_db_op_end(&op, r == DB_ROW ? DB_OK : r) : r;
}

static enum db_result queue_db_delete_one(struct queue_db *qdb, const char *id, bool *found_r)
{
	struct queue_db_op op;
	bool open;
	enum db_result r = queue_db_step_id(&op, qdb, "DELETE FROM messages WHERE id = ?", id,
					    "delete message", &open);

	if (found_r != NULL)
		*found_r = r == DB_OK && db_changes(qdb->db) > 0;
	r = open ? queue_db_op_end(&op, r) : r;
	if (r != DB_OK) {
		pthread_mutex_lock(&qdb->lock);
		if (qdb->n_undeleted < QUEUE_DB_UNDELETED_MAX) {
			qdb->undeleted = realloc(qdb->undeleted,
						 (qdb->n_undeleted + 1) * sizeof(*qdb->undeleted));
			if (qdb->undeleted == NULL)
				abort();
			snprintf(qdb->undeleted[qdb->n_undeleted++], QUEUE_ID_LEN + 1, "%s", id);
		}
		pthread_mutex_unlock(&qdb->lock);
	}
	return r;
}

void queue_db_delete_again(struct queue_db *qdb)
{
	char (*left)[QUEUE_ID_LEN + 1];
	size_t n;

	pthread_mutex_lock(&qdb->lock);
	left = qdb->undeleted;
	n = qdb->n_undeleted;
	qdb->undeleted = NULL;
	qdb->n_undeleted = 0;
	pthread_mutex_unlock(&qdb->lock);
	for (size_t i = 0; i < n; i++)
		(void)queue_db_delete_one(qdb, left[i], NULL);
	free(left);
}

enum db_result queue_db_delete(struct queue_db *qdb, const char *id, bool *found_r)
{
	queue_db_delete_again(qdb);
	return queue_db_delete_one(qdb, id, found_r);
}

/* --- delivery ---------------------------------------------------------- */

enum db_result queue_db_record(struct queue_db *qdb, struct queue_db_result *results,
			       size_t n, int64_t now, const struct queue_schedule *sched,
			       int64_t *next_try_r)
{
	static const char *const sql[] = {
		"UPDATE rcpts SET state = 'delivered', last_error = NULL, attempts = attempts + 1"
		" WHERE msg_id = ? AND idx = ?",
		/* held during its try: a deferral keeps it held, a failure
		 * (reported next) ends it */
		"UPDATE rcpts SET state = CASE WHEN state = 'held' AND ?3 = 'deferred' THEN 'held'"
		" ELSE ?3 END,"
		" attempts = attempts + 1, next_try = ?4, last_error = ?5, status = ?6,"
		" remote_mta = ?7, remote = ?8 WHERE msg_id = ?1 AND idx = ?2",
		"SELECT attempts FROM rcpts WHERE msg_id = ? AND idx = ?",
		/* whether the message has no recipient left (queue_db_undelivered) */
		"SELECT NOT EXISTS (SELECT 1 FROM rcpts WHERE msg_id = ? AND " QUEUE_DB_LEFT ")",
	};
	struct queue_db_op op;
	enum db_result r;

	*next_try_r = 0;
	if (n == 0)
		return DB_OK;
	if ((r = queue_db_op_start(&op, qdb, true, sql)) != DB_OK)
		return r;
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		struct queue_db_result *res = &results[i];
		unsigned attempts = 0;
		int64_t next = 0;

		res->none_left = false;
		if (res->state == QUEUE_STATE_DELIVERED) {
			sqlite3_bind_text(op.stmt[0], 1, res->id, -1, SQLITE_STATIC);
			sqlite3_bind_int(op.stmt[0], 2, (int)res->idx);
			r = queue_db_run(&op, op.stmt[0], "record a delivery");
			continue;
		}
		sqlite3_bind_text(op.stmt[2], 1, res->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(op.stmt[2], 2, (int)res->idx);
		r = db_step(qdb->db, op.stmt[2], "read attempts");
		if (r == DB_ROW)
			attempts = (unsigned)sqlite3_column_int(op.stmt[2], 0);
		sqlite3_reset(op.stmt[2]);
		/* DB_OK: removed meanwhile, nothing to record; an error ends it */
		if (r != DB_ROW)
			continue;
		sqlite3_bind_text(op.stmt[1], 1, res->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(op.stmt[1], 2, (int)res->idx);
		sqlite3_bind_text(op.stmt[1], 3, queue_state_name(res->state), -1, SQLITE_STATIC);
		if (res->state == QUEUE_STATE_DEFERRED) {
			next = queue_schedule_next(sched, res->arrival, attempts + 1, now);
			if (*next_try_r == 0 || next < *next_try_r)
				*next_try_r = next;
		}
		sqlite3_bind_int64(op.stmt[1], 4, next);
		sqlite3_bind_text(op.stmt[1], 5, res->error, -1, SQLITE_STATIC);
		sqlite3_bind_text(op.stmt[1], 6, res->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(op.stmt[1], 7, res->remote_mta, -1, SQLITE_STATIC);
		sqlite3_bind_int(op.stmt[1], 8, res->remote);
		r = queue_db_run(&op, op.stmt[1], "record a failed try");
	}
	/* After every change of the transaction: a later result of the
	 * same message counts too. */
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		if (results[i].state != QUEUE_STATE_DELIVERED)
			continue;
		sqlite3_bind_text(op.stmt[3], 1, results[i].id, -1, SQLITE_STATIC);
		r = db_step(qdb->db, op.stmt[3], "count recipients left");
		results[i].none_left = r == DB_ROW && sqlite3_column_int(op.stmt[3], 0) != 0;
		sqlite3_reset(op.stmt[3]);
		r = r == DB_ROW ? DB_OK : r;
	}
	if ((r = queue_db_op_end(&op, r)) != DB_OK)
		for (size_t i = 0; i < n; i++)
			results[i].none_left = false;   /* not committed */
	return r;
}

enum db_result queue_db_undelivered(struct queue_db *qdb, const char *id, unsigned *n_r)
{
	struct queue_db_op op;
	bool open;
	enum db_result r = queue_db_step_id(&op, qdb, "SELECT count(*) FROM rcpts WHERE msg_id = ?"
					    " AND " QUEUE_DB_LEFT, id, "count undelivered recipients",
					    &open);

	*n_r = r == DB_ROW ? (unsigned)sqlite3_column_int(op.stmt[0], 0) : 0;
	return open ? queue_db_op_end(&op, r == DB_ROW ? DB_OK : r) : r;
}

enum db_result queue_db_due(struct queue_db *qdb, bool local, int64_t now, int64_t since,
			    size_t limit, bool (*cb)(void *ctx, const struct queue_db_due *due),
			    void *ctx, size_t *n_r)
{
	static const char *const sql[] = {
		"SELECT r.msg_id, r.idx, r.address, m.size, m.arrival, r.notify FROM rcpts r"
		" JOIN messages m ON m.id = r.msg_id WHERE r.local = ?1 AND"
		" (r.state = 'queued' OR (r.state = 'deferred' AND r.next_try <= ?2))"
		" ORDER BY m.arrival, r.msg_id, r.idx LIMIT ?3",
		/* since: the messages first (CROSS JOIN keeps that order), by
		 * their arrival's index, each one's rows by its key (+: not by
		 * rcpts_due), so that the cost is what arrived since, not the
		 * whole queue */
		"SELECT r.msg_id, r.idx, r.address, m.size, m.arrival, r.notify FROM messages m"
		" CROSS JOIN rcpts r ON r.msg_id = m.id WHERE m.arrival >= ?4 AND +r.local = ?1 AND"
		" (r.state = 'queued' OR (r.state = 'deferred' AND r.next_try <= ?2))"
		" ORDER BY m.arrival, r.msg_id, r.idx LIMIT ?3",
		NULL,
	};
	struct queue_db_op op;
	sqlite3_stmt *st;
	enum db_result r;

	*n_r = 0;
	if ((r = queue_db_op_start(&op, qdb, false, sql)) != DB_OK)
		return r;
	st = op.stmt[since > 0 ? 1 : 0];
	sqlite3_bind_int(st, 1, local);
	sqlite3_bind_int64(st, 2, now);
	/* LIMIT -1: none */
	sqlite3_bind_int64(st, 3, limit > 0 ? (sqlite3_int64)limit : -1);
	if (since > 0)
		sqlite3_bind_int64(st, 4, since);
	while ((r = db_step(qdb->db, st, "find due recipients")) == DB_ROW) {
		struct queue_db_due due = {
			.id = (const char *)sqlite3_column_text(st, 0),
			.idx = (unsigned)sqlite3_column_int(st, 1),
			.address = (const char *)sqlite3_column_text(st, 2),
			.size = (uint64_t)sqlite3_column_int64(st, 3),
			.arrival = sqlite3_column_int64(st, 4),
			.notify = (unsigned)sqlite3_column_int(st, 5),
		};

		if (due.id != NULL && due.address != NULL) {
			(*n_r)++;
			if (!cb(ctx, &due)) {
				r = DB_OK;
				break;
			}
		}
	}
	return queue_db_op_end(&op, r);
}

enum db_result queue_db_next_try(struct queue_db *qdb, bool local, int64_t now, int64_t *when_r)
{
	static const char *const sql[] = {
		"SELECT min(next_try) FROM rcpts WHERE local = ? AND state = 'deferred'"
		" AND next_try > ?",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	*when_r = 0;
	if ((r = queue_db_op_start(&op, qdb, false, sql)) != DB_OK)
		return r;
	sqlite3_bind_int(op.stmt[0], 1, local);
	sqlite3_bind_int64(op.stmt[0], 2, now);
	r = db_step(qdb->db, op.stmt[0], "find the next retry");
	if (r == DB_ROW) {
		*when_r = sqlite3_column_int64(op.stmt[0], 0);
		r = DB_OK;
	}
	return queue_db_op_end(&op, r);
}

enum db_result queue_db_reported(struct queue_db *qdb, const char *id, unsigned idx,
				 unsigned *bits_r)
{
	static const char *const sql[] = {
		"SELECT reported FROM rcpts WHERE msg_id = ? AND idx = ?",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	*bits_r = 0;
	if ((r = queue_db_op_start(&op, qdb, false, sql)) != DB_OK)
		return r;
	sqlite3_bind_text(op.stmt[0], 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(op.stmt[0], 2, (int)idx);
	r = db_step(qdb->db, op.stmt[0], "read reports");
	if (r == DB_ROW) {
		*bits_r = (unsigned)sqlite3_column_int(op.stmt[0], 0);
		r = DB_OK;
	}
	return queue_db_op_end(&op, r);
}

enum db_result queue_db_mark_reported(struct queue_db *qdb, const char *id,
				      const unsigned *idx, size_t n, unsigned bits)
{
	static const char *const sql[] = {
		"UPDATE rcpts SET reported = reported | ?3 WHERE msg_id = ?1 AND idx = ?2",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	if (n == 0)
		return DB_OK;
	if ((r = queue_db_op_start(&op, qdb, true, sql)) != DB_OK)
		return r;
	for (size_t i = 0; i < n && r == DB_OK; i++) {
		sqlite3_bind_text(op.stmt[0], 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(op.stmt[0], 2, (int)idx[i]);
		sqlite3_bind_int(op.stmt[0], 3, (int)bits);
		r = queue_db_run(&op, op.stmt[0], "record a report");
	}
	return queue_db_op_end(&op, r);
}

enum db_result queue_db_unreported(struct queue_db *qdb, bool local, int64_t before,
				   size_t limit,
				   void (*cb)(void *ctx, const struct queue_db_unreported *u),
				   void *ctx)
{
	static const char *const sql[] = {
		"SELECT r.msg_id, r.idx, r.last_error, r.status, r.remote_mta, r.remote"
		" FROM rcpts r JOIN messages m ON m.id = r.msg_id WHERE r.local = ?3"
		" AND r.state = 'failed' AND (r.reported & 2) = 0 AND m.arrival < ?2"
		" ORDER BY r.msg_id, r.idx LIMIT ?1",
		NULL,
	};
	struct queue_db_op op;
	enum db_result r;

	if ((r = queue_db_op_start(&op, qdb, false, sql)) != DB_OK)
		return r;
	sqlite3_bind_int64(op.stmt[0], 1, (sqlite3_int64)limit);
	sqlite3_bind_int64(op.stmt[0], 2, before);
	sqlite3_bind_int(op.stmt[0], 3, local);
	while ((r = db_step(qdb->db, op.stmt[0], "find unreported failures")) == DB_ROW) {
		struct queue_db_unreported u = {
			.id = (const char *)sqlite3_column_text(op.stmt[0], 0),
			.idx = (unsigned)sqlite3_column_int(op.stmt[0], 1),
			.error = (const char *)sqlite3_column_text(op.stmt[0], 2),
			.status = (const char *)sqlite3_column_text(op.stmt[0], 3),
			.remote_mta = (const char *)sqlite3_column_text(op.stmt[0], 4),
			.remote = sqlite3_column_int(op.stmt[0], 5) != 0,
		};

		if (u.id != NULL)
			cb(ctx, &u);
	}
	return queue_db_op_end(&op, r);
}

/* --- administration ---------------------------------------------------- */

/* Run an UPDATE of one message's recipients (id NULL: of all, when the
 * statement allows it), telling whether the message exists. */
static enum db_result queue_db_change(struct queue_db *qdb, const char *update, const char *id,
				      const char *what, bool *found_r, unsigned *changed_r)
{
	const char *sql[] = { "SELECT 1 FROM messages WHERE id = ?", update, NULL };
	struct queue_db_op op;
	enum db_result r;

	*found_r = false;
	*changed_r = 0;
	if ((r = queue_db_op_start(&op, qdb, true, sql)) != DB_OK)
		return r;
	if (id != NULL) {
		sqlite3_bind_text(op.stmt[0], 1, id, -1, SQLITE_STATIC);
		r = db_step(qdb->db, op.stmt[0], "find message");
		*found_r = r == DB_ROW;
		r = r == DB_ROW ? DB_OK : r;
	} else {
		*found_r = true;
	}
	if (r == DB_OK && *found_r) {
		sqlite3_bind_text(op.stmt[1], 1, id, -1, SQLITE_STATIC);
		r = queue_db_run(&op, op.stmt[1], what);
		if (r == DB_OK)
			*changed_r = (unsigned)db_changes(qdb->db);
	}
	return queue_db_op_end(&op, r);
}

enum db_result queue_db_hold(struct queue_db *qdb, const char *id, bool *found_r,
			     unsigned *changed_r)
{
	return queue_db_change(qdb, "UPDATE rcpts SET state = 'held' WHERE msg_id = ?"
			       " AND state IN ('queued', 'deferred')", id, "hold", found_r, changed_r);
}

enum db_result queue_db_release(struct queue_db *qdb, const char *id, bool *found_r,
				unsigned *changed_r)
{
	return queue_db_change(qdb, "UPDATE rcpts SET state = 'queued', next_try = 0"
			       " WHERE msg_id = ? AND state = 'held'", id, "release", found_r,
			       changed_r);
}

enum db_result queue_db_flush(struct queue_db *qdb, const char *id, bool *found_r,
			      unsigned *changed_r)
{
	return queue_db_change(qdb, "UPDATE rcpts SET next_try = 0 WHERE state = 'deferred'"
			       " AND (?1 IS NULL OR msg_id = ?1)", id, "flush", found_r, changed_r);
}

/* --- list -------------------------------------------------------------- */

struct queue_db_list_state {
	struct queue_list_message msg;
	struct queue_list_rcpt *rcpts;
	size_t cap;
	char *id, *sender;
	char **strings;      /* addresses, errors and servers of rcpts */
	size_t n_strings, strings_cap;
};

static const char *queue_db_keep(struct queue_db_list_state *ls, const unsigned char *s)
{
	char *copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup((const char *)s)) == NULL)
		abort();
	if (ls->n_strings == ls->strings_cap) {
		ls->strings_cap = ls->strings_cap == 0 ? 16 : ls->strings_cap * 2;
		ls->strings = realloc(ls->strings, ls->strings_cap * sizeof(*ls->strings));
		if (ls->strings == NULL)
			abort();
	}
	ls->strings[ls->n_strings++] = copy;
	return copy;
}

static void queue_db_list_flush(struct queue_db_list_state *ls,
				void (*cb)(void *ctx, const struct queue_list_message *msg), void *ctx)
{
	if (ls->id != NULL) {
		ls->msg.id = ls->id;
		ls->msg.sender = ls->sender;
		ls->msg.rcpts = ls->rcpts;
		cb(ctx, &ls->msg);
	}
	free(ls->id);
	free(ls->sender);
	ls->id = ls->sender = NULL;
	for (size_t i = 0; i < ls->n_strings; i++)
		free(ls->strings[i]);
	ls->n_strings = 0;
	ls->msg.n_rcpts = 0;
}

enum db_result queue_db_list(struct queue_db *qdb,
			     void (*cb)(void *ctx, const struct queue_list_message *msg), void *ctx)
{
	static const char *const sql[] = {
		"SELECT m.id, m.sender, m.size, m.arrival, r.address, r.local, r.state,"
		" r.attempts, r.next_try, r.last_error, r.remote_mta, r.remote FROM messages m"
		" LEFT JOIN rcpts r ON r.msg_id = m.id ORDER BY m.arrival, m.id, r.idx",
		NULL,
	};
	struct queue_db_list_state ls;
	struct queue_db_op op;
	sqlite3_stmt *s;
	enum db_result r;

	memset(&ls, 0, sizeof(ls));
	if ((r = queue_db_op_start(&op, qdb, false, sql)) != DB_OK)
		return r;
	s = op.stmt[0];
	while ((r = db_step(qdb->db, s, "list the queue")) == DB_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		struct queue_list_rcpt *rc;

		if (id == NULL)
			continue;
		if (ls.id == NULL || strcmp(ls.id, id) != 0) {
			queue_db_list_flush(&ls, cb, ctx);
			if ((ls.id = strdup(id)) == NULL ||
			    (ls.sender = strdup(sqlite3_column_text(s, 1) != NULL ?
						(const char *)sqlite3_column_text(s, 1) : "")) == NULL)
				abort();
			ls.msg.size = (uint64_t)sqlite3_column_int64(s, 2);
			ls.msg.arrival = sqlite3_column_int64(s, 3);
		}
		if (sqlite3_column_type(s, 4) == SQLITE_NULL)
			continue;
		if (ls.msg.n_rcpts == ls.cap) {
			ls.cap = ls.cap == 0 ? 8 : ls.cap * 2;
			ls.rcpts = realloc(ls.rcpts, ls.cap * sizeof(*ls.rcpts));
			if (ls.rcpts == NULL)
				abort();
		}
		rc = &ls.rcpts[ls.msg.n_rcpts++];
		rc->address = queue_db_keep(&ls, sqlite3_column_text(s, 4));
		rc->local = sqlite3_column_int(s, 5) != 0;
		rc->state = queue_state_parse(sqlite3_column_text(s, 6));
		rc->attempts = (unsigned)sqlite3_column_int(s, 7);
		rc->next_try = sqlite3_column_int64(s, 8);
		rc->error = queue_db_keep(&ls, sqlite3_column_text(s, 9));
		rc->remote_mta = queue_db_keep(&ls, sqlite3_column_text(s, 10));
		rc->remote = sqlite3_column_int(s, 11) != 0;
	}
	queue_db_list_flush(&ls, cb, ctx);
	free(ls.rcpts);
	free(ls.strings);
	return queue_db_op_end(&op, r);
}
