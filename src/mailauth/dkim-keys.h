/* dkim-keys - the DKIM keys of the data folder: DATA/dkim/DOMAIN/
 * SELECTOR.key, a PEM private key (0600) per domain and selector, its
 * folder 0700; the DNS record of each is made from the key (dkim-key.h).
 * For each domain and algorithm, the newest key file signs (the latest
 * `tern dkim keygen`; the others stay listed and may still be in DNS for
 * mail in transit). keygen and list use the folder directly; the server
 * keeps the keys it has read in a cache that reads a domain's keys again
 * when its folder or one of its files changes.
 *
 * Every call here is blocking (it reads files): from a job, never on an
 * I/O loop. */
#ifndef TERN_MAILAUTH_DKIM_KEYS_H
#define TERN_MAILAUTH_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailauth/dkim-key.h"

/* The folder in DATA, and the end of a key file's name. */
#define DKIM_KEYS_DIR "dkim"
#define DKIM_KEY_SUFFIX ".key"
/* The longest selector (RFC 1035: a label of 63, as tern writes them). */
#define DKIM_SELECTOR_MAX 63

/* Whether `selector` is one tern writes: a host-name label syntax
 * (letters, digits, inner hyphens and dots; RFC 6376 3.1), lower case,
 * at most DKIM_SELECTOR_MAX octets. */
bool dkim_selector_valid(const char *selector);

/* Store `key` as DATA/dkim/DOMAIN/SELECTOR.key (domain and selector
 * already valid, lower case), creating the folders (0700) as needed,
 * the file 0600 and durable. Returns 0; 1 when that key exists already
 * (nothing is changed); -1 with a malloc'd *error_r. */
int dkim_keys_create(const char *data_dir, const char *domain, const char *selector,
		     const struct dkim_key *key, char **error_r);

/* One key file, as listed. */
struct dkim_key_entry {
	const char *domain;
	const char *selector;
	const char *path;          /* DATA/dkim/DOMAIN/SELECTOR.key */
	struct dkim_key *key;      /* NULL when the file cannot be used */
	const char *error;         /* then why (static text) */
	bool signing;              /* the newest of its algorithm in its domain */
};
/* Every key file, ordered by domain then selector. A data folder with no
 * DATA/dkim lists nothing (0). Returns 0, or -1 with a malloc'd
 * *error_r when DATA/dkim cannot be read. */
int dkim_keys_list(const char *data_dir,
		   void (*cb)(void *ctx, const struct dkim_key_entry *entry), void *ctx,
		   char **error_r);

/* The server's cache of keys (thread-safe). */
struct dkim_keys;
struct dkim_keys *dkim_keys_new(const char *data_dir);
void dkim_keys_free(struct dkim_keys **keys);

/* A key that signs, with its selector. */
struct dkim_signing_key {
	struct dkim_key *key;      /* a reference: dkim_key_unref it */
	char selector[DKIM_SELECTOR_MAX + 1];
};
/* The keys that sign for `domain` (lower case): at most one per
 * algorithm, in the order of enum dkim_algorithm. Returns how many
 * (0: none, the domain has no keys), or -1 with a malloc'd *error_r when
 * a key file of the domain cannot be read (the mail should wait: it
 * would go out unsigned). */
int dkim_keys_find(struct dkim_keys *keys, const char *domain,
		   struct dkim_signing_key out[DKIM_ALGORITHM__COUNT], char **error_r);

#endif
