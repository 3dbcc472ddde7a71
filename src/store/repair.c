/* repair - what store_open does after a crash (kill -9, power loss):
 * remove temporary files and message files the index does not know, and
 * drop index rows whose file is gone (each such loss is logged). Runs only
 * while the opener holds the account alone, so no append is in flight. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

static void repair_log(struct store_account *acct, const char *what, const char *name)
{
	log_event(LOG_LEVEL_WARN, "store", NULL, NULL, "msg=\"repair: %s\" user=%s file=%s",
		  what, acct->address, name);
}

/* Remove temporary files and files the index does not name. */
static enum store_error repair_scan_folder(struct store_account *acct)
{
	sqlite3_stmt *known;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(acct->msg_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return STORE_ERR_IO;
	}
	known = store_prepare(acct, "SELECT 1 FROM files WHERE name = ?");
	if (known == NULL) {
		closedir(d);
		return STORE_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		bool orphan;

		if (de->d_name[0] == '.')
			continue;
		if (strncmp(de->d_name, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) == 0) {
			unlinkat(acct->msg_fd, de->d_name, 0);
			continue;
		}
		sqlite3_bind_text(known, 1, de->d_name, -1, SQLITE_TRANSIENT);
		orphan = sqlite3_step(known) == SQLITE_DONE;
		sqlite3_reset(known);
		if (orphan) {
			/* Renamed into place, but the index row was never
			 * committed: the append was not acknowledged. */
			repair_log(acct, "removing orphan file", de->d_name);
			unlinkat(acct->msg_fd, de->d_name, 0);
		}
	}
	sqlite3_finalize(known);
	closedir(d);
	return STORE_OK;
}

/* Expunge the messages that use file_id and drop the file's row. Inside a
 * transaction. */
static enum store_error repair_drop_file(struct store_account *acct, int64_t file_id)
{
	sqlite3_stmt *sel, *exp, *del;
	enum store_error err = STORE_OK;

	sel = store_prepare(acct, "SELECT mailbox_id, uid FROM messages WHERE file_id = ?");
	exp = store_prepare(acct, "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) VALUES(?, ?, ?)");
	del = store_prepare(acct, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?");
	if (sel == NULL || exp == NULL || del == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(sel, 1, file_id);
	while (sqlite3_step(sel) == SQLITE_ROW) {
		int64_t box = sqlite3_column_int64(sel, 0);
		int64_t uid = sqlite3_column_int64(sel, 1);
		uint64_t modseq;

		if ((err = store_mailbox_next_modseq(acct, box, &modseq)) != STORE_OK)
			goto out;
		sqlite3_bind_int64(exp, 1, box);
		sqlite3_bind_int64(exp, 2, uid);
		sqlite3_bind_int64(exp, 3, (int64_t)modseq);
		sqlite3_bind_int64(del, 1, box);
		sqlite3_bind_int64(del, 2, uid);
		if (sqlite3_step(exp) != SQLITE_DONE || sqlite3_step(del) != SQLITE_DONE) {
			err = store_db_error(acct, "repair expunge");
			goto out;
		}
		sqlite3_reset(exp);
		sqlite3_reset(del);
	}
	sqlite3_finalize(del);
	del = store_prepare(acct, "DELETE FROM files WHERE id = ?");
	if (del == NULL) {
		err = STORE_ERR_IO;
		goto out;
	}
	sqlite3_bind_int64(del, 1, file_id);
	if (sqlite3_step(del) != SQLITE_DONE)
		err = store_db_error(acct, "repair file");
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(exp);
	sqlite3_finalize(del);
	return err;
}

/* Drop index rows whose file is missing, and file rows nobody uses. */
static enum store_error repair_check_index(struct store_account *acct)
{
	sqlite3_stmt *stmt;
	int64_t *missing = NULL;
	size_t n = 0, cap = 0;
	enum store_error err;

	stmt = store_prepare(acct, "SELECT id, name FROM files");
	if (stmt == NULL)
		return STORE_ERR_IO;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 1);
		struct stat st;

		if (name != NULL && fstatat(acct->msg_fd, name, &st, 0) == 0)
			continue;
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"repair: message file missing, dropping it from the index\" user=%s file=%s",
			  acct->address, name != NULL ? name : "?");
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			missing = realloc(missing, cap * sizeof(*missing));
			if (missing == NULL)
				abort();
		}
		missing[n++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if ((err = store_begin(acct)) != STORE_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((err = repair_drop_file(acct, missing[i])) != STORE_OK)
			goto out;
	err = store_exec(acct, "DELETE FROM files WHERE id NOT IN (SELECT file_id FROM messages)");
	if (err == STORE_OK)
		err = store_commit(acct);
out:
	store_rollback(acct);
	free(missing);
	return err;
}

enum store_error store_repair(struct store_account *acct)
{
	enum store_error err;

	/* Index first (rows of unused files go), then the folder (their files,
	 * now unnamed, go with the orphans). */
	if ((err = repair_check_index(acct)) != STORE_OK)
		return err;
	return repair_scan_folder(acct);
}
