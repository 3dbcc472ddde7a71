/* imap-fetch-parse - FETCH items (RFC 9051 6.4.5 and 9 "fetch-att",
 * RFC 3501's RFC822 forms, RFC 3516 BINARY) read into a request. */
#include "imap/imap-fetch-parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

static const char *const attr_names[] = {
	[IMAP_FETCH_UID] = "UID",
	[IMAP_FETCH_FLAGS] = "FLAGS",
	[IMAP_FETCH_INTERNALDATE] = "INTERNALDATE",
	[IMAP_FETCH_RFC822_SIZE] = "RFC822.SIZE",
	[IMAP_FETCH_ENVELOPE] = "ENVELOPE",
	[IMAP_FETCH_BODY] = "BODY",
	[IMAP_FETCH_BODYSTRUCTURE] = "BODYSTRUCTURE",
	[IMAP_FETCH_SECTION] = "BODY[]",
	[IMAP_FETCH_BINARY_SIZE] = "BINARY.SIZE",
	[IMAP_FETCH_MODSEQ] = "MODSEQ",
};
_Static_assert(sizeof(attr_names) / sizeof(attr_names[0]) == IMAP_FETCH__COUNT,
	       "attr_names covers enum imap_fetch_attr");

const char *imap_fetch_attr_name(enum imap_fetch_attr attr)
{
	return attr < IMAP_FETCH__COUNT ? attr_names[attr] : "?";
}

/* The names an item may have, and what each one means. */
enum item_form {
	FORM_SIMPLE,     /* no section: UID, FLAGS, ..., BODY alone */
	FORM_SECTION,    /* BODY[...], BODY.PEEK[...] */
	FORM_BINARY,     /* BINARY[...], BINARY.PEEK[...] */
	FORM_BINARY_SIZE,
	FORM_RFC822,     /* RFC822, RFC822.HEADER, RFC822.TEXT: fixed sections */
};

struct item_name {
	const char *name;
	enum item_form form;
	enum imap_fetch_attr attr;
	bool peek;
	enum imap_fetch_text text;   /* FORM_RFC822 */
};

static const struct item_name item_names[] = {
	{ "UID", FORM_SIMPLE, IMAP_FETCH_UID, false, IMAP_FETCH_TEXT_NONE },
	{ "MODSEQ", FORM_SIMPLE, IMAP_FETCH_MODSEQ, false, IMAP_FETCH_TEXT_NONE },
	{ "FLAGS", FORM_SIMPLE, IMAP_FETCH_FLAGS, false, IMAP_FETCH_TEXT_NONE },
	{ "INTERNALDATE", FORM_SIMPLE, IMAP_FETCH_INTERNALDATE, false, IMAP_FETCH_TEXT_NONE },
	{ "RFC822.SIZE", FORM_SIMPLE, IMAP_FETCH_RFC822_SIZE, false, IMAP_FETCH_TEXT_NONE },
	{ "ENVELOPE", FORM_SIMPLE, IMAP_FETCH_ENVELOPE, false, IMAP_FETCH_TEXT_NONE },
	{ "BODY", FORM_SIMPLE, IMAP_FETCH_BODY, false, IMAP_FETCH_TEXT_NONE },
	{ "BODYSTRUCTURE", FORM_SIMPLE, IMAP_FETCH_BODYSTRUCTURE, false, IMAP_FETCH_TEXT_NONE },
	{ "BODY", FORM_SECTION, IMAP_FETCH_SECTION, false, IMAP_FETCH_TEXT_NONE },
	{ "BODY.PEEK", FORM_SECTION, IMAP_FETCH_SECTION, true, IMAP_FETCH_TEXT_NONE },
	{ "BINARY", FORM_BINARY, IMAP_FETCH_SECTION, false, IMAP_FETCH_TEXT_NONE },
	{ "BINARY.PEEK", FORM_BINARY, IMAP_FETCH_SECTION, true, IMAP_FETCH_TEXT_NONE },
	{ "BINARY.SIZE", FORM_BINARY_SIZE, IMAP_FETCH_BINARY_SIZE, true, IMAP_FETCH_TEXT_NONE },
	{ "RFC822", FORM_RFC822, IMAP_FETCH_SECTION, false, IMAP_FETCH_TEXT_NONE },
	{ "RFC822.HEADER", FORM_RFC822, IMAP_FETCH_SECTION, true, IMAP_FETCH_TEXT_HEADER },
	{ "RFC822.TEXT", FORM_RFC822, IMAP_FETCH_SECTION, false, IMAP_FETCH_TEXT_TEXT },
};

/* The section keywords, longest first where one is a prefix of another. */
static const struct {
	const char *word;
	enum imap_fetch_text text;
} text_words[] = {
	{ "HEADER.FIELDS.NOT", IMAP_FETCH_TEXT_FIELDS_NOT },
	{ "HEADER.FIELDS", IMAP_FETCH_TEXT_FIELDS },
	{ "HEADER", IMAP_FETCH_TEXT_HEADER },
	{ "TEXT", IMAP_FETCH_TEXT_TEXT },
	{ "MIME", IMAP_FETCH_TEXT_MIME },
};

static const char *const text_labels[] = {
	[IMAP_FETCH_TEXT_NONE] = "",
	[IMAP_FETCH_TEXT_HEADER] = "HEADER",
	[IMAP_FETCH_TEXT_FIELDS] = "HEADER.FIELDS",
	[IMAP_FETCH_TEXT_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_FETCH_TEXT_TEXT] = "TEXT",
	[IMAP_FETCH_TEXT_MIME] = "MIME",
};
_Static_assert(sizeof(text_labels) / sizeof(text_labels[0]) == IMAP_FETCH_TEXT__COUNT,
	       "text_labels covers enum imap_fetch_text");

/* A cursor over one item's text. */
struct cursor {
	const char *p, *end;
};

static bool at(const struct cursor *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

static bool take(struct cursor *c, char ch)
{
	if (!at(c, ch))
		return false;
	c->p++;
	return true;
}

static bool take_word(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 9051 9: number64 (at most 2^63 - 1); nz when it may not be 0. Only
 * nz-numbers are refused for a leading zero. */
static bool take_number(struct cursor *c, bool nz, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;
	const char *start = c->p;

	while (c->p < c->end && is_digit(*c->p)) {
		unsigned d = (unsigned)(*c->p - '0');

		if (n > (max - d) / 10)
			return false;
		n = n * 10 + d;
		c->p++;
	}
	if (c->p == start || (nz && (n == 0 || *start == '0')))
		return false;
	*n_r = n;
	return true;
}

/* RFC 5322 2.2 ftext: printable US-ASCII except ':'. */
static bool is_ftext(unsigned char ch)
{
	return ch >= 33 && ch <= 126 && ch != ':';
}

/* RFC 9051 9 atom-specials, which an unquoted name cannot hold here (']'
 * is allowed in an astring but would end the section). */
static bool is_atom_char(unsigned char ch)
{
	return ch > ' ' && ch < 127 && strchr("(){%*\"\\]", ch) == NULL;
}

/* One header-fld-name (an astring: an atom or a quoted string; a literal
 * cannot stand inside an atom). The name must be a field name. */
static bool take_field_name(struct cursor *c, char **name_r)
{
	struct buf name;

	buf_init(&name, 0);
	if (take(c, '"')) {
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end &&
			    (c->p[1] == '"' || c->p[1] == '\\'))
				c->p++;
			else if (*c->p == '\\')
				break;
			buf_append(&name, c->p, 1);
			c->p++;
		}
		if (!take(c, '"'))
			goto fail;
	} else {
		while (c->p < c->end && is_atom_char((unsigned char)*c->p)) {
			buf_append(&name, c->p, 1);
			c->p++;
		}
	}
	if (name.len == 0)
		goto fail;
	for (size_t i = 0; i < name.len; i++)
		if (!is_ftext((unsigned char)name.data[i]))
			goto fail;
	*name_r = name.data;
	return true;
fail:
	buf_release(&name);
	return false;
}

static void free_fields(struct imap_fetch_item *item)
{
	for (size_t i = 0; i < item->n_fields; i++)
		free(item->fields[i]);
	free(item->fields);
	item->fields = NULL;
	item->n_fields = 0;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static bool take_field_list(struct cursor *c, struct imap_fetch_item *item, const char **why_r)
{
	*why_r = "invalid HEADER.FIELDS list";
	if (!take(c, ' ') || !take(c, '('))
		return false;
	do {
		char *name;

		if (item->n_fields == IMAP_FETCH_MAX_FIELDS) {
			*why_r = "too many header field names";
			return false;
		}
		if (!take_field_name(c, &name))
			return false;
		item->fields = realloc(item->fields, (item->n_fields + 1) * sizeof(*item->fields));
		if (item->fields == NULL)
			abort();
		item->fields[item->n_fields++] = name;
	} while (take(c, ' '));
	return take(c, ')');
}

/* section-spec between "[" and "]": section-part ["." section-text] or
 * section-msgtext; BINARY allows section-part only. */
static bool take_section(struct cursor *c, enum item_form form, struct imap_fetch_item *item,
			 const char **why_r)
{
	size_t i;

	*why_r = "invalid section";
	while (c->p < c->end && is_digit(*c->p)) {
		uint64_t n;

		if (item->depth == IMAP_FETCH_MAX_DEPTH) {
			*why_r = "section nested too deeply";
			return false;
		}
		if (!take_number(c, true, UINT32_MAX, &n))
			return false;
		item->part = realloc(item->part, (item->depth + 1) * sizeof(*item->part));
		if (item->part == NULL)
			abort();
		item->part[item->depth++] = (uint32_t)n;
		if (!take(c, '.'))
			return at(c, ']');
		if (c->p < c->end && is_digit(*c->p))
			continue;
		if (form != FORM_SECTION)
			return false;
		break;
	}
	if (at(c, ']'))
		return item->depth == 0; /* "[]"; "[1.]" is not a section */
	if (form != FORM_SECTION)
		return false;
	for (i = 0; i < sizeof(text_words) / sizeof(text_words[0]); i++) {
		struct cursor save = *c;

		if (!take_word(c, text_words[i].word))
			continue;
		/* The word must end here: "HEADERX" is not HEADER. */
		if (!at(c, ']') && !at(c, ' ')) {
			*c = save;
			continue;
		}
		item->text = text_words[i].text;
		break;
	}
	if (item->text == IMAP_FETCH_TEXT_NONE)
		return false;
	if (item->text == IMAP_FETCH_TEXT_MIME && item->depth == 0)
		return false;
	if (item->text == IMAP_FETCH_TEXT_FIELDS || item->text == IMAP_FETCH_TEXT_FIELDS_NOT)
		return take_field_list(c, item, why_r);
	return true;
}

/* A field name as the response writes it: an atom where it can be one. */
static void write_field_name(struct buf *out, const char *name)
{
	bool atom = true;

	for (const char *p = name; *p != '\0'; p++)
		atom = atom && is_atom_char((unsigned char)*p);
	if (atom) {
		buf_append_str(out, name);
		return;
	}
	buf_append(out, "\"", 1);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_append(out, "\\", 1);
		buf_append(out, p, 1);
	}
	buf_append(out, "\"", 1);
}

/* "BODY[1.2.HEADER.FIELDS (From To)]" from the parsed section. */
static char *make_label(const char *prefix, const struct imap_fetch_item *item)
{
	struct buf out;

	buf_init(&out, 0);
	buf_printf(&out, "%s[", prefix);
	for (size_t i = 0; i < item->depth; i++)
		buf_printf(&out, "%s%u", i > 0 ? "." : "", item->part[i]);
	if (item->depth > 0 && item->text != IMAP_FETCH_TEXT_NONE)
		buf_append(&out, ".", 1);
	buf_append_str(&out, text_labels[item->text]);
	if (item->n_fields > 0) {
		buf_append(&out, " (", 2);
		for (size_t i = 0; i < item->n_fields; i++) {
			if (i > 0)
				buf_append(&out, " ", 1);
			write_field_name(&out, item->fields[i]);
		}
		buf_append(&out, ")", 1);
	}
	buf_append(&out, "]", 1);
	return out.data;
}

static char *dup_str(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		abort();
	return copy;
}

static void item_free(struct imap_fetch_item *item)
{
	free(item->part);
	free_fields(item);
	free(item->label);
	memset(item, 0, sizeof(*item));
}

/* One fetch-att from its text. */
static bool parse_item(const char *text, size_t len, struct imap_fetch_item *item,
		       const char **why_r)
{
	struct cursor c = { text, text + len };
	const struct item_name *found = NULL;
	size_t name_len = 0, i;
	const char *prefix;

	memset(item, 0, sizeof(*item));
	while (name_len < len && text[name_len] != '[')
		name_len++;
	for (i = 0; i < sizeof(item_names) / sizeof(item_names[0]); i++) {
		const struct item_name *n = &item_names[i];
		bool bracket = n->form == FORM_SECTION || n->form == FORM_BINARY ||
			       n->form == FORM_BINARY_SIZE;

		if (strlen(n->name) == name_len && strncasecmp(n->name, text, name_len) == 0 &&
		    bracket == (name_len < len)) {
			found = n;
			break;
		}
	}
	*why_r = "unknown FETCH item";
	if (found == NULL)
		return false;
	c.p += name_len;
	item->attr = found->attr;
	item->peek = found->peek;
	item->binary = found->form == FORM_BINARY || found->form == FORM_BINARY_SIZE;
	item->text = found->text;
	switch (found->form) {
	case FORM_SIMPLE:
		return true;
	case FORM_RFC822:
		item->label = dup_str(found->name);
		return true;
	case FORM_SECTION:
	case FORM_BINARY:
	case FORM_BINARY_SIZE:
		break;
	}
	if (!take(&c, '[') || !take_section(&c, found->form, item, why_r) || !take(&c, ']'))
		goto fail;
	prefix = found->form == FORM_SECTION ? "BODY" : found->form == FORM_BINARY ? "BINARY"
										 : "BINARY.SIZE";
	item->label = make_label(prefix, item);
	if (found->form != FORM_BINARY_SIZE && take(&c, '<')) {
		/* RFC 9051 9: partial = "<" number64 "." nz-number64 ">" */
		*why_r = "invalid partial range";
		if (!take_number(&c, false, INT64_MAX, &item->origin) || !take(&c, '.') ||
		    !take_number(&c, true, INT64_MAX, &item->length) || !take(&c, '>'))
			goto fail;
		item->partial = true;
	}
	*why_r = "unknown FETCH item";
	if (c.p != c.end)
		goto fail;
	return true;
fail:
	item_free(item);
	return false;
}

static unsigned item_needs(const struct imap_fetch_item *item)
{
	unsigned needs = 0;

	switch (item->attr) {
	case IMAP_FETCH_ENVELOPE:
	case IMAP_FETCH_BODY:
	case IMAP_FETCH_BODYSTRUCTURE:
		return IMAP_FETCH_NEED_STRUCTURE;
	case IMAP_FETCH_SECTION:
	case IMAP_FETCH_BINARY_SIZE:
		needs = IMAP_FETCH_NEED_CONTENT;
		/* The top message's HEADER and TEXT need only where its
		 * header ends: the loader reads just the header. */
		if (item->depth > 0 || item->binary)
			needs |= IMAP_FETCH_NEED_STRUCTURE;
		if (!item->peek)
			needs |= IMAP_FETCH_NEED_SEEN;
		return needs;
	default:
		return 0;
	}
}

/* Add an item, sending a simple attribute once. */
static bool add_item(struct imap_fetch_request *req, struct imap_fetch_item *item,
		     const char **why_r)
{
	if (item->attr == IMAP_FETCH_UID) {
		req->uid = true;
		return true;
	}
	if (item->attr == IMAP_FETCH_MODSEQ) {
		req->modseq = true;
		return true;
	}
	if (item->attr != IMAP_FETCH_SECTION && item->attr != IMAP_FETCH_BINARY_SIZE)
		for (size_t i = 0; i < req->n; i++)
			if (req->items[i].attr == item->attr)
				return true;
	if (req->n == IMAP_FETCH_MAX_ITEMS) {
		*why_r = "too many FETCH items";
		item_free(item);
		return false;
	}
	req->items = realloc(req->items, (req->n + 1) * sizeof(*req->items));
	if (req->items == NULL)
		abort();
	req->items[req->n++] = *item;
	req->needs |= item_needs(item);
	return true;
}

static bool add_text(struct imap_fetch_request *req, const char *text, size_t len,
		     const char **why_r)
{
	struct imap_fetch_item item;

	return parse_item(text, len, &item, why_r) && add_item(req, &item, why_r);
}

/* The macros of RFC 9051 6.4.5, valid only on their own. */
static const struct {
	const char *name;
	const char *items[5];
} macros[] = {
	{ "ALL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", NULL } },
	{ "FAST", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL } },
	{ "FULL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY" } },
};

bool imap_fetch_parse(const struct imap_arg *arg, bool uid, struct imap_fetch_request *req_r,
		      const char **why_r)
{
	struct imap_fetch_request req = { .uid = uid };
	bool ok = true;
	size_t i, k;

	*why_r = "invalid FETCH items";
	if (arg->type == IMAP_ARG_ATOM) {
		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
			if (strlen(macros[i].name) != arg->len ||
			    strncasecmp(macros[i].name, arg->str, arg->len) != 0)
				continue;
			for (k = 0; k < 5 && macros[i].items[k] != NULL; k++)
				ok = ok && add_text(&req, macros[i].items[k],
						    strlen(macros[i].items[k]), why_r);
			break;
		}
		if (i == sizeof(macros) / sizeof(macros[0]))
			ok = add_text(&req, arg->str, arg->len, why_r);
	} else if (arg->type == IMAP_ARG_LIST && arg->n > 0) {
		for (i = 0; ok && i < arg->n; i++) {
			const struct imap_arg *a = &arg->list[i];

			if (a->type != IMAP_ARG_ATOM) {
				*why_r = "invalid FETCH items";
				ok = false;
			} else {
				ok = add_text(&req, a->str, a->len, why_r);
			}
		}
	} else {
		ok = false;
	}
	if (!ok) {
		imap_fetch_request_free(&req);
		*req_r = req;
		return false;
	}
	*req_r = req;
	return true;
}

void imap_fetch_request_free(struct imap_fetch_request *req)
{
	for (size_t i = 0; i < req->n; i++)
		item_free(&req->items[i]);
	free(req->items);
	memset(req, 0, sizeof(*req));
}
