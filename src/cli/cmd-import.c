/* cmd-import - `tern import maildir|mbox ADDRESS PATH [--mailbox NAME]`:
 * mail from Maildir/Maildir++ trees and mbox files into an account. Each
 * message is durable before its "imported" line is printed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/transfer.h"

static const char import_usage[] =
	"usage: tern import maildir ADDRESS PATH [--mailbox NAME]\n"
	"       tern import mbox ADDRESS PATH [--mailbox NAME]\n"
	"maildir: PATH/{cur,new} go to INBOX (or NAME), PATH/.A.B to A/B; flags from\n"
	"the file names; a dovecot-uidlist keeps UIDs in empty mailboxes.\n"
	"mbox: every message of the file goes to INBOX (or NAME).\n"
	"Messages over [limits] message_size are skipped; a message the mailbox\n"
	"already holds (same bytes) is not stored again, so a re-run adds only\n"
	"what is new. Symbolic links and files that are not regular are refused.\n"
	"One line per imported message on standard output, then a summary.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

int cmd_import(int argc, char **argv)
{
	static const struct cli_option extra[] = { { "--mailbox", true }, { NULL, false } };
	const char *pos[3] = { NULL, NULL, NULL }, *mailbox = NULL;
	struct store_account *acct;
	struct cli_options opts;
	struct transfer_import im = { .out = stdout, .err = stderr };
	struct transfer_stats stats;
	struct config cfg;
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
	opts.access = CLI_ACCESS_WRITE;
	ret = cli_store_open(&opts, "import", pos[1], &acct, &cfg);
	cli_options_free(&opts);
	if (ret != 0)
		return ret;
	im.mailbox = mailbox;
	im.max_size = cfg.limits.message_size;
	config_free(&cfg);
	/* As [server] user when started as root: say so when it cannot read
	 * the source, rather than "not a Maildir". */
	if (cli_path_check("import", "read", pos[2],
			   strcmp(pos[0], "maildir") == 0 ? R_OK | X_OK : R_OK) < 0) {
		store_close(&acct);
		return 1;
	}
	if (strcmp(pos[0], "maildir") == 0)
		err = transfer_import_maildir(acct, pos[2], &im, &stats);
	else
		err = transfer_import_mbox(acct, pos[2], &im, &stats);
	printf("imported %zu messages into %zu mailboxes, %zu already present, %zu skipped\n",
	       stats.messages, stats.mailboxes, stats.present, stats.skipped);
	fflush(stdout);
	store_close(&acct);
	if (err != STORE_OK) {
		/* the detail is already on stderr */
		cli_fail("import: %s %.200s failed (%s)", pos[0], pos[2], store_error_name(err));
		return 1;
	}
	return 0;
}
