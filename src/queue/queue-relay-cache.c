/* queue-relay-cache - outbound connections kept open between messages
 * (as Postfix's scache): a session whose message went well, to a server
 * that can take more, waits idle, parked in the client
 * (smtp_client_park), for at most [queue] connection_cache_time; a new
 * group for the same destination takes it before it routes or connects,
 * skipping the DNS. The key is the destination (the transport entry's or
 * smarthost's host and port, or the MX domain: the next hop, which is
 * what a group knows before its DNS), the policy (TLS level and
 * credentials: a connection made for one is never handed to another)
 * and implicit TLS. An idle connection keeps its destination's slot, so
 * it counts against destination_concurrency, and at most
 * QUEUE_RELAY_IDLE_MAX wait in all; a connection carries at most
 * QUEUE_RELAY_REUSE_MAX messages and is reused only within [queue]
 * connection_reuse_time of its connect. One the server closes (EOF, a
 * 421) or whose time runs out is dropped and its slot given back; none
 * of that touches a message. A group that finds no slot while idle
 * connections hold the one it needs (of its destination under another
 * policy, or of any when all [queue] connections are taken) makes one
 * QUIT. Runs on the relay's loop. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "queue/queue-relay.h"

/* One idle connection. */
struct queue_relay_idle {
	struct queue_relay *r;
	struct queue_relay_idle *next;
	struct smtp_client *client;
	char dest[300];                          /* its key, and the slot it holds */
	const struct smtp_client_policy *policy;
	bool implicit_tls;
	struct sockaddr_storage addr;            /* where it goes, for the next group's results */
	char name[254];
};

bool queue_relay_reusable(const struct queue_relay *r, const struct smtp_client *client)
{
	return smtp_client_messages(client) < QUEUE_RELAY_REUSE_MAX &&
	       smtp_client_age_ms(client) < (uint64_t)r->q->cfg->queue.connection_reuse_time * 1000;
}

static void queue_relay_idle_unlink(struct queue_relay_idle *e)
{
	struct queue_relay *r = e->r;

	for (struct queue_relay_idle **p = &r->idle; *p != NULL; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			r->n_idle--;
			return;
		}
	}
}

/* The server closed it, or its time ran out: its slot goes back. */
static void queue_relay_idle_gone(void *arg)
{
	struct queue_relay_idle *e = arg;
	struct queue_relay *r = e->r;

	queue_relay_idle_unlink(e);
	queue_relay_slot_release(r, e->dest);
	free(e);
}

bool queue_relay_cache_put(struct queue_relay_group *g, struct smtp_client *client)
{
	struct queue_relay *r = g->m->r;
	uint64_t left_ms = (uint64_t)r->q->cfg->queue.connection_reuse_time * 1000;
	unsigned seconds = r->q->cfg->queue.connection_cache_time;
	struct queue_relay_idle *e;

	if (r->stopping || seconds == 0 || !g->has_slot || r->n_idle >= QUEUE_RELAY_IDLE_MAX ||
	    !queue_relay_reusable(r, client))
		return false;
	/* not idle past its reuse time */
	left_ms -= smtp_client_age_ms(client);
	if ((uint64_t)seconds * 1000 > left_ms)
		seconds = (unsigned)(left_ms / 1000);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->r = r;
	e->client = client;
	memcpy(e->dest, g->dest, sizeof(e->dest));
	e->policy = g->target.policy;
	e->implicit_tls = g->implicit_tls;
	e->addr = g->addrs[g->addr_next];
	memcpy(e->name, g->names[g->addr_next], sizeof(e->name));
	if (!smtp_client_park(client, seconds, queue_relay_idle_gone, e)) {
		free(e);
		return false;
	}
	/* the slot is the idle connection's now */
	g->has_slot = false;
	e->next = r->idle;
	r->idle = e;
	r->n_idle++;
	return true;
}

bool queue_relay_cache_take(struct queue_relay_group *g)
{
	struct queue_relay *r = g->m->r;

	for (struct queue_relay_idle *e = r->idle; e != NULL; e = e->next) {
		if (strcmp(e->dest, g->dest) != 0 || e->policy != g->policy ||
		    e->implicit_tls != g->implicit_tls)
			continue;
		queue_relay_idle_unlink(e);
		g->has_slot = true;   /* the idle connection's */
		if (!queue_relay_group_reuse(g, e->client, &e->addr, e->name, e->policy))
			smtp_client_quit(e->client);
		free(e);
		return true;
	}
	return false;
}

bool queue_relay_cache_evict(struct queue_relay_group *g)
{
	struct queue_relay *r = g->m->r;
	struct queue_relay_idle *victim = NULL;

	for (struct queue_relay_idle *e = r->idle; e != NULL && victim == NULL; e = e->next)
		if (strcmp(e->dest, g->dest) == 0)
			victim = e;
	/* all slots taken, g's destination below its own limit: the
	 * oldest idle connection of any */
	if (victim == NULL && r->sessions >= r->max_sessions && !queue_relay_dest_full(r, g->dest))
		for (struct queue_relay_idle *e = r->idle; e != NULL; e = e->next)
			victim = e;
	if (victim == NULL)
		return false;
	queue_relay_idle_unlink(victim);
	smtp_client_quit(victim->client);
	queue_relay_slot_put(r, victim->dest);
	free(victim);
	return true;
}

void queue_relay_cache_stop(struct queue_relay *r)
{
	while (r->idle != NULL) {
		struct queue_relay_idle *e = r->idle;

		queue_relay_idle_unlink(e);
		smtp_client_quit(e->client);
		queue_relay_slot_put(r, e->dest);
		free(e);
	}
}
