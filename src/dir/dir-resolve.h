/* dir-resolve - what mail to an address becomes: the directory's answer to
 * SMTP's RCPT (and to anything else that delivers), with the aliases
 * followed to their end.
 *
 * One address, normalized (lower case), is looked up in this order; the
 * first that exists decides:
 *   1. an account or an alias of exactly that address;
 *   2. sub-addressing: for local+tag@domain, the account or alias
 *      local@domain (split at the first separator character; none when
 *      the local part starts with one);
 *   3. for postmaster@ any local domain (also postmaster+tag@, and the
 *      bare "postmaster" of RFC 5321 4.1.1.3, which only has this step),
 *      the fallback of the options, when set (RFC 5321 4.5.1: postmaster
 *      is always accepted): the domain's own postmaster account or alias
 *      comes first (steps 1-2), the catch-all after the fallback;
 *   4. the catch-all of the domain (`tern alias add @domain TARGET`);
 *   5. nothing: the address is unknown.
 * An address of a domain that is not local is an external recipient.
 * An alias's targets are resolved the same way, to the end, each address
 * once: the result lists every final recipient once, in the order found,
 * as a local account (its canonical address) or an external address (to
 * relay to, as written in the alias).
 *
 * Loop guard: an alias (or catch-all, or the postmaster fallback) already
 * being expanded on the way to a target is not expanded again, so a -> b
 * -> a ends (and, when nothing else is reached, is DIR_ERR_LOOP); an alias
 * reached twice on different ways (a -> b, c; b -> d; c -> d) is expanded
 * once. Bounds, each a configuration error answered
 * with DIR_ERR_LIMIT (as Postfix defers mail whose alias expansion is
 * "unreasonable"; log it): DIR_RESOLVE_RECIPIENTS_MAX final recipients,
 * DIR_RESOLVE_DEPTH_MAX aliases in a chain, DIR_RESOLVE_LOOKUPS_MAX
 * addresses looked up in all. An alias target that is unknown (a local
 * domain, nothing at steps 1-4) is dropped and listed in `unknown`, so
 * that one stale target does not refuse mail for the others.
 *
 * Blocking (SQLite): from a job only (dir_resolve_cached below is the
 * loop's). The whole resolution reads one snapshot of the directory (one
 * read transaction). */
#ifndef TERN_DIR_DIR_RESOLVE_H
#define TERN_DIR_DIR_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dir/dir.h"

#define DIR_RESOLVE_RECIPIENTS_MAX 1000
#define DIR_RESOLVE_DEPTH_MAX 20
#define DIR_RESOLVE_LOOKUPS_MAX 10000

struct dir_resolve_options {
	/* Sub-address separators: any one of these characters separates the
	 * tag ("+-": both). NULL means "+"; "" turns sub-addressing off. */
	const char *subaddress_separators;
	/* Where postmaster@ of a local domain goes when that domain has no
	 * postmaster account or alias ([smtp] postmaster, an account): NULL or
	 * "" for none. With neither, postmaster@ goes to the catch-all, else is
	 * unknown (DIR_ERR_NOT_FOUND; `tern check` should warn about it). */
	const char *postmaster;
};

enum dir_recipient_kind {
	DIR_RECIPIENT_LOCAL,      /* an account: deliver into its store */
	DIR_RECIPIENT_EXTERNAL,   /* not a local domain: relay */
	DIR_RECIPIENT__COUNT
};
/* "local", "external": for logs. */
const char *dir_recipient_kind_name(enum dir_recipient_kind kind);

struct dir_recipient {
	enum dir_recipient_kind kind;
	char *address;            /* local: the account's canonical address */
	uint64_t quota;           /* local: the account's quota in octets, 0 = none */
};

struct dir_resolution {
	struct dir_recipient *recipients;   /* no address twice */
	size_t n_recipients;
	char **unknown;           /* alias targets dropped because they name
	                           * no one (for a warning in the log) */
	size_t n_unknown;
};

/* Resolve `address` (any case). On DIR_OK, *res_r holds at least one
 * recipient. Otherwise it holds none (`unknown` may still list dropped
 * targets), and the error says why:
 *   DIR_ERR_INVALID    not an address (RFC 5321 dot-string local@domain)
 *   DIR_ERR_NO_DOMAIN  the address's domain is not local (relay policy is
 *                      the caller's); nothing was looked up beyond that
 *   DIR_ERR_NOT_FOUND  a local domain, but the address names no one, or
 *                      only unknown targets (RCPT: 550 5.1.1)
 *   DIR_ERR_LOOP       its aliases loop and reach no recipient
 *   DIR_ERR_LIMIT      over a bound above
 *   DIR_ERR_TEMP       the directory is unavailable (RCPT: 451 4.3.0)
 * `options` may be NULL (defaults). Free *res_r with dir_resolution_free
 * whatever the result. */
enum dir_error dir_resolve(struct dir *dir, const char *address,
			   const struct dir_resolve_options *options, struct dir_resolution *res_r);
void dir_resolution_free(struct dir_resolution *res);

/* The answer dir_resolve would give now, without blocking, from the
 * answers it gave before (dir-cache.h): true with *error_r and *res_r
 * (free it with dir_resolution_free) when an answer for the same address
 * (any case) and options is kept and the directory has not changed since
 * it was made; false when only dir_resolve can tell. Answers kept: DIR_OK
 * with a few recipients and no unknown targets, DIR_ERR_NOT_FOUND,
 * DIR_ERR_NO_DOMAIN. For an I/O loop: it never waits for the disk or
 * for another thread's lookup. */
bool dir_resolve_cached(struct dir *dir, const char *address,
			const struct dir_resolve_options *options, enum dir_error *error_r,
			struct dir_resolution *res_r);

#endif
