/* space-floor - the free-space floor of a folder's file system ([limits]
 * min_free_space): whether there is still room to take mail, looked at
 * with statvfs at most once a second, the change logged. Shared by the
 * queue (SMTP's MAIL and DATA) and the store (IMAP APPEND). */
#ifndef TERN_CORE_SPACE_FLOOR_H
#define TERN_CORE_SPACE_FLOOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct space_floor {
	const char *module;        /* for the log: "queue", "store" */
	char *path;
	uint64_t min_free;         /* bytes; 0 = no floor */
	pthread_mutex_t lock;
	int64_t checked_ms;        /* CLOCK_MONOTONIC of the last statvfs; -1: never */
	bool ok;
};

/* `path` is copied; `module` must outlive the floor. */
void space_floor_init(struct space_floor *sf, const char *module, const char *path,
		      uint64_t min_free);
void space_floor_deinit(struct space_floor *sf);
/* Change the floor (0 = none); the next space_floor_ok looks again. */
void space_floor_set(struct space_floor *sf, uint64_t min_free);
/* Whether the free space (for unprivileged users: f_bavail) is at least
 * the floor; true when there is no floor or statvfs fails. Thread-safe. */
bool space_floor_ok(struct space_floor *sf);

#endif
