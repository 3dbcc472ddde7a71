/* public-dir - the folder of the sockets that face every local user
 * ([server] public_dir, /run/tern by default; `tern sendmail` connects to
 * its sendmail.sock), outside the data folder, which stays 0700 (as
 * Postfix's public/ is outside its private/).
 *
 * Whoever can create or rename entries in that folder could put a socket
 * of their own in the server's place and read the mail every local user
 * sends, so the folder must be a real folder (not a symbolic link), owned
 * by root or by the user the server runs as, and writable by nobody else.
 * Who may connect is the folder's business: 0755 (what tern makes) lets
 * every local user in; 0750 with a group keeps tern sendmail to that
 * group. */
#ifndef TERN_CORE_PUBLIC_DIR_H
#define TERN_CORE_PUBLIC_DIR_H

#include <stdbool.h>
#include <sys/types.h>

/* The name of the socket tern sendmail connects to, in the folder; the
 * server speaks SMTP on it. */
#define PUBLIC_DIR_SENDMAIL_SOCKET "sendmail.sock"

/* Make `path` ready for the server's sockets: create it (0755, its
 * parent must exist) when missing, owned by `uid`/`gid` (the [server]
 * user when started as root; the process's own user otherwise), or check
 * the folder that is there as said above. Returns 0, or -1 with a
 * malloc'd *error_r naming the path and what is wrong. */
int public_dir_prepare(const char *path, uid_t uid, gid_t gid, char **error_r);

#endif
