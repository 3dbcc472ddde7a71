/* auth - checking a login's credentials against the directory, in the two
 * steps the login driver (auth-login.h) runs as separate jobs: the fast
 * one (directory lookup + the verified-login cache) and, when the cache
 * does not know the password, the password hash. Both are blocking: run
 * them on the thread pool. The throttle is in auth-throttle.h. */
#ifndef TERN_DIR_AUTH_H
#define TERN_DIR_AUTH_H

#include <stdbool.h>

#include "dir/dir.h"

enum auth_result {
	AUTH_OK,
	AUTH_FAILED,     /* unknown user, wrong password, or authzid not allowed */
	AUTH_TEMPFAIL,   /* directory unavailable */
};

/* The fast step: AUTH_OK when the login cache holds this password for the
 * account (and the authzid, if not empty, names the same account: no proxy
 * logins yet); *address_r is then the account's canonical address
 * (malloc'd). AUTH_FAILED when it is not known to be right (wrong, unknown
 * user, or just not cached): auth_check_password decides. AUTH_TEMPFAIL
 * when the directory is unavailable. Costs a lookup and an HMAC. */
enum auth_result auth_check_cached(struct dir *dir, const char *authcid, const char *authzid,
				   const char *password, char **address_r);

/* What auth_check_password found worth a log line. */
enum auth_note {
	AUTH_NOTE_NONE,
	AUTH_NOTE_HASH_REFUSED,   /* the stored hash is over a ceiling or
	                           * malformed: never run (see `why`) */
	AUTH_NOTE_REHASHED,       /* an older hash was replaced by argon2id */
	AUTH_NOTE_REHASH_FAILED,  /* ... which could not be stored */
};

struct auth_check {
	enum auth_result result;
	char *address;            /* on AUTH_OK: the canonical address (malloc'd) */
	enum auth_note note;
	char why[192];            /* AUTH_NOTE_HASH_REFUSED: password_hash_valid's reason */
};

/* The hash step: look the account up again and verify the password. An
 * unknown account, a refused stored hash and a failure against a hash
 * cheaper than argon2id at the current parameters also cost one
 * verification of a dummy hash of the current scheme, so that the answer
 * takes no less time than for an existing argon2id account. After a
 * success, with `rehash`, a stored hash that password_needs_rehash() is
 * replaced by a new argon2id one (unless the password changed meanwhile),
 * and the login is remembered in the cache. Fills *check (free its
 * address with free()). */
void auth_check_password(struct dir *dir, const char *authcid, const char *authzid,
			 const char *password, bool rehash, struct auth_check *check);

/* DESIGN 7: may a password be sent on this connection? */
bool auth_plaintext_allowed(bool is_tls, bool is_loopback, bool allow_plaintext_loopback);

#endif
