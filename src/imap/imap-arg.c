/* imap-arg - reading the parser's arguments as the grammar's types
 * (astring, string, number); see imap-arg.h. */
#include "imap/imap-arg.h"

#include <strings.h>

#include "core/number.h"

const char *imap_arg_astring(const struct imap_arg *arg)
{
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL)
		return arg->str;
	return imap_arg_string(arg);
}

const char *imap_arg_string(const struct imap_arg *arg)
{
	if (arg->type == IMAP_ARG_QUOTED || (arg->type == IMAP_ARG_LITERAL && !arg->streamed))
		return arg->str;
	return NULL;
}

bool imap_arg_atom_is(const struct imap_arg *arg, const char *word)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
	       strcasecmp(arg->str, word) == 0;
}

bool imap_arg_number(const struct imap_arg *arg, uint32_t *n_r)
{
	uint64_t n;

	if (arg->type != IMAP_ARG_ATOM || !number_parse_u64(arg->str, arg->len, UINT32_MAX, &n))
		return false;
	*n_r = (uint32_t)n;
	return true;
}

bool imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r)
{
	/* RFC 9051 9: number64 is at most 2^63 - 1. */
	return arg->type == IMAP_ARG_ATOM && number_parse_u64(arg->str, arg->len, INT64_MAX, n_r);
}
