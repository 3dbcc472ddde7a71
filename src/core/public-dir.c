/* public-dir - creating and checking [server] public_dir; see
 * public-dir.h. */
#include "core/public-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errmsg.h"

int public_dir_prepare(const char *path, uid_t uid, gid_t gid, char **error_r)
{
	bool made = false;
	struct stat st;
	int fd;

	*error_r = NULL;
	if (path[0] != '/')
		return errmsg_set(error_r, "public_dir %s: not an absolute path", path);
	if (mkdir(path, 0755) == 0)
		made = true;
	else if (errno != EEXIST)
		return errmsg_set(error_r, "public_dir %s: cannot create it: %s", path,
				  strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(error_r, "public_dir %s: %s", path,
				  errno == ELOOP || errno == ENOTDIR ? "not a folder (a symbolic link?)"
								     : strerror(errno));
	/* Ours from the start: the umask must not decide who gets in. */
	if (made && (fchown(fd, uid, gid) < 0 || fchmod(fd, 0755) < 0)) {
		int err = errno;

		close(fd);
		return errmsg_set(error_r, "public_dir %s: cannot give it to uid %lu: %s", path,
				  (unsigned long)uid, strerror(err));
	}
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return errmsg_set(error_r, "public_dir %s: %s", path, strerror(err));
	}
	close(fd);
	if (st.st_uid != 0 && st.st_uid != uid)
		return errmsg_set(error_r,
				  "public_dir %s: owned by uid %lu, neither root nor the server's user",
				  path, (unsigned long)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return errmsg_set(error_r,
				  "public_dir %s: writable by group or others (mode %04o): another "
				  "user could replace the server's socket",
				  path, (unsigned)(st.st_mode & 07777));
	return 0;
}
