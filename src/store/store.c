/* store - opening and closing an account's store: the folder layout, the
 * index.db schema and its migrations (through core/db.h), and what the
 * other store files share (error names, the database result mapping,
 * notifying the hub, account names). Crash repair is in repair.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/log.h"
#include "store/store-private.h"

#define STORE_BUSY_TIMEOUT_MS 30000

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

enum store_error store_db_result(enum db_result result)
{
	switch (result) {
	case DB_OK:
	case DB_ROW:
		return STORE_OK;
	case DB_ERR_EXISTS:
		return STORE_ERR_EXISTS;
	case DB_ERR_NO_SPACE:
		return STORE_ERR_NO_SPACE;
	case DB_ERR_NEWER:
		return STORE_ERR_CORRUPT;
	case DB_ERR_CONSTRAINT:
	case DB_ERR_IO:
	case DB_RESULT__COUNT:
		break;
	}
	return STORE_ERR_IO;
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

static enum store_error store_folder_fail(const char *what, const char *path, const char *name)
{
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"%s\" path=%s/%s error=\"%s\"",
		  what, path, name, strerror(errno));
	return errno == ENOSPC || errno == EDQUOT ? STORE_ERR_NO_SPACE : STORE_ERR_IO;
}

/* Make `name` in the folder fd (at `path`, for logs) and open it, durably
 * when new (an acknowledged message must not vanish with a folder whose
 * entry was never on disk), never through a symbolic link: the new
 * folder's descriptor, or -1 (logged). */
static int store_folder_open(int fd, const char *path, const char *name, enum store_error *err_r)
{
	int next;

	if (durable_mkdir(fd, name, 0700) < 0) {
		*err_r = store_folder_fail("cannot create folder", path, name);
		return -1;
	}
	next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (next < 0)
		*err_r = store_folder_fail("cannot open folder", path, name);
	return next;
}

/* Create DATA/mail/DOMAIN/LOCAL and its msg/ and fill acct->path and
 * acct->msg_fd; *account_fd_r gets the account folder, open. */
static enum store_error store_make_folders(struct store_account *acct, const char *data_dir,
					   int *account_fd_r)
{
	const char *at = strchr(acct->address, '@');
	enum store_error err = STORE_OK;
	char local[STORE_ADDRESS_MAX + 1];
	char *mail, *domain;
	int fd, next;

	*account_fd_r = -1;
	snprintf(local, sizeof(local), "%.*s", (int)(at - acct->address), acct->address);
	if (asprintf(&mail, "%s/mail", data_dir) < 0 ||
	    asprintf(&domain, "%s/%s", mail, at + 1) < 0 ||
	    asprintf(&acct->path, "%s/%s", domain, local) < 0)
		abort();
	if (durable_mkdir(AT_FDCWD, data_dir, 0700) < 0 ||
	    (fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = store_folder_fail("cannot create folder", data_dir, ".");
		goto out;
	}
	next = store_folder_open(fd, data_dir, "mail", &err);
	close(fd);
	if ((fd = next) >= 0) {
		next = store_folder_open(fd, mail, at + 1, &err);
		close(fd);
	}
	if ((fd = next) >= 0) {
		*account_fd_r = store_folder_open(fd, domain, local, &err);
		close(fd);
	}
	if (*account_fd_r >= 0)
		acct->msg_fd = store_folder_open(*account_fd_r, acct->path, STORE_MSG_DIR, &err);
out:
	free(mail);
	free(domain);
	return err;
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

/* A new UIDVALIDITY: the current time, strictly above any handed out
 * before in this index. Inside a transaction. */
static enum db_result store_uidvalidity_take(struct db *db, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt;
	int64_t last = 0, now = (int64_t)time(NULL), next;
	enum db_result r;

	stmt = db_prepare(db, "SELECT value FROM meta WHERE key = 'uidvalidity'");
	if (stmt == NULL)
		return DB_ERR_IO;
	if ((r = db_step(db, stmt, "uidvalidity")) == DB_ROW)
		last = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (r != DB_ROW && r != DB_OK)
		return r;
	next = now > last ? now : last + 1;
	if (next <= 0 || next > (int64_t)UINT32_MAX)
		next = 1;
	stmt = db_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('uidvalidity', ?)");
	if (stmt == NULL)
		return DB_ERR_IO;
	sqlite3_bind_int64(stmt, 1, next);
	r = db_step(db, stmt, "uidvalidity");
	sqlite3_finalize(stmt);
	if (r == DB_OK)
		*uidvalidity_r = (uint32_t)next;
	return r;
}

enum store_error store_uidvalidity_next(struct store_account *acct, uint32_t *uidvalidity_r)
{
	return store_db_result(store_uidvalidity_take(acct->db, uidvalidity_r));
}

/* v1, after its tables: the default mailboxes, subscribed (RFC 6154
 * special use). */
static enum db_result store_schema_v1_mailboxes(struct db *db, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(store_default_mailboxes) / sizeof(store_default_mailboxes[0]); i++) {
		sqlite3_stmt *stmt;
		uint32_t uidvalidity;
		enum db_result r;

		if ((r = store_uidvalidity_take(db, &uidvalidity)) != DB_OK)
			return r;
		stmt = db_prepare(db, "INSERT INTO mailboxes(name, uidvalidity, uidnext,"
				  " highestmodseq, special, subscribed) VALUES(?, ?, 1, 1, ?, 1)");
		if (stmt == NULL)
			return DB_ERR_IO;
		sqlite3_bind_text(stmt, 1, store_default_mailboxes[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, uidvalidity);
		sqlite3_bind_int(stmt, 3, (int)store_default_mailboxes[i].special);
		r = db_step(db, stmt, "create mailbox");
		sqlite3_finalize(stmt);
		if (r != DB_OK)
			return r;
	}
	return DB_OK;
}

/* index.db's schema: entry i takes version i to i+1 (db.h). */
static const struct db_migration store_migrations[] = {
	{ store_schema_v1, store_schema_v1_mailboxes },
	{ store_schema_v2, NULL },
};

/* --- open / close -------------------------------------------------------- */

static enum store_error store_open_db(struct store_account *acct)
{
	struct db_params params = {
		.service = "store",
		.busy_timeout_ms = STORE_BUSY_TIMEOUT_MS,
	};
	char label[STORE_ADDRESS_MAX + 8];
	char *error = NULL;
	enum db_result r;

	snprintf(label, sizeof(label), "user=%s", acct->address);
	params.label = label;
	r = db_open(acct->path, "index.db", &params, &acct->db, &error);
	if (r != DB_OK) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"cannot open index\" %s error=\"%s\"",
			  label, error != NULL ? error : "out of memory");
		free(error);
		return store_db_result(r);
	}
	return store_db_result(db_migrate(acct->db, store_migrations,
					  sizeof(store_migrations) / sizeof(store_migrations[0]), acct));
}

void store_release_memory(struct store_account *acct)
{
	db_release_memory(acct->db);
}

enum store_error store_open(const char *data_dir, const char *address,
			    struct store_account **acct_r)
{
	struct store_account *acct;
	enum store_error err;
	bool exclusive;
	int account_fd = -1;

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
	if ((err = store_make_folders(acct, data_dir, &account_fd)) != STORE_OK)
		goto fail;
	/* Every open handle holds a shared flock; the one that finds nobody
	 * else here (exclusive) may repair, since no append is in flight. */
	acct->lock_fd = openat(account_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (acct->lock_fd < 0) {
		err = store_folder_fail("cannot open lock", acct->path, "lock");
		goto fail;
	}
	exclusive = flock(acct->lock_fd, LOCK_EX | LOCK_NB) == 0;
	if (!exclusive && flock(acct->lock_fd, LOCK_SH) < 0) {
		err = STORE_ERR_IO;
		goto fail;
	}
	if ((err = store_open_db(acct)) != STORE_OK)
		goto fail;
	if (exclusive) {
		if ((err = store_repair(acct)) != STORE_OK)
			goto fail;
		if (flock(acct->lock_fd, LOCK_SH) < 0) {
			err = STORE_ERR_IO;
			goto fail;
		}
	}
	close(account_fd);
	*acct_r = acct;
	return STORE_OK;
fail:
	if (account_fd >= 0)
		close(account_fd);
	store_close(&acct);
	return err;
}

void store_close(struct store_account **acctp)
{
	struct store_account *acct = *acctp;

	if (acct == NULL)
		return;
	*acctp = NULL;
	db_close(&acct->db);
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
