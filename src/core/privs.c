/* privs - switch to the unprivileged user; see privs.h. */
#include "core/privs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int privs_fail(char **error_r, const char *what, const char *path)
{
	if (asprintf(error_r, "%s %s: %s", what, path, strerror(errno)) < 0)
		*error_r = NULL;
	return -1;
}

/* chown every entry of one folder (not recursive) that has another owner. */
static int privs_chown_entries(const char *dir, uid_t uid, gid_t gid, char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : privs_fail(error_r, "cannot open", dir);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_uid == uid && st.st_gid == gid)
			continue;
		if (fchownat(dirfd(d), de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			ret = privs_fail(error_r, "cannot chown in", dir);
	}
	closedir(d);
	return ret;
}

/* The [server] user's entry; an unknown user and root are refused. */
static struct passwd *privs_user(const char *user, char **error_r)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		if (asprintf(error_r, "[server] user %s does not exist (create it, e.g. "
			     "useradd --system tern, or set [server] user)", user) < 0)
			*error_r = NULL;
		return NULL;
	}
	if (pw->pw_uid == 0) {
		if (asprintf(error_r, "[server] user must not be root") < 0)
			*error_r = NULL;
		return NULL;
	}
	return pw;
}

static int privs_setuid(const struct passwd *pw, const char *user, char **error_r)
{
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return privs_fail(error_r, "cannot switch to user", user);
	/* Make sure there is no way back. */
	if (setuid(0) == 0) {
		if (asprintf(error_r, "privileges could not be dropped") < 0)
			*error_r = NULL;
		return -1;
	}
	return 0;
}

int privs_switch_user(const char *user, char **error_r)
{
	struct passwd *pw;

	*error_r = NULL;
	if (geteuid() != 0)
		return 0;
	pw = privs_user(user, error_r);
	return pw != NULL ? privs_setuid(pw, user, error_r) : -1;
}

int privs_drop(const char *user, const char *data_dir, char **error_r)
{
	struct passwd *pw;
	char tls_dir[4096];

	*error_r = NULL;
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
		return privs_fail(error_r, "cannot create data folder", data_dir);
	if (geteuid() != 0)
		return 0;

	pw = privs_user(user, error_r);
	if (pw == NULL)
		return -1;
	if (chown(data_dir, pw->pw_uid, pw->pw_gid) < 0)
		return privs_fail(error_r, "cannot chown", data_dir);
	if (privs_chown_entries(data_dir, pw->pw_uid, pw->pw_gid, error_r) < 0)
		return -1;
	snprintf(tls_dir, sizeof(tls_dir), "%s/tls", data_dir);
	if (privs_chown_entries(tls_dir, pw->pw_uid, pw->pw_gid, error_r) < 0)
		return -1;
	return privs_setuid(pw, user, error_r);
}
