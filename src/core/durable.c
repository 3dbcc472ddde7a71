/* durable - crash-safe files and folders relative to folder descriptors;
 * see durable.h. */
#include "core/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fsync a folder given relative to dirfd ("." is dirfd itself). */
static int durable_sync_folder(int dirfd, const char *path)
{
	int fd, rc, saved;

	if (strcmp(path, ".") == 0 && dirfd != AT_FDCWD)
		return fsync(dirfd);
	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Close fd keeping errno (of the failure being reported). */
static void durable_close_keep(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

int durable_open_new(int dirfd, const char *name)
{
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int durable_commit(int dirfd, int fd, const char *tmp_name, const char *name,
		   const char **step_r)
{
	const char *step = NULL;

	if (fsync(fd) < 0)
		step = "fsync";
	durable_close_keep(fd);
	if (step == NULL && renameat(dirfd, tmp_name, dirfd, name) < 0)
		step = "rename";
	if (step != NULL) {
		int saved = errno;

		unlinkat(dirfd, tmp_name, 0);
		errno = saved;
	} else if (durable_sync_folder(dirfd, ".") < 0) {
		step = "fsync folder";
	}
	if (step_r != NULL)
		*step_r = step;
	return step == NULL ? 0 : -1;
}

int durable_write(int dirfd, const char *name, const void *data, size_t len,
		  const char **step_r)
{
	const char *p = data;
	char tmp[4096];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		if (step_r != NULL)
			*step_r = "create";
		return -1;
	}
	/* A crash can leave NAME.tmp; unlinkat removes a link planted
	 * there, never what it points to. */
	unlinkat(dirfd, tmp, 0);
	fd = durable_open_new(dirfd, tmp);
	if (fd < 0) {
		if (step_r != NULL)
			*step_r = "create";
		return -1;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			durable_close_keep(fd);
			unlinkat(dirfd, tmp, 0);
			if (step_r != NULL)
				*step_r = "write";
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return durable_commit(dirfd, fd, tmp, name, step_r);
}

int durable_mkdir(int dirfd, const char *path, mode_t mode)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');

	if (mkdirat(dirfd, path, mode) < 0)
		return errno == EEXIST ? 0 : -1;
	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	return durable_sync_folder(dirfd, parent);
}

int durable_create(int dirfd, const char *name)
{
	int fd = durable_open_new(dirfd, name);

	if (fd < 0)
		return -1;
	if (fsync(fd) < 0) {
		durable_close_keep(fd);
		return -1;
	}
	close(fd);
	return durable_sync_folder(dirfd, ".");
}

int durable_remove(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0)
		return errno == ENOENT ? 0 : -1;
	return durable_sync_folder(dirfd, ".");
}
