/* auth-login - one login attempt on a connection, from the credentials a
 * protocol (POP3 now; IMAP and SMTP submission later) has parsed to the
 * answer it gives, with every defence in one place:
 *
 *   1. the fast step, a plain job: directory lookup + the verified-login
 *      cache. A cached login from an address with no recent failures is
 *      answered at once: it never waits behind unverified attempts and is
 *      never delayed;
 *   2. admission by the throttle (auth-throttle.h): at most [auth]
 *      attempts_per_ip in flight per address, the excess refused at once;
 *      the pacing wait is decided here, counting attempts in flight;
 *   3. the pacing wait (conn_job_wait), cut short when the client goes;
 *   4. the hash step in the core's limited class of jobs (conn_auth_limit),
 *      addresses without recent failures first; refused at once when its
 *      queue is full; dropped unhashed when the client goes while it waits;
 *   5. completion by the throttle, and the answer delay it gives (failures;
 *      successes too while the account is under attack).
 *
 * Every admitted attempt is completed exactly once, also when the
 * connection closes midway. The login is logged here (failures, refusals,
 * drops, refused stored hashes, re-hashes), except the success, which the
 * protocol logs with what it adds. */
#ifndef TERN_DIR_AUTH_LOGIN_H
#define TERN_DIR_AUTH_LOGIN_H

#include "core/conn.h"
#include "dir/dir.h"

enum auth_login_result {
	AUTH_LOGIN_OK,         /* logged in as `address` */
	AUTH_LOGIN_FAILED,     /* wrong user, password or authzid */
	AUTH_LOGIN_BUSY,       /* too many attempts in progress, from the address
	                        * or in all: the protocol's temporary error */
	AUTH_LOGIN_TEMPFAIL,   /* the directory is unavailable: temporary error */
	AUTH_LOGIN_GONE,       /* the client went away or the server is stopping:
	                        * nothing to answer, the connection is closing */
	AUTH_LOGIN__COUNT
};
const char *auth_login_result_name(enum auth_login_result result);

/* `address` is the canonical account on AUTH_LOGIN_OK (NULL otherwise),
 * valid during the call only. */
typedef void auth_login_done_fn(void *ctx, enum auth_login_result result, const char *address);

/* Check a login on `conn` against `dir`. done(ctx, ...) is called exactly
 * once, on the connection's loop, from the end of a job (never from inside
 * this call), after every delay; until then the connection runs the
 * attempt's jobs and waits, so no input is read. done may start a job of
 * its own. The strings are copied; the password is wiped once it is no
 * longer needed. */
void auth_login_start(struct conn *conn, struct dir *dir, const char *authcid,
		      const char *authzid, const char *password, auth_login_done_fn *done,
		      void *ctx);

#endif
