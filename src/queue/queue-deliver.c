/* queue-deliver - a delivery job: one account's waiting recipients into
 * its INBOX with one store batch (one index transaction, one fsync of its
 * msg/ folder; the handle kept open for the next job, queue-handles.c),
 * the quota checked first; the results recorded in
 * queue.db in one transaction; the reports they call for (a failure, a
 * delay warning, a delivery with NOTIFY=SUCCESS: queue-report.c); each
 * message done with everywhere taken out of the queue. A failure stays
 * queued with its error and a retry time (queue-schedule.h) until it
 * expires. Runs on libuv's thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dir/dir.h"
#include "queue/queue-private.h"
#include "store/store.h"

struct queue_batch {
	const char *address;
	struct queue_entry **es;     /* the entries tried */
	struct queue_db_result *res; /* their results, same order */
	bool *expired;               /* failed because the lifetime ended */
	size_t n;
};

static void queue_batch_set(struct queue_batch *b, size_t i, enum queue_state state,
			    const char *error)
{
	b->res[i].state = state;
	b->res[i].error = error;
}

static void queue_batch_all(struct queue_batch *b, enum queue_state state, const char *error)
{
	for (size_t i = 0; i < b->n; i++)
		queue_batch_set(b, i, state, error);
}

/* Into the store: the entries within the quota, in one batch. */
static void queue_batch_store(struct queue *q, struct queue_batch *b,
			      struct store_account *acct, uint64_t quota)
{
	struct store_delivery *items = calloc(b->n, sizeof(*items));
	size_t *which = calloc(b->n, sizeof(*which));
	uint64_t usage = 0;
	enum store_error err = STORE_OK;
	size_t k = 0;

	if (items == NULL || which == NULL)
		abort();
	if (quota > 0 && (err = store_account_used(acct, &usage)) != STORE_OK)
		queue_batch_all(b, QUEUE_STATE_DEFERRED, store_error_name(err));
	for (size_t i = 0; i < b->n && err == STORE_OK; i++) {
		const struct queue_item *it = b->es[i]->item;

		if (!store_quota_allows(quota, usage, it->size)) {
			queue_batch_set(b, i, QUEUE_STATE_DEFERRED, "mailbox over quota");
			continue;
		}
		usage += it->size;
		items[k] = (struct store_delivery){
			.mailbox = "INBOX",
			.dirfd = q->msg_fd,
			.name = it->id,
			.size = it->size,
			.internal_date = it->arrival,
			.queue_id = it->id,
		};
		which[k++] = i;
	}
	if (err == STORE_OK && k > 0) {
		err = store_deliver_batch(acct, items, k);
		for (size_t j = 0; j < k; j++) {
			enum store_error e = err != STORE_OK ? err : items[j].error;

			if (e == STORE_OK)
				queue_batch_set(b, which[j], QUEUE_STATE_DELIVERED, NULL);
			else
				queue_batch_set(b, which[j], QUEUE_STATE_DEFERRED, store_error_name(e));
		}
	}
	free(items);
	free(which);
}

static void queue_batch_deliver(struct queue *q, struct queue_batch *b)
{
	struct store_account *acct = NULL;
	struct dir_delivery info;
	enum dir_error derr;
	enum store_error err;

	derr = dir_delivery_lookup(q->dir, b->address, &info);
	if (derr == DIR_ERR_NOT_FOUND || derr == DIR_ERR_INVALID) {
		queue_batch_all(b, QUEUE_STATE_FAILED, "no such account");
		return;
	}
	if (derr != DIR_OK) {
		queue_batch_all(b, QUEUE_STATE_DEFERRED, "the directory is unavailable");
		return;
	}
	if ((err = queue_handles_get(q->handles, info.address, &acct)) != STORE_OK) {
		queue_batch_all(b, QUEUE_STATE_DEFERRED, store_error_name(err));
	} else {
		queue_batch_store(q, b, acct, info.quota);
		queue_handles_put(q->handles, acct);
	}
	dir_delivery_free(&info);
}

/* A try that failed again after the lifetime: the failure is final. */
static void queue_batch_expire(struct queue *q, struct queue_batch *b, int64_t now)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->res[i].state == QUEUE_STATE_DEFERRED &&
		    queue_schedule_expired(&q->schedule, b->res[i].arrival, now)) {
			b->res[i].state = QUEUE_STATE_FAILED;
			b->expired[i] = true;
		}
	}
}

/* The reports the results call for; a failed recipient whose report
 * could not be queued is reported by a later scan (queue-worker.c). */
static void queue_batch_report(struct queue *q, const struct queue_batch *b, int64_t now)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct queue_db_result *r = &b->res[i];
		char diagnostic[128];
		struct queue_report_rcpt rr = {
			.idx = r->idx,
			.status = r->state == QUEUE_STATE_DELIVERED ? "2.0.0"
								   : queue_local_status(r->error),
			.diagnostic_type = r->error != NULL ? "X-tern" : NULL,
			.diagnostic = r->error,
			.last_attempt = now,
		};

		if (r->state == QUEUE_STATE_DELIVERED) {
			/* RFC 3461 5.2.3: only when asked (the common case reads
			 * nothing more) */
			if ((b->es[i]->notify & QUEUE_NOTIFY_SUCCESS) == 0 ||
			    (b->es[i]->notify & QUEUE_NOTIFY_NEVER) != 0)
				continue;
			rr.action = MAIL_DSN_DELIVERED;
		} else if (r->state == QUEUE_STATE_FAILED) {
			rr.action = MAIL_DSN_FAILED;
		} else if (queue_schedule_warn_due(&q->schedule, r->arrival, now)) {
			rr.action = MAIL_DSN_DELAYED;
		} else {
			continue;
		}
		if (b->expired[i]) {
			snprintf(diagnostic, sizeof(diagnostic), "%s (given up after %lld days)",
				 r->error, (long long)((q->schedule.lifetime + 86399) / 86400));
			rr.diagnostic = diagnostic;
		}
		if (queue_report(q, r->id, &rr, 1) < 0)
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"cannot queue a report now\" queue_id=%s to=%s", r->id,
				  b->address);
	}
}

static void queue_batch_log(const struct queue_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct queue_db_result *r = &b->res[i];

		if (r->state == QUEUE_STATE_DELIVERED)
			log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
				  "msg=\"delivered\" queue_id=%s to=%s", r->id, b->address);
		else
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"delivery %s\" queue_id=%s to=%s error=\"%s\"",
				  queue_state_name(r->state), r->id, b->address, r->error);
	}
}

/* A message whose recipients in flight are all done: out of the queue
 * when it was removed, or when every recipient is delivered. */
static void queue_item_finish(struct queue *q, struct queue_item *it)
{
	unsigned left = it->none_left ? 0 : 1;

	if (!it->removed && !it->none_left && queue_db_undelivered(q->db, it->id, &left) != DB_OK)
		left = 1;
	if (it->removed || left == 0) {
		queue_file_finish(q, it->id);
		if (!it->removed)
			atomic_fetch_add(&q->n_finished, 1);
	}
	queue_item_free(it);
}

int64_t queue_deliver_run(struct queue *q, struct queue_active *active, const char *address,
			  struct queue_entry *entries)
{
	struct queue_batch b = { .address = address };
	struct queue_item *finished = NULL;
	size_t n = 0, delivered = 0, failed = 0;
	int64_t next_try = 0;

	for (struct queue_entry *e = entries; e != NULL; e = e->next)
		n++;
	b.es = calloc(n, sizeof(*b.es));
	b.res = calloc(n, sizeof(*b.res));
	b.expired = calloc(n, sizeof(*b.expired));
	if (b.es == NULL || b.res == NULL || b.expired == NULL)
		abort();
	/* held or removed since they were queued: not tried */
	queue_active_lock(active);
	for (struct queue_entry *e = entries; e != NULL; e = e->next) {
		if (!e->item->held && !e->item->removed) {
			b.res[b.n] = (struct queue_db_result){
				.id = e->item->id,
				.idx = e->idx,
				.arrival = e->item->arrival,
			};
			b.es[b.n++] = e;
		}
	}
	queue_active_unlock(active);
	if (b.n > 0) {
		int64_t now;

		queue_batch_deliver(q, &b);
		now = queue_now();
		queue_batch_expire(q, &b, now);
		queue_batch_log(&b);
		/* not recorded: the recipients are still due in queue.db; a scan
		 * in a minute tries them again (and nothing is reported yet) */
		if (queue_db_record(q->db, b.res, b.n, now, &q->schedule, &next_try) != DB_OK)
			next_try = now + 60;
		else
			queue_batch_report(q, &b, now);
	}
	for (size_t i = 0; i < b.n; i++) {
		if (b.res[i].state == QUEUE_STATE_DELIVERED)
			delivered++;
		else
			failed++;
	}
	atomic_fetch_add(&q->n_delivered, delivered);
	atomic_fetch_add(&q->n_deferred, failed);
	/* After the record: a scan that sees the old rows still finds the
	 * entries in flight (queue-active.h). */
	queue_active_lock(active);
	for (size_t i = 0; i < b.n; i++)
		if (b.res[i].none_left)
			b.es[i]->item->none_left = true;
	while (entries != NULL) {
		struct queue_entry *e = entries;
		struct queue_item *it;

		entries = e->next;
		if ((it = queue_active_entry_done(active, e)) != NULL) {
			it->hnext = finished;
			finished = it;
		}
	}
	queue_active_unlock(active);
	while (finished != NULL) {
		struct queue_item *it = finished;

		finished = it->hnext;
		queue_item_finish(q, it);
	}
	free(b.es);
	free(b.res);
	free(b.expired);
	return next_try;
}
