/* datadir - the data folder's server lock and usability checks; see
 * datadir.h. */
#include "core/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"

#define DATADIR_LOCK_NAME "serve.lock"

/* The name of the user this process runs as, for messages. */
static void datadir_user(char *out, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "uid %u", (unsigned)geteuid());
}

/* The pid written by the holder, or "unknown" while it has not written
 * it yet. */
static void datadir_holder(int fd, char *out, size_t size)
{
	char text[24];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	char *end;
	long pid;

	snprintf(out, size, "unknown");
	if (n <= 0)
		return;
	text[n] = '\0';
	pid = strtol(text, &end, 10);
	if (pid > 0 && (*end == '\n' || *end == '\0'))
		snprintf(out, size, "%ld", pid);
}

int datadir_lock(const char *data_dir, char **error_r)
{
	char path[4200], pid[24], holder[24];
	int fd, len;

	*error_r = NULL;
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
		return errmsg_set(error_r, "cannot create data folder %s: %s", data_dir,
				    strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", data_dir, DATADIR_LOCK_NAME);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return errmsg_set(error_r, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			datadir_holder(fd, holder, sizeof(holder));
			errmsg_set(error_r, "data folder %s is in use by another tern serve "
				     "(pid %s); one server per data folder", data_dir, holder);
		} else {
			errmsg_set(error_r, "cannot lock %s: %s", path, strerror(e));
		}
		close(fd);
		return -1;
	}
	/* Over the old pid, then cut to length: overwriting needs no new
	 * block, so a server restarted on a full disk still starts (its
	 * users must be able to log in and delete mail). Failing that, the
	 * lock holds without the pid, which only names the holder. */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (pwrite(fd, pid, (size_t)len, 0) != len || ftruncate(fd, len) < 0)
		log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
			  "msg=\"cannot write the pid into the lock file\" file=\"%s\" error=\"%s\"",
			  path, strerror(errno));
	return fd;
}

int datadir_check_writable(const char *data_dir, char **error_r)
{
	char path[4200], user[64];
	int fd;

	*error_r = NULL;
	snprintf(path, sizeof(path), "%s/.write-test.%ld", data_dir, (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || close(fd) < 0 || unlink(path) < 0) {
		int e = errno;

		datadir_user(user, sizeof(user));
		return errmsg_set(error_r, "data folder %s is not writable by user %s: %s",
				    data_dir, user, strerror(e));
	}
	return 0;
}

/* The folder that holds `path` ("/var/lib/tern/" -> "/var/lib"). */
static void datadir_parent(const char *path, char *out, size_t size)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0)
		snprintf(out, size, ".");
	else
		snprintf(out, size, "%.*s", (int)len, path);
}

int datadir_check_usable(const char *data_dir, bool root_creates, bool *created_r,
			 char **error_r)
{
	char parent[4096], user[64];
	struct stat st;

	*error_r = NULL;
	*created_r = false;
	datadir_user(user, sizeof(user));
	if (stat(data_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return errmsg_set(error_r, "data folder %s is not a folder", data_dir);
		return datadir_check_writable(data_dir, error_r);
	}
	if (errno != ENOENT)
		return errmsg_set(error_r, "data folder %s cannot be reached by user %s: %s",
				    data_dir, user, strerror(errno));
	/* Missing: serve creates it (one level, as mkdir does), as root when
	 * it starts as root, else as this user. */
	datadir_parent(data_dir, parent, sizeof(parent));
	if (stat(parent, &st) < 0 || access(parent, root_creates ? X_OK : W_OK | X_OK) < 0)
		return errmsg_set(error_r, "data folder %s does not exist and cannot be created "
				    "in %s by user %s: %s", data_dir, parent, user, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(error_r, "data folder %s does not exist and cannot be created: "
				    "%s is not a folder", data_dir, parent);
	*created_r = true;
	return 0;
}
