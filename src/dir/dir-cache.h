/* dir-cache - the directory's recent answers to dir_resolve, shared by
 * every thread, so that an I/O loop can answer an RCPT it has just seen
 * without a job (DESIGN.md section 3: the directory cache). Internal to
 * src/dir; the callers' side is dir_resolve_cached (dir-resolve.h).
 *
 * An answer is kept with the directory's version read just before the
 * read transaction that made it: SQLite's data_version, on a read-only
 * connection of the cache's own that never waits (busy timeout 0, and
 * no sleep in SQLite's WAL read retries: db_params.no_sleep). Any
 * commit since, by this process or another (`tern user del`, `tern alias
 * add`), changes that version, and the answer is no longer given: a hit
 * is never older than the directory. The connection of its own is what
 * lets the server's own commits count too (data_version does not change
 * for commits made on the connection that reads it). A busy lock or a
 * busy file is a miss, never a wait.
 *
 * Kept: DIR_OK with at most DIR_CACHE_RECIPIENTS recipients and no
 * unknown targets, DIR_ERR_NOT_FOUND and DIR_ERR_NO_DOMAIN; in
 * DIR_CACHE_SLOTS slots chosen by a hash of the address and the options,
 * a new answer replacing the one in its slot. A slot holds its key and at
 * most DIR_CACHE_RECIPIENTS addresses: a few KiB at most, a few MiB in all. */
#ifndef TERN_DIR_DIR_CACHE_H
#define TERN_DIR_DIR_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "dir/dir-resolve.h"

#define DIR_CACHE_SLOTS 1024
#define DIR_CACHE_RECIPIENTS 8

struct dir_cache;

/* The cache of the directory in FOLDER/NAME (the file exists). NULL (logged)
 * when its connection cannot be opened: the directory then works without. */
struct dir_cache *dir_cache_open(const char *folder, const char *name);
void dir_cache_close(struct dir_cache **cache);

/* The directory's version now; waits for the cache's connection when
 * `wait`, else false when another thread has it. False too when it cannot
 * be read (a busy file). */
bool dir_cache_version(struct dir_cache *cache, bool wait, int64_t *version_r);

/* The options of an answer, as dir_resolve applies them: the separators
 * ("" for none) and the postmaster fallback ("" for none). */
struct dir_cache_options {
	const char *separators;
	const char *postmaster;
};

/* Keep dir_resolve's answer for `address` (as asked, any case) under
 * `options`, made from the directory at `version`, when it is of a kind
 * kept (above). */
void dir_cache_put(struct dir_cache *cache, const char *address,
		   const struct dir_cache_options *options, int64_t version, enum dir_error error,
		   const struct dir_resolution *res);

/* The answer kept for `address` under `options` when the directory has not
 * changed since it was made: true with *error_r and a copy in *res_r.
 * Never waits. */
bool dir_cache_get(struct dir_cache *cache, const char *address,
		   const struct dir_cache_options *options, enum dir_error *error_r,
		   struct dir_resolution *res_r);

#endif
