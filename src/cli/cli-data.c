/* cli-data - opening the data folder for the administrative subcommands:
 * the directory (domain, user, alias) and one account's store (import,
 * export). Both load the configuration first, which drops root (cli.h). */
#include <stdlib.h>

#include "cli/cli.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "store/store.h"

static struct dir *cli_dir_open_cfg(const struct config *cfg, const char *cmd)
{
	struct dir *dir = NULL;
	char *error = NULL;

	/* What a stored hash may cost, for --hash and the directory's checks. */
	password_configure(cfg);
	if (dir_open(cfg->server.data_dir, &dir, &error) < 0) {
		cli_fail("%s: cannot open the directory: %s", cmd,
			 error != NULL ? error : "unknown error");
		free(error);
	}
	return dir;
}

struct dir *cli_dir_open(const struct cli_options *opts, const char *cmd)
{
	struct config cfg;
	struct dir *dir;

	if (cli_config_load(opts, &cfg) < 0)
		return NULL;
	dir = cli_dir_open_cfg(&cfg, cmd);
	config_free(&cfg);
	return dir;
}

int cli_store_open(const struct cli_options *opts, const char *cmd, const char *address,
		   struct store_account **acct_r)
{
	struct dir_user user;
	struct config cfg;
	enum dir_error derr;
	enum store_error serr;
	struct dir *dir;

	*acct_r = NULL;
	if (cli_config_load(opts, &cfg) < 0)
		return 1;
	dir = cli_dir_open_cfg(&cfg, cmd);
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
	serr = store_open(cfg.server.data_dir, user.address, acct_r);
	if (serr != STORE_OK)
		cli_fail("%s: cannot open the store of %.320s: %s", cmd, user.address,
			 store_error_name(serr));
	dir_user_free(&user);
	config_free(&cfg);
	return serr == STORE_OK ? 0 : 1;
}
