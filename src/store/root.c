/* root - the store of a data folder as one object, and the one shared
 * handle per open account: a locked table of handles by address, each
 * counted, opened by its first caller (others wait for it) and closed by
 * its last, or, with a linger time, by the root's reaper thread that long
 * after its last holder let go (a client that logs in again finds the
 * account open, with its SQLite pages and the views of its mailboxes).
 * See store.h (store_root_open, store_account_get, store_root_linger). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/space-floor.h"
#include "store/store-private.h"

/* Buckets of the table of open accounts: a few per logged-in session at
 * most, found with one hash and a short chain. */
#define STORE_ROOT_BUCKETS 1024

struct store_root {
	char *data_dir;
	struct space_floor space;  /* [limits] min_free_space, for appends */
	pthread_mutex_t mutex;
	pthread_cond_t changed;   /* a handle finished opening or closing */
	bool closed;              /* store_root_close was called: the last put frees it */
	size_t n_accounts;
	/* Lingering (store_root_linger): handles nobody holds stay open
	 * until their `idle_until`; the reaper closes them. */
	unsigned linger;          /* seconds; 0: the last put closes */
	unsigned expunge_horizon; /* seconds; 0: forever (store_root_set_expunge_horizon) */
	bool reaper_running;
	bool reaping;             /* store_root_close closes what lingers: no drop frees the root */
	pthread_t reaper;
	pthread_cond_t reap;      /* wakes the reaper: closing, or a release */
	struct store_account *buckets[STORE_ROOT_BUCKETS];
};

enum store_error store_root_open(const char *data_dir, struct store_root **root_r)
{
	struct store_root *root;

	*root_r = NULL;
	if (data_dir == NULL || *data_dir == '\0')
		return STORE_ERR_INVALID;
	root = calloc(1, sizeof(*root));
	if (root == NULL || (root->data_dir = strdup(data_dir)) == NULL)
		abort();
	space_floor_init(&root->space, "store", data_dir, 0);
	root->expunge_horizon = STORE_EXPUNGE_HORIZON_DEFAULT;
	pthread_mutex_init(&root->mutex, NULL);
	pthread_cond_init(&root->changed, NULL);
	pthread_cond_init(&root->reap, NULL);
	*root_r = root;
	return STORE_OK;
}

static void store_root_free(struct store_root *root)
{
	pthread_cond_destroy(&root->changed);
	pthread_cond_destroy(&root->reap);
	pthread_mutex_destroy(&root->mutex);
	space_floor_deinit(&root->space);
	free(root->data_dir);
	free(root);
}

static void store_root_drop(struct store_root *root, struct store_account *acct);
static size_t store_root_bucket(const char *address);

static time_t store_root_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Close the handles nobody holds whose linger is over (all of them with
 * `all`; with `address`, only that one's). Returns how many. Blocking:
 * the reaper's thread, store_root_close, store_root_release. */
static size_t store_root_reap(struct store_root *root, bool all, const char *address)
{
	time_t now = store_root_now();
	size_t closed = 0;

	for (;;) {
		struct store_account *found = NULL;

		pthread_mutex_lock(&root->mutex);
		for (size_t b = address != NULL ? store_root_bucket(address) : 0;
		     b < STORE_ROOT_BUCKETS && found == NULL; b++) {
			for (struct store_account *a = root->buckets[b]; a != NULL; a = a->next) {
				if (a->refs == 0 && a->state == STORE_ACCOUNT_OPEN &&
				    (all || a->idle_until <= now) &&
				    (address == NULL || strcmp(a->address, address) == 0)) {
					found = a;
					break;
				}
			}
			if (address != NULL)
				break;
		}
		if (found != NULL)
			found->state = STORE_ACCOUNT_CLOSING;
		pthread_mutex_unlock(&root->mutex);
		if (found == NULL)
			return closed;
		store_account_unload(found, true);
		store_root_drop(root, found);
		closed++;
	}
}

/* The reaper: once a second, the handles whose linger is over. */
static void *store_root_reaper(void *arg)
{
	struct store_root *root = arg;

	pthread_mutex_lock(&root->mutex);
	while (!root->closed) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&root->reap, &root->mutex, &until);
		if (root->closed)
			break;
		pthread_mutex_unlock(&root->mutex);
		/* A closed handle's SQLite memory (schema, statements, pages:
		 * ~150 KB) lies between the long-lived allocations of the
		 * sessions (TLS state, views), so the allocator cannot give it
		 * back by itself: idle IMAP sessions on accounts nobody else
		 * uses would keep costing it. A trim walks the heaps (a few ms
		 * at most here, once a second at most). */
		if (store_root_reap(root, false, NULL) > 0)
			malloc_trim(0);
		pthread_mutex_lock(&root->mutex);
	}
	pthread_mutex_unlock(&root->mutex);
	return NULL;
}

enum store_error store_root_linger(struct store_root *root, unsigned seconds)
{
	if (root->reaper_running || seconds == 0)
		return STORE_OK;
	root->linger = seconds;
	if (pthread_create(&root->reaper, NULL, store_root_reaper, root) != 0) {
		root->linger = 0;
		log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
			  "msg=\"cannot start the thread that closes idle accounts\"");
		return STORE_ERR_IO;
	}
	root->reaper_running = true;
	return STORE_OK;
}

bool store_root_release(struct store_root *root, const char *address)
{
	char *canon = store_address_canon(address);
	size_t n;

	if (canon == NULL)
		return false;
	n = store_root_reap(root, true, canon);
	free(canon);
	return n > 0;
}

void store_root_close(struct store_root **rootp)
{
	struct store_root *root = *rootp;
	size_t open;

	if (root == NULL)
		return;
	*rootp = NULL;
	pthread_mutex_lock(&root->mutex);
	root->closed = true;
	root->reaping = true;
	pthread_cond_broadcast(&root->reap);
	pthread_mutex_unlock(&root->mutex);
	if (root->reaper_running)
		pthread_join(root->reaper, NULL);
	/* Nobody gets a handle any more: the lingering ones close now. */
	store_root_reap(root, true, NULL);
	pthread_mutex_lock(&root->mutex);
	root->reaping = false;
	open = root->n_accounts;
	pthread_mutex_unlock(&root->mutex);
	if (open > 0) {
		/* A job still holds them (one the process exits without):
		 * the root stays until their last put, which frees it. */
		log_event(LOG_LEVEL_WARN, "store", NULL, NULL,
			  "msg=\"accounts still open when the store closes\" count=%zu", open);
		return;
	}
	store_root_free(root);
}

/* FNV-1a of the canonical address. */
static size_t store_root_bucket(const char *address)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % STORE_ROOT_BUCKETS;
}

static struct store_account *store_root_find(struct store_root *root, size_t bucket,
					     const char *address)
{
	for (struct store_account *a = root->buckets[bucket]; a != NULL; a = a->next)
		if (strcmp(a->address, address) == 0)
			return a;
	return NULL;
}

struct store_account *store_root_hold(struct store_root *root, const char *address)
{
	struct store_account *acct;

	pthread_mutex_lock(&root->mutex);
	acct = root->closed ? NULL : store_root_find(root, store_root_bucket(address), address);
	if (acct != NULL && acct->state == STORE_ACCOUNT_OPEN)
		acct->refs++;
	else
		acct = NULL;
	pthread_mutex_unlock(&root->mutex);
	return acct;
}

const char *store_root_data_dir(const struct store_root *root)
{
	return root->data_dir;
}

void store_root_set_expunge_horizon(struct store_root *root, unsigned seconds)
{
	root->expunge_horizon = seconds;
}

unsigned store_root_expunge_horizon(const struct store_root *root)
{
	return root->expunge_horizon;
}

void store_root_set_min_free(struct store_root *root, uint64_t min_free)
{
	space_floor_set(&root->space, min_free);
}

bool store_root_has_space(struct store_root *root)
{
	return space_floor_ok(&root->space);
}

/* Take a closed handle out of the table, wake the waiters, and free it;
 * and the root, when that was its last handle and it is closed. */
static void store_root_drop(struct store_root *root, struct store_account *acct)
{
	struct store_account **p;
	bool last;

	pthread_mutex_lock(&root->mutex);
	p = &root->buckets[store_root_bucket(acct->address)];
	while (*p != acct)
		p = &(*p)->next;
	*p = acct->next;
	root->n_accounts--;
	last = root->closed && !root->reaping && root->n_accounts == 0;
	pthread_cond_broadcast(&root->changed);
	pthread_mutex_unlock(&root->mutex);
	store_account_free(acct);
	if (last)
		store_root_free(root);
}

/* store_account_get (create, any id) and store_account_get_again
 * (!create, the handle of incarnation `id` only). */
static enum store_error store_root_get(struct store_root *root, const char *address, bool create,
				       uint64_t id, struct store_account **acct_r)
{
	struct store_account *acct;
	enum store_error err;
	char *canon;
	size_t bucket;

	*acct_r = NULL;
	if (root == NULL || address == NULL || (canon = store_address_canon(address)) == NULL)
		return STORE_ERR_INVALID;
	bucket = store_root_bucket(canon);
	pthread_mutex_lock(&root->mutex);
	if (root->closed) {
		pthread_mutex_unlock(&root->mutex);
		free(canon);
		return STORE_ERR_INVALID;
	}
	/* A handle being opened or closed by another caller is waited for:
	 * two handles of one account never coexist in a root. */
	while ((acct = store_root_find(root, bucket, canon)) != NULL &&
	       acct->state != STORE_ACCOUNT_OPEN)
		pthread_cond_wait(&root->changed, &root->mutex);
	if (acct != NULL) {
		/* An open handle holds the folder's flock, so no removal has
		 * taken it since: it is the account's current incarnation. */
		err = create || acct->id == id ? STORE_OK : STORE_ERR_GONE;
		if (err == STORE_OK)
			acct->refs++;
		pthread_mutex_unlock(&root->mutex);
		free(canon);
		*acct_r = err == STORE_OK ? acct : NULL;
		return err;
	}
	acct = store_account_new(canon);
	acct->root = root;
	acct->refs = 1;
	acct->state = STORE_ACCOUNT_OPENING;
	acct->next = root->buckets[bucket];
	root->buckets[bucket] = acct;
	root->n_accounts++;
	pthread_mutex_unlock(&root->mutex);

	/* blocking, outside the mutex: other accounts are not held up */
	err = store_account_load(acct, root->data_dir, create);
	if (err == STORE_OK && !create && acct->id != id) {
		/* another account under the same address: not to be opened by
		 * a session of the old one; closed as any handle is */
		store_account_unload(acct, true);
		store_root_drop(root, acct);
		return STORE_ERR_GONE;
	}
	if (err != STORE_OK) {
		/* closed before it leaves the table; waiters then try for
		 * themselves */
		store_account_unload(acct, false);
		store_root_drop(root, acct);
		return err;
	}
	pthread_mutex_lock(&root->mutex);
	acct->state = STORE_ACCOUNT_OPEN;
	pthread_cond_broadcast(&root->changed);
	pthread_mutex_unlock(&root->mutex);
	*acct_r = acct;
	return STORE_OK;
}

/* store_root_get, once more after closing what lingers when the open
 * failed. Lingering handles belong to no connection, so the connection
 * limit fitted to the descriptor limit does not count their five
 * descriptors: many accounts that logged out a moment ago can take the
 * last ones (EMFILE), and an account nobody uses would keep out one
 * somebody logs in to. The open's failure does not tell EMFILE from other
 * I/O errors (SQLite keeps errno), so any: what lingers is closed now and
 * the open tried once more (issue 8). */
static enum store_error store_root_get_retried(struct store_root *root, const char *address,
					       bool create, uint64_t id,
					       struct store_account **acct_r)
{
	enum store_error err = store_root_get(root, address, create, id, acct_r);

	if (err == STORE_ERR_IO && root != NULL && root->linger > 0 &&
	    store_root_reap(root, true, NULL) > 0)
		err = store_root_get(root, address, create, id, acct_r);
	return err;
}

enum store_error store_account_get(struct store_root *root, const char *address,
				   struct store_account **acct_r)
{
	return store_root_get_retried(root, address, true, 0, acct_r);
}

enum store_error store_account_get_again(struct store_root *root, const char *address,
					 uint64_t id, struct store_account **acct_r)
{
	return store_root_get_retried(root, address, false, id, acct_r);
}

void store_account_put(struct store_account **acctp)
{
	struct store_account *acct = *acctp;
	struct store_root *root;

	if (acct == NULL)
		return;
	*acctp = NULL;
	root = acct->root;
	pthread_mutex_lock(&root->mutex);
	if (--acct->refs > 0) {
		pthread_mutex_unlock(&root->mutex);
		return;
	}
	if (root->linger > 0 && !root->closed) {
		/* Kept open for the next get; the reaper closes it. */
		acct->idle_until = store_root_now() + (time_t)root->linger;
		pthread_mutex_unlock(&root->mutex);
		return;
	}
	acct->state = STORE_ACCOUNT_CLOSING;
	pthread_mutex_unlock(&root->mutex);
	/* Blocking (SQLite may checkpoint); a get meanwhile waits, then
	 * opens the account afresh. */
	store_account_unload(acct, true);
	store_root_drop(root, acct);
}
