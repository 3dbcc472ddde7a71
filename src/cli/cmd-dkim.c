/* cmd-dkim - `tern dkim keygen DOMAIN [--selector S] [--algorithm
 * rsa|ed25519]` and `tern dkim list [DOMAIN]`: the DKIM keys of
 * DATA/dkim (mailauth/dkim-keys.h) and the DNS records to publish for
 * them. The server signs with a new key from the next message on: it
 * reads a domain's keys again when they change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "dir/dir.h"
#include "mailauth/dkim-keys.h"

static const char dkim_usage[] =
	"usage: tern dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
	"       tern dkim list [DOMAIN]\n"
	"keygen makes a key (RSA 2048 by default, or Ed25519, RFC 8463) in\n"
	"DATA/dkim/DOMAIN/SELECTOR.key and prints the DNS TXT record to publish.\n"
	"The default selector is the algorithm and the month: rsa-YYYYMM,\n"
	"ed25519-YYYYMM. Mail from DOMAIN sent by submission or tern sendmail is\n"
	"signed with the newest key of each algorithm, from the next message on.\n"
	"list shows every key, the one that signs, and its record; it exits 1\n"
	"when a key file cannot be used (that domain's mail then waits).\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

static const struct cli_option dkim_options[] = {
	{ "--selector", true },
	{ "--algorithm", true },
	{ NULL, false },
};

/* The zone line of a key, after `indent`: 0, or 1 after saying why not. */
static int dkim_print_record(const struct dkim_key *key, const char *selector,
			     const char *domain, const char *indent)
{
	struct buf line;
	int ret;

	buf_init(&line, 0);
	ret = dkim_key_zone_line(key, selector, domain, &line);
	if (ret == 0)
		printf("%s%s\n", indent, line.data);
	else
		cli_fail("dkim: cannot write the public key of %s/%s", domain, selector);
	buf_release(&line);
	return ret == 0 ? 0 : 1;
}

static int dkim_keygen(const struct config *cfg, const char *domain, const char *selector,
		       enum dkim_algorithm alg)
{
	struct dkim_key *key = dkim_key_generate(alg);
	char *error = NULL;
	int ret;

	if (key == NULL) {
		cli_fail("dkim keygen: OpenSSL could not make an %s key", dkim_algorithm_name(alg));
		return 1;
	}
	ret = dkim_keys_create(cfg->server.data_dir, domain, selector, key, &error);
	if (ret < 0) {
		cli_fail("dkim keygen: %s", error);
		free(error);
	} else if (ret > 0) {
		cli_fail("dkim keygen: %s has a key with selector %s already "
			 "(%s/%s/%s/%s%s); choose another --selector",
			 domain, selector, cfg->server.data_dir, DKIM_KEYS_DIR, domain, selector,
			 DKIM_KEY_SUFFIX);
	} else {
		printf("; %s/%s/%s/%s%s (%s): publish this record; it signs mail from %s now\n",
		       cfg->server.data_dir, DKIM_KEYS_DIR, domain, selector, DKIM_KEY_SUFFIX,
		       dkim_algorithm_name(alg), domain);
		ret = dkim_print_record(key, selector, domain, "");
	}
	dkim_key_unref(&key);
	return ret == 0 ? 0 : 1;
}

struct dkim_list {
	const char *domain;    /* only this one, or NULL */
	size_t shown;
	int ret;
};

static void dkim_list_entry(void *ctx, const struct dkim_key_entry *e)
{
	struct dkim_list *l = ctx;

	if (l->domain != NULL && strcmp(l->domain, e->domain) != 0)
		return;
	l->shown++;
	if (e->key == NULL) {
		printf("%s %s - unusable: %s %s\n", e->domain, e->selector, e->path, e->error);
		l->ret = 1;
		return;
	}
	printf("%s %s %s%s\n", e->domain, e->selector, dkim_algorithm_name(dkim_key_algorithm(e->key)),
	       e->signing ? " signing" : "");
	if (dkim_print_record(e->key, e->selector, e->domain, "  ") != 0)
		l->ret = 1;
}

static int dkim_list(const struct config *cfg, const char *domain)
{
	struct dkim_list l = { .domain = domain };
	char *error = NULL;

	if (dkim_keys_list(cfg->server.data_dir, dkim_list_entry, &l, &error) < 0) {
		cli_fail("dkim list: %s", error);
		free(error);
		return 1;
	}
	if (l.shown == 0)
		fprintf(stderr, "tern: dkim list: no keys%s%s (tern dkim keygen DOMAIN makes one)\n",
			domain != NULL ? " for " : "", domain != NULL ? domain : "");
	return l.ret;
}

int cmd_dkim(int argc, char **argv)
{
	const char *sub, *selector = NULL, *algorithm = "rsa", *domain_arg = NULL;
	char domain[256], selector_buf[DKIM_SELECTOR_MAX + 1];
	enum dkim_algorithm alg;
	struct cli_options opts;
	struct config cfg;
	int ret = cli_options_parse(&argc, argv, dkim_options, dkim_usage, &opts);

	if (ret >= 0)
		return ret;
	sub = argc >= 2 ? argv[1] : "";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0)
			selector = argv[++i];
		else if (strcmp(argv[i], "--algorithm") == 0)
			algorithm = argv[++i];
		else if (domain_arg == NULL)
			domain_arg = argv[i];
		else
			return cli_usage_error(&opts, dkim_usage);
	}
	if (!(strcmp(sub, "keygen") == 0 && domain_arg != NULL) &&
	    !(strcmp(sub, "list") == 0 && selector == NULL))
		return cli_usage_error(&opts, dkim_usage);
	if (!dkim_algorithm_parse(algorithm, &alg)) {
		cli_fail("dkim: --algorithm is rsa or ed25519, not '%.32s'", algorithm);
		cli_options_free(&opts);
		return 2;
	}
	if (domain_arg != NULL) {
		snprintf(domain, sizeof(domain), "%s", domain_arg);
		if (strlen(domain_arg) >= sizeof(domain) || !dir_domain_normalize(domain)) {
			cli_fail("dkim %s: invalid domain name '%.253s'", sub, domain_arg);
			cli_options_free(&opts);
			return 1;
		}
	}
	if (selector == NULL) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		snprintf(selector_buf, sizeof(selector_buf), "%s-%04d%02d", dkim_algorithm_name(alg),
			 tm.tm_year + 1900, tm.tm_mon + 1);
		selector = selector_buf;
	} else if (!dkim_selector_valid(selector)) {
		cli_fail("dkim keygen: invalid selector '%.64s' (lower-case letters, digits, "
			 "inner hyphens and dots; at most %d)", selector, DKIM_SELECTOR_MAX);
		cli_options_free(&opts);
		return 1;
	}
	if (strcmp(sub, "keygen") == 0)
		opts.access = CLI_ACCESS_WRITE;
	ret = cli_config_load(&opts, &cfg);
	cli_options_free(&opts);
	if (ret < 0)
		return 1;
	if (strcmp(sub, "keygen") == 0)
		ret = dkim_keygen(&cfg, domain, selector, alg);
	else
		ret = dkim_list(&cfg, domain_arg != NULL ? domain : NULL);
	config_free(&cfg);
	return ret;
}
