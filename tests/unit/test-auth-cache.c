/* test-auth-cache - the verified-login cache: hits only for the same
 * address, stored hash and password; TTL 0 turns it off; the check steps use
 * it for successes and never for failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dir/auth-cache.h"
#include "dir/auth.h"
#include "dir/dir.h"
#include "dir/password.h"

static int cache_reset(void **state)
{
	(void)state;
	auth_cache_set_ttl(3600);
	auth_cache_clear();
	return 0;
}

static void test_hit_needs_same_address_hash_and_password(void **state)
{
	(void)state;
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secret"));
	auth_cache_add("a@example.org", "{X}h1", "secret");
	assert_true(auth_cache_lookup("a@example.org", "{X}h1", "secret"));
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secreT"));
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secret "));
	assert_false(auth_cache_lookup("b@example.org", "{X}h1", "secret"));
	/* a new stored hash (password changed) misses at once */
	assert_false(auth_cache_lookup("a@example.org", "{X}h2", "secret"));
	/* the MAC separates hash and password: moving bytes across fails */
	assert_false(auth_cache_lookup("a@example.org", "{X}h1s", "ecret"));
}

static void test_ttl_zero_turns_off(void **state)
{
	(void)state;
	auth_cache_add("a@example.org", "{X}h1", "secret");
	auth_cache_set_ttl(0);
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secret"));
	auth_cache_add("a@example.org", "{X}h1", "secret");
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secret"));
	auth_cache_set_ttl(3600);
	assert_false(auth_cache_lookup("a@example.org", "{X}h1", "secret"));
}

static void test_overlong_address_not_cached(void **state)
{
	char address[400];

	(void)state;
	memset(address, 'a', sizeof(address) - 1);
	address[sizeof(address) - 1] = '\0';
	auth_cache_add(address, "{X}h1", "secret");
	assert_false(auth_cache_lookup(address, "{X}h1", "secret"));
}

/* The two steps of a check: a success of the hash step is cached, the fast
 * step then knows it; a password change invalidates it; a wrong password
 * is never answered from the cache. */
static void test_auth_steps_use_cache(void **state)
{
	char tmpl[] = "/tmp/tern-test-auth-cache-XXXXXX";
	char *data_dir = mkdtemp(tmpl);
	struct dir *dir = NULL;
	struct auth_check check;
	char *error = NULL;
	char *address = NULL;
	char *hash;

	(void)state;
	assert_non_null(data_dir);
	assert_int_equal(dir_open(data_dir, &dir, &error), 0);
	assert_int_equal(dir_domain_add(dir, "example.org"), DIR_OK);
	hash = password_hash("first");
	assert_non_null(hash);
	assert_int_equal(dir_user_add(dir, "u@example.org", hash, 0), DIR_OK);

	assert_int_equal(auth_check_cached(dir, "u@example.org", NULL, "first", &address), AUTH_FAILED);
	assert_null(address);
	auth_check_password(dir, "u@example.org", NULL, "first", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	assert_int_equal(check.note, AUTH_NOTE_NONE);
	free(check.address);
	assert_true(auth_cache_lookup("u@example.org", hash, "first"));
	assert_int_equal(auth_check_cached(dir, "U@Example.org", NULL, "first", &address), AUTH_OK);
	assert_string_equal(address, "u@example.org");
	free(address);
	/* A cached password with someone else's authzid is not a hit. */
	assert_int_equal(auth_check_cached(dir, "u@example.org", "v@example.org", "first", &address),
			 AUTH_FAILED);
	assert_int_equal(auth_check_cached(dir, "u@example.org", NULL, "wrong", &address), AUTH_FAILED);
	assert_null(address);
	free(hash);

	hash = password_hash("second");
	assert_int_equal(dir_user_set_hash(dir, "u@example.org", hash), DIR_OK);
	assert_int_equal(auth_check_cached(dir, "u@example.org", NULL, "first", &address), AUTH_FAILED);
	auth_check_password(dir, "u@example.org", NULL, "first", true, &check);
	assert_int_equal(check.result, AUTH_FAILED);
	auth_check_password(dir, "u@example.org", NULL, "second", true, &check);
	assert_int_equal(check.result, AUTH_OK);
	free(check.address);
	free(hash);

	dir_close(&dir);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hit_needs_same_address_hash_and_password, cache_reset),
		cmocka_unit_test_setup(test_ttl_zero_turns_off, cache_reset),
		cmocka_unit_test_setup(test_overlong_address_not_cached, cache_reset),
		cmocka_unit_test_setup(test_auth_steps_use_cache, cache_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
