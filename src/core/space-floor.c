/* space-floor - the free-space floor of a folder's file system; see
 * space-floor.h. */
#include "core/space-floor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/log.h"

/* How long one statvfs answer is trusted. */
#define SPACE_FLOOR_RECHECK_MS 1000

void space_floor_init(struct space_floor *sf, const char *module, const char *path,
		      uint64_t min_free)
{
	sf->module = module;
	sf->path = strdup(path);
	if (sf->path == NULL)
		abort();
	sf->min_free = min_free;
	pthread_mutex_init(&sf->lock, NULL);
	sf->checked_ms = -1;
	sf->ok = true;
}

void space_floor_deinit(struct space_floor *sf)
{
	pthread_mutex_destroy(&sf->lock);
	free(sf->path);
	sf->path = NULL;
}

void space_floor_set(struct space_floor *sf, uint64_t min_free)
{
	pthread_mutex_lock(&sf->lock);
	sf->min_free = min_free;
	sf->checked_ms = -1;
	pthread_mutex_unlock(&sf->lock);
}

static int64_t space_floor_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool space_floor_ok(struct space_floor *sf)
{
	int64_t now = space_floor_now_ms();
	struct statvfs vfs;
	bool ok;

	pthread_mutex_lock(&sf->lock);
	if (sf->min_free == 0) {
		sf->ok = true;
	} else if (sf->checked_ms < 0 || now - sf->checked_ms >= SPACE_FLOOR_RECHECK_MS) {
		bool was = sf->checked_ms < 0 || sf->ok;

		sf->checked_ms = now;
		if (statvfs(sf->path, &vfs) < 0) {
			sf->ok = true;   /* unknown: refuse nothing for it */
		} else {
			uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;

			sf->ok = avail >= sf->min_free;
			if (was != sf->ok)
				log_event(sf->ok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, sf->module,
					  NULL, NULL, "msg=\"%s\" path=%s free=%llu min_free_space=%llu",
					  sf->ok ? "free space above the floor again: taking mail"
						    : "free space below [limits] min_free_space:"
						      " refusing mail",
					  sf->path, (unsigned long long)avail,
					  (unsigned long long)sf->min_free);
		}
	}
	ok = sf->ok;
	pthread_mutex_unlock(&sf->lock);
	return ok;
}
