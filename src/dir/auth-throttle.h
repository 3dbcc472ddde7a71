/* auth-throttle - pacing login attempts per client address, and delaying
 * answers per address and per account, so that guessing passwords is slow
 * from one address and against one account, and costs nobody else anything.
 *
 * Every attempt that may need a password hash is admitted first
 * (auth_throttle_admit: it then counts as in flight for its address) and
 * completed exactly once afterwards (auth_throttle_done), also when its
 * client went away meanwhile. The pacing wait is decided at admission and
 * counts the address's attempts in flight as if they were failures, so
 * parallel connections from one address are paced like consecutive ones.
 * Failures are counted per address and per account; each earns a growing
 * delay (250 ms x 2^(n-1), at most 15 s) and is forgotten 15 minutes after
 * the last one. A success does not erase them: they decay, so a polling
 * client does not reset an attacker's delays. Process-wide, thread-safe,
 * bounded (4096 entries). */
#ifndef TERN_DIR_AUTH_THROTTLE_H
#define TERN_DIR_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

enum auth_admit {
	/* A login verified by the cache, from an address with no recent
	 * failures: answer now, nothing to complete. */
	AUTH_ADMIT_FREE,
	/* Admitted (complete it); the address has no recent failures. */
	AUTH_ADMIT_CLEAN,
	/* Admitted (complete it); the address has recent failures. */
	AUTH_ADMIT_SUSPECT,
	/* Refused: `per_ip` attempts from the address are already in flight
	 * (or the table is full of addresses with attempts in flight). */
	AUTH_ADMIT_BUSY,
};

/* Admit an attempt from `ip` (NULL or "": not tracked). `cached`: the
 * password was already verified by the login cache. On CLEAN and SUSPECT,
 * *wait_ms_r is how long to wait, from now, before checking it (and, for a
 * cached attempt, before answering): the delay of the address's recent
 * failures plus its other attempts in flight. */
enum auth_admit auth_throttle_admit(const char *ip, bool cached, unsigned per_ip,
				    uint64_t *wait_ms_r);

enum auth_outcome {
	AUTH_OUTCOME_OK,        /* the password was right */
	AUTH_OUTCOME_FAILED,    /* wrong user or password: a failure of the
	                         * address and of the account */
	AUTH_OUTCOME_REFUSED,   /* not checked, no room to wait for a hash: a
	                         * failure of the address only */
	AUTH_OUTCOME_DROPPED,   /* not checked: the client went, the server is
	                         * stopping, or the directory failed */
};

/* Complete an admitted attempt from `ip` for login name `user` (may be
 * NULL). Returns how many milliseconds to wait before answering it: for a
 * failure, the delay of the address's or the account's failures (the
 * larger); for a success, the account's (while it is under attack, a
 * guesser learns nothing sooner by hanging up early); otherwise 0. */
uint64_t auth_throttle_done(const char *ip, const char *user, enum auth_outcome outcome);

/* For tests: replace the clock the throttle reads (milliseconds, monotonic;
 * NULL restores the real one), and forget everything recorded. */
void auth_throttle_set_clock(uint64_t (*now_ms)(void));
void auth_throttle_reset(void);

#endif
