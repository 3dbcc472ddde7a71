/* cli-paths - saying why a path cannot be used. Started as root, the
 * commands run as [server] user (privs.h), so a path that root could read
 * may be closed to them: the message then names that user, rather than
 * leave the administrator to guess. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/privs.h"

void cli_fail_path(const char *cmd, const char *verb, const char *path, int err)
{
	const char *user = privs_dropped_user();

	if ((err == EACCES || err == EPERM) && user != NULL)
		cli_fail("%s: cannot %s %.1024s: permission denied for user %s (started as root, "
			 "tern runs as [server] user)", cmd, verb, path, user);
	else
		cli_fail("%s: cannot %s %.1024s: %s", cmd, verb, path, strerror(err));
}

int cli_path_check(const char *cmd, const char *verb, const char *path, int mode)
{
	if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0)
		return 0;
	cli_fail_path(cmd, verb, path, errno);
	return -1;
}
