/* test-db - the shared SQLite layer: the settings every database gets
 * (0600, WAL, synchronous=FULL, foreign keys, -wal kept), migrations
 * through user_version (each run once, all or nothing, a newer file
 * refused), the error mapping (a full disk is not an I/O error; a
 * constraint is not logged, anything else is logged once with what was
 * being done), transactions, and the cache of prepared statements
 * (reused, reset and unbound between uses, nested uses apart, bounded,
 * given back by db_release_memory and db_close). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/db.h"
#include "core/log.h"
#include "tmpdir.h"

static const struct db_params test_params = {
	.service = "test",
	.label = "db=test.db",
	.busy_timeout_ms = 100,
};

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tmpdir_new("db");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static struct db *open_ok(const char *folder, const char *name)
{
	struct db *db = NULL;
	char *error = NULL;

	if (db_open(folder, name, &test_params, &db, &error) != DB_OK)
		fail_msg("db_open: %s", error);
	assert_null(error);
	return db;
}

/* The first column of the first row of `sql`, as an integer. */
static int64_t query_int(struct db *db, const char *sql)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	int64_t v;

	assert_non_null(stmt);
	assert_int_equal(db_step(db, stmt, "query"), DB_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static const char *query_text(struct db *db, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);

	assert_non_null(stmt);
	assert_int_equal(db_step(db, stmt, "query"), DB_ROW);
	snprintf(out, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return out;
}

/* stderr (where log lines go) captured into a file while `on`. */
struct capture {
	int saved;
	char path[96];
};

static void capture_start(struct capture *c, const struct fixture *f)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/stderr", f->dir);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* Stop capturing; the captured text (malloc'd). */
static char *capture_end(struct capture *c)
{
	char *text = calloc(1, 65536);
	int fd;

	assert_non_null(text);
	assert_int_equal(dup2(c->saved, 2), 2);
	close(c->saved);
	fd = open(c->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, text, 65535) >= 0);
	close(fd);
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

static void test_open_settings(void **state)
{
	struct fixture *f = *state;
	struct db *db, *other = NULL;
	char path[128], text[32];
	char *error = NULL;
	struct stat st;
	mode_t old = umask(0);

	db = open_ok(f->dir, "new.db");
	umask(old);
	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_string_equal(query_text(db, "PRAGMA journal_mode", text, sizeof(text)), "wal");
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2);   /* FULL */
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA busy_timeout"), 100);
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)", "create"), DB_OK);
	db_close(&db);
	assert_null(db);
	/* -wal and -shm stay, so a reopen on a full disk needs no space */
	snprintf(path, sizeof(path), "%s/new.db-wal", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* an existing file that someone made readable is made 0600 again */
	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	db = open_ok(f->dir, "new.db");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	db_close(&db);

	/* a symbolic link is refused, whatever it points to */
	snprintf(path, sizeof(path), "%s/link.db", f->dir);
	assert_int_equal(symlink("new.db", path), 0);
	assert_int_equal(db_open(f->dir, "link.db", &test_params, &other, &error), DB_ERR_IO);
	assert_null(other);
	assert_non_null(error);
	assert_non_null(strstr(error, "link.db: is a symbolic link"));
	free(error);
	/* a missing folder is named */
	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_int_equal(db_open(path, "x.db", &test_params, &other, &error), DB_ERR_IO);
	assert_non_null(strstr(error, "/none: No such file or directory"));
	free(error);
}

struct migration_count {
	unsigned runs[4];
};

static enum db_result count_v1(struct db *db, void *ctx)
{
	struct migration_count *c = ctx;

	c->runs[1]++;
	return db_exec(db, "INSERT INTO t(x) VALUES(1)", "seed");
}

static enum db_result fail_v3(struct db *db, void *ctx)
{
	struct migration_count *c = ctx;

	(void)db;
	c->runs[3]++;
	return DB_ERR_IO;
}

static const struct db_migration migrations[] = {
	{ "CREATE TABLE t(x INTEGER)", NULL },
	{ NULL, count_v1 },
	{ "ALTER TABLE t ADD COLUMN y TEXT", NULL },
	/* a fourth step that fails after doing part of its work */
	{ "CREATE TABLE u(z)", fail_v3 },
};

static void test_migrations(void **state)
{
	struct fixture *f = *state;
	struct migration_count count = { 0 };
	struct db *db = open_ok(f->dir, "m.db");

	/* 0 -> 2 in one go; a step that fails in 2 -> 3 leaves version 2 */
	assert_int_equal(db_migrate(db, migrations, 2, &count), DB_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(count.runs[1], 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
	/* at its version: nothing runs again */
	assert_int_equal(db_migrate(db, migrations, 2, &count), DB_OK);
	assert_int_equal(count.runs[1], 1);
	/* 2 -> 4 fails in its last step: neither step 3 nor 4 stays */
	assert_int_equal(db_migrate(db, migrations, 4, &count), DB_ERR_IO);
	assert_int_equal(count.runs[3], 1);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 0);
	assert_null(db_prepare(db, "SELECT y FROM t"));
	/* 2 -> 3 */
	assert_int_equal(db_migrate(db, migrations, 3, &count), DB_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t WHERE y IS NULL"), 1);
	/* a file from a newer program is refused and left as it is */
	assert_int_equal(db_migrate(db, migrations, 2, &count), DB_ERR_NEWER);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(count.runs[1], 1);
	db_close(&db);
	/* a failure from version 0 leaves version 0, not a half-made schema */
	db = open_ok(f->dir, "fresh.db");
	assert_int_equal(db_migrate(db, migrations, 4, &count), DB_ERR_IO);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema"), 0);
	db_close(&db);
}

static void test_error_mapping(void **state)
{
	static const struct {
		int code, sys_errno;
		enum db_result want;
	} cases[] = {
		{ SQLITE_OK, 0, DB_OK },
		{ SQLITE_DONE, 0, DB_OK },
		{ SQLITE_ROW, 0, DB_ROW },
		{ SQLITE_FULL, 0, DB_ERR_NO_SPACE },
		{ SQLITE_IOERR_WRITE, ENOSPC, DB_ERR_NO_SPACE },
		{ SQLITE_IOERR_FSYNC, ENOSPC, DB_ERR_NO_SPACE },
		{ SQLITE_IOERR_WRITE, EDQUOT, DB_ERR_NO_SPACE },
		{ SQLITE_IOERR_WRITE, EIO, DB_ERR_IO },
		{ SQLITE_IOERR, 0, DB_ERR_IO },
		{ SQLITE_CONSTRAINT_UNIQUE, 0, DB_ERR_EXISTS },
		{ SQLITE_CONSTRAINT_PRIMARYKEY, 0, DB_ERR_EXISTS },
		{ SQLITE_CONSTRAINT_FOREIGNKEY, 0, DB_ERR_CONSTRAINT },
		{ SQLITE_CONSTRAINT_NOTNULL, 0, DB_ERR_CONSTRAINT },
		{ SQLITE_BUSY, 0, DB_ERR_IO },
		{ SQLITE_CORRUPT, 0, DB_ERR_IO },
		/* ENOSPC of a failed call matters only for an I/O error */
		{ SQLITE_BUSY, ENOSPC, DB_ERR_IO },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum db_result got = db_result_from_sqlite(cases[i].code, cases[i].sys_errno);

		if (got != cases[i].want)
			fail_msg("code %d errno %d: %s, want %s", cases[i].code, cases[i].sys_errno,
				 db_result_name(got), db_result_name(cases[i].want));
	}
	assert_string_equal(db_result_name(DB_ERR_NO_SPACE), "no space");
	assert_string_equal(db_result_name((enum db_result)99), "unknown");
}

/* Real errors through db_step: a constraint is returned and not logged;
 * a full database is DB_ERR_NO_SPACE, logged once with what was done. */
static void test_errors_logged_once(void **state)
{
	struct fixture *f = *state;
	struct db *db = open_ok(f->dir, "e.db");
	struct capture cap;
	sqlite3_stmt *stmt;
	enum db_result r;
	char *log;

	assert_int_equal(db_exec(db, "CREATE TABLE p(k TEXT PRIMARY KEY);"
				 " CREATE TABLE c(k TEXT REFERENCES p(k)); CREATE TABLE big(b BLOB);"
				 " INSERT INTO p VALUES('a'); INSERT INTO c VALUES('a')", "schema"), DB_OK);
	capture_start(&cap, f);
	assert_int_equal(db_exec(db, "INSERT INTO p VALUES('a')", "add key"), DB_ERR_EXISTS);
	assert_int_equal(db_exec(db, "DELETE FROM p WHERE k = 'a'", "drop key"), DB_ERR_CONSTRAINT);
	log = capture_end(&cap);
	assert_string_equal(log, "");
	free(log);

	/* the database may not grow: the disk is full, as far as SQLite knows */
	assert_int_equal(db_exec(db, "PRAGMA max_page_count = 12", "limit"), DB_OK);
	stmt = db_prepare(db, "INSERT INTO big VALUES(zeroblob(100000))");
	assert_non_null(stmt);
	capture_start(&cap, f);
	r = db_step(db, stmt, "fill the table");
	log = capture_end(&cap);
	sqlite3_finalize(stmt);
	assert_int_equal(r, DB_ERR_NO_SPACE);
	assert_int_equal(count_lines(log), 1);
	assert_non_null(strstr(log, "msg=\"fill the table failed\" db=test.db error="));
	free(log);

	/* a bad statement is logged once and gives NULL */
	capture_start(&cap, f);
	stmt = db_prepare(db, "SELECT nosuch FROM p");
	log = capture_end(&cap);
	assert_null(stmt);
	assert_int_equal(count_lines(log), 1);
	assert_non_null(strstr(log, "msg=\"prepare failed\""));
	assert_non_null(strstr(log, "sql=\"SELECT nosuch FROM p\""));
	free(log);
	db_close(&db);
}

/* A file system that is really full: SQLite's write fails with ENOSPC.
 * Needs root (a small tmpfs); skipped otherwise. */
static void test_full_disk(void **state)
{
	struct fixture *f = *state;
	char mnt[128];
	struct db *db;
	enum db_result r = DB_OK;
	sqlite3_stmt *stmt;

	snprintf(mnt, sizeof(mnt), "%s/small", f->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
		skip();
		return;
	}
	db = open_ok(mnt, "full.db");
	assert_int_equal(db_exec(db, "CREATE TABLE big(b BLOB)", "schema"), DB_OK);
	stmt = db_prepare(db, "INSERT INTO big VALUES(zeroblob(16384))");
	assert_non_null(stmt);
	for (int i = 0; i < 100 && r == DB_OK; i++) {
		r = db_step(db, stmt, "fill the disk");
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	db_close(&db);
	umount(mnt);
	assert_int_equal(r, DB_ERR_NO_SPACE);
}

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	struct db *db = open_ok(f->dir, "t.db"), *other = open_ok(f->dir, "t.db");

	assert_int_equal(db_exec(db, "CREATE TABLE t(x)", "schema"), DB_OK);
	assert_int_equal(db_begin(db), DB_OK);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)", "insert"), DB_OK);
	assert_int_equal(db_changes(db), 1);
	assert_int_equal(db_last_insert_rowid(db), 1);
	/* IMMEDIATE: a second writer cannot start while this one is open;
	 * it waits its busy timeout, then fails */
	assert_int_equal(db_begin(other), DB_ERR_IO);
	db_rollback(db);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 0);
	/* rolling back with nothing open is harmless */
	db_rollback(db);
	assert_int_equal(db_begin(db), DB_OK);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(2)", "insert"), DB_OK);
	assert_int_equal(db_commit(db), DB_OK);
	assert_int_equal(query_int(other, "SELECT x FROM t"), 2);
	/* a commit with nothing open fails and leaves things as they are */
	assert_int_equal(db_commit(db), DB_ERR_IO);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
	db_release_memory(db);
	db_close(&db);
	db_close(&other);
	db_close(&other);
}

/* Statements the connection holds prepared (cached or handed out). */
static int stmt_count(sqlite3_stmt *any)
{
	sqlite3 *handle = sqlite3_db_handle(any);
	int n = 0;

	for (sqlite3_stmt *s = sqlite3_next_stmt(handle, NULL); s != NULL; s = sqlite3_next_stmt(handle, s))
		n++;
	return n;
}

static void test_stmt_cache(void **state)
{
	static const char insert[] = "INSERT INTO t VALUES(?)";
	static const char select_all[] = "SELECT x FROM t ORDER BY x";
	struct fixture *f = *state;
	struct db *db = open_ok(f->dir, "c.db");
	sqlite3_stmt *a, *b, *nested;

	assert_int_equal(db_exec(db, "CREATE TABLE t(x)", "schema"), DB_OK);
	/* the same text, the same statement again, and its binding gone */
	a = db_stmt(db, insert);
	assert_non_null(a);
	sqlite3_bind_int(a, 1, 7);
	assert_int_equal(db_step(db, a, "insert"), DB_OK);
	db_stmt_done(db, a);
	b = db_stmt(db, insert);
	assert_ptr_equal(a, b);
	assert_int_equal(db_step(db, b, "insert unbound"), DB_OK);
	db_stmt_done(db, b);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t WHERE x IS NULL"), 1);

	/* given back in the middle of its rows: reset, no read left open */
	a = db_stmt(db, select_all);
	assert_int_equal(db_step(db, a, "select"), DB_ROW);
	db_stmt_done(db, a);
	assert_false(sqlite3_stmt_busy(a));
	/* a nested use of the same text gets one of its own, finalized when
	 * given back (ASan sees a leak otherwise) */
	a = db_stmt(db, select_all);
	nested = db_stmt(db, select_all);
	assert_non_null(nested);
	assert_ptr_not_equal(a, nested);
	assert_int_equal(db_step(db, a, "outer"), DB_ROW);
	assert_int_equal(db_step(db, nested, "inner"), DB_ROW);
	db_stmt_done(db, nested);
	db_stmt_done(db, a);
	assert_ptr_equal(db_stmt(db, select_all), a);
	db_stmt_done(db, a);
	/* db_prepare's statements may be given back the same way */
	db_stmt_done(db, db_prepare(db, "SELECT 1"));
	db_stmt_done(db, NULL);
	db_close(&db);
}

static void test_stmt_cache_bounds(void **state)
{
	struct fixture *f = *state;
	struct db *db = open_ok(f->dir, "b.db");
	static char texts[DB_STMT_CACHE + 8][32];
	sqlite3_stmt *out[DB_STMT_CACHE], *own, *s;
	char text[32];

	/* more texts than the cache holds: each works, the cache stays
	 * bounded, the least recently used giving way */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		snprintf(texts[i], sizeof(texts[i]), "SELECT %zu", i);
		s = db_stmt(db, texts[i]);
		assert_non_null(s);
		assert_int_equal(db_step(db, s, "select"), DB_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), (int)i);
		db_stmt_done(db, s);
		assert_true(stmt_count(s) <= DB_STMT_CACHE);
	}
	/* every slot handed out: one more is a statement of its own,
	 * finalized when given back */
	for (size_t i = 0; i < DB_STMT_CACHE; i++)
		assert_non_null(out[i] = db_stmt(db, texts[8 + i]));
	own = db_stmt(db, texts[0]);
	assert_non_null(own);
	assert_int_equal(db_step(db, own, "select"), DB_ROW);
	assert_int_equal(sqlite3_column_int(own, 0), 0);
	assert_int_equal(stmt_count(own), DB_STMT_CACHE + 1);
	db_stmt_done(db, own);
	assert_int_equal(stmt_count(out[0]), DB_STMT_CACHE);
	/* db_release_memory keeps only what is handed out */
	for (size_t i = 1; i < DB_STMT_CACHE; i++)
		db_stmt_done(db, out[i]);
	db_release_memory(db);
	assert_int_equal(stmt_count(out[0]), 1);
	db_stmt_done(db, out[0]);

	/* a changed text at a cached address is prepared anew */
	snprintf(text, sizeof(text), "SELECT 'a'");
	db_stmt_done(db, db_stmt(db, text));
	snprintf(text, sizeof(text), "SELECT 'b'");
	s = db_stmt(db, text);
	assert_non_null(s);
	assert_int_equal(db_step(db, s, "select"), DB_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "b");
	/* db_close finalizes a statement still handed out, too */
	db_close(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test_setup_teardown(test_errors_logged_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stmt_cache_bounds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
