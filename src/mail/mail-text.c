/* mail-text - a message's header fields and text parts decoded to UTF-8
 * for SEARCH, read by its MIME structure; see mail-text.h. */
#include "mail/mail-text.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mail/mail-decode.h"
#include "mail/mail-header.h"
#include "mail/mail-mime-internal.h"

/* The part of a header field kept (as the MIME parser keeps), and what
 * its decoded form may grow to (every byte a U+FFFD). */
#define MAIL_TEXT_MAX_FIELD 65536
#define MAIL_TEXT_MAX_DECODED (3 * MAIL_TEXT_MAX_FIELD + 16)

struct mail_text {
	const struct mail_structure *st;
	const struct mail_text_sink *sink;
	void *ctx;
	uint32_t node;              /* the entity being read */
	bool in_body;               /* its body, else its header */
	uint64_t pos;               /* the next offset wanted */
	bool done;

	/* The header being read. */
	struct mail_header_parser hp;
	bool hp_open;
	char *charset;              /* its Content-Type's charset */
	struct buf decoded;         /* a field's decoded value */

	/* The text part being read. */
	bool body_open;
	struct mail_decoder dec;
	struct mail_charset *cs;    /* NULL: the bytes go as they are */
	unsigned char *scratch;
	size_t scratch_cap;
	struct buf conv;
};

static bool mail_text_is_root(const struct mail_structure *st, uint32_t node)
{
	uint32_t parent;

	if (st == NULL)
		return true;  /* header-only: the top message's */
	parent = st->nodes[node].parent;
	return parent == MAIL_MIME_NONE || st->nodes[parent].kind == MAIL_MIME_MESSAGE;
}

static void mail_text_field(struct mail_text *t, const struct mail_header_field *f)
{
	if (mail_header_name_equals(f->name, f->name_len, "Content-Type") && t->charset == NULL) {
		size_t len = f->value_len;
		const char *nul = memchr(f->value, '\0', len);

		if (nul != NULL)
			len = (size_t)(nul - f->value);
		t->charset = mail_mime_content_charset(f->value, len);
	}
	if (!mail_text_is_root(t->st, t->node))
		return;  /* a part's own MIME header is not text */
	buf_reset(&t->decoded);
	/* A value decoded past the cap is searched as far as it fits. */
	(void)mail_decode_header(f->value, f->value_len, &t->decoded);
	t->sink->field(t->ctx, t->node == 0, f->name, f->name_len,
		       t->decoded.len > 0 ? t->decoded.data : "", t->decoded.len);
}

/* Take the fields read so far; true once the header ended. */
static bool mail_text_drain(struct mail_text *t)
{
	struct mail_header_field f;
	enum mail_header_result r;

	while ((r = mail_header_parser_next(&t->hp, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED) {
		if (r == MAIL_HEADER_FIELD)
			mail_text_field(t, &f);
	}
	return r != MAIL_HEADER_NEED_MORE;
}

static void mail_text_header_end(struct mail_text *t)
{
	if (!t->hp_open)
		return;
	mail_header_parser_finish(&t->hp);
	(void)mail_text_drain(t);
	mail_header_parser_deinit(&t->hp);
	t->hp_open = false;
}

static void mail_text_body_open(struct mail_text *t, const struct mail_mime_node *n)
{
	const char *enc = n->encoding;

	mail_decoder_init(&t->dec, mail_cte_parse(enc, enc != NULL ? strlen(enc) : 0));
	t->cs = NULL;
	if (t->charset != NULL && !mail_charset_is_utf8(t->charset))
		t->cs = mail_charset_open(t->charset);  /* unknown: NULL, bytes kept */
	t->body_open = true;
}

/* Decoded bytes to UTF-8, and to the sink. */
static void mail_text_emit(struct mail_text *t, const unsigned char *s, size_t n)
{
	if (n == 0)
		return;
	if (t->cs == NULL) {
		t->sink->body(t->ctx, (const char *)s, n);
		return;
	}
	buf_reset(&t->conv);
	(void)mail_charset_push(t->cs, s, n, &t->conv);
	if (t->conv.len > 0)
		t->sink->body(t->ctx, t->conv.data, t->conv.len);
}

static unsigned char *mail_text_scratch(struct mail_text *t, size_t need)
{
	if (t->scratch_cap < need) {
		free(t->scratch);
		t->scratch = malloc(need);
		if (t->scratch == NULL)
			abort();
		t->scratch_cap = need;
	}
	return t->scratch;
}

static void mail_text_body_end(struct mail_text *t)
{
	unsigned char *out;
	size_t n;

	if (!t->body_open)
		return;
	out = mail_text_scratch(t, MAIL_DECODE_HOLD);
	n = mail_decoder_finish(&t->dec, out);
	mail_text_emit(t, out, n);
	if (t->cs != NULL) {
		buf_reset(&t->conv);
		(void)mail_charset_finish(t->cs, &t->conv);
		if (t->conv.len > 0)
			t->sink->body(t->ctx, t->conv.data, t->conv.len);
		mail_charset_close(&t->cs);
	}
	t->sink->part_end(t->ctx);
	t->body_open = false;
}

static const struct mail_header_limits mail_text_limits = { SIZE_MAX, MAIL_TEXT_MAX_FIELD };

/* Move on to the next range worth reading. */
static void mail_text_settle(struct mail_text *t)
{
	if (t->st == NULL) {
		/* Header-only: one header from offset 0, read until it ends. */
		if (!t->hp_open && !t->done) {
			mail_header_parser_init(&t->hp, &mail_text_limits);
			t->hp_open = true;
		}
		return;
	}
	while (!t->done) {
		const struct mail_mime_node *n;

		if (t->node >= t->st->count) {
			t->done = true;
			break;
		}
		n = &t->st->nodes[t->node];
		if (!t->in_body) {
			if (t->pos < n->hdr_off)
				t->pos = n->hdr_off;  /* a preamble: not text */
			if (!t->hp_open && t->pos == n->hdr_off) {
				mail_header_parser_init(&t->hp, &mail_text_limits);
				t->hp_open = true;
				free(t->charset);
				t->charset = NULL;
			}
			if (t->pos < n->body_off)
				break;
			mail_text_header_end(t);
			t->in_body = true;
		}
		/* Multiparts and messages: their children are read instead. */
		if (n->kind == MAIL_MIME_LEAF && n->text) {
			if (t->pos < n->body_off)
				t->pos = n->body_off;
			if (t->pos < n->end) {
				if (!t->body_open)
					mail_text_body_open(t, n);
				break;
			}
			mail_text_body_end(t);
		}
		t->node++;
		t->in_body = false;
	}
}

struct mail_text *mail_text_new(const struct mail_structure *st, const struct mail_text_sink *sink,
				void *ctx)
{
	struct mail_text *t = calloc(1, sizeof(*t));

	if (t == NULL)
		abort();
	t->st = st;
	t->sink = sink;
	t->ctx = ctx;
	buf_init(&t->decoded, MAIL_TEXT_MAX_DECODED);
	buf_init(&t->conv, 0);
	mail_text_settle(t);
	return t;
}

bool mail_text_want(const struct mail_text *t, uint64_t *off_r, uint64_t *len_r)
{
	const struct mail_mime_node *n;

	if (t->done)
		return false;
	if (t->st == NULL) {
		*off_r = t->pos;
		*len_r = UINT64_MAX - t->pos;
		return true;
	}
	n = &t->st->nodes[t->node];
	*off_r = t->pos;
	*len_r = (t->in_body ? n->end : n->body_off) - t->pos;
	return true;
}

void mail_text_push(struct mail_text *t, const void *data, size_t len)
{
	if (t->done || len == 0)
		return;
	if (!t->in_body) {
		mail_header_parser_push(&t->hp, data, len);
		if (mail_text_drain(t) && t->st == NULL) {
			mail_text_end(t);  /* header-only: its end is the end */
			return;
		}
	} else {
		unsigned char *out = mail_text_scratch(t, MAIL_DECODE_OUT_MAX(len));

		mail_text_emit(t, out, mail_decoder_push(&t->dec, data, len, out));
	}
	t->pos += len;
	mail_text_settle(t);
}

void mail_text_end(struct mail_text *t)
{
	mail_text_header_end(t);
	mail_text_body_end(t);
	t->done = true;
}

void mail_text_free(struct mail_text **tp)
{
	struct mail_text *t = *tp;

	if (t == NULL)
		return;
	if (t->hp_open)
		mail_header_parser_deinit(&t->hp);
	mail_charset_close(&t->cs);
	free(t->charset);
	free(t->scratch);
	buf_release(&t->decoded);
	buf_release(&t->conv);
	free(t);
	*tp = NULL;
}
