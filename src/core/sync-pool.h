/* sync-pool - fsyncs of many files at once: a few helper threads and the
 * caller issue them concurrently, so that the disk has several flushes in
 * flight (an fsync's latency is mostly the device's, and a journalling
 * file system commits concurrent ones together) and a round of N files
 * costs far less than N fsyncs one after the other. A round of one is
 * synced by the caller alone. One round at a time per pool. */
#ifndef TERN_CORE_SYNC_POOL_H
#define TERN_CORE_SYNC_POOL_H

#include <stddef.h>

struct sync_pool;
/* 0, or -1 with *error_r (errmsg.h) when its threads cannot start. */
int sync_pool_start(struct sync_pool **pool_r, char **error_r);
/* Stop and join the threads; *pool NULL afterwards (NULL: nothing). */
void sync_pool_stop(struct sync_pool **pool);
/* fsync each of fds[0..n); errs[i] gets 0 or the errno of its failure.
 * Returns when all are done. */
void sync_pool_all(struct sync_pool *pool, const int *fds, int *errs, size_t n);

#endif
