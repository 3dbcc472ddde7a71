/* imap-view-share - one copy of a selected mailbox's view for the
 * sessions that see it alike (issue 8: sessions of one mailbox share
 * what they can). A session's view (UIDs and flags, imap-selected.h) is
 * handed to a process-wide registry when it is exactly the mailbox at a
 * MODSEQ: after SELECT, and after a sync that left no EXPUNGE owed. A
 * session that finds the same view there (same account, mailbox,
 * UIDVALIDITY, MODSEQ and the very same bytes, compared) drops its own
 * and reads the registry's; the first change it makes to it copies it
 * back (imap_view_private). Ten phones in IDLE on one INBOX of 100,000
 * messages then hold one 500 KB view, not ten. */
#include "imap/imap-selected.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VIEW_SHARE_BUCKETS 4096

struct imap_view_share {
	struct imap_view_share *next;   /* the bucket's chain */
	size_t hash;
	char *address;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint64_t modseq;
	uint32_t n;
	uint32_t *uids;                 /* the registry's; nobody writes them */
	uint8_t *flags;
	unsigned refs;                  /* sessions reading it */
};

static pthread_mutex_t view_share_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct imap_view_share *view_share_buckets[VIEW_SHARE_BUCKETS];

static size_t view_share_hash(const char *address, int64_t id, uint32_t uidvalidity,
			      uint64_t modseq, uint32_t n)
{
	size_t h = (size_t)2166136261u;
	uint64_t parts[4] = { (uint64_t)id, uidvalidity, modseq, n };

	for (const char *c = address; *c != '\0'; c++)
		h = (h ^ (unsigned char)tolower((unsigned char)*c)) * (size_t)16777619u;
	for (size_t i = 0; i < 4; i++)
		for (unsigned b = 0; b < 64; b += 8)
			h = (h ^ (unsigned char)(parts[i] >> b)) * (size_t)16777619u;
	return h;
}

/* Under the mutex: drop a reference; returns the entry when it must be
 * freed (outside the mutex). */
static struct imap_view_share *view_share_unref_locked(struct imap_view_share *e)
{
	struct imap_view_share **p;

	if (--e->refs > 0)
		return NULL;
	for (p = &view_share_buckets[e->hash % VIEW_SHARE_BUCKETS]; *p != e; p = &(*p)->next)
		;
	*p = e->next;
	return e;
}

static void view_share_free(struct imap_view_share *e)
{
	if (e == NULL)
		return;
	free(e->address);
	free(e->uids);
	free(e->flags);
	free(e);
}

void imap_view_share(struct imap_selected *sel, const char *address)
{
	struct store_view *v = &sel->view;
	struct imap_view_share *e, *found = NULL;
	size_t hash;

	if (sel->shared != NULL || v->n == 0 || address == NULL || sel->n_pending > 0)
		return;
	hash = view_share_hash(address, sel->ref.id, sel->ref.uidvalidity, sel->modseq, v->n);
	pthread_mutex_lock(&view_share_mutex);
	for (e = view_share_buckets[hash % VIEW_SHARE_BUCKETS]; e != NULL && found == NULL;
	     e = e->next) {
		if (e->hash == hash && e->mailbox_id == sel->ref.id &&
		    e->uidvalidity == sel->ref.uidvalidity && e->modseq == sel->modseq &&
		    e->n == v->n && strcasecmp(e->address, address) == 0 &&
		    memcmp(e->uids, v->uids, v->n * sizeof(*v->uids)) == 0 &&
		    memcmp(e->flags, v->flags, v->n) == 0)
			found = e;
	}
	if (found != NULL) {
		found->refs++;
		pthread_mutex_unlock(&view_share_mutex);
		free(v->uids);
		free(v->flags);
		v->uids = found->uids;
		v->flags = found->flags;
		sel->shared = found;
		return;
	}
	pthread_mutex_unlock(&view_share_mutex);
	/* None like it: this session's arrays become the registry's. */
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->address = strdup(address)) == NULL)
		abort();
	e->hash = hash;
	e->mailbox_id = sel->ref.id;
	e->uidvalidity = sel->ref.uidvalidity;
	e->modseq = sel->modseq;
	e->n = v->n;
	e->uids = v->uids;
	e->flags = v->flags;
	e->refs = 1;
	pthread_mutex_lock(&view_share_mutex);
	e->next = view_share_buckets[hash % VIEW_SHARE_BUCKETS];
	view_share_buckets[hash % VIEW_SHARE_BUCKETS] = e;
	pthread_mutex_unlock(&view_share_mutex);
	sel->shared = e;
}

void imap_view_private(struct imap_selected *sel)
{
	struct store_view *v = &sel->view;
	struct imap_view_share *e = sel->shared, *gone;
	uint32_t *uids;
	uint8_t *flags;

	if (e == NULL)
		return;
	uids = malloc((v->n > 0 ? v->n : 1) * sizeof(*uids));
	flags = malloc(v->n > 0 ? v->n : 1);
	if (uids == NULL || flags == NULL)
		abort();
	memcpy(uids, v->uids, v->n * sizeof(*uids));
	memcpy(flags, v->flags, v->n);
	v->uids = uids;
	v->flags = flags;
	sel->shared = NULL;
	pthread_mutex_lock(&view_share_mutex);
	gone = view_share_unref_locked(e);
	pthread_mutex_unlock(&view_share_mutex);
	view_share_free(gone);
}

void imap_view_unshare(struct imap_selected *sel)
{
	struct imap_view_share *e = sel->shared, *gone;

	if (e == NULL)
		return;
	sel->shared = NULL;
	sel->view.uids = NULL;
	sel->view.flags = NULL;
	sel->view.n = 0;
	pthread_mutex_lock(&view_share_mutex);
	gone = view_share_unref_locked(e);
	pthread_mutex_unlock(&view_share_mutex);
	view_share_free(gone);
}
