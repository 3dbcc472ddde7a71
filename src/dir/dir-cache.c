/* dir-cache - recent dir_resolve answers, valid while the directory's
 * data_version stays the same; see dir-cache.h. */
#include "dir/dir-cache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/log.h"
#include "dir/dir-private.h"

/* The key: the address in lower case, the separators and the postmaster,
 * each ended by '\n' (which none of them holds). Longer ones are not kept. */
#define DIR_CACHE_KEY_MAX 1024

struct dir_cache_slot {
	char *key;                     /* NULL: empty */
	int64_t version;
	enum dir_error error;
	struct dir_resolution res;     /* recipients only */
};

struct dir_cache {
	pthread_mutex_t lock;          /* the slots */
	pthread_mutex_t probe_lock;    /* the connection */
	struct db *probe;
	struct dir_cache_slot slots[DIR_CACHE_SLOTS];
};

struct dir_cache *dir_cache_open(const char *folder, const char *name)
{
	static const struct db_params params = {
		.service = "dir",
		.label = "db=directory.db (cache)",
		.busy_timeout_ms = 0,
		.read_only = true,
		.no_sleep = true,
	};
	struct dir_cache *cache = calloc(1, sizeof(*cache));
	char *error = NULL;

	if (cache == NULL)
		abort();
	if (db_open(folder, name, &params, &cache->probe, &error) != DB_OK) {
		log_event(LOG_LEVEL_WARN, "dir", NULL, NULL,
			  "msg=\"no directory cache: every lookup reads the directory\" error=\"%s\"",
			  error);
		free(error);
		free(cache);
		return NULL;
	}
	pthread_mutex_init(&cache->lock, NULL);
	pthread_mutex_init(&cache->probe_lock, NULL);
	return cache;
}

static void dir_cache_slot_clear(struct dir_cache_slot *slot)
{
	free(slot->key);
	slot->key = NULL;
	dir_resolution_free(&slot->res);
}

void dir_cache_close(struct dir_cache **cachep)
{
	struct dir_cache *cache = *cachep;

	if (cache == NULL)
		return;
	for (size_t i = 0; i < DIR_CACHE_SLOTS; i++)
		dir_cache_slot_clear(&cache->slots[i]);
	db_close(&cache->probe);
	pthread_mutex_destroy(&cache->probe_lock);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
	*cachep = NULL;
}

bool dir_cache_version(struct dir_cache *cache, bool wait, int64_t *version_r)
{
	sqlite3_stmt *stmt;
	bool ok = false;

	if (wait)
		pthread_mutex_lock(&cache->probe_lock);
	else if (pthread_mutex_trylock(&cache->probe_lock) != 0)
		return false;
	/* Its own read transaction: it notices the commits since the last.
	 * Stepped without db_step, whose log line a busy file does not
	 * deserve here: it is only a miss. */
	stmt = db_stmt(cache->probe, "PRAGMA data_version");
	if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
		*version_r = sqlite3_column_int64(stmt, 0);
		ok = true;
	}
	db_stmt_done(cache->probe, stmt);
	pthread_mutex_unlock(&cache->probe_lock);
	return ok;
}

/* The key's length, 0 when it is too long for one. */
static size_t dir_cache_key(char *key, const char *address, const struct dir_cache_options *o)
{
	int n;

	if (strchr(address, '\n') != NULL || strchr(o->separators, '\n') != NULL ||
	    strchr(o->postmaster, '\n') != NULL)
		return 0;
	n = snprintf(key, DIR_CACHE_KEY_MAX, "%s\n%s\n%s\n", address, o->separators, o->postmaster);
	if (n < 0 || n >= DIR_CACHE_KEY_MAX)
		return 0;
	for (char *p = key; *p != '\n'; p++)
		*p = (char)tolower((unsigned char)*p);
	return (size_t)n;
}

/* FNV-1a. */
static struct dir_cache_slot *dir_cache_slot(struct dir_cache *cache, const char *key, size_t len)
{
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211u;
	return &cache->slots[h % DIR_CACHE_SLOTS];
}

static void dir_cache_copy(struct dir_resolution *to, const struct dir_resolution *from)
{
	memset(to, 0, sizeof(*to));
	if (from->n_recipients == 0)
		return;
	to->recipients = calloc(from->n_recipients, sizeof(*to->recipients));
	if (to->recipients == NULL)
		abort();
	for (size_t i = 0; i < from->n_recipients; i++) {
		to->recipients[i] = from->recipients[i];
		if ((to->recipients[i].address = strdup(from->recipients[i].address)) == NULL)
			abort();
	}
	to->n_recipients = from->n_recipients;
}

void dir_cache_put(struct dir_cache *cache, const char *address,
		   const struct dir_cache_options *options, int64_t version, enum dir_error error,
		   const struct dir_resolution *res)
{
	char key[DIR_CACHE_KEY_MAX];
	size_t len;
	struct dir_cache_slot *slot;

	if (cache == NULL || res->n_unknown > 0 || res->n_recipients > DIR_CACHE_RECIPIENTS ||
	    (error != DIR_OK && error != DIR_ERR_NOT_FOUND && error != DIR_ERR_NO_DOMAIN) ||
	    (len = dir_cache_key(key, address, options)) == 0)
		return;
	slot = dir_cache_slot(cache, key, len);
	pthread_mutex_lock(&cache->lock);
	dir_cache_slot_clear(slot);
	if ((slot->key = strdup(key)) == NULL)
		abort();
	slot->version = version;
	slot->error = error;
	dir_cache_copy(&slot->res, res);
	pthread_mutex_unlock(&cache->lock);
}

bool dir_cache_get(struct dir_cache *cache, const char *address,
		   const struct dir_cache_options *options, enum dir_error *error_r,
		   struct dir_resolution *res_r)
{
	char key[DIR_CACHE_KEY_MAX];
	size_t len;
	struct dir_cache_slot *slot;
	int64_t kept = 0, now;
	bool found = false;

	memset(res_r, 0, sizeof(*res_r));
	if (cache == NULL || (len = dir_cache_key(key, address, options)) == 0)
		return false;
	slot = dir_cache_slot(cache, key, len);
	pthread_mutex_lock(&cache->lock);
	if (slot->key != NULL && strcmp(slot->key, key) == 0) {
		found = true;
		kept = slot->version;
		*error_r = slot->error;
		dir_cache_copy(res_r, &slot->res);
	}
	pthread_mutex_unlock(&cache->lock);
	if (found && dir_cache_version(cache, false, &now) && now == kept)
		return true;
	dir_resolution_free(res_r);
	return false;
}
