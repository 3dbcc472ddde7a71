/* message-digest - does a mailbox already hold these bytes? The SHA-256
 * digest of every appended message is recorded in index.db (message.c
 * takes it while the file is written); rows from an index.db older than
 * digests get theirs here, computed from the file, when a look-up first
 * needs them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "store/store-private.h"

struct digest_file {
	int64_t id;
	char *name;
	unsigned char digest[STORE_DIGEST_LEN];
	bool ok;
};

/* SHA-256 of a message file in msg/; false (logged) when it cannot be
 * read. */
static bool digest_of_file(struct store_account *acct, const char *name,
			   unsigned char digest[STORE_DIGEST_LEN])
{
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	unsigned int len = STORE_DIGEST_LEN;
	char buf[65536];
	ssize_t n = 0;
	int fd;

	if (sha == NULL || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1)
		abort();
	fd = openat(acct->msg_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			if (EVP_DigestUpdate(sha, buf, (size_t)n) != 1)
				abort();
		}
		close(fd);
	}
	if (fd < 0 || n < 0) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"cannot read message for its digest\" user=%s file=%s error=\"%s\"",
			  acct->address, name, strerror(errno));
		EVP_MD_CTX_free(sha);
		return false;
	}
	if (EVP_DigestFinal_ex(sha, digest, &len) != 1 || len != STORE_DIGEST_LEN)
		abort();
	EVP_MD_CTX_free(sha);
	return true;
}

/* The files of a mailbox's messages of one size that have no digest yet. */
static enum store_error digest_missing(struct store_account *acct, int64_t box, uint64_t size,
				       struct digest_file **files_r, size_t *n_r)
{
	struct digest_file *files = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *stmt;
	enum db_result r;

	*files_r = NULL;
	*n_r = 0;
	/* Without statistics SQLite would scan the whole mailbox by its
	 * primary key here, once per message imported: the index finds the
	 * few rows at once. */
	stmt = db_prepare(acct->db, "SELECT DISTINCT f.id, f.name FROM messages m"
			     " INDEXED BY messages_digest JOIN files f ON f.id = m.file_id"
			     " WHERE m.mailbox_id = ? AND m.digest IS NULL AND m.size = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box);
	sqlite3_bind_int64(stmt, 2, (int64_t)size);
	while ((r = db_step(acct->db, stmt, "find messages without digest")) == DB_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			files = realloc(files, cap * sizeof(*files));
			if (files == NULL)
				abort();
		}
		files[n].id = sqlite3_column_int64(stmt, 0);
		files[n].name = strdup((const char *)sqlite3_column_text(stmt, 1));
		if (files[n++].name == NULL)
			abort();
	}
	sqlite3_finalize(stmt);
	*files_r = files;
	*n_r = n;
	return store_db_result(r);
}

/* Store the digests computed for files (every message sharing one). */
static enum store_error digest_record(struct store_account *acct, const struct digest_file *files,
				      size_t n)
{
	sqlite3_stmt *stmt;
	enum store_error err;

	if ((err = store_db_result(db_begin(acct->db))) != STORE_OK)
		return err;
	stmt = db_prepare(acct->db, "UPDATE messages SET digest = ? WHERE file_id = ? AND digest IS NULL");
	if (stmt == NULL) {
		db_rollback(acct->db);
		return STORE_ERR_IO;
	}
	for (size_t i = 0; i < n && err == STORE_OK; i++) {
		if (!files[i].ok)
			continue;
		sqlite3_bind_blob(stmt, 1, files[i].digest, STORE_DIGEST_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, files[i].id);
		err = store_db_result(db_step(acct->db, stmt, "record digest"));
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	if (err != STORE_OK) {
		db_rollback(acct->db);
		return err;
	}
	return store_db_result(db_commit(acct->db));
}

/* Fill in the missing digests of a mailbox's messages of one size; *match_r
 * tells whether one of them is `digest`. */
static enum store_error digest_fill(struct store_account *acct, int64_t box, uint64_t size,
				    const unsigned char digest[STORE_DIGEST_LEN], bool *match_r)
{
	struct digest_file *files;
	enum store_error err;
	size_t n;

	*match_r = false;
	if ((err = digest_missing(acct, box, size, &files, &n)) != STORE_OK || n == 0)
		return err;
	/* The files are read outside any transaction: the index stays
	 * writable for the server meanwhile. A file expunged in between
	 * updates no row. */
	for (size_t i = 0; i < n; i++) {
		files[i].ok = digest_of_file(acct, files[i].name, files[i].digest);
		if (files[i].ok && memcmp(files[i].digest, digest, STORE_DIGEST_LEN) == 0)
			*match_r = true;
	}
	err = digest_record(acct, files, n);
	for (size_t i = 0; i < n; i++)
		free(files[i].name);
	free(files);
	return err;
}

enum store_error store_mailbox_has_digest(struct store_account *acct, const char *mailbox,
					  const unsigned char digest[STORE_DIGEST_LEN],
					  uint64_t size, bool *present_r)
{
	sqlite3_stmt *stmt;
	enum store_error err;
	struct store_box box;
	enum db_result r;

	*present_r = false;
	if ((err = store_box_by_name(acct, mailbox, &box)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "SELECT 1 FROM messages WHERE mailbox_id = ? AND digest = ?"
		       " AND size = ? LIMIT 1");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box.id);
	sqlite3_bind_blob(stmt, 2, digest, STORE_DIGEST_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (int64_t)size);
	r = db_step(acct->db, stmt, "find digest");
	db_stmt_done(acct->db, stmt);
	if (r == DB_ROW) {
		*present_r = true;
		return STORE_OK;
	}
	if (r != DB_OK)
		return store_db_result(r);
	return digest_fill(acct, box.id, size, digest, present_r);
}
