/* db - the SQLite layer that the store (index.db), the directory
 * (directory.db) and the queue (queue.db) share: one way to open a
 * database file (WAL, synchronous=FULL, a busy timeout, -wal and -shm kept
 * across closes, foreign keys on, no bulk page cache), schema versions in
 * PRAGMA user_version with a table of migrations, and statement helpers
 * that log an error once, saying what was being done, and turn it into a
 * typed result in which a full disk is told apart from other I/O errors.
 *
 * Statements stay SQLite's own (sqlite3_bind_*, sqlite3_column_*,
 * sqlite3_reset, sqlite3_finalize); only preparing, stepping and
 * transactions go through here. The statements a connection runs again
 * and again are prepared once and kept (db_stmt, db_stmt_done).
 *
 * A struct db is one connection and is not thread-safe: a transaction is
 * several calls, so callers serialise whole operations on one struct db
 * with their own lock (the store's account mutex, the directory's and the
 * queue's), and the connection is opened SQLITE_OPEN_NOMUTEX: SQLite's own
 * per-connection mutex, taken by every sqlite3_column_* call, would only
 * repeat that lock. Every function is blocking (file I/O, fsync): on an
 * I/O thread call it only from a job. */
#ifndef TERN_CORE_DB_H
#define TERN_CORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct db;

enum db_result {
	DB_OK,              /* done; for db_step: the statement has finished */
	DB_ROW,             /* db_step: a row is ready */
	DB_ERR_EXISTS,      /* a UNIQUE or PRIMARY KEY constraint refused it */
	DB_ERR_CONSTRAINT,  /* another constraint (FOREIGN KEY, NOT NULL, ...) refused it */
	DB_ERR_NO_SPACE,    /* the disk or the user's quota is full */
	DB_ERR_IO,          /* any other error: I/O, busy past the timeout, corrupt */
	DB_ERR_NEWER,       /* db_migrate: the file comes from a newer tern */
	DB_RESULT__COUNT
};
const char *db_result_name(enum db_result result);

/* The result for an SQLite extended result code and the errno of the
 * system call that failed (sqlite3_system_errno): SQLITE_FULL, and an
 * I/O error with ENOSPC or EDQUOT, are DB_ERR_NO_SPACE. */
enum db_result db_result_from_sqlite(int extended_code, int sys_errno);

struct db_params {
	const char *service;   /* the log's service: "store", "dir", "queue" */
	const char *label;     /* key=value naming the database in log lines: "user=a@b" */
	int busy_timeout_ms;   /* how long a statement waits for another writer */
	bool read_only;        /* an existing file, for reading: nothing is created or
				* changed, and closing never checkpoints */
	bool no_sleep;         /* SQLite never sleeps for this connection: with busy
				* timeout 0, a WAL read that finds the locks busy
				* gives up (SQLITE_BUSY, SQLITE_PROTOCOL) instead of
				* backing off for up to about 10 s; for a connection
				* an I/O loop steps */
};

/* Open FOLDER/NAME (FOLDER must exist). A missing file is created 0600
 * (whatever the umask) and made durable with its folder entry before
 * SQLite opens it; an existing one is given mode 0600; a symbolic link
 * is refused. SQLite makes -wal and -shm with the file's mode. A
 * read_only open needs the file to exist (else DB_ERR_IO, errno-style
 * reason in *error_r) and only sets the busy timeout. On error
 * returns it with a malloc'd *error_r ("PATH: reason"), logs nothing and
 * sets *db_r to NULL. */
enum db_result db_open(const char *folder, const char *name, const struct db_params *params,
		       struct db **db_r, char **error_r);
/* Close the connection (SQLite may checkpoint: blocking). */
void db_close(struct db **db);

/* Entry i of a migration table takes the schema from version i to i+1:
 * sql (if set) runs first, then run (if set). */
struct db_migration {
	const char *sql;
	enum db_result (*run)(struct db *db, void *ctx);
};

/* Bring the file to version n (the size of the table): one transaction
 * (BEGIN IMMEDIATE, so two openers never both migrate) runs the entries
 * from the file's version up and stores n, so a failure or a crash leaves
 * the old version whole. A file at version n costs one empty
 * transaction. DB_ERR_NEWER (logged) when the file's version is above n. */
enum db_result db_migrate(struct db *db, const struct db_migration *migrations, size_t n,
			  void *ctx);

/* Prepare one statement; NULL (logged) on failure. The caller finalizes
 * it (sqlite3_finalize, or db_stmt_done). */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);

/* The connection's statement for `sql`, from its cache: prepared once
 * (SQLITE_PREPARE_PERSISTENT) and handed out again after db_stmt_done,
 * ready to bind. `sql` is the key by its address, so it must be text that
 * does not change while the connection is open (a literal; a changed text
 * at the same address is noticed and prepared anew). The cache holds at
 * most DB_STMT_CACHE statements, the least recently used one giving way;
 * when `sql` is already handed out (a nested use) or the cache is full of
 * statements in use, a statement of its own is prepared, which
 * db_stmt_done finalizes. NULL (logged) on failure. */
#define DB_STMT_CACHE 24
sqlite3_stmt *db_stmt(struct db *db, const char *sql);
/* Give back a statement of db_stmt (reset, its bindings cleared, so that
 * nothing of this use, a read lock or a bound pointer, outlives it); any
 * other statement (db_prepare's) is finalized. NULL is ignored. */
void db_stmt_done(struct db *db, sqlite3_stmt *stmt);
/* Step a statement: DB_ROW, DB_OK when it has finished, or an error,
 * logged with `what` ("insert message") unless it is a constraint's
 * (DB_ERR_EXISTS, DB_ERR_CONSTRAINT: the caller decides what they mean).
 * The statement is not reset. */
enum db_result db_step(struct db *db, sqlite3_stmt *stmt, const char *what);
/* Run SQL without results (several statements allowed), like db_step. */
enum db_result db_exec(struct db *db, const char *sql, const char *what);

/* BEGIN IMMEDIATE: the write lock is taken at once, so that what the
 * transaction reads (a UIDNEXT, a MODSEQ) cannot be taken by another
 * writer meanwhile. */
enum db_result db_begin(struct db *db);
/* BEGIN (deferred): a read transaction, so that several statements see
 * one state of the file; db_rollback ends it. */
enum db_result db_begin_read(struct db *db);
/* COMMIT (durable: synchronous=FULL); on failure the transaction is
 * rolled back. */
enum db_result db_commit(struct db *db);
/* Roll back the open transaction, if there is one. */
void db_rollback(struct db *db);

/* The row id of the last INSERT, and the rows the last statement changed. */
int64_t db_last_insert_rowid(struct db *db);
int db_changes(struct db *db);
/* Give back the memory SQLite caches for the connection (pages are read
 * again from the OS page cache when needed), and the cached statements
 * not in use (prepared again when needed). */
void db_release_memory(struct db *db);

#endif
