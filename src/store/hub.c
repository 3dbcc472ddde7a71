/* hub - the change hub (hub.h): a locked registry of watches, indexed so
 * that a change reaches exactly the watches it concerns without looking
 * at any other: a hash of accounts, each with its watched mailboxes (one
 * group per mailbox id, 0 for the account-wide watches), each group a
 * list of its watches. A change is copied and posted to each matching
 * watch's loop. A watch is reference counted, so a removed watch stays
 * allocated (marked dead, never called) until the callbacks already
 * posted for it have run. */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/loop.h"
#include "store/hub.h"

#define HUB_BUCKETS_MIN 256

struct hub_group;

struct hub_watch {
	struct hub_watch *prev, *next;  /* in its group, while registered */
	struct hub_group *group;        /* NULL once removed */
	struct loop *loop;
	void (*cb)(void *arg, const struct hub_change *change);
	void *arg;
	unsigned refs;          /* the registry's, plus one per posted change */
	bool dead;
};

/* The watches of one mailbox id of one account (0: every mailbox). */
struct hub_group {
	struct hub_group *next;         /* the account's groups */
	struct hub_account *account;
	int64_t mailbox_id;
	struct hub_watch *watches;
};

struct hub_account {
	struct hub_account *next;       /* the bucket's chain */
	size_t hash;
	char *address;                  /* lower case */
	struct hub_group *groups;
};

/* A change on its way to a watch's loop. */
struct hub_post {
	struct hub_watch *watch;
	struct hub_change change;
	char *address;
	char *mailbox;
};

static const char *const hub_kind_names[] = {
	[HUB_CHANGE_APPEND] = "append",
	[HUB_CHANGE_FLAGS] = "flags",
	[HUB_CHANGE_EXPUNGE] = "expunge",
	[HUB_CHANGE_MAILBOX] = "mailbox",
	[HUB_CHANGE_ACCOUNT] = "account",
};
_Static_assert(sizeof(hub_kind_names) / sizeof(hub_kind_names[0]) == HUB_CHANGE__COUNT,
	       "a name for every change kind");

const char *hub_change_kind_name(enum hub_change_kind kind)
{
	return (unsigned)kind < HUB_CHANGE__COUNT ? hub_kind_names[kind] : NULL;
}

static pthread_mutex_t hub_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct hub_account **hub_buckets;
static size_t hub_n_buckets;            /* a power of two, or 0 before the first watch */
static size_t hub_n_accounts;

static char *hub_strdup(const char *s)
{
	char *copy;

	if (s == NULL)
		return NULL;
	copy = strdup(s);
	if (copy == NULL)
		abort();
	return copy;
}

/* FNV-1a of the address in lower case (addresses match in any case). */
static size_t hub_hash(const char *address)
{
	size_t h = (size_t)2166136261u;

	for (const char *c = address; *c != '\0'; c++)
		h = (h ^ (unsigned char)tolower((unsigned char)*c)) * (size_t)16777619u;
	return h;
}

/* Under hub_mutex: twice the buckets when the accounts outnumber them. */
static void hub_grow_locked(void)
{
	size_t n = hub_n_buckets == 0 ? HUB_BUCKETS_MIN : hub_n_buckets * 2;
	struct hub_account **b = calloc(n, sizeof(*b));

	if (b == NULL)
		abort();
	for (size_t i = 0; i < hub_n_buckets; i++) {
		struct hub_account *a = hub_buckets[i];

		while (a != NULL) {
			struct hub_account *next = a->next;

			a->next = b[a->hash & (n - 1)];
			b[a->hash & (n - 1)] = a;
			a = next;
		}
	}
	free(hub_buckets);
	hub_buckets = b;
	hub_n_buckets = n;
}

/* Under hub_mutex: the account's entry, or NULL (made with `create`). */
static struct hub_account *hub_account_find_locked(const char *address, bool create)
{
	size_t h = hub_hash(address);
	struct hub_account *a = NULL;

	if (hub_n_buckets > 0)
		for (a = hub_buckets[h & (hub_n_buckets - 1)]; a != NULL; a = a->next)
			if (a->hash == h && strcasecmp(a->address, address) == 0)
				return a;
	if (!create)
		return NULL;
	if (hub_n_accounts >= hub_n_buckets)
		hub_grow_locked();
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		abort();
	a->hash = h;
	a->address = hub_strdup(address);
	for (char *c = a->address; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	a->next = hub_buckets[h & (hub_n_buckets - 1)];
	hub_buckets[h & (hub_n_buckets - 1)] = a;
	hub_n_accounts++;
	return a;
}

static struct hub_group *hub_group_find_locked(struct hub_account *a, int64_t mailbox_id,
					       bool create)
{
	struct hub_group *g;

	for (g = a->groups; g != NULL; g = g->next)
		if (g->mailbox_id == mailbox_id)
			return g;
	if (!create)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		abort();
	g->account = a;
	g->mailbox_id = mailbox_id;
	g->next = a->groups;
	a->groups = g;
	return g;
}

/* Under hub_mutex: take the watch out of the index, and an emptied group
 * and account with it. */
static void hub_unlink_locked(struct hub_watch *w)
{
	struct hub_group *g = w->group;
	struct hub_account *a;
	struct hub_group **gp;
	struct hub_account **ap;

	if (g == NULL)
		return;
	w->group = NULL;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		g->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	if (g->watches != NULL)
		return;
	a = g->account;
	for (gp = &a->groups; *gp != g; gp = &(*gp)->next)
		;
	*gp = g->next;
	free(g);
	if (a->groups != NULL)
		return;
	for (ap = &hub_buckets[a->hash & (hub_n_buckets - 1)]; *ap != a; ap = &(*ap)->next)
		;
	*ap = a->next;
	hub_n_accounts--;
	free(a->address);
	free(a);
}

struct hub_watch *hub_watch_add(const char *address, int64_t mailbox_id,
				struct loop *loop,
				void (*cb)(void *arg, const struct hub_change *change),
				void *arg)
{
	struct hub_watch *w = calloc(1, sizeof(*w));
	struct hub_group *g;

	if (w == NULL)
		abort();
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->refs = 1;
	pthread_mutex_lock(&hub_mutex);
	g = hub_group_find_locked(hub_account_find_locked(address != NULL ? address : "", true),
				  mailbox_id, true);
	w->group = g;
	w->next = g->watches;
	if (g->watches != NULL)
		g->watches->prev = w;
	g->watches = w;
	pthread_mutex_unlock(&hub_mutex);
	return w;
}

/* Drop a reference; called with hub_mutex held. Returns true when the
 * watch must be freed (after unlocking). */
static bool hub_unref_locked(struct hub_watch *w)
{
	return --w->refs == 0;
}

void hub_watch_remove(struct hub_watch **watchp)
{
	struct hub_watch *w = *watchp;
	bool last;

	if (w == NULL)
		return;
	*watchp = NULL;
	pthread_mutex_lock(&hub_mutex);
	hub_unlink_locked(w);
	w->dead = true;
	last = hub_unref_locked(w);
	pthread_mutex_unlock(&hub_mutex);
	if (last)
		free(w);
}

/* Run one change for one watch, unless the watch was removed meanwhile. */
static void hub_deliver(struct hub_watch *w, const struct hub_change *change)
{
	bool dead, last;

	pthread_mutex_lock(&hub_mutex);
	dead = w->dead;
	pthread_mutex_unlock(&hub_mutex);
	/* A watch is removed on its own loop, so it cannot die between this
	 * check and the call. */
	if (!dead)
		w->cb(w->arg, change);
	pthread_mutex_lock(&hub_mutex);
	last = hub_unref_locked(w);
	pthread_mutex_unlock(&hub_mutex);
	if (last)
		free(w);
}

static void hub_post_run(void *arg)
{
	struct hub_post *post = arg;

	hub_deliver(post->watch, &post->change);
	free(post->address);
	free(post->mailbox);
	free(post);
}

/* Under hub_mutex: the change to every watch of the group; the watches
 * without a loop are gathered in *sync to be called after unlocking, so
 * that a callback may use the hub. */
static size_t hub_post_group_locked(struct hub_group *g, const struct hub_change *change,
				    struct hub_watch ***sync, size_t *n_sync, size_t *cap)
{
	size_t n = 0;

	for (struct hub_watch *w = g->watches; w != NULL; w = w->next, n++) {
		w->refs++;
		if (w->loop == NULL) {
			if (*n_sync == *cap) {
				*cap = *cap == 0 ? 8 : *cap * 2;
				*sync = realloc(*sync, *cap * sizeof(**sync));
				if (*sync == NULL)
					abort();
			}
			(*sync)[(*n_sync)++] = w;
		} else {
			struct hub_post *post = calloc(1, sizeof(*post));

			if (post == NULL)
				abort();
			post->watch = w;
			post->address = hub_strdup(change->address);
			post->mailbox = hub_strdup(change->mailbox);
			post->change = *change;
			post->change.address = post->address;
			post->change.mailbox = post->mailbox;
			loop_post(w->loop, hub_post_run, post);
		}
	}
	return n;
}

size_t hub_notify(const struct hub_change *change)
{
	struct hub_watch **sync = NULL;
	size_t n_sync = 0, cap = 0, n = 0;
	struct hub_account *a;

	if (change->address == NULL)
		return 0;
	pthread_mutex_lock(&hub_mutex);
	a = hub_account_find_locked(change->address, false);
	for (struct hub_group *g = a != NULL ? a->groups : NULL; g != NULL; g = g->next) {
		/* Mailbox-wide changes (create, delete, rename) go to every
		 * watch of the account. */
		if (g->mailbox_id == 0 || change->kind == HUB_CHANGE_MAILBOX ||
		    change->kind == HUB_CHANGE_ACCOUNT ||
		    g->mailbox_id == change->mailbox_id)
			n += hub_post_group_locked(g, change, &sync, &n_sync, &cap);
	}
	pthread_mutex_unlock(&hub_mutex);
	for (size_t i = 0; i < n_sync; i++)
		hub_deliver(sync[i], change);
	free(sync);
	return n;
}
