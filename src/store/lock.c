/* lock - the in-process exclusive lock on (account, purpose), e.g. the
 * POP3 maildrop lock of RFC 1939 section 8. One table for the process,
 * guarded by a mutex. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store.h"

struct store_lock {
	struct store_lock *next;
	char *address;
	char *purpose;
};

static pthread_mutex_t store_lock_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct store_lock *store_locks;

enum store_error store_lock(const char *address, const char *purpose, struct store_lock **lock_r)
{
	struct store_lock *lock;

	*lock_r = NULL;
	if (address == NULL || purpose == NULL || address[0] == '\0')
		return STORE_ERR_INVALID;
	pthread_mutex_lock(&store_lock_mutex);
	for (lock = store_locks; lock != NULL; lock = lock->next) {
		/* Addresses are case-insensitive here as in the store. */
		if (strcasecmp(lock->address, address) == 0 && strcmp(lock->purpose, purpose) == 0) {
			pthread_mutex_unlock(&store_lock_mutex);
			return STORE_ERR_LOCKED;
		}
	}
	lock = calloc(1, sizeof(*lock));
	if (lock == NULL || (lock->address = strdup(address)) == NULL ||
	    (lock->purpose = strdup(purpose)) == NULL)
		abort();
	lock->next = store_locks;
	store_locks = lock;
	pthread_mutex_unlock(&store_lock_mutex);
	*lock_r = lock;
	return STORE_OK;
}

void store_unlock(struct store_lock **lockp)
{
	struct store_lock *lock = *lockp;

	if (lock == NULL)
		return;
	*lockp = NULL;
	pthread_mutex_lock(&store_lock_mutex);
	for (struct store_lock **p = &store_locks; *p != NULL; p = &(*p)->next) {
		if (*p == lock) {
			*p = lock->next;
			break;
		}
	}
	pthread_mutex_unlock(&store_lock_mutex);
	free(lock->address);
	free(lock->purpose);
	free(lock);
}
