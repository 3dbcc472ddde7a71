/* queue-handles - the store handles local delivery keeps open between its
 * jobs. Opening an account that nobody holds costs an fsync (its clean
 * marker goes) and closing it two or three more (the marker comes back),
 * on top of the two a delivery batch needs; under a stream of mail for
 * the same accounts that would be most of the disk's work (an open and
 * close cost 2 ms here, a batch of one 0.5 ms). So a handle stays open
 * after its job, for QUEUE_HANDLE_IDLE_MS of no use, a bounded number of
 * them (the least recently used goes first). Not longer: while the
 * queue holds an account, `tern user del` refuses. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "queue/queue-private.h"
#include "store/store.h"

struct queue_handle {
	struct store_account *acct;
	char *address;
	int64_t last_ms;           /* when its last job ended */
	bool in_use;
	struct queue_handle *next;
};

struct queue_handles {
	struct store_root *root;
	pthread_mutex_t lock;
	struct queue_handle *list;   /* most recently used first */
	size_t n, max;
};

static int64_t queue_handles_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct queue_handles *queue_handles_new(struct store_root *root)
{
	struct queue_handles *h = calloc(1, sizeof(*h));
	struct rlimit rl;

	if (h == NULL)
		abort();
	h->root = root;
	pthread_mutex_init(&h->lock, NULL);
	/* the core sizes its connections to the descriptor limit; keep a
	 * small share of it */
	h->max = QUEUE_HANDLES_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 32 < h->max)
		h->max = rl.rlim_cur / 32 > 0 ? (size_t)(rl.rlim_cur / 32) : 1;
	return h;
}

static void queue_handle_close(struct queue_handle *e)
{
	store_account_put(&e->acct);
	free(e->address);
	free(e);
}

void queue_handles_free(struct queue_handles **hp)
{
	struct queue_handles *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	while (h->list != NULL) {
		struct queue_handle *e = h->list;

		h->list = e->next;
		queue_handle_close(e);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

enum store_error queue_handles_get(struct queue_handles *h, const char *address,
				   struct store_account **acct_r)
{
	struct queue_handle **p, *e;
	enum store_error err;

	pthread_mutex_lock(&h->lock);
	for (p = &h->list; *p != NULL; p = &(*p)->next) {
		if (!(*p)->in_use && strcmp((*p)->address, address) == 0) {
			e = *p;
			*p = e->next;
			e->next = h->list;
			h->list = e;
			e->in_use = true;
			*acct_r = e->acct;
			pthread_mutex_unlock(&h->lock);
			return STORE_OK;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if ((err = store_account_get(h->root, address, acct_r)) != STORE_OK)
		return err;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->address = strdup(address)) == NULL)
		abort();
	e->acct = *acct_r;
	e->in_use = true;
	pthread_mutex_lock(&h->lock);
	e->next = h->list;
	h->list = e;
	h->n++;
	pthread_mutex_unlock(&h->lock);
	return STORE_OK;
}

/* Under the lock: take out the handles to close (unused, and idle since
 * before `before`, or beyond the bound counting from the most recent). */
static struct queue_handle *queue_handles_take_old(struct queue_handles *h, int64_t before)
{
	struct queue_handle *old = NULL, **p = &h->list;
	size_t kept = 0;

	while (*p != NULL) {
		struct queue_handle *e = *p;

		if (!e->in_use && (e->last_ms < before || kept >= h->max)) {
			*p = e->next;
			e->next = old;
			old = e;
			h->n--;
			continue;
		}
		kept++;
		p = &e->next;
	}
	return old;
}

static void queue_handles_close_list(struct queue_handle *old)
{
	while (old != NULL) {
		struct queue_handle *e = old;

		old = e->next;
		queue_handle_close(e);
	}
}

void queue_handles_put(struct queue_handles *h, struct store_account *acct)
{
	struct queue_handle *old = NULL;

	pthread_mutex_lock(&h->lock);
	for (struct queue_handle *e = h->list; e != NULL; e = e->next) {
		if (e->acct == acct && e->in_use) {
			e->in_use = false;
			e->last_ms = queue_handles_now();
			break;
		}
	}
	if (h->n > h->max)
		old = queue_handles_take_old(h, INT64_MIN);
	pthread_mutex_unlock(&h->lock);
	queue_handles_close_list(old);
}

bool queue_handles_expire(struct queue_handles *h)
{
	struct queue_handle *old;
	bool left;

	pthread_mutex_lock(&h->lock);
	old = queue_handles_take_old(h, queue_handles_now() - QUEUE_HANDLE_IDLE_MS);
	left = h->n > 0;
	pthread_mutex_unlock(&h->lock);
	queue_handles_close_list(old);
	return left;
}
