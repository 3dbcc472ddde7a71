/* cli-options - the options every subcommand shares, and small helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/privs.h"

/* A usage error: print it, free what was parsed so far, return 2. */
static int cli_options_error(struct cli_options *opts, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cli_options_error(struct cli_options *opts, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tern: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_options_free(opts);
	return 2;
}

int cli_options_parse(int *argc, char **argv, const struct cli_option *extra,
		      const char *usage, struct cli_options *opts)
{
	bool help = false;

	int out = 1;

	memset(opts, 0, sizeof(*opts));
	opts->access = strcmp(argv[0], "serve") == 0 || strcmp(argv[0], "check") == 0 ?
		CLI_ACCESS_NONE : CLI_ACCESS_READ;
	opts->sets = calloc((size_t)*argc, sizeof(*opts->sets));
	if (opts->sets == NULL)
		abort();
	for (int i = 1; i < *argc; i++) {
		const char *arg = argv[i];
		bool known = false, takes_value = false;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			help = true;
			continue;
		}
		if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0 ||
		    strcmp(arg, "--set") == 0) {
			if (i + 1 >= *argc)
				return cli_options_error(opts, argv[0], "%s needs a value", arg);
			if (strcmp(arg, "--set") == 0)
				opts->sets[opts->n_sets++] = argv[++i];
			else if (opts->config_path != NULL)
				return cli_options_error(opts, argv[0], "-c given twice");
			else
				opts->config_path = argv[++i];
			continue;
		}
		if (strncmp(arg, "--set=", 6) == 0) {
			opts->sets[opts->n_sets++] = arg + 6;
			continue;
		}
		for (size_t k = 0; extra != NULL && extra[k].name != NULL; k++) {
			if (strcmp(arg, extra[k].name) == 0) {
				known = true;
				takes_value = extra[k].takes_value;
			}
		}
		if (arg[0] == '-' && arg[1] != '\0' && !known)
			return cli_options_error(opts, argv[0], "unknown option %.64s", arg);
		argv[out++] = argv[i];
		if (takes_value) {
			if (i + 1 >= *argc)
				return cli_options_error(opts, argv[0], "%s needs a value", arg);
			argv[out++] = argv[++i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	if (help) {
		fputs(usage, stdout);
		cli_options_free(opts);
		return 0;
	}
	return -1;
}

int cli_usage_error(struct cli_options *opts, const char *usage)
{
	fputs(usage, stderr);
	cli_options_free(opts);
	return 2;
}

void cli_options_free(struct cli_options *opts)
{
	free(opts->sets);
	opts->sets = NULL;
}

int cli_config_load(const struct cli_options *opts, struct config *cfg)
{
	struct privs privs;
	char *error = NULL;

	if (config_load(cfg, opts->config_path, opts->sets, opts->n_sets, &error) < 0) {
		cli_fail("%s", error);
		free(error);
		return -1;
	}
	if (opts->access != CLI_ACCESS_NONE &&
	    (privs_prepare(&privs, cfg->server.user, cfg->server.data_dir,
			   opts->access == CLI_ACCESS_WRITE, &error) < 0 ||
	     privs_drop(&privs, &error) < 0)) {
		cli_fail("%s", error != NULL ? error : "cannot drop privileges");
		free(error);
		config_free(cfg);
		return -1;
	}
	return 0;
}

void cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
