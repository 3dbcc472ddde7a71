/* usage - the octets an account's mailboxes hold, for quota checks
 * (store.h: store_account_used, store_account_usage). Asking through the
 * root never opens the account: an RCPT that checks a quota must not
 * cost the fsyncs of an open and a close (the clean marker), which a
 * client could otherwise ask for a thousand times a second. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

#define USAGE_BUSY_TIMEOUT_MS 5000

static enum store_error usage_query(struct db *db, uint64_t *used_r)
{
	sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(sum(size), 0) FROM messages");
	enum db_result r;

	*used_r = 0;
	if (stmt == NULL)
		return STORE_ERR_IO;
	r = db_step(db, stmt, "sum message sizes");
	if (r == DB_ROW) {
		sqlite3_int64 used = sqlite3_column_int64(stmt, 0);

		*used_r = used > 0 ? (uint64_t)used : 0;
	}
	sqlite3_finalize(stmt);
	return r == DB_ROW ? STORE_OK : store_db_result(r == DB_OK ? DB_ERR_IO : r);
}

enum store_error store_account_used(struct store_account *acct, uint64_t *used_r)
{
	enum store_error err;

	store_enter(acct);
	err = usage_query(acct->db, used_r);
	store_leave(acct);
	return err;
}

/* Nobody holds the account: its index.db, read-only. */
static enum store_error usage_read_only(const char *data_dir, const char *address,
					uint64_t *used_r)
{
	const char *at = strchr(address, '@');
	struct db_params params = {
		.service = "store",
		.label = "db=usage",
		.busy_timeout_ms = USAGE_BUSY_TIMEOUT_MS,
		.read_only = true,
	};
	enum store_error err;
	struct db *db;
	char folder[4200], index[4300], *error = NULL;
	int n;

	*used_r = 0;
	n = snprintf(folder, sizeof(folder), "%s/mail/%s/%.*s", data_dir, at + 1,
		     (int)(at - address), address);
	if (n < 0 || (size_t)n >= sizeof(folder))
		return STORE_ERR_INVALID;
	snprintf(index, sizeof(index), "%s/" STORE_INDEX_NAME, folder);
	if (faccessat(AT_FDCWD, index, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return STORE_OK;   /* never opened: no mail */
	if (db_open(folder, STORE_INDEX_NAME, &params, &db, &error) != DB_OK) {
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"cannot read the mailbox sizes\" user=%s error=\"%s\"", address, error);
		free(error);
		return STORE_ERR_IO;
	}
	err = usage_query(db, used_r);
	db_close(&db);
	return err;
}

enum store_error store_account_usage(struct store_root *root, const char *address,
				     uint64_t *used_r)
{
	struct store_account *acct;
	enum store_error err;
	char *canon;

	*used_r = 0;
	if (root == NULL || address == NULL || (canon = store_address_canon(address)) == NULL)
		return STORE_ERR_INVALID;
	if ((acct = store_root_hold(root, canon)) != NULL) {
		err = store_account_used(acct, used_r);
		store_account_put(&acct);
	} else {
		err = usage_read_only(store_root_data_dir(root), canon, used_r);
	}
	free(canon);
	return err;
}

bool store_quota_allows(uint64_t quota, uint64_t used, uint64_t size)
{
	return quota == 0 || (used <= quota && size <= quota - used);
}

enum store_error store_account_room(struct store_account *acct, uint64_t quota, uint64_t size)
{
	enum store_error err;
	uint64_t used;

	if (quota == 0)
		return STORE_OK;
	if ((err = store_account_used(acct, &used)) != STORE_OK)
		return err;
	return store_quota_allows(quota, used, size) ? STORE_OK : STORE_ERR_NO_SPACE;
}
