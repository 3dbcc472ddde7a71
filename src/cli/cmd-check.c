/* cmd-check - `tern check [-c FILE] [--set SECTION.KEY=VALUE ...]`: validate
 * the configuration and print the effective value of every key. */
#include <stdio.h>

#include "cli/cli.h"

static const char check_usage[] =
	"usage: tern check [-c FILE] [--set SECTION.KEY=VALUE ...]\n"
	"\n"
	"Validate the configuration and print the effective value of every key\n"
	"as an INI file. Without -c: $TERN_CONFIG, /etc/tern/tern.conf, ./tern.conf.\n"
	"Exits 1 with the reason (file, line, key) when the configuration is bad.\n";

int cmd_check(int argc, char **argv)
{
	struct cli_options opts;
	struct config cfg;
	int ret;

	ret = cli_options_parse(&argc, argv, NULL, check_usage, &opts);
	if (ret >= 0)
		return ret;
	if (argc > 1) {
		cli_fail("check: unexpected argument '%s' (try tern check --help)", argv[1]);
		cli_options_free(&opts);
		return 2;
	}
	if (cli_config_load(&opts, &cfg) < 0) {
		cli_options_free(&opts);
		return 1;
	}
	config_print(&cfg, stdout);
	config_free(&cfg);
	cli_options_free(&opts);
	if (fflush(stdout) != 0) {
		cli_fail("check: cannot write the configuration to standard output");
		return 1;
	}
	return 0;
}
