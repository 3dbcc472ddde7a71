/* cli - the `tern` subcommands. main.c dispatches on the first argument;
 * each command lives in its own cmd-*.c file and returns the process exit
 * status (0 ok, 1 failure with a one-line reason on stderr, 2 usage). */
#ifndef TERN_CLI_CLI_H
#define TERN_CLI_CLI_H

#include <stdbool.h>

#include "core/config.h"

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_dkim(int argc, char **argv);
/* Exits with sendmail(8)'s codes (sysexits.h), not the ones above. */
int cmd_sendmail(int argc, char **argv);

enum cli_access {
	CLI_ACCESS_NONE,   /* keep root: the command drops it itself */
	CLI_ACCESS_READ,   /* drop root; create nothing, change no owner */
	CLI_ACCESS_WRITE,  /* create the data folder, give tern's entries to the user, drop */
};

/* Options every subcommand takes: -c FILE, --set section.key=value, --help.
 * cli_options_parse() removes them from argv (argv[0] is the subcommand
 * name) and leaves the remaining arguments in order in argv[1..*argc_r). */
struct cli_options {
	const char *config_path;    /* -c, or NULL */
	const char **sets;          /* --set values */
	size_t n_sets;
	/* What cli_config_load does about root (privs.h) before the command
	 * touches the data folder. cli_options_parse sets CLI_ACCESS_READ for
	 * every subcommand but serve and check (CLI_ACCESS_NONE: they drop
	 * root themselves); a command that creates or changes data sets
	 * CLI_ACCESS_WRITE before loading the configuration. */
	enum cli_access access;
};
/* A further option of one command ("--hash" with a value, "--keep-mail"
 * alone); a list of them ends with a NULL name. */
struct cli_option {
	const char *name;
	bool takes_value;
};
/* `extra` lists the command's own options (may be NULL); they are kept in
 * argv, with their values, for the command to read. Returns -1 when the command should go on;
 * otherwise the status the command must return at once, with opts already
 * freed: 0 after printing `usage` for --help, 2 after a usage error (an
 * unknown option, a missing value). */
int cli_options_parse(int *argc, char **argv, const struct cli_option *extra,
		      const char *usage, struct cli_options *opts);
/* A usage error found by the command: print `usage` to stderr, free opts,
 * return 2. */
int cli_usage_error(struct cli_options *opts, const char *usage);
void cli_options_free(struct cli_options *opts);

/* Load the configuration named by opts and, as opts->access says, drop
 * root privileges; on error print it and return -1. */
int cli_config_load(const struct cli_options *opts, struct config *cfg);

/* Print "tern: <message>" to stderr. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Paths (cli-paths.c). cli_fail_path prints "tern: CMD: cannot VERB PATH:
 * REASON" for the errno value `err`; a permission error met after the
 * switch from root names the user that was refused. cli_path_check tests
 * `path` for `mode` (R_OK, W_OK, X_OK, as access(2)) as the user the
 * command runs as: 0, or -1 after printing why with cli_fail_path. */
void cli_fail_path(const char *cmd, const char *verb, const char *path, int err);
int cli_path_check(const char *cmd, const char *verb, const char *path, int mode);

/* Opening the data folder (cli-data.c). cli_dir_open: load the
 * configuration named by opts and open the directory in its [server]
 * data_dir; on error print "tern: CMD: reason" and return NULL.
 * cli_store_open: the same, then check that ADDRESS is an account and open
 * its store; returns 0, or 1 after printing the reason. With cfg_r, either
 * gives the caller the configuration loaded (on success; config_free it). */
struct dir;
struct store_account;
struct dir *cli_dir_open(const struct cli_options *opts, const char *cmd, struct config *cfg_r);
int cli_store_open(const struct cli_options *opts, const char *cmd, const char *address,
		   struct store_account **acct_r, struct config *cfg_r);

/* A new password for ADDRESS (cli-password.c): one line of standard input
 * (its LF or CRLF removed), or, when standard input is a terminal, typed
 * twice with echo off. It must pass password_check_new() (dir/password.h):
 * nothing is trimmed or cut. Returns a malloc'd string (wipe it before
 * freeing), or NULL after printing "tern: CMD: reason". */
char *cli_password_read(const char *cmd, const char *address);

#endif
