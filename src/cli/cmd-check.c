/* cmd-check - `tern check [-c FILE] [--set SECTION.KEY=VALUE ...]`: validate
 * the configuration, print the effective value of every key, and check
 * what `tern serve` will need: the certificate and key, and a data folder
 * [server] user can write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/datadir.h"
#include "core/privs.h"
#include "core/tls.h"

static const char check_usage[] =
	"usage: tern check [-c FILE] [--set SECTION.KEY=VALUE ...]\n"
	"\n"
	"Validate the configuration and print the effective value of every key\n"
	"as an INI file. Without -c: $TERN_CONFIG, /etc/tern/tern.conf, ./tern.conf.\n"
	"Then check that the certificate and key load and match, and that\n"
	"[server] user can write the data folder (run as root, the key is read\n"
	"as root first, then the check switches to that user).\n"
	"Exits 1 with the reason (file, line, key) when something is wrong.\n";

/* The pair serve will load, read as the calling user (root may be the
 * only one who can: see cert-helper.h). Returns 0 after printing a
 * comment line, or -1 after printing why. */
static int check_tls(const struct config *cfg)
{
	char *cert, *key, *error = NULL;
	bool self_signed;
	int ret = 0;

	tls_paths(cfg, &cert, &key, &self_signed);
	if (self_signed && (access(cert, F_OK) < 0 || access(key, F_OK) < 0) && errno == ENOENT) {
		printf("; tls: no [tls] cert and key: a self-signed pair will be generated in "
		       "%s/tls on first start\n", cfg->server.data_dir);
	} else if (tls_check(cfg, &error) < 0) {
		cli_fail("check: TLS: %s", error != NULL ? error : "cannot load the certificate");
		ret = -1;
	} else if (self_signed) {
		printf("; tls: no [tls] cert and key: the self-signed pair in %s/tls is used\n",
		       cfg->server.data_dir);
	} else {
		printf("; tls: %s and %s load and match\n", cert, key);
	}
	free(error);
	free(cert);
	free(key);
	return ret;
}

/* As [server] user when run as root (the switch is for good: this is the
 * last check). Returns 0 after printing a comment line, or -1 after
 * printing why. */
static int check_data_dir(const struct config *cfg)
{
	bool root = geteuid() == 0, created;
	struct privs privs;
	char *error = NULL;

	/* Only the switch: a read-only look, nothing created or chowned. */
	if (privs_prepare(&privs, cfg->server.user, cfg->server.data_dir, false, &error) < 0 ||
	    privs_drop(&privs, &error) < 0 ||
	    datadir_check_usable(cfg->server.data_dir, root, &created, &error) < 0) {
		cli_fail("check: %s", error != NULL ? error : "the data folder is not usable");
		free(error);
		return -1;
	}
	printf("; data_dir: %s %s%s%s\n", cfg->server.data_dir,
	       created ? "does not exist yet; serve will create it" : "is writable",
	       root ? " for user " : "", root ? cfg->server.user : "");
	return 0;
}

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
	ret = check_tls(&cfg) < 0 || check_data_dir(&cfg) < 0 ? 1 : 0;
	config_free(&cfg);
	cli_options_free(&opts);
	if (fflush(stdout) != 0) {
		cli_fail("check: cannot write the configuration to standard output");
		return 1;
	}
	return ret;
}
