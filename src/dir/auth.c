/* auth - checking a login against the directory, and the process-wide
 * throttle of failed logins per client address and per account. See auth.h. */
#include "dir/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dir/auth-cache.h"
#include "dir/password.h"

/* Failures older than this are forgotten. */
#define AUTH_FORGET_MS (15u * 60u * 1000u)
#define AUTH_DELAY_BASE_MS 250u
#define AUTH_DELAY_MAX_MS 15000u
/* Bounded table: when full, the entry with the oldest failure makes room,
 * so a flood of addresses costs a fixed amount of memory. */
#define AUTH_THROTTLE_SLOTS 4096
/* "i:" or "u:" + address or login name (longer ones are truncated). */
#define AUTH_KEY_MAX 272

/* ---- verification ---- */

static char *auth_dummy_hash;
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

/* A hash of the current scheme and cost, verified when the user is unknown
 * so that the answer takes as long as for a real account. */
static void auth_dummy_init(void)
{
	auth_dummy_hash = password_hash("tern: no such account");
}

enum auth_result auth_verify(struct dir *dir, const char *authcid, const char *authzid,
			     const char *password, char **address_r)
{
	struct dir_user user;
	enum dir_error error;
	bool ok = false;

	*address_r = NULL;
	pthread_once(&auth_dummy_once, auth_dummy_init);
	error = dir_user_lookup(dir, authcid, &user);
	if (error == DIR_ERR_TEMP)
		return AUTH_TEMPFAIL;
	if (error == DIR_OK) {
		ok = auth_cache_lookup(user.address, user.hash, password);
		if (!ok && password_verify(password, user.hash)) {
			ok = true;
			auth_cache_add(user.address, user.hash, password);
		}
	} else if (auth_dummy_hash != NULL) {
		(void)password_verify(password, auth_dummy_hash);
	}
	/* No proxy logins: an authzid must name the same account. */
	if (ok && authzid != NULL && authzid[0] != '\0') {
		char *z = strdup(authzid);

		ok = z != NULL && dir_address_normalize(z) && strcmp(z, user.address) == 0;
		free(z);
	}
	if (ok) {
		*address_r = user.address;
		user.address = NULL;
	}
	if (error == DIR_OK)
		dir_user_free(&user);
	return ok ? AUTH_OK : AUTH_FAILED;
}

bool auth_plaintext_allowed(bool is_tls, bool is_loopback, bool allow_plaintext_loopback)
{
	return is_tls || (is_loopback && allow_plaintext_loopback);
}

/* ---- throttle ---- */

struct auth_throttle_entry {
	char key[AUTH_KEY_MAX];
	uint32_t failures;     /* 0: the slot is free */
	uint64_t last_ms;      /* time of the latest failure */
};

static struct auth_throttle_entry auth_table[AUTH_THROTTLE_SLOTS];
static pthread_mutex_t auth_table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t (*auth_clock)(void);

static uint64_t auth_clock_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t auth_now(void)
{
	return auth_clock != NULL ? auth_clock() : auth_clock_real();
}

void auth_throttle_set_clock(uint64_t (*now_ms)(void))
{
	pthread_mutex_lock(&auth_table_lock);
	auth_clock = now_ms;
	pthread_mutex_unlock(&auth_table_lock);
}

void auth_throttle_reset(void)
{
	pthread_mutex_lock(&auth_table_lock);
	memset(auth_table, 0, sizeof(auth_table));
	pthread_mutex_unlock(&auth_table_lock);
}

/* 250 ms, 500 ms, 1 s, ... up to 15 s. */
static uint64_t auth_delay(uint32_t failures)
{
	uint64_t delay;

	if (failures == 0)
		return 0;
	if (failures > 7)
		return AUTH_DELAY_MAX_MS;
	delay = (uint64_t)AUTH_DELAY_BASE_MS << (failures - 1);
	return delay < AUTH_DELAY_MAX_MS ? delay : AUTH_DELAY_MAX_MS;
}

static void auth_key(char *key, char kind, const char *name)
{
	size_t i;

	key[0] = kind;
	key[1] = ':';
	for (i = 0; name[i] != '\0' && i + 3 < AUTH_KEY_MAX; i++)
		key[i + 2] = (char)tolower((unsigned char)name[i]);
	key[i + 2] = '\0';
}

static bool auth_entry_live(const struct auth_throttle_entry *e, uint64_t now)
{
	return e->failures > 0 && now - e->last_ms < AUTH_FORGET_MS;
}

/* Under the lock: the live entry for key, or with `create` a fresh one in a
 * free, expired or (table full) the oldest slot. */
static struct auth_throttle_entry *auth_lookup(const char *key, uint64_t now, bool create)
{
	struct auth_throttle_entry *victim = NULL;

	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		struct auth_throttle_entry *e = &auth_table[i];

		if (!auth_entry_live(e, now)) {
			e->failures = 0;
			if (victim == NULL || victim->failures > 0)
				victim = e;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			return e;
		if (victim == NULL || (victim->failures > 0 && e->last_ms < victim->last_ms))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, strlen(key) + 1);
	return victim;
}

static uint32_t auth_record(char kind, const char *name, uint64_t now)
{
	char key[AUTH_KEY_MAX];
	struct auth_throttle_entry *e;

	auth_key(key, kind, name);
	e = auth_lookup(key, now, true);
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now;
	return e->failures;
}

uint64_t auth_throttle_failure(const char *ip, const char *user)
{
	uint32_t failures = 0;
	uint64_t now;

	pthread_mutex_lock(&auth_table_lock);
	now = auth_now();
	if (ip != NULL && ip[0] != '\0')
		failures = auth_record('i', ip, now);
	if (user != NULL && user[0] != '\0') {
		uint32_t n = auth_record('u', user, now);

		if (n > failures)
			failures = n;
	}
	pthread_mutex_unlock(&auth_table_lock);
	return auth_delay(failures);
}

void auth_throttle_success(const char *ip, const char *user)
{
	char key[AUTH_KEY_MAX];
	struct auth_throttle_entry *e;

	/* The address keeps its count (it decays): one good login must not
	 * wipe the record of guesses against other accounts. */
	(void)ip;
	if (user == NULL || user[0] == '\0')
		return;
	auth_key(key, 'u', user);
	pthread_mutex_lock(&auth_table_lock);
	e = auth_lookup(key, auth_now(), false);
	if (e != NULL)
		e->failures = 0;
	pthread_mutex_unlock(&auth_table_lock);
}

uint64_t auth_throttle_pending(const char *ip)
{
	char key[AUTH_KEY_MAX];
	struct auth_throttle_entry *e;
	uint64_t wait = 0;
	uint64_t now;

	if (ip == NULL || ip[0] == '\0')
		return 0;
	auth_key(key, 'i', ip);
	pthread_mutex_lock(&auth_table_lock);
	now = auth_now();
	e = auth_lookup(key, now, false);
	if (e != NULL) {
		uint64_t until = e->last_ms + auth_delay(e->failures);

		wait = until > now ? until - now : 0;
	}
	pthread_mutex_unlock(&auth_table_lock);
	return wait;
}
