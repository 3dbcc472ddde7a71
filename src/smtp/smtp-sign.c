/* smtp-sign - DKIM signing of the mail users send (RFC 6376 5): every
 * message of submission (587, 465: logged in) and of the sendmail socket
 * whose From domain has keys in DATA/dkim is signed before it is
 * committed to the queue, with each key that signs for the domain (RSA,
 * Ed25519 beside it), the DKIM-Signature fields going before the message
 * (queue_msg_prepend). Mail from port 25 is not signed: it is not ours.
 *
 * Where the work runs: the signer reads the message as it arrives, on the
 * I/O loop, like the DATA reader itself (a pass over each piece and
 * SHA-256 of the body: no I/O, a bounded cost per read); reading the keys
 * and the private key operations (an RSA signature is about a
 * millisecond) run in a job at the end of the message, as the queue's
 * flushes do. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/dkim-keys.h"
#include "smtp/smtp-session.h"

struct dkim_signer *smtp_sign_begin(const struct smtp_session *s)
{
	if (s->ctx->dkim == NULL ||
	    (s->ctx->service != SMTP_SERVICE_SUBMISSION && s->ctx->service != SMTP_SERVICE_LOCAL))
		return NULL;
	return dkim_signer_new();
}

struct smtp_sign {
	struct smtp_session *s;
	struct dkim_signer *signer;
	struct dkim_keys *keys;
	void (*then)(struct smtp_session *s);
	time_t when;
	/* the job's results */
	struct buf fields;           /* the DKIM-Signature fields */
	const char *why;             /* not signed: why (static) */
	char *error;                 /* failed: why (malloc'd) */
	char domain[256];
	char selectors[2 * (DKIM_SELECTOR_MAX + 1)];
};

static void smtp_sign_work(void *arg)
{
	struct smtp_sign *j = arg;
	struct dkim_signing_key keys[DKIM_ALGORITHM__COUNT];
	const char *domain = dkim_signer_finish(j->signer, &j->why);
	int n;

	if (domain == NULL)
		return;
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	n = dkim_keys_find(j->keys, domain, keys, &j->error);
	for (int i = 0; i < n; i++) {
		if (j->error == NULL &&
		    dkim_signer_sign(j->signer, keys[i].key, keys[i].selector, j->when, &j->fields) < 0 &&
		    asprintf(&j->error, "the %s key %s cannot sign",
			     dkim_algorithm_name(dkim_key_algorithm(keys[i].key)), keys[i].selector) < 0)
			abort();
		if (j->error == NULL) {
			size_t len = strlen(j->selectors);

			snprintf(j->selectors + len, sizeof(j->selectors) - len, "%s%s",
				 len > 0 ? "," : "", keys[i].selector);
		}
		dkim_key_unref(&keys[i].key);
	}
	if (n == 0)
		j->why = "the domain has no key";
}

static void smtp_sign_done(void *arg)
{
	struct smtp_sign *j = arg;
	struct smtp_session *s = j->s;
	struct smtp_txn *txn = &s->txn;
	void (*then)(struct smtp_session *s) = j->then;

	if (conn_is_closing(s->conn))
		goto out;
	if (j->error != NULL) {
		conn_log(s->conn, LOG_LEVEL_ERROR, "msg=\"cannot DKIM-sign\" id=%s domain=%s error=\"%s\"",
			 txn->id, j->domain, j->error);
		txn->dkim_failed = true;
	} else if (j->fields.len > 0) {
		queue_msg_prepend(txn->msg, j->fields.data, j->fields.len);
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"DKIM-signed\" id=%s domain=%s selectors=%s",
			 txn->id, j->domain, j->selectors);
	} else if (j->domain[0] == '\0') {
		/* a message that cannot be signed; a domain without keys (the
		 * domain is known, no field made) is the normal case, not
		 * logged */
		conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"not DKIM-signed\" id=%s reason=\"%s\"",
			 txn->id, j->why != NULL ? j->why : "unknown");
	}
	smtp_session_continue(s);
	then(s);
out:
	buf_release(&j->fields);
	free(j->error);
	free(j);
}

void smtp_sign_finish(struct smtp_session *s, void (*then)(struct smtp_session *s))
{
	struct smtp_sign *j = calloc(1, sizeof(*j));

	if (j == NULL)
		abort();
	*j = (struct smtp_sign){
		.s = s,
		.signer = s->txn.dkim,
		.keys = s->ctx->dkim,
		.then = then,
		.when = time(NULL),
	};
	buf_init(&j->fields, DKIM_ALGORITHM__COUNT * DKIM_SIGNATURE_FIELD_MAX);
	smtp_session_wait(s);
	conn_job(s->conn, smtp_sign_work, smtp_sign_done, j);
}
