/* dir-private - what the files of the directory module share and nobody
 * else sees: the handle and the statement helper. Internal to src/dir. */
#ifndef TERN_DIR_DIR_PRIVATE_H
#define TERN_DIR_DIR_PRIVATE_H

#include <pthread.h>

#include <sqlite3.h>

#include "core/db.h"
#include "dir/dir.h"

#define DIR_LOCAL_MAX 64        /* RFC 5321 4.5.3.1.1 */
#define DIR_DOMAIN_MAX 253      /* RFC 1035 2.3.4, without the final dot */
#define DIR_ADDRESS_MAX (DIR_LOCAL_MAX + 1 + DIR_DOMAIN_MAX)

struct dir_cache;

struct dir {
	struct db *db;
	struct dir_cache *cache;      /* dir-cache.h; NULL: none */
	/* Serialises whole operations (a transaction is several statements;
	 * the connection itself is also opened SQLITE_OPEN_FULLMUTEX). */
	pthread_mutex_t lock;
};

/* The statement for `sql` (a literal: it comes from the connection's
 * cache, db_stmt) with the NULL-terminated text arguments bound in order
 * (the strings must outlive the statement's use); give it back with
 * db_stmt_done(dir->db, st). NULL on error. Call with dir->lock held. */
sqlite3_stmt *dir_prepare(struct dir *dir, const char *sql, const char *const *args);

#endif
