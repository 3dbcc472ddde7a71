/* mail-structure - what a parsed message's structure answers: its IMAP
 * strings, the byte ranges of its sections (RFC 9051 6.4.5), each part's
 * transfer encoding, and the serialised form the store caches; see
 * mail-mime.h. */
#include "mail/mail-mime-internal.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The blob: "TMS" and a version byte, then the message size, the node
 * count, each node, and a hash of everything before it (FNV-1a over
 * 8-byte words in four lanes). The IMAP strings FETCH sends as they are
 * (BODYSTRUCTURE, BODY, ENVELOPE) are not in it but sealed apart
 * (mail_structure_string_seal), so that a FETCH of one of them reads
 * and checks that string alone. Blobs of versions 1 and 2 (2 held the
 * strings) are refused: their messages are parsed again and cached anew. */
#define MAIL_STRUCTURE_MAGIC "TMS\x03"
#define MAIL_STRUCTURE_MAGIC_LEN 4
#define MAIL_STRUCTURE_NO_STRING UINT32_MAX
/* A node is created per part and one more per message/rfc822 part. */
#define MAIL_STRUCTURE_MAX_NODES (2 * MAIL_MIME_MAX_PARTS + 2)

static const char *const mail_section_kind_names[] = {
	[MAIL_SECTION_BODY] = "body",
	[MAIL_SECTION_HEADER] = "header",
	[MAIL_SECTION_TEXT] = "text",
	[MAIL_SECTION_MIME] = "mime",
};
_Static_assert(ARRAY_SIZE(mail_section_kind_names) == MAIL_SECTION__COUNT, "section kind names");

const char *mail_section_kind_name(enum mail_section_kind kind)
{
	return kind < MAIL_SECTION__COUNT ? mail_section_kind_names[kind] : "?";
}

void mail_structure_free(struct mail_structure **stp)
{
	struct mail_structure *st = *stp;
	uint32_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->count; i++) {
		free(st->nodes[i].encoding);
		free(st->nodes[i].basic);
		free(st->nodes[i].ext);
		free(st->nodes[i].envelope);
	}
	free(st->nodes);
	free(st->bodystructure);
	free(st->body);
	free(st);
	*stp = NULL;
}

const char *mail_structure_envelope(const struct mail_structure *st)
{
	return st->nodes[0].envelope;
}

const char *mail_structure_bodystructure(const struct mail_structure *st)
{
	return st->bodystructure;
}

const char *mail_structure_body(const struct mail_structure *st)
{
	return st->body;
}

uint64_t mail_structure_size(const struct mail_structure *st)
{
	return st->size;
}

/* The node a part path names, NONE when there is none (RFC 9051 6.4.5:
 * a multipart's parts are numbered from 1; a message's part 1 is its
 * body when it is not multipart; a message/rfc822 part's numbers go on
 * into the message it holds). */
static uint32_t mail_structure_find(const struct mail_structure *st, const uint32_t *part, size_t depth)
{
	uint32_t cur = 0;
	bool at_message = true;   /* cur is a message, not yet one of its parts */
	bool self = false;        /* the last number named cur itself */
	size_t i;

	for (i = 0; i < depth; i++) {
		const struct mail_mime_node *n;

		if (!at_message && st->nodes[cur].kind == MAIL_MIME_MESSAGE) {
			cur = st->nodes[cur].first_child;
			at_message = true;
			self = false;
		}
		n = &st->nodes[cur];
		if (n->kind == MAIL_MIME_MULTIPART) {
			uint32_t c = n->first_child, k;

			for (k = 1; k < part[i] && c != MAIL_MIME_NONE; k++)
				c = st->nodes[c].next;
			if (part[i] == 0 || c == MAIL_MIME_NONE)
				return MAIL_MIME_NONE;
			cur = c;
			self = false;
		} else if (part[i] == 1 && !self) {
			/* part 1 of what is not multipart is itself, once
			 * (Dovecot: 1.1 of a text part is 1, 1.1.1 nothing) */
			self = true;
		} else {
			return MAIL_MIME_NONE;
		}
		at_message = false;
	}
	return cur;
}

bool mail_structure_section(const struct mail_structure *st, const uint32_t *part, size_t depth,
			    enum mail_section_kind kind, uint64_t *offset_r, uint64_t *len_r)
{
	const struct mail_mime_node *n;
	uint32_t i;
	uint64_t from, to;

	if (depth == 0) {
		n = &st->nodes[0];
		switch (kind) {
		case MAIL_SECTION_BODY:
			from = 0;
			to = st->size;
			break;
		case MAIL_SECTION_HEADER:
			from = n->hdr_off;
			to = n->body_off;
			break;
		case MAIL_SECTION_TEXT:
			from = n->body_off;
			to = n->end;
			break;
		default:
			return false;
		}
	} else {
		i = mail_structure_find(st, part, depth);
		if (i == MAIL_MIME_NONE)
			return false;
		n = &st->nodes[i];
		switch (kind) {
		case MAIL_SECTION_BODY:
			from = n->body_off;
			to = n->end;
			break;
		case MAIL_SECTION_MIME:
			from = n->hdr_off;
			to = n->body_off;
			break;
		case MAIL_SECTION_HEADER:
		case MAIL_SECTION_TEXT:
			if (n->kind != MAIL_MIME_MESSAGE)
				return false;
			n = &st->nodes[n->first_child];
			from = kind == MAIL_SECTION_HEADER ? n->hdr_off : n->body_off;
			to = kind == MAIL_SECTION_HEADER ? n->body_off : n->end;
			break;
		default:
			return false;
		}
	}
	*offset_r = from;
	*len_r = to - from;
	return true;
}

const char *mail_structure_encoding(const struct mail_structure *st, const uint32_t *part, size_t depth)
{
	uint32_t i = depth == 0 ? 0 : mail_structure_find(st, part, depth);

	return i == MAIL_MIME_NONE ? NULL : st->nodes[i].encoding;
}

/* --- the blob --- */

/* FNV-1a's constants over little-endian 8-byte words in four lanes (a
 * 32-byte block feeds each lane a word, so the multiplications do not
 * wait on each other), the lanes folded, then the bytes left: checking a
 * cached blob costs little next to sending it. */
static uint64_t mail_structure_word(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return le64toh(w);
}

static uint64_t mail_structure_hash(const unsigned char *s, size_t len)
{
	const uint64_t prime = 0x100000001b3ull;
	uint64_t lane[4] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9ce484222325cbf2ull,
			     0x2325cbf29ce48422ull };
	uint64_t h;
	size_t i = 0;

	for (; len - i >= 32; i += 32)
		for (size_t l = 0; l < 4; l++)
			lane[l] = (lane[l] ^ mail_structure_word(s + i + 8 * l)) * prime;
	h = lane[0];
	for (size_t l = 1; l < 4; l++)
		h = (h ^ lane[l]) * prime;
	for (; i < len; i++)
		h = (h ^ s[i]) * prime;
	return h;
}

/* v as n little-endian bytes. */
static int mail_structure_put(struct buf *out, size_t n, uint64_t v)
{
	unsigned char b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return buf_append(out, b, n);
}

static int mail_structure_put_string(struct buf *out, const char *s)
{
	size_t len;

	if (s == NULL)
		return mail_structure_put(out, 4, MAIL_STRUCTURE_NO_STRING);
	len = strlen(s);
	if (len >= MAIL_STRUCTURE_NO_STRING)
		return -1;
	if (mail_structure_put(out, 4, (uint32_t)len) < 0)
		return -1;
	return buf_append(out, s, len);
}

int mail_structure_serialize(const struct mail_structure *st, struct buf *out)
{
	size_t start = out->len;
	uint32_t i;
	int r = 0;

	r |= buf_append(out, MAIL_STRUCTURE_MAGIC, MAIL_STRUCTURE_MAGIC_LEN);
	r |= mail_structure_put(out, 8, st->size);
	r |= mail_structure_put(out, 4, st->count);
	for (i = 0; i < st->count && r == 0; i++) {
		const struct mail_mime_node *n = &st->nodes[i];

		r |= mail_structure_put(out, 8, n->hdr_off);
		r |= mail_structure_put(out, 8, n->body_off);
		r |= mail_structure_put(out, 8, n->end);
		r |= mail_structure_put(out, 8, n->lines);
		r |= mail_structure_put(out, 4, n->parent);
		r |= buf_append(out, (unsigned char[]){ (unsigned char)n->kind, n->text ? 1 : 0 }, 2);
		r |= mail_structure_put_string(out, n->encoding);
		r |= mail_structure_put_string(out, n->basic);
		r |= mail_structure_put_string(out, n->ext);
		r |= mail_structure_put_string(out, n->envelope);
	}
	if (r == 0)
		r = mail_structure_put(out, 8, mail_structure_hash((unsigned char *)out->data + start,
								  out->len - start));
	if (r != 0) {
		out->len = start;
		if (out->len < out->cap)
			out->data[out->len] = '\0';
		return -1;
	}
	return 0;
}

struct mail_structure_reader {
	const unsigned char *s;
	size_t len, pos;
	bool bad;
};

static uint64_t mail_structure_get(struct mail_structure_reader *r, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)r->s[r->pos + i] << (8 * i);
	r->pos += n;
	return v;
}

/* A string without NUL; NULL for the absent one (and `*absent`), or on a
 * bad blob (r->bad). */
static char *mail_structure_get_string(struct mail_structure_reader *r, bool *absent)
{
	uint32_t len = (uint32_t)mail_structure_get(r, 4);
	char *s;

	*absent = false;
	if (r->bad)
		return NULL;
	if (len == MAIL_STRUCTURE_NO_STRING) {
		*absent = true;
		return NULL;
	}
	if (r->len - r->pos < len || memchr(r->s + r->pos, '\0', len) != NULL) {
		r->bad = true;
		return NULL;
	}
	s = mail_mime_strndup((const char *)r->s + r->pos, len);
	r->pos += len;
	return s;
}

/* Read one node and check it against what came before. */
static bool mail_structure_get_node(struct mail_structure_reader *r, struct mail_structure *st,
				    uint32_t i, uint32_t *depth)
{
	struct mail_mime_node *n = &st->nodes[i];
	bool absent_enc, absent_basic, absent_ext, absent_env;
	unsigned kind, text;

	n->hdr_off = mail_structure_get(r, 8);
	n->body_off = mail_structure_get(r, 8);
	n->end = mail_structure_get(r, 8);
	n->lines = mail_structure_get(r, 8);
	n->parent = (uint32_t)mail_structure_get(r, 4);
	kind = (unsigned)mail_structure_get(r, 1);
	text = (unsigned)mail_structure_get(r, 1);
	n->first_child = n->last_child = n->next = MAIL_MIME_NONE;
	n->encoding = mail_structure_get_string(r, &absent_enc);
	n->basic = mail_structure_get_string(r, &absent_basic);
	n->ext = mail_structure_get_string(r, &absent_ext);
	n->envelope = mail_structure_get_string(r, &absent_env);
	if (r->bad || absent_enc || absent_basic || absent_ext || kind >= MAIL_MIME_KIND__COUNT || text > 1)
		return false;
	n->kind = (enum mail_mime_kind)kind;
	n->text = text == 1;
	if (n->hdr_off > n->body_off || n->body_off > n->end || n->end > st->size ||
	    n->lines > n->end - n->body_off)
		return false;
	if (i == 0) {
		if (n->parent != MAIL_MIME_NONE)
			return false;
		depth[0] = 0;
	} else {
		struct mail_mime_node *par;

		if (n->parent >= i)
			return false;
		par = &st->nodes[n->parent];
		/* a MESSAGE node holds one child; a LEAF none */
		if (par->kind == MAIL_MIME_LEAF ||
		    (par->kind == MAIL_MIME_MESSAGE && par->first_child != MAIL_MIME_NONE))
			return false;
		if (n->hdr_off < par->body_off || n->end > par->end ||
		    (par->last_child != MAIL_MIME_NONE && n->hdr_off < st->nodes[par->last_child].end))
			return false;
		depth[i] = depth[n->parent] + 1;
		if (depth[i] > 2 * MAIL_MIME_MAX_DEPTH)
			return false;
		if (par->last_child == MAIL_MIME_NONE)
			par->first_child = i;
		else
			st->nodes[par->last_child].next = i;
		par->last_child = i;
	}
	/* a message root has an envelope, nothing else has */
	return absent_env == !(i == 0 || st->nodes[n->parent].kind == MAIL_MIME_MESSAGE);
}

struct mail_structure *mail_structure_deserialize(const void *data, size_t len)
{
	struct mail_structure_reader r = { .s = data, .len = len };
	struct mail_structure *st;
	uint32_t *depth = NULL, count, i;
	uint64_t hash;
	bool ok = true;

	if (len < MAIL_STRUCTURE_MAGIC_LEN + 8 + 4 + 8 ||
	    memcmp(data, MAIL_STRUCTURE_MAGIC, MAIL_STRUCTURE_MAGIC_LEN) != 0)
		return NULL;
	hash = mail_structure_hash(data, len - 8);
	r.pos = len - 8;
	if (mail_structure_get(&r, 8) != hash)
		return NULL;
	r.len = len - 8;
	r.pos = MAIL_STRUCTURE_MAGIC_LEN;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		abort();
	st->size = mail_structure_get(&r, 8);
	count = (uint32_t)mail_structure_get(&r, 4);
	if (r.bad || count == 0 || count > MAIL_STRUCTURE_MAX_NODES) {
		free(st);
		return NULL;
	}
	st->nodes = calloc(count, sizeof(*st->nodes));
	depth = calloc(count, sizeof(*depth));
	if (st->nodes == NULL || depth == NULL)
		abort();
	st->cap = count;
	for (i = 0; i < count && ok; i++) {
		st->count = i + 1;
		ok = mail_structure_get_node(&r, st, i, depth);
	}
	/* every MESSAGE node got its message */
	for (i = 0; i < st->count && ok; i++)
		ok = st->nodes[i].kind != MAIL_MIME_MESSAGE || st->nodes[i].first_child != MAIL_MIME_NONE;
	free(depth);
	if (!ok || r.pos != r.len) {
		mail_structure_free(&st);
		return NULL;
	}
	mail_bodystructure_build(st);
	return st;
}

/* A sealed string's check: the string's hash, tied to the message's
 * size and to this format. */
static uint64_t mail_structure_string_check(const void *s, size_t len, uint64_t size)
{
	return (mail_structure_hash(s, len) ^ size ^ 0x544d5333u) * 0x100000001b3ull;
}

int mail_structure_string_seal(const char *s, uint64_t size, struct buf *out)
{
	size_t start = out->len, len = strlen(s);

	if (buf_append(out, s, len) < 0 ||
	    mail_structure_put(out, 8, mail_structure_string_check(s, len, size)) < 0) {
		out->len = start;
		if (out->len < out->cap)
			out->data[out->len] = '\0';
		return -1;
	}
	return 0;
}

bool mail_structure_string_open(const void *data, size_t len, uint64_t size, const char **s_r,
				size_t *len_r)
{
	struct mail_structure_reader r = { .s = data, .len = len };

	*s_r = NULL;
	*len_r = 0;
	if (data == NULL || len < 8)
		return false;
	r.pos = len - 8;
	if (mail_structure_get(&r, 8) != mail_structure_string_check(data, len - 8, size))
		return false;
	*s_r = data;
	*len_r = len - 8;
	return true;
}

void mail_structure_string_opened(const void *data, size_t len, const char **s_r, size_t *len_r)
{
	*s_r = data;
	*len_r = len >= 8 ? len - 8 : 0;
}
