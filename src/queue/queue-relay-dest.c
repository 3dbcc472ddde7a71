/* queue-relay-dest - one message's recipients of one domain on their way
 * out: the route (the transport table, else the smarthost, else the
 * domain's MX records, RFC 5321 5.1, ordered by smtp/smtp-mx.h), the
 * address lookups of each exchanger in turn (up to QUEUE_RELAY_ADDRS_MAX
 * addresses), then an SMTP client session per address until the
 * recipients have their results: the next address after a connection
 * failure, a refused greeting or EHLO (SMTP_CLIENT_NEXT_MX), the same
 * address without TLS after a failed STARTTLS under "may"
 * (SMTP_CLIENT_NEXT_PLAIN). Runs on the relay's loop. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "queue/queue-relay.h"

static void queue_relay_dest_resolve(struct queue_relay_group *g);

/* Every recipient still without a final result gets this one. */
static void queue_relay_dest_fail(struct queue_relay_group *g, unsigned code, const char *status,
				  const char *error)
{
	for (size_t i = 0; i < g->n; i++) {
		struct queue_relay_rcpt *rc = &g->m->rcpts[g->which[i]];

		if (rc->tried && rc->state != QUEUE_STATE_DEFERRED)
			continue;
		rc->tried = true;
		rc->remote = false;
		rc->state = code >= 500 ? QUEUE_STATE_FAILED : QUEUE_STATE_DEFERRED;
		snprintf(rc->status, sizeof(rc->status), "%s", status);
		snprintf(rc->error, sizeof(rc->error), "%s", error);
	}
	queue_relay_group_done(g);
}

static void queue_relay_dest_no_file(void *arg)
{
	queue_relay_dest_fail(arg, 451, "4.3.0", "cannot open the message file");
}

/* The message's file did not open (logged): its recipients are deferred,
 * from the loop's next turn, so that a slot given back to the next
 * parked group that fails too is no recursion over the whole list. */
static void queue_relay_dest_fail_later(struct queue_relay_group *g)
{
	loop_post(g->m->r->loop, queue_relay_dest_no_file, g);
}

static size_t queue_relay_dest_pending(const struct queue_relay_group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++) {
		const struct queue_relay_rcpt *rc = &g->m->rcpts[g->which[i]];

		n += !rc->tried || rc->state == QUEUE_STATE_DEFERRED;
	}
	return n;
}

static const char *queue_relay_dest_addr_text(const struct sockaddr_storage *ss, char *out,
					      size_t outsize)
{
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (inet_ntop(ss->ss_family, a, out, (socklen_t)outsize) == NULL)
		snprintf(out, outsize, "?");
	return out;
}

static void queue_relay_dest_rcpt_done(void *arg, size_t index,
				       const struct smtp_client_result *res)
{
	struct queue_relay_group *g = arg;
	struct queue_relay_rcpt *rc = &g->m->rcpts[g->maps[g->n_tries - 1][index]];
	char addr[INET6_ADDRSTRLEN];

	rc->tried = true;
	rc->remote = res->remote;
	rc->relayed = res->dsn_relayed;
	rc->reuse = g->reuse;
	rc->state = res->status == SMTP_CLIENT_DELIVERED ? QUEUE_STATE_DELIVERED
		    : res->status == SMTP_CLIENT_BOUNCED ? QUEUE_STATE_FAILED
							 : QUEUE_STATE_DEFERRED;
	snprintf(rc->status, sizeof(rc->status), "%s",
		 res->enhanced != NULL ? res->enhanced : "4.0.0");
	/* the server's reply as a DSN's Diagnostic-Code wants it ("550 5.1.1
	 * ...", RFC 3464 2.3.6); tern's own reason with the server it tried */
	if (res->remote)
		snprintf(rc->error, sizeof(rc->error), "%u %s %s", res->code, rc->status,
			 res->text != NULL ? res->text : "");
	else
		snprintf(rc->error, sizeof(rc->error), "%s[%s]: %s", g->names[g->addr_next],
			 queue_relay_dest_addr_text(&g->addrs[g->addr_next], addr, sizeof(addr)),
			 res->text != NULL ? res->text : "failed");
	snprintf(rc->remote_mta, sizeof(rc->remote_mta), "%s", g->names[g->addr_next]);
}

static void queue_relay_dest_try(struct queue_relay_group *g);
static void queue_relay_dest_prepare(struct queue_relay_group *g);
static void queue_relay_dest_begin(struct queue_relay_group *g);

bool queue_relay_group_reuse(struct queue_relay_group *g, struct smtp_client *client,
			     const struct sockaddr_storage *addr, const char *name,
			     const struct smtp_client_policy *policy)
{
	if (!queue_relay_msg_open(g)) {
		queue_relay_dest_fail_later(g);
		return false;
	}
	g->reuse = smtp_client_messages(client);
	g->addrs[0] = *addr;
	snprintf(g->names[0], sizeof(g->names[0]), "%s", name);
	g->n_addrs = 1;
	g->addr_next = 0;
	/* a connection made without TLS after a failed handshake ("may") */
	g->plain = policy != g->policy;
	queue_relay_dest_prepare(g);
	if (!smtp_client_next(client, &g->msg)) {
		/* the connection cannot: its own, routed as usual */
		g->reuse = 0;
		g->n_addrs = 0;
		g->plain = false;
		queue_relay_dest_begin(g);
	}
	return true;
}

/* g is over on a connection that can carry more. The group that would
 * get g's slot (an older group of another destination first, so that
 * none waits behind another's backlog) takes the connection too when it
 * is of g's destination and policy; else it gets the slot from
 * queue_relay_group_done, and the connection QUITs. Nobody waiting for
 * the slot: the connection goes idle in the cache, with it. */
static void queue_relay_dest_reuse(struct queue_relay_group *g, struct smtp_client *client)
{
	struct queue_relay *r = g->m->r;
	struct queue_relay_group *n = queue_relay_parked_next(r, g->dest);

	if (n == NULL) {
		(void)queue_relay_cache_put(g, client);
		return;
	}
	if (strcmp(n->dest, g->dest) != 0 || n->policy != g->policy ||
	    n->implicit_tls != g->implicit_tls || !g->has_slot || !queue_relay_reusable(r, client))
		return;
	queue_relay_unpark(r, n);
	g->has_slot = false;
	n->has_slot = true;
	(void)queue_relay_group_reuse(n, client, &g->addrs[g->addr_next], g->names[g->addr_next],
				      g->target.policy);
}

static void queue_relay_dest_session_done(void *arg, struct smtp_client *client,
					  enum smtp_client_next next)
{
	struct queue_relay_group *g = arg;

	if (!g->m->r->stopping && queue_relay_dest_pending(g) > 0) {
		if (next == SMTP_CLIENT_NEXT_PLAIN && !g->plain) {
			g->plain = true;
			queue_relay_dest_try(g);
			return;
		}
		if (next == SMTP_CLIENT_NEXT_MX && g->addr_next + 1 < g->n_addrs) {
			g->addr_next++;
			g->plain = false;
			queue_relay_dest_try(g);
			return;
		}
		if (next == SMTP_CLIENT_NEXT_FRESH) {
			/* the server let the reused connection go: no try
			 * was made, so a new connection now, routed anew */
			g->reuse = 0;
			g->n_addrs = g->host_next = g->hosts.count = 0;
			g->plain = false;
			queue_relay_dest_begin(g);
			return;
		}
	}
	if (!g->m->r->stopping && next == SMTP_CLIENT_NEXT_NONE)
		queue_relay_dest_reuse(g, client);
	queue_relay_group_done(g);
}

/* One session to addrs[addr_next] with the recipients still pending; a
 * try's recipient list lives as long as the message (the session may
 * look at it until its done has returned). */
static void queue_relay_dest_prepare(struct queue_relay_group *g)
{
	struct queue_relay_msg *m = g->m;
	size_t n = queue_relay_dest_pending(g), k = 0;
	struct smtp_client_rcpt *rcpts = calloc(n, sizeof(*rcpts));
	size_t *map = calloc(n, sizeof(*map));

	g->tries = realloc(g->tries, (g->n_tries + 1) * sizeof(*g->tries));
	g->maps = realloc(g->maps, (g->n_tries + 1) * sizeof(*g->maps));
	if (rcpts == NULL || map == NULL || g->tries == NULL || g->maps == NULL)
		abort();
	g->tries[g->n_tries] = rcpts;
	g->maps[g->n_tries] = map;
	g->n_tries++;
	for (size_t i = 0; i < g->n; i++) {
		struct queue_relay_rcpt *rc = &m->rcpts[g->which[i]];
		const struct queue_rcpt *er = &m->rec.env.rcpts[rc->idx];

		if (rc->tried && rc->state != QUEUE_STATE_DEFERRED)
			continue;
		rcpts[k] = (struct smtp_client_rcpt){
			.address = er->address,
			.notify = er->notify,
			.orcpt = er->orcpt,
		};
		map[k++] = g->which[i];
	}
	memset(&g->target, 0, sizeof(g->target));
	g->target.remote = g->addrs[g->addr_next];
	g->target.source = g->target.remote.ss_family == AF_INET ? m->r->source4 : m->r->source6;
	snprintf(g->target.server_name, sizeof(g->target.server_name), "%s",
		 g->names[g->addr_next]);
	g->target.implicit_tls = g->implicit_tls;
	g->target.policy = g->plain ? &m->r->policies[SMTP_CLIENT_TLS_NONE] : g->policy;
	g->msg = (struct smtp_client_message){
		.sender = m->sender,
		.rcpts = rcpts,
		.n_rcpts = k,
		.envid = m->rec.env.envid,
		.ret = m->rec.env.ret,
		.smtputf8 = m->rec.env.smtputf8,
		.eightbit = m->rec.env.eightbit,
		.fd = m->fd,
		.offset = m->offset,
		.length = m->length,
		.rcpt_done = queue_relay_dest_rcpt_done,
		.done = queue_relay_dest_session_done,
		.arg = g,
	};
}

void queue_relay_dest_connect(struct queue_relay_group *g)
{
	smtp_client_start(g->m->r->loop, &g->target, &g->msg);
}

/* A try on a new connection; a retry's waits while the one it follows
 * is still closing, if that one would make too many sockets. */
static void queue_relay_dest_try(struct queue_relay_group *g)
{
	queue_relay_dest_prepare(g);
	if (queue_relay_conn_open(g))
		queue_relay_dest_connect(g);
}

static void queue_relay_dest_add(struct queue_relay_group *g, const struct dns_addr *a,
				 const char *name)
{
	struct sockaddr_storage *ss;

	if (g->n_addrs == QUEUE_RELAY_ADDRS_MAX)
		return;
	ss = &g->addrs[g->n_addrs];
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(g->port);
		sin->sin_addr = a->u.v4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(g->port);
		sin6->sin6_addr = a->u.v6;
	}
	snprintf(g->names[g->n_addrs], sizeof(g->names[0]), "%s", name);
	g->n_addrs++;
}

static enum address_preference queue_relay_dest_pref(const struct queue_relay_group *g)
{
	enum address_preference pref = ADDRESS_PREFER_IPV6;

	(void)address_preference_parse(g->m->r->q->cfg->smtp.address_preference, &pref);
	return pref;
}

static void queue_relay_dest_addr_answer(void *arg, const struct dns_answer *answer)
{
	struct queue_relay_group *g = arg;

	for (size_t i = 0; i < answer->count && g->n_pending < DNS_ANSWER_MAX * 2; i++)
		g->pending[g->n_pending++] = answer->u.addr[i];
	if (g->asking == DNS_TYPE_AAAA &&
	    smtp_mx_wants(queue_relay_dest_pref(g), AF_INET)) {
		g->asking = DNS_TYPE_A;
		(void)dns_lookup(g->m->r->loop, DNS_TYPE_A, g->hosts.hosts[g->host_next].name,
				      queue_relay_dest_addr_answer, g);
		return;
	}
	g->n_pending = smtp_mx_order_addresses(g->pending, g->n_pending, queue_relay_dest_pref(g));
	for (size_t i = 0; i < g->n_pending; i++)
		queue_relay_dest_add(g, &g->pending[i], g->hosts.hosts[g->host_next].name);
	g->host_next++;
	queue_relay_dest_resolve(g);
}

/* The next exchanger's addresses, or, once there are enough or no more
 * exchangers, the first try. */
static void queue_relay_dest_resolve(struct queue_relay_group *g)
{
	if (g->m->r->stopping) {
		queue_relay_dest_fail(g, 451, "4.3.2", "the server stopped");
		return;
	}
	if (g->host_next < g->hosts.count && g->n_addrs < QUEUE_RELAY_ADDRS_MAX) {
		enum address_preference pref = queue_relay_dest_pref(g);

		g->n_pending = 0;
		g->asking = smtp_mx_wants(pref, AF_INET6) ? DNS_TYPE_AAAA : DNS_TYPE_A;
		(void)dns_lookup(g->m->r->loop, g->asking, g->hosts.hosts[g->host_next].name,
				      queue_relay_dest_addr_answer, g);
		return;
	}
	if (g->n_addrs == 0) {
		queue_relay_dest_fail(g, 451, "4.4.3", "no address found for the mail exchangers");
		return;
	}
	g->addr_next = 0;
	queue_relay_dest_try(g);
}

static void queue_relay_dest_mx_answer(void *arg, const struct dns_answer *answer)
{
	struct queue_relay_group *g = arg;
	const char *self[] = { g->m->r->q->cfg->server.hostname };
	enum smtp_mx_result res;
	const struct smtp_status *st;

	res = smtp_mx_order(g->domain, answer, self, 1, NULL, &g->hosts);
	if (res != SMTP_MX_OK) {
		st = smtp_mx_result_status(res);
		queue_relay_dest_fail(g, st->code, st->enhanced, st->text);
		return;
	}
	g->host_next = 0;
	queue_relay_dest_resolve(g);
}

/* A host given by the operator: an address as it is, else its lookups. */
static void queue_relay_dest_host(struct queue_relay_group *g, const struct queue_route *route)
{
	struct dns_addr a = { 0 };

	g->port = route->port;
	if (inet_pton(AF_INET, route->host, &a.u.v4) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, route->host, &a.u.v6) == 1) {
		a.family = AF_INET6;
	} else {
		g->hosts.count = 1;
		snprintf(g->hosts.hosts[0].name, sizeof(g->hosts.hosts[0].name), "%s", route->host);
		queue_relay_dest_resolve(g);
		return;
	}
	queue_relay_dest_add(g, &a, route->host);
	queue_relay_dest_resolve(g);
}

/* Route the group (it holds its slot). */
static void queue_relay_dest_begin(struct queue_relay_group *g)
{
	if (g->route != NULL)
		queue_relay_dest_host(g, g->route);
	else
		(void)dns_lookup(g->m->r->loop, DNS_TYPE_MX, g->domain,
				      queue_relay_dest_mx_answer, g);
}

void queue_relay_group_unpark(struct queue_relay_group *g)
{
	struct queue_relay *r = g->m->r;

	/* an idle connection to the destination first: no DNS, no connect */
	if (queue_relay_cache_take(g))
		return;
	/* at a limit with idle connections that hold the slot g needs (of
	 * another policy, or of another destination when all are taken):
	 * one goes */
	if (!queue_relay_slot_take(r, g->dest) &&
	    !(queue_relay_cache_evict(g) && queue_relay_slot_take(r, g->dest))) {
		queue_relay_park(r, g);
		return;
	}
	g->has_slot = true;
	if (!queue_relay_msg_open(g)) {
		queue_relay_dest_fail_later(g);
		return;
	}
	queue_relay_dest_begin(g);
}

const struct queue_route *queue_relay_dest_route(const struct queue_relay *r, const char *domain,
						 char *dest, size_t size)
{
	const struct queue_route *route = queue_route_find(r->routes, r->n_routes, domain);

	if (route == NULL && r->has_relayhost)
		route = &r->relayhost;
	if (route != NULL)
		snprintf(dest, size, "%s:%u", route->host, route->port);
	else
		snprintf(dest, size, "mx:%s", domain);
	return route;
}

void queue_relay_group_start(struct queue_relay_group *g)
{
	struct queue_relay *r = g->m->r;
	const struct queue_route *route = queue_relay_dest_route(r, g->domain, g->dest,
								 sizeof(g->dest));

	if (route == &r->relayhost) {
		g->policy = &r->relay_policy;
		g->implicit_tls = r->q->cfg->queue.relayhost_implicit_tls;
	} else if (route != NULL) {
		g->policy = &r->policies[route->tls];
	} else {
		g->port = 25;
		g->policy = &r->policies[SMTP_CLIENT_TLS_MAY];
	}
	g->route = route;
	queue_relay_count_group(r, g->dest);
	/* an idle connection; else, at the destination's limit, it waits
	 * for a slot, or a connection another group is done with
	 * (queue_relay_dest_reuse) */
	queue_relay_group_unpark(g);
}
