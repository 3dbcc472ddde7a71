/* cmd-serve - `tern serve`: load the configuration, lock the data folder,
 * open the directory and the store root, bind every configured listener to
 * its protocol, load TLS, drop root, check that the data folder is
 * writable, open the queue and the control socket, then run the I/O core
 * until SIGTERM/SIGINT. [server] public_dir gets the socket of `tern
 * sendmail`, an SMTP service of its own (smtp.h, SMTP_SERVICE_LOCAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/addr.h"
#include "core/cidr.h"
#include "core/control.h"
#include "core/datadir.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/privs.h"
#include "core/public-dir.h"
#include "dir/auth-cache.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "imap/imap.h"
#include "mailauth/dkim-keys.h"
#include "pop3/pop3.h"
#include "queue/queue.h"
#include "smtp/smtp-pregreet.h"
#include "smtp/smtp.h"
#include "store/root-control.h"
#include "store/store.h"

/* What the protocol modules share between their sessions, made once. */
struct serve_contexts {
	struct pop3_context pop3;
	struct imap_context imap;
	struct smtp_context smtp;           /* port 25 */
	struct smtp_context submission;     /* 587 and 465 */
	struct smtp_context local;          /* the sendmail socket */
};

static void *serve_pop3_context(struct serve_contexts *ctx)
{
	return &ctx->pop3;
}

static const struct config_conn *serve_pop3_limits(const struct config *cfg)
{
	return &cfg->pop3.conn;
}

static void *serve_imap_context(struct serve_contexts *ctx)
{
	return &ctx->imap;
}

static const struct config_conn *serve_imap_limits(const struct config *cfg)
{
	return &cfg->imap.conn;
}

static void *serve_smtp_context(struct serve_contexts *ctx)
{
	return &ctx->smtp;
}

static void *serve_submission_context(struct serve_contexts *ctx)
{
	return &ctx->submission;
}

static const struct config_conn *serve_smtp_limits(const struct config *cfg)
{
	return &cfg->smtp.conn;
}

/* Every service tern serves: its protocol module, the module's context,
 * TLS and connection limits. Adding a protocol is adding rows; a service
 * of [listen] without a row is not implemented yet. */
static const struct serve_service {
	enum service service;
	const struct protocol *protocol;
	bool implicit_tls;
	void *(*context)(struct serve_contexts *ctx);
	const struct config_conn *(*limits)(const struct config *cfg);
} serve_services[] = {
	{ SERVICE_SMTP, &smtp_protocol, false, serve_smtp_context, serve_smtp_limits },
	{ SERVICE_SUBMISSION, &smtp_submission_protocol, false, serve_submission_context,
	  serve_smtp_limits },
	{ SERVICE_SUBMISSIONS, &smtp_submission_protocol, true, serve_submission_context,
	  serve_smtp_limits },
	{ SERVICE_POP3, &pop3_protocol, false, serve_pop3_context, serve_pop3_limits },
	{ SERVICE_POP3S, &pop3_protocol, true, serve_pop3_context, serve_pop3_limits },
	{ SERVICE_IMAP, &imap_protocol, false, serve_imap_context, serve_imap_limits },
	{ SERVICE_IMAPS, &imap_protocol, true, serve_imap_context, serve_imap_limits },
};

static const struct serve_service *serve_service_find(enum service service)
{
	for (size_t i = 0; i < sizeof(serve_services) / sizeof(serve_services[0]); i++)
		if (serve_services[i].service == service)
			return &serve_services[i];
	return NULL;
}

/* Bind one [listen] service; a service without a protocol yet is skipped
 * with a warning. Returns 0, or -1 after printing why. */
static int serve_listen(struct core *core, const struct config *cfg, enum service service,
			struct serve_contexts *ctx, unsigned *bound)
{
	const struct serve_service *row = serve_service_find(service);
	const char *list = cfg->listen[service];
	const char *name = service_name(service);
	struct core_service svc;
	struct addr_spec *specs = NULL;
	size_t n = 0;
	char *error = NULL;
	int ret;

	if (list == NULL || *list == '\0')
		return 0;
	if (row == NULL) {
		log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
			  "msg=\"service %s is not implemented yet; not listening\"", name);
		return 0;
	}
	if (addr_list_parse(list, &specs, &n, &error) < 0) {
		cli_fail("[listen] %s: %s", name, error != NULL ? error : "bad address list");
		free(error);
		return -1;
	}
	svc = (struct core_service){
		.name = name,
		.protocol = row->protocol,
		.context = row->context(ctx),
		.implicit_tls = row->implicit_tls,
		.tls_policy = tls_policy_for_service(service),
		.limits = *row->limits(cfg),
	};
	ret = core_listen(core, &svc, specs, n, &error);
	free(specs);
	if (ret < 0) {
		cli_fail("%s", error != NULL ? error : "cannot listen");
		free(error);
		return -1;
	}
	*bound += (unsigned)n;
	return 0;
}

/* The socket `tern sendmail` hands local users' mail over on, in
 * [server] public_dir (public-dir.h), before root is dropped. A problem
 * with it is a warning, not a reason to refuse SMTP and POP3 (a server
 * run by a plain user cannot make /run/tern): tern sendmail then says
 * the server is not running. */
static void serve_listen_local(struct core *core, const struct config *cfg,
			       const struct privs *privs, struct serve_contexts *ctx)
{
	const char *dir = cfg->server.public_dir;
	struct core_service svc = {
		.name = "sendmail",
		.protocol = &smtp_protocol,
		.context = &ctx->local,
		.tls_policy = tls_policy_for_service(SERVICE_SMTP),
		.limits = *serve_smtp_limits(cfg),
	};
	char path[CONFIG_PUBLIC_DIR_MAX + sizeof("/" PUBLIC_DIR_SENDMAIL_SOCKET)];
	char *error = NULL;

	if (dir == NULL || dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, PUBLIC_DIR_SENDMAIL_SOCKET);
	if (public_dir_prepare(dir, privs->root ? privs->uid : geteuid(),
			       privs->root ? privs->gid : getegid(), &error) < 0 ||
	    core_listen_unix(core, &svc, path, &error) < 0)
		log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
			  "msg=\"no socket for tern sendmail\" error=\"%s\"",
			  error != NULL ? error : "out of memory");
	free(error);
}

static int serve(const struct config *cfg)
{
	struct serve_contexts ctx;
	struct core *core = NULL;
	struct store_root *store = NULL;
	struct queue *queue = NULL;
	struct cidr_list *trusted = NULL;
	struct smtp_pregreet *pregreet = NULL;
	struct dkim_keys *dkim = NULL;
	struct control *control = NULL;
	struct dir *dir = NULL;
	struct privs privs;
	char *error = NULL;
	unsigned bound = 0;
	int ret = 1;
	int lock_fd;

	/* Before anything is created in the data folder, so that privs_drop
	 * knows whether tern made the folder itself. */
	if (privs_prepare(&privs, cfg->server.user, cfg->server.data_dir, true, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot prepare the data folder");
		free(error);
		return 1;
	}
	/* Held until exit: one server per data folder (datadir.h). */
	lock_fd = datadir_lock(cfg->server.data_dir, &error);
	if (lock_fd < 0) {
		cli_fail("%s", error != NULL ? error : "cannot lock the data folder");
		free(error);
		return 1;
	}
	if (dir_open(cfg->server.data_dir, &dir, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot open the directory");
		free(error);
		close(lock_fd);
		return 1;
	}
	if (store_root_open(cfg->server.data_dir, &store) != STORE_OK) {
		cli_fail("cannot open the store in %s", cfg->server.data_dir);
		dir_close(&dir);
		close(lock_fd);
		return 1;
	}
	if (store_root_linger(store, cfg->server.account_linger) != STORE_OK) {
		cli_fail("cannot keep accounts open ([server] account_linger)");
		store_root_close(&store);
		dir_close(&dir);
		close(lock_fd);
		return 1;
	}
	store_root_set_min_free(store, cfg->limits.min_free_space);
	store_root_set_expunge_horizon(store, cfg->store.expunge_horizon);
	auth_cache_set_ttl(cfg->auth.cache_ttl);
	password_configure(cfg);
	memset(&ctx, 0, sizeof(ctx));
	ctx.pop3.dir = dir;
	ctx.pop3.store = store;
	ctx.pop3.hostname = cfg->server.hostname;
	ctx.imap = (struct imap_context){
		.dir = dir,
		.store = store,
		.hostname = cfg->server.hostname,
	};
	/* config_load checked the list: this fails for want of memory only. */
	if (cidr_list_parse(cfg->smtp.trusted_networks, &trusted, &error) < 0) {
		cli_fail("[smtp] trusted_networks: %s", error != NULL ? error : "invalid");
		goto out;
	}
	pregreet = smtp_pregreet_new(0);
	/* The queue is opened below, before the first connection. */
	ctx.smtp = (struct smtp_context){
		.service = SMTP_SERVICE_MX,
		.dir = dir,
		.store = store,
		.hostname = cfg->server.hostname,
		.trusted = trusted,
		.pregreet = pregreet,
	};
	/* What users send is DKIM-signed with DATA/dkim's keys, read when
	 * first needed and again when they change (smtp-sign.c). */
	dkim = dkim_keys_new(cfg->server.data_dir);
	ctx.submission = ctx.smtp;
	ctx.submission.service = SMTP_SERVICE_SUBMISSION;
	ctx.submission.dkim = dkim;
	ctx.local = ctx.submission;
	ctx.local.service = SMTP_SERVICE_LOCAL;

	if (core_new(cfg, &core, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot start");
		goto out;
	}
	for (int s = 0; s < SERVICE__COUNT; s++)
		if (serve_listen(core, cfg, (enum service)s, &ctx, &bound) < 0)
			goto out;
	if (bound == 0) {
		cli_fail("no service to listen for (set [listen] smtp, submission, submissions, pop3, pop3s, imap or imaps)");
		goto out;
	}
	serve_listen_local(core, cfg, &privs, &ctx);
	if (core_tls_load(core, &error) < 0) {
		cli_fail("TLS: %s", error != NULL ? error : "cannot load the certificate");
		goto out;
	}
	/* Ports are bound and the certificate read: root is no longer needed.
	 * privs_drop gives what was created as root (directory.db, DATA/tls)
	 * to [server] user. */
	if (privs_drop(&privs, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot drop privileges");
		goto out;
	}
	/* Refuse now rather than say "ready" and fail every session. */
	if (datadir_check_writable(cfg->server.data_dir, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "the data folder is not writable");
		goto out;
	}
	store_reserve_init(cfg->server.data_dir);
	/* As [server] user, so that what it creates is that user's; after
	 * core_new, which sizes libuv's thread pool that local delivery uses.
	 * Queued mail is delivered from here on. */
	if (queue_open(cfg, store, dir, &queue, &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot open the queue");
		goto out;
	}
	/* outbound delivery runs on the first I/O loop, within descriptors
	 * the connection limit is fitted around */
	if (queue_relay_start(queue, core_loop(core, 0), core_reserve_fds(core, queue_relay_fds(cfg)),
			      &error) < 0) {
		cli_fail("%s", error != NULL ? error : "cannot start outbound delivery");
		goto out;
	}
	ctx.smtp.queue = queue;
	ctx.submission.queue = queue;
	ctx.local.queue = queue;
	ctx.smtp.srs = ctx.submission.srs = ctx.local.srs = queue_srs(queue);
	/* `tern queue remove|hold|release|flush` talk to the queue here,
	 * `tern user del` to the store (a lingering account) */
	const struct control_table tables[] = {
		{ queue_control_commands, queue_control_commands_n, queue },
		{ store_control_commands, store_control_commands_n, store },
	};
	if (control_open_tables(cfg->server.data_dir, tables, sizeof(tables) / sizeof(tables[0]),
				&control, &error) < 0) {
		cli_fail("control socket: %s", error != NULL ? error : "cannot listen");
		goto out;
	}
	ret = core_run(core, true) < 0 ? 1 : 0;
out:
	free(error);
	core_free(&core);
	/* after the core: no session is receiving a message any more; a
	 * delivery in progress finishes, what waits stays queued */
	control_close(&control);
	queue_close(&queue);
	smtp_pregreet_free(&pregreet);
	dkim_keys_free(&dkim);
	cidr_list_free(&trusted);
	/* after the core: no session holds an account any more (a job the
	 * core exited without keeps its own, see store_root_close) */
	store_root_close(&store);
	dir_close(&dir);
	close(lock_fd);
	return ret;
}

static const char serve_usage[] =
	"usage: tern serve [-c FILE] [--set SECTION.KEY=VALUE ...]\n"
	"Run the mail server in the foreground; SIGTERM or SIGINT stop it,\n"
	"SIGHUP reloads the TLS certificate.\n";

int cmd_serve(int argc, char **argv)
{
	struct cli_options opts;
	struct config cfg;
	int ret;

	ret = cli_options_parse(&argc, argv, NULL, serve_usage, &opts);
	if (ret >= 0)
		return ret;
	if (argc > 1) {
		cli_fail("serve takes no arguments (try tern serve --help)");
		cli_options_free(&opts);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (cli_config_load(&opts, &cfg) < 0) {
		cli_options_free(&opts);
		return 1;
	}
	if (cfg.log.level != NULL && *cfg.log.level != '\0') {
		int level = log_level_parse(cfg.log.level);

		if (level < 0) {
			cli_fail("[log] level: unknown level '%s' (debug, info, warn, error)",
				 cfg.log.level);
			config_free(&cfg);
			cli_options_free(&opts);
			return 1;
		}
		log_set_level((enum log_level)level);
	}
	ret = serve(&cfg);
	config_free(&cfg);
	cli_options_free(&opts);
	return ret;
}
