/* main - `tern [OPTIONS] SUBCOMMAND ...`: the options every subcommand
 * takes may also come before it; dispatch to the subcommands of cli.h.
 * Run as "sendmail" (a symbolic link), it is `tern sendmail`. */
#include <stdio.h>
#include <stdlib.h>
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
	{ "user", cmd_user, "user add|del|passwd|list [ADDRESS] [--hash '{SCHEME}...'] [--quota SIZE] [--keep-mail]" },
	{ "alias", cmd_alias, "alias add|del|list [ALIAS] [TARGET[,TARGET...]]" },
	{ "import", cmd_import, "import maildir|mbox ADDRESS PATH [--mailbox NAME]" },
	{ "export", cmd_export, "export maildir ADDRESS PATH" },
	{ "queue", cmd_queue, "queue list|remove|hold|release|flush [ID]" },
	{ "dkim", cmd_dkim, "dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] | dkim list [DOMAIN]" },
	{ "sendmail", cmd_sendmail, "sendmail [-t] [-i] [-f SENDER] [-F NAME] [RECIPIENT...] < MESSAGE" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: tern [-c FILE] [--set SECTION.KEY=VALUE ...] COMMAND [ARGS]\n"
		     "       tern --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  tern %s\n", commands[i].usage);
	fprintf(out, "\nEvery command takes -c FILE (default: $TERN_CONFIG, /etc/tern/tern.conf, ./tern.conf),\n"
		     "--set SECTION.KEY=VALUE and --help, before or after the command.\n"
		     "See docs/configuration.md.\n");
}

/* Length of the option at argv[i] that every subcommand takes (1 or 2
 * words), 0 when argv[i] is not one, -1 when its value is missing. */
static int common_option(int argc, char **argv, int i)
{
	if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0 ||
	    strcmp(argv[i], "--set") == 0)
		return i + 1 < argc ? 2 : -1;
	return strncmp(argv[i], "--set=", 6) == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;
	char **args;
	int first = 1, n = 0, ret = 2;

	/* installed as /usr/sbin/sendmail: sendmail's options from the start */
	if (argc > 0 && strcmp(self != NULL ? self + 1 : argv[0], "sendmail") == 0)
		return cmd_sendmail(argc, argv);

	/* options before the subcommand: skip them to find it */
	while (first < argc) {
		int len = common_option(argc, argv, first);

		if (len < 0) {
			fprintf(stderr, "tern: %s needs a value\n", argv[first]);
			return 2;
		}
		if (len == 0)
			break;
		first += len;
	}
	if (first >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[first], "--version") == 0) {
		printf("tern %s\n", TERN_VERSION);
		return 0;
	}
	if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0 ||
	    strcmp(argv[first], "help") == 0) {
		usage(stdout);
		return 0;
	}
	/* The subcommand sees: its name, the options given before it (first,
	 * so that a later --set still wins), then its own arguments. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		abort();
	args[n++] = argv[first];
	for (int i = 1; i < first; i++)
		args[n++] = argv[i];
	for (int i = first + 1; i < argc; i++)
		args[n++] = argv[i];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(args[0], commands[i].name) == 0) {
			ret = commands[i].run(n, args);
			free(args);
			return ret;
		}
	}
	fprintf(stderr, "tern: unknown command '%s' (try tern --help)\n", args[0]);
	free(args);
	return ret;
}
