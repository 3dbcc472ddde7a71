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
#include <stddef.h>

struct config;

/* Take the ceilings on the cost of a stored hash from [auth]
 * bcrypt_cost_max, sha512_rounds_max, argon2_memory_max and
 * argon2_passes_max (NULL: their defaults, 12, 100000, 256 MiB, 10; argon2
 * lanes are capped at 16). Process-wide: call it at start, before any
 * thread verifies a password. */
void password_configure(const struct config *cfg);

/* A new {ARGON2ID} hash of `password` (malloc'd), or NULL on failure. */
char *password_hash(const char *password);

/* True when `password` matches `stored`. Constant-time compare. A hash that
 * password_hash_valid() refuses is never run: false. */
bool password_verify(const char *password, const char *stored);

/* The one place that decides whether a stored hash may be used: true when
 * `stored` is of an accepted scheme, well-formed, and its cost is within
 * the ceilings; otherwise false and *error_r says why (for a cost: which
 * ceiling and the key that raises it). *error_r stays valid until the next
 * call in the same thread. */
bool password_hash_valid(const char *stored, const char **error_r);

/* The one rule for a new password, whatever sets it (`tern user add`,
 * `tern user passwd`, any later way): 1 to 200 bytes of UTF-8 with no NUL,
 * no control character and no space at its start or end. Such a password
 * is stored exactly as given; anything else is refused, never trimmed or
 * cut, because some login could not give it back byte for byte (POP3 PASS
 * drops trailing spaces, a line end ends a command, a POP3 command line
 * holds 255 octets). `len` is the length as read, so an embedded NUL is
 * seen. Returns true, or false with a static reason in *why_r ("it ends
 * with a space"). */
bool password_check_new(const char *password, size_t len, const char **why_r);

/* True when a valid `stored` hash is not what password_hash() makes now:
 * another scheme ({SHA512-CRYPT}, {BLF-CRYPT}, {ARGON2I}) or argon2id with
 * less memory or fewer passes. A successful login may then store a new
 * hash ([auth] rehash). */
bool password_needs_rehash(const char *stored);

#endif
