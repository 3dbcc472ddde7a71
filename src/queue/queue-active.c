/* queue-active - the messages whose local recipients are being delivered
 * (each recipient in flight at most once) and, per account, the
 * recipients waiting for a delivery job, so that what arrives for an
 * account while a job of its runs goes into its next job, as one batch. */
#include <stdlib.h>
#include <string.h>

#include "queue/queue-private.h"

#define QUEUE_BUCKETS 1024

struct queue_account {
	char *address;
	struct queue_entry *head, **tail;
	bool running;          /* a job of this account runs */
	bool ready;            /* in the ready list */
	struct queue_account *hnext, *rnext;
};

struct queue_active {
	pthread_mutex_t lock;
	struct queue_item *items[QUEUE_BUCKETS];
	struct queue_account *accounts[QUEUE_BUCKETS];
	/* accounts with waiting entries and no job, in the order they got them */
	struct queue_account *ready_head, **ready_tail;
};

static size_t queue_hash(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h % QUEUE_BUCKETS;
}

struct queue_active *queue_active_new(void)
{
	struct queue_active *a = calloc(1, sizeof(*a));

	if (a == NULL)
		abort();
	pthread_mutex_init(&a->lock, NULL);
	a->ready_tail = &a->ready_head;
	return a;
}

void queue_item_free(struct queue_item *item)
{
	if (item == NULL)
		return;
	free(item->inflight);
	free(item);
}

void queue_active_free(struct queue_active **ap)
{
	struct queue_active *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	queue_active_drop_waiting(a);
	for (size_t i = 0; i < QUEUE_BUCKETS; i++) {
		while (a->items[i] != NULL) {
			struct queue_item *it = a->items[i];

			a->items[i] = it->hnext;
			queue_item_free(it);
		}
		while (a->accounts[i] != NULL) {
			struct queue_account *acc = a->accounts[i];

			a->accounts[i] = acc->hnext;
			free(acc->address);
			free(acc);
		}
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void queue_active_lock(struct queue_active *a)
{
	pthread_mutex_lock(&a->lock);
}

void queue_active_unlock(struct queue_active *a)
{
	pthread_mutex_unlock(&a->lock);
}

struct queue_item *queue_active_find(struct queue_active *a, const char *id)
{
	for (struct queue_item *it = a->items[queue_hash(id)]; it != NULL; it = it->hnext)
		if (strcmp(it->id, id) == 0)
			return it;
	return NULL;
}

static struct queue_account *queue_account_find(struct queue_active *a, const char *address,
						 bool create)
{
	size_t h = queue_hash(address);
	struct queue_account *acc;

	for (acc = a->accounts[h]; acc != NULL; acc = acc->hnext)
		if (strcmp(acc->address, address) == 0)
			return acc;
	if (!create)
		return NULL;
	acc = calloc(1, sizeof(*acc));
	if (acc == NULL || (acc->address = strdup(address)) == NULL)
		abort();
	acc->tail = &acc->head;
	acc->hnext = a->accounts[h];
	a->accounts[h] = acc;
	return acc;
}

static void queue_account_unlink(struct queue_active *a, struct queue_account *acc)
{
	struct queue_account **p = &a->accounts[queue_hash(acc->address)];

	while (*p != acc)
		p = &(*p)->hnext;
	*p = acc->hnext;
	free(acc->address);
	free(acc);
}

static void queue_account_make_ready(struct queue_active *a, struct queue_account *acc)
{
	if (acc->running || acc->ready || acc->head == NULL)
		return;
	acc->ready = true;
	acc->rnext = NULL;
	*a->ready_tail = acc;
	a->ready_tail = &acc->rnext;
}

void queue_active_add(struct queue_active *a, const char *id, uint64_t size, int64_t arrival,
		      unsigned idx, const char *address, unsigned notify)
{
	struct queue_item *it = queue_active_find(a, id);
	struct queue_account *acc;
	struct queue_entry *e;

	if (it == NULL) {
		size_t h = queue_hash(id);

		it = calloc(1, sizeof(*it));
		if (it == NULL)
			abort();
		memcpy(it->id, id, QUEUE_ID_LEN + 1);
		it->size = size;
		it->arrival = arrival;
		it->hnext = a->items[h];
		a->items[h] = it;
	}
	for (size_t i = 0; i < it->n_inflight; i++)
		if (it->inflight[i] == idx)
			return;
	if (it->n_inflight == it->cap) {
		it->cap = it->cap == 0 ? 4 : it->cap * 2;
		it->inflight = realloc(it->inflight, it->cap * sizeof(*it->inflight));
		if (it->inflight == NULL)
			abort();
	}
	it->inflight[it->n_inflight++] = idx;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->address = strdup(address)) == NULL)
		abort();
	e->item = it;
	e->idx = idx;
	e->notify = notify;
	acc = queue_account_find(a, address, true);
	*acc->tail = e;
	acc->tail = &e->next;
	queue_account_make_ready(a, acc);
}

struct queue_entry *queue_active_take(struct queue_active *a, size_t max, const char **address_r)
{
	struct queue_account *acc = a->ready_head;
	struct queue_entry *list, **end;
	size_t n = 0;

	if (acc == NULL)
		return NULL;
	a->ready_head = acc->rnext;
	if (a->ready_head == NULL)
		a->ready_tail = &a->ready_head;
	acc->ready = false;
	acc->running = true;
	list = acc->head;
	end = &acc->head;
	while (*end != NULL && n < max) {
		end = &(*end)->next;
		n++;
	}
	acc->head = *end;
	*end = NULL;
	if (acc->head == NULL)
		acc->tail = &acc->head;
	*address_r = acc->address;
	return list;
}

void queue_active_account_done(struct queue_active *a, const char *address)
{
	struct queue_account *acc = queue_account_find(a, address, false);

	if (acc == NULL)
		return;
	acc->running = false;
	if (acc->head == NULL)
		queue_account_unlink(a, acc);
	else
		queue_account_make_ready(a, acc);
}

static void queue_entry_free(struct queue_entry *e)
{
	free(e->address);
	free(e);
}

struct queue_item *queue_active_entry_done(struct queue_active *a, struct queue_entry *e)
{
	struct queue_item *it = e->item;
	unsigned idx = e->idx;
	struct queue_item **p;

	queue_entry_free(e);
	for (size_t i = 0; i < it->n_inflight; i++) {
		if (it->inflight[i] == idx) {
			it->inflight[i] = it->inflight[--it->n_inflight];
			break;
		}
	}
	if (it->n_inflight > 0)
		return NULL;
	for (p = &a->items[queue_hash(it->id)]; *p != it; p = &(*p)->hnext)
		;
	*p = it->hnext;
	return it;
}

void queue_active_drop_waiting(struct queue_active *a)
{
	for (size_t i = 0; i < QUEUE_BUCKETS; i++) {
		for (struct queue_account **p = &a->accounts[i]; *p != NULL;) {
			struct queue_account *acc = *p;

			while (acc->head != NULL) {
				struct queue_entry *e = acc->head;

				acc->head = e->next;
				queue_item_free(queue_active_entry_done(a, e));
			}
			acc->tail = &acc->head;
			acc->ready = false;
			if (acc->running) {
				p = &acc->hnext;
				continue;
			}
			*p = acc->hnext;
			free(acc->address);
			free(acc);
		}
	}
	a->ready_head = NULL;
	a->ready_tail = &a->ready_head;
}
