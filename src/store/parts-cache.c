/* parts-cache - the parts of structure cache entries (structure.c) read
 * lately, kept in memory by the account handle, so that a FETCH of
 * BODYSTRUCTURE or ENVELOPE over a whole mailbox, done again by the same
 * client or another, reads the message rows alone. Keyed by (mailbox id,
 * UIDVALIDITY, UID): what a UID names never changes, so an entry is never
 * stale; store_structure_put forgets the one it replaces. Bounded per
 * handle and for the process; past a bound nothing more is kept (a scan
 * larger than the bound keeps its first part, rather than each scan
 * pushing out what the next one needs). Under the account's mutex. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

struct parts_entry {
	int64_t box_id;
	uint32_t uidvalidity, uid;
	unsigned mask;                          /* the parts held */
	size_t size;                            /* bytes charged for it */
	struct store_blob parts[STORE_STRUCTURE__COUNT];
	unsigned char data[];                   /* the parts' bytes, in turn */
};

/* A slot holds its key too, so that probing reads the table alone. */
struct parts_slot {
	int64_t box_id;
	uint32_t uid;
	struct parts_entry *e;                  /* NULL: free */
};

struct store_parts_cache {
	struct parts_slot *slots;               /* open addressing */
	size_t cap, n;                          /* cap: a power of two */
	size_t bytes;
};

/* What every handle's cache holds together. */
static atomic_size_t parts_cache_total;

/* A mailbox's UIDs in a row take slots in a row: a FETCH 1:* reads the
 * table in order. */
static size_t parts_hash(int64_t box_id, uint32_t uid)
{
	return (size_t)(((uint64_t)box_id * 0x9e3779b97f4a7c15ull) >> 40) + uid;
}

/* The slot of (box, uid): its entry, or the free slot it would take. */
static struct parts_slot *parts_slot(struct store_parts_cache *c, int64_t box_id, uint32_t uid)
{
	size_t i = parts_hash(box_id, uid) & (c->cap - 1);

	while (c->slots[i].e != NULL && (c->slots[i].uid != uid || c->slots[i].box_id != box_id))
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

static void parts_entry_free(struct store_parts_cache *c, struct parts_entry *e)
{
	c->bytes -= e->size;
	atomic_fetch_sub(&parts_cache_total, e->size);
	free(e);
}

void store_parts_cache_free(struct store_parts_cache **cp)
{
	struct store_parts_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].e != NULL)
			parts_entry_free(c, c->slots[i].e);
	free(c->slots);
	free(c);
	*cp = NULL;
}

bool store_parts_cache_get(struct store_parts_cache *c, int64_t box_id, uint32_t uidvalidity,
			   uint32_t uid, unsigned mask, struct store_blob parts_r[STORE_STRUCTURE__COUNT])
{
	struct parts_entry *e;

	if (c == NULL || c->n == 0)
		return false;
	e = parts_slot(c, box_id, uid)->e;
	if (e == NULL || e->uidvalidity != uidvalidity || (e->mask & mask) != mask)
		return false;
	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++)
		parts_r[p] = (mask & (1u << p)) ? e->parts[p] : (struct store_blob){ NULL, 0 };
	return true;
}

/* Twice the slots, the entries placed again. */
static void parts_grow(struct store_parts_cache *c)
{
	struct parts_slot *old = c->slots;
	size_t old_cap = c->cap;

	c->cap = old_cap == 0 ? 256 : old_cap * 2;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (c->slots == NULL)
		abort();
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].e != NULL)
			*parts_slot(c, old[i].box_id, old[i].uid) = old[i];
	free(old);
}

/* Remove the entry at slot i, moving up the ones of its run that would
 * no longer be found (linear probing). */
static void parts_remove_at(struct store_parts_cache *c, size_t i)
{
	size_t j = i;

	parts_entry_free(c, c->slots[i].e);
	c->slots[i].e = NULL;
	c->n--;
	for (;;) {
		size_t home;

		j = (j + 1) & (c->cap - 1);
		if (c->slots[j].e == NULL)
			return;
		home = parts_hash(c->slots[j].box_id, c->slots[j].uid) & (c->cap - 1);
		/* it stays unless its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		c->slots[i] = c->slots[j];
		c->slots[j].e = NULL;
		i = j;
	}
}

void store_parts_cache_forget(struct store_parts_cache *c, int64_t box_id, uint32_t uid)
{
	struct parts_slot *slot;

	if (c == NULL || c->n == 0)
		return;
	slot = parts_slot(c, box_id, uid);
	if (slot->e != NULL)
		parts_remove_at(c, (size_t)(slot - c->slots));
}

void store_parts_cache_put(struct store_parts_cache **cp, int64_t box_id, uint32_t uidvalidity,
			   uint32_t uid, unsigned mask,
			   const struct store_blob parts[STORE_STRUCTURE__COUNT])
{
	struct store_parts_cache *c = *cp;
	struct parts_entry *e;
	size_t size = sizeof(*e), off = 0;

	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++)
		if (mask & (1u << p))
			size += parts[p].len;
	if (c == NULL) {
		if ((c = *cp = calloc(1, sizeof(*c))) == NULL)
			abort();
	}
	store_parts_cache_forget(c, box_id, uid);
	if (c->bytes + size > STORE_PARTS_CACHE_MAX)
		return;
	if (atomic_fetch_add(&parts_cache_total, size) + size > STORE_PARTS_CACHE_TOTAL) {
		atomic_fetch_sub(&parts_cache_total, size);
		return;
	}
	if ((e = malloc(size)) == NULL)
		abort();
	*e = (struct parts_entry){ .box_id = box_id, .uidvalidity = uidvalidity, .uid = uid,
				   .mask = mask, .size = size };
	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++) {
		if (!(mask & (1u << p)))
			continue;
		if (parts[p].len > 0)
			memcpy(e->data + off, parts[p].data, parts[p].len);
		e->parts[p] = (struct store_blob){ e->data + off, parts[p].len };
		off += parts[p].len;
	}
	c->bytes += size;
	/* at most half full */
	if (2 * (c->n + 1) > c->cap)
		parts_grow(c);
	*parts_slot(c, box_id, uid) = (struct parts_slot){ .box_id = box_id, .uid = uid, .e = e };
	c->n++;
}
