/* auth-login - the login driver: the fast step, admission, pacing, the
 * hash step and the answer delay, chained as jobs on the connection; see
 * auth-login.h. */
#include "dir/auth-login.h"

#include <stdlib.h>
#include <string.h>

#include "dir/auth-throttle.h"
#include "dir/auth.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const auth_login_result_names[] = {
	[AUTH_LOGIN_OK] = "ok",
	[AUTH_LOGIN_FAILED] = "failed",
	[AUTH_LOGIN_BUSY] = "busy",
	[AUTH_LOGIN_TEMPFAIL] = "tempfail",
	[AUTH_LOGIN_GONE] = "gone",
};
_Static_assert(ARRAY_SIZE(auth_login_result_names) == AUTH_LOGIN__COUNT, "result names");

const char *auth_login_result_name(enum auth_login_result result)
{
	return (unsigned)result < AUTH_LOGIN__COUNT ? auth_login_result_names[result] : "?";
}

struct auth_login {
	struct conn *conn;
	struct dir *dir;
	char *authcid;
	char *authzid;
	char *password;               /* wiped once checked */
	auth_login_done_fn *done;
	void *ctx;
	char user[256];               /* authcid, escaped for the log */

	enum auth_result fast;        /* the fast step: AUTH_OK = cached */
	char *address;                /* the fast step's account, when cached */
	enum auth_admit admit;
	bool hashed;                  /* the hash step ran */
	struct auth_check check;      /* what it found */
	enum auth_login_result result;
};

static char *auth_login_strdup(const char *text)
{
	char *copy = strdup(text != NULL ? text : "");

	if (copy == NULL)
		abort();
	return copy;
}

static void auth_login_wipe(struct auth_login *a)
{
	if (a->password != NULL) {
		explicit_bzero(a->password, strlen(a->password));
		free(a->password);
		a->password = NULL;
	}
}

/* The end: call the protocol back once, then forget the attempt. */
static void auth_login_finish(struct auth_login *a, enum auth_login_result result)
{
	const char *address = a->check.address != NULL ? a->check.address : a->address;

	if (result == AUTH_LOGIN_GONE)
		conn_close(a->conn, "client gone during login");
	a->done(a->ctx, result, result == AUTH_LOGIN_OK ? address : NULL);
	auth_login_wipe(a);
	free(a->authcid);
	free(a->authzid);
	free(a->address);
	free(a->check.address);
	free(a);
}

/* An attempt dropped before its password was checked. */
static void auth_login_drop(struct auth_login *a, const char *stage)
{
	(void)auth_throttle_done(conn_remote_ip(a->conn), a->authcid, AUTH_OUTCOME_DROPPED);
	conn_log(a->conn, LOG_LEVEL_INFO, "msg=\"login dropped\" user=\"%s\" stage=%s reason=\"%s\"",
		 a->user, stage, conn_is_closing(a->conn) ? "closing" : "client gone");
	auth_login_finish(a, AUTH_LOGIN_GONE);
}

/* The answer delay is over (or cut short). */
static void auth_login_answer_done(void *arg)
{
	struct auth_login *a = arg;

	auth_login_finish(a, conn_client_gone(a->conn) ? AUTH_LOGIN_GONE : a->result);
}

/* The password is checked and the throttle completed: answer after its
 * delay. */
static void auth_login_answer(struct auth_login *a, enum auth_outcome outcome)
{
	uint64_t delay = auth_throttle_done(conn_remote_ip(a->conn), a->authcid, outcome);

	if (delay > 0)
		conn_job_wait(a->conn, delay, auth_login_answer_done, a);
	else
		auth_login_finish(a, a->result);
}

static void auth_login_hash_work(void *arg)
{
	struct auth_login *a = arg;

	auth_check_password(a->dir, a->authcid, a->authzid, a->password,
			    conn_config(a->conn)->auth.rehash, &a->check);
	explicit_bzero(a->password, strlen(a->password));
	a->hashed = true;
}

static void auth_login_hash_done(void *arg)
{
	struct auth_login *a = arg;

	if (!a->hashed) {
		auth_login_drop(a, "queue");
		return;
	}
	switch (a->check.note) {
	case AUTH_NOTE_HASH_REFUSED:
		conn_log(a->conn, LOG_LEVEL_WARN,
			 "msg=\"stored password hash refused, never run\" user=\"%s\" error=\"%s\" "
			 "hint=\"set a new password: tern user passwd ADDRESS\"", a->user, a->check.why);
		break;
	case AUTH_NOTE_REHASHED:
		conn_log(a->conn, LOG_LEVEL_INFO, "msg=\"password re-hashed to argon2id\" user=\"%s\"",
			 a->user);
		break;
	case AUTH_NOTE_REHASH_FAILED:
		conn_log(a->conn, LOG_LEVEL_WARN, "msg=\"password re-hash not stored\" user=\"%s\"",
			 a->user);
		break;
	case AUTH_NOTE_NONE:
	default:
		break;
	}
	switch (a->check.result) {
	case AUTH_OK:
		a->result = AUTH_LOGIN_OK;
		auth_login_answer(a, AUTH_OUTCOME_OK);
		return;
	case AUTH_FAILED:
		/* Counted even when the client did not wait for the answer:
		 * hanging up is no way around the throttle. */
		conn_log(a->conn, LOG_LEVEL_INFO, "msg=\"login failed\" user=\"%s\"", a->user);
		a->result = AUTH_LOGIN_FAILED;
		auth_login_answer(a, AUTH_OUTCOME_FAILED);
		return;
	case AUTH_TEMPFAIL:
	default:
		conn_log(a->conn, LOG_LEVEL_WARN, "msg=\"login tempfail\" user=\"%s\"", a->user);
		a->result = AUTH_LOGIN_TEMPFAIL;
		auth_login_answer(a, AUTH_OUTCOME_DROPPED);
		return;
	}
}

/* Admitted and paced: check the password (the cache already has, or the
 * hash step does). */
static void auth_login_check(struct auth_login *a)
{
	enum job_limit_prio prio =
		a->admit == AUTH_ADMIT_CLEAN ? JOB_LIMIT_PRIO_HIGH : JOB_LIMIT_PRIO_LOW;

	if (a->fast == AUTH_OK) {
		a->result = AUTH_LOGIN_OK;
		auth_login_answer(a, AUTH_OUTCOME_OK);
		return;
	}
	if (!conn_job_limited(a->conn, conn_auth_limit(a->conn), prio, auth_login_hash_work,
			      auth_login_hash_done, a)) {
		(void)auth_throttle_done(conn_remote_ip(a->conn), a->authcid, AUTH_OUTCOME_REFUSED);
		conn_log(a->conn, LOG_LEVEL_INFO,
			 "msg=\"login refused\" user=\"%s\" reason=\"password check queue full\"",
			 a->user);
		auth_login_finish(a, AUTH_LOGIN_BUSY);
	}
}

static void auth_login_paced(void *arg)
{
	struct auth_login *a = arg;

	if (conn_client_gone(a->conn))
		auth_login_drop(a, "pacing");
	else
		auth_login_check(a);
}

static void auth_login_fast_work(void *arg)
{
	struct auth_login *a = arg;

	a->fast = auth_check_cached(a->dir, a->authcid, a->authzid, a->password, &a->address);
}

static void auth_login_fast_done(void *arg)
{
	struct auth_login *a = arg;
	const struct config *cfg = conn_config(a->conn);
	uint64_t wait = 0;

	if (a->fast == AUTH_TEMPFAIL) {
		conn_log(a->conn, LOG_LEVEL_WARN, "msg=\"login tempfail\" user=\"%s\"", a->user);
		auth_login_finish(a, AUTH_LOGIN_TEMPFAIL);
		return;
	}
	a->admit = auth_throttle_admit(conn_remote_ip(a->conn), a->fast == AUTH_OK,
				       cfg->auth.attempts_per_ip, &wait);
	switch (a->admit) {
	case AUTH_ADMIT_FREE:
		auth_login_finish(a, AUTH_LOGIN_OK);
		return;
	case AUTH_ADMIT_BUSY:
		conn_log(a->conn, LOG_LEVEL_INFO,
			 "msg=\"login refused\" user=\"%s\" reason=\"too many attempts in flight from the address\"",
			 a->user);
		auth_login_finish(a, AUTH_LOGIN_BUSY);
		return;
	case AUTH_ADMIT_CLEAN:
	case AUTH_ADMIT_SUSPECT:
	default:
		break;
	}
	/* Pacing: an address with failures or other attempts in flight waits
	 * before anything is hashed for it (DESIGN 7). */
	if (wait > 0)
		conn_job_wait(a->conn, wait, auth_login_paced, a);
	else
		auth_login_check(a);
}

void auth_login_start(struct conn *conn, struct dir *dir, const char *authcid,
		      const char *authzid, const char *password, auth_login_done_fn *done,
		      void *ctx)
{
	struct auth_login *a = calloc(1, sizeof(*a));

	if (a == NULL)
		abort();
	a->conn = conn;
	a->dir = dir;
	a->authcid = auth_login_strdup(authcid);
	a->authzid = auth_login_strdup(authzid);
	a->password = auth_login_strdup(password);
	a->done = done;
	a->ctx = ctx;
	log_escape(a->user, sizeof(a->user), a->authcid, 200);
	conn_job(conn, auth_login_fast_work, auth_login_fast_done, a);
}
