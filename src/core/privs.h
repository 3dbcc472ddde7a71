/* privs - giving up root: every tern command that touches the data folder
 * runs as the unprivileged [server] user, so every file in it has one owner.
 *
 * Two steps, so that `tern serve` can create files as root in between
 * (directory.db, the self-signed pair in DATA/tls) and bind its ports:
 * privs_prepare() before anything is created, privs_drop() when root is no
 * longer needed. The other subcommands call both at once, before they open
 * anything in the data folder.
 *
 * Ownership is fixed only for a command that writes, and only of what tern
 * itself creates: the data folder when privs_prepare created it, and the
 * known entries of privs.c's table (directory.db and its -wal/-shm, mail/,
 * serve.lock, tls/ and its cert.pem/key.pem), each of the expected type, never through
 * a symbolic link, never a regular file with a second hard link. Anything
 * else in the data folder, and a data folder that existed before, keep
 * their owner. */
#ifndef TERN_CORE_PRIVS_H
#define TERN_CORE_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

struct privs {
	const char *data_dir;   /* borrowed from the configuration */
	bool writes;            /* the command creates or changes data */
	bool root;              /* started as root: privs_drop switches users */
	bool created;           /* privs_prepare created data_dir */
	uid_t uid;              /* of [server] user (when root) */
	gid_t gid;
	char user[64];
};

/* Look up `user` when running as root (an unknown user and "root" are
 * errors), and when `writes`, create data_dir (0700) if it is missing.
 * A read-only command (writes false) creates and changes nothing. Returns
 * 0, or -1 with a malloc'd *error_r. */
int privs_prepare(struct privs *privs, const char *user, const char *data_dir, bool writes,
		  char **error_r);

/* When root: for a writing command, give tern's own entries of the data
 * folder (see above) to the user; then switch to the user's uid and gid
 * with no supplementary groups, for good. Does nothing when not root.
 * Returns 0, or -1 with a malloc'd *error_r. */
int privs_drop(const struct privs *privs, char **error_r);

/* The user the process switched to (privs_drop as root), or NULL when it
 * never ran as root: for error messages that name who could not read a
 * path. */
const char *privs_dropped_user(void);

#endif
