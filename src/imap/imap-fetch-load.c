/* imap-fetch-load - the job half of FETCH: one batch of messages read from
 * the store (metadata by UID, \Seen set for a body fetch without PEEK,
 * the MIME structure from the cache or parsed once and cached), and for
 * every section item what it sends: small sections (and HEADER.FIELDS,
 * and small decoded BINARY parts) read into memory, large ones described
 * as a file range that cmd-fetch.c streams with conn_send_file. Runs on
 * the thread pool: it may block on the disk. */
#include "imap/imap-fetch.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-fetch-header.h"
#include "mail/mail-header.h"
#include "imap/imap-structure.h"

/* Read at a time from the file. */
#define FETCH_PIECE (64u * 1024)

static bool read_range(struct store_reader *r, uint64_t off, uint64_t len, struct buf *out)
{
	while (len > 0) {
		size_t want = len < FETCH_PIECE ? (size_t)len : FETCH_PIECE;
		char *p = buf_reserve(out, want);
		ssize_t got;

		if (p == NULL)
			return false;
		got = store_reader_pread(r, p, want, off);
		if (got <= 0)
			return false;
		buf_commit(out, (size_t)got);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return true;
}

char *imap_fetch_scratch(struct imap_fetch *f)
{
	if (f->scratch == NULL) {
		f->scratch = malloc(MAIL_DECODE_OUT_MAX(FETCH_PIECE));
		if (f->scratch == NULL)
			abort();
	}
	return f->scratch;
}

/* The outcome of a store call for message x: NOT_FOUND marks it gone
 * (expunged by another session), another error ends the command. */
static bool loaded(struct imap_fetch *f, struct imap_fetch_msg *x, enum store_error err)
{
	if (err == STORE_ERR_NOT_FOUND) {
		x->gone = true;
		f->expunged = true;
	} else if (err != STORE_OK) {
		f->error = err;
	}
	return err == STORE_OK;
}

/* Open the message's file once. */
static bool open_reader(struct imap_fetch *f, const struct store_message *m,
			struct imap_fetch_msg *x)
{
	return x->reader != NULL ||
	       loaded(f, x, store_reader_open(f->acct, &f->ref, m->uid, &x->reader));
}

/* The structure: the tree the batch read from the store's cache
 * (batch_row), or the message parsed from its file and cached
 * (imap-structure.h). */
static bool load_structure(struct imap_fetch *f, const struct store_message *m,
			   struct imap_fetch_msg *x)
{
	return x->st != NULL ||
	       loaded(f, x, imap_structure_load_cached(f->acct, &f->ref, m->uid, m->size, NULL, 0,
						       &x->reader, imap_fetch_scratch(f),
						       FETCH_PIECE, &x->st));
}

static enum mail_section_kind section_kind(enum imap_fetch_text text)
{
	switch (text) {
	case IMAP_FETCH_TEXT_HEADER:
	case IMAP_FETCH_TEXT_FIELDS:
	case IMAP_FETCH_TEXT_FIELDS_NOT:
		return MAIL_SECTION_HEADER;
	case IMAP_FETCH_TEXT_TEXT:
		return MAIL_SECTION_TEXT;
	case IMAP_FETCH_TEXT_MIME:
		return MAIL_SECTION_MIME;
	default:
		return MAIL_SECTION_BODY;
	}
}

/* <origin.length> applied to a range of `len` bytes: false when nothing
 * of it is left (an origin at or past the end gives ""). */
static bool apply_partial(const struct imap_fetch_item *it, uint64_t *off, uint64_t *len)
{
	if (it->partial) {
		if (it->origin >= *len)
			return false;
		*off += it->origin;
		*len -= it->origin;
		if (*len > it->length)
			*len = it->length;
	}
	return *len > 0;
}

/* Memory data[0..len) as the item's data, its partial range applied. */
static void set_memory(const struct imap_fetch_item *it, struct imap_fetch_data *d, char *data,
		       size_t len)
{
	uint64_t off = 0, n = len;

	if (!apply_partial(it, &off, &n)) {
		free(data);
		d->kind = IMAP_FETCH_DATA_EMPTY;
		return;
	}
	if (n > 0) /* an empty range may come with data NULL */
		memmove(data, data + off, (size_t)n);
	d->kind = IMAP_FETCH_DATA_MEMORY;
	d->data = data;
	d->size = n;
}

/* Decode [off, off + len) of the file with `cte`: its decoded size,
 * whether it holds NUL, and (when keep is not NULL) the bytes. */
static bool decode_range(struct imap_fetch *f, struct store_reader *r, uint64_t off,
			 uint64_t len, enum mail_cte cte, uint64_t *size_r, bool *nul_r,
			 struct buf *keep)
{
	struct mail_decoder dec;
	char in[4096];
	size_t out;

	*size_r = 0;
	*nul_r = false;
	mail_decoder_init(&dec, cte);
	while (len > 0) {
		size_t want = len < sizeof(in) ? (size_t)len : sizeof(in);
		ssize_t got = store_reader_pread(r, in, want, off);

		if (got <= 0)
			return false;
		out = mail_decoder_push(&dec, in, (size_t)got, imap_fetch_scratch(f));
		*size_r += out;
		*nul_r = *nul_r || memchr(f->scratch, '\0', out) != NULL;
		if (keep != NULL)
			buf_append(keep, f->scratch, out);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	out = mail_decoder_finish(&dec, imap_fetch_scratch(f));
	*size_r += out;
	*nul_r = *nul_r || memchr(f->scratch, '\0', out) != NULL;
	if (keep != NULL)
		buf_append(keep, f->scratch, out);
	return true;
}

/* BINARY[part] and BINARY.SIZE[part] (RFC 3516, RFC 9051 6.4.5): the
 * part's content with its transfer encoding undone. */
static bool prepare_binary(struct imap_fetch *f, const struct imap_fetch_item *it,
			   struct imap_fetch_msg *x, struct imap_fetch_data *d, uint64_t off,
			   uint64_t len, size_t *budget, bool *streamed)
{
	const char *enc = mail_structure_encoding(x->st, it->part, it->depth);
	enum mail_cte cte = mail_cte_parse(enc, strlen(enc));
	bool small = len <= IMAP_FETCH_INLINE_MAX && len <= *budget, nul;
	uint64_t size, skip = 0;
	struct buf keep;

	if (cte == MAIL_CTE_UNKNOWN) {
		f->unknown_cte = true;
		return true;
	}
	if (it->attr == IMAP_FETCH_BINARY_SIZE && cte == MAIL_CTE_IDENTITY) {
		d->size = len;
		return true;
	}
	/* Decoded here for its size and whether it holds NUL, kept when
	 * small; a large one is decoded again on its way out. */
	buf_init(&keep, 0);
	if (!decode_range(f, x->reader, off, len, cte, &size, &nul, small ? &keep : NULL)) {
		buf_release(&keep);
		return false;
	}
	if (it->attr == IMAP_FETCH_BINARY_SIZE) {
		buf_release(&keep);
		d->size = size;
		return true;
	}
	/* RFC 9051 7.5.2: a string unless the content holds NUL. */
	d->literal8 = nul;
	if (small) {
		*budget -= len;
		set_memory(it, d, keep.data, keep.len);
		return true;
	}
	if (!apply_partial(it, &skip, &size))
		return true;
	d->kind = cte == MAIL_CTE_IDENTITY ? IMAP_FETCH_DATA_FILE : IMAP_FETCH_DATA_DECODE;
	d->off = cte == MAIL_CTE_IDENTITY ? off + skip : off;
	d->enc_len = cte == MAIL_CTE_IDENTITY ? size : len;
	d->cte = cte;
	d->skip = cte == MAIL_CTE_IDENTITY ? 0 : skip;
	d->size = size;
	*streamed = true;
	return true;
}

/* Where the message's header ends (its empty line included), read from
 * the file as far as that: the top message's HEADER, HEADER.FIELDS and
 * TEXT need no more, so a client that asks every message's header
 * fields (Thunderbird's first sync) never has whole messages read. */
static bool header_length(struct imap_fetch *f, struct imap_fetch_msg *x, uint64_t *len_r)
{
	/* Only offsets are used: the reader need keep nothing of a field. */
	const struct mail_header_limits limits = { .max_header = SIZE_MAX, .max_field = 1 };
	struct mail_header_parser p;
	struct mail_header_field field;
	enum mail_header_result r = MAIL_HEADER_NEED_MORE;
	uint64_t off = 0;
	ssize_t got = 1;

	if (x->header_known) {
		*len_r = x->header_len;
		return true;
	}
	mail_header_parser_init(&p, &limits);
	while (r != MAIL_HEADER_END && r != MAIL_HEADER_TOO_LARGE) {
		if (r == MAIL_HEADER_NEED_MORE) {
			got = store_reader_pread(x->reader, imap_fetch_scratch(f), FETCH_PIECE, off);
			if (got < 0)
				break;
			if (got == 0)
				mail_header_parser_finish(&p);
			else
				mail_header_parser_push(&p, f->scratch, (size_t)got);
			off += (uint64_t)got;
		}
		r = mail_header_parser_next(&p, &field);
	}
	mail_header_parser_deinit(&p);
	if (got < 0)
		return false;
	x->header_len = field.offset + field.length;
	x->header_known = true;
	*len_r = x->header_len;
	return true;
}

/* What one section item of message m sends. */
static bool prepare(struct imap_fetch *f, const struct imap_fetch_item *it,
		    const struct store_message *m, struct imap_fetch_msg *x,
		    struct imap_fetch_data *d, size_t *budget, bool *streamed)
{
	uint64_t off = 0, len = m->size, header_end;

	if (x->st == NULL && it->text != IMAP_FETCH_TEXT_NONE) {
		/* The top message's header or text (imap_fetch_parse asks no
		 * structure for them). */
		if (!header_length(f, x, &header_end))
			return false;
		off = it->text == IMAP_FETCH_TEXT_TEXT ? header_end : 0;
		len = it->text == IMAP_FETCH_TEXT_TEXT ? m->size - header_end : header_end;
	} else if ((it->depth > 0 || it->text != IMAP_FETCH_TEXT_NONE) &&
		   !mail_structure_section(x->st, it->part, it->depth, section_kind(it->text), &off,
					   &len)) {
		return true; /* no such part: "" (and BINARY.SIZE 0) */
	}
	if (it->binary)
		return prepare_binary(f, it, x, d, off, len, budget, streamed);
	if (it->text == IMAP_FETCH_TEXT_FIELDS || it->text == IMAP_FETCH_TEXT_FIELDS_NOT) {
		struct buf header, out;

		buf_init(&header, 0);
		buf_init(&out, 0);
		if (!read_range(x->reader, off, len < IMAP_FETCH_HEADER_MAX ? len : IMAP_FETCH_HEADER_MAX,
				&header)) {
			buf_release(&header);
			return false;
		}
		imap_fetch_header_filter(header.data, header.len, it->fields, it->n_fields,
					 it->text == IMAP_FETCH_TEXT_FIELDS_NOT, &out);
		buf_release(&header);
		*budget -= out.len < *budget ? out.len : *budget;
		set_memory(it, d, out.data, out.len);
		return true;
	}
	if (!apply_partial(it, &off, &len))
		return true;
	if (len <= IMAP_FETCH_INLINE_MAX && len <= *budget) {
		struct buf keep;

		buf_init(&keep, 0);
		if (!read_range(x->reader, off, len, &keep)) {
			buf_release(&keep);
			return false;
		}
		*budget -= len;
		d->kind = IMAP_FETCH_DATA_MEMORY;
		d->data = keep.data;
		d->size = keep.len;
		return true;
	}
	d->kind = IMAP_FETCH_DATA_FILE;
	d->off = off;
	d->size = d->enc_len = len;
	*streamed = true;
	return true;
}

/* Everything the items need of one message. Returns false to end the
 * batch here (an error, or the message is gone). */
static bool load_message(struct imap_fetch *f, const struct store_message *m,
			 struct imap_fetch_msg *x, size_t *budget, bool *streamed)
{
	unsigned needs = f->req.needs;

	if ((needs & IMAP_FETCH_NEED_STRUCTURE) && !load_structure(f, m, x))
		return false;
	if (needs & IMAP_FETCH_NEED_CONTENT) {
		if (!open_reader(f, m, x))
			return false;
		x->data = calloc(f->req.n, sizeof(*x->data));
		if (x->data == NULL)
			abort();
		for (size_t i = 0; i < f->req.n && !f->unknown_cte; i++) {
			const struct imap_fetch_item *it = &f->req.items[i];

			if (it->attr != IMAP_FETCH_SECTION && it->attr != IMAP_FETCH_BINARY_SIZE)
				continue;
			if (!prepare(f, it, m, x, &x->data[i], budget, streamed)) {
				f->error = STORE_ERR_IO;
				return false;
			}
		}
	}
	if (!*streamed && x->reader != NULL)
		store_reader_close(&x->reader);
	return true;
}

/* RFC 9051 6.4.5: BODY[section] without .PEEK sets \Seen, and the flags
 * then go out with the message (not in a read-only mailbox). */
static void set_seen(struct imap_fetch *f)
{
	struct store_flag_change *changes = NULL;
	size_t n = 0, n_changes = 0, k = 0;
	uint32_t *uids;
	enum store_error err;

	if (!(f->req.needs & IMAP_FETCH_NEED_SEEN) || f->readonly || f->n == 0)
		return;
	uids = malloc(f->n * sizeof(*uids));
	if (uids == NULL)
		abort();
	for (size_t i = 0; i < f->n; i++)
		if (!f->extra[i].gone && !(f->msgs[i].flags & STORE_FLAG_SEEN))
			uids[n++] = f->msgs[i].uid;
	if (n > 0) {
		err = store_flags_update(f->acct, &f->ref, uids, n, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					 NULL, &changes, &n_changes);
		if (err != STORE_OK)
			f->error = err;
	}
	/* Both lists are in UID order. */
	for (size_t i = 0; i < f->n && k < n_changes; i++) {
		if (f->msgs[i].uid != changes[k].uid)
			continue;
		f->msgs[i].flags = changes[k].flags;
		f->msgs[i].modseq = changes[k].modseq;
		f->extra[i].seen_set = true;
		k++;
	}
	store_flag_changes_free(changes, n_changes);
	free(uids);
}

static void msg_free(struct imap_fetch *f, struct imap_fetch_msg *x)
{
	mail_structure_free(&x->st);
	if (x->data != NULL)
		for (size_t i = 0; i < f->req.n; i++)
			free(x->data[i].data);
	free(x->data);
	if (x->reader != NULL)
		store_reader_close(&x->reader);
	memset(x, 0, sizeof(*x));
}

/* Messages of the next batch: metadata only, structures without the
 * file (BODYSTRUCTURE, ENVELOPE: their cached strings come in one read),
 * or file contents. */
static size_t batch_size(const struct imap_fetch *f)
{
	if (f->req.needs == 0)
		return IMAP_FETCH_BATCH_META;
	if (f->req.needs == IMAP_FETCH_NEED_STRUCTURE)
		return IMAP_FETCH_BATCH_STRUCTURE;
	return IMAP_FETCH_BATCH;
}

/* The parts of the store's cache entries the batch reads: with only
 * ENVELOPE, BODY and BODYSTRUCTURE asked, their strings (sent as they
 * are, no tree built); else the tree. */
static unsigned structure_mask(const struct imap_fetch *f)
{
	unsigned mask = 0;

	if (f->req.needs != IMAP_FETCH_NEED_STRUCTURE)
		return 1u << STORE_STRUCTURE_TREE;
	for (size_t i = 0; i < f->req.n; i++) {
		switch (f->req.items[i].attr) {
		case IMAP_FETCH_ENVELOPE:
			mask |= 1u << STORE_STRUCTURE_ENVELOPE;
			break;
		case IMAP_FETCH_BODY:
			mask |= 1u << STORE_STRUCTURE_BODY;
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
			mask |= 1u << STORE_STRUCTURE_BODYSTRUCTURE;
			break;
		default:
			break;
		}
	}
	return mask;
}

struct batch_read {
	struct imap_fetch *f;
	unsigned mask;
};

/* Under the store's lock, the cache entry of message i in place: the
 * strings asked for, each checked (unless the handle held them, checked
 * before), copied into the batch's `strings` (all of them, or the
 * message is parsed instead); or the tree, read back into x->st.
 * Whatever does not check out is left for load_structure to parse
 * again; true when everything asked for checked out. */
static bool batch_row(void *ctx, size_t i, const struct store_blob parts[STORE_STRUCTURE__COUNT],
		      bool held)
{
	const struct batch_read *b = ctx;
	struct imap_fetch *f = b->f;
	struct imap_fetch_msg *x = &f->extra[i];
	uint64_t size = f->msgs[i].size;
	size_t mark = f->strings.len;

	if (b->mask & (1u << STORE_STRUCTURE_TREE)) {
		x->st = parts[STORE_STRUCTURE_TREE].data == NULL ? NULL :
			mail_structure_deserialize(parts[STORE_STRUCTURE_TREE].data,
						   parts[STORE_STRUCTURE_TREE].len);
		if (x->st != NULL && mail_structure_size(x->st) != size)
			mail_structure_free(&x->st);
		return x->st != NULL;
	}
	for (int p = STORE_STRUCTURE_BODYSTRUCTURE; p < STORE_STRUCTURE__COUNT; p++) {
		const char *str;

		if (!(b->mask & (1u << p)))
			continue;
		if (held)
			mail_structure_string_opened(parts[p].data, parts[p].len, &str, &x->str_len[p]);
		else if (!mail_structure_string_open(parts[p].data, parts[p].len, size, &str,
						     &x->str_len[p])) {
			f->strings.len = mark;
			return false;
		}
		x->str_off[p] = f->strings.len;
		buf_append(&f->strings, str, x->str_len[p]);
	}
	x->peeked = true;
	return true;
}

void imap_fetch_load(struct imap_fetch *f)
{
	size_t batch = batch_size(f);
	size_t k = f->n_uids - f->pos < batch ? f->n_uids - f->pos : batch;
	size_t budget = IMAP_FETCH_BATCH_BYTES, i;
	struct batch_read b = { .f = f };
	enum store_error err;

	f->msgs = calloc(k, sizeof(*f->msgs));
	f->extra = calloc(k, sizeof(*f->extra));
	if (f->msgs == NULL || f->extra == NULL)
		abort();
	f->n_alloc = k;
	f->n = 0;
	buf_init(&f->strings, 0);
	if (f->req.needs & IMAP_FETCH_NEED_STRUCTURE) {
		b.mask = structure_mask(f);
		err = store_messages_get_structures(f->acct, &f->ref, f->uids + f->pos, k, b.mask,
						    f->msgs, batch_row, &b);
		if (err != STORE_OK) {
			/* without the batch's cache entries each message is
			 * parsed: slower, not wrong */
			for (size_t j = 0; j < k; j++)
				msg_free(f, &f->extra[j]);
			buf_release(&f->strings);
			err = store_messages_get(f->acct, &f->ref, f->uids + f->pos, k, f->msgs);
		}
	} else {
		err = store_messages_get(f->acct, &f->ref, f->uids + f->pos, k, f->msgs);
	}
	if (err != STORE_OK) {
		f->error = err;
		return;
	}
	for (i = 0; i < k; i++) {
		struct imap_fetch_msg *x = &f->extra[i];
		bool streamed = false;

		if (f->msgs[i].uid == 0) {
			x->gone = true;
			f->expunged = true;
			continue;
		}
		/* Only the structure's strings asked for, and cached: sent
		 * as they are (batch_row). */
		if (x->peeked)
			continue;
		if ((!load_message(f, &f->msgs[i], x, &budget, &streamed) && !x->gone) ||
		    f->unknown_cte)
			break; /* this message is not written: the command fails */
		/* A streamed section holds its file open: the batch ends with it. */
		if (streamed || budget == 0) {
			i++;
			break;
		}
	}
	f->n = i;
	f->pos += i;
	set_seen(f);
}

void imap_fetch_batch_free(struct imap_fetch *f)
{
	for (size_t i = 0; i < f->n_alloc; i++)
		msg_free(f, &f->extra[i]);
	if (f->msgs != NULL)
		store_messages_free(f->msgs, f->n_alloc);
	free(f->extra);
	buf_release(&f->strings);
	f->msgs = NULL;
	f->extra = NULL;
	f->n = f->n_alloc = 0;
	f->cur = 0;
	f->item = -1;
}
