/* message - messages of a mailbox: listing, durable append (in one piece
 * or streamed, with the SHA-256 digest of its bytes taken on the way) and
 * reading a message's file back (in order, at an offset, or by its
 * descriptor for conn_send_file). Flag changes, expunge and copy are in
 * message-update.c, digest look-ups in message-digest.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/durable.h"
#include "core/log.h"
#include "store/store-private.h"

struct store_reader {
	int fd;
	uint64_t size;
};

/* Log a failed file system call (errno); its store error (a full disk or
 * quota is STORE_ERR_NO_SPACE, so that the client hears OVERQUOTA). */
static enum store_error store_io_log(struct store_account *acct, const char *what,
				     const char *name)
{
	int err = errno;

	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"%s failed\" user=%s file=%s error=\"%s\"",
		  what, acct->address, name, strerror(err));
	return err == ENOSPC || err == EDQUOT ? STORE_ERR_NO_SPACE : STORE_ERR_IO;
}

void store_messages_free(struct store_message *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(msgs[i].keywords);
	free(msgs);
}

static enum store_error store_message_list_locked(struct store_account *acct,
						  const struct store_mailbox_ref *ref,
						  struct store_message **msgs_r, size_t *n_r)
{
	sqlite3_stmt *stmt;
	enum store_error err;
	struct store_box box;

	*msgs_r = NULL;
	*n_r = 0;
	if ((err = store_box_by_ref(acct, ref, &box)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "SELECT " STORE_MESSAGE_COLUMNS
			     " FROM messages WHERE mailbox_id = ? ORDER BY uid");
	if (stmt != NULL)
		sqlite3_bind_int64(stmt, 1, box.id);
	return store_messages_collect(acct, stmt, "list messages", msgs_r, n_r);
}

void store_message_from_row(sqlite3_stmt *stmt, struct store_message *m)
{
	const unsigned char *kw = sqlite3_column_text(stmt, 2);

	m->uid = (uint32_t)sqlite3_column_int64(stmt, 0);
	m->flags = (unsigned)sqlite3_column_int(stmt, 1);
	m->keywords = NULL;
	if (kw != NULL && kw[0] != '\0' && (m->keywords = strdup((const char *)kw)) == NULL)
		abort();
	m->modseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	m->internal_date = sqlite3_column_int64(stmt, 4);
	m->size = (uint64_t)sqlite3_column_int64(stmt, 5);
}

enum store_error store_message_list(struct store_account *acct, const struct store_mailbox_ref *ref,
				    struct store_message **msgs_r, size_t *n_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_message_list_locked(acct, ref, msgs_r, n_r);
	store_leave(acct);
	return err;
}

/* --- append -------------------------------------------------------------- */

void store_file_name(char *out, size_t outsize)
{
	static atomic_uint counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, outsize, "%lld.%06ld.P%d.C%u", (long long)ts.tv_sec, ts.tv_nsec / 1000,
		 (int)getpid(), atomic_fetch_add(&counter, 1));
}

static enum store_error store_append_begin_locked(struct store_account *acct, const char *mailbox,
						  struct store_append **ap_r)
{
	struct store_append *ap;
	enum store_error err;
	struct store_box box;

	*ap_r = NULL;
	if (acct->root != NULL && !store_root_has_space(acct->root))
		return STORE_ERR_NO_SPACE;
	if ((err = store_box_by_name(acct, mailbox, &box)) != STORE_OK)
		return err;
	ap = calloc(1, sizeof(*ap));
	if (ap == NULL)
		abort();
	ap->acct = acct;
	ap->mailbox = strdup(mailbox);
	if (ap->mailbox == NULL)
		abort();
	ap->sha = EVP_MD_CTX_new();
	if (ap->sha == NULL || EVP_DigestInit_ex(ap->sha, EVP_sha256(), NULL) != 1)
		abort();
	store_file_name(ap->name, sizeof(ap->name));
	snprintf(ap->tmp_name, sizeof(ap->tmp_name), STORE_TMP_PREFIX "%s", ap->name);
	ap->fd = durable_open_new(acct->msg_fd, ap->tmp_name);
	if (ap->fd < 0) {
		err = store_io_log(acct, "create", ap->tmp_name);
		EVP_MD_CTX_free(ap->sha);
		free(ap->mailbox);
		free(ap);
		return err;
	}
	*ap_r = ap;
	return STORE_OK;
}

enum store_error store_append_begin(struct store_account *acct, const char *mailbox,
				    struct store_append **ap_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_append_begin_locked(acct, mailbox, ap_r);
	store_leave(acct);
	return err;
}

enum store_error store_append_write(struct store_append *ap, const void *data, size_t len)
{
	const char *p = data;

	store_check_off_loop(__func__);
	if (ap->failed)
		return STORE_ERR_IO;
	if (len > STORE_MESSAGE_MAX - ap->size) {
		ap->failed = true;
		return STORE_ERR_TOO_BIG;
	}
	if (EVP_DigestUpdate(ap->sha, data, len) != 1)
		abort();
	while (len > 0) {
		ssize_t n = write(ap->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ap->failed = true;
			return store_io_log(ap->acct, "write", ap->tmp_name);
		}
		p += n;
		len -= (size_t)n;
		ap->size += (uint64_t)n;
	}
	return STORE_OK;
}

void store_append_free(struct store_append **app)
{
	struct store_append *ap = *app;

	*app = NULL;
	if (ap->fd >= 0)
		close(ap->fd);
	EVP_MD_CTX_free(ap->sha);
	free(ap->mailbox);
	free(ap);
}

void store_append_digest(const struct store_append *ap, unsigned char digest[STORE_DIGEST_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned int len = STORE_DIGEST_LEN;

	/* on a copy, so that the append can go on */
	if (copy == NULL || EVP_MD_CTX_copy_ex(copy, ap->sha) != 1 ||
	    EVP_DigestFinal_ex(copy, digest, &len) != 1 || len != STORE_DIGEST_LEN)
		abort();
	EVP_MD_CTX_free(copy);
}

enum store_error store_append_present(struct store_append *ap, bool *present_r)
{
	unsigned char digest[STORE_DIGEST_LEN];
	enum store_error err;

	*present_r = false;
	if (ap->failed)
		return STORE_ERR_IO;
	store_append_digest(ap, digest);
	store_enter(ap->acct);
	err = store_mailbox_has_digest(ap->acct, ap->mailbox, digest, ap->size, present_r);
	store_leave(ap->acct);
	return err;
}

void store_append_abort(struct store_append **app)
{
	if (*app == NULL)
		return;
	store_check_off_loop(__func__);
	store_msg_unlink((*app)->acct, (*app)->tmp_name);
	store_append_free(app);
}

/* Make the file durable under its final name (durable.h). */
static enum store_error store_append_sync(struct store_append *ap)
{
	struct store_account *acct = ap->acct;
	const char *step;
	int fd = ap->fd;

	ap->fd = -1;
	if (durable_commit(acct->msg_fd, fd, ap->tmp_name, ap->name, &step) < 0) {
		enum store_error err = store_io_log(acct, step, ap->name);

		/* perhaps renamed but not on disk: it will not be indexed */
		store_msg_unlink(acct, ap->name);
		return err;
	}
	return STORE_OK;
}

enum store_error store_message_add(struct store_account *acct, const struct store_new_message *m,
				   uint32_t *uid_r, uint64_t *modseq_r)
{
	const struct store_box *box = m->box;
	sqlite3_stmt *stmt;
	enum store_error err;
	uint32_t uid;
	uint64_t modseq;
	int64_t file_id;
	enum db_result r;

	uid = m->want_uid != 0 ? m->want_uid : box->uidnext;
	if (uid < box->uidnext)
		return STORE_ERR_EXISTS;
	if (uid >= UINT32_MAX) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"UIDs exhausted\" user=%s mailbox=%s",
			  acct->address, box->name);
		return STORE_ERR_TOO_BIG;
	}
	if ((err = store_keywords_record(acct, box->id, m->keywords)) != STORE_OK ||
	    (err = store_mailbox_next_modseq(acct, box->id, &modseq)) != STORE_OK)
		return err;
	stmt = db_stmt(acct->db, "INSERT INTO files(name, size) VALUES(?, ?)");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_text(stmt, 1, m->file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)m->size);
	r = db_step(acct->db, stmt, "insert file");
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		return store_db_result(r);
	file_id = db_last_insert_rowid(acct->db);
	stmt = db_stmt(acct->db, "INSERT INTO messages(mailbox_id, uid, file_id, flags, keywords,"
			  " modseq, internal_date, size, digest, queue_id)"
			  " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, box->id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, file_id);
	sqlite3_bind_int(stmt, 4, (int)(m->flags & 0x1f));
	if (m->keywords != NULL)
		sqlite3_bind_text(stmt, 5, m->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (int64_t)modseq);
	sqlite3_bind_int64(stmt, 7, m->internal_date != 0 ? m->internal_date : (int64_t)time(NULL));
	sqlite3_bind_int64(stmt, 8, (int64_t)m->size);
	if (m->digest != NULL)
		sqlite3_bind_blob(stmt, 9, m->digest, STORE_DIGEST_LEN, SQLITE_STATIC);
	if (m->queue_id != NULL)
		sqlite3_bind_text(stmt, 10, m->queue_id, -1, SQLITE_STATIC);
	r = db_step(acct->db, stmt, "insert message");
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		return store_db_result(r);
	stmt = db_stmt(acct->db, "UPDATE mailboxes SET uidnext = ? WHERE id = ?");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, (int64_t)uid + 1);
	sqlite3_bind_int64(stmt, 2, box->id);
	r = db_step(acct->db, stmt, "update uidnext");
	db_stmt_done(acct->db, stmt);
	if (r != DB_OK)
		return store_db_result(r);
	*uid_r = uid;
	*modseq_r = modseq;
	return STORE_OK;
}

enum store_error store_append_ready(struct store_append **app, const char *keywords, char **kw_r)
{
	*kw_r = NULL;
	if (*app == NULL)
		return STORE_ERR_INVALID;
	if ((*app)->failed) {
		store_append_abort(app);
		return STORE_ERR_IO;
	}
	if (!store_keywords_normalize(keywords, kw_r)) {
		store_append_abort(app);
		return STORE_ERR_INVALID;
	}
	return STORE_OK;
}

enum store_error store_append_commit_uid(struct store_append **app, unsigned flags,
					 const char *keywords, int64_t internal_date,
					 uint32_t want_uid, uint32_t *uid_r)
{
	unsigned char digest[STORE_DIGEST_LEN];
	struct store_append *ap = *app;
	struct store_account *acct;
	struct store_box box;
	enum store_error err;
	char *kw = NULL;
	uint64_t modseq = 0;
	uint32_t uid = 0;

	if ((err = store_append_ready(app, keywords, &kw)) != STORE_OK)
		return err;
	acct = ap->acct;
	if ((err = store_append_sync(ap)) != STORE_OK) {
		free(kw);
		store_append_abort(app);
		return err;
	}
	/* The file is durable under its final name; a crash from here until
	 * COMMIT leaves an orphan that the repair removes. Only the index
	 * needs the handle's mutex. */
	store_append_digest(ap, digest);
	store_enter(acct);
	if ((err = store_db_result(db_begin(acct->db))) == STORE_OK &&
	    (err = store_box_by_name(acct, ap->mailbox, &box)) != STORE_OK)
		db_rollback(acct->db);
	else if (err == STORE_OK) {
		struct store_new_message m = {
			.box = &box,
			.file = ap->name,
			.size = ap->size,
			.flags = flags,
			.keywords = kw,
			.internal_date = internal_date,
			.digest = digest,
			.want_uid = want_uid,
		};

		err = store_message_add(acct, &m, &uid, &modseq);
		if (err == STORE_OK)
			err = store_db_result(db_commit(acct->db));
		else
			db_rollback(acct->db);
	}
	if (err == STORE_OK)
		store_notify(acct, &box, HUB_CHANGE_APPEND, modseq);
	store_leave(acct);
	free(kw);
	if (err != STORE_OK) {
		store_msg_unlink(acct, ap->name);
		store_append_free(app);
		return err;
	}
	if (uid_r != NULL)
		*uid_r = uid;
	store_append_free(app);
	return STORE_OK;
}

enum store_error store_append_commit(struct store_append **ap, unsigned flags,
				     const char *keywords, int64_t internal_date,
				     uint32_t *uid_r)
{
	return store_append_commit_uid(ap, flags, keywords, internal_date, 0, uid_r);
}

enum store_error store_append(struct store_account *acct, const char *mailbox,
			      const void *data, size_t len, unsigned flags,
			      const char *keywords, int64_t internal_date, uint32_t *uid_r)
{
	struct store_append *ap;
	enum store_error err;

	if ((err = store_append_begin(acct, mailbox, &ap)) != STORE_OK)
		return err;
	if ((err = store_append_write(ap, data, len)) != STORE_OK) {
		store_append_abort(&ap);
		return err;
	}
	return store_append_commit(&ap, flags, keywords, internal_date, uid_r);
}

/* --- reader -------------------------------------------------------------- */

enum store_error store_reader_open_file(struct store_account *acct, const char *name,
					uint64_t size, struct store_reader **reader_r)
{
	struct store_reader *reader;
	struct stat st;
	int fd;

	*reader_r = NULL;
	fd = openat(acct->msg_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return STORE_ERR_NOT_FOUND;
	if (fd < 0) {
		store_io_log(acct, "open message", name);
		return STORE_ERR_IO;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"message file size differs from the index\" user=%s file=%s index=%llu",
			  acct->address, name, (unsigned long long)size);
		close(fd);
		return STORE_ERR_CORRUPT;
	}
	reader = calloc(1, sizeof(*reader));
	if (reader == NULL)
		abort();
	reader->fd = fd;
	reader->size = size;
	*reader_r = reader;
	return STORE_OK;
}

static enum store_error store_reader_open_locked(struct store_account *acct,
						 const struct store_mailbox_ref *ref,
						 uint32_t uid, struct store_reader **reader_r)
{
	char name[128];
	sqlite3_stmt *stmt;
	enum store_error err;
	uint64_t size;
	enum db_result r;

	*reader_r = NULL;
	if (ref == NULL)
		return STORE_ERR_INVALID;
	/* One statement: the mailbox check and the message are read
	 * together. */
	stmt = db_stmt(acct->db, "SELECT f.name, m.size, b.uidvalidity FROM mailboxes b"
			     " LEFT JOIN messages m ON m.mailbox_id = b.id AND m.uid = ?2"
			     " LEFT JOIN files f ON f.id = m.file_id WHERE b.id = ?1");
	if (stmt == NULL)
		return STORE_ERR_IO;
	sqlite3_bind_int64(stmt, 1, ref->id);
	sqlite3_bind_int64(stmt, 2, uid);
	r = db_step(acct->db, stmt, "find message");
	if (r != DB_ROW) {
		db_stmt_done(acct->db, stmt);
		return r == DB_OK ? STORE_ERR_GONE : store_db_result(r);
	}
	if ((uint32_t)sqlite3_column_int64(stmt, 2) != ref->uidvalidity ||
	    sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
		bool gone = (uint32_t)sqlite3_column_int64(stmt, 2) != ref->uidvalidity;

		db_stmt_done(acct->db, stmt);
		return gone ? STORE_ERR_GONE : STORE_ERR_NOT_FOUND;
	}
	snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(stmt, 0));
	size = (uint64_t)sqlite3_column_int64(stmt, 1);
	db_stmt_done(acct->db, stmt);
	err = store_reader_open_file(acct, name, size, reader_r);
	if (err == STORE_ERR_NOT_FOUND) {
		/* the index, read under the mutex, names it: it is lost */
		errno = ENOENT;
		store_io_log(acct, "open message", name);
		return STORE_ERR_CORRUPT;
	}
	return err;
}

enum store_error store_reader_open(struct store_account *acct, const struct store_mailbox_ref *ref,
				   uint32_t uid, struct store_reader **reader_r)
{
	enum store_error err;

	store_enter(acct);
	err = store_reader_open_locked(acct, ref, uid, reader_r);
	store_leave(acct);
	return err;
}

ssize_t store_reader_read(struct store_reader *reader, void *buf, size_t len)
{
	ssize_t n;

	store_check_off_loop(__func__);
	do
		n = read(reader->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t store_reader_pread(const struct store_reader *reader, void *buf, size_t len,
			   uint64_t offset)
{
	ssize_t n;

	store_check_off_loop(__func__);
	if (offset > (uint64_t)INT64_MAX) {
		errno = EINVAL;
		return -1;
	}
	do
		n = pread(reader->fd, buf, len, (off_t)offset);
	while (n < 0 && errno == EINTR);
	return n;
}

int store_reader_fd(const struct store_reader *reader)
{
	return reader->fd;
}

uint64_t store_reader_size(const struct store_reader *reader)
{
	return reader->size;
}

void store_reader_close(struct store_reader **reader)
{
	if (*reader == NULL)
		return;
	close((*reader)->fd);
	free(*reader);
	*reader = NULL;
}
