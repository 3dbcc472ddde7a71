/* imap-sync - bringing a session up to date with its selected mailbox:
 * before a tagged reply (imap_sync), before a UID command
 * (imap_selected_catch_up) and inside IDLE, read what changed since the
 * session was last told (store_changes_since, in a job), fold it into the
 * view and send the untagged updates (imap-update.c). One job at a time:
 * a change the hub reports while one runs is read by the next. */
#include "imap/imap-selected.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/log.h"

struct imap_sync_job {
	void (*done)(struct imap_cmd *cmd);
	bool no_expunge;
	bool take_recent;               /* rev1, read-write: new messages may be \Recent here */
	bool release;                   /* inside IDLE: the handle is given back after the read */
	uint64_t from;                  /* sel->modseq when the job started */
	uint32_t last_uid;              /* the view's highest UID then */
	enum store_error error;
	bool account_gone;              /* taking the handle again: STORE_ERR_GONE */
	struct store_message *changed;
	size_t n_changed;
	uint32_t *expunged;
	size_t n_expunged;
	uint64_t highest;
	uint32_t recent_from;
};

static void sync_read(struct imap_session *s, struct imap_sync_job *job)
{
	struct imap_selected *sel = s->selected;
	bool fresh = false;

	job->error = store_changes_since(s->acct, &sel->ref, job->from, &job->changed,
					 &job->n_changed, &job->expunged, &job->n_expunged,
					 &job->highest);
	if (job->error != STORE_OK || !job->take_recent)
		return;
	for (size_t i = 0; i < job->n_changed && !fresh; i++)
		fresh = job->changed[i].uid > job->last_uid;
	if (fresh && store_recent_take(s->acct, &sel->ref, &job->recent_from) == STORE_OK &&
	    job->recent_from == 0)
		job->recent_from = 1;
}

/* A session in IDLE holds no handle between its syncs (issue 8): the job
 * takes it, reads, and gives it back. Jobs of a session run one at a
 * time and the loop leaves s->acct alone while one runs. */
static void sync_work(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_sync_job *job = s->selected->job;

	if (s->acct == NULL) {
		job->error = store_account_get_again(s->ctx->store, s->address, s->account_id,
						     &s->acct);
		job->account_gone = job->error == STORE_ERR_GONE;
	}
	if (s->acct != NULL)
		sync_read(s, job);
	if (job->release)
		store_account_put(&s->acct);
}

unsigned imap_update_mode(const struct imap_session *s)
{
	return (s->rev2 ? 0u : IMAP_UPDATE_REV1) | (s->condstore ? IMAP_UPDATE_MODSEQ : 0u) |
	       (s->qresync ? IMAP_UPDATE_VANISHED : 0u);
}

static void sync_job_free(struct imap_sync_job *job)
{
	store_messages_free(job->changed, job->n_changed);
	free(job->expunged);
	free(job);
}

/* The selected mailbox was deleted (STORE_ERR_GONE: its id is gone, or
 * was recreated with another UIDVALIDITY). Dovecot's answer: BYE and
 * the connection closes; the command's tagged reply is never sent (the
 * session frees the command at the close). */
static void sync_gone(struct imap_session *s)
{
	conn_log(s->conn, LOG_LEVEL_INFO, "msg=\"selected mailbox gone\" mailbox_id=%lld",
		 (long long)s->selected->ref.id);
	imap_untagged(s, "BYE Selected mailbox was deleted, have to disconnect");
	imap_selected_free(&s->selected);
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn, "selected mailbox deleted");
}

static void sync_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_selected *sel = s->selected;
	struct imap_sync_job *job = sel->job;
	void (*done)(struct imap_cmd *cmd) = job->done;
	struct buf *out;

	/* The job is over: a connection that closes while the output below
	 * waits for the client leaves nothing of it behind. */
	sel->job = NULL;
	if (job->account_gone && !conn_is_closing(s->conn)) {
		sync_job_free(job);
		imap_session_account_gone(s);
		return;
	}
	if (job->error == STORE_ERR_GONE && !conn_is_closing(s->conn)) {
		sync_job_free(job);
		sync_gone(s);
		return;
	}
	if (job->error != STORE_OK) {
		/* Told nothing: the next sync reads the same changes again. */
		conn_log(s->conn, LOG_LEVEL_WARN, "msg=\"sync failed\" error=%s",
			 store_error_name(job->error));
		sel->changed = true;
		sel->sync_failed = true;
		sync_job_free(job);
		done(cmd);
		return;
	}
	sel->sync_failed = false;
	out = malloc(sizeof(*out));
	if (out == NULL)
		abort();
	buf_init(out, 0);
	imap_update_write(sel, job->changed, job->n_changed, job->expunged, job->n_expunged,
			  imap_update_mode(s) | (job->no_expunge ? 0 : IMAP_UPDATE_EXPUNGE),
			  job->recent_from, out);
	if (job->highest > sel->modseq)
		sel->modseq = job->highest;
	/* Every own change is at or below what was just read. */
	sel->n_own = 0;
	imap_view_share(sel, s->address);
	sync_job_free(job);
	imap_selected_send(cmd, &out, done);
}

/* Owed EXPUNGEs without new changes to read: no job. */
static void sync_pending(struct imap_cmd *cmd, void (*done)(struct imap_cmd *cmd))
{
	struct imap_session *s = cmd->s;
	struct buf *out = malloc(sizeof(*out));

	if (out == NULL)
		abort();
	buf_init(out, 0);
	imap_update_write(s->selected, NULL, 0, NULL, 0, imap_update_mode(s) | IMAP_UPDATE_EXPUNGE,
			  0, out);
	imap_selected_send(cmd, &out, done);
}

static void sync_run(struct imap_cmd *cmd, bool no_expunge, bool force,
		     void (*done)(struct imap_cmd *cmd))
{
	struct imap_session *s = cmd->s;
	struct imap_selected *sel = s->selected;
	struct imap_sync_job *job;

	if (sel == NULL || s->state != IMAP_STATE_SELECTED || sel->job != NULL ||
	    sel->send != NULL || conn_is_closing(s->conn)) {
		done(cmd);
		return;
	}
	if (!sel->changed && !force && (cmd->def->flags & IMAP_CMD_SYNC) == 0) {
		if (!no_expunge && sel->n_pending > 0)
			sync_pending(cmd, done);
		else
			done(cmd);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		abort();
	job->done = done;
	job->no_expunge = no_expunge;
	job->take_recent = !s->rev2 && !sel->readonly;
	job->release = s->idling;
	job->from = sel->modseq;
	job->last_uid = sel->view.n > 0 ? sel->view.uids[sel->view.n - 1] : 0;
	sel->job = job;
	sel->changed = false;
	imap_cmd_job(cmd, sync_work, sync_done);
}

void imap_sync(struct imap_cmd *cmd, bool no_expunge, void (*done)(struct imap_cmd *cmd))
{
	sync_run(cmd, no_expunge, false, done);
}

/* A UID the client learnt elsewhere (its APPENDUID, another session) may
 * be newer than the view even before the hub's word arrives: read always.
 * No EXPUNGE here: the command has not answered yet, and its set was not
 * resolved; they go with its reply, when it allows them. */
void imap_selected_catch_up(struct imap_cmd *cmd, void (*then)(struct imap_cmd *cmd))
{
	sync_run(cmd, true, true, then);
}
