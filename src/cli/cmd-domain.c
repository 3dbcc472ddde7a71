/* cmd-domain - `tern domain add|del|list [DOMAIN]`: the local mail domains. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dir/dir.h"

static const char domain_usage[] =
	"usage: tern domain add DOMAIN\n"
	"       tern domain del DOMAIN      (refused while accounts or aliases use it)\n"
	"       tern domain list\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

static void domain_print(void *ctx, const char *domain)
{
	(void)ctx;
	printf("%s\n", domain);
}

static int domain_run(struct dir *dir, const char *sub, const char *domain)
{
	enum dir_error error;

	if (strcmp(sub, "list") == 0) {
		error = dir_domain_list(dir, domain_print, NULL);
	} else if (strcmp(sub, "add") == 0) {
		error = dir_domain_add(dir, domain);
	} else {
		error = dir_domain_del(dir, domain);
	}
	switch (error) {
	case DIR_OK:
		return 0;
	case DIR_ERR_EXISTS:
		cli_fail("domain %s: %.253s already exists", sub, domain);
		break;
	case DIR_ERR_NOT_FOUND:
		cli_fail("domain %s: domain %.253s does not exist", sub, domain);
		break;
	case DIR_ERR_INVALID:
		cli_fail("domain %s: invalid domain name '%.253s'", sub, domain);
		break;
	case DIR_ERR_NOT_EMPTY:
		cli_fail("domain %s: domain %.253s still has accounts or aliases", sub, domain);
		break;
	default:
		cli_fail("domain %s: %s", sub, dir_error_str(error));
		break;
	}
	return 1;
}

int cmd_domain(int argc, char **argv)
{
	struct cli_options opts;
	struct dir *dir;
	const char *sub;
	int ret = cli_options_parse(&argc, argv, NULL, domain_usage, &opts);

	if (ret >= 0)
		return ret;
	sub = argc >= 2 ? argv[1] : "";
	if (!(strcmp(sub, "list") == 0 && argc == 2) &&
	    !((strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0) && argc == 3)) {
		return cli_usage_error(&opts, domain_usage);
	}
	if (strcmp(sub, "list") != 0)
		opts.access = CLI_ACCESS_WRITE;
	dir = cli_dir_open(&opts, "domain", NULL);
	cli_options_free(&opts);
	if (dir == NULL)
		return 1;
	ret = domain_run(dir, sub, argc == 3 ? argv[2] : NULL);
	dir_close(&dir);
	return ret;
}
