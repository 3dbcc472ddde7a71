/* main - `tern SUBCOMMAND ...`: dispatch to the subcommands of cli.h. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "serve", cmd_serve, "serve [-c FILE] [--set SECTION.KEY=VALUE ...]" },
	{ "check", cmd_check, "check [-c FILE]" },
	{ "domain", cmd_domain, "domain add|del|list [DOMAIN]" },
	{ "user", cmd_user, "user add|del|passwd|list [ADDRESS] [--hash '{SCHEME}...'] [--quota BYTES]" },
	{ "alias", cmd_alias, "alias add|del|list [ALIAS] [TARGET[,TARGET...]]" },
	{ "import", cmd_import, "import maildir|mbox ADDRESS PATH [--mailbox NAME]" },
	{ "export", cmd_export, "export maildir ADDRESS PATH" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: tern COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  tern %s\n", commands[i].usage);
	fprintf(out, "\nEvery command takes -c FILE (default: $TERN_CONFIG, /etc/tern/tern.conf, ./tern.conf),\n"
		     "--set SECTION.KEY=VALUE and --help. See docs/configuration.md.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "tern: unknown command '%s' (try tern --help)\n", argv[1]);
	return 2;
}
