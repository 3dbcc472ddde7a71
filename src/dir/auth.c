/* auth - the two steps of checking a login against the directory: the
 * cache lookup and the password hash, with the dummy hash that keeps
 * unknown accounts as slow as known ones, and the re-hash of older
 * schemes. See auth.h. */
#include "dir/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir/auth-cache.h"
#include "dir/password.h"

static char *auth_dummy_hash;
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

/* A hash of the current scheme and cost, verified when the user is unknown
 * (and after a failure against a cheaper scheme) so that the answer takes
 * as long as for a real account. */
static void auth_dummy_init(void)
{
	auth_dummy_hash = password_hash("tern: no such account");
}

static void auth_dummy_verify(const char *password)
{
	pthread_once(&auth_dummy_once, auth_dummy_init);
	if (auth_dummy_hash != NULL)
		(void)password_verify(password, auth_dummy_hash);
}

/* No proxy logins: an authzid, when given, must name the same account. */
static bool auth_authzid_ok(const char *authzid, const char *address)
{
	char *z;
	bool ok;

	if (authzid == NULL || authzid[0] == '\0')
		return true;
	z = strdup(authzid);
	ok = z != NULL && dir_address_normalize(z) && strcmp(z, address) == 0;
	free(z);
	return ok;
}

enum auth_result auth_check_cached(struct dir *dir, const char *authcid, const char *authzid,
				   const char *password, char **address_r)
{
	struct dir_user user;
	enum dir_error error;
	bool ok;

	*address_r = NULL;
	error = dir_user_lookup(dir, authcid, &user);
	if (error == DIR_ERR_TEMP)
		return AUTH_TEMPFAIL;
	if (error != DIR_OK)
		return AUTH_FAILED;
	ok = auth_cache_lookup(user.address, user.hash, password) &&
	     auth_authzid_ok(authzid, user.address);
	if (ok) {
		*address_r = user.address;
		user.address = NULL;
	}
	dir_user_free(&user);
	return ok ? AUTH_OK : AUTH_FAILED;
}

/* After a success: store an argon2id hash in place of an older one. Returns
 * the hash now stored (the new one, or user->hash). */
static const char *auth_rehash(struct dir *dir, const struct dir_user *user, const char *password,
			       char **fresh_r, struct auth_check *check)
{
	char *fresh = password_hash(password);

	*fresh_r = fresh;
	if (fresh != NULL &&
	    dir_user_replace_hash(dir, user->address, user->hash, fresh) == DIR_OK) {
		check->note = AUTH_NOTE_REHASHED;
		return fresh;
	}
	check->note = AUTH_NOTE_REHASH_FAILED;
	return user->hash;
}

void auth_check_password(struct dir *dir, const char *authcid, const char *authzid,
			 const char *password, bool rehash, struct auth_check *check)
{
	struct dir_user user;
	enum dir_error error;
	const char *why = NULL;
	const char *stored;
	char *fresh = NULL;

	memset(check, 0, sizeof(*check));
	check->result = AUTH_FAILED;
	error = dir_user_lookup(dir, authcid, &user);
	if (error == DIR_ERR_TEMP) {
		check->result = AUTH_TEMPFAIL;
		return;
	}
	if (error != DIR_OK) {
		auth_dummy_verify(password);
		return;
	}
	if (!password_hash_valid(user.hash, &why)) {
		/* Over a ceiling (or broken): never run; cost what a real
		 * check costs. The operator resets the password. */
		check->note = AUTH_NOTE_HASH_REFUSED;
		snprintf(check->why, sizeof(check->why), "%s", why != NULL ? why : "invalid");
		auth_dummy_verify(password);
		dir_user_free(&user);
		return;
	}
	if (!password_verify(password, user.hash)) {
		/* A cheaper imported scheme must not answer sooner than an
		 * unknown account does. */
		if (password_needs_rehash(user.hash))
			auth_dummy_verify(password);
		dir_user_free(&user);
		return;
	}
	stored = user.hash;
	if (rehash && password_needs_rehash(user.hash))
		stored = auth_rehash(dir, &user, password, &fresh, check);
	auth_cache_add(user.address, stored, password);
	if (fresh != NULL) {
		memset(fresh, 0, strlen(fresh));
		free(fresh);
	}
	if (auth_authzid_ok(authzid, user.address)) {
		check->result = AUTH_OK;
		check->address = user.address;
		user.address = NULL;
	}
	dir_user_free(&user);
}

bool auth_plaintext_allowed(bool is_tls, bool is_loopback, bool allow_plaintext_loopback)
{
	return is_tls || (is_loopback && allow_plaintext_loopback);
}
