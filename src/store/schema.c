/* schema - index.db: its tables, the migrations from each older version
 * (core/db.h's table), UIDVALIDITY allocation, and opening the file. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"
#include "store/store-private.h"

/* How long a statement waits for another writer (another process such
 * as `tern import`, or a checkpoint). */
#define STORE_BUSY_TIMEOUT_MS 30000
/* Bytes of index.db SQLite reads through a memory map (the address space
 * it takes, not memory: the pages are the OS page cache's). */
#define STORE_INDEX_MMAP "268435456"

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

/* v3: the queue id of a message local delivery stored (store_deliver), so
 * that delivering it again finds it rather than storing a second copy;
 * at most one per mailbox. A copy (store_copy) does not take it. */
static const char store_schema_v3[] =
	"ALTER TABLE messages ADD COLUMN queue_id TEXT;"
	"CREATE UNIQUE INDEX messages_queue ON messages(mailbox_id, queue_id)"
	" WHERE queue_id IS NOT NULL;";

/* v4, for IMAP (issue 7):
 * - counts kept on each mailbox by triggers, so that STATUS and SELECT
 *   never count messages and no code path can forget them: messages,
 *   unseen (no \Seen), deleted (\Deleted), size;
 * - recent_uid, the \Recent watermark (store_recent_take);
 * - subscriptions in their own table: a subscription outlives its
 *   mailbox (RFC 9051 6.3.7), so it cannot be a column of the mailbox;
 * - the keywords ever used in each mailbox (FLAGS, PERMANENTFLAGS);
 * - a structure blob per file (the MIME structure cache), gone with the
 *   file; a mailbox's keywords and expunged rows go with the mailbox;
 * - indexes by MODSEQ, so that store_changes_since never scans. */
static const char store_schema_v4[] =
	"ALTER TABLE mailboxes ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN unseen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;"
	"UPDATE mailboxes SET recent_uid = uidnext,"
	" messages = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id),"
	" unseen = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id"
	"  AND (m.flags & 1) = 0),"
	" deleted = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id"
	"  AND (m.flags & 8) != 0),"
	" size = (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE m.mailbox_id = mailboxes.id);"
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	" UPDATE mailboxes SET messages = messages + 1, unseen = unseen + ((NEW.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0), size = size + NEW.size"
	"  WHERE id = NEW.mailbox_id; END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	" UPDATE mailboxes SET messages = messages - 1, unseen = unseen - ((OLD.flags & 1) = 0),"
	"  deleted = deleted - ((OLD.flags & 8) != 0), size = size - OLD.size"
	"  WHERE id = OLD.mailbox_id; END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, flags, size ON messages"
	" WHEN OLD.mailbox_id != NEW.mailbox_id OR (OLD.flags & 9) != (NEW.flags & 9)"
	"  OR OLD.size != NEW.size BEGIN"
	" UPDATE mailboxes SET messages = messages - 1, unseen = unseen - ((OLD.flags & 1) = 0),"
	"  deleted = deleted - ((OLD.flags & 8) != 0), size = size - OLD.size"
	"  WHERE id = OLD.mailbox_id;"
	" UPDATE mailboxes SET messages = messages + 1, unseen = unseen + ((NEW.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0), size = size + NEW.size"
	"  WHERE id = NEW.mailbox_id; END;"
	"CREATE TABLE subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT INTO subscriptions(name) SELECT name FROM mailboxes WHERE subscribed != 0;"
	"ALTER TABLE mailboxes DROP COLUMN subscribed;"
	"CREATE TABLE mailbox_keywords(mailbox_id INTEGER NOT NULL,"
	" keyword TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY(mailbox_id, keyword)) WITHOUT ROWID;"
	"WITH RECURSIVE split(mailbox_id, word, rest) AS ("
	" SELECT mailbox_id, '', keywords || ' ' FROM messages WHERE keywords IS NOT NULL"
	" UNION ALL SELECT mailbox_id, substr(rest, 1, instr(rest, ' ') - 1),"
	"  substr(rest, instr(rest, ' ') + 1) FROM split WHERE rest != '')"
	" INSERT OR IGNORE INTO mailbox_keywords(mailbox_id, keyword)"
	" SELECT mailbox_id, word FROM split WHERE word != '';"
	"CREATE TABLE structures(file_id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
	"CREATE TRIGGER files_structure_delete AFTER DELETE ON files BEGIN"
	" DELETE FROM structures WHERE file_id = OLD.id; END;"
	"CREATE TRIGGER mailboxes_delete AFTER DELETE ON mailboxes BEGIN"
	" DELETE FROM mailbox_keywords WHERE mailbox_id = OLD.id;"
	" DELETE FROM expunged WHERE mailbox_id = OLD.id; END;"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);";

/* v5, for QRESYNC (issue 8): the expunge horizon (expunge-horizon.c).
 * Each expunged row gets the time it was expunged (those from before: the
 * migration's, so that they are kept a full horizon from now), and each
 * mailbox the highest MODSEQ among the rows pruned (0: none). */
static const char store_schema_v5[] =
	"ALTER TABLE expunged ADD COLUMN expunged_at INTEGER NOT NULL DEFAULT 0;"
	"UPDATE expunged SET expunged_at = " STORE_SQL_NOW ";"
	"ALTER TABLE mailboxes ADD COLUMN pruned_modseq INTEGER NOT NULL DEFAULT 0;";

/* v6: the structure cache in parts (issue 8): the tree, and each string
 * FETCH sends as it is in a column of its own, so that a FETCH of
 * BODYSTRUCTURE reads (and SQLite copies) that string alone. The old
 * entries hold the strings inside the tree's blob, a format src/mail no
 * longer reads: they are dropped, and computed again at the next FETCH
 * (a cache). */
static const char store_schema_v6[] =
	"DROP TABLE structures;"
	"CREATE TABLE structures(file_id INTEGER PRIMARY KEY, bodystructure BLOB NOT NULL,"
	" body BLOB NOT NULL, envelope BLOB NOT NULL, data BLOB NOT NULL);";

/* v7: the store's incarnation (store_account_id), a random 64-bit id in
 * meta, written once when the store is made (or migrated to v7) and
 * never changed: a session that gave its handle back takes it again only
 * from the same incarnation (store_account_get_again). An account deleted
 * and added again gets a new index.db, so a new id; a number drawn at
 * random, unlike an inode number, is not reused when the old folder goes. */
static enum db_result store_schema_v7_id(struct db *db, void *ctx)
{
	sqlite3_stmt *stmt;
	uint64_t id = 0;
	enum db_result r;

	(void)ctx;
	/* 0 is nobody's id (store_account_get_again never matches it) */
	while (id == 0) {
		if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
			log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
				  "msg=\"cannot draw the store's id\"");
			return DB_ERR_IO;
		}
	}
	stmt = db_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('incarnation', ?)");
	if (stmt == NULL)
		return DB_ERR_IO;
	sqlite3_bind_int64(stmt, 1, (int64_t)id);
	r = db_step(db, stmt, "store id");
	sqlite3_finalize(stmt);
	return r;
}

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
	{ store_schema_v3, NULL },
	{ store_schema_v4, NULL },
	{ store_schema_v5, NULL },
	{ store_schema_v6, NULL },
	{ NULL, store_schema_v7_id },
};

/* The id v7 wrote (acct->id). */
static enum store_error store_schema_read_id(struct store_account *acct)
{
	sqlite3_stmt *stmt = db_prepare(acct->db, "SELECT value FROM meta WHERE key = 'incarnation'");
	enum db_result r;

	if (stmt == NULL)
		return STORE_ERR_IO;
	r = db_step(acct->db, stmt, "store id");
	if (r == DB_ROW)
		acct->id = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (r == DB_ROW && acct->id != 0)
		return STORE_OK;
	if (r == DB_ROW || r == DB_OK) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"index has no store id\" user=%s", acct->address);
		return STORE_ERR_CORRUPT;
	}
	return store_db_result(r);
}

enum store_error store_schema_open(struct store_account *acct)
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
	r = db_open(acct->path, STORE_INDEX_NAME, &params, &acct->db, &error);
	if (r != DB_OK) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"cannot open index\" %s error=\"%s\"",
			  label, error != NULL ? error : "out of memory");
		free(error);
		return store_db_result(r);
	}
	/* Reads map the file (the OS page cache, no copy into SQLite's small
	 * cache): a FETCH BODYSTRUCTURE of 10,000 messages reads ~15 MB of
	 * cached blobs. Writes still go through write(). */
	if ((r = db_exec(acct->db, "PRAGMA mmap_size=" STORE_INDEX_MMAP, "map index")) != DB_OK)
		return store_db_result(r);
	r = db_migrate(acct->db, store_migrations,
		       sizeof(store_migrations) / sizeof(store_migrations[0]), acct);
	if (r != DB_OK)
		return store_db_result(r);
	return store_schema_read_id(acct);
}
