/* test-dir - the user directory (CRUD, case, errors), password hashes of
 * every accepted scheme and their cost ceilings, the check of a login with
 * its re-hash, and the throttle (admission, failures, delays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <crypt.h>

#include "core/config.h"
#include "dir/auth-throttle.h"
#include "dir/auth.h"
#include "dir/dir.h"
#include "dir/password.h"

struct fixture {
	char tmp[64];
	char data[96];
	struct dir *dir;
	char *hash;          /* {ARGON2ID} of "secret" */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *error = NULL;

	strcpy(f->tmp, "/tmp/test-dir-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	/* A data folder that does not exist yet: dir_open creates it. */
	snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
	assert_int_equal(dir_open(f->data, &f->dir, &error), 0);
	assert_null(error);
	f->hash = password_hash("secret");
	assert_non_null(f->hash);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dir_close(&f->dir);
	assert_null(f->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(f->hash);
	free(f);
	return 0;
}

static void collect(void *ctx, const char *text)
{
	char *out = ctx;

	strcat(out, text);
	strcat(out, ";");
}

static void collect_user(void *ctx, const char *address, uint64_t quota)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%s=%llu;", address, (unsigned long long)quota);
}

static void collect_alias(void *ctx, const char *alias, const char *targets)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%s>%s;", alias, targets);
}

static void test_modes(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char path[160];

	assert_int_equal(stat(f->data, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/directory.db", f->data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_address_normalize(void **state)
{
	static const char *const good[][2] = {
		{ "Local@Dom.Example", "local@dom.example" },
		{ "a@b", "a@b" },
		{ "first.last+tag@x-y.example.org", "first.last+tag@x-y.example.org" },
		{ "o'neil!#$%&*=?^_`{|}~-@ex.org", "o'neil!#$%&*=?^_`{|}~-@ex.org" },
	};
	static const char *const bad[] = {
		"", "@", "a@", "@b", "nodomain", "a b@c.org", "a@b c", "a@-b.org", "a@b-.org",
		"a@.b", "a@b.", "a@b..c", ".a@b", "a.@b", "a..b@c", "a/b@c", "a,b@c", "a\"b@c",
		"a@b_c.org", "a@[127.0.0.1]", "\x01@b", "a\x7f@b", "\xc3\xa4@b.org", "a@b@c",
		"a(b)@c", "a:b@c",
	};
	char buf[400];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		strcpy(buf, good[i][0]);
		assert_true(dir_address_normalize(buf));
		assert_string_equal(buf, good[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(buf, bad[i]);
		if (dir_address_normalize(buf))
			fail_msg("accepted '%s'", bad[i]);
	}
	/* Lengths: local part 64, labels 63, domain 253. */
	memset(buf, 'a', 64);
	strcpy(buf + 64, "@b.org");
	assert_true(dir_address_normalize(buf));
	memset(buf, 'a', 65);
	strcpy(buf + 65, "@b.org");
	assert_false(dir_address_normalize(buf));
	strcpy(buf, "a@");
	memset(buf + 2, 'b', 63);
	strcpy(buf + 65, ".org");
	assert_true(dir_address_normalize(buf));
	memset(buf + 2, 'b', 64);
	strcpy(buf + 66, ".org");
	assert_false(dir_address_normalize(buf));
	/* 4 labels of 62 + dots + "x" = 253; one more is too long. */
	strcpy(buf, "a@");
	for (int i = 0; i < 4; i++) {
		memset(buf + strlen(buf) + 62, 0, 1);
		memset(buf + strlen(buf), 'c', 62);
		strcat(buf, ".");
	}
	strcat(buf, "x");
	assert_int_equal(strlen(buf) - 2, 253);
	assert_true(dir_address_normalize(buf));
	strcat(buf, "y");
	assert_false(dir_address_normalize(buf));
}

static void test_domains(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "", "-a.org", "a-.org", ".a", "a.", "a..b", "a_b.org",
					   "a b", "a@b", "ä.org" };
	char out[512] = "";

	assert_int_equal(dir_domain_add(f->dir, "Example.ORG"), DIR_OK);
	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_ERR_EXISTS);
	assert_int_equal(dir_domain_add(f->dir, "b.example"), DIR_OK);
	assert_int_equal(dir_domain_add(f->dir, "localhost"), DIR_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dir_domain_add(f->dir, bad[i]), DIR_ERR_INVALID);
	assert_true(dir_domain_exists(f->dir, "EXAMPLE.org"));
	assert_false(dir_domain_exists(f->dir, "other.org"));
	assert_false(dir_domain_exists(f->dir, "bad..name"));
	assert_int_equal(dir_domain_list(f->dir, collect, out), DIR_OK);
	assert_string_equal(out, "b.example;example.org;localhost;");
	assert_int_equal(dir_domain_del(f->dir, "B.Example"), DIR_OK);
	assert_int_equal(dir_domain_del(f->dir, "b.example"), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_domain_del(f->dir, "-x"), DIR_ERR_INVALID);
	assert_string_equal(dir_error_str(DIR_ERR_NOT_EMPTY), "domain still has accounts or aliases");
	assert_string_equal(dir_error_str((enum dir_error)99), "unknown error");
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	struct dir_user user;
	char out[512] = "";

	assert_int_equal(dir_user_add(f->dir, "alice@example.org", f->hash, 0), DIR_ERR_NO_DOMAIN);
	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	assert_int_equal(dir_domain_add(f->dir, "other.org"), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "Alice@Example.org", f->hash, 1000), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "ALICE@example.ORG", f->hash, 0), DIR_ERR_EXISTS);
	assert_int_equal(dir_user_add(f->dir, "bob@other.org", f->hash, 0), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "bad address@example.org", f->hash, 0), DIR_ERR_INVALID);
	assert_int_equal(dir_user_add(f->dir, "carol@example.org", "{PLAIN}secret", 0), DIR_ERR_INVALID);
	assert_int_equal(dir_user_add(f->dir, "carol@example.org", "", 0), DIR_ERR_INVALID);
	assert_int_equal(dir_user_add(f->dir, "carol@example.org", NULL, 0), DIR_ERR_INVALID);

	assert_int_equal(dir_user_lookup(f->dir, "ALICE@EXAMPLE.ORG", &user), DIR_OK);
	assert_string_equal(user.address, "alice@example.org");
	assert_string_equal(user.hash, f->hash);
	assert_int_equal(user.quota, 1000);
	dir_user_free(&user);
	assert_null(user.address);
	assert_int_equal(dir_user_lookup(f->dir, "nobody@example.org", &user), DIR_ERR_NOT_FOUND);
	assert_null(user.address);
	assert_int_equal(dir_user_lookup(f->dir, "not an address", &user), DIR_ERR_INVALID);

	assert_int_equal(dir_user_set_quota(f->dir, "alice@example.org", 5), DIR_OK);
	assert_int_equal(dir_user_set_quota(f->dir, "zed@example.org", 5), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_user_set_hash(f->dir, "alice@example.org", "{MD5}x"), DIR_ERR_INVALID);
	assert_int_equal(dir_user_set_hash(f->dir, "zed@example.org", f->hash), DIR_ERR_NOT_FOUND);

	assert_int_equal(dir_user_list(f->dir, NULL, collect_user, out), DIR_OK);
	assert_string_equal(out, "alice@example.org=5;bob@other.org=0;");
	out[0] = '\0';
	assert_int_equal(dir_user_list(f->dir, "Other.org", collect_user, out), DIR_OK);
	assert_string_equal(out, "bob@other.org=0;");
	assert_int_equal(dir_user_list(f->dir, "nope.org", collect_user, out), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_user_list(f->dir, "bad..", collect_user, out), DIR_ERR_INVALID);

	/* A domain with accounts cannot go. */
	assert_int_equal(dir_domain_del(f->dir, "other.org"), DIR_ERR_NOT_EMPTY);
	assert_int_equal(dir_user_del(f->dir, "Bob@Other.org"), DIR_OK);
	assert_int_equal(dir_user_del(f->dir, "bob@other.org"), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_user_del(f->dir, "bob"), DIR_ERR_INVALID);
	assert_int_equal(dir_domain_del(f->dir, "other.org"), DIR_OK);
}

static void test_aliases(void **state)
{
	struct fixture *f = *state;
	char out[512] = "";

	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "alice@example.org", f->hash, 0), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "postmaster@nope.org", "alice@example.org"),
			 DIR_ERR_NO_DOMAIN);
	assert_int_equal(dir_alias_add(f->dir, "PostMaster@example.org",
				       " Alice@Example.org , bob@Remote.EXAMPLE,alice@example.org"),
			 DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "postmaster@example.org", "x@y.org"), DIR_ERR_EXISTS);
	/* An alias cannot shadow an account, nor an account an alias. */
	assert_int_equal(dir_alias_add(f->dir, "alice@example.org", "x@y.org"), DIR_ERR_EXISTS);
	assert_int_equal(dir_user_add(f->dir, "postmaster@example.org", f->hash, 0), DIR_ERR_EXISTS);
	assert_int_equal(dir_alias_add(f->dir, "a@example.org", "x@y.org,bad target"), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "a@example.org", ""), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "a@example.org", ",,"), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "a@example.org", NULL), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "a b@example.org", "x@y.org"), DIR_ERR_INVALID);

	assert_int_equal(dir_alias_list(f->dir, collect_alias, out), DIR_OK);
	assert_string_equal(out, "postmaster@example.org>alice@example.org,bob@remote.example;");

	assert_int_equal(dir_user_del(f->dir, "alice@example.org"), DIR_OK);
	assert_int_equal(dir_domain_del(f->dir, "example.org"), DIR_ERR_NOT_EMPTY);
	assert_int_equal(dir_alias_del(f->dir, "POSTMASTER@example.org"), DIR_OK);
	assert_int_equal(dir_alias_del(f->dir, "postmaster@example.org"), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_domain_del(f->dir, "example.org"), DIR_OK);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	char *error = NULL;

	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	dir_close(&f->dir);
	assert_int_equal(dir_open(f->data, &f->dir, &error), 0);
	assert_true(dir_domain_exists(f->dir, "example.org"));
	/* A data folder that cannot be created. */
	struct dir *d = NULL;
	assert_int_equal(dir_open("/proc/nonexistent/data", &d, &error), -1);
	assert_null(d);
	assert_non_null(error);
	free(error);
}

static void test_password_schemes(void **state)
{
	struct fixture *f = *state;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char stored[256];
	const char *why;
	const char *out;

	/* ARGON2ID, ours. */
	assert_true(password_hash_valid(f->hash, &why));
	assert_true(password_verify("secret", f->hash));
	assert_false(password_verify("Secret", f->hash));
	assert_false(password_verify("", f->hash));
	/* {ARGON2I}, as older Dovecot made them. */
	assert_true(password_verify("password",
		"{ARGON2I}$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"));
	/* Salts differ. */
	char *again = password_hash("secret");
	assert_string_not_equal(again, f->hash);
	free(again);

	/* SHA512-CRYPT, as Dovecot's passwd files hold it. */
	out = crypt_r("hunter2", "$6$saltsalt$", cd);
	assert_non_null(out);
	snprintf(stored, sizeof(stored), "{SHA512-CRYPT}%s", out);
	assert_true(password_hash_valid(stored, &why));
	assert_true(password_verify("hunter2", stored));
	assert_false(password_verify("hunter3", stored));
	/* Scheme names compare in any case. */
	memcpy(stored, "{sha512-crypt}", 14);
	assert_true(password_verify("hunter2", stored));
	/* With rounds. */
	out = crypt_r("hunter2", "$6$rounds=5000$saltsalt$", cd);
	snprintf(stored, sizeof(stored), "{SHA512-CRYPT}%s", out);
	assert_true(password_verify("hunter2", stored));

	/* BLF-CRYPT, cost 5. */
	out = crypt_r("hunter2", "$2y$05$abcdefghijklmnopqrstuu", cd);
	assert_non_null(out);
	snprintf(stored, sizeof(stored), "{BLF-CRYPT}%s", out);
	assert_true(password_hash_valid(stored, &why));
	assert_true(password_verify("hunter2", stored));
	assert_false(password_verify("hunter", stored));
	stored[13] = 'b';   /* $2b$ */
	assert_true(password_verify("hunter2", stored));
	free(cd);
}

static void test_password_malformed(void **state)
{
	static const char *const bad[] = {
		"", "secret", "{PLAIN}secret", "{MD5}$1$abc$def", "{SHA512-CRYPT}", "{SHA512-CRYPT}$6$",
		"{SHA512-CRYPT}$6$saltsalt", "{SHA512-CRYPT}$6$saltsalt$short",
		"{SHA512-CRYPT}$5$saltsalt$8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91",
		"{SHA512-CRYPT}$6$salt!salt$8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91",
		"{SHA512-CRYPT}$6$rounds=$s$8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91",
		"{BLF-CRYPT}$2y$05$short", "{BLF-CRYPT}$2x$05$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345",
		"{BLF-CRYPT}$2y$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345",
		"{BLF-CRYPT}$2y$03$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345",
		"{ARGON2ID}garbage", "{ARGON2ID}$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
		"{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ", "{ARGON2ID}$argon2id$m=8$a$b$c",
		"{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$c2Fsd HNhbHQ$aGFzaA",
		"{ARGON2ID}$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
		"{ARGON2ID}$argon2id$v=19$m=8,t=100,p=1$c2FsdHNhbHQ$aGFzaA",
		"{ARGON2ID}$argon2id$v=19$m=8,t=1,p=0$c2FsdHNhbHQ$aGFzaA",
		"{ARGON2ID}$argon2id$v=19$t=1,m=8,p=1$c2FsdHNhbHQ$aGFzaA",
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (password_hash_valid(bad[i], &why))
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
		assert_false(password_verify("secret", bad[i]));
	}
	assert_false(password_hash_valid(NULL, &why));
	assert_false(password_verify(NULL, "{MD5}x"));
	/* Too long to be any hash. */
	char *huge = malloc(2000);
	memset(huge, 'a', 1999);
	huge[1999] = '\0';
	memcpy(huge, "{ARGON2ID}", 10);
	assert_false(password_hash_valid(huge, &why));
	free(huge);
	/* A password too long to hash. */
	char *pw = malloc(5000);
	memset(pw, 'p', 4999);
	pw[4999] = '\0';
	assert_null(password_hash(pw));
	free(pw);
}

/* The cost ceilings ([auth] *_max), at their edges; a hash over one is
 * never run (a BLF-CRYPT cost 31 verification would take hours). */
static void test_password_ceilings(void **state)
{
	/* Each hash is scheme[0] + cost + scheme[1]. */
	static const char *const blf[] = {
		"{BLF-CRYPT}$2y$", "$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345" };
	static const char *const sha[] = {
		"{SHA512-CRYPT}$6$rounds=",
		"$saltsalt$8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91" };
	static const char *const argon[] = { "{ARGON2ID}$argon2id$v=19$", "$c2FsdHNhbHQ$aGFzaA" };
	static const struct {
		const char *const *scheme;
		const char *cost;
		bool valid, raised;   /* with the defaults; with the raised ceilings */
		const char *why;      /* in the reason when refused by default */
	} cases[] = {
		{ blf, "12", true, true, NULL },
		{ blf, "13", false, true, "bcrypt_cost_max" },
		{ blf, "31", false, false, "cost 31" },
		{ sha, "100000", true, true, NULL },
		{ sha, "100001", false, true, "sha512_rounds_max" },
		{ sha, "999999999", false, false, "rounds=999999999" },
		{ argon, "m=262144,t=10,p=16", true, true, NULL },
		{ argon, "m=262145,t=1,p=1", false, true, "argon2_memory_max" },
		{ argon, "m=8,t=11,p=1", false, true, "argon2_passes_max" },
		{ argon, "m=8,t=1,p=17", false, false, "16 lanes" },
	};
	struct config cfg;
	char stored[300];
	const char *why;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.auth.bcrypt_cost_max = 13;
	cfg.auth.sha512_rounds_max = 100001;
	cfg.auth.argon2_memory_max = 262145ull * 1024;
	cfg.auth.argon2_passes_max = 11;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(stored, sizeof(stored), "%s%s%s", cases[i].scheme[0], cases[i].cost,
			 cases[i].scheme[1]);
		password_configure(NULL);
		why = NULL;
		if (password_hash_valid(stored, &why) != cases[i].valid)
			fail_msg("'%s': %s", stored, why != NULL ? why : "accepted");
		if (!cases[i].valid) {
			assert_non_null(strstr(why, cases[i].why));
			/* Never run: false at once, whatever the password. */
			assert_false(password_verify("secret", stored));
		}
		password_configure(&cfg);
		if (password_hash_valid(stored, &why) != cases[i].raised)
			fail_msg("raised: '%s'", stored);
	}
	password_configure(NULL);
}

/* What a successful login replaces ([auth] rehash). */
static void test_password_needs_rehash(void **state)
{
	struct fixture *f = *state;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char stored[256];

	assert_false(password_needs_rehash(f->hash));
	/* Stronger than ours: kept. */
	assert_false(password_needs_rehash(
		"{ARGON2ID}$argon2id$v=19$m=65536,t=4,p=2$c2FsdHNhbHQ$aGFzaA"));
	assert_true(password_needs_rehash(
		"{ARGON2ID}$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA"));
	assert_true(password_needs_rehash(
		"{ARGON2ID}$argon2id$v=19$m=32768,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
	assert_true(password_needs_rehash(
		"{ARGON2I}$argon2i$v=19$m=32768,t=3,p=1$c2FsdHNhbHQ$aGFzaA"));
	snprintf(stored, sizeof(stored), "{SHA512-CRYPT}%s", crypt_r("x", "$6$saltsalt$", cd));
	assert_true(password_needs_rehash(stored));
	snprintf(stored, sizeof(stored), "{BLF-CRYPT}%s", crypt_r("x", "$2y$05$abcdefghijklmnopqrstuu", cd));
	assert_true(password_needs_rehash(stored));
	free(cd);
}

static void test_auth_check_password(void **state)
{
	struct fixture *f = *state;
	struct auth_check check;
	char *address = NULL;

	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "alice@example.org", f->hash, 0), DIR_OK);
	auth_check_password(f->dir, "Alice@Example.org", "", "secret", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	assert_string_equal(check.address, "alice@example.org");
	/* Already argon2id at the current cost: left alone. */
	assert_int_equal(check.note, AUTH_NOTE_NONE);
	free(check.address);
	auth_check_password(f->dir, "alice@example.org", "ALICE@example.org", "secret", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	free(check.address);
	auth_check_password(f->dir, "alice@example.org", NULL, "secret", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	free(check.address);
	auth_check_password(f->dir, "alice@example.org", "", "wrong", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	assert_null(check.address);
	auth_check_password(f->dir, "nobody@example.org", "", "secret", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	auth_check_password(f->dir, "not an address", "", "secret", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	/* No proxy logins. */
	auth_check_password(f->dir, "alice@example.org", "bob@example.org", "secret", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	assert_null(check.address);
	/* The fast step without the cache's knowledge: not known to be right. */
	assert_int_equal(auth_check_cached(f->dir, "nobody@example.org", "", "secret", &address),
			 AUTH_FAILED);
	assert_null(address);
}

/* An imported SHA512-CRYPT hash becomes argon2id at the first successful
 * login ([auth] rehash); not with rehash off, not after a wrong password,
 * and not over a password changed meanwhile. A stored hash over a ceiling
 * is never run. */
static void test_auth_rehash(void **state)
{
	struct fixture *f = *state;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct dir_user user;
	struct auth_check check;
	char stored[256];

	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	snprintf(stored, sizeof(stored), "{SHA512-CRYPT}%s", crypt_r("hunter2", "$6$saltsalt$", cd));
	assert_int_equal(dir_user_add(f->dir, "old@example.org", stored, 0), DIR_OK);

	auth_check_password(f->dir, "old@example.org", "", "hunter3", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	auth_check_password(f->dir, "old@example.org", "", "hunter2", false, &check);
	assert_int_equal(check.result, AUTH_OK);
	assert_int_equal(check.note, AUTH_NOTE_NONE);
	free(check.address);
	assert_int_equal(dir_user_lookup(f->dir, "old@example.org", &user), DIR_OK);
	assert_string_equal(user.hash, stored);
	dir_user_free(&user);

	auth_check_password(f->dir, "old@example.org", "", "hunter2", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	assert_int_equal(check.note, AUTH_NOTE_REHASHED);
	free(check.address);
	assert_int_equal(dir_user_lookup(f->dir, "old@example.org", &user), DIR_OK);
	assert_int_equal(strncmp(user.hash, "{ARGON2ID}$argon2id$", 20), 0);
	assert_false(password_needs_rehash(user.hash));
	assert_true(password_verify("hunter2", user.hash));
	dir_user_free(&user);
	/* The new hash works, the wrong password still fails. */
	auth_check_password(f->dir, "old@example.org", "", "hunter2", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	assert_int_equal(check.note, AUTH_NOTE_NONE);
	free(check.address);
	auth_check_password(f->dir, "old@example.org", "", "hunter3", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);

	/* The conditional replace never undoes a password change. */
	assert_int_equal(dir_user_set_hash(f->dir, "old@example.org", stored), DIR_OK);
	assert_int_equal(dir_user_replace_hash(f->dir, "old@example.org", f->hash, f->hash),
			 DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_user_replace_hash(f->dir, "old@example.org", stored, f->hash), DIR_OK);
	assert_int_equal(dir_user_lookup(f->dir, "old@example.org", &user), DIR_OK);
	assert_string_equal(user.hash, f->hash);
	dir_user_free(&user);

	/* Over a ceiling (stored before it was lowered): refused, not run. */
	snprintf(stored, sizeof(stored), "{BLF-CRYPT}%s",
		 crypt_r("hunter2", "$2y$05$abcdefghijklmnopqrstuu", cd));
	assert_int_equal(dir_user_add(f->dir, "blf@example.org", stored, 0), DIR_OK);
	{
		struct config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.auth.bcrypt_cost_max = 4;
		cfg.auth.sha512_rounds_max = 100000;
		cfg.auth.argon2_memory_max = 256ull << 20;
		cfg.auth.argon2_passes_max = 10;
		password_configure(&cfg);
	}
	auth_check_password(f->dir, "blf@example.org", "", "hunter2", true, &check);
	password_configure(NULL);
	assert_int_equal(check.result, AUTH_FAILED);
	assert_int_equal(check.note, AUTH_NOTE_HASH_REFUSED);
	assert_non_null(strstr(check.why, "bcrypt_cost_max"));
	free(cd);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Admission counts the attempts in flight as failures, per address, and
 * refuses beyond the per-address bound; completion frees the place. */
static void test_throttle_admission(void **state)
{
	static const uint64_t expect[] = { 0, 250, 500, 1000, 2000, 4000, 8000, 15000 };
	uint64_t wait;

	(void)state;
	auth_throttle_reset();
	auth_throttle_set_clock(fake_clock);
	fake_now = 1000000;

	/* A clean address with a cached login: answered at once. */
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_FREE);
	assert_int_equal(wait, 0);
	/* Parallel uncached attempts: paced as if each earlier one failed. */
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_CLEAN);
		assert_int_equal(wait, expect[i]);
	}
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_BUSY);
	/* A cached login is not an unverified attempt: from an address
	 * without failures it is never held back. */
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_FREE);
	assert_int_equal(wait, 0);
	/* Another address is not affected. */
	assert_int_equal(auth_throttle_admit("192.0.2.2", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_done("192.0.2.2", "bob@example.org", AUTH_OUTCOME_OK), 0);

	/* Dropped attempts (the client went) free their place, count nothing. */
	assert_int_equal(auth_throttle_done("192.0.2.1", "x@example.org", AUTH_OUTCOME_DROPPED), 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 15000);
	for (int i = 0; i < 8; i++)
		assert_int_equal(auth_throttle_done("192.0.2.1", NULL, AUTH_OUTCOME_DROPPED), 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_FREE);
	/* More completions than admissions do no harm. */
	assert_int_equal(auth_throttle_done("192.0.2.1", NULL, AUTH_OUTCOME_DROPPED), 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 1, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 1, &wait), AUTH_ADMIT_BUSY);

	/* A refusal (no room in the hash queue) counts for the address. */
	assert_int_equal(auth_throttle_done("192.0.2.1", "x@example.org", AUTH_OUTCOME_REFUSED), 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_SUSPECT);
	assert_int_equal(wait, 250);
	assert_int_equal(auth_throttle_done("192.0.2.1", "x@example.org", AUTH_OUTCOME_OK), 0);

	/* Not tracked without an address. */
	assert_int_equal(auth_throttle_admit(NULL, true, 8, &wait), AUTH_ADMIT_FREE);
	assert_int_equal(auth_throttle_admit("", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_done(NULL, NULL, AUTH_OUTCOME_FAILED), 0);
	auth_throttle_set_clock(NULL);
	auth_throttle_reset();
}

/* Failures: delays per address and per account; a success is delayed while
 * its account is under attack and does not erase the account's record;
 * everything is forgotten after 15 minutes; the table stays bounded. */
static void test_throttle_failures(void **state)
{
	static const uint64_t expect[] = { 250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000 };
	char ip[32];
	uint64_t wait;

	(void)state;
	auth_throttle_reset();
	auth_throttle_set_clock(fake_clock);
	fake_now = 1000000;

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait),
				 i == 0 ? AUTH_ADMIT_CLEAN : AUTH_ADMIT_SUSPECT);
		assert_int_equal(auth_throttle_done("192.0.2.1", "alice@example.org",
						    AUTH_OUTCOME_FAILED), expect[i]);
	}
	/* The pacing wait counts from now, not from the last failure. */
	fake_now += 60000;
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_SUSPECT);
	assert_int_equal(wait, 15000);
	assert_int_equal(auth_throttle_done("192.0.2.1", NULL, AUTH_OUTCOME_DROPPED), 0);
	/* A cached login from an address with failures is paced too. */
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_SUSPECT);
	assert_int_equal(wait, 15000);
	assert_int_equal(auth_throttle_done("192.0.2.1", NULL, AUTH_OUTCOME_DROPPED), 0);

	/* The account's count follows it to another address (any case), and
	 * delays a success there while the account is under attack... */
	assert_int_equal(auth_throttle_admit("198.51.100.7", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_done("198.51.100.7", "ALICE@example.org", AUTH_OUTCOME_OK),
			 15000);
	/* ...without erasing it: the next failure goes on from there. */
	assert_int_equal(auth_throttle_admit("203.0.113.10", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_done("203.0.113.10", "alice@example.org",
					    AUTH_OUTCOME_FAILED), 15000);
	/* Another account from a fresh address starts low; a success of an
	 * account nobody attacks is not delayed. */
	assert_int_equal(auth_throttle_admit("203.0.113.9", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_done("203.0.113.9", "bob@example.org", AUTH_OUTCOME_FAILED),
			 250);
	assert_int_equal(auth_throttle_admit("203.0.113.11", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_done("203.0.113.11", "carol@example.org", AUTH_OUTCOME_OK), 0);
	/* No account name: only the address counts. */
	assert_int_equal(auth_throttle_admit("203.0.113.9", false, 8, &wait), AUTH_ADMIT_SUSPECT);
	assert_int_equal(auth_throttle_done("203.0.113.9", NULL, AUTH_OUTCOME_FAILED), 500);

	/* 15 minutes after the last failure everything is forgotten. */
	fake_now += 15 * 60 * 1000;
	assert_int_equal(auth_throttle_admit("192.0.2.1", true, 8, &wait), AUTH_ADMIT_FREE);
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_done("192.0.2.1", "alice@example.org", AUTH_OUTCOME_FAILED),
			 250);

	/* A flood of addresses: the table stays bounded, the oldest failures
	 * go, an address with an attempt in flight stays. */
	auth_throttle_reset();
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_admit("192.0.2.2", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_done("192.0.2.2", NULL, AUTH_OUTCOME_FAILED), 250);
	for (int i = 0; i < 10000; i++) {
		fake_now++;
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(auth_throttle_admit(ip, false, 8, &wait), AUTH_ADMIT_CLEAN);
		assert_int_equal(auth_throttle_done(ip, NULL, AUTH_OUTCOME_FAILED), 250);
	}
	assert_int_equal(auth_throttle_admit("192.0.2.2", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 0);
	assert_int_equal(auth_throttle_admit("192.0.2.1", false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(wait, 250);
	assert_int_equal(auth_throttle_admit(ip, false, 8, &wait), AUTH_ADMIT_SUSPECT);
	/* A table full of addresses with attempts in flight refuses more. */
	auth_throttle_reset();
	for (int i = 0; i < 4096; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i >> 8, i & 255);
		assert_int_equal(auth_throttle_admit(ip, false, 8, &wait), AUTH_ADMIT_CLEAN);
	}
	assert_int_equal(auth_throttle_admit("192.0.2.9", false, 8, &wait), AUTH_ADMIT_BUSY);
	assert_int_equal(auth_throttle_done(ip, NULL, AUTH_OUTCOME_OK), 0);
	assert_int_equal(auth_throttle_admit("192.0.2.9", false, 8, &wait), AUTH_ADMIT_CLEAN);
	/* Very long names are truncated, not overflowed. */
	auth_throttle_reset();
	char *longname = malloc(1000);
	memset(longname, 'u', 999);
	longname[999] = '\0';
	assert_int_equal(auth_throttle_admit(longname, false, 8, &wait), AUTH_ADMIT_CLEAN);
	assert_int_equal(auth_throttle_done(longname, longname, AUTH_OUTCOME_FAILED), 250);
	free(longname);
	auth_throttle_set_clock(NULL);
	auth_throttle_reset();
}

static void test_plaintext_allowed(void **state)
{
	(void)state;
	assert_true(auth_plaintext_allowed(true, false, false));
	assert_true(auth_plaintext_allowed(true, true, false));
	assert_false(auth_plaintext_allowed(false, false, false));
	assert_false(auth_plaintext_allowed(false, false, true));
	assert_false(auth_plaintext_allowed(false, true, false));
	assert_true(auth_plaintext_allowed(false, true, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test(test_address_normalize),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_schemes, setup, teardown),
		cmocka_unit_test(test_password_malformed),
		cmocka_unit_test(test_password_ceilings),
		cmocka_unit_test_setup_teardown(test_password_needs_rehash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_check_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_rehash, setup, teardown),
		cmocka_unit_test(test_throttle_admission),
		cmocka_unit_test(test_throttle_failures),
		cmocka_unit_test(test_plaintext_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
