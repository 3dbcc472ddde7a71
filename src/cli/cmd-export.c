/* cmd-export - `tern export maildir ADDRESS PATH`: an account's mailboxes
 * as a Maildir++ tree with dovecot-uidlist files (UIDs kept). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/transfer.h"

static const char export_usage[] =
	"usage: tern export maildir ADDRESS PATH\n"
	"Writes INBOX to PATH/cur and other mailboxes to PATH/.A.B (Maildir++),\n"
	"with flags in the file names and a dovecot-uidlist per folder. PATH must\n"
	"not exist or be empty. Names that Maildir++ cannot hold as they are\n"
	"(a '.', non-ASCII) are escaped as Dovecot does, and each one is named.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

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
