/* imap-search - a SEARCH program evaluated against one message: the keys
 * the index answers, and the text keys fed by the message reader; see
 * imap-search.h. */
#include "imap/imap-search.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/mail-date.h"
#include "mail/mail-decode.h"
#include "mail/mail-header.h"

uint32_t imap_search_day(int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	/* In UTC, as FETCH writes INTERNALDATE (imap-date.h): the day the
	 * client sees is the day it searches for. */
	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	return mail_date_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* RFC 9051 2.3.2: keywords compare without regard to case. */
static bool imap_search_has_keyword(const char *keywords, const char *kw)
{
	size_t len = strlen(kw);
	const char *p = keywords;

	if (p == NULL)
		return false;
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

static bool imap_search_saved_has(const uint32_t *saved, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (saved[mid] == uid)
			return true;
		if (saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static enum imap_search_value imap_search_bool(bool b)
{
	return b ? IMAP_SEARCH_TRUE : IMAP_SEARCH_FALSE;
}

/* before / on / since as kinds come in threes. */
static enum imap_search_value imap_search_cmp_day(uint32_t have, uint32_t want, int which)
{
	if (have == 0)
		return IMAP_SEARCH_FALSE;
	return imap_search_bool(which == 0 ? have < want : which == 1 ? have == want : have >= want);
}

static enum imap_search_value imap_search_node_eval(const struct imap_search_program *prog,
						    const struct imap_search_node *node,
						    const struct imap_search_msg *msg,
						    const uint32_t *saved, size_t n_saved, bool text)
{
	enum imap_search_value v, acc;

	switch (node->kind) {
	case IMAP_SEARCH_ALL:
		return IMAP_SEARCH_TRUE;
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR: {
		/* AND stops at the first FALSE, OR at the first TRUE; an
		 * UNKNOWN child leaves the answer unknown otherwise. */
		enum imap_search_value stop = node->kind == IMAP_SEARCH_AND ? IMAP_SEARCH_FALSE
									     : IMAP_SEARCH_TRUE;

		acc = stop == IMAP_SEARCH_FALSE ? IMAP_SEARCH_TRUE : IMAP_SEARCH_FALSE;
		for (size_t i = 0; i < node->n_children; i++) {
			v = imap_search_node_eval(prog, node->children[i], msg, saved, n_saved, text);
			if (v == stop)
				return v;
			if (v == IMAP_SEARCH_UNKNOWN)
				acc = v;
		}
		return acc;
	}
	case IMAP_SEARCH_NOT:
		v = imap_search_node_eval(prog, node->children[0], msg, saved, n_saved, text);
		return v == IMAP_SEARCH_UNKNOWN ? v : imap_search_bool(v == IMAP_SEARCH_FALSE);
	case IMAP_SEARCH_FLAGS:
		return imap_search_bool((msg->flags & node->flags) == node->flags);
	case IMAP_SEARCH_KEYWORD:
		return imap_search_bool(imap_search_has_keyword(msg->keywords, node->str));
	case IMAP_SEARCH_RECENT:
		return imap_search_bool(msg->recent);
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		/* RFC 9051 6.4.4: "disregarding time and timezone". */
		return imap_search_cmp_day(imap_search_day(msg->internal_date), node->day,
					   (int)(node->kind - IMAP_SEARCH_BEFORE));
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (!text)
			return IMAP_SEARCH_UNKNOWN;
		return imap_search_cmp_day(prog->sent_day, node->day,
					   (int)(node->kind - IMAP_SEARCH_SENTBEFORE));
	case IMAP_SEARCH_LARGER:
		return imap_search_bool(msg->size > node->number);
	case IMAP_SEARCH_SMALLER:
		return imap_search_bool(msg->size < node->number);
	case IMAP_SEARCH_MODSEQ:
		return imap_search_bool(msg->modseq >= node->number);
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UIDSET:
		/* RFC 5182 2.1: "$" is the saved UIDs, in either kind of set. */
		if (node->set.saved)
			return imap_search_bool(imap_search_saved_has(saved, n_saved, msg->uid));
		return imap_search_bool(imap_seqset_contains(
			&node->set, node->kind == IMAP_SEARCH_SEQSET ? msg->seq : msg->uid));
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return text ? imap_search_bool(node->matched) : IMAP_SEARCH_UNKNOWN;
	case IMAP_SEARCH__COUNT:
		break;
	}
	return IMAP_SEARCH_FALSE;
}

enum imap_search_value imap_search_eval(const struct imap_search_program *prog,
					const struct imap_search_msg *msg,
					const uint32_t *saved, size_t n_saved, bool text)
{
	return imap_search_node_eval(prog, prog->root, msg, saved, n_saved, text);
}

void imap_search_text_begin(struct imap_search_program *prog)
{
	for (size_t i = 0; i < prog->n_text_nodes; i++) {
		mail_match_reset(prog->text_nodes[i]->match);
		prog->text_nodes[i]->matched = false;
	}
	prog->sent_day = 0;
}

/* One whole text through one node's matcher. */
static void imap_search_match_one(struct imap_search_node *node, const char *a, size_t a_len,
				  const char *b, size_t b_len)
{
	mail_match_reset(node->match);
	mail_match_push(node->match, a, a_len);
	if (b != NULL) {
		mail_match_push(node->match, ": ", 2);
		mail_match_push(node->match, b, b_len);
	}
	node->matched |= mail_match_finish(node->match);
	mail_match_reset(node->match);
}

void imap_search_text_field(struct imap_search_program *prog, bool top, const char *name,
			    size_t name_len, const char *value, size_t value_len)
{
	for (size_t i = 0; i < prog->n_text_nodes; i++) {
		struct imap_search_node *node = prog->text_nodes[i];

		if (node->matched)
			continue;
		switch (node->kind) {
		case IMAP_SEARCH_HEADER:
			/* RFC 9051 6.4.4: the field's text after the colon;
			 * an empty string matches every message with the field. */
			if (top && mail_header_name_equals(name, name_len, node->field))
				imap_search_match_one(node, value, value_len, NULL, 0);
			break;
		case IMAP_SEARCH_BODY:
			/* The header of a message inside the body is body text. */
			if (!top)
				imap_search_match_one(node, name, name_len, value, value_len);
			break;
		case IMAP_SEARCH_TEXT:
			imap_search_match_one(node, name, name_len, value, value_len);
			break;
		default:
			break;
		}
	}
}

void imap_search_text_date(struct imap_search_program *prog, uint32_t day)
{
	prog->sent_day = day;
}

void imap_search_text_body(struct imap_search_program *prog, const char *text, size_t len)
{
	for (size_t i = 0; i < prog->n_text_nodes; i++) {
		struct imap_search_node *node = prog->text_nodes[i];

		if (!node->matched && node->kind != IMAP_SEARCH_HEADER)
			node->matched = mail_match_push(node->match, text, len);
	}
}

void imap_search_text_part_end(struct imap_search_program *prog)
{
	for (size_t i = 0; i < prog->n_text_nodes; i++) {
		struct imap_search_node *node = prog->text_nodes[i];

		if (node->kind == IMAP_SEARCH_HEADER)
			continue;
		node->matched |= mail_match_finish(node->match);
		mail_match_reset(node->match);
	}
}

bool imap_search_text_settled(const struct imap_search_program *prog)
{
	for (size_t i = 0; i < prog->n_text_nodes; i++) {
		if (!prog->text_nodes[i]->matched)
			return false;
	}
	return true;
}
