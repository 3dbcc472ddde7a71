/* cmd-search - SEARCH and UID SEARCH (RFC 9051 6.4.4, 7.3.4; RFC 4731
 * ESEARCH; RFC 5182 SEARCHRES): a resumable job. The view's messages are
 * evaluated in batches, each batch one job on the thread pool: the index
 * (store_messages_get) answers what it can, and only a message whose
 * answer hangs on its text is read, one at a time, by its structure
 * (mail-text.h: attachments are never read); the files and cached
 * structures of a batch are found together (store_scan_open). Between batches the loop is
 * free; memory is one batch of index rows, one message's structure and
 * one piece of its text, and the list of matches. The answer is "*
 * SEARCH" (rev1 without RETURN) or "* ESEARCH", written in pieces at the
 * output high-water mark. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-search.h"
#include "imap/imap-selected.h"
#include "imap/imap-structure.h"
#include "mail/mail-date.h"
#include "mail/mail-header.h"
#include "mail/mail-text.h"

/* Messages per job, and the message bytes one job may read for the text
 * keys before it hands the loop back (it finishes the message it is in).
 * A program the view answers alone reads nothing: larger jobs. */
#define SEARCH_BATCH 256
#define SEARCH_BATCH_VIEW 65536
#define SEARCH_BATCH_BYTES (8u << 20)
#define SEARCH_PIECE (64u * 1024)
#define SEARCH_HEADER_PIECE (8u * 1024)
/* Numbers per write of a "* SEARCH" line. */
#define SEARCH_WRITE_CHUNK 512

struct search {
	struct imap_search_program *prog;
	/* Copied from the session for the jobs. */
	struct store_account *acct;
	struct store_mailbox_ref ref;
	uint32_t *uids;                 /* the view: message i+1 is uids[i] */
	uint8_t *flags;                 /* and its system flags */
	size_t n;
	uint32_t *saved;                /* "$" */
	size_t n_saved;
	size_t pos;                     /* uids[pos..] not evaluated yet */
	uint32_t *found;                /* indexes into uids, ascending */
	size_t n_found, found_cap;
	enum store_error error;
	uint64_t top_modseq;            /* the highest MODSEQ found (a MODSEQ key) */
	char *scratch;                  /* SEARCH_PIECE bytes */
	size_t written;                 /* found[] written so far */
};

static void search_free_ctx(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;

	imap_search_program_free(&se->prog);
	free(se->uids);
	free(se->flags);
	free(se->saved);
	free(se->found);
	free(se->scratch);
	free(se);
	cmd->ctx = NULL;
}

static void search_on_field(void *ctx, bool top, const char *name, size_t name_len,
			    const char *value, size_t value_len)
{
	struct imap_search_program *prog = ctx;

	if (top && prog->needs_date && mail_header_name_equals(name, name_len, "Date"))
		imap_search_text_date(prog, mail_date_parse_day(value, value_len));
	imap_search_text_field(prog, top, name, name_len, value, value_len);
}

static void search_on_body(void *ctx, const char *text, size_t len)
{
	imap_search_text_body(ctx, text, len);
}

static void search_on_part_end(void *ctx)
{
	imap_search_text_part_end(ctx);
}

static const struct mail_text_sink search_sink = {
	search_on_field, search_on_body, search_on_part_end,
};

/* The structure of the i-th message of the scan: the cached one, else
 * parsed (and cached) by imap_structure_load, which may open *reader. */
static enum store_error search_structure(struct search *se, const struct store_scan *scan,
					 size_t i, const struct store_message *m,
					 struct store_reader **reader, struct mail_structure **st_r)
{
	size_t len;
	const void *blob = store_scan_structure(scan, i, &len);

	if (blob != NULL) {
		*st_r = mail_structure_deserialize(blob, len);
		if (*st_r != NULL && mail_structure_size(*st_r) == m->size)
			return STORE_OK;
		mail_structure_free(st_r);
	}
	return imap_structure_load(se->acct, &se->ref, m->uid, m->size, reader, se->scratch,
				   SEARCH_PIECE, st_r);
}

/* Read one message's text into the program's text keys: by its
 * structure when a BODY or TEXT key needs the parts, else only the top
 * header (no structure needed: an uncached message is not parsed). A
 * message that fits the scratch buffer is read whole with one pread and
 * its ranges pushed from memory; a larger one range by range, in pieces.
 * Returns the bytes read; *gone_r when the message was expunged
 * meanwhile. */
static uint64_t search_read_text(struct search *se, const struct store_scan *scan, size_t i,
				 const struct store_message *m, bool *gone_r)
{
	struct store_reader *reader = NULL;
	struct mail_structure *st = NULL;
	struct mail_text *t;
	uint64_t off, len, read = 0, top_body = 0, top_len, whole = 0;
	enum store_error err = STORE_OK;

	*gone_r = false;
	if (se->prog->needs_body)
		err = search_structure(se, scan, i, m, &reader, &st);
	if (err == STORE_OK && reader == NULL)
		err = store_scan_reader(scan, i, &reader);
	if (err != STORE_OK) {
		if (err == STORE_ERR_NOT_FOUND)
			*gone_r = true;
		else
			se->error = err;
		mail_structure_free(&st);
		if (reader != NULL)
			store_reader_close(&reader);
		return 0;
	}
	if (m->size <= SEARCH_PIECE) {
		while (whole < m->size) {
			ssize_t got = store_reader_pread(reader, se->scratch + whole,
							 (size_t)(m->size - whole), whole);

			if (got <= 0)
				break;  /* shorter than the index says: what was read counts */
			whole += (uint64_t)got;
		}
		read = whole;
	}
	/* Where the top header ends: SENT* keys need no more than it. */
	if (st != NULL)
		(void)mail_structure_section(st, NULL, 0, MAIL_SECTION_TEXT, &top_body, &top_len);
	imap_search_text_begin(se->prog);
	t = mail_text_new(st, &search_sink, se->prog);
	while (mail_text_want(t, &off, &len)) {
		/* A header alone is read in smaller pieces: most are short. */
		size_t piece = st != NULL ? SEARCH_PIECE : SEARCH_HEADER_PIECE;
		size_t want = len < piece ? (size_t)len : piece;
		ssize_t got;

		if (st != NULL && off >= top_body && imap_search_text_settled(se->prog))
			break;  /* every text key matched already */
		if (m->size <= SEARCH_PIECE) {
			if (off >= whole)
				break;
			want = len < whole - off ? (size_t)len : (size_t)(whole - off);
			mail_text_push(t, se->scratch + off, want);
			continue;
		}
		got = store_reader_pread(reader, se->scratch, want, off);
		if (got <= 0)
			break;  /* shorter than its structure: what was read counts */
		mail_text_push(t, se->scratch, (size_t)got);
		read += (uint64_t)got;
	}
	mail_text_end(t);
	mail_text_free(&t);
	mail_structure_free(&st);
	store_reader_close(&reader);
	return read;
}

static void search_add(struct search *se, size_t index)
{
	if (se->n_found == se->found_cap) {
		size_t cap = se->found_cap == 0 ? 64 : se->found_cap * 2;
		uint32_t *found = realloc(se->found, cap * sizeof(*found));

		if (found == NULL)
			abort();
		se->found = found;
		se->found_cap = cap;
	}
	se->found[se->n_found++] = (uint32_t)index;
}

/* The job: evaluate the next batch. */
static void search_work(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;
	struct imap_search_program *prog = se->prog;
	bool rows = prog->needs_index || prog->needs_text || prog->needs_date;
	size_t batch = rows ? SEARCH_BATCH : SEARCH_BATCH_VIEW;
	size_t k = se->n - se->pos < batch ? se->n - se->pos : batch;
	struct store_message *msgs = calloc(k > 0 ? k : 1, sizeof(*msgs));
	struct store_scan *scan = NULL;
	uint64_t bytes = 0;
	size_t i;

	if (msgs == NULL)
		abort();
	if (rows) {
		/* The text keys need the size too: it checks a cached structure. */
		se->error = store_messages_get(se->acct, &se->ref, se->uids + se->pos, k, msgs);
		if (se->error != STORE_OK) {
			store_messages_free(msgs, k);
			return;
		}
	} else {
		/* Numbers, UIDs, "$", \Recent and system flags: the view's, as
		 * the session was last told them (as Dovecot answers: changes
		 * made elsewhere come in this command's updates). */
		for (i = 0; i < k; i++) {
			msgs[i].uid = se->uids[se->pos + i];
			msgs[i].flags = se->flags[se->pos + i];
		}
	}
	for (i = 0; i < k && bytes < SEARCH_BATCH_BYTES; i++) {
		const struct store_message *m = &msgs[i];
		struct imap_search_msg sm = {
			.seq = (uint32_t)(se->pos + i + 1), .uid = m->uid, .flags = m->flags,
			.keywords = m->keywords, .recent = imap_selected_recent(cmd->s, m->uid),
			.internal_date = m->internal_date, .size = m->size, .modseq = m->modseq,
		};
		enum imap_search_value v;

		if (m->uid == 0)
			continue;  /* expunged by another session meanwhile */
		v = imap_search_eval(prog, &sm, se->saved, se->n_saved, false);
		if (v == IMAP_SEARCH_UNKNOWN) {
			bool gone;

			/* the batch's files and structures, at its first reading */
			if (scan == NULL &&
			    (se->error = store_scan_open(se->acct, &se->ref, se->uids + se->pos, k,
							 &scan)) != STORE_OK)
				break;
			bytes += search_read_text(se, scan, i, m, &gone);
			if (se->error != STORE_OK)
				break;
			v = gone ? IMAP_SEARCH_FALSE
				 : imap_search_eval(prog, &sm, se->saved, se->n_saved, true);
		}
		if (v == IMAP_SEARCH_TRUE) {
			search_add(se, se->pos + i);
			if (m->modseq > se->top_modseq)
				se->top_modseq = m->modseq;
		}
	}
	se->pos += i;
	store_scan_free(&scan);
	store_messages_free(msgs, k);
}

/* RFC 9051 6.4.4.1: what "$" holds after SEARCH ... SAVE. */
static void search_save(struct imap_cmd *cmd, bool ok)
{
	struct search *se = cmd->ctx;
	struct imap_selected *sel = cmd->s->selected;
	unsigned ret = se->prog->ret;
	size_t n = 0;

	free(sel->saved);
	sel->saved = NULL;
	sel->n_saved = 0;
	if (!ok || se->n_found == 0)
		return;
	sel->saved = malloc(se->n_found * sizeof(*sel->saved));
	if (sel->saved == NULL)
		abort();
	if ((ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) == 0 &&
	    (ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) != 0) {
		/* SAVE with MIN and/or MAX alone saves only those. */
		if (ret & IMAP_SEARCH_RET_MIN)
			sel->saved[n++] = se->uids[se->found[0]];
		if ((ret & IMAP_SEARCH_RET_MAX) && (n == 0 || se->n_found > 1))
			sel->saved[n++] = se->uids[se->found[se->n_found - 1]];
	} else {
		for (; n < se->n_found; n++)
			sel->saved[n] = se->uids[se->found[n]];
	}
	sel->n_saved = n;
}

static uint32_t search_number(const struct imap_cmd *cmd, size_t found_i)
{
	const struct search *se = cmd->ctx;
	size_t index = se->found[found_i];

	return cmd->uid ? se->uids[index] : (uint32_t)(index + 1);
}

static void search_done(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;

	if (se->prog->ret & IMAP_SEARCH_RET_SAVE)
		search_save(cmd, true);
	imap_cmd_done(cmd, IMAP_OK, NULL, "%sSEARCH completed", cmd->uid ? "UID " : "");
}

/* "* ESEARCH (TAG "a1") UID MIN 1 MAX 9 COUNT 3 ALL 1,5:9" (RFC 9051 7.3.4). */
static void search_write_esearch(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;
	unsigned ret = se->prog->ret != 0 ? se->prog->ret : IMAP_SEARCH_RET_ALL;
	struct buf out;

	/* RFC 9051 6.4.4: SAVE alone suppresses the response. */
	if (ret == IMAP_SEARCH_RET_SAVE)
		return;
	buf_init(&out, 0);
	/* The tag is a quoted string (RFC 9051 9 tag-string); a tag holds
	 * no '"' or '\\' (it is astring-char without '+'). */
	buf_printf(&out, "* ESEARCH (TAG \"%s\")%s", cmd->tag, cmd->uid ? " UID" : "");
	if (se->n_found > 0) {
		if (ret & IMAP_SEARCH_RET_MIN)
			buf_printf(&out, " MIN %" PRIu32, search_number(cmd, 0));
		if (ret & IMAP_SEARCH_RET_MAX)
			buf_printf(&out, " MAX %" PRIu32, search_number(cmd, se->n_found - 1));
	}
	if (ret & IMAP_SEARCH_RET_COUNT)
		buf_printf(&out, " COUNT %zu", se->n_found);
	if ((ret & IMAP_SEARCH_RET_ALL) && se->n_found > 0) {
		uint32_t *nums = malloc(se->n_found * sizeof(*nums));

		if (nums == NULL)
			abort();
		for (size_t i = 0; i < se->n_found; i++)
			nums[i] = search_number(cmd, i);
		buf_append_str(&out, " ALL ");
		imap_seqset_write(&out, nums, se->n_found);
		free(nums);
	}
	/* RFC 7162 3.1.10 (RFC 4731 3.2's MODSEQ result option) */
	if (se->prog->has_modseq && se->n_found > 0)
		buf_printf(&out, " MODSEQ %" PRIu64, se->top_modseq);
	buf_append_str(&out, "\r\n");
	imap_write(cmd->s, out.data, out.len);
	buf_release(&out);
}

static void search_write_plain(struct imap_cmd *cmd);

static void search_drained(struct imap_cmd *cmd)
{
	cmd->drained = NULL;
	search_write_plain(cmd);
}

/* "* SEARCH 2 5 9", in pieces: a large result never sits in the output
 * whole (RFC 3501 7.2.5). */
static void search_write_plain(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;
	struct buf out;

	buf_init(&out, 0);
	while (se->written < se->n_found) {
		size_t end = se->written + SEARCH_WRITE_CHUNK;

		if (conn_output_full(cmd->s->conn)) {
			cmd->drained = search_drained;
			buf_release(&out);
			return;
		}
		if (end > se->n_found)
			end = se->n_found;
		buf_reset(&out);
		for (; se->written < end; se->written++)
			buf_printf(&out, " %" PRIu32, search_number(cmd, se->written));
		imap_write(cmd->s, out.data, out.len);
	}
	buf_reset(&out);
	if (se->prog->has_modseq && se->n_found > 0)
		buf_printf(&out, " (MODSEQ %" PRIu64 ")", se->top_modseq);  /* RFC 7162 3.1.6 */
	buf_append_str(&out, "\r\n");
	imap_write(cmd->s, out.data, out.len);
	buf_release(&out);
	search_done(cmd);
}

static void search_next(struct imap_cmd *cmd);

static void search_batch_done(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;

	if (conn_is_closing(cmd->s->conn))
		return;
	if (se->error != STORE_OK) {
		if (se->prog->ret & IMAP_SEARCH_RET_SAVE)
			search_save(cmd, false);  /* RFC 9051 6.4.4.1: NO empties "$" */
		imap_cmd_fail(cmd, se->error, false, "search");
		return;
	}
	search_next(cmd);
}

static void search_next(struct imap_cmd *cmd)
{
	struct search *se = cmd->ctx;

	if (se->pos < se->n) {
		imap_cmd_job(cmd, search_work, search_batch_done);
		return;
	}
	/* RFC 9051 7.3.4: a rev2 session always gets ESEARCH. */
	if (se->prog->esearch || cmd->s->rev2) {
		search_write_esearch(cmd);
		search_done(cmd);
		return;
	}
	imap_write(cmd->s, "* SEARCH", 8);
	search_write_plain(cmd);
}

static void search_start(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_selected *sel = s->selected;
	const struct store_view *v = &sel->view;
	struct search *se;
	enum imap_search_error e;
	const char *why;

	se = calloc(1, sizeof(*se));
	if (se == NULL)
		abort();
	e = imap_search_parse(cmd->args, cmd->n_args, v->n, v->n > 0 ? v->uids[v->n - 1] : 0,
			      &se->prog, &why);
	if (e != IMAP_SEARCH_OK) {
		free(se);
		if (e == IMAP_SEARCH_BADCHARSET)
			imap_cmd_done(cmd, IMAP_NO, "BADCHARSET (UTF-8 US-ASCII)", "%s", why);
		else
			imap_cmd_done(cmd, IMAP_BAD, e == IMAP_SEARCH_LIMIT ? "LIMIT" : NULL, "%s", why);
		return;
	}
	cmd->ctx = se;
	cmd->free_ctx = search_free_ctx;
	/* RFC 7162 3.2.10.2: no VANISHED during a UID SEARCH with message
	 * numbers in its keys (they were the client's numbers) */
	cmd->no_expunge = se->prog->uses_seqs;
	if (se->prog->has_modseq)
		imap_condstore_enable(s);        /* RFC 7162 3.1 */
	se->acct = s->acct;
	se->ref = sel->ref;
	se->n = v->n;
	se->uids = malloc((v->n > 0 ? v->n : 1) * sizeof(*se->uids));
	se->flags = malloc(v->n > 0 ? v->n : 1);
	se->scratch = malloc(SEARCH_PIECE);
	if (se->uids == NULL || se->flags == NULL || se->scratch == NULL)
		abort();
	/* an empty mailbox's view may have no arrays at all */
	if (v->n > 0) {
		memcpy(se->uids, v->uids, v->n * sizeof(*se->uids));
		memcpy(se->flags, v->flags, v->n);
	}
	if (se->prog->uses_saved && sel->n_saved > 0) {
		se->saved = malloc(sel->n_saved * sizeof(*se->saved));
		if (se->saved == NULL)
			abort();
		/* ascending, as imap_search_eval's binary search needs */
		memcpy(se->saved, sel->saved, sel->n_saved * sizeof(*se->saved));
		se->n_saved = sel->n_saved;
	}
	search_next(cmd);
}

void cmd_search(struct imap_cmd *cmd)
{
	if (cmd->n_args == 0) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "SEARCH needs search keys");
		return;
	}
	/* UID SEARCH: messages that arrived meanwhile count, and "*" is
	 * the real largest UID. */
	if (cmd->uid)
		imap_selected_catch_up(cmd, search_start);
	else
		search_start(cmd);
}
