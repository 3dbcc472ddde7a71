/* cli-data - opening the data folder for the administrative subcommands:
 * the directory (domain, user, alias) and one account's store (import,
 * export). Both load the configuration first, which drops root (cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "store/store.h"

/* `path` (in the data folder) must be usable for `mode` when it exists:
 * 0, or -1 after printing why. */
static int cli_data_check_entry(const char *cmd, const char *path, int mode)
{
	if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) < 0 && errno == ENOENT)
		return 0;
	return cli_path_check(cmd, "use", path, mode);
}

/* Before opening anything: a data folder or directory.db that the user
 * cannot use gets a message saying so, and who was refused (rather than
 * SQLite's "unable to open database file"). A missing data folder is an
 * error for a command that only reads, since it creates nothing (one that
 * writes had it created by privs_prepare). Returns 0, or -1 after printing
 * why. */
static int cli_data_check(const struct config *cfg, enum cli_access access, const char *cmd)
{
	const char *data_dir = cfg->server.data_dir;
	char path[4200];

	if (faccessat(AT_FDCWD, data_dir, F_OK, AT_EACCESS) < 0 && errno == ENOENT &&
	    access != CLI_ACCESS_WRITE) {
		cli_fail("%s: data folder %.1024s does not exist (nothing was added yet)",
			 cmd, data_dir);
		return -1;
	}
	if (cli_path_check(cmd, "use the data folder", data_dir, R_OK | W_OK | X_OK) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/directory.db", data_dir);
	return cli_data_check_entry(cmd, path, R_OK | W_OK);
}

static struct dir *cli_dir_open_cfg(const struct config *cfg, enum cli_access access,
				     const char *cmd)
{
	struct dir *dir = NULL;
	char *error = NULL;

	if (cli_data_check(cfg, access, cmd) < 0)
		return NULL;
	/* What a stored hash may cost, for --hash and the directory's checks. */
	password_configure(cfg);
	if (dir_open(cfg->server.data_dir, &dir, &error) < 0) {
		cli_fail("%s: cannot open the directory: %s", cmd,
			 error != NULL ? error : "unknown error");
		free(error);
	}
	return dir;
}

struct dir *cli_dir_open(const struct cli_options *opts, const char *cmd, struct config *cfg_r)
{
	struct config cfg;
	struct dir *dir;

	if (cli_config_load(opts, &cfg) < 0)
		return NULL;
	dir = cli_dir_open_cfg(&cfg, opts->access, cmd);
	if (dir != NULL && cfg_r != NULL)
		*cfg_r = cfg;
	else
		config_free(&cfg);
	return dir;
}

int cli_store_open(const struct cli_options *opts, const char *cmd, const char *address,
		   struct store_account **acct_r, struct config *cfg_r)
{
	struct dir_user user;
	struct config cfg;
	char path[4200];
	enum dir_error derr;
	enum store_error serr;
	struct dir *dir;

	*acct_r = NULL;
	if (cli_config_load(opts, &cfg) < 0)
		return 1;
	dir = cli_dir_open_cfg(&cfg, opts->access, cmd);
	if (dir == NULL) {
		config_free(&cfg);
		return 1;
	}
	derr = dir_user_lookup(dir, address, &user);
	dir_close(&dir);
	if (derr != DIR_OK) {
		if (derr == DIR_ERR_NOT_FOUND || derr == DIR_ERR_INVALID || derr == DIR_ERR_NO_DOMAIN)
			cli_fail("%s: no such account %.320s", cmd, address);
		else
			cli_fail("%s: %s", cmd, dir_error_str(derr));
		config_free(&cfg);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/mail", cfg.server.data_dir);
	if (cli_data_check_entry(cmd, path, R_OK | W_OK | X_OK) < 0) {
		dir_user_free(&user);
		config_free(&cfg);
		return 1;
	}
	serr = store_open(cfg.server.data_dir, user.address, acct_r);
	if (serr != STORE_OK)
		cli_fail("%s: cannot open the store of %.320s: %s", cmd, user.address,
			 store_error_name(serr));
	dir_user_free(&user);
	if (serr == STORE_OK && cfg_r != NULL)
		*cfg_r = cfg;
	else
		config_free(&cfg);
	return serr == STORE_OK ? 0 : 1;
}
