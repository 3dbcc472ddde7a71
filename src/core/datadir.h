/* datadir - the data folder as a whole: one `tern serve` per folder (an
 * flock on DATA/serve.lock, which also holds the server's pid), and whether
 * the user tern runs as can write there. */
#ifndef TERN_CORE_DATADIR_H
#define TERN_CORE_DATADIR_H

#include <stdbool.h>

/* Take the server's lock on data_dir (created 0700 when missing): open
 * DATA/serve.lock (0600, never through a symlink), flock it exclusively
 * without waiting, and write the pid into it (when that fails, a full
 * disk, the lock is kept and a warning logged). Returns the descriptor
 * (close-on-exec), to be kept open for the life of the process: the lock
 * goes when the process does, however it ends. A forked child must close
 * its copy but never unlock it (LOCK_UN on any copy releases the lock).
 * Returns -1 with a malloc'd *error_r when another process holds the lock
 * (naming its pid) or the file cannot be opened. */
int datadir_lock(const char *data_dir, char **error_r);

/* Whether the current user can create (and remove) a file in data_dir.
 * Returns 0, or -1 with a malloc'd *error_r naming the folder and the
 * user. */
int datadir_check_writable(const char *data_dir, char **error_r);

/* For `tern check`, as the user the server will run as: data_dir is a
 * writable folder, or it is missing and `tern serve` can create it
 * (root_creates: serve starts as root and creates it before dropping
 * privileges, so only the way to it must be open to the user). Returns 0
 * with *created_r telling whether the folder is still to be created, or
 * -1 with a malloc'd *error_r. */
int datadir_check_usable(const char *data_dir, bool root_creates, bool *created_r,
			 char **error_r);

#endif
