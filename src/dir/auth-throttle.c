/* auth-throttle - the process-wide table of recent login failures and
 * attempts in flight, per client address and per account; see
 * auth-throttle.h. */
#include "dir/auth-throttle.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* Failures older than this are forgotten. */
#define AUTH_FORGET_MS (15u * 60u * 1000u)
#define AUTH_DELAY_BASE_MS 250u
#define AUTH_DELAY_MAX_MS 15000u
/* Bounded table: when full, the entry with the oldest failure makes room
 * (never one with attempts in flight), so a flood of addresses costs a
 * fixed amount of memory. */
#define AUTH_THROTTLE_SLOTS 4096
/* "i:" or "u:" + address or login name (longer ones are truncated). */
#define AUTH_KEY_MAX 272

struct auth_throttle_entry {
	char key[AUTH_KEY_MAX];
	uint32_t failures;     /* recent failures */
	uint32_t in_flight;    /* admitted attempts not completed (addresses) */
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
static uint64_t auth_delay(uint64_t count)
{
	uint64_t delay;

	if (count == 0)
		return 0;
	if (count > 7)
		return AUTH_DELAY_MAX_MS;
	delay = (uint64_t)AUTH_DELAY_BASE_MS << (count - 1);
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

/* Under the lock: forget failures that are too old; true while the entry
 * still holds something. */
static bool auth_entry_live(struct auth_throttle_entry *e, uint64_t now)
{
	if (e->failures > 0 && now - e->last_ms >= AUTH_FORGET_MS)
		e->failures = 0;
	return e->failures > 0 || e->in_flight > 0;
}

/* Under the lock: the live entry for `name` of `kind`, or with `create` a
 * fresh one in a free slot or in place of the entry with the oldest
 * failure; NULL when there is none (or no room). */
static struct auth_throttle_entry *auth_lookup(char kind, const char *name, uint64_t now,
					       bool create)
{
	struct auth_throttle_entry *victim = NULL;
	char key[AUTH_KEY_MAX];

	if (name == NULL || name[0] == '\0')
		return NULL;
	auth_key(key, kind, name);
	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		struct auth_throttle_entry *e = &auth_table[i];

		if (!auth_entry_live(e, now)) {
			if (victim == NULL || auth_entry_live(victim, now))
				victim = e;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			return e;
		if (e->in_flight == 0 &&
		    (victim == NULL || (auth_entry_live(victim, now) && e->last_ms < victim->last_ms)))
			victim = e;
	}
	if (!create || victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, strlen(key) + 1);
	return victim;
}

static uint32_t auth_failures(char kind, const char *name, uint64_t now)
{
	struct auth_throttle_entry *e = auth_lookup(kind, name, now, false);

	return e != NULL ? e->failures : 0;
}

static uint32_t auth_record_failure(char kind, const char *name, uint64_t now)
{
	struct auth_throttle_entry *e = auth_lookup(kind, name, now, true);

	if (e == NULL)
		return 0;
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now;
	return e->failures;
}

enum auth_admit auth_throttle_admit(const char *ip, bool cached, unsigned per_ip,
				    uint64_t *wait_ms_r)
{
	struct auth_throttle_entry *e;
	enum auth_admit admit;
	uint64_t now;

	*wait_ms_r = 0;
	pthread_mutex_lock(&auth_table_lock);
	now = auth_now();
	e = auth_lookup('i', ip, now, false);
	if (cached && (e == NULL || e->failures == 0)) {
		admit = AUTH_ADMIT_FREE;
	} else if (ip == NULL || ip[0] == '\0') {
		admit = AUTH_ADMIT_CLEAN;
	} else if (e != NULL && e->in_flight >= per_ip) {
		admit = AUTH_ADMIT_BUSY;
	} else if (e == NULL && (e = auth_lookup('i', ip, now, true)) == NULL) {
		admit = AUTH_ADMIT_BUSY;
	} else {
		admit = e->failures > 0 ? AUTH_ADMIT_SUSPECT : AUTH_ADMIT_CLEAN;
		*wait_ms_r = auth_delay((uint64_t)e->failures + e->in_flight);
		e->in_flight++;
	}
	pthread_mutex_unlock(&auth_table_lock);
	return admit;
}

uint64_t auth_throttle_done(const char *ip, const char *user, enum auth_outcome outcome)
{
	struct auth_throttle_entry *e;
	uint32_t failures = 0;
	uint64_t now;

	pthread_mutex_lock(&auth_table_lock);
	now = auth_now();
	e = auth_lookup('i', ip, now, false);
	if (e != NULL && e->in_flight > 0)
		e->in_flight--;
	switch (outcome) {
	case AUTH_OUTCOME_OK:
		failures = auth_failures('u', user, now);
		break;
	case AUTH_OUTCOME_FAILED: {
		uint32_t n;

		failures = auth_record_failure('i', ip, now);
		n = auth_record_failure('u', user, now);
		if (n > failures)
			failures = n;
		break;
	}
	case AUTH_OUTCOME_REFUSED:
		(void)auth_record_failure('i', ip, now);
		break;
	case AUTH_OUTCOME_DROPPED:
	default:
		break;
	}
	pthread_mutex_unlock(&auth_table_lock);
	return auth_delay(failures);
}
