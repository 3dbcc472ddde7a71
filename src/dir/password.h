/* password - hashing new passwords (argon2id) and verifying stored hashes.
 *
 * Stored hashes carry their scheme in Dovecot's notation:
 *   {ARGON2ID}$argon2id$v=19$m=...,t=...,p=...$salt$hash
 *   {SHA512-CRYPT}$6$salt$hash         (verified with crypt())
 *   {BLF-CRYPT}$2y$05$...              (verified with crypt())
 * Hashing is slow on purpose: call these from the thread pool only. */
#ifndef TERN_DIR_PASSWORD_H
#define TERN_DIR_PASSWORD_H

#include <stdbool.h>

/* A new {ARGON2ID} hash of `password` (malloc'd), or NULL on failure. */
char *password_hash(const char *password);

/* True when `password` matches `stored`. Constant-time compare. */
bool password_verify(const char *password, const char *stored);

/* True when `stored` is a hash of an accepted scheme, well-formed enough to
 * verify against; otherwise false and *error_r says why. */
bool password_hash_valid(const char *stored, const char **error_r);

#endif
