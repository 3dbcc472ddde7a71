/* queue-report - Delivery Status Notifications for queued mail: what the
 * recipients' NOTIFY asks for (RFC 3461 4.1), the report written by
 * mail/mail-dsn.h from the message's envelope and file, and queued back
 * to the envelope sender with the null sender, so that a report to a
 * local user is delivered at once by the queue's own local delivery and
 * one to another domain waits for the outbound side. Never a report for
 * mail from the null sender (RFC 3461 6.2, RFC 3834: no loops). Blocking:
 * from a job of the queue. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "dir/dir-resolve.h"
#include "queue/queue-private.h"

/* RFC 3461 4.1: no NOTIFY given is FAILURE (and DELAY at the MTA's
 * choice, which Postfix and tern make). */
static unsigned queue_report_notify(unsigned notify)
{
	return notify != 0 ? notify : QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY;
}

static bool queue_report_wanted(unsigned notify, enum mail_dsn_action action)
{
	notify = queue_report_notify(notify);
	if (notify & QUEUE_NOTIFY_NEVER)
		return false;
	switch (action) {
	case MAIL_DSN_FAILED:
		return (notify & QUEUE_NOTIFY_FAILURE) != 0;
	case MAIL_DSN_DELAYED:
		return (notify & QUEUE_NOTIFY_DELAY) != 0;
	case MAIL_DSN_DELIVERED:
	case MAIL_DSN_RELAYED:
	case MAIL_DSN_EXPANDED:
	case MAIL_DSN__COUNT:
		break;
	}
	return (notify & QUEUE_NOTIFY_SUCCESS) != 0;
}

const char *queue_local_status(const char *error)
{
	static const struct {
		const char *error, *status;
	} table[] = {
		{ "no such account", "5.1.1" },   /* RFC 3463 3.2: bad destination mailbox */
		{ "mailbox over quota", "4.2.2" }, /* mailbox full */
		{ "the directory is unavailable", "4.4.3" },
	};

	for (size_t i = 0; error != NULL && i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(error, table[i].error) == 0)
			return table[i].status;
	return "4.3.0";   /* the store's errors: the mail system */
}

/* Up to max octets of fd from off. Returns the bytes read (malloc'd, *len_r). */
static char *queue_report_read(int fd, off_t off, size_t max, size_t *len_r)
{
	char *data = malloc(max + 1);
	size_t got = 0;

	if (data == NULL)
		abort();
	while (got < max) {
		ssize_t n = pread(fd, data + got, max - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*len_r = got;
	return data;
}

/* The original as received: the file after its Return-Path line, whole
 * when it can be returned whole, else its beginning for the header. */
static char *queue_report_original(int fd, uint64_t size, size_t *len_r, bool *whole_r)
{
	char line[QUEUE_FIELD_MAX + 64];
	size_t n = 0, skip;
	char *nl, *data;

	data = queue_report_read(fd, 0, sizeof(line), &n);
	nl = memchr(data, '\n', n);
	skip = nl != NULL ? (size_t)(nl - data) + 1 : 0;
	free(data);
	if (skip > size)
		skip = (size_t)size;
	*whole_r = size - skip <= MAIL_DSN_RETURN_MAX;
	return queue_report_read(fd, (off_t)skip,
				 *whole_r ? (size_t)(size - skip) : MAIL_DSN_HEADER_MAX + 2, len_r);
}

struct queue_report_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	enum queue_error error;
};

static void queue_report_committed(void *arg, enum queue_error error)
{
	struct queue_report_wait *w = arg;

	/* The signal goes out under the lock, unlike the committer's: w is
	 * on the waiter's stack, and once done is seen it may be gone. */
	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->error = error;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Queue `data` from <> to `to`, resolved as RCPT would (a local account,
 * an alias's targets, or an external address), and wait for the commit.
 * 0 when it is durable or nobody can take it (logged), -1 to try later. */
static int queue_report_submit(struct queue *q, const char *about, const char *to,
			       const char *data, size_t len, bool utf8)
{
	const struct dir_resolve_options opts = {
		.subaddress_separators = q->cfg->smtp.subaddress_separator,
		.postmaster = q->cfg->smtp.postmaster,
	};
	struct queue_report_wait w = { .done = false };
	char msg_id[QUEUE_ID_LEN + 1];
	struct dir_resolution res;
	struct queue_rcpt *rcpts;
	struct queue_envelope env;
	struct queue_msg *m;
	enum dir_error derr;
	size_t n = 0;

	memset(&res, 0, sizeof(res));
	derr = dir_resolve(q->dir, to, &opts, &res);
	if (derr == DIR_ERR_TEMP) {
		dir_resolution_free(&res);
		return -1;
	}
	if (derr != DIR_OK && derr != DIR_ERR_NO_DOMAIN) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"report dropped: its recipient takes no mail\" about=%s to=%s "
			  "error=\"%s\"", about, to, dir_error_str(derr));
		dir_resolution_free(&res);
		return 0;
	}
	rcpts = calloc(derr == DIR_OK ? res.n_recipients : 1, sizeof(*rcpts));
	if (rcpts == NULL)
		abort();
	if (derr == DIR_ERR_NO_DOMAIN)
		rcpts[n++] = (struct queue_rcpt){ .address = to, .local = false };
	for (size_t i = 0; derr == DIR_OK && i < res.n_recipients; i++)
		rcpts[n++] = (struct queue_rcpt){
			.address = res.recipients[i].address,
			.local = res.recipients[i].kind == DIR_RECIPIENT_LOCAL,
		};
	env = (struct queue_envelope){
		.sender = "",
		.rcpts = rcpts,
		.n_rcpts = n,
		.smtputf8 = utf8,
		.client_ip = "",
		.helo = q->cfg->server.hostname,
	};
	m = queue_msg_begin(q, &env);
	free(rcpts);
	dir_resolution_free(&res);
	if (m == NULL)
		return -1;
	if (queue_msg_add(m, data, len) && queue_msg_flush(m) != QUEUE_OK) {
		queue_msg_abort(&m);
		return -1;
	}
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	snprintf(msg_id, sizeof(msg_id), "%s", queue_msg_id(m));
	queue_msg_commit(m, queue_report_committed, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (w.error != QUEUE_OK)
		return -1;
	log_event(LOG_LEVEL_INFO, "queue", NULL, NULL,
		  "msg=\"report queued\" about=%s queue_id=%s to=%s", about, msg_id, to);
	return 0;
}

int queue_report(struct queue *q, const char *id, const struct queue_report_rcpt *rcpts,
		 size_t n)
{
	struct mail_dsn_rcpt *out = calloc(n, sizeof(*out));
	unsigned *final = calloc(n, sizeof(*final)), *delayed = calloc(n, sizeof(*delayed));
	size_t n_out = 0, n_final = 0, n_delayed = 0, len = 0, orig_len = 0;
	struct queue_record rec;
	char token[QUEUE_ID_LEN + 1], *report = NULL, *orig = NULL;
	bool whole = false;
	int fd, ret = 0;

	if (out == NULL || final == NULL || delayed == NULL)
		abort();
	fd = openat(q->msg_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || queue_file_envelope(q, id, fd, &rec) != 0) {
		if (fd >= 0)
			close(fd);
		free(out);
		free(final);
		free(delayed);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct queue_report_rcpt *r = &rcpts[i];
		const struct queue_rcpt *orcpt;
		unsigned bits = 0;

		if (r->idx >= rec.env.n_rcpts)
			continue;
		orcpt = &rec.env.rcpts[r->idx];
		if (r->action == MAIL_DSN_FAILED)
			final[n_final++] = r->idx;
		/* RFC 3461 6.2: no report of mail from <> */
		if (rec.env.sender[0] == '\0' || !queue_report_wanted(orcpt->notify, r->action))
			continue;
		if (r->action == MAIL_DSN_DELAYED) {
			if (queue_db_reported(q->db, id, r->idx, &bits) != DB_OK ||
			    (bits & QUEUE_REPORTED_DELAY) != 0)
				continue;
			delayed[n_delayed++] = r->idx;
		}
		out[n_out++] = (struct mail_dsn_rcpt){
			.address = orcpt->address,
			.orcpt = orcpt->orcpt,
			.action = r->action,
			.status = r->status,
			.remote_mta = r->remote_mta,
			.diagnostic_type = r->diagnostic_type,
			.diagnostic = r->diagnostic,
			.last_attempt = r->last_attempt,
			.will_retry_until = queue_schedule_expiry(&q->schedule, rec.arrival),
		};
	}
	if (n_out > 0) {
		struct mail_dsn dsn = {
			.reporting_mta = q->cfg->server.hostname,
			.to = rec.env.sender,
			.envid = rec.env.envid,
			.arrival = rec.arrival,
			.now = queue_now(),
			.token = token,
			.utf8 = rec.env.smtputf8,
			.rcpts = out,
			.n_rcpts = n_out,
		};

		queue_id_new(token);
		orig = queue_report_original(fd, rec.size, &orig_len, &whole);
		dsn.message = orig;
		dsn.message_len = orig_len;
		/* RFC 3461 4.3: without RET, tern returns the whole message */
		dsn.ret = whole && rec.env.ret != QUEUE_RET_HDRS ? MAIL_DSN_RETURN_FULL
								 : MAIL_DSN_RETURN_HEADERS;
		report = mail_dsn_write(&dsn, &len);
		if (report == NULL)
			log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
				  "msg=\"cannot write a report\" queue_id=%s", id);
		else
			ret = queue_report_submit(q, id, rec.env.sender, report, len,
						  rec.env.smtputf8);
	}
	close(fd);
	if (ret == 0 && (queue_db_mark_reported(q->db, id, final, n_final, QUEUE_REPORTED_FINAL) !=
				 DB_OK ||
			 queue_db_mark_reported(q->db, id, delayed, n_delayed,
						QUEUE_REPORTED_DELAY) != DB_OK))
		ret = -1;
	free(report);
	free(orig);
	free(out);
	free(final);
	free(delayed);
	queue_record_free(&rec);
	return ret;
}

struct queue_report_list {
	struct queue_db_unreported *items;
	size_t n, cap;
	const char (*skip)[QUEUE_ID_LEN + 1];
	size_t n_skip;
};

static char *queue_report_dup(const char *s)
{
	char *copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup(s)) == NULL)
		abort();
	return copy;
}

static void queue_report_collect(void *ctx, const struct queue_db_unreported *u)
{
	struct queue_report_list *l = ctx;

	for (size_t i = 0; i < l->n_skip; i++)
		if (strcmp(l->skip[i], u->id) == 0)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		if ((l->items = realloc(l->items, l->cap * sizeof(*l->items))) == NULL)
			abort();
	}
	l->items[l->n++] = (struct queue_db_unreported){
		.id = queue_report_dup(u->id),
		.idx = u->idx,
		.error = queue_report_dup(u->error),
		.status = queue_report_dup(u->status),
		.remote_mta = queue_report_dup(u->remote_mta),
		.remote = u->remote,
	};
}

unsigned queue_report_unreported(struct queue *q, bool local, int64_t before,
				 const char (*skip)[QUEUE_ID_LEN + 1], size_t n_skip)
{
	struct queue_report_list l = { .items = NULL, .skip = skip, .n_skip = n_skip };
	unsigned left = 1, failed = 0;

	if (queue_db_unreported(q->db, local, before, QUEUE_REPORT_SCAN_MAX, queue_report_collect,
				&l) != DB_OK)
		l.n = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct queue_db_unreported *u = &l.items[i];
		struct queue_report_rcpt rr = {
			.idx = u->idx,
			.action = MAIL_DSN_FAILED,
			/* as the try recorded it; a local delivery's from its error */
			.status = u->status != NULL ? u->status : queue_local_status(u->error),
			.remote_mta = u->remote_mta,
			.diagnostic_type = u->error == NULL ? NULL : u->remote ? "smtp" : "X-tern",
			.diagnostic = u->error,
		};

		/* done with everywhere now: out of the queue */
		if (queue_report(q, u->id, &rr, 1) != 0)
			failed++;
		else if (queue_db_undelivered(q->db, u->id, &left) == DB_OK && left == 0)
			queue_file_finish(q, u->id);
		free((char *)u->id);
		free((char *)u->error);
		free((char *)u->status);
		free((char *)u->remote_mta);
	}
	free(l.items);
	return failed;
}
