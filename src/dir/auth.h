/* auth - verifying credentials and throttling failures.
 *
 * auth_verify() is blocking (directory lookup + password hash): run it in a
 * job. The throttle is process-wide and thread-safe: failures are counted
 * per client address and per account, and each failure earns a growing
 * delay before the protocol answers (the session waits on a timer, so other
 * clients are never slowed). */
#ifndef TERN_DIR_AUTH_H
#define TERN_DIR_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "dir/dir.h"

enum auth_result {
	AUTH_OK,
	AUTH_FAILED,     /* unknown user, wrong password, or authzid not allowed */
	AUTH_TEMPFAIL,   /* directory unavailable */
};

/* Check a login. An authzid that is not empty and differs from authcid is
 * refused (no proxy logins yet). On AUTH_OK *address_r is the account's
 * canonical address (malloc'd). Blocking. */
enum auth_result auth_verify(struct dir *dir, const char *authcid, const char *authzid,
			     const char *password, char **address_r);

/* Record a failure from `ip` for login name `user` (may be NULL) and return
 * how many milliseconds to wait before answering it. Grows with the number
 * of recent failures for the address and for the account, up to a cap. */
uint64_t auth_throttle_failure(const char *ip, const char *user);
/* Record a success: forget the account's failures from this address. */
void auth_throttle_success(const char *ip, const char *user);
/* Milliseconds a new attempt from `ip` should wait before it is even tried
 * (0 when the address has no recent failures). */
uint64_t auth_throttle_pending(const char *ip);

/* For tests: replace the clock the throttle reads (milliseconds, monotonic;
 * NULL restores the real one), and forget every recorded failure. */
void auth_throttle_set_clock(uint64_t (*now_ms)(void));
void auth_throttle_reset(void);

/* DESIGN 7: may a password be sent on this connection? */
bool auth_plaintext_allowed(bool is_tls, bool is_loopback, bool allow_plaintext_loopback);

#endif
