/* dir-resolve - what mail to an address becomes: one address's lookup
 * (exact, sub-address, postmaster fallback, catch-all) and the expansion
 * of aliases to their final recipients, with its loop guard and bounds;
 * see dir-resolve.h. */
#include "dir/dir-resolve.h"

#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir/dir-cache.h"
#include "dir/dir-private.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The alias entry of the postmaster fallback: no address and no catch-all
 * ("@domain") has this form, so it cannot clash with a real entry. */
#define RESOLVE_FALLBACK_ENTRY "postmaster"
#define RESOLVE_POSTMASTER "postmaster"

static const char *const dir_recipient_kind_names[] = {
	[DIR_RECIPIENT_LOCAL] = "local",
	[DIR_RECIPIENT_EXTERNAL] = "external",
};
_Static_assert(ARRAY_SIZE(dir_recipient_kind_names) == DIR_RECIPIENT__COUNT,
	       "dir_recipient_kind_names");

const char *dir_recipient_kind_name(enum dir_recipient_kind kind)
{
	return (unsigned)kind < DIR_RECIPIENT__COUNT ? dir_recipient_kind_names[kind] : "?";
}

/* One alias being expanded: the way from the address to the current
 * target is the stack of these. */
struct resolve_frame {
	const char *entry;        /* "a@d", "@d" or the fallback; owned by `expanded` */
	char *targets;            /* comma-separated */
	size_t pos;               /* where the next target starts */
};

struct resolver {
	const char *separators;   /* "" = no sub-addressing */
	const char *postmaster;   /* the fallback, or NULL */
	sqlite3_stmt *find;       /* the account or alias of one address */
	sqlite3_stmt *domain;     /* is a domain local */
	void *expanded;           /* alias entries expanded (tsearch tree of strings) */
	void *found;              /* final recipients' addresses (not owned) */
	void *dropped;            /* unknown targets' addresses (not owned) */
	struct resolve_frame path[DIR_RESOLVE_DEPTH_MAX];
	size_t depth;
	size_t lookups;
	bool loop_cut;            /* a target was an alias on its own way */
	struct dir_resolution *res;
};

/* What one address is, with no alias followed. */
enum resolve_kind {
	RESOLVE_ACCOUNT,          /* *found_r: the canonical address, *quota_r its quota */
	RESOLVE_ALIAS,            /* *entry_r: the entry used, *found_r: its targets */
	RESOLVE_EXTERNAL,         /* not a local domain */
	RESOLVE_UNKNOWN,
	RESOLVE_TEMP,
};

static int resolve_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void resolve_keep(void *key)
{
	(void)key;
}

static char *resolve_strdup(const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		abort();
	return copy;
}

static void resolve_recipients_free(struct dir_resolution *res)
{
	for (size_t i = 0; i < res->n_recipients; i++)
		free(res->recipients[i].address);
	free(res->recipients);
	res->recipients = NULL;
	res->n_recipients = 0;
}

/* Room for one more element after n: 4, 8, 16, ... */
static void *resolve_grow(void *array, size_t n, size_t size)
{
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return array;
	array = realloc(array, (n == 0 ? 4 : 2 * n) * size);
	if (array == NULL)
		abort();
	return array;
}

/* ---- one address ---- */

/* 1 local, 0 not, -1 database error. */
static int resolve_domain_local(struct resolver *r, const char *domain)
{
	int rc;

	sqlite3_bind_text(r->domain, 1, domain, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(r->domain);
	sqlite3_reset(r->domain);
	sqlite3_clear_bindings(r->domain);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The account or alias whose address (or catch-all) is exactly `key`. */
static enum resolve_kind resolve_find(struct resolver *r, const char *key, char **entry_r,
				      char **found_r, uint64_t *quota_r)
{
	enum resolve_kind kind = RESOLVE_TEMP;
	int rc;

	sqlite3_bind_text(r->find, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(r->find);
	if (rc == SQLITE_ROW) {
		const char *account = (const char *)sqlite3_column_text(r->find, 0);
		const char *targets = (const char *)sqlite3_column_text(r->find, 1);

		if (account != NULL) {
			sqlite3_int64 quota = sqlite3_column_int64(r->find, 2);

			*found_r = resolve_strdup(account);
			*quota_r = quota > 0 ? (uint64_t)quota : 0;
			kind = RESOLVE_ACCOUNT;
		} else if (targets != NULL) {
			*entry_r = resolve_strdup(key);
			*found_r = resolve_strdup(targets);
			kind = RESOLVE_ALIAS;
		}
	} else if (rc == SQLITE_DONE) {
		kind = RESOLVE_UNKNOWN;
	}
	sqlite3_reset(r->find);
	sqlite3_clear_bindings(r->find);
	return kind;
}

/* The steps of dir-resolve.h for one normalized address. */
static enum resolve_kind resolve_one(struct resolver *r, const char *address, char **entry_r,
				     char **found_r, uint64_t *quota_r)
{
	const char *at = strrchr(address, '@');
	size_t local_len = (size_t)(at - address);
	size_t base_len = local_len;
	char key[DIR_ADDRESS_MAX + 2];
	enum resolve_kind kind;
	int local;

	*entry_r = NULL;
	*found_r = NULL;
	local = resolve_domain_local(r, at + 1);
	if (local <= 0)
		return local < 0 ? RESOLVE_TEMP : RESOLVE_EXTERNAL;
	kind = resolve_find(r, address, entry_r, found_r, quota_r);
	if (kind != RESOLVE_UNKNOWN)
		return kind;
	if (r->separators[0] != '\0') {
		size_t cut = strcspn(address, r->separators);

		if (cut > 0 && cut < local_len) {
			snprintf(key, sizeof(key), "%.*s%s", (int)cut, address, at);
			kind = resolve_find(r, key, entry_r, found_r, quota_r);
			if (kind != RESOLVE_UNKNOWN)
				return kind;
			base_len = cut;
		}
	}
	if (r->postmaster != NULL && base_len == strlen(RESOLVE_POSTMASTER) &&
	    memcmp(address, RESOLVE_POSTMASTER, base_len) == 0) {
		*entry_r = resolve_strdup(RESOLVE_FALLBACK_ENTRY);
		*found_r = resolve_strdup(r->postmaster);
		return RESOLVE_ALIAS;
	}
	snprintf(key, sizeof(key), "%s", at);
	return resolve_find(r, key, entry_r, found_r, quota_r);
}

/* ---- the expansion ---- */

/* Put a string known not to be there into a tree. */
static void resolve_tree_put(void **tree, const char *key)
{
	if (tsearch(key, tree, resolve_cmp) == NULL)
		abort();
}

static enum dir_error resolve_add_recipient(struct resolver *r, enum dir_recipient_kind kind,
					    char *address, uint64_t quota)
{
	struct dir_resolution *res = r->res;

	if (tfind(address, &r->found, resolve_cmp) != NULL) {
		free(address);
		return DIR_OK;
	}
	if (res->n_recipients == DIR_RESOLVE_RECIPIENTS_MAX) {
		free(address);
		return DIR_ERR_LIMIT;
	}
	res->recipients = resolve_grow(res->recipients, res->n_recipients,
				       sizeof(*res->recipients));
	res->recipients[res->n_recipients].kind = kind;
	res->recipients[res->n_recipients].address = address;
	res->recipients[res->n_recipients].quota = quota;
	res->n_recipients++;
	resolve_tree_put(&r->found, address);
	return DIR_OK;
}

static bool resolve_on_path(const struct resolver *r, const char *entry)
{
	for (size_t i = 0; i < r->depth; i++) {
		if (strcmp(r->path[i].entry, entry) == 0)
			return true;
	}
	return false;
}

/* Continue the expansion into an alias entry (taking both strings). */
static enum dir_error resolve_push(struct resolver *r, char *entry, char *targets)
{
	if (tfind(entry, &r->expanded, resolve_cmp) != NULL) {
		/* On its own way: a loop, cut here. Elsewhere: its recipients
		 * are in the result already. */
		if (resolve_on_path(r, entry))
			r->loop_cut = true;
		free(entry);
		free(targets);
		return DIR_OK;
	}
	if (r->depth == DIR_RESOLVE_DEPTH_MAX) {
		free(entry);
		free(targets);
		return DIR_ERR_LIMIT;
	}
	resolve_tree_put(&r->expanded, entry);
	r->path[r->depth].entry = entry;
	r->path[r->depth].targets = targets;
	r->path[r->depth].pos = 0;
	r->depth++;
	return DIR_OK;
}

/* A target that names no one: dropped, and listed once for the log. */
static void resolve_drop(struct resolver *r, const char *address)
{
	struct dir_resolution *res = r->res;
	char *copy;

	if (tfind(address, &r->dropped, resolve_cmp) != NULL)
		return;
	copy = resolve_strdup(address);
	res->unknown = resolve_grow(res->unknown, res->n_unknown, sizeof(*res->unknown));
	res->unknown[res->n_unknown++] = copy;
	resolve_tree_put(&r->dropped, copy);
}

/* Add what a normalized address is to the resolution. For the address the
 * caller asked about (`top`), a foreign domain or nobody is the answer;
 * for an alias's target, an external recipient or a dropped target. */
static enum dir_error resolve_address(struct resolver *r, const char *address, bool top)
{
	char *entry, *found;
	uint64_t quota = 0;

	switch (resolve_one(r, address, &entry, &found, &quota)) {
	case RESOLVE_ACCOUNT:
		return resolve_add_recipient(r, DIR_RECIPIENT_LOCAL, found, quota);
	case RESOLVE_ALIAS:
		return resolve_push(r, entry, found);
	case RESOLVE_EXTERNAL:
		if (top)
			return DIR_ERR_NO_DOMAIN;
		return resolve_add_recipient(r, DIR_RECIPIENT_EXTERNAL, resolve_strdup(address), 0);
	case RESOLVE_UNKNOWN:
		if (top)
			return DIR_ERR_NOT_FOUND;
		resolve_drop(r, address);
		return DIR_OK;
	case RESOLVE_TEMP:
	default:
		return DIR_ERR_TEMP;
	}
}

/* One target of an alias. A target reached again is looked up again
 * (bounded by DIR_RESOLVE_LOOKUPS_MAX): only so can an alias met on its
 * own way be told from one met on another. */
static enum dir_error resolve_target(struct resolver *r, const char *target, size_t len)
{
	char address[DIR_ADDRESS_MAX + 1];

	if (++r->lookups > DIR_RESOLVE_LOOKUPS_MAX)
		return DIR_ERR_LIMIT;
	snprintf(address, sizeof(address), "%.*s", (int)len, target);
	/* Targets are stored normalized; a row written otherwise names no one. */
	if (len > DIR_ADDRESS_MAX || !dir_address_normalize(address)) {
		resolve_drop(r, address);
		return DIR_OK;
	}
	return resolve_address(r, address, false);
}

/* Follow the aliases on the stack to their end. */
static enum dir_error resolve_expand(struct resolver *r)
{
	enum dir_error error = DIR_OK;

	while (error == DIR_OK && r->depth > 0) {
		struct resolve_frame *f = &r->path[r->depth - 1];
		const char *target = f->targets + f->pos;
		size_t len = strcspn(target, ",");

		if (*target == '\0') {
			free(f->targets);
			r->depth--;
			continue;
		}
		f->pos += len + (target[len] == ',');
		if (len > 0)
			error = resolve_target(r, target, len);
	}
	return error;
}

/* The address the caller asked about. */
static enum dir_error resolve_top(struct resolver *r, const char *address)
{
	char copy[DIR_ADDRESS_MAX + 1];

	if (strcasecmp(address, RESOLVE_POSTMASTER) == 0) {
		/* RFC 5321 4.1.1.3: "postmaster" without a domain. */
		if (r->postmaster == NULL)
			return DIR_ERR_NOT_FOUND;
		return resolve_push(r, resolve_strdup(RESOLVE_FALLBACK_ENTRY),
				    resolve_strdup(r->postmaster));
	}
	if (strlen(address) > DIR_ADDRESS_MAX)
		return DIR_ERR_INVALID;
	memcpy(copy, address, strlen(address) + 1);
	if (!dir_address_normalize(copy))
		return DIR_ERR_INVALID;
	r->lookups++;
	return resolve_address(r, copy, true);
}

/* The options as the resolution applies them (the defaults of
 * dir-resolve.h), which are also what a cached answer was made under. */
static struct dir_cache_options resolve_options(const struct dir_resolve_options *options)
{
	struct dir_cache_options o = { .separators = "+", .postmaster = "" };

	if (options != NULL && options->subaddress_separators != NULL)
		o.separators = options->subaddress_separators;
	if (options != NULL && options->postmaster != NULL)
		o.postmaster = options->postmaster;
	return o;
}

enum dir_error dir_resolve(struct dir *dir, const char *address,
			   const struct dir_resolve_options *options, struct dir_resolution *res_r)
{
	struct dir_cache_options o = resolve_options(options);
	struct resolver r = { .separators = o.separators, .res = res_r };
	enum dir_error error;
	int64_t version = 0;
	bool versioned;

	memset(res_r, 0, sizeof(*res_r));
	if (address == NULL)
		return DIR_ERR_INVALID;
	if (o.postmaster[0] != '\0')
		r.postmaster = o.postmaster;
	/* Read before the read transaction: a commit in between makes the
	 * answer newer than its version, which only costs a miss. */
	versioned = dir->cache != NULL && dir_cache_version(dir->cache, true, &version);
	pthread_mutex_lock(&dir->lock);
	/* One read transaction: every lookup sees the same directory. */
	error = db_begin_read(dir->db) == DB_OK ? DIR_OK : DIR_ERR_TEMP;
	if (error == DIR_OK) {
		r.find = dir_prepare(dir, "SELECT address, NULL, quota FROM accounts WHERE address = ?1 "
				     "UNION ALL SELECT NULL, targets, NULL FROM aliases WHERE alias = ?1",
				     NULL);
		r.domain = dir_prepare(dir, "SELECT 1 FROM domains WHERE name = ?1", NULL);
		if (r.find == NULL || r.domain == NULL)
			error = DIR_ERR_TEMP;
	}
	if (error == DIR_OK)
		error = resolve_top(&r, address);
	if (error == DIR_OK)
		error = resolve_expand(&r);
	db_stmt_done(dir->db, r.find);
	db_stmt_done(dir->db, r.domain);
	db_rollback(dir->db);   /* ends the read transaction */
	pthread_mutex_unlock(&dir->lock);
	while (r.depth > 0)
		free(r.path[--r.depth].targets);
	tdestroy(r.expanded, free);
	tdestroy(r.found, resolve_keep);
	tdestroy(r.dropped, resolve_keep);
	if (error == DIR_OK && res_r->n_recipients == 0)
		error = r.loop_cut ? DIR_ERR_LOOP : DIR_ERR_NOT_FOUND;
	/* On error only the unknown targets are worth keeping, for a log line. */
	if (error != DIR_OK)
		resolve_recipients_free(res_r);
	if (versioned)
		dir_cache_put(dir->cache, address, &o, version, error, res_r);
	return error;
}

bool dir_resolve_cached(struct dir *dir, const char *address,
			const struct dir_resolve_options *options, enum dir_error *error_r,
			struct dir_resolution *res_r)
{
	struct dir_cache_options o = resolve_options(options);

	memset(res_r, 0, sizeof(*res_r));
	return address != NULL && dir_cache_get(dir->cache, address, &o, error_r, res_r);
}

void dir_resolution_free(struct dir_resolution *res)
{
	resolve_recipients_free(res);
	for (size_t i = 0; i < res->n_unknown; i++)
		free(res->unknown[i]);
	free(res->unknown);
	memset(res, 0, sizeof(*res));
}
