/* durable - files and folders that a crash or a power loss cannot leave
 * half made: a file is written under a temporary name, fsync'd, renamed
 * into place and its folder fsync'd, so its name holds the old content or
 * the whole new one, never a part; a folder or file entry that is created
 * or removed has its parent folder fsync'd before the call returns.
 *
 * Everything works relative to an open folder (dirfd; AT_FDCWD for the
 * current one), never follows a symbolic link at the last component
 * (O_NOFOLLOW, O_EXCL), and creates files 0600 whatever the umask. Every
 * function is blocking (fsync): on an I/O thread call it only from a job.
 * Failures return -1 with errno set. */
#ifndef TERN_CORE_DURABLE_H
#define TERN_CORE_DURABLE_H

#include <stddef.h>
#include <sys/types.h>

/* Create `name` in dirfd as a new file (O_CREAT | O_EXCL | O_NOFOLLOW,
 * 0600), open for writing: the descriptor, or -1 (EEXIST when anything,
 * a symbolic link included, has that name). */
int durable_open_new(int dirfd, const char *name);

/* Make what was written to fd (a file made by durable_open_new as
 * tmp_name in dirfd) durable as `name`: fsync the file, rename it over
 * `name` (replacing what was there), fsync the folder. fd is closed in
 * every case. On failure before the rename, tmp_name is removed and
 * `name` is untouched; when the final folder fsync fails, the rename has
 * happened but may not survive a power loss (the caller decides whether
 * to remove `name`). *step_r (may be NULL) names the step that failed:
 * "fsync", "rename" or "fsync folder". */
int durable_commit(int dirfd, int fd, const char *tmp_name, const char *name,
		   const char **step_r);

/* The whole sequence for bytes in memory: write them to NAME.tmp (a stale
 * NAME.tmp, left by a crash, is removed first) and durable_commit it as
 * NAME. *step_r as for durable_commit, or "create", "write". */
int durable_write(int dirfd, const char *name, const void *data, size_t len,
		  const char **step_r);

/* mkdirat that a power loss cannot take back: when the folder is made,
 * its entry is fsync'd (the parent of `path`, relative to dirfd) before
 * anything can be stored inside. 0 when made, or when the name exists
 * already (open it with O_DIRECTORY | O_NOFOLLOW to know it is a
 * folder); path may have several components, the last one is made. */
int durable_mkdir(int dirfd, const char *path, mode_t mode);

/* A new, empty file whose entry is durable (a marker, a database to be
 * opened by name): made like durable_open_new, fsync'd with its folder,
 * and closed. 0, or -1 (EEXIST when the name is taken). */
int durable_create(int dirfd, const char *name);

/* Remove `name` (not a folder) and fsync the folder: 0, also when there
 * was nothing to remove. */
int durable_remove(int dirfd, const char *name);

#endif
