/* cmd-check - `tern check [-c FILE] [--set SECTION.KEY=VALUE ...]`: validate
 * the configuration, print the effective value of every key, and check
 * what `tern serve` will need: the certificate and key, a data folder
 * [server] user can write, and somewhere for every local domain's
 * postmaster mail to go. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/datadir.h"
#include "core/privs.h"
#include "core/tls.h"
#include "dir/dir-resolve.h"
#include "dir/dir.h"

static const char check_usage[] =
	"usage: tern check [-c FILE] [--set SECTION.KEY=VALUE ...]\n"
	"\n"
	"Validate the configuration and print the effective value of every key\n"
	"as an INI file. Without -c: $TERN_CONFIG, /etc/tern/tern.conf, ./tern.conf.\n"
	"Then check that the certificate and key load and match, and that\n"
	"[server] user can write the data folder (run as root, the key is read\n"
	"as root first, then the check switches to that user), and warn about\n"
	"each local domain whose postmaster@ address has nowhere to go.\n"
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

struct check_domains {
	char **names;
	size_t n;
};

static void check_domain_add(void *ctx, const char *domain)
{
	struct check_domains *d = ctx;

	d->names = realloc(d->names, (d->n + 1) * sizeof(*d->names));
	if (d->names == NULL || (d->names[d->n] = strdup(domain)) == NULL)
		abort();
	d->n++;
}

/* RFC 5321 4.5.1: postmaster@ every local domain must be accepted. Warn,
 * on both outputs, about each domain where it would be refused: no
 * postmaster account or alias, no [smtp] postmaster, no catch-all. As
 * [server] user, after check_data_dir; a directory not made yet has no
 * domain to warn about. */
static void check_postmaster(const struct config *cfg)
{
	const struct dir_resolve_options options = {
		.subaddress_separators = cfg->smtp.subaddress_separator,
		.postmaster = cfg->smtp.postmaster,
	};
	struct check_domains domains = { NULL, 0 };
	struct dir *dir = NULL;
	char path[4200], *error = NULL;
	unsigned warned = 0;

	snprintf(path, sizeof(path), "%s/directory.db", cfg->server.data_dir);
	if (access(path, F_OK) < 0)
		return;
	if (dir_open(cfg->server.data_dir, &dir, &error) < 0) {
		cli_fail("check: warning: cannot open the directory to check postmaster: %s",
			 error != NULL ? error : "unknown error");
		free(error);
		return;
	}
	dir_domain_list(dir, check_domain_add, &domains);
	for (size_t i = 0; i < domains.n; i++) {
		struct dir_resolution res;
		char address[300];

		snprintf(address, sizeof(address), "postmaster@%s", domains.names[i]);
		if (dir_resolve(dir, address, &options, &res) != DIR_OK) {
			printf("; warning: mail to %s is refused: add an account or alias for it "
			       "(tern alias add %s ACCOUNT) or set [smtp] postmaster\n", address, address);
			cli_fail("check: warning: mail to %s is refused: add an account or alias for "
				 "it or set [smtp] postmaster", address);
			warned++;
		}
		dir_resolution_free(&res);
		free(domains.names[i]);
	}
	/* RFC 5321 4.1.1.3: <Postmaster> alone, as RCPT resolves it. */
	if (domains.n > 0 && (cfg->smtp.postmaster == NULL || cfg->smtp.postmaster[0] == '\0')) {
		struct dir_resolution res;
		char address[300];

		snprintf(address, sizeof(address), "postmaster@%s", cfg->server.hostname);
		if (dir_resolve(dir, address, &options, &res) != DIR_OK) {
			printf("; warning: mail to <postmaster> (no domain) is refused: set [smtp] "
			       "postmaster, or make [server] hostname a local domain with one\n");
			cli_fail("check: warning: mail to <postmaster> (no domain) is refused: set "
				 "[smtp] postmaster");
			warned++;
		}
		dir_resolution_free(&res);
	}
	if (domains.n > 0 && warned == 0)
		printf("; postmaster: every local domain's postmaster@ is delivered\n");
	free(domains.names);
	dir_close(&dir);
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
	if (ret == 0)
		check_postmaster(&cfg);
	config_free(&cfg);
	cli_options_free(&opts);
	if (fflush(stdout) != 0) {
		cli_fail("check: cannot write the configuration to standard output");
		return 1;
	}
	return ret;
}
