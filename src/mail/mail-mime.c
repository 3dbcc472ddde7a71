/* mail-mime - the MIME structure parser (RFC 2045, 2046): the message is
 * read line by line as it is pushed, each entity's header through the
 * RFC 5322 header reader (mail-header.h), boundaries matched against the
 * open multiparts, innermost first; see mail-mime.h for the contract.
 *
 * Like Dovecot: a boundary line is "--" and the boundary at the start of
 * a line, whatever follows (RFC 2046 5.1.1 allows only white space; broken
 * mail has more), "--" after it closes the multipart; the line end before
 * a boundary line belongs to it, not to the part; a line that matches an
 * outer multipart's boundary ends the inner ones too; a multipart with no
 * part gets one empty text/plain part. */
#include "mail/mail-mime-internal.h"

#include <stdlib.h>
#include <string.h>

#include "mail/mail-header.h"

/* Bytes of a line kept to match boundaries: "--", the longest boundary,
 * "--". */
#define MAIL_MIME_LINE_KEEP (MAIL_MIME_MAX_BOUNDARY + 4)
/* The most of one header field kept: the rest of a longer one is cut. */
#define MAIL_MIME_MAX_FIELD 65536
/* The most bytes of part strings a message's structure holds; past this
 * the parts that follow are read as if their header were empty. */
#define MAIL_MIME_MAX_STRINGS (8u << 20)

struct mail_mime_open {
	uint32_t node;
	char *boundary;      /* an open multipart's, until its close delimiter */
	size_t boundary_len;
	bool digest;         /* multipart/digest */
};

struct mail_mime_parser {
	struct mail_structure *st;
	struct mail_mime_open open[MAIL_MIME_MAX_DEPTH + 1];
	size_t open_n;
	bool parts_full;     /* MAIL_MIME_MAX_PARTS reached: no more boundaries */
	size_t strings;      /* bytes of part strings so far */

	/* the line being read */
	uint64_t pos, line_start;
	uint64_t lf, lf_line_start;  /* LFs before pos, before line_start */
	size_t prev_eol;             /* line end length of the previous line */
	bool prev_boundary;          /* the previous line was a boundary line */
	bool last_cr;
	unsigned char keep[MAIL_MIME_LINE_KEEP];
	size_t keep_len;
	bool decided;                /* boundary or not, known for this line */
	bool skip_line;              /* the rest is a boundary line's */
	bool child_next;             /* a part of open[open_n - 1] starts at the next line */

	/* the header of the entity at the top of the stack */
	bool in_header;
	struct mail_header_parser hp;
	struct mail_mime_fields fields;
};

char *mail_mime_strndup(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		abort();
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* --- the fields of one header --- */

static const char *const mail_mime_field_names[] = {
	[MAIL_MIME_F_CONTENT_TYPE] = "Content-Type",
	[MAIL_MIME_F_CONTENT_TRANSFER_ENCODING] = "Content-Transfer-Encoding",
	[MAIL_MIME_F_CONTENT_ID] = "Content-ID",
	[MAIL_MIME_F_CONTENT_DESCRIPTION] = "Content-Description",
	[MAIL_MIME_F_CONTENT_DISPOSITION] = "Content-Disposition",
	[MAIL_MIME_F_CONTENT_LANGUAGE] = "Content-Language",
	[MAIL_MIME_F_CONTENT_LOCATION] = "Content-Location",
	[MAIL_MIME_F_CONTENT_MD5] = "Content-MD5",
	[MAIL_MIME_F_DATE] = "Date",
	[MAIL_MIME_F_SUBJECT] = "Subject",
	[MAIL_MIME_F_FROM] = "From",
	[MAIL_MIME_F_SENDER] = "Sender",
	[MAIL_MIME_F_REPLY_TO] = "Reply-To",
	[MAIL_MIME_F_TO] = "To",
	[MAIL_MIME_F_CC] = "Cc",
	[MAIL_MIME_F_BCC] = "Bcc",
	[MAIL_MIME_F_IN_REPLY_TO] = "In-Reply-To",
	[MAIL_MIME_F_MESSAGE_ID] = "Message-ID",
};
_Static_assert(sizeof(mail_mime_field_names) / sizeof(mail_mime_field_names[0]) == MAIL_MIME_F__COUNT,
	       "field names");

void mail_mime_fields_init(struct mail_mime_fields *f)
{
	size_t i;

	for (i = 0; i < MAIL_MIME_F__COUNT; i++) {
		buf_init(&f->value[i], MAIL_MIME_MAX_FIELD);
		f->set[i] = false;
	}
}

void mail_mime_fields_deinit(struct mail_mime_fields *f)
{
	size_t i;

	for (i = 0; i < MAIL_MIME_F__COUNT; i++)
		buf_release(&f->value[i]);
}

/* Append what fits of s[0..len) to b (whose cap is MAIL_MIME_MAX_FIELD). */
static void mail_mime_append_capped(struct buf *b, const char *s, size_t len)
{
	size_t room = b->max - b->len;

	(void)buf_append(b, s, len < room ? len : room);
}

void mail_mime_fields_add(struct mail_mime_fields *f, const char *name, size_t name_len,
			  const char *value, size_t value_len, bool envelope)
{
	enum mail_mime_field which;
	struct buf *b;
	size_t start, n;

	for (which = 0; which < MAIL_MIME_F__COUNT; which++) {
		if (mail_header_name_equals(name, name_len, mail_mime_field_names[which]))
			break;
	}
	if (which == MAIL_MIME_F__COUNT || (which >= MAIL_MIME_F_FIRST_ENVELOPE && !envelope))
		return;
	b = &f->value[which];
	if (which < MAIL_MIME_F_FIRST_ENVELOPE && f->set[which])
		return;   /* Content-*: the first one counts */
	if (which == MAIL_MIME_F_FROM || which == MAIL_MIME_F_SENDER || which == MAIL_MIME_F_REPLY_TO ||
	    which == MAIL_MIME_F_TO || which == MAIL_MIME_F_CC || which == MAIL_MIME_F_BCC) {
		if (f->set[which])
			mail_mime_append_capped(b, ",", 1);
	} else {
		buf_reset(b);   /* the last one counts */
	}
	f->set[which] = true;
	/* the white space after the colon goes; line ends go, the white
	 * space that follows them stays (what Dovecot calls the full value) */
	for (start = 0; start < value_len && (value[start] == ' ' || value[start] == '\t'); start++)
		;
	for (; start < value_len; start += n) {
		for (n = 0; start + n < value_len && value[start + n] != '\r' && value[start + n] != '\n'; n++)
			;
		mail_mime_append_capped(b, value + start, n);
		while (start + n < value_len && (value[start + n] == '\r' || value[start + n] == '\n'))
			n++;
	}
}

/* --- the tree --- */

static uint32_t mail_mime_node_new(struct mail_mime_parser *p, uint32_t parent, uint64_t hdr_off)
{
	struct mail_structure *st = p->st;
	struct mail_mime_node *n;

	if (st->count == st->cap) {
		uint32_t cap = st->cap == 0 ? 8 : st->cap * 2;
		struct mail_mime_node *nodes = realloc(st->nodes, cap * sizeof(*nodes));

		if (nodes == NULL)
			abort();
		st->nodes = nodes;
		st->cap = cap;
	}
	n = &st->nodes[st->count];
	memset(n, 0, sizeof(*n));
	n->hdr_off = n->body_off = n->end = hdr_off;
	n->parent = parent;
	n->first_child = n->last_child = n->next = MAIL_MIME_NONE;
	if (parent != MAIL_MIME_NONE) {
		struct mail_mime_node *par = &st->nodes[parent];

		if (par->last_child == MAIL_MIME_NONE)
			par->first_child = st->count;
		else
			st->nodes[par->last_child].next = st->count;
		par->last_child = st->count;
	}
	return st->count++;
}

static bool mail_mime_is_root(const struct mail_structure *st, uint32_t node)
{
	uint32_t parent = st->nodes[node].parent;

	return parent == MAIL_MIME_NONE || st->nodes[parent].kind == MAIL_MIME_MESSAGE;
}

static void mail_mime_header_start(struct mail_mime_parser *p, uint32_t parent, uint64_t at)
{
	static const struct mail_header_limits limits = { SIZE_MAX, MAIL_MIME_MAX_FIELD };
	uint32_t node = mail_mime_node_new(p, parent, at);

	p->open[p->open_n].node = node;
	p->open[p->open_n].boundary = NULL;
	p->open[p->open_n].digest = false;
	p->open_n++;
	p->in_header = true;
	mail_header_parser_init(&p->hp, &limits);
	mail_mime_fields_init(&p->fields);
}

static void mail_mime_header_field(struct mail_mime_parser *p, const struct mail_header_field *f)
{
	uint32_t node = p->open[p->open_n - 1].node;

	mail_mime_fields_add(&p->fields, f->name, f->name_len, f->value, f->value_len,
			     mail_mime_is_root(p->st, node));
}

/* Take the fields the header reader has for us; true once it ended. */
static bool mail_mime_header_drain(struct mail_mime_parser *p)
{
	struct mail_header_field f;
	enum mail_header_result r;

	while ((r = mail_header_parser_next(&p->hp, &f)) == MAIL_HEADER_FIELD || r == MAIL_HEADER_MALFORMED) {
		if (r == MAIL_HEADER_FIELD)
			mail_mime_header_field(p, &f);
	}
	return r != MAIL_HEADER_NEED_MORE;
}

/* The header of the top entity ended; its body starts at `body_off`,
 * with `lf` LFs before it. */
static void mail_mime_header_end(struct mail_mime_parser *p, uint64_t body_off, uint64_t lf)
{
	struct mail_mime_open *top = &p->open[p->open_n - 1];
	struct mail_structure *st = p->st;
	struct mail_mime_node *n = &st->nodes[top->node];
	struct mail_mime_part_ctx ctx = { 0 };
	struct mail_mime_fields empty;
	const struct mail_mime_fields *f = &p->fields;
	bool root = mail_mime_is_root(st, top->node);
	char *boundary;

	mail_header_parser_deinit(&p->hp);
	p->in_header = false;
	n->body_off = n->end = body_off;
	n->lf_body = lf;
	if (p->strings > MAIL_MIME_MAX_STRINGS) {
		mail_mime_fields_init(&empty);
		f = &empty;
	}
	ctx.digest_child = p->open_n >= 2 && p->open[p->open_n - 2].digest && !root;
	ctx.too_deep = p->open_n >= MAIL_MIME_MAX_DEPTH;
	boundary = mail_mime_part_fill(n, f, &ctx);
	if (root)
		n->envelope = mail_envelope_build(f);
	p->strings += strlen(n->basic) + strlen(n->ext) + (n->envelope != NULL ? strlen(n->envelope) : 0);
	if (f != &p->fields)
		mail_mime_fields_deinit(&empty);
	mail_mime_fields_deinit(&p->fields);

	if (n->kind == MAIL_MIME_MULTIPART) {
		top->boundary = boundary;
		top->boundary_len = boundary != NULL ? strlen(boundary) : 0;
		top->digest = strncasecmp(n->basic, "\"digest\"", 8) == 0 && n->basic[8] == '\0';
	} else {
		free(boundary);
		if (n->kind == MAIL_MIME_MESSAGE)
			mail_mime_header_start(p, top->node, body_off);
	}
}

/* Give the header reader bytes of the line being read. */
static void mail_mime_header_feed(struct mail_mime_parser *p, const void *data, size_t len, uint64_t at)
{
	if (len == 0)
		return;
	mail_header_parser_push(&p->hp, data, len);
	/* the header ends with an empty line: at its LF, not yet counted */
	if (mail_mime_header_drain(p))
		mail_mime_header_end(p, at + len, p->lf + 1);
}

/* End the entities above open[keep - 1] at `end` (LFs before it: lf). An
 * entity still in its header has that header end at `hdr_end` and an
 * empty body (Dovecot: the line end before the boundary stays the
 * header's, and the parts around it hold it). A multipart that got no
 * part gets an empty one (as Dovecot). */
static void mail_mime_close_to(struct mail_mime_parser *p, size_t keep, uint64_t end, uint64_t lf,
			       uint64_t hdr_end)
{
	uint32_t first_cut = p->in_header ? p->open[p->open_n - 1].node : MAIL_MIME_NONE;

	while (p->open_n > keep) {
		struct mail_mime_open *top = &p->open[p->open_n - 1];
		struct mail_mime_node *n = &p->st->nodes[top->node];
		bool cut = first_cut != MAIL_MIME_NONE && top->node >= first_cut;

		if (p->in_header) {
			mail_header_parser_finish(&p->hp);
			(void)mail_mime_header_drain(p);
			mail_mime_header_end(p, hdr_end < n->hdr_off ? n->hdr_off : hdr_end, lf);
			continue;   /* a message part opened its message: close it too */
		}
		/* an empty body: the line end before the boundary was the
		 * empty line's, and leaves the header (Dovecot); not when a
		 * message starts there */
		if (!cut && end < n->body_off && n->first_child == MAIL_MIME_NONE)
			n->body_off = end < n->hdr_off ? n->hdr_off : end;
		if (n->kind == MAIL_MIME_MULTIPART && n->first_child == MAIL_MIME_NONE &&
		    !p->parts_full) {
			uint64_t at = cut || end < n->body_off ? n->body_off : end;

			free(top->boundary);
			top->boundary = NULL;
			mail_mime_header_start(p, top->node, at);
			mail_mime_header_end(p, at, lf);
			continue;
		}
		if (!cut && end > n->body_off) {
			n->end = end;
			n->lines = lf - n->lf_body;
		} else {
			n->end = n->body_off;
			n->lines = 0;
		}
		free(top->boundary);
		top->boundary = NULL;
		p->open_n--;
	}
}

/* The first bytes of the line are known (all of it, or LINE_KEEP): is
 * it a boundary line of an open multipart? Innermost first. */
static void mail_mime_decide(struct mail_mime_parser *p)
{
	size_t i;

	p->decided = true;
	if (p->keep_len < 2 || p->keep[0] != '-' || p->keep[1] != '-' || p->parts_full)
		return;
	for (i = p->open_n; i-- > 0;) {
		struct mail_mime_open *o = &p->open[i];
		uint64_t end, lf;
		size_t eol;
		bool close;

		if (o->boundary == NULL || p->keep_len < 2 + o->boundary_len ||
		    memcmp(p->keep + 2, o->boundary, o->boundary_len) != 0)
			continue;
		close = p->keep_len >= 4 + o->boundary_len && p->keep[2 + o->boundary_len] == '-' &&
			p->keep[3 + o->boundary_len] == '-';
		/* RFC 2046 5.1.1: the line end before the boundary is its own;
		 * but (Dovecot) not that of a boundary line before, and one that
		 * ends a header line stays the header's */
		eol = p->prev_boundary ? 0 : p->prev_eol;
		end = p->line_start - (p->in_header ? 0 : eol);
		lf = p->lf_line_start - (eol > 0 && !p->in_header ? 1 : 0);
		mail_mime_close_to(p, i + 1, end, lf, p->line_start - eol);
		if (close) {
			free(o->boundary);
			o->boundary = NULL;
		} else {
			p->child_next = true;
		}
		p->skip_line = true;
		return;
	}
}

/* The line that ended at p->pos. */
static void mail_mime_line_end(struct mail_mime_parser *p, size_t eol)
{
	p->prev_eol = eol;
	p->prev_boundary = p->skip_line;
	p->line_start = p->pos;
	p->lf_line_start = p->lf;
	p->keep_len = 0;
	p->decided = false;
	p->skip_line = false;
	if (p->child_next) {
		p->child_next = false;
		if (p->st->count >= MAIL_MIME_MAX_PARTS)
			p->parts_full = true;
		else
			mail_mime_header_start(p, p->open[p->open_n - 1].node, p->pos);
	}
}

/* Bytes of one line: `ends` when the last of them is its LF. */
static void mail_mime_segment(struct mail_mime_parser *p, const unsigned char *s, size_t n, bool ends)
{
	size_t used = 0;

	if (!p->decided) {
		size_t take = MAIL_MIME_LINE_KEEP - p->keep_len;

		if (take > n)
			take = n;
		memcpy(p->keep + p->keep_len, s, take);
		p->keep_len += take;
		used = take;
		if (p->keep_len == MAIL_MIME_LINE_KEEP || ends) {
			mail_mime_decide(p);
			if (!p->skip_line && p->in_header)
				mail_mime_header_feed(p, p->keep, p->keep_len, p->line_start);
		}
	} else if (!p->skip_line && p->in_header) {
		mail_mime_header_feed(p, s, n, p->pos);
		used = n;
	}
	if (p->decided && used < n && !p->skip_line && p->in_header)
		mail_mime_header_feed(p, s + used, n - used, p->pos + used);
	if (ends) {
		size_t eol = (n >= 2 && s[n - 2] == '\r') || (n == 1 && p->last_cr) ? 2 : 1;

		p->pos += n;
		p->lf++;
		p->last_cr = false;
		mail_mime_line_end(p, eol);
	} else {
		p->pos += n;
		p->last_cr = n > 0 && s[n - 1] == '\r';
	}
}

struct mail_mime_parser *mail_mime_parser_new(void)
{
	struct mail_mime_parser *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->st = calloc(1, sizeof(*p->st))) == NULL)
		abort();
	mail_mime_header_start(p, MAIL_MIME_NONE, 0);
	return p;
}

void mail_mime_parser_push(struct mail_mime_parser *p, const void *data, size_t len)
{
	const unsigned char *s = data;

	while (len > 0) {
		const unsigned char *lf = memchr(s, '\n', len);
		size_t n = lf != NULL ? (size_t)(lf - s) + 1 : len;

		mail_mime_segment(p, s, n, lf != NULL);
		s += n;
		len -= n;
	}
}

struct mail_structure *mail_mime_parser_finish(struct mail_mime_parser **pp)
{
	struct mail_mime_parser *p = *pp;
	struct mail_structure *st = p->st;

	if (!p->decided && p->keep_len > 0) {
		mail_mime_decide(p);
		if (!p->skip_line && p->in_header)
			mail_mime_header_feed(p, p->keep, p->keep_len, p->line_start);
	}
	if (p->in_header) {
		mail_header_parser_finish(&p->hp);
		(void)mail_mime_header_drain(p);
		mail_mime_header_end(p, p->pos, p->lf);
	}
	mail_mime_close_to(p, 0, p->pos, p->lf, p->pos);
	st->size = p->pos;
	mail_bodystructure_build(st);
	free(p);
	*pp = NULL;
	return st;
}
