/* cmd-export - `tern export maildir ADDRESS PATH`: an account's mailboxes
 * as a Maildir++ tree with dovecot-uidlist files (UIDs kept). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/transfer.h"

static const char export_usage[] =
	"usage: tern export maildir ADDRESS PATH\n"
	"Writes INBOX to PATH/cur and other mailboxes to PATH/.A.B (Maildir++),\n"
	"with flags in the file names and a dovecot-uidlist per folder. PATH must\n"
	"not exist or be empty. Names that Maildir++ cannot hold as they are\n"
	"(a '.', non-ASCII) are escaped as Dovecot does, and each one is named.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

/* PATH is created, or an existing empty folder filled, by the user the
 * command runs as: 0, or -1 after saying why it cannot. */
static int export_check_target(const char *path)
{
	size_t len = strlen(path);
	const char *slash;
	char parent[4096];

	if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0 || errno != ENOENT)
		return cli_path_check("export", "write to", path, R_OK | W_OK | X_OK);
	while (len > 1 && path[len - 1] == '/')
		len--;
	slash = memrchr(path, '/', len);
	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else
		snprintf(parent, sizeof(parent), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
	return cli_path_check("export", "create a folder in", parent, W_OK | X_OK);
}

int cmd_export(int argc, char **argv)
{
	struct store_account *acct;
	struct cli_options opts;
	struct transfer_stats stats;
	enum store_error err;
	int ret;

	ret = cli_options_parse(&argc, argv, NULL, export_usage, &opts);
	if (ret >= 0)
		return ret;
	if (argc != 4 || strcmp(argv[1], "maildir") != 0 || argv[2][0] == '-' || argv[3][0] == '-') {
		return cli_usage_error(&opts, export_usage);
	}
	ret = cli_store_open(&opts, "export", argv[2], &acct, NULL);
	cli_options_free(&opts);
	if (ret != 0)
		return ret;
	if (export_check_target(argv[3]) < 0) {
		store_close(&acct);
		return 1;
	}
	err = transfer_export_maildir(acct, argv[3], stdout, stderr, &stats);
	store_close(&acct);
	if (err != STORE_OK) {
		/* the detail is already on stderr */
		cli_fail("export: %.200s failed (%s)", argv[3], store_error_name(err));
		return 1;
	}
	printf("exported %zu messages from %zu mailboxes, %zu skipped\n",
	       stats.messages, stats.mailboxes, stats.skipped);
	return 0;
}
