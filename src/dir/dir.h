/* dir - the user directory: domains, accounts, aliases, quotas, password
 * hashes, kept in DATA/directory.db (SQLite, WAL).
 *
 * Addresses are stored and compared in lower case; the login name of an
 * account is its full address. Every function is blocking (SQLite I/O): on
 * an I/O thread call it only from a job (conn_job). One struct dir may be
 * used from several threads (the connection is opened serialized). */
#ifndef TERN_DIR_DIR_H
#define TERN_DIR_DIR_H

#include <stdbool.h>
#include <stdint.h>

struct dir;

enum dir_error {
	DIR_OK,
	DIR_ERR_NOT_FOUND,     /* no such domain, account or alias */
	DIR_ERR_EXISTS,        /* already there */
	DIR_ERR_INVALID,       /* malformed address/domain/hash */
	DIR_ERR_NOT_EMPTY,     /* domain still has accounts or aliases */
	DIR_ERR_NO_DOMAIN,     /* the address's domain is not a local domain */
	DIR_ERR_TEMP,          /* database error: try again later */
	DIR_ERR_LOOP,          /* dir_resolve: the aliases loop and reach no recipient */
	DIR_ERR_LIMIT,         /* dir_resolve: over a bound of the alias expansion */
	DIR_ERR__COUNT
};
/* A short human-readable text for the CLI and logs. */
const char *dir_error_str(enum dir_error error);

struct dir_user {
	char *address;         /* canonical (lower-case) address */
	char *hash;            /* "{SCHEME}..." - never log or print it */
	uint64_t quota;        /* bytes; 0 = unlimited */
};

/* What delivery needs to know of an account, and nothing more. */
struct dir_delivery {
	char *address;         /* canonical (lower-case) address */
	uint64_t quota;        /* bytes; 0 = unlimited */
};

/* Open DATA/directory.db, creating data_dir (0700) and the database (0600)
 * when missing. On error returns -1 and a malloc'd *error_r. */
int dir_open(const char *data_dir, struct dir **dir_r, char **error_r);
void dir_close(struct dir **dir);

/* RFC 1035 2.3.1 host name syntax, in place: labels of 1 to 63 letters,
 * digits and inner hyphens, at most 253 octets; letters made lower case.
 * False (the name partly changed) when it is not one. DKIM's selectors
 * have the same syntax (RFC 6376 3.1). */
bool dir_domain_normalize(char *domain);
enum dir_error dir_domain_add(struct dir *dir, const char *domain);
/* Fails with DIR_ERR_NOT_EMPTY while accounts or aliases use it. */
enum dir_error dir_domain_del(struct dir *dir, const char *domain);
enum dir_error dir_domain_list(struct dir *dir, void (*cb)(void *ctx, const char *domain), void *ctx);
bool dir_domain_exists(struct dir *dir, const char *domain);

/* `hash` must be a valid "{SCHEME}..." (see password.h). */
enum dir_error dir_user_add(struct dir *dir, const char *address, const char *hash, uint64_t quota);
enum dir_error dir_user_del(struct dir *dir, const char *address);
enum dir_error dir_user_set_hash(struct dir *dir, const char *address, const char *hash);
/* Store `hash` only while the account's hash is still `old` (a re-hash at
 * login must not undo a password change made meanwhile): DIR_ERR_NOT_FOUND
 * when it changed or the account is gone. */
enum dir_error dir_user_replace_hash(struct dir *dir, const char *address, const char *old,
				     const char *hash);
enum dir_error dir_user_set_quota(struct dir *dir, const char *address, uint64_t quota);
/* Fills *user_r (free with dir_user_free) for a login name, any case. For
 * the login path only: it hands out the password hash. */
enum dir_error dir_user_lookup(struct dir *dir, const char *address, struct dir_user *user_r);
void dir_user_free(struct dir_user *user);
/* The account `address` names exactly (any case; no alias, sub-address or
 * catch-all: those are dir_resolve's, see dir-resolve.h) as delivery sees
 * it: canonical address and quota; the password hash is not even read.
 * DIR_ERR_NOT_FOUND when there is no such account, DIR_ERR_INVALID when it
 * is not an address. Free *info_r with dir_delivery_free. */
enum dir_error dir_delivery_lookup(struct dir *dir, const char *address,
				   struct dir_delivery *info_r);
void dir_delivery_free(struct dir_delivery *info);
/* Lists accounts, of one domain or (domain == NULL) all, ordered by address. */
enum dir_error dir_user_list(struct dir *dir, const char *domain,
			     void (*cb)(void *ctx, const char *address, uint64_t quota), void *ctx);

/* `alias` is an address of a local domain, or "@domain": the catch-all of a
 * local domain, used for an address of it that is neither an account nor
 * an alias (dir-resolve.h). `targets` is a comma-separated list of
 * addresses (local or not; at most 1,000). */
enum dir_error dir_alias_add(struct dir *dir, const char *alias, const char *targets);
enum dir_error dir_alias_del(struct dir *dir, const char *alias);
enum dir_error dir_alias_list(struct dir *dir,
			      void (*cb)(void *ctx, const char *alias, const char *targets), void *ctx);

/* Validate and lower-case an address in place ("Local@Dom.Example" ->
 * "local@dom.example"). Returns false when it is not local@domain. */
bool dir_address_normalize(char *address);

#endif
