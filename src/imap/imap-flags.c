/* imap-flags - flag lists to store flag bits and keywords, and back. */
#include "imap/imap-flags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/store.h"

static const struct {
	const char *name;
	unsigned flag;
} imap_system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};
#define IMAP_SYSTEM_FLAGS (sizeof(imap_system_flags) / sizeof(imap_system_flags[0]))

/* RFC 9051 9: flag-keyword is an atom; the parser's atoms also take
 * list-wildcards and ']', which a keyword may not hold. */
static bool imap_keyword_valid(const char *atom)
{
	if (*atom == '\0')
		return false;
	for (const char *p = atom; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static bool imap_flag_add(const struct imap_arg *arg, unsigned *flags, struct buf *keywords,
			  unsigned *n_keywords, const char **why_r)
{
	const char *name = arg->str;

	if (arg->type != IMAP_ARG_ATOM) {
		*why_r = "Flags are atoms";
		return false;
	}
	if (name[0] == '\\') {
		for (size_t i = 0; i < IMAP_SYSTEM_FLAGS; i++) {
			if (strcasecmp(name, imap_system_flags[i].name) == 0) {
				*flags |= imap_system_flags[i].flag;
				return true;
			}
		}
		if (strcasecmp(name, "\\Recent") == 0)
			return true;
		*why_r = "Unknown system flag";
		return false;
	}
	if (!imap_keyword_valid(name)) {
		*why_r = "Invalid keyword";
		return false;
	}
	if (++*n_keywords > IMAP_FLAGS_KEYWORDS_MAX) {
		*why_r = "Too many keywords";
		return false;
	}
	if (keywords->len > 0)
		buf_append(keywords, " ", 1);
	buf_append_str(keywords, name);
	return true;
}

bool imap_flags_parse(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
		      const char **why_r)
{
	struct buf keywords;
	unsigned n_keywords = 0;
	bool ok = true;

	*flags_r = 0;
	*keywords_r = NULL;
	buf_init(&keywords, 0);
	if (arg->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < arg->n && ok; i++)
			ok = imap_flag_add(&arg->list[i], flags_r, &keywords, &n_keywords, why_r);
	} else {
		ok = imap_flag_add(arg, flags_r, &keywords, &n_keywords, why_r);
	}
	if (ok && keywords.len > 0) {
		*keywords_r = strndup(keywords.data, keywords.len);
		if (*keywords_r == NULL)
			abort();
	}
	buf_release(&keywords);
	if (!ok)
		*flags_r = 0;
	return ok;
}

void imap_flags_write(struct buf *out, unsigned flags, const char *keywords)
{
	bool first = true;

	for (size_t i = 0; i < IMAP_SYSTEM_FLAGS; i++) {
		if ((flags & imap_system_flags[i].flag) == 0)
			continue;
		if (!first)
			buf_append(out, " ", 1);
		buf_append_str(out, imap_system_flags[i].name);
		first = false;
	}
	if (keywords != NULL && *keywords != '\0') {
		if (!first)
			buf_append(out, " ", 1);
		buf_append_str(out, keywords);
	}
}
