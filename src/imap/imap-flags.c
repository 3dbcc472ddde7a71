/* imap-flags - FLAGS lists written (system flags, \Recent, keywords) and
 * STORE's flag arguments read (RFC 9051 6.4.6; 9: flag, flag-keyword,
 * store-att-flags). No I/O. */
#include "imap/imap-flags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned flag;
} flags_system[] = {
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};
#define FLAGS_SYSTEM_N (sizeof(flags_system) / sizeof(flags_system[0]))

void imap_flags_write(struct buf *out, unsigned flags, const char *keywords, bool recent)
{
	const char *sep = "";

	buf_append_str(out, "(");
	for (size_t i = 0; i < FLAGS_SYSTEM_N; i++) {
		if ((flags & flags_system[i].flag) == 0)
			continue;
		buf_append_str(out, sep);
		buf_append_str(out, flags_system[i].name);
		sep = " ";
	}
	if (recent) {
		buf_append_str(out, sep);
		buf_append_str(out, "\\Recent");
		sep = " ";
	}
	if (keywords != NULL && keywords[0] != '\0') {
		buf_append_str(out, sep);
		buf_append_str(out, keywords);
	}
	buf_append_str(out, ")");
}

/* Whether the keyword is in the space-separated list (flags ignore case,
 * RFC 9051 2.3.2). */
static bool flags_keyword_listed(const struct buf *list, const char *kw, size_t len)
{
	const char *p = list->data, *end = list->data + list->len;

	while (p != NULL && p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n = sp != NULL ? (size_t)(sp - p) : (size_t)(end - p);

		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p = sp != NULL ? sp + 1 : NULL;
	}
	return false;
}

/* One flag into r: NULL, or the BAD reply's text. */
static const char *flags_add(struct imap_store_args *r, const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM)
		return "Invalid flag";
	if (arg->str[0] == '\\') {
		for (size_t i = 0; i < FLAGS_SYSTEM_N; i++) {
			if (strcasecmp(arg->str, flags_system[i].name) == 0) {
				r->flags |= flags_system[i].flag;
				return NULL;
			}
		}
		/* RFC 3501 2.3.2: \Recent is the server's; a rev1 client that
		 * sends it back in FLAGS loses nothing by its being ignored. */
		if (strcasecmp(arg->str, "\\Recent") == 0)
			return NULL;
		return "Invalid system flag";
	}
	/* the store's rule (RFC 9051 9 flag-keyword), so that none is refused later */
	if (!store_keyword_valid(arg->str, arg->len))
		return "Invalid keyword";
	if (flags_keyword_listed(&r->keywords, arg->str, arg->len))
		return NULL;
	r->n_keywords++;
	if (r->keywords.len > 0)
		buf_append_str(&r->keywords, " ");
	buf_append(&r->keywords, arg->str, arg->len);
	return NULL;
}

/* The flags of a list, or of one atom, into r. */
static const char *flags_add_all(struct imap_store_args *r, const struct imap_arg *flags,
				 size_t n)
{
	if (n == 1 && flags->type == IMAP_ARG_LIST) {
		n = flags->n;
		flags = flags->list;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = flags_add(r, &flags[i]);

		if (why != NULL)
			return why;
		if (r->n_keywords > STORE_MAILBOX_KEYWORDS_MAX)
			return "Too many keywords";
	}
	return NULL;
}

bool imap_flags_parse(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
		      const char **why_r)
{
	struct imap_store_args r;

	memset(&r, 0, sizeof(r));
	buf_init(&r.keywords, 0);
	*flags_r = 0;
	*keywords_r = NULL;
	*why_r = flags_add_all(&r, arg, 1);
	if (*why_r == NULL) {
		*flags_r = r.flags;
		if (r.keywords.len > 0 && (*keywords_r = strndup(r.keywords.data, r.keywords.len)) == NULL)
			abort();
	}
	buf_release(&r.keywords);
	return *why_r == NULL;
}

/* "+FLAGS.SILENT" and friends. */
static bool flags_item_parse(struct imap_store_args *r, const struct imap_arg *arg)
{
	const char *p = arg->str;

	if (arg->type != IMAP_ARG_ATOM)
		return false;
	r->op = STORE_FLAGS_REPLACE;
	if (*p == '+' || *p == '-') {
		r->op = *p == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		p++;
	}
	if (strncasecmp(p, "FLAGS", 5) != 0)
		return false;
	p += 5;
	r->silent = strcasecmp(p, ".SILENT") == 0;
	return r->silent || *p == '\0';
}

enum imap_store_parse imap_store_args_parse(const struct imap_arg *args, size_t n,
					    struct imap_store_args *r, const char **why_r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->keywords, 0);
	*why_r = NULL;
	if (n < 2) {
		*why_r = "Expected FLAGS and flags";
		return IMAP_STORE_PARSE_BAD;
	}
	if (!flags_item_parse(r, &args[0])) {
		*why_r = "Expected FLAGS, +FLAGS or -FLAGS";
		return IMAP_STORE_PARSE_BAD;
	}
	/* A parenthesised list, or flags as separate arguments (RFC 9051 9). */
	if (args[1].type == IMAP_ARG_LIST && n != 2) {
		*why_r = "Unexpected arguments after the flag list";
		return IMAP_STORE_PARSE_BAD;
	}
	*why_r = flags_add_all(r, &args[1], n - 1);
	if (*why_r != NULL)
		return r->n_keywords > STORE_MAILBOX_KEYWORDS_MAX ? IMAP_STORE_PARSE_LIMIT :
								   IMAP_STORE_PARSE_BAD;
	return IMAP_STORE_PARSE_OK;
}

void imap_store_args_free(struct imap_store_args *r)
{
	buf_release(&r->keywords);
}
