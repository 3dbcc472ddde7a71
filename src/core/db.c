/* db - the shared SQLite layer: opening with the project's settings,
 * migrations through user_version, statement helpers that log once and
 * map errors, and the connection's cache of prepared statements; see
 * db.h. */
#include "core/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/errmsg.h"
#include "core/log.h"

/* One statement of the cache. */
struct db_stmt_slot {
	const char *sql;        /* the key: the caller's text, by address */
	sqlite3_stmt *stmt;
	uint64_t used;          /* db->clock when last handed out */
	bool busy;              /* handed out, not given back yet */
};

struct db {
	sqlite3 *sqlite;
	char *service;
	char *label;
	struct db_stmt_slot stmts[DB_STMT_CACHE];
	size_t n_stmts;
	uint64_t clock;
};

static const char *const db_result_names[] = {
	[DB_OK] = "ok",
	[DB_ROW] = "row",
	[DB_ERR_EXISTS] = "exists",
	[DB_ERR_CONSTRAINT] = "constraint",
	[DB_ERR_NO_SPACE] = "no space",
	[DB_ERR_IO] = "i/o error",
	[DB_ERR_NEWER] = "newer schema",
};
_Static_assert(sizeof(db_result_names) / sizeof(db_result_names[0]) == DB_RESULT__COUNT,
	       "db_result_names must cover enum db_result");

const char *db_result_name(enum db_result result)
{
	if ((unsigned)result >= DB_RESULT__COUNT)
		return "unknown";
	return db_result_names[result];
}

/* Process-wide settings, which must precede SQLite's initialisation,
 * hence a constructor.
 * - A logged-in session keeps its account's index open, so what one open
 *   connection costs is what an idle session costs. By default every
 *   SQLite connection starts with a bulk page-cache allocation of 20
 *   pages (about 86 KiB); without it pages are allocated as they are used.
 * - No memory statistics: keeping them takes one process-wide mutex in
 *   every allocation and free of every connection, which the committer,
 *   the deliveries and the sessions' lookups then wait for one another on
 *   (nothing here reads them: no sqlite3_memory_used, no heap limit). */
__attribute__((constructor)) static void db_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The default VFS but for xSleep, which returns at once: walTryBeginRead
 * backs off with xSleep (up to about 10 s in all) when the WAL's locks
 * are busy, whatever the busy timeout (db_params.no_sleep). */
#define DB_VFS_NO_SLEEP "tern-no-sleep"

static sqlite3_vfs db_vfs_no_sleep;
static pthread_once_t db_vfs_once = PTHREAD_ONCE_INIT;

static int db_vfs_sleep_not(sqlite3_vfs *vfs, int microseconds)
{
	(void)vfs;
	(void)microseconds;
	return 0;
}

static void db_vfs_register(void)
{
	sqlite3_vfs *base = sqlite3_vfs_find(NULL);

	if (base == NULL)
		return;
	db_vfs_no_sleep = *base;
	db_vfs_no_sleep.zName = DB_VFS_NO_SLEEP;
	db_vfs_no_sleep.pNext = NULL;
	db_vfs_no_sleep.xSleep = db_vfs_sleep_not;
	if (sqlite3_vfs_register(&db_vfs_no_sleep, 0) != SQLITE_OK)
		db_vfs_no_sleep.zName = NULL;
}

enum db_result db_result_from_sqlite(int extended_code, int sys_errno)
{
	switch (extended_code & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return DB_OK;
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_FULL:
		return DB_ERR_NO_SPACE;
	case SQLITE_IOERR:
		return sys_errno == ENOSPC || sys_errno == EDQUOT ? DB_ERR_NO_SPACE : DB_ERR_IO;
	case SQLITE_CONSTRAINT:
		return extended_code == SQLITE_CONSTRAINT_PRIMARYKEY ||
		       extended_code == SQLITE_CONSTRAINT_UNIQUE ? DB_ERR_EXISTS : DB_ERR_CONSTRAINT;
	default:
		return DB_ERR_IO;
	}
}

/* The connection's last error as a result; logged unless a constraint's
 * (with the start of the statement, when there is one). */
static enum db_result db_error(struct db *db, const char *what, const char *sql)
{
	enum db_result result = db_result_from_sqlite(sqlite3_extended_errcode(db->sqlite),
						      sqlite3_system_errno(db->sqlite));

	if (result == DB_OK || result == DB_ROW)
		result = DB_ERR_IO;   /* a failure SQLite did not record */
	if (result == DB_ERR_EXISTS || result == DB_ERR_CONSTRAINT)
		return result;
	if (sql != NULL)
		log_event(LOG_LEVEL_ERROR, db->service, NULL, NULL,
			  "msg=\"%s failed\" %s error=\"%s\" sql=\"%.60s\"",
			  what, db->label, sqlite3_errmsg(db->sqlite), sql);
	else
		log_event(LOG_LEVEL_ERROR, db->service, NULL, NULL, "msg=\"%s failed\" %s error=\"%s\"",
			  what, db->label, sqlite3_errmsg(db->sqlite));
	return result;
}

static enum db_result db_open_fail(char **error_r, const char *path, int err)
{
	errno = err;
	errmsg_set(error_r, "%s: %s", path, err == ELOOP ? "is a symbolic link" : strerror(err));
	return err == ENOSPC || err == EDQUOT ? DB_ERR_NO_SPACE : DB_ERR_IO;
}

/* Make FOLDER/NAME exist as a regular file, 0600, durably when new. */
static enum db_result db_make_file(const char *folder, const char *name, const char *path,
				   char **error_r)
{
	struct stat st;
	int dirfd, fd, err;

	dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return db_open_fail(error_r, folder, errno);
	if (durable_create(dirfd, name) < 0 && errno != EEXIST) {
		err = errno;
		close(dirfd);
		return db_open_fail(error_r, path, err);
	}
	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	err = errno;
	close(dirfd);
	if (fd < 0)
		return db_open_fail(error_r, path, err);
	err = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
	if (err != 0) {
		close(fd);
		return db_open_fail(error_r, path, err);
	}
	/* a file made by hand or by an old tern: nobody else reads mail */
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
		log_event(LOG_LEVEL_WARN, "db", NULL, NULL, "msg=\"cannot make the database 0600\" path=%s error=\"%s\"",
			  path, strerror(errno));
	close(fd);
	return DB_OK;
}

enum db_result db_open(const char *folder, const char *name, const struct db_params *params,
		       struct db **db_r, char **error_r)
{
	char path[4200];
	enum db_result result;
	struct db *db;
	char *msg = NULL;
	int persist = 1, n;

	*db_r = NULL;
	*error_r = NULL;
	n = snprintf(path, sizeof(path), "%s/%s", folder, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return db_open_fail(error_r, folder, ENAMETOOLONG);
	if (!params->read_only && (result = db_make_file(folder, name, path, error_r)) != DB_OK)
		return result;
	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->service = strdup(params->service)) == NULL ||
	    (db->label = strdup(params->label)) == NULL)
		abort();
	if (params->no_sleep)
		pthread_once(&db_vfs_once, db_vfs_register);
	if (params->no_sleep && db_vfs_no_sleep.zName == NULL) {
		msg = sqlite3_mprintf("no VFS without sleeps");
		goto fail;
	}
	if (sqlite3_open_v2(path, &db->sqlite, (params->read_only ? SQLITE_OPEN_READONLY :
			    SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			    params->no_sleep ? DB_VFS_NO_SLEEP : NULL) != SQLITE_OK)
		goto fail;
	if (params->read_only) {
		sqlite3_busy_timeout(db->sqlite, params->busy_timeout_ms);
		*db_r = db;
		return DB_OK;
	}
	/* Keep -wal and -shm (and the WAL's blocks) when closing, so that
	 * opening again on a full disk needs no new space. */
	sqlite3_file_control(db->sqlite, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sqlite3_busy_timeout(db->sqlite, params->busy_timeout_ms);
	if (sqlite3_exec(db->sqlite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 " PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*db_r = db;
	return DB_OK;
fail:
	result = db->sqlite == NULL ? DB_ERR_IO :
		db_result_from_sqlite(sqlite3_extended_errcode(db->sqlite),
				      sqlite3_system_errno(db->sqlite));
	if (result == DB_OK || result == DB_ROW)
		result = DB_ERR_IO;
	errmsg_set(error_r, "%s: %s", path, msg != NULL ? msg : db->sqlite != NULL ?
		   sqlite3_errmsg(db->sqlite) : "cannot open");
	sqlite3_free(msg);
	db_close(&db);
	return result;
}

void db_close(struct db **dbp)
{
	struct db *db = *dbp;

	if (db == NULL)
		return;
	*dbp = NULL;
	for (size_t i = 0; i < db->n_stmts; i++)
		sqlite3_finalize(db->stmts[i].stmt);
	sqlite3_close_v2(db->sqlite);
	free(db->service);
	free(db->label);
	free(db);
}

/* --- statements ---------------------------------------------------------- */

static sqlite3_stmt *db_prepare_flags(struct db *db, const char *sql, unsigned flags)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v3(db->sqlite, sql, -1, flags, &stmt, NULL) != SQLITE_OK) {
		db_error(db, "prepare", sql);
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stmt;
}

sqlite3_stmt *db_prepare(struct db *db, const char *sql)
{
	return db_prepare_flags(db, sql, 0);
}

/* The slot for a new statement: a free one, else the least recently
 * used one not handed out (its statement finalized); NULL when every
 * slot is in use. */
static struct db_stmt_slot *db_stmt_slot_take(struct db *db)
{
	struct db_stmt_slot *lru = NULL;

	if (db->n_stmts < DB_STMT_CACHE)
		return &db->stmts[db->n_stmts++];
	for (size_t i = 0; i < db->n_stmts; i++)
		if (!db->stmts[i].busy && (lru == NULL || db->stmts[i].used < lru->used))
			lru = &db->stmts[i];
	if (lru != NULL)
		sqlite3_finalize(lru->stmt);
	return lru;
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql)
{
	struct db_stmt_slot *slot = NULL;
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < db->n_stmts; i++) {
		if (db->stmts[i].sql != sql)
			continue;
		if (db->stmts[i].busy)
			return db_prepare(db, sql);   /* nested: one of its own */
		if (strcmp(sqlite3_sql(db->stmts[i].stmt), sql) == 0) {
			db->stmts[i].busy = true;
			db->stmts[i].used = ++db->clock;
			return db->stmts[i].stmt;
		}
		/* the same address now holds other text: prepared anew here */
		sqlite3_finalize(db->stmts[i].stmt);
		slot = &db->stmts[i];
		break;
	}
	if (slot == NULL && (slot = db_stmt_slot_take(db)) == NULL)
		return db_prepare(db, sql);
	stmt = db_prepare_flags(db, sql, SQLITE_PREPARE_PERSISTENT);
	if (stmt == NULL) {
		/* the slot is given up: the last one takes its place */
		*slot = db->stmts[--db->n_stmts];
		return NULL;
	}
	*slot = (struct db_stmt_slot){ .sql = sql, .stmt = stmt, .used = ++db->clock, .busy = true };
	return stmt;
}

void db_stmt_done(struct db *db, sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	for (size_t i = 0; i < db->n_stmts; i++) {
		if (db->stmts[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			db->stmts[i].busy = false;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

/* Run one cached statement without results, like db_step. */
static enum db_result db_run(struct db *db, const char *sql, const char *what)
{
	sqlite3_stmt *stmt = db_stmt(db, sql);
	enum db_result r;

	if (stmt == NULL)
		return DB_ERR_IO;
	r = db_step(db, stmt, what);
	db_stmt_done(db, stmt);
	return r == DB_ROW ? DB_OK : r;
}

enum db_result db_step(struct db *db, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_OK;
	return db_error(db, what, NULL);
}

enum db_result db_exec(struct db *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db->sqlite, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, what, NULL);
	return DB_OK;
}

enum db_result db_begin(struct db *db)
{
	return db_run(db, "BEGIN IMMEDIATE", "begin");
}

enum db_result db_begin_read(struct db *db)
{
	return db_run(db, "BEGIN", "begin read");
}

enum db_result db_commit(struct db *db)
{
	enum db_result result = db_run(db, "COMMIT", "commit");

	if (result != DB_OK)
		db_rollback(db);
	return result;
}

void db_rollback(struct db *db)
{
	sqlite3_stmt *stmt;

	if (sqlite3_get_autocommit(db->sqlite))
		return;
	/* not logged: a rollback after an error is expected to fail at times */
	if ((stmt = db_stmt(db, "ROLLBACK")) == NULL) {
		sqlite3_exec(db->sqlite, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
	sqlite3_step(stmt);
	db_stmt_done(db, stmt);
}

int64_t db_last_insert_rowid(struct db *db)
{
	return sqlite3_last_insert_rowid(db->sqlite);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->sqlite);
}

void db_release_memory(struct db *db)
{
	size_t kept = 0;

	for (size_t i = 0; i < db->n_stmts; i++) {
		if (db->stmts[i].busy)
			db->stmts[kept++] = db->stmts[i];
		else
			sqlite3_finalize(db->stmts[i].stmt);
	}
	db->n_stmts = kept;
	sqlite3_db_release_memory(db->sqlite);
}

/* --- migrations ---------------------------------------------------------- */

enum db_result db_migrate(struct db *db, const struct db_migration *migrations, size_t n,
			  void *ctx)
{
	sqlite3_stmt *stmt;
	enum db_result result;
	char sql[64];
	int version = -1;

	if ((result = db_begin(db)) != DB_OK)
		return result;
	stmt = db_prepare(db, "PRAGMA user_version");
	if (stmt == NULL) {
		db_rollback(db);
		return DB_ERR_IO;
	}
	if ((result = db_step(db, stmt, "read schema version")) == DB_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (version < 0) {
		db_rollback(db);
		return result == DB_ROW || result == DB_OK ? DB_ERR_IO : result;
	}
	if ((size_t)version > n) {
		db_rollback(db);
		log_event(LOG_LEVEL_ERROR, db->service, NULL, NULL,
			  "msg=\"database is from a newer tern\" %s version=%d known=%zu",
			  db->label, version, n);
		return DB_ERR_NEWER;
	}
	for (size_t v = (size_t)version; v < n; v++) {
		if (migrations[v].sql != NULL &&
		    (result = db_exec(db, migrations[v].sql, "schema migration")) != DB_OK)
			goto fail;
		if (migrations[v].run != NULL && (result = migrations[v].run(db, ctx)) != DB_OK)
			goto fail;
	}
	if ((size_t)version == n) {
		db_rollback(db);
		return DB_OK;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", n);
	if ((result = db_exec(db, sql, "schema version")) != DB_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return result;
}
