/* cmd-user - `tern user add|del|passwd|list`: accounts. Passwords come one
 * line on standard input, or from a terminal (or a ready hash with
 * --hash); neither is ever printed. Deleting an account deletes its mail,
 * or with --keep-mail moves it where no account will find it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "core/control.h"
#include "store/root-control.h"
#include "store/store.h"

static const char user_usage[] =
	"usage: tern user add ADDRESS [--quota BYTES] [--hash '{SCHEME}...']\n"
	"       tern user passwd ADDRESS [--hash '{SCHEME}...'] [--quota BYTES]\n"
	"       tern user del ADDRESS [--keep-mail]\n"
	"       tern user list [DOMAIN]\n"
	"The password is read, one line, from standard input (typed twice, unseen,\n"
	"on a terminal) unless --hash gives a stored hash ({ARGON2ID},\n"
	"{SHA512-CRYPT}, {BLF-CRYPT}). A password is 1 to 200 bytes of UTF-8, without\n"
	"control characters or a space at either end.\n"
	"--quota BYTES takes a K, M or G suffix (10M); 0 = unlimited.\n"
	"del deletes the account's mail; --keep-mail moves it to\n"
	"DATA/mail/DOMAIN/.deleted/ instead, where no account will find it.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

struct user_args {
	const char *sub;
	const char *address;       /* ADDRESS, or DOMAIN for list */
	const char *hash;          /* --hash */
	const char *quota;         /* --quota */
	bool keep_mail;            /* --keep-mail */
};

/* `user list`: a header line, then one line per account, "ADDRESS QUOTA",
 * the quota in bytes or "unlimited". ctx: a bool, the header is out. */
static void user_print_header(bool *done)
{
	if (!*done)
		printf("address quota\n");
	*done = true;
}

static void user_print(void *ctx, const char *address, uint64_t quota)
{
	user_print_header(ctx);
	if (quota == 0)
		printf("%s unlimited\n", address);
	else
		printf("%s %" PRIu64 "\n", address, quota);
}

/* The directory keeps quotas as SQLite integers (signed 64 bits). */
static bool user_parse_quota(const char *text, uint64_t *quota_r)
{
	return config_parse_size(text, quota_r) == 0 && *quota_r <= INT64_MAX;
}

/* The hash to store: --hash checked, or the password from standard input
 * (or the terminal) checked and hashed. NULL after printing why. */
static char *user_new_hash(const struct user_args *args, const char *address)
{
	char cmd[32];
	const char *why;
	char *password;
	char *hash;

	if (args->hash != NULL) {
		if (!password_hash_valid(args->hash, &why)) {
			cli_fail("user %s: invalid --hash: %s", args->sub, why);
			return NULL;
		}
		hash = strdup(args->hash);
		if (hash == NULL)
			cli_fail("user %s: out of memory", args->sub);
		return hash;
	}
	snprintf(cmd, sizeof(cmd), "user %s", args->sub);
	password = cli_password_read(cmd, address);
	if (password == NULL)
		return NULL;
	hash = password_hash(password);
	if (hash == NULL)
		cli_fail("user %s: cannot hash the password", args->sub);
	OPENSSL_cleanse(password, strlen(password));
	free(password);
	return hash;
}

static int user_fail(const struct user_args *args, const char *address, enum dir_error error)
{
	const char *at = strrchr(address, '@');

	switch (error) {
	case DIR_ERR_NO_DOMAIN:
		cli_fail("user %s: domain %.253s does not exist", args->sub, at != NULL ? at + 1 : "");
		break;
	case DIR_ERR_EXISTS:
		cli_fail("user %s: %.320s already exists (as an account or an alias)", args->sub, address);
		break;
	case DIR_ERR_NOT_FOUND:
		if (strcmp(args->sub, "list") == 0)
			cli_fail("user list: domain %.253s does not exist", address);
		else
			cli_fail("user %s: no such user %.320s", args->sub, address);
		break;
	case DIR_ERR_INVALID:
		cli_fail("user %s: invalid %s '%.320s'", args->sub,
			 strcmp(args->sub, "list") == 0 ? "domain" : "address", address);
		break;
	default:
		cli_fail("user %s: %s", args->sub, dir_error_str(error));
		break;
	}
	return 1;
}

/* store_remove_begin, and when the folder is open, once more after
 * asking the running server to close the account's handle if it only
 * lingers ([server] account_linger): a session that logged out a moment
 * ago does not make the command fail. */
static enum store_error user_remove_begin(const char *data_dir, const char *address,
					  struct store_removal **rm_r)
{
	enum store_error serr = store_remove_begin(data_dir, address, rm_r);
	char request[CONTROL_LINE_MAX + 1], *text = NULL;
	int n;

	if (serr != STORE_ERR_LOCKED)
		return serr;
	n = snprintf(request, sizeof(request), "store-release %s", address);
	if (n < 0 || (size_t)n >= sizeof(request))
		return serr;
	if (control_call(data_dir, request, &text) == CONTROL_CALL_OK)
		serr = store_remove_begin(data_dir, address, rm_r);
	free(text);
	return serr;
}

/* `user del`: the account and its mail folder go together. The folder is
 * held exclusively first, so that no session has it open; the account is
 * deleted while it is held, then the folder is moved aside (and removed
 * unless --keep-mail). Returns the exit status. */
static int user_del(struct dir *dir, const char *data_dir, const struct user_args *args,
		    const char *address)
{
	struct store_removal *rm = NULL;
	enum store_error serr;
	enum dir_error derr;
	char *where = NULL;

	serr = user_remove_begin(data_dir, address, &rm);
	if (serr == STORE_ERR_LOCKED) {
		cli_fail("user del: the mail of %.320s is open (a POP3 session or an import); "
			 "nothing was changed, try again when it is closed", address);
		return 1;
	}
	if (serr != STORE_OK) {
		cli_fail("user del: cannot take the mail folder of %.320s: %s; nothing was changed",
			 address, store_error_name(serr));
		return 1;
	}
	derr = dir_user_del(dir, address);
	if (derr != DIR_OK) {
		store_remove_abort(&rm);
		return user_fail(args, address, derr);
	}
	serr = store_remove_commit(&rm, args->keep_mail, &where);
	/* The folder is gone from its place: sessions in IDLE, which hold
	 * no handle, learn it now and end (store_account_get_again). */
	if (serr == STORE_OK || where != NULL) {
		struct hub_change gone = { .address = address, .kind = HUB_CHANGE_ACCOUNT };

		store_changes_forward(data_dir, &gone, 1);
	}
	if (serr != STORE_OK && where == NULL) {
		cli_fail("user del: %.320s deleted, but its mail folder could not be moved aside: %s",
			 address, store_error_name(serr));
	} else if (serr != STORE_OK) {
		cli_fail("user del: %.320s deleted; its mail was moved aside, but could not be removed "
			 "from %.1024s", address, where);
	} else if (where != NULL) {
		printf("deleted %s; its mail is kept in %s\n", address, where);
	}
	free(where);
	return serr == STORE_OK ? 0 : 1;
}

/* `user add`. A mail folder already at the new account's path (left by an
 * account deleted before `user del` took the mail with it, or by a crash
 * between user_del's two steps) is moved aside like --keep-mail's, so the
 * new account starts empty. Returns the exit status. */
static int user_add(struct dir *dir, const char *data_dir, const struct user_args *args,
		    const char *address, const char *hash, uint64_t quota)
{
	struct store_removal *rm = NULL;
	enum store_error serr;
	enum dir_error derr;
	char *where = NULL;

	serr = user_remove_begin(data_dir, address, &rm);
	if (serr == STORE_ERR_LOCKED) {
		struct dir_user user;

		/* open: most likely by a session of the account that exists */
		derr = dir_user_lookup(dir, address, &user);
		if (derr == DIR_OK) {
			dir_user_free(&user);
			return user_fail(args, address, DIR_ERR_EXISTS);
		}
	}
	if (serr != STORE_OK) {
		cli_fail("user add: cannot take the old mail folder at the place of %.320s: %s",
			 address, store_error_name(serr));
		return 1;
	}
	derr = dir_user_add(dir, address, hash, quota);
	if (derr != DIR_OK) {
		store_remove_abort(&rm);
		return user_fail(args, address, derr);
	}
	serr = store_remove_commit(&rm, true, &where);
	if (where != NULL)
		printf("added %s; an old mail folder at its place, of no account, was moved to %s\n",
		       address, where);
	else if (serr != STORE_OK)
		cli_fail("user add: %.320s added, but an old mail folder at its place could not be "
			 "moved aside: %s", address, store_error_name(serr));
	free(where);
	return serr == STORE_OK ? 0 : 1;
}

static int user_run(struct dir *dir, const char *data_dir, const struct user_args *args)
{
	enum dir_error error;
	uint64_t quota = 0;
	char *address = NULL;
	char *hash = NULL;
	int ret;

	if (strcmp(args->sub, "list") == 0) {
		bool header = false;

		error = dir_user_list(dir, args->address, user_print, &header);
		if (error != DIR_OK)
			return user_fail(args, args->address, error);
		user_print_header(&header);
		return 0;
	}
	address = strdup(args->address);
	if (address == NULL || !dir_address_normalize(address)) {
		free(address);
		return user_fail(args, args->address, DIR_ERR_INVALID);
	}
	if (strcmp(args->sub, "del") == 0) {
		ret = user_del(dir, data_dir, args, address);
		free(address);
		return ret;
	}
	if (args->quota != NULL && !user_parse_quota(args->quota, &quota)) {
		cli_fail("user %s: --quota wants a number of bytes, optionally with a K, M or G "
			 "suffix (10M)", args->sub);
		free(address);
		return 2;
	}
	if ((hash = user_new_hash(args, address)) == NULL) {
		free(address);
		return 1;
	}
	if (strcmp(args->sub, "add") == 0) {
		ret = user_add(dir, data_dir, args, address, hash, quota);
	} else {
		error = dir_user_set_hash(dir, address, hash);
		if (error == DIR_OK && args->quota != NULL)
			error = dir_user_set_quota(dir, address, quota);
		ret = error == DIR_OK ? 0 : user_fail(args, address, error);
	}
	OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
	free(address);
	return ret;
}

/* Returns 0, or 2 after printing the usage error. */
static int user_parse_args(int argc, char **argv, struct user_args *args)
{
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;
	bool wants_address;

	memset(args, 0, sizeof(*args));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hash") == 0 && i + 1 < argc) {
			args->hash = argv[++i];
		} else if (strcmp(argv[i], "--quota") == 0 && i + 1 < argc) {
			args->quota = argv[++i];
		} else if (strcmp(argv[i], "--keep-mail") == 0) {
			args->keep_mail = true;
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			npos++;
		}
	}
	args->sub = pos[0] != NULL ? pos[0] : "";
	args->address = pos[1];
	wants_address = strcmp(args->sub, "add") == 0 || strcmp(args->sub, "del") == 0 ||
		strcmp(args->sub, "passwd") == 0;
	if (wants_address ? npos != 2 : !(strcmp(args->sub, "list") == 0 && npos <= 2)) {
		fputs(user_usage, stderr);
		return 2;
	}
	if ((args->hash != NULL && strcmp(args->sub, "add") != 0 && strcmp(args->sub, "passwd") != 0) ||
	    (args->quota != NULL && strcmp(args->sub, "add") != 0 && strcmp(args->sub, "passwd") != 0)) {
		cli_fail("user %s: --hash and --quota go with add or passwd", args->sub);
		return 2;
	}
	if (args->keep_mail && strcmp(args->sub, "del") != 0) {
		cli_fail("user %s: --keep-mail goes with del", args->sub);
		return 2;
	}
	return 0;
}

int cmd_user(int argc, char **argv)
{
	static const struct cli_option extra[] = {
		{ "--hash", true }, { "--quota", true }, { "--keep-mail", false }, { NULL, false },
	};
	struct cli_options opts;
	struct user_args args;
	struct config cfg;
	struct dir *dir;
	int ret = cli_options_parse(&argc, argv, extra, user_usage, &opts);

	if (ret >= 0)
		return ret;
	ret = user_parse_args(argc, argv, &args);
	if (ret != 0) {
		cli_options_free(&opts);
		return ret;
	}
	if (strcmp(args.sub, "list") != 0)
		opts.access = CLI_ACCESS_WRITE;
	dir = cli_dir_open(&opts, "user", &cfg);
	cli_options_free(&opts);
	if (dir == NULL)
		return 1;
	ret = user_run(dir, cfg.server.data_dir, &args);
	dir_close(&dir);
	config_free(&cfg);
	return ret;
}
