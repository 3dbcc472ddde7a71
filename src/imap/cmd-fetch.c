/* cmd-fetch - FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2): a resumable
 * producer. Messages are loaded in batches in a job (imap-fetch-load.c);
 * their responses are written on the loop, stopping at the output
 * high-water mark and going on when it drains; a large section is sent
 * from the message file with conn_send_file (decoded on its way for
 * BINARY), so a 30 MB body never sits in memory and a slow reader costs
 * at most the output buffer. */
#include "imap/imap-fetch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-date.h"
#include "imap/imap-flags.h"
#include "imap/imap-qresync.h"
#include "imap/imap-selected.h"

static void fetch_produce(struct imap_cmd *cmd);

static void fetch_free_ctx(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	imap_fetch_batch_free(f);
	imap_fetch_request_free(&f->req);
	buf_release(&f->line);
	store_messages_free(f->kw, f->n_kw);
	free(f->kw_uids);
	imap_seqset_free(&f->vanished_set);
	free(f->changed);
	free(f->gone);
	free(f->uids);
	free(f->scratch);
	free(f);
	cmd->ctx = NULL;
}

static void fetch_finish(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	if (f->error != STORE_OK)
		imap_cmd_fail(cmd, f->error, false, "fetch");
	else if (f->unknown_cte)
		imap_cmd_done(cmd, IMAP_NO, "UNKNOWN-CTE",
			      "Cannot decode the part's Content-Transfer-Encoding");
	else if (f->expunged)
		/* As Dovecot: the others are sent, the gone ones named here
		 * (RFC 9051 7.1 EXPUNGEISSUED). */
		imap_cmd_done(cmd, IMAP_NO, "EXPUNGEISSUED",
			      "Some of the requested messages no longer exist");
	else
		imap_cmd_done(cmd, IMAP_OK, NULL, "FETCH completed");
}

static void write_flags(struct imap_session *s, const struct store_message *m, struct buf *out)
{
	buf_append_str(out, "FLAGS ");
	imap_flags_write(out, m->flags, m->keywords, imap_selected_recent(s, m->uid));
}

/* Decoded bytes on their way to the client: the first f->skip are left
 * out, then f->left go out. */
static void emit_decoded(struct imap_fetch *f, struct conn *conn, const char *data, size_t len)
{
	if (f->skip > 0) {
		size_t drop = f->skip < len ? (size_t)f->skip : len;

		f->skip -= drop;
		data += drop;
		len -= drop;
	}
	if (len > f->left)
		len = (size_t)f->left;
	if (len > 0)
		conn_write(conn, data, len);
	f->left -= len;
}

static bool fetch_decode_filter(void *arg, const char *data, size_t len)
{
	struct imap_cmd *cmd = arg;
	struct imap_fetch *f = cmd->ctx;
	size_t n = mail_decoder_push(&f->decoder, data, len, imap_fetch_scratch(f));

	emit_decoded(f, cmd->s->conn, f->scratch, n);
	return f->left == 0;
}

/* A streamed section has gone out (conn_send_file's done). */
static void fetch_sent(void *arg, enum conn_send_result result)
{
	struct imap_cmd *cmd = arg;
	struct imap_fetch *f = cmd->ctx;
	struct conn *conn = cmd->s->conn;

	if (result == CONN_SEND_CLOSED || conn_is_closing(conn))
		return;
	if (result == CONN_SEND_OK && f->left > 0) {
		size_t n = mail_decoder_finish(&f->decoder, imap_fetch_scratch(f));

		emit_decoded(f, conn, f->scratch, n);
	}
	if (result != CONN_SEND_OK || f->left > 0) {
		/* The literal announced more than went out: the client can
		 * no longer tell where the response ends. */
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"fetch: a message file ended inside its "
			 "literal\" result=%s", conn_send_result_name(result));
		conn_close(conn, "fetch: message file shorter than its literal");
		return;
	}
	fetch_produce(cmd);
}

/* Write one item; true when a streamed section was started (the
 * producer then goes on in fetch_sent). */
static bool write_item(struct imap_cmd *cmd, const struct imap_fetch_item *it,
		       const struct store_message *m, struct imap_fetch_msg *x,
		       const struct imap_fetch_data *d)
{
	struct imap_session *s = cmd->s;
	struct imap_fetch *f = cmd->ctx;
	struct buf *out = &f->line;
	bool started = false;

	buf_reset(out);
	if (f->sep)
		buf_append(out, " ", 1);
	f->sep = true;
	switch (it->attr) {
	case IMAP_FETCH_FLAGS:
		write_flags(s, m, out);
		break;
	case IMAP_FETCH_INTERNALDATE: {
		char date[IMAP_DATE_TIME_MAX];

		imap_date_time_write(m->internal_date, date);
		buf_printf(out, "INTERNALDATE \"%s\"", date);
		break;
	}
	case IMAP_FETCH_RFC822_SIZE:
		buf_append_str(out, "RFC822.SIZE ");
		buf_append_u64(out, m->size);
		break;
	case IMAP_FETCH_ENVELOPE:
		buf_append_str(out, "ENVELOPE ");
		if (x->peeked)
			buf_append(out, f->strings.data + x->str_off[STORE_STRUCTURE_ENVELOPE],
				   x->str_len[STORE_STRUCTURE_ENVELOPE]);
		else
			buf_append_str(out, mail_structure_envelope(x->st));
		break;
	case IMAP_FETCH_BODY:
		buf_append_str(out, "BODY ");
		if (x->peeked)
			buf_append(out, f->strings.data + x->str_off[STORE_STRUCTURE_BODY],
				   x->str_len[STORE_STRUCTURE_BODY]);
		else
			buf_append_str(out, mail_structure_body(x->st));
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
		buf_append_str(out, "BODYSTRUCTURE ");
		if (x->peeked)
			buf_append(out, f->strings.data + x->str_off[STORE_STRUCTURE_BODYSTRUCTURE],
				   x->str_len[STORE_STRUCTURE_BODYSTRUCTURE]);
		else
			buf_append_str(out, mail_structure_bodystructure(x->st));
		break;
	case IMAP_FETCH_BINARY_SIZE:
		buf_printf(out, "%s %" PRIu64, it->label, d->size);
		break;
	case IMAP_FETCH_SECTION:
		buf_append_str(out, it->label);
		if (it->partial)
			buf_printf(out, "<%" PRIu64 ">", it->origin);
		if (d->kind == IMAP_FETCH_DATA_EMPTY || d->size == 0) {
			/* An empty string, never nothing (Thunderbird loops
			 * on a missing partial range). */
			buf_append_str(out, " \"\"");
			break;
		}
		buf_printf(out, " %s{%" PRIu64 "}\r\n", d->literal8 ? "~" : "", d->size);
		if (d->kind == IMAP_FETCH_DATA_MEMORY) {
			buf_append(out, d->data, (size_t)d->size);
			break;
		}
		imap_write(s, out->data, out->len);
		buf_reset(out);
		f->skip = d->kind == IMAP_FETCH_DATA_DECODE ? d->skip : 0;
		f->left = d->kind == IMAP_FETCH_DATA_DECODE ? d->size : 0;
		if (d->kind == IMAP_FETCH_DATA_DECODE)
			mail_decoder_init(&f->decoder, d->cte);
		conn_send_file(s->conn, store_reader_fd(x->reader), d->off, d->enc_len,
			       d->kind == IMAP_FETCH_DATA_DECODE ? fetch_decode_filter : NULL,
			       fetch_sent, cmd);
		started = true;
		break;
	case IMAP_FETCH_UID: /* flags of the request, written by write_head */
	case IMAP_FETCH_MODSEQ:
	case IMAP_FETCH__COUNT:
		break;
	}
	if (out->len > 0)
		imap_write(s, out->data, out->len);
	return started;
}

/* "* n FETCH (UID u MODSEQ (m)": UID first in every response
 * (Thunderbird), then MODSEQ, and FLAGS next when this FETCH set \Seen
 * and the client did not ask for them (RFC 9051 6.4.5); once CONDSTORE
 * is on, that change also carries UID and MODSEQ (RFC 7162 3.2.4). */
static void write_head(struct imap_cmd *cmd, const struct store_message *m,
		       const struct imap_fetch_msg *x)
{
	struct imap_fetch *f = cmd->ctx;
	struct buf *out = &f->line;
	bool told = x->seen_set && cmd->s->condstore;

	buf_reset(out);
	buf_append(out, "* ", 2);
	buf_append_u64(out, imap_selected_seq(cmd->s->selected, m->uid));
	buf_append_str(out, " FETCH (");
	f->sep = false;
	if (f->req.uid || told) {
		buf_append(out, "UID ", 4);
		buf_append_u64(out, m->uid);
		f->sep = true;
	}
	if (f->req.modseq || told) {
		buf_append_str(out, f->sep ? " MODSEQ (" : "MODSEQ (");
		buf_append_u64(out, m->modseq);
		buf_append(out, ")", 1);
		f->sep = true;
	}
	if (x->seen_set && !f->flags_asked) {
		if (f->sep)
			buf_append(out, " ", 1);
		write_flags(cmd->s, m, out);
		f->sep = true;
	}
	imap_write(cmd->s, out->data, out->len);
}

static void fetch_load_work(struct imap_cmd *cmd)
{
	imap_fetch_load(cmd->ctx);
}

static void fetch_loaded(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	if (conn_is_closing(cmd->s->conn))
		return;
	/* Record our own \Seen so that no later update repeats it. */
	for (size_t i = 0; i < f->n; i++)
		if (f->extra[i].seen_set)
			imap_selected_flags_set(cmd->s->selected, f->msgs[i].uid,
						store_view_flags(f->msgs[i].flags, f->msgs[i].keywords),
						f->msgs[i].modseq);
	fetch_produce(cmd);
}

static void fetch_drained(struct imap_cmd *cmd)
{
	cmd->drained = NULL;
	fetch_produce(cmd);
}

static void fetch_produce(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	struct conn *conn = cmd->s->conn;

	while (!conn_is_closing(conn)) {
		struct imap_fetch_msg *x;

		if (f->cur >= f->n) {
			if (f->error != STORE_OK || f->unknown_cte || f->pos >= f->n_uids) {
				fetch_finish(cmd);
				return;
			}
			imap_fetch_batch_free(f);
			imap_cmd_job(cmd, fetch_load_work, fetch_loaded);
			return;
		}
		if (conn_output_full(conn)) {
			cmd->drained = fetch_drained;
			return;
		}
		x = &f->extra[f->cur];
		if (x->gone) {
			f->cur++;
		} else if (f->item < 0) {
			write_head(cmd, &f->msgs[f->cur], x);
			f->item = 0;
		} else if ((size_t)f->item < f->req.n) {
			size_t i = (size_t)f->item++;

			if (write_item(cmd, &f->req.items[i], &f->msgs[f->cur], x,
				       x->data != NULL ? &x->data[i] : NULL))
				return;
		} else {
			imap_write(cmd->s, ")\r\n", 3);
			if (x->reader != NULL)
				store_reader_close(&x->reader);
			f->cur++;
			f->item = -1;
		}
	}
}

/* UID and FLAGS only, with nothing the session has not been told (no
 * change reported, no EXPUNGE owed): the view has what the answer needs
 * (RFC 9051 7.5.2 FLAGS: the flags the session knows, as its own STORE
 * recorded them), save the keywords of the messages that have any. */
static bool fetch_view_fits(const struct imap_fetch *f, const struct imap_selected *sel)
{
	if (f->req.needs != 0 || f->req.modseq || sel->changed || sel->n_pending > 0)
		return false;
	for (size_t i = 0; i < f->req.n; i++)
		if (f->req.items[i].attr != IMAP_FETCH_FLAGS && f->req.items[i].attr != IMAP_FETCH_UID)
			return false;
	return true;
}

/* The keywords of message uid from the job's read; *gone_r when it was
 * expunged meanwhile. */
static const char *fetch_view_keywords(const struct imap_fetch *f, uint32_t uid, bool *gone_r)
{
	size_t lo = 0, hi = f->n_kw;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->kw_uids[mid] < uid) {
			lo = mid + 1;
		} else if (f->kw_uids[mid] > uid) {
			hi = mid;
		} else {
			*gone_r = f->kw[mid].uid == 0;
			return f->kw[mid].keywords;
		}
	}
	return NULL;
}

/* Write from f->pos on, pausing at the output high-water mark. Lines are
 * gathered into f->line and handed over 16 KiB at a time. */
static void fetch_view_produce(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	struct imap_session *s = cmd->s;
	const struct imap_selected *sel = s->selected;
	struct buf *out = &f->line;

	cmd->drained = NULL;
	buf_reset(out);
	while (f->pos < f->n_uids && !conn_is_closing(s->conn)) {
		uint32_t uid = f->uids[f->pos], seq;
		const char *keywords = NULL;
		bool gone = false;
		uint8_t flags;

		if (out->len >= 16 * 1024) {
			imap_write(s, out->data, out->len);
			buf_reset(out);
		}
		if (conn_output_full(s->conn)) {
			cmd->drained = fetch_view_produce;
			return;
		}
		f->pos++;
		seq = imap_selected_seq(sel, uid);
		if (seq == 0)
			continue;
		flags = sel->view.flags[seq - 1];
		if (flags & STORE_VIEW_KEYWORDS)
			keywords = fetch_view_keywords(f, uid, &gone);
		if (gone) {
			f->expunged = true;
			continue;
		}
		buf_append(out, "* ", 2);
		buf_append_u64(out, seq);
		buf_append_str(out, " FETCH (");
		if (f->req.uid) {
			buf_append(out, "UID ", 4);
			buf_append_u64(out, uid);
		}
		if (f->flags_asked) {
			buf_append_str(out, f->req.uid ? " FLAGS " : "FLAGS ");
			imap_flags_write(out, flags & ~STORE_VIEW_KEYWORDS, keywords,
					 imap_selected_recent(s, uid));
		}
		buf_append(out, ")\r\n", 3);
	}
	if (out->len > 0)
		imap_write(s, out->data, out->len);
	buf_reset(out);
	if (!conn_is_closing(s->conn))
		fetch_finish(cmd);
}

static void fetch_view_work(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	f->error = store_messages_get(f->acct, &f->ref, f->kw_uids, f->n_kw, f->kw);
}

static void fetch_view_loaded(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	if (conn_is_closing(cmd->s->conn))
		return;
	if (f->error != STORE_OK)
		fetch_finish(cmd);
	else
		fetch_view_produce(cmd);
}

/* The view's answer: first the keywords of the messages that have any
 * (one job), then the lines. */
static void fetch_from_view(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	const struct imap_selected *sel = cmd->s->selected;

	for (size_t i = 0; i < f->n_uids; i++) {
		uint32_t seq = imap_selected_seq(sel, f->uids[i]);

		if (seq != 0 && (sel->view.flags[seq - 1] & STORE_VIEW_KEYWORDS))
			f->n_kw++;
	}
	if (f->n_kw == 0) {
		fetch_view_produce(cmd);
		return;
	}
	f->kw = calloc(f->n_kw, sizeof(*f->kw));
	f->kw_uids = malloc(f->n_kw * sizeof(*f->kw_uids));
	if (f->kw == NULL || f->kw_uids == NULL)
		abort();
	f->n_kw = 0;
	for (size_t i = 0; i < f->n_uids; i++) {
		uint32_t seq = imap_selected_seq(sel, f->uids[i]);

		if (seq != 0 && (sel->view.flags[seq - 1] & STORE_VIEW_KEYWORDS))
			f->kw_uids[f->n_kw++] = f->uids[i];
	}
	imap_cmd_job(cmd, fetch_view_work, fetch_view_loaded);
}

static void fetch_go(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;

	if (fetch_view_fits(f, cmd->s->selected))
		fetch_from_view(cmd);
	else
		fetch_produce(cmd);
}

/* The job of the CHANGEDSINCE and VANISHED modifiers: from the MODSEQ
 * index, the UIDs changed and expunged since the client's MODSEQ. */
static void fetch_since_work(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	struct store_message *changed = NULL;
	uint32_t *unused = NULL;
	size_t n_unused = 0;
	uint64_t highest;

	/* CHANGEDSINCE 0 keeps every message: only VANISHED brought us here */
	if (f->changedsince > 0)
		f->error = store_changes_since(f->acct, &f->ref, f->changedsince, &changed,
					       &f->n_changed, &unused, &n_unused, &highest);
	free(unused);
	if (f->error == STORE_OK && f->n_changed > 0) {
		f->changed = malloc(f->n_changed * sizeof(*f->changed));
		if (f->changed == NULL)
			abort();
		for (size_t i = 0; i < f->n_changed; i++)
			f->changed[i] = changed[i].uid;
	}
	store_messages_free(changed, f->n_changed);
	if (f->error == STORE_OK && f->vanished)
		f->error = store_expunged_since(f->acct, &f->ref, f->changedsince, &f->gone,
						&f->n_gone, &f->complete);
}

/* RFC 7162 3.2.6: VANISHED (EARLIER) of the UIDs of the client's set
 * expunged since its MODSEQ (every UID of the set the mailbox no longer
 * holds when the expunge horizon has passed it), before any FETCH. A
 * UID the view still holds is not vanished yet: its VANISHED comes with
 * the updates. */
static struct buf *fetch_vanished(struct imap_fetch *f, const struct store_view *v)
{
	struct imap_qresync q = {
		.modseq = f->changedsince, .has_known_uids = true, .known_uids = f->vanished_set,
	};
	struct imap_range *ranges = NULL;
	size_t n_ranges = 0, w = 0;
	struct buf *out;

	for (size_t i = 0; i < f->n_gone; i++)
		if (imap_view_seq(v, f->gone[i]) == 0)
			f->gone[w++] = f->gone[i];
	imap_qresync_vanished(&q, v->uids, v->n, v->uidnext, f->gone, w, f->complete,
			      &ranges, &n_ranges);
	out = malloc(sizeof(*out));
	if (out == NULL)
		abort();
	buf_init(out, 0);
	imap_vanished_write_ranges(out, true, ranges, n_ranges);
	free(ranges);
	return out;
}

static void fetch_since_done(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	struct imap_selected *sel = cmd->s->selected;
	size_t w = 0, c = 0;
	struct buf *out;

	if (conn_is_closing(cmd->s->conn))
		return;
	if (f->error != STORE_OK) {
		fetch_finish(cmd);
		return;
	}
	/* The set and the changed UIDs are both ascending: one merge. */
	if (f->changedsince_given && f->changedsince > 0) {
		for (size_t i = 0; i < f->n_uids; i++) {
			while (c < f->n_changed && f->changed[c] < f->uids[i])
				c++;
			if (c < f->n_changed && f->changed[c] == f->uids[i])
				f->uids[w++] = f->uids[i];
		}
		f->n_uids = w;
	}
	if (!f->vanished) {
		fetch_go(cmd);
		return;
	}
	out = fetch_vanished(f, &sel->view);
	imap_selected_send(cmd, &out, fetch_go);
}

static void fetch_start(struct imap_cmd *cmd)
{
	struct imap_fetch *f = cmd->ctx;
	struct imap_session *s = cmd->s;
	const char *why;

	if (!imap_selected_uids(s, &cmd->args[0], cmd->uid, &f->uids, &f->n_uids, &why)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	}
	f->acct = s->acct;
	f->ref = s->selected->ref;
	f->readonly = s->selected->readonly;
	/* CHANGEDSINCE 0 names every message (iOS Mail sends it): nothing
	 * to read first unless VANISHED asks for expunges. */
	if (f->vanished || (f->changedsince_given && f->changedsince > 0)) {
		imap_cmd_job(cmd, fetch_since_work, fetch_since_done);
		return;
	}
	fetch_go(cmd);
}

/* The FETCH modifiers (RFC 4466 2.4; RFC 7162 3.1.4.1, 3.2.6): the BAD
 * reply's text, or NULL. */
static const char *fetch_modifiers(struct imap_cmd *cmd, const struct imap_arg *list,
				   struct imap_fetch *f)
{
	const struct imap_selected *sel = cmd->s->selected;
	const struct store_view *v = &sel->view;

	if (list->type != IMAP_ARG_LIST || list->n == 0)
		return "Expected a list of FETCH modifiers";
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_arg *m = &list->list[i];

		if (imap_arg_atom_is(m, "CHANGEDSINCE") && !f->changedsince_given) {
			/* mod-sequence-value, but 0 too: iOS Mail sends it */
			if (i + 1 == list->n ||
			    !imap_modseq_parse(&list->list[++i], true, &f->changedsince))
				return "CHANGEDSINCE needs a mod-sequence";
			f->changedsince_given = true;
		} else if (imap_arg_atom_is(m, "VANISHED") && !f->vanished) {
			f->vanished = true;
		} else {
			return "Unknown FETCH modifier";
		}
	}
	if (f->vanished) {
		if (!cmd->uid)
			return "VANISHED is for UID FETCH only";
		if (!cmd->s->qresync)
			return "VANISHED needs ENABLE QRESYNC first";
		if (!f->changedsince_given)
			return "VANISHED needs CHANGEDSINCE";
		/* The UIDs as the client wrote them, those gone included. */
		if (!imap_seqset_parse(cmd->args[0].str, v->uidnext > 1 ? v->uidnext - 1 : 0,
				       IMAP_QRESYNC_MAX_RANGES, &f->vanished_set) ||
		    f->vanished_set.saved)
			return "Invalid UID set for VANISHED";
	}
	return NULL;
}

void cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_fetch *f;
	const char *why;

	if (cmd->n_args != 2 && cmd->n_args != 3) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "FETCH takes a sequence set, items and modifiers");
		return;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		abort();
	cmd->ctx = f;
	cmd->free_ctx = fetch_free_ctx;
	buf_init(&f->line, 0);
	if (!imap_fetch_parse(&cmd->args[1], cmd->uid, &f->req, &why) ||
	    (cmd->n_args == 3 && cmd->args[0].type == IMAP_ARG_ATOM &&
	     (why = fetch_modifiers(cmd, &cmd->args[2], f)) != NULL)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s", why);
		return;
	}
	/* RFC 7162 3.1.4.1: CHANGEDSINCE adds MODSEQ; 3.1: both enable CONDSTORE */
	if (f->changedsince_given)
		f->req.modseq = true;
	if (f->req.modseq)
		imap_condstore_enable(cmd->s);
	f->item = -1;
	for (size_t i = 0; i < f->req.n; i++)
		f->flags_asked = f->flags_asked || f->req.items[i].attr == IMAP_FETCH_FLAGS;
	/* A UID the client learnt elsewhere (its APPENDUID) works at once. */
	if (cmd->uid)
		imap_selected_catch_up(cmd, fetch_start);
	else
		fetch_start(cmd);
}
