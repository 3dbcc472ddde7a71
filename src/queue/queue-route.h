/* queue-route - where the queue sends mail for a remote domain, without
 * I/O: the transport table ([queue] transport: "domain=host[:port][/tls]"
 * entries, comma separated) and the smarthost ([queue] relayhost:
 * "host[:port]"), read once at the start. A domain in the table goes to
 * its host; else the smarthost, when set, takes everything; else the
 * domain's MX records (queue-relay.c asks the DNS, smtp/smtp-mx.h orders
 * them). A host is a name, an IPv4 address or an [IPv6] address. */
#ifndef TERN_QUEUE_QUEUE_ROUTE_H
#define TERN_QUEUE_QUEUE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp-client.h"

/* Entries of [queue] transport, at most. */
#define QUEUE_ROUTE_MAX 1024

/* One next hop given by the operator. */
struct queue_route {
	char domain[254];          /* lower case; "" for the smarthost */
	char host[254];            /* a name, or an address without brackets */
	uint16_t port;             /* 25 unless given */
	enum smtp_client_tls tls;  /* "may" unless given */
};

/* Parse "host[:port]" (host: a name, a.b.c.d, or [v6]) of text[0..len)
 * into *route_r's host and port (25 unless given); the other fields are
 * left alone. NULL, or what is wrong (a static string). */
const char *queue_route_parse_host(const char *text, size_t len, struct queue_route *route_r);

/* Parse the whole transport table; "" gives none. *routes_r is malloc'd
 * (free it; NULL when *n_r is 0). NULL, or what is wrong (a static
 * string), with nothing allocated. */
const char *queue_route_parse_table(const char *text, struct queue_route **routes_r,
				    size_t *n_r);

/* The entry for `domain` (compared without case and final dot), or
 * NULL. */
const struct queue_route *queue_route_find(const struct queue_route *routes, size_t n,
					   const char *domain);

#endif
