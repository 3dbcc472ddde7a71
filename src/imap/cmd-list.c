/* cmd-list - LIST (RFC 9051 6.3.9, with the extended form of RFC 5258:
 * selection SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return
 * SUBSCRIBED, CHILDREN, SPECIAL-USE, and STATUS of RFC 5819) and LSUB
 * (RFC 3501 6.3.9). The mailboxes and subscriptions are read in a job;
 * the matching entries are then written as a producer that stops at the
 * output high-water mark. Special-use attributes (RFC 6154 2) and
 * \HasChildren / \HasNoChildren (RFC 3348) go into every response. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-commands.h"

/* RFC 5258 4: the extended data of a match with subscribed children */
#define IMAP_LIST_CHILDINFO " (\"CHILDINFO\" (\"SUBSCRIBED\"))"

/* Patterns of one LIST (RFC 5258 3: a list of them). */
#define IMAP_LIST_PATTERNS_MAX 32

enum imap_list_opt {
	IMAP_LIST_SEL_SUBSCRIBED = 1 << 0,
	IMAP_LIST_SEL_SPECIAL_USE = 1 << 1,
	IMAP_LIST_RECURSIVEMATCH = 1 << 2,
	IMAP_LIST_RET_SUBSCRIBED = 1 << 3,
	IMAP_LIST_RET_STATUS = 1 << 4,
	IMAP_LIST_LSUB = 1 << 5,
};

enum imap_list_attr {
	IMAP_LIST_ATTR_NOSELECT = 1 << 0,
	IMAP_LIST_ATTR_NONEXISTENT = 1 << 1,
	IMAP_LIST_ATTR_SUBSCRIBED = 1 << 2,
	IMAP_LIST_ATTR_CHILDINFO = 1 << 3,    /* ("CHILDINFO" ("SUBSCRIBED")) */
	IMAP_LIST_ATTR_HASCHILDREN = 1 << 4,  /* of an entry without a mailbox */
};

struct imap_list_entry {
	const char *name;                /* the box's or the subscription's */
	const struct store_mailbox *box; /* NULL: no such mailbox */
	unsigned attrs;
};

struct imap_list {
	unsigned opts;
	unsigned status_items;
	char *patterns[IMAP_LIST_PATTERNS_MAX];
	size_t n_patterns;
	/* from the job */
	struct store_mailbox *boxes;
	size_t n_boxes;
	char **subs;
	size_t n_subs;
	enum store_error error;
	char **parents;                  /* superiors' names listed (no subscription's) */
	size_t n_parents;
	/* what is written */
	struct imap_list_entry *entries;
	size_t n_entries, cap_entries, next;
};

static void imap_list_free(struct imap_cmd *cmd)
{
	struct imap_list *l = cmd->ctx;

	for (size_t i = 0; i < l->n_patterns; i++)
		free(l->patterns[i]);
	store_mailboxes_free(l->boxes, l->n_boxes);
	store_names_free(l->subs, l->n_subs);
	for (size_t i = 0; i < l->n_parents; i++)
		free(l->parents[i]);
	free(l->parents);
	free(l->entries);
	free(l);
	cmd->ctx = NULL;
}

/* A row of the match table per pattern character, so that no pattern
 * costs more than its length times the name's. */
bool imap_list_match(const char *pattern, const char *name)
{
	size_t n = strlen(name);
	bool *row = calloc(2 * (n + 1), sizeof(*row));
	bool *cur = row, *next = row + n + 1, matched;

	if (row == NULL)
		abort();
	cur[0] = true;
	for (const char *p = pattern; *p != '\0'; p++) {
		next[0] = cur[0] && (*p == '*' || *p == '%');
		for (size_t j = 1; j <= n; j++) {
			if (*p == '*')
				next[j] = next[j - 1] || cur[j];
			else if (*p == '%')
				next[j] = cur[j] || (next[j - 1] && name[j - 1] != '/');
			else
				next[j] = cur[j - 1] && name[j - 1] == *p;
		}
		bool *t = cur;

		cur = next;
		next = t;
	}
	matched = cur[n];
	free(row);
	return matched;
}

static bool imap_list_matches(const struct imap_list *l, const char *name)
{
	for (size_t i = 0; i < l->n_patterns; i++)
		if (imap_list_match(l->patterns[i], name))
			return true;
	return false;
}

static int imap_list_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static int imap_list_box_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_mailbox *)elem)->name);
}

/* The store lists both by name (strcmp's order): binary searches. */
static bool imap_list_subscribed(const struct imap_list *l, const char *name)
{
	return l->n_subs > 0 &&
	       bsearch(name, l->subs, l->n_subs, sizeof(*l->subs), imap_list_name_cmp) != NULL;
}

static const struct store_mailbox *imap_list_box(const struct imap_list *l, const char *name)
{
	if (l->n_boxes == 0)
		return NULL;
	return bsearch(name, l->boxes, l->n_boxes, sizeof(*l->boxes), imap_list_box_cmp);
}

static bool imap_list_listed(const struct imap_list *l, const char *name)
{
	for (size_t i = 0; i < l->n_entries; i++)
		if (strcmp(l->entries[i].name, name) == 0)
			return true;
	return false;
}

/* `unique`: the name cannot be listed already (each mailbox once). */
static void imap_list_add(struct imap_list *l, const char *name, const struct store_mailbox *box,
			  unsigned attrs, bool unique)
{
	if (!unique && imap_list_listed(l, name))
		return;
	if (l->n_entries == l->cap_entries) {
		l->cap_entries = l->cap_entries > 0 ? 2 * l->cap_entries : 16;
		l->entries = reallocarray(l->entries, l->cap_entries, sizeof(*l->entries));
		if (l->entries == NULL)
			abort();
	}
	l->entries[l->n_entries++] = (struct imap_list_entry){ name, box, attrs };
}

/* Keep a superior's name for the entry that lists it (freed with l). */
static const char *imap_list_keep(struct imap_list *l, char *name)
{
	l->parents = reallocarray(l->parents, l->n_parents + 1, sizeof(*l->parents));
	if (l->parents == NULL)
		abort();
	l->parents[l->n_parents++] = name;
	return name;
}

/* LIST without SUBSCRIBED: the mailboxes, by name. */
static void imap_list_select_boxes(struct imap_list *l)
{
	for (size_t i = 0; i < l->n_boxes; i++) {
		const struct store_mailbox *box = &l->boxes[i];
		unsigned attrs = 0;

		if (!imap_list_matches(l, box->name))
			continue;
		if ((l->opts & IMAP_LIST_SEL_SPECIAL_USE) != 0 && box->special == STORE_SPECIAL_NONE)
			continue;
		if ((l->opts & IMAP_LIST_RET_SUBSCRIBED) != 0 && imap_list_subscribed(l, box->name))
			attrs |= IMAP_LIST_ATTR_SUBSCRIBED;
		imap_list_add(l, box->name, box, attrs, true);
	}
}

/* The selection criteria of LIST (SUBSCRIBED ...): subscribed, and with
 * SPECIAL-USE (RFC 6154 3) a mailbox with a special-use attribute. */
static bool imap_list_meets(const struct imap_list *l, const char *name)
{
	const struct store_mailbox *box;

	if (!imap_list_subscribed(l, name))
		return false;
	if ((l->opts & IMAP_LIST_SEL_SPECIAL_USE) == 0)
		return true;
	box = imap_list_box(l, name);
	return box != NULL && box->special != STORE_SPECIAL_NONE;
}

/* Some subscription below `name` meets the criteria (CHILDINFO). The
 * names below it are together in strcmp's order, from "name/" on. */
static bool imap_list_child_meets(const struct imap_list *l, const char *name)
{
	size_t len = strlen(name), lo = 0, hi = l->n_subs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(l->subs[mid], name, len);

		if (c < 0 || (c == 0 && (unsigned char)l->subs[mid][len] < '/'))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < l->n_subs; i++) {
		if (strncmp(l->subs[i], name, len) != 0 || l->subs[i][len] != '/')
			break;
		if (imap_list_meets(l, l->subs[i]))
			return true;
	}
	return false;
}

/* The superiors of `name` (which meets the criteria but does not match
 * the patterns) that match and do not meet the criteria themselves (RFC
 * 5258 3.3 rule 2B): with RECURSIVEMATCH listed with CHILDINFO (3.5:
 * not when every child that meets them is listed anyway, hence only for
 * a name that is not); without it only a superior that does not exist,
 * as "\NonExistent \HasChildren" (3.5's note, example 11), so that a
 * client walking the hierarchy with "%" finds the name. */
static void imap_list_superiors(struct imap_list *l, const char *name)
{
	bool recursive = (l->opts & IMAP_LIST_RECURSIVEMATCH) != 0;

	for (const char *slash = strchr(name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		char *parent = strndup(name, (size_t)(slash - name));
		const struct store_mailbox *box;
		unsigned attrs;

		if (parent == NULL)
			abort();
		box = imap_list_box(l, parent);
		if (!imap_list_matches(l, parent) || imap_list_meets(l, parent) ||
		    (!recursive && box != NULL) || imap_list_listed(l, parent)) {
			free(parent);
			continue;
		}
		attrs = recursive ? IMAP_LIST_ATTR_CHILDINFO : IMAP_LIST_ATTR_HASCHILDREN;
		if (box == NULL)
			attrs |= IMAP_LIST_ATTR_NONEXISTENT;
		if (imap_list_subscribed(l, parent))
			attrs |= IMAP_LIST_ATTR_SUBSCRIBED;
		imap_list_add(l, imap_list_keep(l, parent), box, attrs, true);
	}
}

/* LIST (SUBSCRIBED ...) (RFC 5258 3.1): the subscriptions that meet the
 * criteria, with RECURSIVEMATCH the CHILDINFO of those with one below
 * that does too, and the superiors imap_list_superiors lists. */
static void imap_list_select_subscribed(struct imap_list *l)
{
	bool recursive = (l->opts & IMAP_LIST_RECURSIVEMATCH) != 0;

	for (size_t i = 0; i < l->n_subs; i++) {
		const char *name = l->subs[i];
		const struct store_mailbox *box = imap_list_box(l, name);
		unsigned attrs = IMAP_LIST_ATTR_SUBSCRIBED;

		if (!imap_list_meets(l, name))
			continue;
		if (!imap_list_matches(l, name)) {
			imap_list_superiors(l, name);
			continue;
		}
		if (box == NULL)
			attrs |= IMAP_LIST_ATTR_NONEXISTENT;
		if (recursive && imap_list_child_meets(l, name))
			attrs |= IMAP_LIST_ATTR_CHILDINFO;
		imap_list_add(l, name, box, attrs, true);
	}
}

/* LSUB: the matching subscriptions, and (RFC 3501 6.3.9) for "%" the
 * unsubscribed superior of a subscribed name, as \Noselect. */
static void imap_list_select_lsub(struct imap_list *l)
{
	for (size_t i = 0; i < l->n_subs; i++) {
		const char *name = l->subs[i];

		if (imap_list_matches(l, name)) {
			unsigned attrs = IMAP_LIST_ATTR_SUBSCRIBED;

			if (imap_list_box(l, name) == NULL)
				attrs |= IMAP_LIST_ATTR_NOSELECT;
			imap_list_add(l, name, imap_list_box(l, name), attrs, false);
			continue;
		}
		for (const char *slash = strchr(name, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/')) {
			char *parent = strndup(name, (size_t)(slash - name));

			if (parent == NULL)
				abort();
			if (imap_list_subscribed(l, parent) || !imap_list_matches(l, parent) ||
			    imap_list_listed(l, parent)) {
				free(parent);
				continue;
			}
			imap_list_add(l, imap_list_keep(l, parent), NULL, IMAP_LIST_ATTR_NOSELECT, true);
			break;
		}
	}
}

/* The entries, in the store's order (by name). */
static void imap_list_select(struct imap_list *l)
{
	if ((l->opts & IMAP_LIST_LSUB) != 0)
		imap_list_select_lsub(l);
	else if ((l->opts & IMAP_LIST_SEL_SUBSCRIBED) != 0)
		imap_list_select_subscribed(l);
	else
		imap_list_select_boxes(l);
}

static void imap_list_write_entry(struct imap_cmd *cmd, const struct imap_list_entry *e)
{
	struct imap_session *s = cmd->s;
	struct imap_list *l = cmd->ctx;
	struct buf line;
	const char *special = e->box != NULL ? store_special_attr(e->box->special) : NULL;
	bool lsub = (l->opts & IMAP_LIST_LSUB) != 0;
	bool first = true;

	buf_init(&line, 0);
	buf_append_str(&line, lsub ? "* LSUB (" : "* LIST (");
#define IMAP_LIST_ATTR(text) \
	do { \
		buf_printf(&line, "%s%s", first ? "" : " ", (text)); \
		first = false; \
	} while (0)
	if ((e->attrs & IMAP_LIST_ATTR_NONEXISTENT) != 0)
		IMAP_LIST_ATTR("\\NonExistent");
	if ((e->attrs & IMAP_LIST_ATTR_NOSELECT) != 0)
		IMAP_LIST_ATTR("\\Noselect");
	if ((e->attrs & IMAP_LIST_ATTR_SUBSCRIBED) != 0 && !lsub)
		IMAP_LIST_ATTR("\\Subscribed");
	if (e->box != NULL)
		IMAP_LIST_ATTR(e->box->has_children ? "\\HasChildren" : "\\HasNoChildren");
	else if ((e->attrs & IMAP_LIST_ATTR_HASCHILDREN) != 0)
		IMAP_LIST_ATTR("\\HasChildren");
	if (special != NULL)
		IMAP_LIST_ATTR(special);
#undef IMAP_LIST_ATTR
	buf_append_str(&line, ") \"/\" ");
	imap_write(s, line.data, line.len);
	imap_write_mailbox(s, e->name);
	if ((e->attrs & IMAP_LIST_ATTR_CHILDINFO) != 0)
		imap_write(s, IMAP_LIST_CHILDINFO, sizeof(IMAP_LIST_CHILDINFO) - 1);
	imap_write(s, "\r\n", 2);
	buf_release(&line);
	/* RFC 5819 2: the STATUS right after its LIST */
	if ((l->opts & IMAP_LIST_RET_STATUS) != 0 && e->box != NULL)
		imap_status_write(s, e->box, l->status_items);
}

static void imap_list_produce(struct imap_cmd *cmd)
{
	struct imap_list *l = cmd->ctx;

	while (l->next < l->n_entries) {
		if (conn_output_full(cmd->s->conn)) {
			cmd->drained = imap_list_produce;
			return;
		}
		imap_list_write_entry(cmd, &l->entries[l->next++]);
	}
	imap_cmd_done(cmd, IMAP_OK, NULL, "%s completed", cmd->def->name);
}

static void imap_list_work(struct imap_cmd *cmd)
{
	struct imap_list *l = cmd->ctx;

	l->error = store_mailbox_list(cmd->s->acct, &l->boxes, &l->n_boxes);
	if (l->error == STORE_OK)
		l->error = store_subscriptions(cmd->s->acct, &l->subs, &l->n_subs);
	/* the matching, off the loop too: it grows with the mailboxes */
	if (l->error == STORE_OK)
		imap_list_select(l);
}

static void imap_list_done(struct imap_cmd *cmd)
{
	struct imap_list *l = cmd->ctx;

	if (l->error != STORE_OK) {
		imap_cmd_fail(cmd, l->error, false, cmd->def->name);
		return;
	}
	imap_list_produce(cmd);
}

/* reference + pattern (RFC 9051 6.3.9: interpreted together). */
static bool imap_list_pattern_add(struct imap_cmd *cmd, struct imap_list *l, const char *ref,
				  const struct imap_arg *arg)
{
	char *pattern = imap_pattern_from_client(cmd->s, arg);
	char *full;

	if (pattern == NULL || l->n_patterns == IMAP_LIST_PATTERNS_MAX) {
		free(pattern);
		return false;
	}
	if (asprintf(&full, "%s%s", ref, pattern) < 0)
		abort();
	free(pattern);
	l->patterns[l->n_patterns++] = full;
	return true;
}

static bool imap_list_selection(const struct imap_arg *list, unsigned *opts)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_arg *o = &list->list[i];

		if (imap_arg_atom_is(o, "SUBSCRIBED"))
			*opts |= IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_RET_SUBSCRIBED;
		else if (imap_arg_atom_is(o, "SPECIAL-USE"))
			*opts |= IMAP_LIST_SEL_SPECIAL_USE;
		else if (imap_arg_atom_is(o, "RECURSIVEMATCH"))
			*opts |= IMAP_LIST_RECURSIVEMATCH;
		else if (!imap_arg_atom_is(o, "REMOTE"))
			return false;   /* RFC 5258 3: unknown options are BAD */
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs another selection option */
	return (*opts & IMAP_LIST_RECURSIVEMATCH) == 0 ||
	       (*opts & (IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_SEL_SPECIAL_USE)) != 0;
}

static bool imap_list_return(const struct imap_arg *list, struct imap_list *l)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct imap_arg *o = &list->list[i];

		if (imap_arg_atom_is(o, "SUBSCRIBED")) {
			l->opts |= IMAP_LIST_RET_SUBSCRIBED;
		} else if (imap_arg_atom_is(o, "STATUS") && i + 1 < list->n) {
			/* RFC 5819 */
			if (!imap_status_items_parse(&list->list[++i], &l->status_items))
				return false;
			l->opts |= IMAP_LIST_RET_STATUS;
		} else if (!imap_arg_atom_is(o, "CHILDREN") && !imap_arg_atom_is(o, "SPECIAL-USE")) {
			return false;   /* CHILDREN and SPECIAL-USE are always there */
		}
	}
	return true;
}

static bool imap_list_parse(struct imap_cmd *cmd, struct imap_list *l)
{
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args;
	char *ref;
	bool ok;

	if ((l->opts & IMAP_LIST_LSUB) == 0 && n > 0 && args[0].type == IMAP_ARG_LIST) {
		if (!imap_list_selection(&args[0], &l->opts))
			return false;
		args++;
		n--;
	}
	if (n < 2 || (ref = imap_pattern_from_client(cmd->s, &args[0])) == NULL)
		return false;
	if (args[1].type == IMAP_ARG_LIST && (l->opts & IMAP_LIST_LSUB) == 0) {
		ok = args[1].n > 0;
		for (size_t i = 0; ok && i < args[1].n; i++)
			ok = imap_list_pattern_add(cmd, l, ref, &args[1].list[i]);
	} else {
		ok = imap_list_pattern_add(cmd, l, ref, &args[1]);
	}
	free(ref);
	if (!ok)
		return false;
	if (n == 2)
		return true;
	return (l->opts & IMAP_LIST_LSUB) == 0 && n == 4 && imap_arg_atom_is(&args[2], "RETURN") &&
	       args[3].type == IMAP_ARG_LIST && imap_list_return(&args[3], l);
}

static void imap_list_start(struct imap_cmd *cmd, unsigned opts)
{
	struct imap_list *l = calloc(1, sizeof(*l));

	if (l == NULL)
		abort();
	l->opts = opts;
	cmd->ctx = l;
	cmd->free_ctx = imap_list_free;
	if (!imap_list_parse(cmd, l)) {
		imap_cmd_done(cmd, IMAP_BAD, NULL, "%s takes a reference and a mailbox pattern",
			      cmd->def->name);
		return;
	}
	/* RFC 9051 6.3.9: an empty pattern asks for the delimiter */
	if (l->n_patterns == 1 && l->patterns[0][0] == '\0' && (opts & IMAP_LIST_LSUB) == 0 &&
	    cmd->args[0].type != IMAP_ARG_LIST) {
		imap_untagged(cmd->s, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_done(cmd, IMAP_OK, NULL, "LIST completed");
		return;
	}
	imap_cmd_job(cmd, imap_list_work, imap_list_done);
}

void cmd_list(struct imap_cmd *cmd)
{
	imap_list_start(cmd, 0);
}

void cmd_lsub(struct imap_cmd *cmd)
{
	imap_list_start(cmd, IMAP_LIST_LSUB);
}
