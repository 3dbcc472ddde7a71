/* dns - asynchronous DNS lookups on a loop, with c-ares: one resolver per
 * I/O loop (made at its first lookup, run by the loop's own polls and
 * timer, no thread), the servers of [dns] servers (else
 * /etc/resolv.conf), [dns] timeout per try and two tries per server, and
 * a cache per loop that keeps each answer for its TTL (negative ones for
 * their SOA's, RFC 2308), bounded in answers and in memory, and asks
 * once for a name many wait for.
 * Temporary failures (timeouts, SERVFAIL, REFUSED) are never cached.
 *
 * No search domains and no /etc/hosts: a name is asked for as it is
 * (fully qualified); an A or AAAA lookup of a numeric address is
 * answered with that address, nothing sent (dns_answer_literal).
 * Everything here runs on the loop's thread only. */
#ifndef TERN_CORE_DNS_H
#define TERN_CORE_DNS_H

#include "core/dns-answer.h"

struct loop;
struct dns_query;

/* The answer is valid during the call only (copy what is kept). */
typedef void dns_done_fn(void *arg, const struct dns_answer *answer);

/* Look up `name` (a final dot is optional; case does not matter); done
 * runs on this loop once the answer is there, never from within this
 * call, also for an answer from the cache or a name that cannot be asked
 * for (DNS_BADNAME). Returns the query, valid until done has run or
 * dns_cancel. Once the server stops, waiting queries are answered
 * DNS_TEMPFAIL and new ones get it at once (still not from within the
 * call); the loop does not end before those answers are handed over. */
struct dns_query *dns_lookup(struct loop *loop, enum dns_type type, const char *name,
			     dns_done_fn *done, void *arg);
/* The PTR query of an address (dns_ptr_name). */
struct dns_query *dns_lookup_ptr(struct loop *loop, const struct dns_addr *addr,
				 dns_done_fn *done, void *arg);
/* Forget a query whose done has not run: it will not run. *query
 * becomes NULL; NULL is fine. */
void dns_cancel(struct dns_query **query);

/* For tests: answers given from the cache, and queries sent, on this
 * loop so far. */
void dns_counters(struct loop *loop, unsigned long *cache_hits_r, unsigned long *sent_r);
/* For tests: the answers the cache holds on this loop, and their memory
 * (at most 4,096 answers and 4 MiB). */
void dns_cache_usage(struct loop *loop, size_t *entries_r, size_t *bytes_r);

#endif
