/* auth-cache - remembers logins verified recently, so a client that logs in
 * every few minutes (POP3 polling, many IMAP connections) does not pay a
 * full argon2id hash each time.
 *
 * An entry holds the account's address and HMAC-SHA256(process key, stored
 * hash || NUL || password), with an expiry. The key is random per process
 * and the cache lives only in memory, so it reveals nothing a stolen
 * directory.db would not. Because the stored hash is part of the MAC, a
 * password change (a new hash) misses the cache at once. Only successful
 * logins are cached: every wrong password still costs a full verification
 * (and the throttle). Thread-safe; fixed size (direct-mapped slots). */
#ifndef TERN_DIR_AUTH_CACHE_H
#define TERN_DIR_AUTH_CACHE_H

#include <stdbool.h>

/* Seconds an entry lives; 0 turns the cache off (default: 3600). */
void auth_cache_set_ttl(unsigned seconds);

/* True when `password` was verified against `stored_hash` for `address`
 * within the TTL. */
bool auth_cache_lookup(const char *address, const char *stored_hash, const char *password);

/* Remember a successful verification. */
void auth_cache_add(const char *address, const char *stored_hash, const char *password);

/* Empty the cache (tests). */
void auth_cache_clear(void);

#endif
