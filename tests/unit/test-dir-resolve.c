/* test-dir-resolve - what mail to an address becomes (dir_resolve): accounts,
 * aliases nested, looping and fanning out past the bounds, the catch-all,
 * sub-addressing, postmaster and its fallback, external targets, case
 * folding, the quotas of local recipients; the catch-all form of
 * dir_alias_add; dir_delivery_lookup; and the cached answers
 * (dir_resolve_cached), never given once the directory changed, by this
 * process or another, and never waited for when the WAL's locks are busy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "dir/dir-resolve.h"
#include "dir/dir.h"
#include "dir/password.h"

static char *t_hash;     /* {ARGON2ID} of "secret", made once */

struct fixture {
	char tmp[64];
	struct dir *dir;
	struct buf out;      /* what resolve() found, as text */
};

static int group_setup(void **state)
{
	(void)state;
	t_hash = password_hash("secret");
	return t_hash == NULL;
}

static int group_teardown(void **state)
{
	(void)state;
	free(t_hash);
	return 0;
}

/* Domains example.org and b.example; accounts alice, bob (quota 5000) and
 * carol of example.org, dave of b.example. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *error = NULL;

	strcpy(f->tmp, "/tmp/test-dir-resolve-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	assert_int_equal(dir_open(f->tmp, &f->dir, &error), 0);
	assert_int_equal(dir_domain_add(f->dir, "example.org"), DIR_OK);
	assert_int_equal(dir_domain_add(f->dir, "b.example"), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "alice@example.org", t_hash, 0), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "bob@example.org", t_hash, 5000), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "carol@example.org", t_hash, 0), DIR_OK);
	assert_int_equal(dir_user_add(f->dir, "dave@b.example", t_hash, 0), DIR_OK);
	buf_init(&f->out, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dir_close(&f->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	assert_int_equal(system(cmd), 0);
	buf_release(&f->out);
	free(f);
	return 0;
}

/* Resolve and return the recipients as "local:a@x external:b@y", then
 * " unknown:c@z" for each dropped target; *error_r gets the result. */
static const char *resolve_opts(struct fixture *f, const char *address,
				const struct dir_resolve_options *opts, enum dir_error *error_r)
{
	struct dir_resolution res;

	*error_r = dir_resolve(f->dir, address, opts, &res);
	buf_reset(&f->out);
	for (size_t i = 0; i < res.n_recipients; i++) {
		if (i > 0)
			buf_append_str(&f->out, " ");
		buf_append_str(&f->out, dir_recipient_kind_name(res.recipients[i].kind));
		buf_append_str(&f->out, ":");
		buf_append_str(&f->out, res.recipients[i].address);
	}
	for (size_t i = 0; i < res.n_unknown; i++) {
		buf_append_str(&f->out, " unknown:");
		buf_append_str(&f->out, res.unknown[i]);
	}
	buf_append(&f->out, "", 1);
	dir_resolution_free(&res);
	assert_null(res.recipients);
	return f->out.data;
}

/* dir_resolve_cached as resolve_opts's text, or NULL when it cannot tell. */
static const char *cached_opts(struct fixture *f, const char *address,
			       const struct dir_resolve_options *opts, enum dir_error *error_r)
{
	struct dir_resolution res;

	*error_r = DIR_ERR__COUNT;
	if (!dir_resolve_cached(f->dir, address, opts, error_r, &res)) {
		assert_null(res.recipients);
		return NULL;
	}
	buf_reset(&f->out);
	for (size_t i = 0; i < res.n_recipients; i++) {
		char quota[32];

		snprintf(quota, sizeof(quota), "/%llu", (unsigned long long)res.recipients[i].quota);
		if (i > 0)
			buf_append_str(&f->out, " ");
		buf_append_str(&f->out, dir_recipient_kind_name(res.recipients[i].kind));
		buf_append_str(&f->out, ":");
		buf_append_str(&f->out, res.recipients[i].address);
		buf_append_str(&f->out, quota);
	}
	buf_append(&f->out, "", 1);
	dir_resolution_free(&res);
	return f->out.data;
}

static const char *cached(struct fixture *f, const char *address, enum dir_error *error_r)
{
	return cached_opts(f, address, NULL, error_r);
}

static void expect_ok(struct fixture *f, const char *address, const char *want)
{
	enum dir_error error;
	const char *got = resolve_opts(f, address, NULL, &error);

	if (error != DIR_OK)
		fail_msg("%s: %s", address, dir_error_str(error));
	assert_string_equal(got, want);
}

static void expect_error(struct fixture *f, const char *address, enum dir_error want)
{
	enum dir_error error;
	const char *got = resolve_opts(f, address, NULL, &error);

	if (error != want)
		fail_msg("%s: got \"%s\" (%s)", address, got, dir_error_str(error));
	/* An error never comes with recipients. */
	assert_true(strncmp(got, "local:", 6) != 0 && strncmp(got, "external:", 9) != 0);
}

/* The aliases PREFIX0..PREFIX(n-1)@example.org -> targets, in one
 * transaction (dir_alias_add syncs each). */
static void bulk_aliases(struct fixture *f, const char *prefix, const char *targets, unsigned n)
{
	sqlite3 *db;
	char path[128];

	snprintf(path, sizeof(path), "%s/directory.db", f->tmp);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned i = 0; i < n; i++) {
		char alias[64];
		char *sql;

		snprintf(alias, sizeof(alias), "%s%u@example.org", prefix, i);
		sql = sqlite3_mprintf("INSERT INTO aliases(alias, domain, targets) "
				      "VALUES (%Q, 'example.org', %Q)", alias, targets);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void collect_alias(void *ctx, const char *alias, const char *targets)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%s>%s;", alias, targets);
}

/* ---- tests ---- */

static void test_accounts(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "alice@example.org", "local:alice@example.org");
	/* Case folding, both parts. */
	expect_ok(f, "ALICE@Example.ORG", "local:alice@example.org");
	expect_ok(f, "Dave@B.Example", "local:dave@b.example");
	expect_error(f, "nobody@example.org", DIR_ERR_NOT_FOUND);
	expect_error(f, "alice@remote.example", DIR_ERR_NO_DOMAIN);
	expect_error(f, "alice", DIR_ERR_INVALID);
	expect_error(f, "a b@example.org", DIR_ERR_INVALID);
	expect_error(f, "\"alice\"@example.org", DIR_ERR_INVALID);
	expect_error(f, "", DIR_ERR_INVALID);
	{
		char longer[400];

		memset(longer, 'a', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		longer[10] = '@';
		expect_error(f, longer, DIR_ERR_INVALID);
	}
	{
		struct dir_resolution res;

		assert_int_equal(dir_resolve(f->dir, NULL, NULL, &res), DIR_ERR_INVALID);
		dir_resolution_free(&res);
	}
}

static void test_aliases(void **state)
{
	struct fixture *f = *state;

	/* Local and external targets, in order, each once. */
	assert_int_equal(dir_alias_add(f->dir, "team@example.org",
				       "Bob@example.org, ops@Remote.Example, alice@example.org"),
			 DIR_OK);
	expect_ok(f, "TEAM@example.org",
		  "local:bob@example.org external:ops@remote.example local:alice@example.org");
	/* Nested, with the same recipients reached twice on different ways
	 * (alice directly and through team; team through all and staff). */
	assert_int_equal(dir_alias_add(f->dir, "staff@example.org", "team@example.org,carol@example.org"),
			 DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "all@example.org",
				       "alice@example.org,staff@example.org,team@example.org,dave@b.example"),
			 DIR_OK);
	expect_ok(f, "all@example.org",
		  "local:alice@example.org local:bob@example.org external:ops@remote.example "
		  "local:carol@example.org local:dave@b.example");
	/* An alias of one domain to an alias of another. */
	assert_int_equal(dir_alias_add(f->dir, "info@b.example", "staff@example.org"), DIR_OK);
	expect_ok(f, "info@b.example",
		  "local:bob@example.org external:ops@remote.example local:alice@example.org "
		  "local:carol@example.org");
	/* External only. */
	assert_int_equal(dir_alias_add(f->dir, "fwd@example.org", "me@elsewhere.example"), DIR_OK);
	expect_ok(f, "fwd@example.org", "external:me@elsewhere.example");
}

static void test_unknown_targets(void **state)
{
	struct fixture *f = *state;
	enum dir_error error;

	/* A stale target is dropped (and listed); the others still get it. */
	assert_int_equal(dir_alias_add(f->dir, "old@example.org",
				       "gone@example.org,alice@example.org,gone@b.example"),
			 DIR_OK);
	expect_ok(f, "old@example.org",
		  "local:alice@example.org unknown:gone@example.org unknown:gone@b.example");
	/* Only stale targets: nobody to deliver to. */
	assert_int_equal(dir_alias_add(f->dir, "stale@example.org", "gone@example.org"), DIR_OK);
	assert_string_equal(resolve_opts(f, "stale@example.org", NULL, &error),
			    " unknown:gone@example.org");
	assert_int_equal(error, DIR_ERR_NOT_FOUND);
}

static void test_loops(void **state)
{
	struct fixture *f = *state;

	/* a -> b -> a, and a -> a: nothing else reached. */
	assert_int_equal(dir_alias_add(f->dir, "a@example.org", "b@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "b@example.org", "a@example.org"), DIR_OK);
	expect_error(f, "a@example.org", DIR_ERR_LOOP);
	expect_error(f, "B@example.org", DIR_ERR_LOOP);
	assert_int_equal(dir_alias_add(f->dir, "self@example.org", "self@example.org"), DIR_OK);
	expect_error(f, "self@example.org", DIR_ERR_LOOP);
	/* A loop with a way out: cut, the rest delivered. */
	assert_int_equal(dir_alias_add(f->dir, "c@example.org", "d@example.org,alice@example.org"),
			 DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "d@example.org", "c@example.org,bob@example.org"),
			 DIR_OK);
	expect_ok(f, "c@example.org", "local:bob@example.org local:alice@example.org");
	expect_ok(f, "d@example.org", "local:alice@example.org local:bob@example.org");
	/* A loop through an alias met before on another way: a -> x, y;
	 * x -> y; y -> a. */
	assert_int_equal(dir_alias_add(f->dir, "p@example.org", "q@example.org,r@example.org"),
			 DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "q@example.org", "r@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "r@example.org", "p@example.org"), DIR_OK);
	expect_error(f, "p@example.org", DIR_ERR_LOOP);
}

static void test_depth(void **state)
{
	struct fixture *f = *state;
	char alias[64], target[64];

	/* n0 -> n1 -> ... -> n19 -> alice: DIR_RESOLVE_DEPTH_MAX aliases. */
	for (unsigned i = 0; i < DIR_RESOLVE_DEPTH_MAX; i++) {
		snprintf(alias, sizeof(alias), "n%u@example.org", i);
		if (i + 1 < DIR_RESOLVE_DEPTH_MAX)
			snprintf(target, sizeof(target), "n%u@example.org", i + 1);
		else
			snprintf(target, sizeof(target), "alice@example.org");
		assert_int_equal(dir_alias_add(f->dir, alias, target), DIR_OK);
	}
	expect_ok(f, "n0@example.org", "local:alice@example.org");
	/* One more in front of them is one too deep. */
	assert_int_equal(dir_alias_add(f->dir, "deeper@example.org", "n0@example.org"), DIR_OK);
	expect_error(f, "deeper@example.org", DIR_ERR_LIMIT);
	expect_ok(f, "n1@example.org", "local:alice@example.org");
}

static void test_fan_out(void **state)
{
	struct fixture *f = *state;
	struct dir_resolution res;

	/* big -> x0..x999@remote: the most one resolution may give. */
	{
		struct buf targets;

		buf_init(&targets, 0);
		for (unsigned i = 0; i < DIR_RESOLVE_RECIPIENTS_MAX; i++) {
			char t[64];

			snprintf(t, sizeof(t), "%sx%u@remote.example", i > 0 ? "," : "", i);
			buf_append_str(&targets, t);
		}
		assert_int_equal(dir_alias_add(f->dir, "big@example.org", targets.data), DIR_OK);
		buf_release(&targets);
	}
	assert_int_equal(dir_resolve(f->dir, "big@example.org", NULL, &res), DIR_OK);
	assert_int_equal(res.n_recipients, DIR_RESOLVE_RECIPIENTS_MAX);
	assert_string_equal(res.recipients[999].address, "x999@remote.example");
	assert_int_equal(res.recipients[999].kind, DIR_RECIPIENT_EXTERNAL);
	dir_resolution_free(&res);
	/* One more recipient beside it is over the bound; one already in it
	 * is not. */
	assert_int_equal(dir_alias_add(f->dir, "bigger@example.org", "big@example.org,alice@example.org"),
			 DIR_OK);
	expect_error(f, "bigger@example.org", DIR_ERR_LIMIT);
	assert_int_equal(dir_alias_add(f->dir, "same@example.org", "x5@remote.example,big@example.org"),
			 DIR_OK);
	assert_int_equal(dir_resolve(f->dir, "same@example.org", NULL, &res), DIR_OK);
	assert_int_equal(res.n_recipients, DIR_RESOLVE_RECIPIENTS_MAX);
	dir_resolution_free(&res);
}

static void test_lookups_bound(void **state)
{
	struct fixture *f = *state;
	struct buf targets;

	/* top -> m0..m999, each mI -> k0..k9 (the same ten aliases, each to
	 * alice): ten recipients at most, but 11,001 addresses to look at. */
	bulk_aliases(f, "k", "alice@example.org", 10);
	bulk_aliases(f, "m",
		     "k0@example.org,k1@example.org,k2@example.org,k3@example.org,k4@example.org,"
		     "k5@example.org,k6@example.org,k7@example.org,k8@example.org,k9@example.org", 1000);
	buf_init(&targets, 0);
	for (unsigned i = 0; i < 1000; i++) {
		char t[32];

		snprintf(t, sizeof(t), "%sm%u@example.org", i > 0 ? "," : "", i);
		buf_append_str(&targets, t);
	}
	assert_int_equal(dir_alias_add(f->dir, "top@example.org", targets.data), DIR_OK);
	buf_release(&targets);
	expect_error(f, "top@example.org", DIR_ERR_LIMIT);
	/* Well under it: m0 alone. */
	expect_ok(f, "m0@example.org", "local:alice@example.org");
}

static void test_catch_all(void **state)
{
	struct fixture *f = *state;
	char out[512] = "";

	assert_int_equal(dir_alias_add(f->dir, "@Example.ORG", "carol@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "@example.org", "x@y.example"), DIR_ERR_EXISTS);
	assert_int_equal(dir_alias_add(f->dir, "info@example.org", "bob@example.org"), DIR_OK);
	/* Used only when no account or alias of that exact address exists. */
	expect_ok(f, "whoever@example.org", "local:carol@example.org");
	expect_ok(f, "Alice@example.org", "local:alice@example.org");
	expect_ok(f, "info@example.org", "local:bob@example.org");
	/* Per domain. */
	expect_error(f, "whoever@b.example", DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_alias_add(f->dir, "@b.example", "sink@remote.example"), DIR_OK);
	expect_ok(f, "whoever@b.example", "external:sink@remote.example");
	/* A catch-all to an address of its own domain that does not exist
	 * comes back to itself. */
	assert_int_equal(dir_alias_del(f->dir, "@b.example"), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "@b.example", "nobody@b.example"), DIR_OK);
	expect_error(f, "whoever@b.example", DIR_ERR_LOOP);
	/* A stale target of an alias goes to the catch-all too. */
	assert_int_equal(dir_alias_add(f->dir, "old@example.org", "gone@example.org"), DIR_OK);
	expect_ok(f, "old@example.org", "local:carol@example.org");
	/* `tern alias list` shows it as it is written. */
	assert_int_equal(dir_alias_list(f->dir, collect_alias, out), DIR_OK);
	assert_string_equal(out, "@b.example>nobody@b.example;@example.org>carol@example.org;"
			    "info@example.org>bob@example.org;old@example.org>gone@example.org;");
}

static void test_catch_all_syntax(void **state)
{
	struct fixture *f = *state;

	/* Only as an alias, of a local domain; never as a target or account. */
	assert_int_equal(dir_alias_add(f->dir, "@nope.example", "alice@example.org"), DIR_ERR_NO_DOMAIN);
	assert_int_equal(dir_alias_add(f->dir, "@", "alice@example.org"), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "@bad..example", "alice@example.org"), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "@@example.org", "alice@example.org"), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_add(f->dir, "x@example.org", "@example.org"), DIR_ERR_INVALID);
	assert_int_equal(dir_user_add(f->dir, "@example.org", t_hash, 0), DIR_ERR_INVALID);
	assert_int_equal(dir_alias_del(f->dir, "@example.org"), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_alias_add(f->dir, "@example.org", "alice@example.org"), DIR_OK);
	assert_int_equal(dir_alias_del(f->dir, "@EXAMPLE.org"), DIR_OK);
	expect_error(f, "whoever@example.org", DIR_ERR_NOT_FOUND);
}

static void test_subaddress(void **state)
{
	struct fixture *f = *state;
	struct dir_resolve_options off = { .subaddress_separators = "" };
	struct dir_resolve_options dash = { .subaddress_separators = "-" };
	struct dir_resolve_options both = { .subaddress_separators = "+-" };
	enum dir_error error;

	expect_ok(f, "alice+news@example.org", "local:alice@example.org");
	expect_ok(f, "Alice+News@Example.org", "local:alice@example.org");
	/* Split at the first separator; none when the local part starts
	 * with it. */
	expect_ok(f, "alice+a+b@example.org", "local:alice@example.org");
	expect_error(f, "+alice@example.org", DIR_ERR_NOT_FOUND);
	expect_error(f, "nobody+tag@example.org", DIR_ERR_NOT_FOUND);
	/* An alias is sub-addressed too; an exact match comes first. */
	assert_int_equal(dir_alias_add(f->dir, "team@example.org", "bob@example.org,carol@example.org"),
			 DIR_OK);
	expect_ok(f, "team+x@example.org", "local:bob@example.org local:carol@example.org");
	assert_int_equal(dir_alias_add(f->dir, "alice+spam@example.org", "bob@example.org"), DIR_OK);
	expect_ok(f, "alice+spam@example.org", "local:bob@example.org");
	expect_ok(f, "alice+ham@example.org", "local:alice@example.org");
	/* Targets of aliases are sub-addressed as well. */
	assert_int_equal(dir_alias_add(f->dir, "tagged@example.org", "carol+lists@example.org"), DIR_OK);
	expect_ok(f, "tagged@example.org", "local:carol@example.org");
	/* The separator is the caller's: off, other, several. */
	resolve_opts(f, "alice+news@example.org", &off, &error);
	assert_int_equal(error, DIR_ERR_NOT_FOUND);
	resolve_opts(f, "alice+news@example.org", &dash, &error);
	assert_int_equal(error, DIR_ERR_NOT_FOUND);
	assert_string_equal(resolve_opts(f, "alice-news@example.org", &dash, &error),
			    "local:alice@example.org");
	assert_string_equal(resolve_opts(f, "alice-news@example.org", &both, &error),
			    "local:alice@example.org");
	assert_string_equal(resolve_opts(f, "alice+news@example.org", &both, &error),
			    "local:alice@example.org");
	/* A foreign domain is never stripped. */
	expect_error(f, "alice+x@remote.example", DIR_ERR_NO_DOMAIN);
}

static void test_catch_all_subaddress(void **state)
{
	struct fixture *f = *state;
	struct dir_resolve_options off = { .subaddress_separators = "" };
	enum dir_error error;

	assert_int_equal(dir_alias_add(f->dir, "@example.org", "carol@example.org"), DIR_OK);
	/* The account behind the sub-address comes before the catch-all. */
	expect_ok(f, "alice+tag@example.org", "local:alice@example.org");
	expect_ok(f, "nobody+tag@example.org", "local:carol@example.org");
	/* Without sub-addressing, alice+tag is just an unknown address. */
	assert_string_equal(resolve_opts(f, "alice+tag@example.org", &off, &error),
			    "local:carol@example.org");
	assert_int_equal(error, DIR_OK);
}

static void test_postmaster(void **state)
{
	struct fixture *f = *state;
	struct dir_resolve_options fallback = { .postmaster = "Bob@example.org" };
	struct dir_resolve_options to_alias = { .postmaster = "admins@example.org" };
	struct dir_resolve_options to_self = { .postmaster = "postmaster@example.org" };
	enum dir_error error;

	/* Neither a postmaster of the domain nor a fallback: unknown. */
	expect_error(f, "postmaster@example.org", DIR_ERR_NOT_FOUND);
	expect_error(f, "postmaster", DIR_ERR_NOT_FOUND);
	/* The fallback, for every local domain, with any case and tag, and
	 * for the bare "postmaster" of RFC 5321. */
	assert_string_equal(resolve_opts(f, "postmaster@example.org", &fallback, &error),
			    "local:bob@example.org");
	assert_string_equal(resolve_opts(f, "PostMaster@B.example", &fallback, &error),
			    "local:bob@example.org");
	assert_string_equal(resolve_opts(f, "postmaster+dmarc@b.example", &fallback, &error),
			    "local:bob@example.org");
	assert_string_equal(resolve_opts(f, "POSTMASTER", &fallback, &error),
			    "local:bob@example.org");
	assert_int_equal(error, DIR_OK);
	/* Not for other domains, nor for other names. */
	resolve_opts(f, "postmaster@remote.example", &fallback, &error);
	assert_int_equal(error, DIR_ERR_NO_DOMAIN);
	resolve_opts(f, "postmistress@example.org", &fallback, &error);
	assert_int_equal(error, DIR_ERR_NOT_FOUND);
	/* The domain's own postmaster alias comes first. */
	assert_int_equal(dir_alias_add(f->dir, "postmaster@b.example", "dave@b.example"), DIR_OK);
	assert_string_equal(resolve_opts(f, "postmaster@b.example", &fallback, &error),
			    "local:dave@b.example");
	assert_string_equal(resolve_opts(f, "postmaster+x@b.example", &fallback, &error),
			    "local:dave@b.example");
	/* The fallback comes before the catch-all; without one, the
	 * catch-all takes postmaster too. */
	assert_int_equal(dir_alias_add(f->dir, "@example.org", "carol@example.org"), DIR_OK);
	assert_string_equal(resolve_opts(f, "postmaster@example.org", &fallback, &error),
			    "local:bob@example.org");
	expect_ok(f, "postmaster@example.org", "local:carol@example.org");
	assert_int_equal(dir_alias_del(f->dir, "@example.org"), DIR_OK);
	/* A fallback may be an alias; one that comes back to postmaster with
	 * nothing else is a loop; one that names no one is unknown. */
	assert_int_equal(dir_alias_add(f->dir, "admins@example.org", "alice@example.org,ops@remote.example"),
			 DIR_OK);
	assert_string_equal(resolve_opts(f, "postmaster@example.org", &to_alias, &error),
			    "local:alice@example.org external:ops@remote.example");
	resolve_opts(f, "postmaster@example.org", &to_self, &error);
	assert_int_equal(error, DIR_ERR_LOOP);
	{
		struct dir_resolve_options ghost = { .postmaster = "ghost@example.org" };

		assert_string_equal(resolve_opts(f, "postmaster@example.org", &ghost, &error),
				    " unknown:ghost@example.org");
		assert_int_equal(error, DIR_ERR_NOT_FOUND);
	}
	/* An account named postmaster is the domain's postmaster. */
	assert_int_equal(dir_user_add(f->dir, "postmaster@example.org", t_hash, 0), DIR_OK);
	assert_string_equal(resolve_opts(f, "postmaster@example.org", &fallback, &error),
			    "local:postmaster@example.org");
}

static void test_directory_unavailable(void **state)
{
	struct fixture *f = *state;
	char path[128];
	sqlite3 *db;

	assert_int_equal(dir_alias_add(f->dir, "team@example.org", "alice@example.org"), DIR_OK);
	/* The accounts table gone (as a broken database would be): every
	 * lookup is a temporary failure, not "unknown". */
	snprintf(path, sizeof(path), "%s/directory.db", f->tmp);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE accounts RENAME TO accounts_away", NULL, NULL,
				      NULL), SQLITE_OK);
	expect_error(f, "alice@example.org", DIR_ERR_TEMP);
	expect_error(f, "team@example.org", DIR_ERR_TEMP);
	{
		struct dir_delivery info;

		assert_int_equal(dir_delivery_lookup(f->dir, "alice@example.org", &info), DIR_ERR_TEMP);
		assert_null(info.address);
	}
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE accounts_away RENAME TO accounts", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_ok(f, "team@example.org", "local:alice@example.org");
}

static void test_delivery_lookup(void **state)
{
	struct fixture *f = *state;
	struct dir_delivery info;

	assert_int_equal(dir_delivery_lookup(f->dir, "BOB@example.ORG", &info), DIR_OK);
	assert_string_equal(info.address, "bob@example.org");
	assert_int_equal(info.quota, 5000);
	dir_delivery_free(&info);
	assert_null(info.address);
	assert_int_equal(dir_delivery_lookup(f->dir, "alice@example.org", &info), DIR_OK);
	assert_int_equal(info.quota, 0);
	dir_delivery_free(&info);
	/* Accounts only, exactly: aliases, sub-addresses and catch-alls are
	 * dir_resolve's. */
	assert_int_equal(dir_alias_add(f->dir, "team@example.org", "alice@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(f->dir, "@example.org", "alice@example.org"), DIR_OK);
	assert_int_equal(dir_delivery_lookup(f->dir, "team@example.org", &info), DIR_ERR_NOT_FOUND);
	assert_null(info.address);
	assert_int_equal(dir_delivery_lookup(f->dir, "alice+x@example.org", &info), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_delivery_lookup(f->dir, "nobody@example.org", &info), DIR_ERR_NOT_FOUND);
	assert_int_equal(dir_delivery_lookup(f->dir, "not an address", &info), DIR_ERR_INVALID);
	assert_int_equal(dir_delivery_lookup(f->dir, "@example.org", &info), DIR_ERR_INVALID);
	dir_delivery_free(&info);
}

static void test_quotas(void **state)
{
	struct fixture *f = *state;
	struct dir_resolution res;

	assert_int_equal(dir_alias_add(f->dir, "team@example.org",
				       "alice@example.org,bob@example.org,x@elsewhere.test"), DIR_OK);
	assert_int_equal(dir_resolve(f->dir, "team@example.org", NULL, &res), DIR_OK);
	assert_int_equal(res.n_recipients, 3);
	assert_string_equal(res.recipients[0].address, "alice@example.org");
	assert_int_equal(res.recipients[0].quota, 0);
	assert_string_equal(res.recipients[1].address, "bob@example.org");
	assert_int_equal(res.recipients[1].quota, 5000);
	assert_int_equal(res.recipients[2].kind, DIR_RECIPIENT_EXTERNAL);
	assert_int_equal(res.recipients[2].quota, 0);
	dir_resolution_free(&res);
	assert_int_equal(dir_user_set_quota(f->dir, "alice@example.org", 7), DIR_OK);
	assert_int_equal(dir_resolve(f->dir, "alice+tag@example.org", NULL, &res), DIR_OK);
	assert_int_equal(res.recipients[0].quota, 7);
	dir_resolution_free(&res);
}

static void test_cached_answers(void **state)
{
	struct fixture *f = *state;
	const struct dir_resolve_options dash = { .subaddress_separators = "-" };
	enum dir_error error;

	/* Nothing before the first lookup. */
	assert_null(cached(f, "bob@example.org", &error));
	expect_ok(f, "bob@example.org", "local:bob@example.org");
	assert_string_equal(cached(f, "bob@example.org", &error), "local:bob@example.org/5000");
	assert_int_equal(error, DIR_OK);
	/* Any case: the lookup folds it. */
	assert_string_equal(cached(f, "BOB@Example.ORG", &error), "local:bob@example.org/5000");
	/* Asked again and again, the same answer. */
	for (int i = 0; i < 3; i++)
		assert_non_null(cached(f, "bob@example.org", &error));
	/* Other options are another question. */
	assert_null(cached_opts(f, "bob@example.org", &dash, &error));
	/* Unknown, and not local: kept too. */
	expect_error(f, "nobody@example.org", DIR_ERR_NOT_FOUND);
	assert_string_equal(cached(f, "nobody@example.org", &error), "");
	assert_int_equal(error, DIR_ERR_NOT_FOUND);
	expect_error(f, "x@elsewhere.test", DIR_ERR_NO_DOMAIN);
	assert_non_null(cached(f, "x@elsewhere.test", &error));
	assert_int_equal(error, DIR_ERR_NO_DOMAIN);
	/* Not kept: what is not an address, an alias with a target that names
	 * no one (its warning is logged by each lookup), a fan-out past
	 * DIR_CACHE_RECIPIENTS (8), a loop. */
	expect_error(f, "not an address", DIR_ERR_INVALID);
	assert_null(cached(f, "not an address", &error));
	assert_int_equal(dir_alias_add(f->dir, "stale@example.org",
				       "alice@example.org,gone@example.org"), DIR_OK);
	expect_ok(f, "stale@example.org", "local:alice@example.org unknown:gone@example.org");
	assert_null(cached(f, "stale@example.org", &error));
	assert_int_equal(dir_alias_add(f->dir, "nine@example.org",
				       "a1@x.test,a2@x.test,a3@x.test,a4@x.test,a5@x.test,"
				       "a6@x.test,a7@x.test,a8@x.test,a9@x.test"), DIR_OK);
	resolve_opts(f, "nine@example.org", NULL, &error);
	assert_int_equal(error, DIR_OK);
	assert_null(cached(f, "nine@example.org", &error));
	assert_int_equal(dir_alias_add(f->dir, "eight@example.org",
				       "a1@x.test,a2@x.test,a3@x.test,a4@x.test,a5@x.test,"
				       "a6@x.test,a7@x.test,carol@example.org"), DIR_OK);
	resolve_opts(f, "eight@example.org", NULL, &error);
	assert_int_equal(error, DIR_OK);
	assert_non_null(cached(f, "eight@example.org", &error));
	assert_int_equal(dir_alias_add(f->dir, "loop@example.org", "loop@example.org"), DIR_OK);
	expect_error(f, "loop@example.org", DIR_ERR_LOOP);
	assert_null(cached(f, "loop@example.org", &error));
	/* An address that cannot be a key. */
	assert_null(cached(f, "bob@example.org\nx", &error));
}

/* Every change, made through this handle or by anyone else, ends every
 * answer kept before it. */
/* Another process holds every reader's lock of directory.db-shm (bytes
 * 123-127: WAL_READ_LOCK(0..4)), as a checkpointer or writer stopped at the
 * wrong moment would: SQLite's read retries back off with xSleep for up to
 * about 10 s whatever the busy timeout, which on an I/O loop stalls every
 * session on it. The cache's connection does not sleep: a miss, in far
 * less than the 2 s allowed here (a loaded CI machine) and the 10 s of a
 * sleeping one. */
static void test_cache_never_sleeps(void **state)
{
	struct fixture *f = *state;
	char path[128];
	int ready[2];
	pid_t child;
	struct timespec t0, t1;
	enum dir_error error;
	char c;

	expect_ok(f, "bob@example.org", "local:bob@example.org");
	assert_non_null(cached(f, "bob@example.org", &error));
	snprintf(path, sizeof(path), "%s/directory.db-shm", f->tmp);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 123, .l_len = 5 };
		int fd = open(path, O_RDWR);

		if (fd < 0 || fcntl(fd, F_SETLKW, &lk) < 0)
			_exit(1);
		(void)write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_null(cached(f, "bob@example.org", &error));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	/* The locks gone, the next lookup is kept again (the failed read
	 * may have moved data_version on: only a miss). */
	expect_ok(f, "bob@example.org", "local:bob@example.org");
	assert_non_null(cached(f, "bob@example.org", &error));
}

static void test_cache_after_changes(void **state)
{
	struct fixture *f = *state;
	struct dir *other;
	char *err = NULL;
	enum dir_error error;

	expect_error(f, "erin@example.org", DIR_ERR_NOT_FOUND);
	assert_non_null(cached(f, "erin@example.org", &error));
	assert_int_equal(dir_user_add(f->dir, "erin@example.org", t_hash, 0), DIR_OK);
	assert_null(cached(f, "erin@example.org", &error));
	expect_ok(f, "erin@example.org", "local:erin@example.org");
	assert_string_equal(cached(f, "erin@example.org", &error), "local:erin@example.org/0");

	/* Another handle on the same file, as `tern user del` is beside the
	 * server. */
	assert_int_equal(dir_open(f->tmp, &other, &err), 0);
	assert_int_equal(dir_user_del(other, "erin@example.org"), DIR_OK);
	assert_null(cached(f, "erin@example.org", &error));
	expect_error(f, "erin@example.org", DIR_ERR_NOT_FOUND);
	assert_non_null(cached(f, "erin@example.org", &error));
	assert_int_equal(error, DIR_ERR_NOT_FOUND);

	/* A change that has nothing to do with the address ends it too. */
	expect_ok(f, "carol@example.org", "local:carol@example.org");
	assert_non_null(cached(f, "carol@example.org", &error));
	assert_int_equal(dir_alias_add(other, "@b.example", "dave@b.example"), DIR_OK);
	assert_null(cached(f, "carol@example.org", &error));
	/* A quota set elsewhere is seen at the next lookup. */
	expect_ok(f, "carol@example.org", "local:carol@example.org");
	assert_int_equal(dir_user_set_quota(other, "carol@example.org", 99), DIR_OK);
	assert_null(cached(f, "carol@example.org", &error));
	expect_ok(f, "carol@example.org", "local:carol@example.org");
	assert_string_equal(cached(f, "carol@example.org", &error), "local:carol@example.org/99");
	dir_close(&other);

	/* Raw SQL from a connection of its own (bulk_aliases). */
	expect_error(f, "p0@example.org", DIR_ERR_NOT_FOUND);
	assert_non_null(cached(f, "p0@example.org", &error));
	bulk_aliases(f, "p", "alice@example.org", 2);
	assert_null(cached(f, "p0@example.org", &error));
	expect_ok(f, "p0@example.org", "local:alice@example.org");
}

static void test_error_texts(void **state)
{
	(void)state;
	assert_string_equal(dir_error_str(DIR_ERR_LOOP), "aliases loop and reach no recipient");
	assert_non_null(strstr(dir_error_str(DIR_ERR_LIMIT), "bound"));
	assert_string_equal(dir_recipient_kind_name(DIR_RECIPIENT_LOCAL), "local");
	assert_string_equal(dir_recipient_kind_name(DIR_RECIPIENT_EXTERNAL), "external");
	assert_string_equal(dir_recipient_kind_name((enum dir_recipient_kind)9), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fan_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookups_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_all_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subaddress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_all_subaddress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postmaster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quotas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_after_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_never_sleeps, setup, teardown),
		cmocka_unit_test(test_error_texts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
