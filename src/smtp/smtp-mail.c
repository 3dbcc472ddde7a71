/* smtp-mail - MAIL and RCPT (RFC 5321 4.1.1.2-3): the envelope. MAIL
 * checks SIZE= (RFC 1870 6), the free space, and on submission the login
 * and whom the sender address belongs to (a job, or the directory's cache
 * on the loop); RCPT resolves each recipient
 * through the directory in a job (aliases, catch-all, sub-addressing,
 * postmaster), or on the loop when the directory's cache knows it,
 * applies the relay decision (smtp-relay.h) and the quota;
 * an SRS address of ours (a bounce to mail an alias forwarded) goes back
 * to the address it was made from. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dir/dir-resolve.h"
#include "mail/mail-srs.h"
#include "smtp/smtp-session.h"
#include "store/store.h"

static char *smtp_strdup(const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		abort();
	return copy;
}

static void smtp_resolve_options(const struct smtp_session *s, struct dir_resolve_options *o)
{
	o->subaddress_separators = s->cfg->smtp.subaddress_separator;
	o->postmaster = s->cfg->smtp.postmaster;
}

/* ---- MAIL ---- */

/* A MAIL whose checks passed: it starts the transaction. */
static void smtp_mail_accept(struct smtp_session *s, const char *sender,
			     const struct smtp_mail_params *p)
{
	struct smtp_txn *txn = &s->txn;

	txn->sender = smtp_strdup(sender);
	txn->smtputf8 = p->smtputf8;
	txn->ret = p->ret;
	txn->envid = p->has_envid ? smtp_strdup(p->envid) : NULL;
	txn->size = p->has_size ? p->size : 0;
	s->mailed = true;
	smtp_session_set_state(s, SMTP_STATE_MAIL);
	smtp_reply(s, 250, "2.1.0", "Sender <%s> OK", sender);
}

/* Submission with [smtp] sender_login = aliases: does the sender address
 * lead to the account (its own, a sub-address of it, an alias or the
 * catch-all that delivers to it)? */
struct smtp_mail_job {
	struct smtp_session *s;
	char sender[SMTP_ADDRESS_TEXT_MAX];
	struct smtp_mail_params params;
	enum dir_error error;
	bool owned;
};

/* Does the sender's resolution lead to the logged-in account? Frees it. */
static bool smtp_mail_owned(const struct smtp_session *s, enum dir_error error,
			    struct dir_resolution *res)
{
	bool owned = false;

	for (size_t i = 0; error == DIR_OK && i < res->n_recipients; i++)
		if (res->recipients[i].kind == DIR_RECIPIENT_LOCAL &&
		    strcmp(res->recipients[i].address, s->auth_user) == 0)
			owned = true;
	dir_resolution_free(res);
	return owned;
}

static void smtp_mail_work(void *arg)
{
	struct smtp_mail_job *j = arg;
	struct smtp_session *s = j->s;
	struct dir_resolve_options options;
	struct dir_resolution res;

	smtp_resolve_options(s, &options);
	j->error = dir_resolve(s->ctx->dir, j->sender, &options, &res);
	j->owned = smtp_mail_owned(s, j->error, &res);
}

/* The reply to MAIL once whom the sender belongs to is known. */
static void smtp_mail_answer(struct smtp_session *s, const struct smtp_mail_job *j)
{
	if (j->error == DIR_ERR_TEMP)
		smtp_reply_fail(s, SMTP_FAIL_TEMP, "sender lookup");
	else if (!j->owned)
		smtp_reply_fail(s, SMTP_FAIL_SENDER_OWNER, NULL);
	else
		smtp_mail_accept(s, j->sender, &j->params);
}

static void smtp_mail_done(void *arg)
{
	struct smtp_mail_job *j = arg;
	struct smtp_session *s = j->s;

	if (!conn_is_closing(s->conn)) {
		smtp_mail_answer(s, j);
		smtp_session_continue(s);
	}
	free(j);
}

/* The sender's owner from the directory's cache, on the loop: true when
 * the job is not needed. */
static bool smtp_mail_known(const struct smtp_session *s, struct smtp_mail_job *j)
{
	struct dir_resolve_options options;
	struct dir_resolution res;

	smtp_resolve_options(s, &options);
	if (!dir_resolve_cached(s->ctx->dir, j->sender, &options, &j->error, &res))
		return false;
	j->owned = smtp_mail_owned(s, j->error, &res);
	return true;
}

void smtp_cmd_mail(struct smtp_session *s, const struct smtp_command *cmd)
{
	const struct smtp_mail_params *p = &cmd->mail.params;
	const char *rule = s->cfg->smtp.sender_login;
	char sender[SMTP_ADDRESS_TEXT_MAX];
	struct smtp_mail_job *j;

	if (s->ctx->service == SMTP_SERVICE_SUBMISSION && s->auth_user == NULL) {
		/* RFC 6409 4.3, RFC 4954 6. */
		smtp_reply_fail(s, SMTP_FAIL_AUTH_REQUIRED, NULL);
		return;
	}
	if (p->has_size && p->size > s->cfg->limits.message_size) {
		/* RFC 1870 6.1: refused at MAIL, permanently. */
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size (%" PRIu64
			   " octets)", s->cfg->limits.message_size);
		return;
	}
	if (!queue_has_space(s->ctx->queue)) {
		smtp_reply_fail(s, SMTP_FAIL_NO_SPACE, "free space below [limits] min_free_space");
		return;
	}
	smtp_address_write(&cmd->mail.from, sender);
	/* The null sender (bounces, vacation replies) belongs to nobody. */
	if (s->ctx->service != SMTP_SERVICE_SUBMISSION || cmd->mail.from.null_path ||
	    strcmp(rule, "any") == 0 || strcasecmp(sender, s->auth_user) == 0) {
		smtp_mail_accept(s, sender, p);
		return;
	}
	if (strcmp(rule, "account") == 0) {
		smtp_reply_fail(s, SMTP_FAIL_SENDER_OWNER, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		abort();
	j->s = s;
	memcpy(j->sender, sender, sizeof(sender));
	j->params = *p;
	if (smtp_mail_known(s, j)) {
		smtp_mail_answer(s, j);
		free(j);
		return;
	}
	smtp_session_wait(s);
	conn_job(s->conn, smtp_mail_work, smtp_mail_done, j);
}

/* ---- RCPT ---- */

struct smtp_rcpt_job {
	struct smtp_session *s;
	char address[SMTP_ADDRESS_TEXT_MAX];   /* the forward-path, least quoted */
	char domain[SMTP_DOMAIN_MAX + 1];
	bool literal;
	struct smtp_rcpt_params params;
	bool may_relay;
	/* What the job found. */
	enum dir_error resolved;
	struct dir_resolution res;
	bool local_domain;
	bool over_quota;       /* every recipient is a local account over its quota */
	enum mail_srs_result srs;  /* an SRS address of ours: what decoding it gave */
};

/* Does RCPT's quota check need the store: is every recipient a local
 * account with a quota? Otherwise it cannot refuse. */
static bool smtp_rcpt_quota_matters(const struct dir_resolution *res)
{
	for (size_t i = 0; i < res->n_recipients; i++)
		if (res->recipients[i].kind != DIR_RECIPIENT_LOCAL || res->recipients[i].quota == 0)
			return false;
	return res->n_recipients > 0;
}

/* RCPT's 452 4.2.2: every recipient a local account, each without room
 * for the message (its SIZE=, else one octet). A recipient among others
 * that is over its quota is accepted: its delivery stays queued. Blocking
 * (the store) when smtp_rcpt_quota_matters. */
static bool smtp_rcpt_over_quota(const struct smtp_session *s, const struct dir_resolution *res)
{
	uint64_t size = s->txn.size > 0 ? s->txn.size : 1;

	if (!smtp_rcpt_quota_matters(res))
		return false;
	for (size_t i = 0; i < res->n_recipients; i++) {
		const struct dir_recipient *r = &res->recipients[i];
		uint64_t used;

		/* When the store cannot say, the delivery will find out. */
		if (store_account_usage(s->ctx->store, r->address, &used) != STORE_OK ||
		    store_quota_allows(r->quota, used, size))
			return false;
	}
	return true;
}

/* An SRS address at the server's name or a local domain: decoded, it is
 * one external recipient, relayed whoever sends (it is ours to forward,
 * as an alias is); one that does not decode (forged, too old) is
 * unknown. False: not SRS, or not ours. */
static bool smtp_rcpt_srs(struct smtp_session *s, struct smtp_rcpt_job *j)
{
	char back[MAIL_SRS_ADDRESS_MAX + 1];

	if (s->ctx->srs == NULL || j->literal || j->domain[0] == '\0')
		return false;
	j->srs = mail_srs_reverse(s->ctx->srs, j->address, strlen(j->address), (int64_t)time(NULL),
				  back);
	if (j->srs == MAIL_SRS_NOT_SRS)
		return false;
	if (strcasecmp(j->domain, smtp_session_hostname(s)) != 0 &&
	    !dir_domain_exists(s->ctx->dir, j->domain)) {
		j->srs = MAIL_SRS_NOT_SRS;
		return false;
	}
	if (j->srs != MAIL_SRS_OK) {
		j->resolved = DIR_ERR_NOT_FOUND;
		return true;
	}
	j->res.recipients = calloc(1, sizeof(*j->res.recipients));
	if (j->res.recipients == NULL)
		abort();
	j->res.recipients[0] = (struct dir_recipient){ .kind = DIR_RECIPIENT_EXTERNAL,
						       .address = smtp_strdup(back) };
	j->res.n_recipients = 1;
	j->resolved = DIR_OK;
	return true;
}

static void smtp_rcpt_work(void *arg)
{
	struct smtp_rcpt_job *j = arg;
	struct smtp_session *s = j->s;
	struct dir_resolve_options options;
	char key[SMTP_DOMAIN_MAX + 16];

	if (smtp_rcpt_srs(s, j))
		return;
	smtp_resolve_options(s, &options);
	j->resolved = dir_resolve(s->ctx->dir, j->address, &options, &j->res);
	if (j->resolved == DIR_ERR_NOT_FOUND && j->domain[0] == '\0') {
		/* <Postmaster> alone (RFC 5321 4.1.1.3) without [smtp]
		 * postmaster: the postmaster of the server's own name. */
		dir_resolution_free(&j->res);
		snprintf(key, sizeof(key), "postmaster@%s", smtp_session_hostname(s));
		j->resolved = dir_resolve(s->ctx->dir, key, &options, &j->res);
		if (j->resolved == DIR_ERR_NO_DOMAIN || j->resolved == DIR_ERR_INVALID)
			j->resolved = DIR_ERR_NOT_FOUND;
	}
	if (j->resolved == DIR_ERR_INVALID)
		j->local_domain = !j->literal && j->domain[0] != '\0' &&
				  dir_domain_exists(s->ctx->dir, j->domain);
	if (j->resolved == DIR_OK)
		j->over_quota = smtp_rcpt_over_quota(s, &j->res);
}

static void smtp_rcpt_accept(struct smtp_session *s, const char *address)
{
	struct smtp_txn *txn = &s->txn;

	if (++txn->rcpts_accepted == 1)
		txn->first_rcpt = smtp_strdup(address);
	smtp_session_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, 250, "2.1.5", "Recipient <%s> OK", address);
}

static void smtp_rcpt_refuse(struct smtp_session *s, enum smtp_fail fail, const char *what)
{
	s->txn.rcpts_refused++;
	if (fail == SMTP_FAIL_TOO_MANY_RCPTS &&
	    ++s->txn.rcpts_overshoot > SMTP_RCPT_OVERSHOOT_MAX) {
		/* Past the overshoot, the same reply counts as an error. */
		smtp_reply_status(s, smtp_fail_status(fail), NULL);
		return;
	}
	smtp_reply_fail(s, fail, what);
}

/* Add the job's recipients to the envelope. */
static bool smtp_rcpt_add(struct smtp_session *s, const struct smtp_rcpt_job *j)
{
	char orcpt[SMTP_ORCPT_TYPE_MAX + SMTP_ORCPT_MAX + 2];
	const char *o = NULL;

	if (j->params.has_orcpt) {
		snprintf(orcpt, sizeof(orcpt), "%s;%s", j->params.orcpt_type, j->params.orcpt);
		o = orcpt;
	}
	if (j->resolved != DIR_OK)
		return smtp_txn_add_rcpt(&s->txn, j->address, false, o, j->params.notify);
	for (size_t i = 0; i < j->res.n_recipients; i++) {
		const struct dir_recipient *r = &j->res.recipients[i];

		if (!smtp_txn_add_rcpt(&s->txn, r->address, r->kind == DIR_RECIPIENT_LOCAL, o,
				       j->params.notify))
			return false;
	}
	return true;
}

/* The reply to RCPT, from what the lookup found. */
static void smtp_rcpt_answer(struct smtp_session *s, const struct smtp_rcpt_job *j)
{
	enum smtp_relay_verdict verdict;
	char what[SMTP_ADDRESS_TEXT_MAX + 64];

	if (j->srs != MAIL_SRS_NOT_SRS) {
		char text[256];

		conn_log(s->conn, j->srs == MAIL_SRS_OK ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
			 "msg=\"SRS address %s\" rcpt=\"%s\"",
			 j->srs == MAIL_SRS_OK ? "decoded" : mail_srs_result_name(j->srs),
			 log_escape(text, sizeof(text), j->address, 200));
	}
	for (size_t i = 0; i < j->res.n_unknown; i++) {
		char target[256];

		conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"alias target names no one\" target=\"%s\"",
			 log_escape(target, sizeof(target), j->res.unknown[i], 200));
	}
	verdict = smtp_relay_decide(j->may_relay, j->resolved, j->local_domain);
	switch (verdict) {
	case SMTP_RELAY_LOCAL:
		if (j->over_quota) {
			smtp_rcpt_refuse(s, SMTP_FAIL_OVER_QUOTA, NULL);
			break;
		}
		/* fall through */
	case SMTP_RELAY_EXTERNAL:
		if (!smtp_rcpt_add(s, j)) {
			smtp_rcpt_refuse(s, SMTP_FAIL_TOO_MANY_RCPTS, NULL);
			break;
		}
		smtp_rcpt_accept(s, j->address);
		break;
	case SMTP_RELAY_MISCONFIG:
	case SMTP_RELAY_TEMP:
		log_escape(what, sizeof(what), j->address, strlen(j->address));
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": %s",
			 dir_error_str(j->resolved));
		smtp_rcpt_refuse(s, SMTP_FAIL_TEMP, what);
		break;
	case SMTP_RELAY_DENIED:
	case SMTP_RELAY_TRICK:
	case SMTP_RELAY_UNKNOWN:
	case SMTP_RELAY__COUNT:
	default:
		smtp_rcpt_refuse(s, smtp_fail_from_relay(verdict), NULL);
		break;
	}
}

static void smtp_rcpt_job_free(struct smtp_rcpt_job *j)
{
	dir_resolution_free(&j->res);
	free(j);
}

static void smtp_rcpt_done(void *arg)
{
	struct smtp_rcpt_job *j = arg;
	struct smtp_session *s = j->s;

	if (!conn_is_closing(s->conn)) {
		smtp_rcpt_answer(s, j);
		smtp_session_continue(s);
	}
	smtp_rcpt_job_free(j);
}

/* The directory's answer to a recipient seen a moment ago, on the loop
 * (dir_resolve_cached): true when the job is not needed. An SRS address,
 * the bare postmaster and a quota to check are left to the job. */
static bool smtp_rcpt_known(struct smtp_session *s, struct smtp_rcpt_job *j)
{
	struct dir_resolve_options options;
	char back[MAIL_SRS_ADDRESS_MAX + 1];

	if (j->literal || j->domain[0] == '\0')
		return false;
	if (s->ctx->srs != NULL &&
	    mail_srs_reverse(s->ctx->srs, j->address, strlen(j->address), (int64_t)time(NULL),
			     back) != MAIL_SRS_NOT_SRS)
		return false;
	smtp_resolve_options(s, &options);
	if (!dir_resolve_cached(s->ctx->dir, j->address, &options, &j->resolved, &j->res))
		return false;
	if (j->resolved == DIR_OK && smtp_rcpt_quota_matters(&j->res)) {
		dir_resolution_free(&j->res);
		return false;
	}
	return true;
}



void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd)
{
	const struct smtp_address *to = &cmd->rcpt.to;
	struct smtp_rcpt_job *j;
	bool may_relay = smtp_session_may_relay(s);

	if (s->txn.rcpts_accepted >= s->cfg->limits.recipients) {
		/* RFC 5321 4.5.3.1.10: 452, and the client goes on with those
		 * it has. */
		smtp_rcpt_refuse(s, SMTP_FAIL_TOO_MANY_RCPTS, NULL);
		return;
	}
	if (smtp_relay_precheck(may_relay, to->tricks) == SMTP_RELAY_TRICK) {
		smtp_rcpt_refuse(s, SMTP_FAIL_ROUTING, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		abort();
	j->s = s;
	j->may_relay = may_relay;
	j->srs = MAIL_SRS_NOT_SRS;
	/* A source route is not kept: only the mailbox counts. */
	smtp_address_write(to, j->address);
	memcpy(j->domain, to->domain, sizeof(j->domain));
	j->literal = to->literal;
	j->params = cmd->rcpt.params;
	if (smtp_rcpt_known(s, j)) {
		smtp_rcpt_answer(s, j);
		smtp_rcpt_job_free(j);
		return;
	}
	smtp_session_wait(s);
	conn_job(s->conn, smtp_rcpt_work, smtp_rcpt_done, j);
}
