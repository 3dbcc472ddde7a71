/* hub - the change hub (hub.h): a locked registry of watches; a change is
 * copied and posted to each matching watch's loop. A watch is reference
 * counted, so a removed watch stays allocated (marked dead, never called)
 * until the callbacks already posted for it have run. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/loop.h"
#include "store/hub.h"

struct hub_watch {
	struct hub_watch *next;
	char *address;
	int64_t mailbox_id;     /* 0: every mailbox */
	struct loop *loop;
	void (*cb)(void *arg, const struct hub_change *change);
	void *arg;
	unsigned refs;          /* the registry's, plus one per posted change */
	bool dead;
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
};
_Static_assert(sizeof(hub_kind_names) / sizeof(hub_kind_names[0]) == HUB_CHANGE__COUNT,
	       "a name for every change kind");

const char *hub_change_kind_name(enum hub_change_kind kind)
{
	return (unsigned)kind < HUB_CHANGE__COUNT ? hub_kind_names[kind] : NULL;
}

static pthread_mutex_t hub_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct hub_watch *hub_watches;

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

struct hub_watch *hub_watch_add(const char *address, int64_t mailbox_id,
				struct loop *loop,
				void (*cb)(void *arg, const struct hub_change *change),
				void *arg)
{
	struct hub_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		abort();
	w->address = hub_strdup(address);
	w->mailbox_id = mailbox_id;
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->refs = 1;
	pthread_mutex_lock(&hub_mutex);
	w->next = hub_watches;
	hub_watches = w;
	pthread_mutex_unlock(&hub_mutex);
	return w;
}

/* Drop a reference; called with hub_mutex held. Returns true when the
 * watch must be freed (after unlocking). */
static bool hub_unref_locked(struct hub_watch *w)
{
	return --w->refs == 0;
}

static void hub_watch_free(struct hub_watch *w)
{
	free(w->address);
	free(w);
}

void hub_watch_remove(struct hub_watch **watchp)
{
	struct hub_watch *w = *watchp;
	bool last;

	if (w == NULL)
		return;
	*watchp = NULL;
	pthread_mutex_lock(&hub_mutex);
	for (struct hub_watch **p = &hub_watches; *p != NULL; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	w->dead = true;
	last = hub_unref_locked(w);
	pthread_mutex_unlock(&hub_mutex);
	if (last)
		hub_watch_free(w);
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
		hub_watch_free(w);
}

static void hub_post_run(void *arg)
{
	struct hub_post *post = arg;

	hub_deliver(post->watch, &post->change);
	free(post->address);
	free(post->mailbox);
	free(post);
}

static bool hub_matches(const struct hub_watch *w, const struct hub_change *change)
{
	if (w->dead || change->address == NULL || strcasecmp(w->address, change->address) != 0)
		return false;
	/* Mailbox-wide changes (create, delete, rename) go to every watch of
	 * the account. */
	return w->mailbox_id == 0 || change->kind == HUB_CHANGE_MAILBOX ||
	       w->mailbox_id == change->mailbox_id;
}

void hub_notify(const struct hub_change *change)
{
	struct hub_watch **sync = NULL;
	size_t n_sync = 0, cap = 0;

	pthread_mutex_lock(&hub_mutex);
	for (struct hub_watch *w = hub_watches; w != NULL; w = w->next) {
		if (!hub_matches(w, change))
			continue;
		w->refs++;
		if (w->loop == NULL) {
			/* Called after the mutex is released, so a callback may
			 * use the hub. */
			if (n_sync == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				sync = realloc(sync, cap * sizeof(*sync));
				if (sync == NULL)
					abort();
			}
			sync[n_sync++] = w;
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
	pthread_mutex_unlock(&hub_mutex);
	for (size_t i = 0; i < n_sync; i++)
		hub_deliver(sync[i], change);
	free(sync);
}
