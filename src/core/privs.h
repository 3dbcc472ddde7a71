/* privs - giving up root: every tern command that touches the data folder
 * runs as the unprivileged [server] user, so every file in it has one owner.
 * `tern serve` calls privs_drop() after binding its listeners; the other
 * subcommands call it before opening anything in the data folder. */
#ifndef TERN_CORE_PRIVS_H
#define TERN_CORE_PRIVS_H

/* When the process runs as root: create data_dir (0700) if missing, give it
 * and the files directly in it (and in its tls/ folder) to `user`, then
 * switch to that user's uid and gid with no supplementary groups. When not
 * root: only create data_dir if missing. Returns 0, or -1 with a malloc'd
 * *error_r (unknown user, a chown or setuid that failed). The user "root"
 * is refused. */
int privs_drop(const char *user, const char *data_dir, char **error_r);

/* Only the switch: when root, become `user` (as privs_drop does) without
 * creating or changing anything; otherwise do nothing. For `tern check`.
 * Returns 0, or -1 with a malloc'd *error_r. */
int privs_switch_user(const char *user, char **error_r);

#endif
