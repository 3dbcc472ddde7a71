/* imap-search-parse - SEARCH's arguments read into a program tree (RFC
 * 9051 6.4.4 search keys, RFC 4731 / 5182 RETURN options); see
 * imap-search.h. */
#include "imap/imap-search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "imap/imap-flags.h"
#include "mail/mail-date.h"
#include "mail/mail-decode.h"
#include "store/store.h"

/* A sequence set in a search key may hold this many ranges. */
#define IMAP_SEARCH_MAX_RANGES 100000

struct imap_search_reader {
	const struct imap_arg *args;
	size_t n, pos;
	uint32_t star_seq, star_uid;
	struct imap_search_program *prog;
	enum imap_search_error error;
	const char *why;
};

const char *imap_search_kind_name(enum imap_search_kind kind)
{
	static const char *const names[] = {
		[IMAP_SEARCH_ALL] = "all",
		[IMAP_SEARCH_AND] = "and",
		[IMAP_SEARCH_OR] = "or",
		[IMAP_SEARCH_NOT] = "not",
		[IMAP_SEARCH_FLAGS] = "flags",
		[IMAP_SEARCH_KEYWORD] = "keyword",
		[IMAP_SEARCH_RECENT] = "recent",
		[IMAP_SEARCH_BEFORE] = "before",
		[IMAP_SEARCH_ON] = "on",
		[IMAP_SEARCH_SINCE] = "since",
		[IMAP_SEARCH_SENTBEFORE] = "sentbefore",
		[IMAP_SEARCH_SENTON] = "senton",
		[IMAP_SEARCH_SENTSINCE] = "sentsince",
		[IMAP_SEARCH_LARGER] = "larger",
		[IMAP_SEARCH_SMALLER] = "smaller",
		[IMAP_SEARCH_SEQSET] = "seqset",
		[IMAP_SEARCH_UIDSET] = "uidset",
		[IMAP_SEARCH_HEADER] = "header",
		[IMAP_SEARCH_BODY] = "body",
		[IMAP_SEARCH_TEXT] = "text",
		[IMAP_SEARCH_MODSEQ] = "modseq",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == IMAP_SEARCH__COUNT, "a name per kind");

	return (unsigned)kind < IMAP_SEARCH__COUNT ? names[kind] : "?";
}

static void imap_search_node_free(struct imap_search_node *node)
{
	if (node == NULL)
		return;
	for (size_t i = 0; i < node->n_children; i++)
		imap_search_node_free(node->children[i]);
	free(node->children);
	free(node->str);
	free(node->field);
	imap_seqset_free(&node->set);
	mail_match_free(&node->match);
	free(node);
}

void imap_search_program_free(struct imap_search_program **progp)
{
	struct imap_search_program *prog = *progp;

	if (prog == NULL)
		return;
	imap_search_node_free(prog->root);
	free(prog->text_nodes);
	free(prog);
	*progp = NULL;
}

static bool imap_search_fail(struct imap_search_reader *r, enum imap_search_error error,
			     const char *why)
{
	if (r->error == IMAP_SEARCH_OK) {
		r->error = error;
		r->why = why;
	}
	return false;
}

static struct imap_search_node *imap_search_node_new(struct imap_search_reader *r,
						     enum imap_search_kind kind)
{
	struct imap_search_node *node;

	if (r->prog->n_nodes >= IMAP_SEARCH_MAX_NODES) {
		imap_search_fail(r, IMAP_SEARCH_LIMIT, "Too many search keys");
		return NULL;
	}
	node = calloc(1, sizeof(*node));
	if (node == NULL)
		abort();
	node->kind = kind;
	r->prog->n_nodes++;
	if (kind == IMAP_SEARCH_KEYWORD || (kind >= IMAP_SEARCH_BEFORE && kind <= IMAP_SEARCH_SINCE) ||
	    kind == IMAP_SEARCH_LARGER || kind == IMAP_SEARCH_SMALLER || kind == IMAP_SEARCH_MODSEQ)
		r->prog->needs_index = true;
	return node;
}

static void imap_search_add_child(struct imap_search_node *parent, struct imap_search_node *child)
{
	struct imap_search_node **c = realloc(parent->children,
					      (parent->n_children + 1) * sizeof(*c));

	if (c == NULL)
		abort();
	c[parent->n_children++] = child;
	parent->children = c;
}

/* A node with the given children (NULL children: the node is freed and
 * NULL returned, so a failure deep down unwinds). */
static struct imap_search_node *imap_search_wrap(struct imap_search_reader *r,
						 enum imap_search_kind kind,
						 struct imap_search_node *a,
						 struct imap_search_node *b)
{
	struct imap_search_node *node;

	if (a == NULL || (kind == IMAP_SEARCH_OR && b == NULL)) {
		imap_search_node_free(a);
		imap_search_node_free(b);
		return NULL;
	}
	node = imap_search_node_new(r, kind);
	if (node == NULL) {
		imap_search_node_free(a);
		imap_search_node_free(b);
		return NULL;
	}
	imap_search_add_child(node, a);
	if (b != NULL)
		imap_search_add_child(node, b);
	return node;
}

static const struct imap_arg *imap_search_next_arg(struct imap_search_reader *r)
{
	if (r->pos >= r->n) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Missing search key argument");
		return NULL;
	}
	return &r->args[r->pos++];
}

/* An astring holding valid UTF-8 without NUL, copied. */
static char *imap_search_string(struct imap_search_reader *r)
{
	const struct imap_arg *arg = imap_search_next_arg(r);
	const char *s;
	char *copy;

	if (arg == NULL)
		return NULL;
	s = imap_arg_astring(arg);
	if (s == NULL) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Search key needs a string");
		return NULL;
	}
	if (arg->len > 0 && !utf8_valid((const unsigned char *)s, arg->len)) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Search string is not valid UTF-8");
		return NULL;
	}
	copy = strdup(s);
	if (copy == NULL)
		abort();
	return copy;
}

/* RFC 9051 9: date = date-text / DQUOTE date-text DQUOTE, date-text =
 * date-day "-" date-month "-" date-year. */
static uint32_t imap_search_date(struct imap_search_reader *r)
{
	const struct imap_arg *arg = imap_search_next_arg(r);
	const char *s;
	size_t i = 0;
	int day = 0, year = 0, month;
	uint32_t d = 0;

	if (arg == NULL)
		return 0;
	s = arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_QUOTED ? arg->str : NULL;
	if (s != NULL) {
		while (i < 2 && s[i] >= '0' && s[i] <= '9')
			day = day * 10 + (s[i++] - '0');
		if (i > 0 && s[i] == '-' && strlen(s + i) == 9 && s[i + 4] == '-' &&
		    (month = mail_date_month(s + i + 1, 3)) != 0) {
			const char *y = s + i + 5;

			for (i = 0; i < 4 && y[i] >= '0' && y[i] <= '9'; i++)
				year = year * 10 + (y[i] - '0');
			if (i == 4)
				d = mail_date_day(year, month, day);
		}
	}
	if (d == 0)
		imap_search_fail(r, IMAP_SEARCH_BAD, "Invalid search date");
	return d;
}

static struct imap_search_node *imap_search_key(struct imap_search_reader *r, unsigned depth);

static struct imap_search_node *imap_search_flag_key(struct imap_search_reader *r, unsigned flags,
						     bool negate)
{
	struct imap_search_node *node = imap_search_node_new(r, IMAP_SEARCH_FLAGS);

	if (node == NULL)
		return NULL;
	node->flags = flags;
	return negate ? imap_search_wrap(r, IMAP_SEARCH_NOT, node, NULL) : node;
}

static struct imap_search_node *imap_search_keyword_key(struct imap_search_reader *r, bool negate)
{
	const struct imap_arg *arg = imap_search_next_arg(r);
	struct imap_search_node *node;
	unsigned flags;
	char *keyword;
	const char *why;

	if (arg == NULL)
		return NULL;
	if (arg->type != IMAP_ARG_ATOM) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "KEYWORD needs a flag keyword");
		return NULL;
	}
	if (!imap_flags_parse(arg, &flags, &keyword, &why)) {
		imap_search_fail(r, IMAP_SEARCH_BAD, why);
		return NULL;
	}
	if (keyword == NULL) {
		/* A system flag named as a keyword is taken for the flag (as
		 * Dovecot); \Recent, which STORE ignores, for RECENT. */
		node = imap_search_node_new(r, flags != 0 ? IMAP_SEARCH_FLAGS : IMAP_SEARCH_RECENT);
		if (node != NULL)
			node->flags = flags;
	} else {
		node = imap_search_node_new(r, IMAP_SEARCH_KEYWORD);
		if (node != NULL)
			node->str = keyword;
		else
			free(keyword);
	}
	return negate ? imap_search_wrap(r, IMAP_SEARCH_NOT, node, NULL) : node;
}

/* HEADER, BODY and TEXT keys (and BCC, CC, FROM, SUBJECT, TO). */
static struct imap_search_node *imap_search_text_key(struct imap_search_reader *r,
						     enum imap_search_kind kind,
						     const char *field)
{
	struct imap_search_node *node = imap_search_node_new(r, kind);
	struct imap_search_program *prog = r->prog;
	struct imap_search_node **t;

	if (node == NULL)
		return NULL;
	if (kind == IMAP_SEARCH_HEADER) {
		node->field = field != NULL ? strdup(field) : imap_search_string(r);
		if (node->field == NULL) {
			if (field != NULL)
				abort();
			imap_search_node_free(node);
			return NULL;
		}
	}
	node->str = imap_search_string(r);
	if (node->str == NULL) {
		imap_search_node_free(node);
		return NULL;
	}
	node->match = mail_match_new(node->str, strlen(node->str));
	t = realloc(prog->text_nodes, (prog->n_text_nodes + 1) * sizeof(*t));
	if (t == NULL)
		abort();
	t[prog->n_text_nodes++] = node;
	prog->text_nodes = t;
	prog->needs_text = true;
	prog->needs_body |= kind != IMAP_SEARCH_HEADER;
	return node;
}

static struct imap_search_node *imap_search_date_key(struct imap_search_reader *r,
						     enum imap_search_kind kind)
{
	uint32_t day = imap_search_date(r);
	struct imap_search_node *node;

	if (day == 0)
		return NULL;
	node = imap_search_node_new(r, kind);
	if (node == NULL)
		return NULL;
	node->day = day;
	if (kind == IMAP_SEARCH_SENTBEFORE || kind == IMAP_SEARCH_SENTON ||
	    kind == IMAP_SEARCH_SENTSINCE)
		r->prog->needs_date = true;
	return node;
}

/* A key with a number64 argument (LARGER, SMALLER, MODSEQ), `arg`:
 * `why` is the BAD text for anything else. */
static struct imap_search_node *imap_search_number_key(struct imap_search_reader *r,
						       enum imap_search_kind kind,
						       const struct imap_arg *arg, const char *why)
{
	struct imap_search_node *node;
	uint64_t number;

	if (arg == NULL)
		return NULL;
	if (!imap_arg_number64(arg, &number)) {
		imap_search_fail(r, IMAP_SEARCH_BAD, why);
		return NULL;
	}
	node = imap_search_node_new(r, kind);
	if (node != NULL)
		node->number = number;
	return node;
}

/* RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer.
 * tern keeps one MODSEQ per message, not one per flag: the entry is
 * checked for its form ("/flags/..." and priv, shared or all) and then
 * ignored, as the RFC says such a server must. */
static struct imap_search_node *imap_search_modseq_key(struct imap_search_reader *r)
{
	const struct imap_arg *arg = imap_search_next_arg(r);
	struct imap_search_node *node;

	if (arg != NULL && imap_arg_string(arg) != NULL) {
		const struct imap_arg *type = imap_search_next_arg(r);

		if (type == NULL)
			return NULL;
		if (strncasecmp(arg->str, "/flags/", 7) != 0 ||
		    (!imap_arg_atom_is(type, "priv") && !imap_arg_atom_is(type, "shared") &&
		     !imap_arg_atom_is(type, "all"))) {
			imap_search_fail(r, IMAP_SEARCH_BAD, "Invalid MODSEQ entry");
			return NULL;
		}
		arg = imap_search_next_arg(r);
	}
	/* mod-sequence-valzer: 0 .. 2^63-1 */
	node = imap_search_number_key(r, IMAP_SEARCH_MODSEQ, arg, "Invalid mod-sequence");
	if (node != NULL)
		r->prog->has_modseq = true;
	return node;
}

static struct imap_search_node *imap_search_set_key(struct imap_search_reader *r,
						    const struct imap_arg *arg, bool uid)
{
	struct imap_search_node *node;
	struct imap_seqset set;

	if (arg == NULL)
		return NULL;
	if (arg->type != IMAP_ARG_ATOM ||
	    !imap_seqset_parse(arg->str, uid ? r->star_uid : r->star_seq, IMAP_SEARCH_MAX_RANGES,
			       &set)) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Invalid sequence set");
		return NULL;
	}
	node = imap_search_node_new(r, uid ? IMAP_SEARCH_UIDSET : IMAP_SEARCH_SEQSET);
	if (node == NULL) {
		imap_seqset_free(&set);
		return NULL;
	}
	node->set = set;
	r->prog->uses_saved |= set.saved;
	r->prog->uses_seqs |= !uid && !set.saved;
	return node;
}

/* Keys side by side (a parenthesised list, or the whole program): their AND. */
static struct imap_search_node *imap_search_keys(struct imap_search_reader *r,
						 const struct imap_arg *args, size_t n,
						 unsigned depth)
{
	const struct imap_arg *saved_args = r->args;
	size_t saved_n = r->n, saved_pos = r->pos;
	struct imap_search_node *and = NULL, *key = NULL;

	if (n == 0) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Empty search key list");
		return NULL;
	}
	r->args = args;
	r->n = n;
	r->pos = 0;
	while (r->pos < r->n) {
		struct imap_search_node *k = imap_search_key(r, depth);

		if (k == NULL) {
			imap_search_node_free(and);
			imap_search_node_free(key);
			and = key = NULL;
			break;
		}
		if (key == NULL && and == NULL) {
			key = k;
			continue;
		}
		if (and == NULL) {
			and = imap_search_wrap(r, IMAP_SEARCH_AND, key, NULL);
			key = NULL;
			if (and == NULL) {
				imap_search_node_free(k);
				break;
			}
		}
		imap_search_add_child(and, k);
	}
	r->args = saved_args;
	r->n = saved_n;
	r->pos = saved_pos;
	return and != NULL ? and : key;
}

static struct imap_search_node *imap_search_key(struct imap_search_reader *r, unsigned depth)
{
	static const struct {
		const char *name;
		unsigned flag;
	} flags[] = {
		{ "ANSWERED", STORE_FLAG_ANSWERED }, { "DELETED", STORE_FLAG_DELETED },
		{ "DRAFT", STORE_FLAG_DRAFT },       { "FLAGGED", STORE_FLAG_FLAGGED },
		{ "SEEN", STORE_FLAG_SEEN },
	};
	static const struct {
		const char *name;
		enum imap_search_kind kind;
	} dates[] = {
		{ "BEFORE", IMAP_SEARCH_BEFORE },         { "ON", IMAP_SEARCH_ON },
		{ "SINCE", IMAP_SEARCH_SINCE },           { "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
		{ "SENTON", IMAP_SEARCH_SENTON },         { "SENTSINCE", IMAP_SEARCH_SENTSINCE },
	};
	static const char *const headers[] = { "BCC", "CC", "FROM", "SUBJECT", "TO" };
	const struct imap_arg *arg;

	if (depth >= IMAP_SEARCH_MAX_DEPTH) {
		imap_search_fail(r, IMAP_SEARCH_LIMIT, "Search keys nested too deep");
		return NULL;
	}
	arg = imap_search_next_arg(r);
	if (arg == NULL)
		return NULL;
	if (arg->type == IMAP_ARG_LIST)
		return imap_search_keys(r, arg->list, arg->n, depth + 1);
	if (arg->type != IMAP_ARG_ATOM) {
		imap_search_fail(r, IMAP_SEARCH_BAD, "Invalid search key");
		return NULL;
	}
	if ((arg->str[0] >= '0' && arg->str[0] <= '9') || arg->str[0] == '*' || arg->str[0] == '$')
		return imap_search_set_key(r, arg, false);
	if (imap_arg_atom_is(arg, "ALL"))
		return imap_search_node_new(r, IMAP_SEARCH_ALL);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (imap_arg_atom_is(arg, flags[i].name))
			return imap_search_flag_key(r, flags[i].flag, false);
		if (strncasecmp(arg->str, "UN", 2) == 0 && strcasecmp(arg->str + 2, flags[i].name) == 0)
			return imap_search_flag_key(r, flags[i].flag, true);
	}
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		if (imap_arg_atom_is(arg, dates[i].name))
			return imap_search_date_key(r, dates[i].kind);
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if (imap_arg_atom_is(arg, headers[i]))
			return imap_search_text_key(r, IMAP_SEARCH_HEADER, headers[i]);
	}
	if (imap_arg_atom_is(arg, "HEADER"))
		return imap_search_text_key(r, IMAP_SEARCH_HEADER, NULL);
	if (imap_arg_atom_is(arg, "BODY"))
		return imap_search_text_key(r, IMAP_SEARCH_BODY, NULL);
	if (imap_arg_atom_is(arg, "TEXT"))
		return imap_search_text_key(r, IMAP_SEARCH_TEXT, NULL);
	if (imap_arg_atom_is(arg, "KEYWORD"))
		return imap_search_keyword_key(r, false);
	if (imap_arg_atom_is(arg, "UNKEYWORD"))
		return imap_search_keyword_key(r, true);
	if (imap_arg_atom_is(arg, "LARGER"))
		return imap_search_number_key(r, IMAP_SEARCH_LARGER, imap_search_next_arg(r),
					      "Invalid size");
	if (imap_arg_atom_is(arg, "SMALLER"))
		return imap_search_number_key(r, IMAP_SEARCH_SMALLER, imap_search_next_arg(r),
					      "Invalid size");
	if (imap_arg_atom_is(arg, "UID"))
		return imap_search_set_key(r, imap_search_next_arg(r), true);
	if (imap_arg_atom_is(arg, "MODSEQ"))
		return imap_search_modseq_key(r);
	if (imap_arg_atom_is(arg, "NOT"))
		return imap_search_wrap(r, IMAP_SEARCH_NOT, imap_search_key(r, depth + 1), NULL);
	if (imap_arg_atom_is(arg, "OR")) {
		struct imap_search_node *a = imap_search_key(r, depth + 1);
		struct imap_search_node *b = a != NULL ? imap_search_key(r, depth + 1) : NULL;

		return imap_search_wrap(r, IMAP_SEARCH_OR, a, b);
	}
	/* RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT. */
	if (imap_arg_atom_is(arg, "RECENT"))
		return imap_search_node_new(r, IMAP_SEARCH_RECENT);
	if (imap_arg_atom_is(arg, "OLD"))
		return imap_search_wrap(r, IMAP_SEARCH_NOT, imap_search_node_new(r, IMAP_SEARCH_RECENT),
					NULL);
	if (imap_arg_atom_is(arg, "NEW")) {
		struct imap_search_node *recent = imap_search_node_new(r, IMAP_SEARCH_RECENT);
		struct imap_search_node *and = imap_search_wrap(r, IMAP_SEARCH_AND, recent, NULL);

		if (and != NULL) {
			struct imap_search_node *unseen = imap_search_flag_key(r, STORE_FLAG_SEEN, true);

			if (unseen == NULL) {
				imap_search_node_free(and);
				return NULL;
			}
			imap_search_add_child(and, unseen);
		}
		return and;
	}
	imap_search_fail(r, IMAP_SEARCH_BAD, "Unknown search key");
	return NULL;
}

/* RFC 4731 3.1: RETURN (...); "RETURN ()" means ALL. */
static bool imap_search_return(struct imap_search_reader *r, const struct imap_arg *list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RET_MIN },     { "MAX", IMAP_SEARCH_RET_MAX },
		{ "ALL", IMAP_SEARCH_RET_ALL },     { "COUNT", IMAP_SEARCH_RET_COUNT },
		{ "SAVE", IMAP_SEARCH_RET_SAVE },
	};

	if (list->type != IMAP_ARG_LIST)
		return imap_search_fail(r, IMAP_SEARCH_BAD, "RETURN needs a list");
	r->prog->esearch = true;
	for (size_t i = 0; i < list->n; i++) {
		size_t k;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			if (imap_arg_atom_is(&list->list[i], opts[k].name))
				break;
		}
		if (k == sizeof(opts) / sizeof(opts[0]))
			return imap_search_fail(r, IMAP_SEARCH_BAD, "Unknown RETURN option");
		r->prog->ret |= opts[k].bit;
	}
	if (list->n == 0)
		r->prog->ret = IMAP_SEARCH_RET_ALL;
	return true;
}

enum imap_search_error imap_search_parse(const struct imap_arg *args, size_t n_args,
					 uint32_t star_seq, uint32_t star_uid,
					 struct imap_search_program **prog_r, const char **error_r)
{
	struct imap_search_reader r = {
		.args = args, .n = n_args, .star_seq = star_seq, .star_uid = star_uid,
		.error = IMAP_SEARCH_OK,
	};
	size_t pos = 0;

	r.prog = calloc(1, sizeof(*r.prog));
	if (r.prog == NULL)
		abort();
	if (pos + 1 < n_args && imap_arg_atom_is(&args[pos], "RETURN")) {
		if (!imap_search_return(&r, &args[pos + 1]))
			goto fail;
		pos += 2;
	}
	if (pos < n_args && imap_arg_atom_is(&args[pos], "CHARSET")) {
		const char *cs = pos + 1 < n_args ? imap_arg_astring(&args[pos + 1]) : NULL;

		if (cs == NULL) {
			imap_search_fail(&r, IMAP_SEARCH_BAD, "CHARSET needs a name");
			goto fail;
		}
		/* RFC 9051 6.4.4: US-ASCII and UTF-8 are what a server must know. */
		if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
			imap_search_fail(&r, IMAP_SEARCH_BADCHARSET, "Unsupported charset");
			goto fail;
		}
		pos += 2;
	}
	r.prog->root = imap_search_keys(&r, args + pos, n_args - pos, 0);
	if (r.prog->root == NULL)
		goto fail;
	*prog_r = r.prog;
	*error_r = NULL;
	return IMAP_SEARCH_OK;
fail:
	imap_search_program_free(&r.prog);
	*prog_r = NULL;
	*error_r = r.why != NULL ? r.why : "Invalid search";
	return r.error != IMAP_SEARCH_OK ? r.error : IMAP_SEARCH_BAD;
}
