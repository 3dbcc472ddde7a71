/* reserve - the data folder's space reserve: a file of real blocks that
 * `tern serve` keeps in DATA, given up when the disk is full so that users
 * can still delete mail (an expunge must write to index.db's WAL before
 * it frees any message file), and made again once there is room. See
 * store.h (store_reserve_*). */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

#define STORE_RESERVE_NAME "space.reserve"
/* Enough for the WAL frames of many expunges (4 KiB pages). */
#define STORE_RESERVE_BYTES (8u << 20)

static pthread_mutex_t store_reserve_lock = PTHREAD_MUTEX_INITIALIZER;
static char store_reserve_dir[4096];    /* DATA; "" until store_reserve_init */
static char store_reserve_path[4200];
static bool store_reserve_held;

/* Under the lock: make the file, with its blocks allocated. */
static bool store_reserve_make(void)
{
	int fd = open(store_reserve_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int err;

	if (fd < 0)
		return false;
	err = posix_fallocate(fd, 0, STORE_RESERVE_BYTES);
	if (err == 0 && fsync(fd) < 0)
		err = errno;
	close(fd);
	if (err != 0) {
		unlink(store_reserve_path);
		errno = err; /* posix_fallocate returns its error: for the log */
		return false;
	}
	store_reserve_held = true;
	return true;
}

void store_reserve_init(const char *data_dir)
{
	pthread_mutex_lock(&store_reserve_lock);
	snprintf(store_reserve_dir, sizeof(store_reserve_dir), "%s", data_dir);
	snprintf(store_reserve_path, sizeof(store_reserve_path), "%s/%s", data_dir,
		 STORE_RESERVE_NAME);
	if (!store_reserve_make())
		log_event(LOG_LEVEL_WARN, "store", NULL, NULL,
			  "msg=\"no room for the space reserve\" path=%s error=\"%s\"",
			  store_reserve_path, strerror(errno));
	pthread_mutex_unlock(&store_reserve_lock);
}

bool store_reserve_release(void)
{
	bool freed = false;

	pthread_mutex_lock(&store_reserve_lock);
	if (store_reserve_held && unlink(store_reserve_path) == 0) {
		freed = true;
		log_event(LOG_LEVEL_WARN, "store", NULL, NULL,
			  "msg=\"disk full: space reserve given up so that mail can be deleted\" path=%s",
			  store_reserve_path);
	}
	store_reserve_held = false;
	pthread_mutex_unlock(&store_reserve_lock);
	return freed;
}

void store_reserve_restore(void)
{
	struct statvfs vfs;

	pthread_mutex_lock(&store_reserve_lock);
	/* Only with room to spare, or it would take what it just gave. */
	if (store_reserve_dir[0] != '\0' && !store_reserve_held &&
	    statvfs(store_reserve_dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize > 4ull * STORE_RESERVE_BYTES &&
	    store_reserve_make())
		log_event(LOG_LEVEL_INFO, "store", NULL, NULL,
			  "msg=\"space reserve made again\" path=%s", store_reserve_path);
	pthread_mutex_unlock(&store_reserve_lock);
}
