/* queue-relay - what the two halves of outbound delivery share: the
 * relay (queue-relay.c: finding due remote recipients in queue.db, the
 * messages in flight, recording results, the retry timer) and one
 * message's recipients of one domain on their way out
 * (queue-relay-dest.c: the route, the DNS, the SMTP client sessions, the
 * next address), and the idle connections kept between messages
 * (queue-relay-cache.c). Everything but queue_relay_kick runs on the relay's
 * loop (one of the core's I/O loops). Nothing outside src/queue
 * includes it. */
#ifndef TERN_QUEUE_QUEUE_RELAY_H
#define TERN_QUEUE_QUEUE_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/dns.h"
#include "queue/queue-private.h"
#include "queue/queue-route.h"
#include "smtp/smtp-client.h"
#include "smtp/smtp-mx.h"

/* Addresses one destination is tried at, at most, per message. */
#define QUEUE_RELAY_ADDRS_MAX 16
/* Idle connections kept in all (queue-relay-cache.c; ~20 KiB each with
 * TLS), and the messages one connection carries at most (as Postfix's
 * smtp_connection_reuse_count_limit). */
#define QUEUE_RELAY_IDLE_MAX 200
#define QUEUE_RELAY_REUSE_MAX 100
/* Groups of one destination in flight beyond its [queue]
 * destination_concurrency (waiting for a slot), at most: a scan leaves
 * the rest due in queue.db, so that a slow destination's backlog neither
 * fills the relay's memory nor holds the way for the others' mail. */
#define QUEUE_RELAY_DEST_WAITING 100

/* One due recipient of a message and what became of its try. */
struct queue_relay_rcpt {
	unsigned idx;
	const char *address;         /* the envelope's */
	bool tried;                  /* it has a result to record */
	enum queue_state state;      /* DELIVERED, DEFERRED or FAILED */
	bool remote;                 /* the result is a server's reply */
	bool relayed;                /* delivered to a server without DSN */
	unsigned reuse;              /* the messages its connection carried before (0: a new one) */
	char status[16];             /* RFC 3463 */
	char error[SMTP_CLIENT_TEXT_MAX + 64];
	char remote_mta[256];
};

struct queue_relay_msg;
struct queue_relay_idle;

/* The recipients of one message for one domain. */
struct queue_relay_group {
	struct queue_relay_msg *m;
	char domain[256];
	char dest[300];              /* the destination's key, for its connection count */
	bool has_slot;               /* holds one of the destination's slots (and one of all) */
	bool holds_file;             /* keeps the message's file open (queue_relay_msg_open) */
	unsigned reuse;              /* over a connection that carried this many messages before */
	/* waiting for a slot (queue_relay.parked), or, with one, for a
	 * socket (queue_relay.conn_waiting) */
	struct queue_relay_group *park_next;
	size_t *which;               /* indexes into m->rcpts */
	size_t n;
	/* the route */
	const struct queue_route *route;  /* the operator's host, or NULL for MX */
	const struct smtp_client_policy *policy;
	bool implicit_tls;
	uint16_t port;
	struct smtp_mx_list hosts;   /* the exchangers (or the one host) in order */
	size_t host_next;
	enum dns_type asking;
	struct dns_addr pending[DNS_ANSWER_MAX * 2];
	size_t n_pending;
	/* the addresses found, with their host's name */
	struct sockaddr_storage addrs[QUEUE_RELAY_ADDRS_MAX];
	char names[QUEUE_RELAY_ADDRS_MAX][254];
	size_t n_addrs, addr_next;
	bool plain;                  /* this address again without TLS (policy "may") */
	/* the try under way: its recipients (freed with the message) */
	struct smtp_client_target target;
	struct smtp_client_message msg;
	struct smtp_client_rcpt **tries;
	size_t **maps;
	size_t n_tries;
};

/* A message with due remote recipients, in flight. */
struct queue_relay_msg {
	struct queue_relay *r;
	struct queue_record rec;
	int fd;                      /* open while a group has a session: see holders */
	unsigned holders;            /* groups holding fd open */
	uint64_t offset, length;     /* the message past its Return-Path line */
	char sender[MAIL_SRS_ADDRESS_MAX + 1];
	struct queue_relay_rcpt *rcpts;
	size_t n_rcpts;
	struct queue_relay_group *groups;
	size_t n_groups, groups_left;
	int64_t next_try;            /* the recording's earliest retry */
	struct queue_relay_msg *next;
};

struct queue_relay {
	struct queue *q;
	struct loop *loop;
	struct loop_timer *timer;
	int64_t timer_at;            /* what the timer is set for (seconds since the epoch) */
	struct loop_stop_hook *stop_hook;
	pthread_mutex_t lock;        /* stopping and kick_since, for queue_relay_kick */
	bool stopping;
	int64_t kick_since;          /* the kicks' oldest arrival (INT64_MAX: none) */
	bool scanning, scan_again;
	int64_t scan_since;          /* the next scan's oldest arrival (0: all; INT64_MAX: none) */
	struct queue_route *routes;  /* [queue] transport */
	size_t n_routes;
	struct queue_route relayhost;
	bool has_relayhost;
	struct smtp_client_policy policies[SMTP_CLIENT_TLS__COUNT];
	struct smtp_client_policy relay_policy;
	/* [queue] source_address per family; AF_UNSPEC: the kernel's choice */
	struct sockaddr_storage source4, source6;
	struct queue_relay_msg *inflight;
	size_t n_inflight;
	bool starved;                /* the last scan left mail due for QUEUE_RELAY_INFLIGHT_MAX */
	bool look_again;             /* it left recipients a message in flight did not take */
	struct queue_relay_group *parked;  /* groups waiting for a slot, oldest first */
	unsigned sessions;           /* slots taken, of all destinations */
	/* connections open (from smtp_client_start to its closed): a
	 * session whose slot went on may still be saying QUIT, and a new
	 * one waits for it, so that [queue] connections bounds sockets */
	unsigned conns;
	/* groups with a slot whose next connection (a retry's: on a new
	 * connection, the next address, without TLS) waits for one to
	 * close, oldest first */
	struct queue_relay_group *conn_waiting;
	unsigned max_sessions;       /* [queue] connections, fitted to the descriptors */
	struct queue_relay_idle *idle;     /* idle connections (queue-relay-cache.c), newest first */
	size_t n_idle;
	/* the destinations with groups in flight or connections open (an
	 * entry goes when all its figures are 0) */
	struct queue_relay_count {
		char dest[300];
		unsigned n;              /* connections (slots taken) */
		unsigned open;           /* connections open (one may still be closing) */
		unsigned groups;         /* groups in flight, with a slot or waiting */
		bool starved;            /* the last scan left mail due for QUEUE_RELAY_DEST_WAITING */
	} *counts;
	size_t n_counts;
};

/* queue-relay-dest.c: the route of a domain's mail (NULL: its MX
 * records) and the key of its destination in dest[300]; any thread
 * (the routes do not change once the relay started). */
const struct queue_route *queue_relay_dest_route(const struct queue_relay *r, const char *domain,
						 char *dest, size_t size);
/* Send a group on its way (it waits, parked, while
 * its destination is at [queue] destination_concurrency or all are at
 * [queue] connections); when it is over, it calls queue_relay_group_done.
 * A group that has a slot opens its message's file first; when it cannot,
 * its recipients are deferred. */
void queue_relay_group_start(struct queue_relay_group *g);
/* A parked group can have a slot again: route and send it. */
void queue_relay_group_unpark(struct queue_relay_group *g);
/* g holds a slot: deliver it over `client`, an idle or just finished
 * connection to `addr` (the exchanger `name`) made with `policy`; routed
 * as usual when the connection cannot take it after all. false, the
 * client not touched, when g's message file does not open (g's
 * recipients are then deferred). */
bool queue_relay_group_reuse(struct queue_relay_group *g, struct smtp_client *client,
			     const struct sockaddr_storage *addr, const char *name,
			     const struct smtp_client_policy *policy);
/* queue-relay.c */
void queue_relay_group_done(struct queue_relay_group *g);
/* Take a connection slot of the destination (false: it is at [queue]
 * destination_concurrency, or all are at [queue] connections, slots or
 * open connections), give it
 * back; release: give it back and hand it to the oldest parked group
 * that can take it. */
bool queue_relay_slot_take(struct queue_relay *r, const char *dest);
void queue_relay_slot_put(struct queue_relay *r, const char *dest);
void queue_relay_slot_release(struct queue_relay *r, const char *dest);
/* A group with a slot opens a connection: false when that would make
 * more open than [queue] connections or its destination's
 * destination_concurrency (its own previous one, or one whose slot went
 * on, still closing): it then waits, and queue_relay_dest_connect is
 * called when one closes. */
bool queue_relay_conn_open(struct queue_relay_group *g);
/* smtp_client_target.closed of every connection (arg: what
 * queue_relay_conn_open made). */
void queue_relay_conn_closed(void *arg);
/* queue-relay-dest.c: connect g (it has its try prepared, and a socket:
 * queue_relay_conn_open). */
void queue_relay_dest_connect(struct queue_relay_group *g);
/* The destination is at [queue] destination_concurrency (in slots, or
 * in connections still open). */
bool queue_relay_dest_full(struct queue_relay *r, const char *dest);
/* A group of the destination starts: it counts until its done. */
void queue_relay_count_group(struct queue_relay *r, const char *dest);
/* Park a group until it can have a slot. */
void queue_relay_park(struct queue_relay *r, struct queue_relay_group *g);
/* The parked group that gets the next slot given back: the oldest one
 * whose destination is below its limit, or is `freeing` (the destination
 * whose slot is given back; NULL when it is given back already), so that
 * no destination waits behind another's backlog (NULL: none, or every
 * slot is taken). It stays parked: queue_relay_unpark takes it out. */
struct queue_relay_group *queue_relay_parked_next(struct queue_relay *r, const char *freeing);
void queue_relay_unpark(struct queue_relay *r, struct queue_relay_group *g);
/* The group's message file, open while a group sends it (so that a
 * message whose groups wait for slots holds no descriptor): false when
 * it cannot be opened (logged; EMFILE among others). Closed again by
 * queue_relay_group_done. */
bool queue_relay_msg_open(struct queue_relay_group *g);
/* queue-relay-cache.c */
/* The connection may carry another message (QUEUE_RELAY_REUSE_MAX,
 * [queue] connection_reuse_time). */
bool queue_relay_reusable(const struct queue_relay *r, const struct smtp_client *client);
/* From g's session's done: keep its connection idle, with g's slot
 * (false: the cache is off, full, or the connection done with). */
bool queue_relay_cache_put(struct queue_relay_group *g, struct smtp_client *client);
/* An idle connection for g's destination and policy: g takes it (and
 * its slot) and goes out over it; false: none. */
bool queue_relay_cache_take(struct queue_relay_group *g);
/* g finds no slot: an idle connection that holds one g could use (of
 * g's destination, or of any when all are at [queue] connections) QUITs
 * and gives its slot back; false: none. */
bool queue_relay_cache_evict(struct queue_relay_group *g);
/* At stop: every idle connection QUITs. */
void queue_relay_cache_stop(struct queue_relay *r);

#endif
