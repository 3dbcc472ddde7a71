/* cmd-import - `tern import maildir|mbox ADDRESS PATH [--mailbox NAME]`:
 * mail from Maildir/Maildir++ trees and mbox files into an account. Each
 * message is durable before its "imported" line is printed. Also
 * cli_store_open(), shared with cmd-export.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dir/dir.h"
#include "store/transfer.h"

static const char import_usage[] =
	"usage: tern import maildir ADDRESS PATH [--mailbox NAME]\n"
	"       tern import mbox ADDRESS PATH [--mailbox NAME]\n"
	"maildir: PATH/{cur,new} go to INBOX (or NAME), PATH/.A.B to A/B; flags from\n"
	"the file names; a dovecot-uidlist keeps UIDs in empty mailboxes.\n"
	"mbox: every message of the file goes to INBOX (or NAME).\n"
	"One line per imported message on standard output, then a summary.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

int cli_store_open(const struct cli_options *opts, const char *cmd, const char *address,
		   struct store_account **acct_r)
{
	struct dir_user user;
	struct config cfg;
	enum dir_error derr;
	enum store_error serr;
	struct dir *dir;
	char *error = NULL;

	*acct_r = NULL;
	if (cli_config_load(opts, &cfg) < 0)
		return 1;
	if (dir_open(cfg.server.data_dir, &dir, &error) < 0) {
		cli_fail("%s: %s", cmd, error != NULL ? error : "cannot open the directory");
		free(error);
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

int cmd_import(int argc, char **argv)
{
	static const char *const extra[] = { "--mailbox", NULL };
	const char *pos[3] = { NULL, NULL, NULL }, *mailbox = NULL;
	struct store_account *acct;
	struct cli_options opts;
	struct transfer_stats stats;
	enum store_error err;
	int npos = 0, ret;

	ret = cli_options_parse(&argc, argv, extra, import_usage, &opts);
	if (ret >= 0)
		return ret;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mailbox") == 0 && i + 1 < argc) {
			mailbox = argv[++i];
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			npos++;
		}
	}
	if (npos != 3 || (strcmp(pos[0], "maildir") != 0 && strcmp(pos[0], "mbox") != 0))
		return cli_usage_error(&opts, import_usage);
	ret = cli_store_open(&opts, "import", pos[1], &acct);
	cli_options_free(&opts);
	if (ret != 0)
		return ret;
	if (strcmp(pos[0], "maildir") == 0)
		err = transfer_import_maildir(acct, pos[2], mailbox, stdout, stderr, &stats);
	else
		err = transfer_import_mbox(acct, pos[2], mailbox, stdout, stderr, &stats);
	printf("imported %zu messages into %zu mailboxes, %zu skipped\n",
	       stats.messages, stats.mailboxes, stats.skipped);
	fflush(stdout);
	store_close(&acct);
	if (err != STORE_OK) {
		/* the detail is already on stderr */
		cli_fail("import: %s %.200s failed (%s)", pos[0], pos[2], store_error_name(err));
		return 1;
	}
	return 0;
}
