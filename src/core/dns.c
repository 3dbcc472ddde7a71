/* dns - the resolver of a loop: a c-ares channel driven by the loop's
 * polls and a timer, the cache of answers (one entry per type and name,
 * waiting queries attached to the entry being asked for), the hand-over
 * of answers from the loop (never from within a call), and the stop;
 * see dns.h. */
#include "core/dns.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "core/conn-internal.h"
#include "core/log.h"

#define DNS_BUCKETS 1024
/* Answers kept per loop, and the memory they may hold; beyond either,
 * the oldest goes (4,096 answers of hostile TXT records over TCP would
 * hold 256 MiB). */
#define DNS_CACHE_MAX 4096
#define DNS_CACHE_BYTES_MAX (4u << 20)
#define DNS_TRIES 2
/* EDNS0 (RFC 6891) with the buffer size of the DNS flag day 2020: large
 * TXT answers (DKIM keys, SPF) come over UDP without falling back to TCP
 * more than they must. */
#define DNS_EDNS_SIZE 1232

/* An answer shared by the cache and the queries it is handed to. */
struct dns_shared {
	struct dns_answer *answer;
	unsigned refs;
};

struct dns_entry {
	struct dns *dns;
	struct dns_entry *hnext;             /* hash chain */
	struct dns_entry *lru_prev, *lru_next; /* answered entries, oldest first */
	enum dns_type type;
	bool pending;                        /* asked for, no answer yet */
	struct dns_shared *shared;           /* the answer, once there */
	uint64_t expires_ms;
	size_t bytes;                        /* the answer's and the entry's memory */
	struct dns_query *waiters;           /* while pending */
	char name[];                         /* lower case, no final dot */
};

struct dns_query {
	struct dns_query *next, *prev;       /* entry->waiters, or dns->ready */
	struct dns *dns;
	struct dns_entry *entry;             /* waiting for it */
	struct dns_shared *shared;           /* ready: to be handed over */
	dns_done_fn *done;
	void *arg;
};

struct dns_sock {
	uv_poll_t poll;
	struct dns *dns;
	ares_socket_t fd;
	struct dns_sock *next;
};

struct dns {
	struct loop *loop;
	ares_channel channel;
	bool channel_ok;
	bool stopped;                        /* the server stops: no new queries */
	bool closing;                        /* the loop ends */
	uv_timer_t timer;                    /* c-ares's timeouts */
	uv_timer_t kick;                     /* hand the ready answers over */
	unsigned handles;                    /* uv handles not closed yet */
	struct dns_sock *socks;
	struct dns_entry *buckets[DNS_BUCKETS];
	struct dns_entry *lru_head, *lru_tail;
	size_t answered;                     /* entries on the lru list */
	size_t answered_bytes;               /* their bytes */
	struct dns_query *ready_head, *ready_tail;
	struct loop_stop_hook *hook;
	unsigned long hits, sent;
};

static pthread_once_t dns_lib_once = PTHREAD_ONCE_INIT;
static int dns_lib_status;

static void dns_lib_init(void)
{
	dns_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- shared answers ---- */

static struct dns_shared *dns_share(struct dns_answer *answer)
{
	struct dns_shared *shared = calloc(1, sizeof(*shared));

	if (shared == NULL)
		abort();
	shared->answer = answer;
	shared->refs = 1;
	return shared;
}

static void dns_unref(struct dns_shared **sharedp)
{
	struct dns_shared *shared = *sharedp;

	*sharedp = NULL;
	if (shared != NULL && --shared->refs == 0) {
		dns_answer_free(&shared->answer);
		free(shared);
	}
}

/* ---- handing answers over ---- */

static void dns_kick_cb(uv_timer_t *timer);
static void dns_timer_cb(uv_timer_t *timer);

static void dns_ready_push(struct dns *dns, struct dns_query *q, struct dns_shared *shared)
{
	q->entry = NULL;
	q->shared = shared;
	shared->refs++;
	q->next = NULL;
	q->prev = dns->ready_tail;
	if (dns->ready_tail != NULL)
		dns->ready_tail->next = q;
	else
		dns->ready_head = q;
	dns->ready_tail = q;
	if (!dns->closing && !uv_is_active((uv_handle_t *)&dns->kick))
		uv_timer_start(&dns->kick, dns_kick_cb, 0, 0);
}

static void dns_ready_unlink(struct dns *dns, struct dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		dns->ready_head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		dns->ready_tail = q->prev;
	q->next = q->prev = NULL;
}

static void dns_kick_cb(uv_timer_t *timer)
{
	struct dns *dns = timer->data;

	/* one at a time: a done may cancel or start others */
	while (dns->ready_head != NULL) {
		struct dns_query *q = dns->ready_head;

		dns_ready_unlink(dns, q);
		q->done(q->arg, q->shared->answer);
		dns_unref(&q->shared);
		free(q);
	}
	/* the loop waited for these answers to be handed over */
	if (dns->stopped)
		loop_maybe_finish(dns->loop);
}

bool dns_loop_busy(const struct loop *loop)
{
	return loop->dns != NULL && loop->dns->ready_head != NULL;
}

/* An answer made here (a bad name, the stop, a numeric address) for
 * one query. */
static void dns_ready_answer(struct dns *dns, struct dns_query *q, struct dns_answer *answer)
{
	struct dns_shared *shared = dns_share(answer);

	dns_ready_push(dns, q, shared);
	dns_unref(&shared);
}

static void dns_ready_own(struct dns *dns, struct dns_query *q, enum dns_type type,
			  enum dns_status status)
{
	dns_ready_answer(dns, q, dns_answer_status(type, status));
}

/* ---- the cache ---- */

static unsigned dns_hash(enum dns_type type, const char *name)
{
	unsigned h = 2166136261u ^ (unsigned)type;

	for (const char *c = name; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h % DNS_BUCKETS;
}

static struct dns_entry **dns_find(struct dns *dns, enum dns_type type, const char *name)
{
	struct dns_entry **p = &dns->buckets[dns_hash(type, name)];

	while (*p != NULL && ((*p)->type != type || strcmp((*p)->name, name) != 0))
		p = &(*p)->hnext;
	return p;
}

static void dns_lru_unlink(struct dns *dns, struct dns_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		dns->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		dns->lru_tail = e->lru_prev;
	e->lru_next = e->lru_prev = NULL;
	dns->answered--;
	dns->answered_bytes -= e->bytes;
}

static void dns_lru_append(struct dns *dns, struct dns_entry *e)
{
	e->lru_next = NULL;
	e->lru_prev = dns->lru_tail;
	if (dns->lru_tail != NULL)
		dns->lru_tail->lru_next = e;
	else
		dns->lru_head = e;
	dns->lru_tail = e;
	dns->answered++;
	dns->answered_bytes += e->bytes;
}

/* Remove an entry that has an answer (or none and no waiters). */
static void dns_entry_drop(struct dns *dns, struct dns_entry *e)
{
	struct dns_entry **p = dns_find(dns, e->type, e->name);

	if (*p == e)
		*p = e->hnext;
	if (!e->pending && e->shared != NULL)
		dns_lru_unlink(dns, e);
	dns_unref(&e->shared);
	free(e);
}

/* c-ares's answer for an entry: to every query waiting for it, and into
 * the cache for its TTL unless it is a temporary failure. */
static void dns_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_entry *e = arg;
	struct dns *dns = e->dns;
	struct dns_shared *shared;
	struct dns_query *q;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;   /* the loop ends: dns_loop_close frees the entry */
	q = e->waiters;
	shared = dns_share(dns_answer_parse(e->type, status, abuf, alen > 0 ? (size_t)alen : 0));
	e->waiters = NULL;
	e->pending = false;
	while (q != NULL) {
		struct dns_query *next = q->next;

		dns_ready_push(q->dns, q, shared);
		q = next;
	}
	e->shared = shared;
	e->expires_ms = uv_now(&dns->loop->uv) + (uint64_t)shared->answer->ttl * 1000;
	if (shared->answer->status == DNS_TEMPFAIL || shared->answer->ttl == 0) {
		e->shared = NULL;
		dns_entry_drop(dns, e);
		dns_unref(&shared);
		return;
	}
	e->bytes = sizeof(*e) + strlen(e->name) + 1 + sizeof(*shared) +
		   dns_answer_size(shared->answer);
	dns_lru_append(dns, e);
	while (dns->answered > DNS_CACHE_MAX || dns->answered_bytes > DNS_CACHE_BYTES_MAX)
		dns_entry_drop(dns, dns->lru_head);
}

/* ---- c-ares on the loop ---- */

static void dns_arm(struct dns *dns)
{
	struct timeval tv, *t;

	if (!dns->channel_ok || dns->closing)
		return;
	t = ares_timeout(dns->channel, NULL, &tv);
	if (t == NULL)
		uv_timer_stop(&dns->timer);
	else
		uv_timer_start(&dns->timer, dns_timer_cb, (uint64_t)t->tv_sec * 1000 +
			       (uint64_t)t->tv_usec / 1000 + 1, 0);
}

static void dns_timer_cb(uv_timer_t *timer)
{
	struct dns *dns = timer->data;

	ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_arm(dns);
}

static void dns_poll_cb(uv_poll_t *poll, int status, int events)
{
	struct dns_sock *sock = poll->data;
	struct dns *dns = sock->dns;
	ares_socket_t fd = sock->fd;

	/* an error: let c-ares read it and fail over */
	if (status < 0)
		events = UV_READABLE;
	ares_process_fd(dns->channel, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
			(events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
	dns_arm(dns);
}

static void dns_sock_closed(uv_handle_t *handle)
{
	struct dns_sock *sock = handle->data;
	struct dns *dns = sock->dns;

	free(sock);
	dns->handles--;
	if (dns->handles == 0)
		free(dns);
}

static void dns_sock_close(struct dns *dns, struct dns_sock *sock)
{
	struct dns_sock **p = &dns->socks;

	while (*p != NULL && *p != sock)
		p = &(*p)->next;
	if (*p == sock)
		*p = sock->next;
	uv_close((uv_handle_t *)&sock->poll, dns_sock_closed);
}

static void dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *dns = data;
	struct dns_sock *sock = dns->socks;
	int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	while (sock != NULL && sock->fd != fd)
		sock = sock->next;
	if (events == 0) {
		if (sock != NULL)
			dns_sock_close(dns, sock);
		return;
	}
	if (sock == NULL) {
		sock = calloc(1, sizeof(*sock));
		if (sock == NULL)
			abort();
		sock->dns = dns;
		sock->fd = fd;
		if (uv_poll_init_socket(&dns->loop->uv, &sock->poll, fd) != 0)
			abort();
		sock->poll.data = sock;
		dns->handles++;
		sock->next = dns->socks;
		dns->socks = sock;
	}
	uv_poll_start(&sock->poll, events, dns_poll_cb);
}

/* "1.2.3.4:53, [::1]:5353" as c-ares takes it: no spaces. */
static int dns_set_servers(ares_channel channel, const char *servers)
{
	char *csv = strdup(servers);
	size_t n = 0;
	int ret;

	if (csv == NULL)
		abort();
	for (const char *p = servers; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t')
			csv[n++] = *p;
	csv[n] = '\0';
	ret = ares_set_servers_ports_csv(channel, csv);
	free(csv);
	return ret;
}

static void dns_stop_cb(void *arg)
{
	struct dns *dns = arg;

	dns->hook = NULL;
	dns->stopped = true;
	/* every query still asked for ends as a temporary failure */
	if (dns->channel_ok)
		ares_cancel(dns->channel);
	dns_arm(dns);
}

static struct dns *dns_new(struct loop *loop)
{
	const struct config *cfg = core_config(loop->core);
	struct ares_options opts;
	struct dns *dns = calloc(1, sizeof(*dns));
	int ret;

	if (dns == NULL)
		abort();
	dns->loop = loop;
	uv_timer_init(&loop->uv, &dns->timer);
	dns->timer.data = dns;
	uv_timer_init(&loop->uv, &dns->kick);
	dns->kick.data = dns;
	dns->handles = 2;
	pthread_once(&dns_lib_once, dns_lib_init);
	memset(&opts, 0, sizeof(opts));
	opts.flags = ARES_FLAG_EDNS;
	opts.timeout = (int)(cfg->dns.timeout > 0 ? cfg->dns.timeout : 5) * 1000;
	opts.tries = DNS_TRIES;
	opts.ednspsz = DNS_EDNS_SIZE;
	opts.sock_state_cb = dns_sock_state;
	opts.sock_state_cb_data = dns;
	ret = dns_lib_status == ARES_SUCCESS ?
	      ares_init_options(&dns->channel, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
				ARES_OPT_TRIES | ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB) :
	      dns_lib_status;
	if (ret == ARES_SUCCESS && cfg->dns.servers != NULL && cfg->dns.servers[0] != '\0') {
		ret = dns_set_servers(dns->channel, cfg->dns.servers);
		/* never fall back to other servers than the configured ones */
		if (ret != ARES_SUCCESS)
			ares_destroy(dns->channel);
	}
	dns->channel_ok = ret == ARES_SUCCESS;
	if (ret != ARES_SUCCESS)
		log_error("msg=\"DNS resolver unavailable: every lookup fails for now\" error=\"%s\"",
			  ares_strerror(ret));
	dns->hook = loop_on_stop(loop, dns_stop_cb, dns);
	if (dns->hook == NULL)
		dns->stopped = true;
	return dns;
}

static void dns_handle_closed(uv_handle_t *handle)
{
	struct dns *dns = handle->data;

	if (--dns->handles == 0)
		free(dns);
}

void dns_loop_close(struct loop *loop)
{
	struct dns *dns = loop->dns;

	if (dns == NULL)
		return;
	loop->dns = NULL;
	dns->closing = true;
	loop_stop_cancel(&dns->hook);
	if (dns->channel_ok)
		ares_destroy(dns->channel);   /* closes its sockets through dns_sock_state */
	while (dns->socks != NULL)
		dns_sock_close(dns, dns->socks);
	for (size_t i = 0; i < DNS_BUCKETS; i++) {
		while (dns->buckets[i] != NULL) {
			struct dns_entry *e = dns->buckets[i];

			dns->buckets[i] = e->hnext;
			while (e->waiters != NULL) {
				struct dns_query *q = e->waiters;

				e->waiters = q->next;
				free(q);
			}
			dns_unref(&e->shared);
			free(e);
		}
	}
	uv_close((uv_handle_t *)&dns->timer, dns_handle_closed);
	uv_close((uv_handle_t *)&dns->kick, dns_handle_closed);
}

/* ---- lookups ---- */

struct dns_query *dns_lookup(struct loop *loop, enum dns_type type, const char *name,
			     dns_done_fn *done, void *arg)
{
	struct dns *dns = loop->dns != NULL ? loop->dns : (loop->dns = dns_new(loop));
	struct dns_query *q = calloc(1, sizeof(*q));
	struct dns_entry **p, *e;
	struct dns_answer *literal;
	char key[256];
	size_t len;

	if (q == NULL)
		abort();
	q->dns = dns;
	q->done = done;
	q->arg = arg;
	if (!dns->stopped && (literal = dns_answer_literal(type, name)) != NULL) {
		/* an MX naming its exchanger by address (Postfix's smtp_addr_one
		 * takes it as that address): nothing to ask, nothing to cache */
		dns_ready_answer(dns, q, literal);
		return q;
	}
	if (!dns_name_valid(name) || (unsigned)type >= DNS_TYPE__COUNT) {
		dns_ready_own(dns, q, type, DNS_BADNAME);
		return q;
	}
	len = strlen(name);
	if (name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[len] = '\0';
	p = dns_find(dns, type, key);
	e = *p;
	if (e != NULL && !e->pending && uv_now(&loop->uv) < e->expires_ms) {
		dns->hits++;
		dns_ready_push(dns, q, e->shared);
		return q;
	}
	if (dns->stopped || !dns->channel_ok) {
		dns_ready_own(dns, q, type, DNS_TEMPFAIL);
		return q;
	}
	if (e != NULL && !e->pending) {
		/* expired: ask again */
		dns_entry_drop(dns, e);
		e = NULL;
	}
	if (e == NULL) {
		e = calloc(1, sizeof(*e) + len + 1);
		if (e == NULL)
			abort();
		e->dns = dns;
		e->type = type;
		memcpy(e->name, key, len + 1);
		e->hnext = dns->buckets[dns_hash(type, key)];
		dns->buckets[dns_hash(type, key)] = e;
	}
	q->entry = e;
	q->next = e->waiters;
	if (e->waiters != NULL)
		e->waiters->prev = q;
	e->waiters = q;
	if (!e->pending) {
		e->pending = true;
		dns->sent++;
		/* c-ares may answer at once (no server): dns_ares_cb only
		 * queues the hand-over, so nothing runs within this call */
		ares_query(dns->channel, e->name, 1 /* C_IN */, dns_type_rr(type), dns_ares_cb, e);
		dns_arm(dns);
	}
	return q;
}

struct dns_query *dns_lookup_ptr(struct loop *loop, const struct dns_addr *addr,
				 dns_done_fn *done, void *arg)
{
	char name[80];

	dns_ptr_name(addr, name, sizeof(name));
	return dns_lookup(loop, DNS_TYPE_PTR, name, done, arg);
}

void dns_cancel(struct dns_query **queryp)
{
	struct dns_query *q = *queryp;
	struct dns_entry *e;

	if (q == NULL)
		return;
	*queryp = NULL;
	e = q->entry;
	if (e == NULL) {
		dns_ready_unlink(q->dns, q);
		dns_unref(&q->shared);
		free(q);
		return;
	}
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		e->waiters = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	/* the answer still comes, and is cached */
	free(q);
}

void dns_counters(struct loop *loop, unsigned long *cache_hits_r, unsigned long *sent_r)
{
	*cache_hits_r = loop->dns != NULL ? loop->dns->hits : 0;
	*sent_r = loop->dns != NULL ? loop->dns->sent : 0;
}

void dns_cache_usage(struct loop *loop, size_t *entries_r, size_t *bytes_r)
{
	*entries_r = loop->dns != NULL ? loop->dns->answered : 0;
	*bytes_r = loop->dns != NULL ? loop->dns->answered_bytes : 0;
}
