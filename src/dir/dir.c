/* dir - the user directory in DATA/directory.db (SQLite through
 * core/db.h): domains, accounts and aliases, with address syntax checks.
 * See dir.h. */
#include "dir/dir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/db.h"
#include "core/durable.h"
#include "dir/dir-cache.h"
#include "dir/dir-private.h"
#include "dir/password.h"

#define DIR_LABEL_MAX 63
#define DIR_ALIAS_TARGETS_MAX 1000
#define DIR_BUSY_TIMEOUT_MS 5000

static const char *const dir_error_texts[] = {
	[DIR_OK] = "ok",
	[DIR_ERR_NOT_FOUND] = "not found",
	[DIR_ERR_EXISTS] = "already exists",
	[DIR_ERR_INVALID] = "invalid address, domain or hash",
	[DIR_ERR_NOT_EMPTY] = "domain still has accounts or aliases",
	[DIR_ERR_NO_DOMAIN] = "domain is not a local domain",
	[DIR_ERR_TEMP] = "directory database error",
	[DIR_ERR_LOOP] = "aliases loop and reach no recipient",
	[DIR_ERR_LIMIT] = "alias expansion over a bound (recipients, nesting or lookups)",
};
_Static_assert(sizeof(dir_error_texts) / sizeof(dir_error_texts[0]) == DIR_ERR__COUNT,
	       "dir_error_texts");

const char *dir_error_str(enum dir_error error)
{
	if ((unsigned)error >= DIR_ERR__COUNT)
		return "unknown error";
	return dir_error_texts[error];
}

/* Schema, one entry per version: entry i migrates version i to i+1. */
static const struct db_migration dir_migrations[] = {
	{ "CREATE TABLE domains ("
	"  name TEXT PRIMARY KEY NOT NULL"
	");"
	"CREATE TABLE accounts ("
	"  address TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  hash TEXT NOT NULL,"
	"  quota INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX accounts_domain ON accounts(domain);"
	"CREATE TABLE aliases ("
	"  alias TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  targets TEXT NOT NULL"
	");"
	"CREATE INDEX aliases_domain ON aliases(domain);", NULL },
};

/* ---- syntax ---- */

bool dir_domain_normalize(char *domain)
{
	size_t len = strlen(domain);
	size_t label = 0;

	if (len == 0 || len > DIR_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = domain[i];

		if (c == '.' || c == '\0') {
			/* Each label: 1..63, no hyphen at either end. */
			if (label == 0 || label > DIR_LABEL_MAX ||
			    domain[i - 1] == '-' || domain[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isascii((unsigned char)c) ||
		    (!isalnum((unsigned char)c) && c != '-'))
			return false;
		domain[i] = (char)tolower((unsigned char)c);
		label++;
	}
	return true;
}

/* RFC 5321 4.1.2 Dot-string: atoms of atext joined by single dots. '/' is
 * refused too, since the local part names the account's mail folder; a
 * quoted local part is not accepted. */
static bool dir_local_valid(const char *local, size_t len)
{
	static const char atext_extra[] = "!#$%&'*+-=?^_`{|}~";

	if (len == 0 || len > DIR_LOCAL_MAX || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c == '.') {
			if (local[i + 1] == '.')
				return false;
			continue;
		}
		if (!isascii(c) || (!isalnum(c) && strchr(atext_extra, c) == NULL) || c == '\0')
			return false;
	}
	return true;
}

bool dir_address_normalize(char *address)
{
	char *at = strrchr(address, '@');

	if (at == NULL || !dir_local_valid(address, (size_t)(at - address)))
		return false;
	if (!dir_domain_normalize(at + 1))
		return false;
	for (char *p = address; p < at; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

/* strdup + normalize; NULL when invalid. */
static char *dir_address_copy(const char *address)
{
	char *copy;

	if (address == NULL || strlen(address) > DIR_ADDRESS_MAX)
		return NULL;
	copy = strdup(address);
	if (copy == NULL || !dir_address_normalize(copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

static char *dir_domain_copy(const char *domain)
{
	char *copy;

	if (domain == NULL || strlen(domain) > DIR_DOMAIN_MAX)
		return NULL;
	copy = strdup(domain);
	if (copy == NULL || !dir_domain_normalize(copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* An alias name: an address, or "@domain" for the domain's catch-all. */
static char *dir_alias_copy(const char *alias)
{
	char *domain, *copy;

	if (alias == NULL || alias[0] != '@')
		return dir_address_copy(alias);
	domain = dir_domain_copy(alias + 1);
	if (domain == NULL)
		return NULL;
	if (asprintf(&copy, "@%s", domain) < 0)
		copy = NULL;
	free(domain);
	return copy;
}

/* ---- open ---- */

static int dir_fail(char **error_r, const char *what, const char *detail)
{
	if (asprintf(error_r, "%s: %s", what, detail) < 0)
		*error_r = NULL;
	return -1;
}

int dir_open(const char *data_dir, struct dir **dir_r, char **error_r)
{
	static const struct db_params params = {
		.service = "dir",
		.label = "db=directory.db",
		.busy_timeout_ms = DIR_BUSY_TIMEOUT_MS,
	};
	struct dir *dir;
	enum db_result r;

	*dir_r = NULL;
	*error_r = NULL;
	if (durable_mkdir(AT_FDCWD, data_dir, 0700) < 0)
		return dir_fail(error_r, data_dir, strerror(errno));
	dir = calloc(1, sizeof(*dir));
	if (dir == NULL)
		abort();
	pthread_mutex_init(&dir->lock, NULL);
	r = db_open(data_dir, "directory.db", &params, &dir->db, error_r);
	if (r == DB_OK) {
		r = db_migrate(dir->db, dir_migrations,
			       sizeof(dir_migrations) / sizeof(dir_migrations[0]), NULL);
		if (r == DB_ERR_NEWER)
			dir_fail(error_r, "directory.db", "made by a newer tern (schema version too high)");
		else if (r != DB_OK)
			dir_fail(error_r, "directory.db: schema migration", db_result_name(r));
	}
	if (r != DB_OK) {
		dir_close(&dir);
		return -1;
	}
	dir->cache = dir_cache_open(data_dir, "directory.db");
	*dir_r = dir;
	return 0;
}

void dir_close(struct dir **dirp)
{
	struct dir *dir = *dirp;

	if (dir == NULL)
		return;
	dir_cache_close(&dir->cache);
	db_close(&dir->db);
	pthread_mutex_destroy(&dir->lock);
	free(dir);
	*dirp = NULL;
}

/* ---- statements ---- */

sqlite3_stmt *dir_prepare(struct dir *dir, const char *sql, const char *const *args)
{
	sqlite3_stmt *st = db_stmt(dir->db, sql);

	if (st == NULL)
		return NULL;
	for (int i = 0; args != NULL && args[i] != NULL; i++) {
		if (sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC) != SQLITE_OK) {
			db_stmt_done(dir->db, st);
			return NULL;
		}
	}
	return st;
}

/* Run a statement that returns no rows; maps constraint failures (a
 * reference to a domain is the one a delete can break). Other errors are
 * logged, naming the statement. */
static enum dir_error dir_exec(struct dir *dir, const char *sql, const char *const *args)
{
	sqlite3_stmt *st = dir_prepare(dir, sql, args);
	enum db_result r;

	if (st == NULL)
		return DIR_ERR_TEMP;
	r = db_step(dir->db, st, sql);
	db_stmt_done(dir->db, st);
	switch (r) {
	case DB_OK:
		return db_changes(dir->db) > 0 ? DIR_OK : DIR_ERR_NOT_FOUND;
	case DB_ERR_EXISTS:
		return DIR_ERR_EXISTS;
	case DB_ERR_CONSTRAINT:
		return DIR_ERR_NOT_EMPTY;
	default:
		return DIR_ERR_TEMP;
	}
}

/* 1 when the query returns a row, 0 when not, -1 on error. */
static int dir_exists(struct dir *dir, const char *sql, const char *const *args)
{
	sqlite3_stmt *st = dir_prepare(dir, sql, args);
	enum db_result r;

	if (st == NULL)
		return -1;
	r = db_step(dir->db, st, sql);
	db_stmt_done(dir->db, st);
	return r == DB_ROW ? 1 : r == DB_OK ? 0 : -1;
}

static bool dir_begin(struct dir *dir)
{
	pthread_mutex_lock(&dir->lock);
	if (db_begin(dir->db) != DB_OK) {
		pthread_mutex_unlock(&dir->lock);
		return false;
	}
	return true;
}

static enum dir_error dir_end(struct dir *dir, enum dir_error error)
{
	if (error == DIR_OK && db_commit(dir->db) != DB_OK)
		error = DIR_ERR_TEMP;
	if (error != DIR_OK)
		db_rollback(dir->db);
	pthread_mutex_unlock(&dir->lock);
	return error;
}

/* One locked statement outside an explicit transaction. */
static enum dir_error dir_exec_locked(struct dir *dir, const char *sql, const char *const *args)
{
	enum dir_error error;

	pthread_mutex_lock(&dir->lock);
	error = dir_exec(dir, sql, args);
	pthread_mutex_unlock(&dir->lock);
	return error;
}

/* ---- domains ---- */

enum dir_error dir_domain_add(struct dir *dir, const char *domain)
{
	char *name = dir_domain_copy(domain);
	enum dir_error error;

	if (name == NULL)
		return DIR_ERR_INVALID;
	error = dir_exec_locked(dir, "INSERT INTO domains(name) VALUES (?)",
				(const char *const[]){ name, NULL });
	free(name);
	return error;
}

enum dir_error dir_domain_del(struct dir *dir, const char *domain)
{
	char *name = dir_domain_copy(domain);
	enum dir_error error;

	if (name == NULL)
		return DIR_ERR_INVALID;
	/* Foreign keys make the delete fail while accounts or aliases use it. */
	error = dir_exec_locked(dir, "DELETE FROM domains WHERE name = ?",
				(const char *const[]){ name, NULL });
	free(name);
	return error;
}

bool dir_domain_exists(struct dir *dir, const char *domain)
{
	char *name = dir_domain_copy(domain);
	int found;

	if (name == NULL)
		return false;
	pthread_mutex_lock(&dir->lock);
	found = dir_exists(dir, "SELECT 1 FROM domains WHERE name = ?",
			   (const char *const[]){ name, NULL });
	pthread_mutex_unlock(&dir->lock);
	free(name);
	return found == 1;
}

enum dir_error dir_domain_list(struct dir *dir, void (*cb)(void *ctx, const char *domain), void *ctx)
{
	sqlite3_stmt *st;
	enum db_result r;

	pthread_mutex_lock(&dir->lock);
	st = dir_prepare(dir, "SELECT name FROM domains ORDER BY name", NULL);
	if (st == NULL) {
		pthread_mutex_unlock(&dir->lock);
		return DIR_ERR_TEMP;
	}
	while ((r = db_step(dir->db, st, "list domains")) == DB_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0));
	db_stmt_done(dir->db, st);
	pthread_mutex_unlock(&dir->lock);
	return r == DB_OK ? DIR_OK : DIR_ERR_TEMP;
}

/* ---- accounts ---- */

/* Inside a transaction: the address's domain must be local, and the address
 * must be neither an account nor an alias yet. */
static enum dir_error dir_address_free(struct dir *dir, const char *address)
{
	const char *domain = strrchr(address, '@') + 1;
	int found;

	found = dir_exists(dir, "SELECT 1 FROM domains WHERE name = ?",
			   (const char *const[]){ domain, NULL });
	if (found != 1)
		return found < 0 ? DIR_ERR_TEMP : DIR_ERR_NO_DOMAIN;
	found = dir_exists(dir, "SELECT 1 FROM accounts WHERE address = ?1 "
			   "UNION ALL SELECT 1 FROM aliases WHERE alias = ?1",
			   (const char *const[]){ address, NULL });
	if (found != 0)
		return found < 0 ? DIR_ERR_TEMP : DIR_ERR_EXISTS;
	return DIR_OK;
}

enum dir_error dir_user_add(struct dir *dir, const char *address, const char *hash, uint64_t quota)
{
	char *addr = dir_address_copy(address);
	sqlite3_stmt *st;
	enum dir_error error;

	if (addr == NULL || !password_hash_valid(hash, NULL) || quota > INT64_MAX) {
		free(addr);
		return DIR_ERR_INVALID;
	}
	if (!dir_begin(dir)) {
		free(addr);
		return DIR_ERR_TEMP;
	}
	error = dir_address_free(dir, addr);
	if (error == DIR_OK) {
		st = dir_prepare(dir, "INSERT INTO accounts(address, domain, hash, quota, created) "
				 "VALUES (?, ?, ?, ?, ?)",
				 (const char *const[]){ addr, strrchr(addr, '@') + 1, hash, NULL });
		if (st == NULL)
			error = DIR_ERR_TEMP;
		else {
			sqlite3_bind_int64(st, 4, (sqlite3_int64)quota);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
			if (db_step(dir->db, st, "add account") != DB_OK)
				error = DIR_ERR_TEMP;
			db_stmt_done(dir->db, st);
		}
	}
	free(addr);
	return dir_end(dir, error);
}

enum dir_error dir_user_del(struct dir *dir, const char *address)
{
	char *addr = dir_address_copy(address);
	enum dir_error error;

	if (addr == NULL)
		return DIR_ERR_INVALID;
	error = dir_exec_locked(dir, "DELETE FROM accounts WHERE address = ?",
				(const char *const[]){ addr, NULL });
	free(addr);
	return error;
}

/* Store `hash`; with `old`, only while the stored hash is still `old`. */
static enum dir_error dir_user_update_hash(struct dir *dir, const char *address,
					   const char *old, const char *hash)
{
	char *addr = dir_address_copy(address);
	enum dir_error error;

	if (addr == NULL || !password_hash_valid(hash, NULL)) {
		free(addr);
		return DIR_ERR_INVALID;
	}
	if (old == NULL)
		error = dir_exec_locked(dir, "UPDATE accounts SET hash = ?2 WHERE address = ?1",
					(const char *const[]){ addr, hash, NULL });
	else
		error = dir_exec_locked(dir, "UPDATE accounts SET hash = ?2 WHERE address = ?1 AND hash = ?3",
					(const char *const[]){ addr, hash, old, NULL });
	free(addr);
	return error;
}

enum dir_error dir_user_set_hash(struct dir *dir, const char *address, const char *hash)
{
	return dir_user_update_hash(dir, address, NULL, hash);
}

enum dir_error dir_user_replace_hash(struct dir *dir, const char *address, const char *old,
				     const char *hash)
{
	return dir_user_update_hash(dir, address, old, hash);
}

enum dir_error dir_user_set_quota(struct dir *dir, const char *address, uint64_t quota)
{
	char *addr = dir_address_copy(address);
	char text[24];
	enum dir_error error;

	if (addr == NULL || quota > INT64_MAX) {
		free(addr);
		return DIR_ERR_INVALID;
	}
	snprintf(text, sizeof(text), "%llu", (unsigned long long)quota);
	error = dir_exec_locked(dir, "UPDATE accounts SET quota = CAST(?2 AS INTEGER) WHERE address = ?1",
				(const char *const[]){ addr, text, NULL });
	free(addr);
	return error;
}

/* The account `address` (any case): its canonical address, its quota and,
 * when hash_r is not NULL, its stored hash (otherwise not even read). */
static enum dir_error dir_account_get(struct dir *dir, const char *address, char **address_r,
				      char **hash_r, uint64_t *quota_r)
{
	char *addr = dir_address_copy(address);
	sqlite3_stmt *st;
	enum dir_error error = DIR_ERR_TEMP;
	enum db_result r;

	*address_r = NULL;
	if (hash_r != NULL)
		*hash_r = NULL;
	*quota_r = 0;
	if (addr == NULL)
		return DIR_ERR_INVALID;
	pthread_mutex_lock(&dir->lock);
	st = dir_prepare(dir, hash_r != NULL ? "SELECT quota, hash FROM accounts WHERE address = ?" :
			 "SELECT quota FROM accounts WHERE address = ?",
			 (const char *const[]){ addr, NULL });
	if (st != NULL) {
		r = db_step(dir->db, st, "look up account");
		if (r == DB_ROW) {
			sqlite3_int64 quota = sqlite3_column_int64(st, 0);

			*quota_r = quota > 0 ? (uint64_t)quota : 0;
			error = DIR_OK;
			if (hash_r != NULL) {
				const char *hash = (const char *)sqlite3_column_text(st, 1);

				*hash_r = strdup(hash != NULL ? hash : "");
				if (*hash_r == NULL)
					error = DIR_ERR_TEMP;
			}
			if (error == DIR_OK) {
				*address_r = addr;
				addr = NULL;
			}
		} else if (r == DB_OK) {
			error = DIR_ERR_NOT_FOUND;
		}
		db_stmt_done(dir->db, st);
	}
	pthread_mutex_unlock(&dir->lock);
	free(addr);
	return error;
}

enum dir_error dir_user_lookup(struct dir *dir, const char *address, struct dir_user *user_r)
{
	enum dir_error error;

	memset(user_r, 0, sizeof(*user_r));
	error = dir_account_get(dir, address, &user_r->address, &user_r->hash, &user_r->quota);
	if (error != DIR_OK)
		dir_user_free(user_r);
	return error;
}

enum dir_error dir_delivery_lookup(struct dir *dir, const char *address,
				   struct dir_delivery *info_r)
{
	memset(info_r, 0, sizeof(*info_r));
	return dir_account_get(dir, address, &info_r->address, NULL, &info_r->quota);
}

void dir_delivery_free(struct dir_delivery *info)
{
	free(info->address);
	memset(info, 0, sizeof(*info));
}

void dir_user_free(struct dir_user *user)
{
	free(user->address);
	if (user->hash != NULL) {
		memset(user->hash, 0, strlen(user->hash));
		free(user->hash);
	}
	memset(user, 0, sizeof(*user));
}

enum dir_error dir_user_list(struct dir *dir, const char *domain,
			     void (*cb)(void *ctx, const char *address, uint64_t quota), void *ctx)
{
	char *name = NULL;
	sqlite3_stmt *st;
	enum dir_error error = DIR_OK;
	enum db_result r;

	if (domain != NULL && (name = dir_domain_copy(domain)) == NULL)
		return DIR_ERR_INVALID;
	pthread_mutex_lock(&dir->lock);
	if (name != NULL && dir_exists(dir, "SELECT 1 FROM domains WHERE name = ?",
				       (const char *const[]){ name, NULL }) != 1)
		error = DIR_ERR_NOT_FOUND;
	st = error != DIR_OK ? NULL : name != NULL ?
		dir_prepare(dir, "SELECT address, quota FROM accounts WHERE domain = ? ORDER BY address",
			    (const char *const[]){ name, NULL }) :
		dir_prepare(dir, "SELECT address, quota FROM accounts ORDER BY address", NULL);
	if (st != NULL) {
		while ((r = db_step(dir->db, st, "list accounts")) == DB_ROW) {
			sqlite3_int64 quota = sqlite3_column_int64(st, 1);

			cb(ctx, (const char *)sqlite3_column_text(st, 0),
			   quota > 0 ? (uint64_t)quota : 0);
		}
		db_stmt_done(dir->db, st);
		if (r != DB_OK)
			error = DIR_ERR_TEMP;
	} else if (error == DIR_OK) {
		error = DIR_ERR_TEMP;
	}
	pthread_mutex_unlock(&dir->lock);
	free(name);
	return error;
}

/* ---- aliases ---- */

/* Split "a@x, B@y" on commas, validate and lower-case each target, and join
 * them as "a@x,b@y" (duplicates dropped). NULL when any is invalid. */
static char *dir_targets_normalize(const char *targets)
{
	char *copy = strdup(targets);
	char *out = calloc(1, strlen(targets) + 1);
	char *save = NULL;
	size_t n = 0;
	size_t len = 0;
	bool ok = copy != NULL && out != NULL;

	for (char *t = ok ? strtok_r(copy, ",", &save) : NULL; t != NULL && ok;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;

		while (*t == ' ' || *t == '\t')
			t++;
		end = t + strlen(t);
		while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (++n > DIR_ALIAS_TARGETS_MAX || !dir_address_normalize(t)) {
			ok = false;
			break;
		}
		/* Skip a target already in the list. */
		for (const char *p = out; *p != '\0';) {
			size_t plen = strcspn(p, ",");

			if (plen == strlen(t) && memcmp(p, t, plen) == 0) {
				t = NULL;
				break;
			}
			p += plen + (p[plen] == ',');
		}
		if (t == NULL)
			continue;
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, t, strlen(t) + 1);
		len += strlen(t);
	}
	free(copy);
	if (!ok || n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

enum dir_error dir_alias_add(struct dir *dir, const char *alias, const char *targets)
{
	char *addr = dir_alias_copy(alias);
	char *list = targets != NULL && strlen(targets) <= 256 * 1024 ?
		dir_targets_normalize(targets) : NULL;
	enum dir_error error;

	if (addr == NULL || list == NULL) {
		free(addr);
		free(list);
		return DIR_ERR_INVALID;
	}
	if (!dir_begin(dir)) {
		free(addr);
		free(list);
		return DIR_ERR_TEMP;
	}
	error = dir_address_free(dir, addr);
	if (error == DIR_OK)
		error = dir_exec(dir, "INSERT INTO aliases(alias, domain, targets) VALUES (?, ?, ?)",
				 (const char *const[]){ addr, strrchr(addr, '@') + 1, list, NULL });
	free(addr);
	free(list);
	return dir_end(dir, error);
}

enum dir_error dir_alias_del(struct dir *dir, const char *alias)
{
	char *addr = dir_alias_copy(alias);
	enum dir_error error;

	if (addr == NULL)
		return DIR_ERR_INVALID;
	error = dir_exec_locked(dir, "DELETE FROM aliases WHERE alias = ?",
				(const char *const[]){ addr, NULL });
	free(addr);
	return error;
}

enum dir_error dir_alias_list(struct dir *dir,
			      void (*cb)(void *ctx, const char *alias, const char *targets), void *ctx)
{
	sqlite3_stmt *st;
	enum db_result r;

	pthread_mutex_lock(&dir->lock);
	st = dir_prepare(dir, "SELECT alias, targets FROM aliases ORDER BY alias", NULL);
	if (st == NULL) {
		pthread_mutex_unlock(&dir->lock);
		return DIR_ERR_TEMP;
	}
	while ((r = db_step(dir->db, st, "list aliases")) == DB_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	db_stmt_done(dir->db, st);
	pthread_mutex_unlock(&dir->lock);
	return r == DB_OK ? DIR_OK : DIR_ERR_TEMP;
}
