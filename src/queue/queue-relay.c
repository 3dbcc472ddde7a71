/* queue-relay - outbound delivery's manager, on one of the core's I/O
 * loops: a scan of queue.db (a job) finds the remote recipients that are
 * due (queued, or deferred until now: next_try survives restarts), with
 * their messages' envelopes and files, past those it leaves (of messages
 * in flight, beyond a destination's room for waiting groups, beyond the
 * messages in flight at most), and only what arrived since when new mail
 * woke it; each message not already in flight is split per recipient
 * domain into groups that go out in
 * parallel (queue-relay-dest.c), each destination with at most [queue]
 * destination_concurrency at once and all with at most [queue]
 * connections (a slot given back goes to the oldest group waiting that
 * can take it); when every group of a message is over, a job records the
 * results in queue.db (deferred: the retry schedule's next try; expired:
 * failed), then sends the reports they call for (queue-report.c: a
 * bounce, a delay warning, "relayed"; what it cannot send stays recorded
 * unreported, and the next scan sends it) and takes a message done with
 * everywhere out of the queue. A timer wakes
 * the scan at the earliest retry; a flush or a release wakes it at
 * once (queue_relay_kick). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/loop.h"
#include "queue/queue-relay.h"

/* Recipients per scan. */
#define QUEUE_RELAY_SCAN_BATCH 1000
/* Messages in flight at most (their envelopes in memory; Postfix's
 * active queue holds 20,000): a scan waits while there are more, and the
 * recording of each message that leaves starts it again. */
#define QUEUE_RELAY_INFLIGHT_MAX 10000

/* ---- connection slots, per destination and in all ---- */

static struct queue_relay_count *queue_relay_count_find(struct queue_relay *r, const char *dest)
{
	for (size_t i = 0; i < r->n_counts; i++)
		if (strcmp(r->counts[i].dest, dest) == 0)
			return &r->counts[i];
	return NULL;
}

bool queue_relay_dest_full(struct queue_relay *r, const char *dest)
{
	const struct queue_relay_count *c = queue_relay_count_find(r, dest);

	return c != NULL && (c->n >= r->q->cfg->queue.destination_concurrency ||
			     c->open >= r->q->cfg->queue.destination_concurrency);
}

static struct queue_relay_count *queue_relay_count_get(struct queue_relay *r, const char *dest)
{
	struct queue_relay_count *c = queue_relay_count_find(r, dest);

	if (c != NULL)
		return c;
	r->counts = realloc(r->counts, (r->n_counts + 1) * sizeof(*r->counts));
	if (r->counts == NULL)
		abort();
	c = &r->counts[r->n_counts++];
	memset(c, 0, sizeof(*c));
	strncpy(c->dest, dest, sizeof(c->dest) - 1);
	return c;
}

/* c is gone once nothing of its destination is in flight or open. */
static void queue_relay_count_drop(struct queue_relay *r, struct queue_relay_count *c)
{
	if (c->n == 0 && c->open == 0 && c->groups == 0)
		*c = r->counts[--r->n_counts];
}

void queue_relay_count_group(struct queue_relay *r, const char *dest)
{
	queue_relay_count_get(r, dest)->groups++;
}

bool queue_relay_slot_take(struct queue_relay *r, const char *dest)
{
	if (r->sessions >= r->max_sessions || r->conns >= r->max_sessions ||
	    queue_relay_dest_full(r, dest))
		return false;
	queue_relay_count_get(r, dest)->n++;
	r->sessions++;
	return true;
}

void queue_relay_slot_put(struct queue_relay *r, const char *dest)
{
	struct queue_relay_count *c = queue_relay_count_find(r, dest);

	if (c == NULL)
		return;
	r->sessions--;
	c->n--;
	queue_relay_count_drop(r, c);
}

void queue_relay_park(struct queue_relay *r, struct queue_relay_group *g)
{
	struct queue_relay_group **p = &r->parked;

	while (*p != NULL)
		p = &(*p)->park_next;
	g->park_next = NULL;
	*p = g;
}

struct queue_relay_group *queue_relay_parked_next(struct queue_relay *r, const char *freeing)
{
	if (freeing == NULL && (r->sessions >= r->max_sessions || r->conns >= r->max_sessions))
		return NULL;
	for (struct queue_relay_group *g = r->parked; g != NULL; g = g->park_next)
		if ((freeing != NULL && strcmp(g->dest, freeing) == 0) ||
		    !queue_relay_dest_full(r, g->dest))
			return g;
	return NULL;
}

/* A slot may be free now: the oldest group that can take it gets it. */
static void queue_relay_slot_offer(struct queue_relay *r)
{
	struct queue_relay_group *next;

	if (!r->stopping && (next = queue_relay_parked_next(r, NULL)) != NULL) {
		queue_relay_unpark(r, next);
		queue_relay_group_unpark(next);
	}
}

void queue_relay_slot_release(struct queue_relay *r, const char *dest)
{
	queue_relay_slot_put(r, dest);
	queue_relay_slot_offer(r);
}

/* One open connection: what its close gives back. */
struct queue_relay_conn {
	struct queue_relay *r;
	char dest[300];
};

/* g's destination can have one connection more. */
static bool queue_relay_conn_room(struct queue_relay *r, const struct queue_relay_group *g)
{
	const struct queue_relay_count *c = queue_relay_count_find(r, g->dest);

	return r->conns < r->max_sessions &&
	       (c == NULL || c->open < r->q->cfg->queue.destination_concurrency);
}

bool queue_relay_conn_open(struct queue_relay_group *g)
{
	struct queue_relay *r = g->m->r;
	struct queue_relay_count *c = queue_relay_count_find(r, g->dest);
	struct queue_relay_conn *rc;
	struct queue_relay_group **p = &r->conn_waiting;

	if (!queue_relay_conn_room(r, g)) {
		while (*p != NULL)
			p = &(*p)->park_next;
		g->park_next = NULL;
		*p = g;
		return false;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		abort();
	rc->r = r;
	memcpy(rc->dest, g->dest, sizeof(rc->dest));
	r->conns++;
	if (c != NULL)   /* else the group has no slot: not counted */
		c->open++;
	g->target.closed = queue_relay_conn_closed;
	g->target.arg = rc;
	return true;
}

void queue_relay_conn_closed(void *arg)
{
	struct queue_relay_conn *rc = arg;
	struct queue_relay *r = rc->r;
	struct queue_relay_count *c = queue_relay_count_find(r, rc->dest);

	free(rc);
	r->conns--;
	if (c != NULL && c->open > 0) {
		c->open--;
		queue_relay_count_drop(r, c);
	}
	/* a retry waiting for this socket first: it holds its slot */
	for (struct queue_relay_group **p = &r->conn_waiting; *p != NULL; p = &(*p)->park_next) {
		struct queue_relay_group *g = *p;

		if (!queue_relay_conn_room(r, g))
			continue;
		*p = g->park_next;
		if (queue_relay_conn_open(g))
			queue_relay_dest_connect(g);
		break;
	}
	queue_relay_slot_offer(r);
}

void queue_relay_unpark(struct queue_relay *r, struct queue_relay_group *g)
{
	for (struct queue_relay_group **p = &r->parked; *p != NULL; p = &(*p)->park_next) {
		if (*p == g) {
			*p = g->park_next;
			return;
		}
	}
}

bool queue_relay_msg_open(struct queue_relay_group *g)
{
	struct queue_relay_msg *m = g->m;

	if (g->holds_file)
		return true;
	if (m->holders == 0) {
		m->fd = openat(m->r->q->msg_fd, m->rec.id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (m->fd < 0) {
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"cannot open a message to relay\" queue_id=%s error=\"%s\"",
				  m->rec.id, strerror(errno));
			return false;
		}
	}
	m->holders++;
	g->holds_file = true;
	return true;
}

/* ---- messages ---- */

static void queue_relay_msg_free(struct queue_relay_msg *m)
{
	for (size_t i = 0; i < m->n_groups; i++) {
		struct queue_relay_group *g = &m->groups[i];

		for (size_t t = 0; t < g->n_tries; t++) {
			free(g->tries[t]);
			free(g->maps[t]);
		}
		free(g->tries);
		free(g->maps);
		free(g->which);
	}
	free(m->groups);
	free(m->rcpts);
	if (m->fd >= 0)
		close(m->fd);
	queue_record_free(&m->rec);
	free(m);
}

static const char *queue_relay_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* The due recipients of m in groups per domain: as many groups as
 * domains (a group is large), each with its own recipients' indexes. */
static void queue_relay_msg_group(struct queue_relay_msg *m)
{
	size_t *in = calloc(m->n_rcpts, sizeof(*in));

	if (in == NULL)
		abort();
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const char *domain = queue_relay_domain(m->rcpts[i].address);
		size_t k = 0;

		while (k < m->n_groups && strcasecmp(m->groups[k].domain, domain) != 0)
			k++;
		if (k == m->n_groups) {
			m->groups = realloc(m->groups, (k + 1) * sizeof(*m->groups));
			if (m->groups == NULL)
				abort();
			memset(&m->groups[k], 0, sizeof(m->groups[k]));
			m->groups[k].m = m;
			strncpy(m->groups[k].domain, domain, sizeof(m->groups[k].domain) - 1);
			m->n_groups++;
		}
		in[i] = k;
		m->groups[k].n++;
	}
	for (size_t k = 0; k < m->n_groups; k++) {
		if ((m->groups[k].which = calloc(m->groups[k].n, sizeof(size_t))) == NULL)
			abort();
		m->groups[k].n = 0;
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		struct queue_relay_group *g = &m->groups[in[i]];

		g->which[g->n++] = i;
	}
	free(in);
	m->groups_left = m->n_groups;
}

/* ---- the scan (a job) ---- */

/* The earlier of two retry times (0: none). */
static int64_t queue_relay_earlier(int64_t a, int64_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* A destination as a scan sees it: the groups it may still take. */
struct queue_relay_scan_dest {
	char dest[300];
	unsigned room;
	bool starved;                    /* it left some of its mail due */
};

struct queue_relay_scan {
	struct queue_relay *r;
	/* the messages in flight when it began, sorted; how many recipients
	 * each took, and how many of its rows the scan left */
	char (*skip)[QUEUE_ID_LEN + 1];
	size_t *took, *seen;
	size_t n_skip;
	struct queue_relay_scan_dest *dests;  /* those in flight when it began, then those met */
	size_t n_dests;
	size_t msgs_room;                /* new messages it may still take */
	/* the domains of the message being taken */
	struct queue_relay_scan_domain {
		char domain[256];
	} *domains;
	size_t n_domains;
	struct queue_db_due *due;        /* the recipients taken: copies (strings malloc'd) */
	size_t n_due;
	struct queue_relay_msg *found;
	int64_t next_try;
	bool full;                       /* it took a whole batch: there may be more */
	bool open_failed;                /* a due message's file did not open */
	bool starved;                    /* it left mail due for QUEUE_RELAY_INFLIGHT_MAX */
	bool look_again;                 /* it left recipients a message in flight did not take */
	int64_t since;                   /* of messages that arrived then or later (0: all) */
};

/* The groups of one destination in flight at most. */
static unsigned queue_relay_dest_max(const struct queue_relay *r)
{
	return r->q->cfg->queue.destination_concurrency + QUEUE_RELAY_DEST_WAITING;
}

/* For qsort and bsearch of skip[] by id. */
static int queue_relay_id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The index in s->dests of domain's destination, added when new. */
static size_t queue_relay_scan_dest(struct queue_relay_scan *s, const char *domain)
{
	char dest[sizeof(s->dests[0].dest)];
	struct queue_relay_scan_dest *d;

	(void)queue_relay_dest_route(s->r, domain, dest, sizeof(dest));
	for (size_t i = 0; i < s->n_dests; i++)
		if (strcmp(s->dests[i].dest, dest) == 0)
			return i;
	s->dests = realloc(s->dests, (s->n_dests + 1) * sizeof(*s->dests));
	if (s->dests == NULL)
		abort();
	d = &s->dests[s->n_dests];
	memset(d, 0, sizeof(*d));
	memcpy(d->dest, dest, sizeof(d->dest));
	d->room = queue_relay_dest_max(s->r);
	return s->n_dests++;
}

/* Whether the recipient may go now: its message is not in flight, and
 * its group fits its destination's room (a new message: the relay's
 * room too). */
static bool queue_relay_scan_fits(struct queue_relay_scan *s, const struct queue_db_due *due)
{
	const char *domain = queue_relay_domain(due->address);
	bool same = s->n_due > 0 && strcmp(s->due[s->n_due - 1].id, due->id) == 0;
	const char(*in)[QUEUE_ID_LEN + 1];
	size_t k;

	if (s->n_skip > 0 &&
	    (in = bsearch(due->id, s->skip, s->n_skip, sizeof(*s->skip), queue_relay_id_cmp)) !=
		    NULL) {
		/* more than it took (a batch ended in it, a flush): due
		 * once it is recorded */
		k = (size_t)(in - s->skip);
		if (++s->seen[k] > s->took[k])
			s->look_again = true;
		return false;
	}
	if (!same) {
		if (s->msgs_room == 0) {
			s->starved = true;
			return false;
		}
		s->n_domains = 0;
	}
	for (size_t i = 0; i < s->n_domains; i++)
		if (strcasecmp(s->domains[i].domain, domain) == 0)
			return true;
	k = queue_relay_scan_dest(s, domain);
	if (s->dests[k].room == 0) {
		s->dests[k].starved = true;
		return false;
	}
	s->dests[k].room--;
	if (!same)
		s->msgs_room--;
	s->domains = realloc(s->domains, (s->n_domains + 1) * sizeof(*s->domains));
	if (s->domains == NULL)
		abort();
	snprintf(s->domains[s->n_domains++].domain, sizeof(s->domains[0].domain), "%s", domain);
	return true;
}

static bool queue_relay_scan_add(void *ctx, const struct queue_db_due *due)
{
	struct queue_relay_scan *s = ctx;
	struct queue_db_due *d;

	if (!queue_relay_scan_fits(s, due))
		return !s->starved;
	s->due = realloc(s->due, (s->n_due + 1) * sizeof(*s->due));
	if (s->due == NULL)
		abort();
	d = &s->due[s->n_due++];
	*d = *due;
	if ((d->id = strdup(due->id)) == NULL || (d->address = strdup(due->address)) == NULL)
		abort();
	s->full = s->n_due == QUEUE_RELAY_SCAN_BATCH;
	return !s->full;
}

/* Open the message of due[from] and take its due recipients (every row
 * of the same id that follows: the scan is ordered by message). NULL
 * when its file is gone (removed meanwhile). */
static struct queue_relay_msg *queue_relay_scan_open(struct queue_relay_scan *s, size_t from,
						     size_t to)
{
	struct queue *q = s->r->q;
	const char *id = s->due[from].id;
	struct queue_relay_msg *m = calloc(1, sizeof(*m));
	char head[QUEUE_FIELD_MAX + 32], *eol;
	struct stat st;
	ssize_t got;

	if (m == NULL)
		abort();
	m->r = s->r;
	m->fd = openat(q->msg_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* removed meanwhile, or not now (EMFILE...): it stays due, and the
	 * scan runs again in a minute */
	if (m->fd < 0 && errno != ENOENT) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"cannot open a message to relay\" queue_id=%s error=\"%s\"", id,
			  strerror(errno));
		s->open_failed = true;
		queue_relay_msg_free(m);
		return NULL;
	}
	if (m->fd < 0 || queue_file_envelope(q, id, m->fd, &m->rec) != 0 || fstat(m->fd, &st) < 0)
		goto fail;
	/* past the Return-Path line tern wrote: the receiver adds its own */
	got = pread(m->fd, head, sizeof(head) - 1, 0);
	if (got <= 0)
		goto fail;
	head[got] = '\0';
	if ((eol = strstr(head, "\r\n")) == NULL)
		goto fail;
	m->offset = (uint64_t)(eol + 2 - head);
	m->length = (uint64_t)st.st_size - m->offset;
	if (queue_srs_sender(q, m->rec.env.sender, m->sender) != MAIL_SRS_OK)
		strncpy(m->sender, m->rec.env.sender, sizeof(m->sender) - 1);
	m->rcpts = calloc(to - from, sizeof(*m->rcpts));
	if (m->rcpts == NULL)
		abort();
	for (size_t i = from; i < to; i++) {
		unsigned idx = s->due[i].idx;

		if (idx >= m->rec.env.n_rcpts || m->rec.env.rcpts[idx].local)
			continue;
		m->rcpts[m->n_rcpts++] = (struct queue_relay_rcpt){
			.idx = idx,
			.address = m->rec.env.rcpts[idx].address,
		};
	}
	if (m->n_rcpts == 0)
		goto fail;
	queue_relay_msg_group(m);
	/* opened again when a group has a session (queue_relay_msg_open) */
	close(m->fd);
	m->fd = -1;
	return m;
fail:
	/* (no file: removed meanwhile, out of the queue already) */
	if (m->fd >= 0 && m->rec.env.rcpts == NULL)
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"cannot read a message to relay\" queue_id=%s", id);
	queue_relay_msg_free(m);
	return NULL;
}

static void queue_relay_scan_work(void *arg)
{
	struct queue_relay_scan *s = arg;
	struct queue *q = s->r->q;
	int64_t now = queue_now();
	size_t n = 0;
	struct queue_relay_msg **tail = &s->found;

	/* failures recorded whose report did not go (an error, or a crash
	 * between the two), but not of the messages in flight: their own
	 * recording reports them */
	unsigned unreported = queue_report_unreported(
		q, false, INT64_MAX, (const char (*)[QUEUE_ID_LEN + 1])s->skip, s->n_skip);

	queue_db_delete_again(q->db);
	/* past the recipients it leaves (in flight, or without room): a
	 * batch of those it takes */
	if (queue_db_due(q->db, false, now, s->since, 0, queue_relay_scan_add, s, &n) != DB_OK ||
	    queue_db_next_try(q->db, false, now, &s->next_try) != DB_OK)
		s->next_try = now + 60;
	for (size_t i = 0; i < s->n_due;) {
		size_t j = i + 1;
		struct queue_relay_msg *m;

		while (j < s->n_due && strcmp(s->due[j].id, s->due[i].id) == 0)
			j++;
		if ((m = queue_relay_scan_open(s, i, j)) != NULL) {
			*tail = m;
			tail = &m->next;
		}
		i = j;
	}
	if (unreported > 0 || s->open_failed)
		s->next_try = queue_relay_earlier(s->next_try, now + 60);
}

/* The timer set for `when` (seconds since the epoch), unless it is set
 * for earlier already. */
static void queue_relay_arm(struct queue_relay *r, int64_t when)
{
	int64_t now = queue_now();

	if (when <= 0 || r->stopping)
		return;
	if (loop_timer_pending(r->timer) && r->timer_at <= when)
		return;
	r->timer_at = when;
	loop_timer_start(r->timer, when > now ? (uint64_t)(when - now) * 1000 : 0);
}

static void queue_relay_scan_start(struct queue_relay *r);

/* Want a scan of the recipients of messages that arrived at `since` or
 * later (0: of all); queue_relay_scan_start starts it. */
static void queue_relay_want(struct queue_relay *r, int64_t since)
{
	r->scan_again = true;
	if (since < r->scan_since)
		r->scan_since = since;
}

static void queue_relay_scan_done(void *arg)
{
	struct queue_relay_scan *s = arg;
	struct queue_relay *r = s->r;
	struct queue_relay_msg *m, *next;

	r->scanning = false;
	for (size_t i = 0; i < s->n_due; i++) {
		free((char *)s->due[i].id);
		free((char *)s->due[i].address);
	}
	free(s->due);
	free(s->skip);
	free(s->took);
	free(s->seen);
	free(s->domains);
	for (m = s->found; m != NULL; m = next) {
		next = m->next;
		if (r->stopping) {
			queue_relay_msg_free(m);
			continue;
		}
		m->next = r->inflight;
		r->inflight = m;
		r->n_inflight++;
		log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
			  "msg=\"relay active\" queue_id=%s rcpts=%zu groups=%zu", m->rec.id,
			  m->n_rcpts, m->n_groups);
		for (size_t i = 0; i < m->n_groups; i++)
			queue_relay_group_start(&m->groups[i]);
	}
	/* what it left due goes when its destination (or the relay) has
	 * room again (queue_relay_group_done, queue_relay_record_done); a
	 * destination whose groups are all over already: look again now */
	for (size_t i = 0; i < s->n_dests; i++) {
		struct queue_relay_count *c;

		if (!s->dests[i].starved)
			continue;
		if ((c = queue_relay_count_find(r, s->dests[i].dest)) != NULL)
			c->starved = true;
		else
			queue_relay_want(r, 0);
	}
	free(s->dests);
	r->starved = s->starved;
	r->look_again = s->look_again;
	queue_relay_arm(r, s->next_try);
	if (s->full)
		queue_relay_want(r, s->since);
	free(s);
	if (r->scan_again && !r->stopping)
		queue_relay_scan_start(r);
}

static void queue_relay_scan_start(struct queue_relay *r)
{
	struct queue_relay_scan *s;
	size_t n = 0;

	if (r->stopping)
		return;
	if (r->scanning || r->n_inflight >= QUEUE_RELAY_INFLIGHT_MAX) {
		r->scan_again = true;
		return;
	}
	r->scan_again = false;
	r->scanning = true;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->r = r;
	s->since = r->scan_since;
	r->scan_since = INT64_MAX;
	for (struct queue_relay_msg *m = r->inflight; m != NULL; m = m->next)
		n++;
	if (n > 0 && ((s->skip = calloc(n, sizeof(*s->skip))) == NULL ||
		      (s->took = calloc(n, sizeof(*s->took))) == NULL ||
		      (s->seen = calloc(n, sizeof(*s->seen))) == NULL))
		abort();
	for (struct queue_relay_msg *m = r->inflight; m != NULL; m = m->next)
		memcpy(s->skip[s->n_skip++], m->rec.id, QUEUE_ID_LEN + 1);
	if (s->n_skip > 0)
		qsort(s->skip, s->n_skip, sizeof(*s->skip), queue_relay_id_cmp);
	for (struct queue_relay_msg *m = r->inflight; m != NULL; m = m->next) {
		const char(*in)[QUEUE_ID_LEN + 1] =
			bsearch(m->rec.id, s->skip, s->n_skip, sizeof(*s->skip), queue_relay_id_cmp);

		s->took[in - s->skip] = m->n_rcpts;
	}
	s->msgs_room = QUEUE_RELAY_INFLIGHT_MAX - r->n_inflight;
	if (r->n_counts > 0 && (s->dests = calloc(r->n_counts, sizeof(*s->dests))) == NULL)
		abort();
	for (size_t i = 0; i < r->n_counts; i++) {
		struct queue_relay_scan_dest *d = &s->dests[s->n_dests++];

		memcpy(d->dest, r->counts[i].dest, sizeof(d->dest));
		d->room = r->counts[i].groups < queue_relay_dest_max(r)
				  ? queue_relay_dest_max(r) - r->counts[i].groups
				  : 0;
	}
	loop_job(r->loop, queue_relay_scan_work, queue_relay_scan_done, s);
}

/* ---- recording a message's results (a job) ---- */

/* The report a recipient's result calls for, queued (a failure, a delay
 * warning once, or "relayed" for one the sender asked to hear of).
 * false when it was due and could not be queued. */
static bool queue_relay_report(struct queue *q, const struct queue_relay_msg *m,
			       const struct queue_relay_rcpt *rc, int64_t now)
{
	struct queue_report_rcpt rr = {
		.idx = rc->idx,
		.status = rc->status,
		.remote_mta = rc->remote_mta[0] != '\0' ? rc->remote_mta : NULL,
		.diagnostic_type = rc->remote ? "smtp" : "X-tern",
		.diagnostic = rc->error,
		.last_attempt = now,
	};

	if (rc->state == QUEUE_STATE_FAILED)
		rr.action = MAIL_DSN_FAILED;
	else if (rc->state == QUEUE_STATE_DELIVERED && rc->relayed)
		/* RFC 3461 5.2.2: a next hop without DSN is "relayed" */
		rr.action = MAIL_DSN_RELAYED;
	else if (rc->state == QUEUE_STATE_DELIVERED)
		/* 5.2.1: one with DSN took NOTIFY, ORCPT and ENVID on; its
		 * report is the sender's, not ours ("delivered" is for the
		 * final delivery, 5.2.3): nothing, as Postfix */
		return true;
	else if (queue_schedule_warn_due(&q->schedule, m->rec.arrival, now))
		rr.action = MAIL_DSN_DELAYED;
	else
		return true;
	if (queue_report(q, m->rec.id, &rr, 1) == 0)
		return true;
	log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
		  "msg=\"cannot queue a report now\" queue_id=%s to=%s", m->rec.id, rc->address);
	return false;
}

static void queue_relay_record_work(void *arg)
{
	struct queue_relay_msg *m = arg;
	struct queue *q = m->r->q;
	struct queue_db_result *res = calloc(m->n_rcpts, sizeof(*res));
	int64_t now = queue_now();
	size_t n = 0;
	bool found = false;
	unsigned left = 1;

	if (res == NULL)
		abort();
	for (size_t i = 0; i < m->n_rcpts; i++) {
		struct queue_relay_rcpt *rc = &m->rcpts[i];

		if (!rc->tried)
			continue;
		if (rc->state == QUEUE_STATE_DEFERRED &&
		    queue_schedule_expired(&q->schedule, m->rec.arrival, now)) {
			rc->state = QUEUE_STATE_FAILED;
			/* RFC 3463 4.4.7: given up on; the status of the
			 * server's last answer when there was one */
			if (!rc->remote)
				snprintf(rc->status, sizeof(rc->status), "4.4.7");
		}
		res[n++] = (struct queue_db_result){
			.id = m->rec.id,
			.idx = rc->idx,
			.state = rc->state,
			.error = rc->state == QUEUE_STATE_DELIVERED ? NULL : rc->error,
			.arrival = m->rec.arrival,
			.status = rc->status,
			.remote_mta = rc->remote_mta[0] != '\0' ? rc->remote_mta : NULL,
			.remote = rc->remote,
		};
		if (rc->state == QUEUE_STATE_DELIVERED)
			log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
				  "msg=\"relayed\" queue_id=%s to=%s relay=%s connection=%s reuse=%u",
				  m->rec.id, rc->address, rc->remote_mta, rc->reuse > 0 ? "reused" : "new",
				  rc->reuse);
		else
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"relay %s\" queue_id=%s to=%s error=\"%s\"",
				  queue_state_name(rc->state), m->rec.id, rc->address, rc->error);
	}
	/* not recorded: the recipients are still due in queue.db, tried
	 * again in a minute, and nothing is reported yet */
	if (n > 0 && queue_db_record(q->db, res, n, now, &q->schedule, &m->next_try) != DB_OK) {
		m->next_try = now + 60;
		n = 0;
	}
	free(res);
	/* The results first, then their reports, as local delivery does: a
	 * failure whose report cannot be queued now (or a crash before it
	 * is) stays recorded as failed and unreported, and the relay's next
	 * scan reports it (queue_report_unreported); the scan skips the
	 * messages in flight, so it never reports what this job reports. */
	for (size_t i = 0; i < m->n_rcpts && n > 0; i++)
		if (m->rcpts[i].tried && !queue_relay_report(q, m, &m->rcpts[i], now))
			m->next_try = queue_relay_earlier(m->next_try, now + 60);
	/* removed meanwhile: already out of the queue */
	if (queue_db_exists(q->db, m->rec.id, &found) == DB_OK && found &&
	    queue_db_undelivered(q->db, m->rec.id, &left) == DB_OK && left == 0) {
		queue_file_finish(q, m->rec.id);
		atomic_fetch_add(&q->n_finished, 1);
	}
}

static void queue_relay_record_done(void *arg)
{
	struct queue_relay_msg *m = arg, **p;
	struct queue_relay *r = m->r;
	bool untried = false;

	for (p = &r->inflight; *p != NULL; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			r->n_inflight--;
			break;
		}
	}
	if (r->starved && r->n_inflight <= QUEUE_RELAY_INFLIGHT_MAX / 2) {
		r->starved = false;
		queue_relay_want(r, 0);
	}
	for (size_t i = 0; i < m->n_rcpts; i++)
		untried |= !m->rcpts[i].tried;
	queue_relay_arm(r, m->next_try);
	queue_relay_msg_free(m);
	/* recipients left for a destination's free slot, a scan that found
	 * more than one batch or left recipients of messages in flight:
	 * look again now */
	if (untried || r->look_again)
		queue_relay_want(r, 0);
	if (r->scan_again)
		queue_relay_scan_start(r);
}

void queue_relay_group_done(struct queue_relay_group *g)
{
	struct queue_relay_msg *m = g->m;
	struct queue_relay_count *c = queue_relay_count_find(m->r, g->dest);

	/* a destination that had no room for all of its mail has room for
	 * a good part again: the scan when this message is recorded */
	if (c != NULL) {
		c->groups--;
		if (c->starved && c->groups <= queue_relay_dest_max(m->r) / 2) {
			c->starved = false;
			queue_relay_want(m->r, 0);
		}
		queue_relay_count_drop(m->r, c);
	}
	if (g->holds_file) {
		g->holds_file = false;
		if (--m->holders == 0) {
			close(m->fd);
			m->fd = -1;
		}
	}
	if (g->has_slot) {
		g->has_slot = false;
		queue_relay_slot_release(m->r, g->dest);
	}
	if (--m->groups_left > 0)
		return;
	loop_job(m->r->loop, queue_relay_record_work, queue_relay_record_done, m);
}

/* ---- starting, waking, stopping ---- */

static void queue_relay_timer_fired(void *arg)
{
	struct queue_relay *r = arg;

	r->timer_at = 0;
	queue_relay_want(r, 0);
	queue_relay_scan_start(r);
}

static void queue_relay_kicked(void *arg)
{
	struct queue_relay *r = arg;
	int64_t since;

	pthread_mutex_lock(&r->lock);
	since = r->kick_since;
	r->kick_since = INT64_MAX;
	pthread_mutex_unlock(&r->lock);
	if (since == INT64_MAX)
		return;
	queue_relay_want(r, since);
	queue_relay_scan_start(r);
}

static void queue_relay_stopped(void *arg)
{
	struct queue_relay *r = arg;

	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_mutex_unlock(&r->lock);
	r->stop_hook = NULL;
	loop_timer_stop(r->timer);
	queue_relay_cache_stop(r);
	/* a retry waiting for a socket is over (its recipients deferred
	 * stay due) */
	while (r->conn_waiting != NULL) {
		struct queue_relay_group *g = r->conn_waiting;

		r->conn_waiting = g->park_next;
		queue_relay_group_done(g);
	}
	/* what waits for a slot stays due, untried */
	while (r->parked != NULL) {
		struct queue_relay_group *g = r->parked;

		r->parked = g->park_next;
		queue_relay_group_done(g);
	}
}

static void queue_relay_begin(void *arg)
{
	struct queue_relay *r = arg;

	r->timer = loop_timer_new(r->loop, queue_relay_timer_fired, r);
	r->stop_hook = loop_on_stop(r->loop, queue_relay_stopped, r);
	if (r->stop_hook == NULL) {
		queue_relay_stopped(r);
		return;
	}
	queue_relay_want(r, 0);
	queue_relay_scan_start(r);
}

/* [queue] source_address (config.c checked it). */
static void queue_relay_sources(struct queue_relay *r, const char *value)
{
	char copy[2 * INET6_ADDRSTRLEN + 2], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", value);
	for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&r->source4;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->source6;

		if (inet_pton(AF_INET, t, &sin->sin_addr) == 1)
			sin->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, t, &sin6->sin6_addr) == 1)
			sin6->sin6_family = AF_INET6;
	}
}

unsigned queue_relay_fds(const struct config *cfg)
{
	return cfg->queue.connections * QUEUE_RELAY_SESSION_FDS;
}

int queue_relay_start(struct queue *q, struct loop *loop, unsigned fds, char **error_r)
{
	const struct config *cfg = q->cfg;
	struct queue_relay *r = calloc(1, sizeof(*r));
	const char *err;

	if (r == NULL)
		abort();
	if ((err = queue_route_parse_table(cfg->queue.transport, &r->routes, &r->n_routes)) !=
	    NULL) {
		free(r);
		return errmsg_set(error_r, "[queue] transport: %s", err);
	}
	if (cfg->queue.relayhost[0] != '\0') {
		err = queue_route_parse_host(cfg->queue.relayhost, strlen(cfg->queue.relayhost),
					     &r->relayhost);
		if (err != NULL) {
			free(r->routes);
			free(r);
			return errmsg_set(error_r, "[queue] relayhost: %s", err);
		}
		r->has_relayhost = true;
	}
	for (int t = 0; t < SMTP_CLIENT_TLS__COUNT; t++) {
		smtp_client_policy_init(&r->policies[t], cfg);
		r->policies[t].tls = (enum smtp_client_tls)t;
	}
	smtp_client_policy_init(&r->relay_policy, cfg);
	(void)smtp_client_tls_parse(cfg->queue.relayhost_tls, &r->relay_policy.tls);
	if (cfg->queue.relayhost_user[0] != '\0') {
		r->relay_policy.auth_user = cfg->queue.relayhost_user;
		r->relay_policy.auth_password = cfg->queue.relayhost_password;
		r->relay_policy.auth_unverified = cfg->queue.relayhost_auth_unverified;
	}
	queue_relay_sources(r, cfg->queue.source_address);
	r->max_sessions = fds / QUEUE_RELAY_SESSION_FDS;
	if (r->max_sessions > cfg->queue.connections)
		r->max_sessions = cfg->queue.connections;
	if (r->max_sessions == 0)
		r->max_sessions = 1;
	log_event(r->max_sessions < cfg->queue.connections ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
		  "queue", NULL, NULL,
		  "msg=\"outbound connection limit\" connections=%u configured=%u fds=%u",
		  r->max_sessions, cfg->queue.connections, fds);
	r->q = q;
	r->loop = loop;
	r->scan_since = INT64_MAX;
	r->kick_since = INT64_MAX;
	pthread_mutex_init(&r->lock, NULL);
	q->relay = r;
	loop_post(loop, queue_relay_begin, r);
	return 0;
}

void queue_relay_kick(struct queue *q, int64_t since)
{
	struct queue_relay *r = q->relay;
	bool post;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	/* one post for the kicks before the loop takes them */
	post = r->kick_since == INT64_MAX;
	if (since < r->kick_since)
		r->kick_since = since;
	if (!r->stopping && post)
		loop_post(r->loop, queue_relay_kicked, r);
	pthread_mutex_unlock(&r->lock);
}

void queue_relay_free(struct queue *q)
{
	struct queue_relay *r = q->relay;

	if (r == NULL)
		return;
	/* after the loops ended: what was in flight was recorded (its jobs
	 * ran before the loop could end) or stays due */
	loop_timer_free(&r->timer);
	while (r->inflight != NULL) {
		struct queue_relay_msg *m = r->inflight;

		r->inflight = m->next;
		queue_relay_msg_free(m);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->counts);
	free(r->routes);
	free(r);
	q->relay = NULL;
}
