/* store - opening and closing an account's store: the folder layout, the
 * index.db schema and its migrations, and the SQLite helpers the other
 * store files share. Crash repair is in repair.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "store/store-private.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_TIMEOUT_MS 30000
#define STORE_ADDRESS_MAX 254

static const char *const store_error_names[] = {
	[STORE_OK] = "ok",
	[STORE_ERR_NOT_FOUND] = "not found",
	[STORE_ERR_EXISTS] = "already exists",
	[STORE_ERR_INVALID] = "invalid argument",
	[STORE_ERR_TOO_BIG] = "message too big",
	[STORE_ERR_LOCKED] = "locked",
	[STORE_ERR_IO] = "i/o error",
	[STORE_ERR_CORRUPT] = "store corrupt",
	[STORE_ERR_NO_SPACE] = "no space left",
};
_Static_assert(sizeof(store_error_names) / sizeof(store_error_names[0]) == STORE_ERR__COUNT,
	       "store_error_names must cover enum store_error");

const char *store_error_name(enum store_error error)
{
	if ((unsigned)error >= STORE_ERR__COUNT)
		return "unknown";
	return store_error_names[error];
}

static const char *const store_special_attrs[] = {
	[STORE_SPECIAL_NONE] = NULL,
	[STORE_SPECIAL_DRAFTS] = "\\Drafts",
	[STORE_SPECIAL_SENT] = "\\Sent",
	[STORE_SPECIAL_JUNK] = "\\Junk",
	[STORE_SPECIAL_TRASH] = "\\Trash",
	[STORE_SPECIAL_ARCHIVE] = "\\Archive",
};
_Static_assert(sizeof(store_special_attrs) / sizeof(store_special_attrs[0]) == STORE_SPECIAL__COUNT,
	       "store_special_attrs must cover enum store_special");

const char *store_special_attr(enum store_special special)
{
	if ((unsigned)special >= STORE_SPECIAL__COUNT)
		return NULL;
	return store_special_attrs[special];
}

/* --- SQLite helpers ---------------------------------------------------- */

void store_check_off_loop(const char *function)
{
	if (loop_current() == NULL)
		return;
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
		  "msg=\"blocking store call on an I/O loop\" function=%s", function);
	abort();
}

enum store_error store_db_error(struct store_account *acct, const char *what)
{
	int code = sqlite3_errcode(acct->db);

	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"%s failed\" user=%s error=\"%s\"",
		  what, acct->address, sqlite3_errmsg(acct->db));
	if (code == SQLITE_FULL || ((code & 0xff) == SQLITE_IOERR &&
				     sqlite3_system_errno(acct->db) == ENOSPC))
		return STORE_ERR_NO_SPACE;
	return STORE_ERR_IO;
}

enum store_error store_exec(struct store_account *acct, const char *sql)
{
	store_check_off_loop(__func__);
	if (sqlite3_exec(acct->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(acct, "sql");
	return STORE_OK;
}

sqlite3_stmt *store_prepare(struct store_account *acct, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	store_check_off_loop(__func__);
	if (sqlite3_prepare_v2(acct->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		store_db_error(acct, "prepare");
		return NULL;
	}
	return stmt;
}

enum store_error store_begin(struct store_account *acct)
{
	/* IMMEDIATE: take the write lock now, so the UID and MODSEQ read
	 * in the transaction cannot be taken by another writer. */
	return store_exec(acct, "BEGIN IMMEDIATE");
}

enum store_error store_commit(struct store_account *acct)
{
	enum store_error err = store_exec(acct, "COMMIT");

	if (err != STORE_OK)
		store_rollback(acct);
	return err;
}

void store_rollback(struct store_account *acct)
{
	if (!sqlite3_get_autocommit(acct->db))
		sqlite3_exec(acct->db, "ROLLBACK", NULL, NULL, NULL);
}

void store_notify(struct store_account *acct, const char *mailbox,
		  enum hub_change_kind kind, uint64_t modseq)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	struct hub_change change = {
		.address = acct->address,
		.mailbox = mailbox,
		.kind = kind,
		.modseq = modseq,
	};

	/* Watchers name the mailbox as stored ("INBOX"), callers as typed
	 * ("inbox"): report the stored name. */
	if (mailbox != NULL && store_mailbox_name_canon(mailbox, canon, sizeof(canon)))
		change.mailbox = canon;
	hub_notify(&change);
}

/* --- paths --------------------------------------------------------------- */

/* One part of an address becomes a folder name: it must not escape. */
static bool store_path_part_ok(const char *s, size_t len)
{
	if (len == 0 || len > 128 || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
		if (c == '.' && i + 1 < len && s[i + 1] == '.')
			return false;
	}
	return true;
}

char *store_address_canon(const char *address)
{
	size_t len = strlen(address);
	const char *at = strchr(address, '@');
	char *out;

	if (len > STORE_ADDRESS_MAX || at == NULL || strchr(at + 1, '@') != NULL)
		return NULL;
	if (!store_path_part_ok(address, (size_t)(at - address)) ||
	    !store_path_part_ok(at + 1, strlen(at + 1)))
		return NULL;
	out = strdup(address);
	if (out == NULL)
		abort();
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* fsync the folder that holds `path`. */
static int store_fsync_parent(const char *path)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* A folder that a power loss cannot take back: when mkdir creates it, its
 * entry in the parent is fsync'd before anything is stored inside (else an
 * acknowledged message could vanish with its never-durable folder). */
static int store_mkdir(const char *path)
{
	if (mkdir(path, 0700) < 0)
		return errno == EEXIST ? 0 : -1;
	return store_fsync_parent(path);
}

/* Create DATA/mail/DOMAIN/LOCAL (and msg/) and fill acct->path. */
static enum store_error store_make_folders(struct store_account *acct, const char *data_dir)
{
	const char *at = strchr(acct->address, '@');
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "%s/mail", data_dir);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return STORE_ERR_INVALID;
	if (store_mkdir(data_dir) < 0 || store_mkdir(buf) < 0)
		goto fail;
	n = snprintf(buf, sizeof(buf), "%s/mail/%s", data_dir, at + 1);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return STORE_ERR_INVALID;
	if (store_mkdir(buf) < 0)
		goto fail;
	n = snprintf(buf, sizeof(buf), "%s/mail/%s/%.*s", data_dir, at + 1,
		     (int)(at - acct->address), acct->address);
	if (n < 0 || (size_t)n >= sizeof(buf) - sizeof("/" STORE_MSG_DIR))
		return STORE_ERR_INVALID;
	if (store_mkdir(buf) < 0)
		goto fail;
	acct->path = strdup(buf);
	if (acct->path == NULL)
		abort();
	strcat(buf, "/" STORE_MSG_DIR);
	if (store_mkdir(buf) < 0)
		goto fail;
	acct->msg_fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (acct->msg_fd < 0)
		goto fail;
	return STORE_OK;
fail:
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"cannot create folder\" path=%s error=\"%s\"",
		  buf, strerror(errno));
	return STORE_ERR_IO;
}

/* --- schema -------------------------------------------------------------- */

static const char store_schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE mailboxes(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL, special INTEGER NOT NULL DEFAULT 0,"
	" subscribed INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE files(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL);"
	"CREATE TABLE messages(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" file_id INTEGER NOT NULL, flags INTEGER NOT NULL, keywords TEXT,"
	" modseq INTEGER NOT NULL, internal_date INTEGER NOT NULL, size INTEGER NOT NULL,"
	" PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX messages_file ON messages(file_id);"
	"CREATE TABLE expunged(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL, PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;";

/* v2: the SHA-256 digest of each message's bytes, so that an import can
 * tell a message its mailbox already holds (store_append_present). Rows
 * from v1 keep NULL until one is needed; size is in the index so that
 * those of one size are found without a scan. */
static const char store_schema_v2[] =
	"ALTER TABLE messages ADD COLUMN digest BLOB;"
	"CREATE INDEX messages_digest ON messages(mailbox_id, digest, size);";

static const struct {
	const char *name;
	enum store_special special;
} store_default_mailboxes[] = {
	{ "INBOX", STORE_SPECIAL_NONE },
	{ "Drafts", STORE_SPECIAL_DRAFTS },
	{ "Sent", STORE_SPECIAL_SENT },
	{ "Junk", STORE_SPECIAL_JUNK },
	{ "Trash", STORE_SPECIAL_TRASH },
	{ "Archive", STORE_SPECIAL_ARCHIVE },
};

static int store_user_version(struct store_account *acct)
{
	sqlite3_stmt *stmt = store_prepare(acct, "PRAGMA user_version");
	int version = -1;

	if (stmt == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return version;
}

static enum store_error store_migrate(struct store_account *acct)
{
	enum store_error err;
	int version;
	char sql[64];

	if ((err = store_begin(acct)) != STORE_OK)
		return err;
	version = store_user_version(acct);
	if (version < 0) {
		store_rollback(acct);
		return STORE_ERR_IO;
	}
	if (version > STORE_SCHEMA_VERSION) {
		store_rollback(acct);
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"index.db is from a newer tern\" user=%s version=%d",
			  acct->address, version);
		return STORE_ERR_CORRUPT;
	}
	if (version == STORE_SCHEMA_VERSION) {
		store_rollback(acct);
		return STORE_OK;
	}
	if (version < 1) {
		if ((err = store_exec(acct, store_schema_v1)) != STORE_OK)
			goto fail;
		/* The default mailboxes, subscribed (RFC 6154 special use). */
		for (size_t i = 0; i < sizeof(store_default_mailboxes) / sizeof(store_default_mailboxes[0]); i++) {
			sqlite3_stmt *stmt;
			uint32_t uidvalidity;

			if ((err = store_uidvalidity_next(acct, &uidvalidity)) != STORE_OK)
				goto fail;
			stmt = store_prepare(acct, "INSERT INTO mailboxes(name, uidvalidity, uidnext,"
					     " highestmodseq, special, subscribed) VALUES(?, ?, 1, 1, ?, 1)");
			if (stmt == NULL) {
				err = STORE_ERR_IO;
				goto fail;
			}
			sqlite3_bind_text(stmt, 1, store_default_mailboxes[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 2, uidvalidity);
			sqlite3_bind_int(stmt, 3, (int)store_default_mailboxes[i].special);
			if (sqlite3_step(stmt) != SQLITE_DONE) {
				sqlite3_finalize(stmt);
				err = store_db_error(acct, "create mailbox");
				goto fail;
			}
			sqlite3_finalize(stmt);
		}
	}
	if (version < 2) {
		if ((err = store_exec(acct, store_schema_v2)) != STORE_OK)
			goto fail;
	}
	/* Later migrations: if (version < 3) { ... } */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if ((err = store_exec(acct, sql)) != STORE_OK)
		goto fail;
	return store_commit(acct);
fail:
	store_rollback(acct);
	return err;
}

enum store_error store_uidvalidity_next(struct store_account *acct, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt;
	int64_t last = 0, now = (int64_t)time(NULL), next;

	stmt = store_prepare(acct, "SELECT value FROM meta WHERE key = 'uidvalidity'");
	if (stmt == NULL)
		return STORE_ERR_IO;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		last = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	next = now > last ? now : last + 1;
	if (next <= 0 || next > (int64_t)UINT32_MAX)
		next = 1;
	stmt = store_prepare(acct, "INSERT OR REPLACE INTO meta(key, value) VALUES('uidvalidity', ?)");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, next);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return store_db_error(acct, "uidvalidity");
	}
	sqlite3_finalize(stmt);
	*uidvalidity_r = (uint32_t)next;
	return STORE_OK;
}

/* --- open / close -------------------------------------------------------- */

static enum store_error store_open_db(struct store_account *acct)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/index.db", acct->path);
	/* Create the file ourselves so it is 0600 whatever the umask; a new
	 * one gets its folder entry fsync'd. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fsync(fd) < 0 || store_fsync_parent(path) < 0) {
			close(fd);
			goto fail;
		}
	} else if (errno == EEXIST) {
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		goto fail;
	close(fd);
	if (sqlite3_open_v2(path, &acct->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
		return store_db_error(acct, "open index");
	{
		int persist = 1;

		sqlite3_file_control(acct->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	sqlite3_busy_timeout(acct->db, STORE_BUSY_TIMEOUT_MS);
	if (store_exec(acct, "PRAGMA journal_mode=WAL") != STORE_OK ||
	    store_exec(acct, "PRAGMA synchronous=FULL") != STORE_OK)
		return STORE_ERR_IO;
	return STORE_OK;
fail:
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"cannot open index\" path=%s error=\"%s\"",
		  path, strerror(errno));
	return STORE_ERR_IO;
}

/* A logged-in session keeps its account's index open, so what one open
 * index costs is what an idle session costs. By default every SQLite
 * connection starts with a bulk page-cache allocation of 20 pages (about
 * 86 KiB); without it pages are allocated as they are used. This is
 * process-wide and must precede SQLite's initialisation, hence a
 * constructor. */
__attribute__((constructor)) static void store_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

void store_release_memory(struct store_account *acct)
{
	store_check_off_loop(__func__);
	sqlite3_db_release_memory(acct->db);
}

enum store_error store_open(const char *data_dir, const char *address,
			    struct store_account **acct_r)
{
	struct store_account *acct;
	enum store_error err;
	char path[4200];
	bool exclusive;

	store_check_off_loop(__func__);
	*acct_r = NULL;
	if (data_dir == NULL || address == NULL)
		return STORE_ERR_INVALID;
	acct = calloc(1, sizeof(*acct));
	if (acct == NULL)
		abort();
	acct->msg_fd = -1;
	acct->lock_fd = -1;
	acct->address = store_address_canon(address);
	if (acct->address == NULL) {
		free(acct);
		return STORE_ERR_INVALID;
	}
	acct->data_dir = strdup(data_dir);
	if (acct->data_dir == NULL)
		abort();
	if ((err = store_make_folders(acct, data_dir)) != STORE_OK)
		goto fail;
	/* Every open handle holds a shared flock; the one that finds nobody
	 * else here (exclusive) may repair, since no append is in flight. */
	snprintf(path, sizeof(path), "%s/lock", acct->path);
	acct->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (acct->lock_fd < 0) {
		err = STORE_ERR_IO;
		goto fail;
	}
	exclusive = flock(acct->lock_fd, LOCK_EX | LOCK_NB) == 0;
	if (!exclusive && flock(acct->lock_fd, LOCK_SH) < 0) {
		err = STORE_ERR_IO;
		goto fail;
	}
	if ((err = store_open_db(acct)) != STORE_OK)
		goto fail;
	if ((err = store_migrate(acct)) != STORE_OK)
		goto fail;
	if (exclusive) {
		if ((err = store_repair(acct)) != STORE_OK)
			goto fail;
		if (flock(acct->lock_fd, LOCK_SH) < 0) {
			err = STORE_ERR_IO;
			goto fail;
		}
	}
	*acct_r = acct;
	return STORE_OK;
fail:
	store_close(&acct);
	return err;
}

void store_close(struct store_account **acctp)
{
	struct store_account *acct = *acctp;

	if (acct == NULL)
		return;
	store_check_off_loop(__func__);
	*acctp = NULL;
	if (acct->db != NULL)
		sqlite3_close_v2(acct->db);
	if (acct->msg_fd >= 0)
		close(acct->msg_fd);
	if (acct->lock_fd >= 0)
		close(acct->lock_fd);
	free(acct->address);
	free(acct->data_dir);
	free(acct->path);
	free(acct);
}

const char *store_path(const struct store_account *acct)
{
	return acct->path;
}
