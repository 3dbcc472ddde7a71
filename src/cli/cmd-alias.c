/* cmd-alias - `tern alias add|del|list`: addresses of a local domain that
 * forward to one or more other addresses (local or remote), and a domain's
 * catch-all (`@DOMAIN`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "dir/dir.h"

static const char alias_usage[] =
	"usage: tern alias add ALIAS TARGET[,TARGET...] [TARGET...]\n"
	"       tern alias del ALIAS\n"
	"       tern alias list\n"
	"ALIAS is an address of a local domain, or @DOMAIN: the catch-all, which\n"
	"gets mail for addresses of DOMAIN that are neither accounts nor aliases.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

static void alias_print(void *ctx, const char *alias, const char *targets)
{
	(void)ctx;
	printf("%s %s\n", alias, targets);
}

static int alias_run(struct dir *dir, int argc, char **argv)
{
	const char *sub = argv[1];
	const char *alias = argc > 2 ? argv[2] : "";
	enum dir_error error;

	if (strcmp(sub, "list") == 0) {
		error = dir_alias_list(dir, alias_print, NULL);
	} else if (strcmp(sub, "del") == 0) {
		error = dir_alias_del(dir, alias);
	} else {
		/* Targets may come as one comma list or as several arguments. */
		struct buf targets;

		buf_init(&targets, 0);
		for (int i = 3; i < argc; i++) {
			if (i > 3)
				buf_append_str(&targets, ",");
			buf_append_str(&targets, argv[i]);
		}
		error = dir_alias_add(dir, alias, targets.data);
		buf_release(&targets);
	}
	switch (error) {
	case DIR_OK:
		return 0;
	case DIR_ERR_NO_DOMAIN: {
		const char *at = strrchr(alias, '@');

		cli_fail("alias %s: domain %.253s does not exist", sub, at != NULL ? at + 1 : "");
		break;
	}
	case DIR_ERR_EXISTS:
		cli_fail("alias %s: %.320s already exists (as an account or an alias)", sub, alias);
		break;
	case DIR_ERR_NOT_FOUND:
		cli_fail("alias %s: no such alias %.320s", sub, alias);
		break;
	case DIR_ERR_INVALID:
		cli_fail("alias %s: invalid alias or target address", sub);
		break;
	default:
		cli_fail("alias %s: %s", sub, dir_error_str(error));
		break;
	}
	return 1;
}

int cmd_alias(int argc, char **argv)
{
	struct cli_options opts;
	struct dir *dir;
	const char *sub;
	int ret = cli_options_parse(&argc, argv, NULL, alias_usage, &opts);

	if (ret >= 0)
		return ret;
	sub = argc >= 2 ? argv[1] : "";
	if (!(strcmp(sub, "list") == 0 && argc == 2) &&
	    !(strcmp(sub, "del") == 0 && argc == 3) && !(strcmp(sub, "add") == 0 && argc >= 4)) {
		return cli_usage_error(&opts, alias_usage);
	}
	if (strcmp(sub, "list") != 0)
		opts.access = CLI_ACCESS_WRITE;
	dir = cli_dir_open(&opts, "alias", NULL);
	cli_options_free(&opts);
	if (dir == NULL)
		return 1;
	ret = alias_run(dir, argc, argv);
	dir_close(&dir);
	return ret;
}
