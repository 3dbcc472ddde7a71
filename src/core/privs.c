/* privs - switch to the unprivileged user, and give it what tern created as
 * root; see privs.h. */
#include "core/privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What tern itself creates in the data folder, with the type it has. An
 * entry of another type (a symbolic link, a FIFO where a file belongs) is
 * not tern's and keeps its owner. */
struct privs_entry {
	const char *name;
	mode_t type;                        /* S_IFREG or S_IFDIR */
	const struct privs_entry *children; /* for a folder: its known entries */
	size_t n_children;
};

static const struct privs_entry privs_tls_entries[] = {
	{ "cert.pem", S_IFREG, NULL, 0 },
	{ "key.pem", S_IFREG, NULL, 0 },
};

static const struct privs_entry privs_data_entries[] = {
	{ "directory.db", S_IFREG, NULL, 0 },
	{ "directory.db-wal", S_IFREG, NULL, 0 },
	{ "directory.db-shm", S_IFREG, NULL, 0 },
	{ "mail", S_IFDIR, NULL, 0 },
	{ "serve.lock", S_IFREG, NULL, 0 },
	{ "tls", S_IFDIR, privs_tls_entries, ARRAY_SIZE(privs_tls_entries) },
};

static char privs_switched_to[64];

static int privs_fail(char **error_r, const char *what, const char *path)
{
	if (asprintf(error_r, "%s %s: %s", what, path, strerror(errno)) < 0)
		*error_r = NULL;
	return -1;
}

int privs_prepare(struct privs *privs, const char *user, const char *data_dir, bool writes,
		  char **error_r)
{
	struct passwd *pw;

	*error_r = NULL;
	memset(privs, 0, sizeof(*privs));
	privs->data_dir = data_dir;
	privs->writes = writes;
	privs->root = geteuid() == 0;
	if (privs->root) {
		pw = getpwnam(user);
		if (pw == NULL) {
			if (asprintf(error_r, "[server] user %s does not exist (create it, e.g. "
				     "useradd --system tern, or set [server] user)", user) < 0)
				*error_r = NULL;
			return -1;
		}
		if (pw->pw_uid == 0) {
			if (asprintf(error_r, "[server] user must not be root") < 0)
				*error_r = NULL;
			return -1;
		}
		if (strlen(user) >= sizeof(privs->user)) {
			if (asprintf(error_r, "[server] user: name too long") < 0)
				*error_r = NULL;
			return -1;
		}
		privs->uid = pw->pw_uid;
		privs->gid = pw->pw_gid;
		snprintf(privs->user, sizeof(privs->user), "%s", user);
	}
	if (writes) {
		if (mkdir(data_dir, 0700) == 0)
			privs->created = true;
		else if (errno != EEXIST)
			return privs_fail(error_r, "cannot create data folder", data_dir);
	}
	return 0;
}

/* Give `fd` (an O_PATH descriptor) to the user when it has another owner. */
static int privs_chown_fd(const struct privs *privs, int fd, const struct stat *st,
			  const char *path, char **error_r)
{
	if (st->st_uid == privs->uid && st->st_gid == privs->gid)
		return 0;
	if (fchownat(fd, "", privs->uid, privs->gid, AT_EMPTY_PATH) < 0)
		return privs_fail(error_r, "cannot chown", path);
	return 0;
}

/* One known entry of the folder `dirfd` (named `dir` in messages), then its
 * own known entries. The entry is opened without following a link and
 * checked and chowned through that descriptor, so it cannot be swapped for
 * a link between the check and the chown. */
static int privs_fix_entry(const struct privs *privs, int dirfd, const char *dir,
			   const struct privs_entry *entry, char **error_r)
{
	char path[4200];
	struct stat st;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, entry->name);
	fd = openat(dirfd, entry->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : privs_fail(error_r, "cannot open", path);
	if (fstat(fd, &st) < 0) {
		ret = privs_fail(error_r, "cannot stat", path);
		goto out;
	}
	/* Not what tern creates there: not tern's to give away. A second hard
	 * link could make a file elsewhere (/etc/shadow) ours. */
	if ((st.st_mode & S_IFMT) != entry->type || (S_ISREG(st.st_mode) && st.st_nlink != 1))
		goto out;
	ret = privs_chown_fd(privs, fd, &st, path, error_r);
	for (size_t i = 0; ret == 0 && i < entry->n_children; i++)
		ret = privs_fix_entry(privs, fd, path, &entry->children[i], error_r);
out:
	close(fd);
	return ret;
}

/* The data folder itself when privs_prepare made it, and the known
 * entries. */
static int privs_fix_data(const struct privs *privs, char **error_r)
{
	struct stat st;
	int fd, ret = 0;

	/* A folder that privs_prepare created is no link; one that existed
	 * may be reached through links of the operator's choosing. */
	fd = open(privs->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC |
		  (privs->created ? O_NOFOLLOW : 0));
	if (fd < 0)
		return privs_fail(error_r, "cannot open data folder", privs->data_dir);
	if (privs->created) {
		if (fstat(fd, &st) < 0)
			ret = privs_fail(error_r, "cannot stat", privs->data_dir);
		else
			ret = privs_chown_fd(privs, fd, &st, privs->data_dir, error_r);
	}
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(privs_data_entries); i++)
		ret = privs_fix_entry(privs, fd, privs->data_dir, &privs_data_entries[i], error_r);
	close(fd);
	return ret;
}

int privs_drop(const struct privs *privs, char **error_r)
{
	*error_r = NULL;
	if (!privs->root)
		return 0;
	if (privs->writes && privs_fix_data(privs, error_r) < 0)
		return -1;
	if (setgroups(0, NULL) < 0 || setgid(privs->gid) < 0 || setuid(privs->uid) < 0)
		return privs_fail(error_r, "cannot switch to user", privs->user);
	/* Make sure there is no way back. */
	if (setuid(0) == 0) {
		if (asprintf(error_r, "privileges could not be dropped") < 0)
			*error_r = NULL;
		return -1;
	}
	snprintf(privs_switched_to, sizeof(privs_switched_to), "%s", privs->user);
	return 0;
}

const char *privs_dropped_user(void)
{
	return privs_switched_to[0] != '\0' ? privs_switched_to : NULL;
}
