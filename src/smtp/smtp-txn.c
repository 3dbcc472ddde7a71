/* smtp-txn - the mail transaction (RFC 5321 3.3): the sender, the final
 * recipients without duplicates, the envelope handed to the queue, and
 * giving a message up (RSET, EHLO, the end of the session). */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-session.h"

static char *smtp_txn_strdup(const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		abort();
	return copy;
}

static int smtp_txn_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void smtp_txn_keep(void *key)
{
	(void)key;
}

bool smtp_txn_add_rcpt(struct smtp_txn *txn, const char *address, bool local, const char *orcpt,
		       unsigned notify)
{
	struct smtp_rcpt *r;

	if (tfind(address, &txn->rcpt_index, smtp_txn_cmp) != NULL)
		return true;
	if (txn->n_rcpts == SMTP_ENVELOPE_RECIPIENTS_MAX)
		return false;
	/* Room for one more: 4, 8, 16, ... */
	if (txn->n_rcpts == 0 || (txn->n_rcpts >= 4 && (txn->n_rcpts & (txn->n_rcpts - 1)) == 0)) {
		size_t cap = txn->n_rcpts == 0 ? 4 : 2 * txn->n_rcpts;

		txn->rcpts = realloc(txn->rcpts, cap * sizeof(*txn->rcpts));
		if (txn->rcpts == NULL)
			abort();
	}
	r = &txn->rcpts[txn->n_rcpts++];
	r->address = smtp_txn_strdup(address);
	r->local = local;
	r->orcpt = orcpt != NULL ? smtp_txn_strdup(orcpt) : NULL;
	r->notify = notify;
	if (tsearch(r->address, &txn->rcpt_index, smtp_txn_cmp) == NULL)
		abort();
	return true;
}

/* Free the transaction's fields; the message is the caller's. */
static void smtp_txn_clear(struct smtp_txn *txn)
{
	tdestroy(txn->rcpt_index, smtp_txn_keep);
	for (size_t i = 0; i < txn->n_rcpts; i++) {
		free(txn->rcpts[i].address);
		free(txn->rcpts[i].orcpt);
	}
	free(txn->rcpts);
	free(txn->sender);
	free(txn->envid);
	free(txn->first_rcpt);
	mail_header_counter_deinit(&txn->received);
	dkim_signer_free(&txn->dkim);
	memset(txn, 0, sizeof(*txn));
}

static unsigned smtp_txn_notify(unsigned notify)
{
	return ((notify & SMTP_NOTIFY_NEVER) != 0 ? QUEUE_NOTIFY_NEVER : 0) |
	       ((notify & SMTP_NOTIFY_SUCCESS) != 0 ? QUEUE_NOTIFY_SUCCESS : 0) |
	       ((notify & SMTP_NOTIFY_FAILURE) != 0 ? QUEUE_NOTIFY_FAILURE : 0) |
	       ((notify & SMTP_NOTIFY_DELAY) != 0 ? QUEUE_NOTIFY_DELAY : 0);
}

void smtp_txn_envelope(const struct smtp_session *s, struct queue_envelope *env,
		       struct queue_rcpt **rcpts_r)
{
	const struct smtp_txn *txn = &s->txn;
	struct queue_rcpt *rcpts = calloc(txn->n_rcpts, sizeof(*rcpts));

	if (rcpts == NULL)
		abort();
	for (size_t i = 0; i < txn->n_rcpts; i++) {
		rcpts[i].address = txn->rcpts[i].address;
		rcpts[i].local = txn->rcpts[i].local;
		rcpts[i].orcpt = txn->rcpts[i].orcpt;
		rcpts[i].notify = smtp_txn_notify(txn->rcpts[i].notify);
	}
	*env = (struct queue_envelope){
		.sender = txn->sender != NULL ? txn->sender : "",
		.rcpts = rcpts,
		.n_rcpts = txn->n_rcpts,
		.envid = txn->envid,
		.ret = txn->ret == SMTP_RET_FULL ? QUEUE_RET_FULL :
		       txn->ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS : QUEUE_RET_DEFAULT,
		.smtputf8 = txn->smtputf8,
		/* no .eightbit: BODY= is a claim, the queue sees the content
		 * itself (queue_msg_add) */
		.auth_user = s->auth_user,
		/* sendmail: made locally, by this user (queue.h) */
		.client_ip = s->ctx->service == SMTP_SERVICE_LOCAL ? "" : conn_remote_ip(s->conn),
		.helo = s->ctx->service == SMTP_SERVICE_LOCAL ? s->local_user : s->helo,
	};
	*rcpts_r = rcpts;
}

/* ---- giving a message up ---- */

struct smtp_abort {
	struct smtp_session *s;
	struct queue_msg *msg;
	void (*then)(struct smtp_session *s);
};

static void smtp_abort_work(void *arg)
{
	struct smtp_abort *a = arg;

	queue_msg_abort(&a->msg);
}

static void smtp_abort_done(void *arg)
{
	struct smtp_abort *a = arg;
	struct smtp_session *s = a->s;
	void (*then)(struct smtp_session *s) = a->then;

	free(a);
	if (conn_is_closing(s->conn))
		return;
	smtp_session_continue(s);
	if (then != NULL)
		then(s);
}

/* Give `msg` (may be NULL) up, then run then(s). */
static void smtp_txn_abort(struct smtp_session *s, struct queue_msg *msg,
			   void (*then)(struct smtp_session *s))
{
	struct smtp_abort *a;

	if (msg == NULL) {
		if (then != NULL)
			then(s);
		return;
	}
	/* queue_msg_abort may remove a temporary file: a job. */
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		abort();
	a->s = s;
	a->msg = msg;
	a->then = then;
	smtp_session_wait(s);
	conn_job(s->conn, smtp_abort_work, smtp_abort_done, a);
}

void smtp_txn_reset(struct smtp_session *s, void (*then)(struct smtp_session *s))
{
	struct queue_msg *msg = s->txn.msg;

	s->txn.msg = NULL;
	smtp_txn_clear(&s->txn);
	if (s->state != SMTP_STATE_GREETING)
		smtp_session_set_state(s, s->helo[0] != '\0' ? SMTP_STATE_READY : SMTP_STATE_START);
	smtp_txn_abort(s, msg, then);
}

void smtp_txn_drop_message(struct smtp_session *s, void (*then)(struct smtp_session *s))
{
	struct queue_msg *msg = s->txn.msg;

	s->txn.msg = NULL;
	dkim_signer_free(&s->txn.dkim);
	smtp_txn_abort(s, msg, then);
}

static void smtp_abort_orphan(void *arg)
{
	struct queue_msg *msg = arg;

	queue_msg_abort(&msg);
}

void smtp_txn_free(struct smtp_session *s)
{
	struct queue_msg *msg = s->txn.msg;

	smtp_txn_clear(&s->txn);
	if (msg != NULL)
		conn_job_after_close(s->conn, smtp_abort_orphan, msg);
}
