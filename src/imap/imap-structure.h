/* imap-structure - a message's MIME structure for the commands that need
 * it (FETCH's ENVELOPE, BODYSTRUCTURE and sections; SEARCH's text keys):
 * from the store's cache, or parsed from the file once and cached
 * (DESIGN.md 5: a message is never parsed twice). Blocking: call it in a
 * job. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_STRUCTURE_H
#define TERN_IMAP_IMAP_STRUCTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mail/mail-mime.h"
#include "store/store.h"

/* The structure of message `uid` (of `size` octets, which a cached blob
 * must match). When the file must be read, *reader is opened (unless
 * open already) and left open for the caller, who closes it; `scratch`
 * (scratch_len bytes) is read into. Returns STORE_OK with *st_r set (free
 * with mail_structure_free), STORE_ERR_NOT_FOUND when the message is gone,
 * or another store error. */
enum store_error imap_structure_load(struct store_account *acct,
				     const struct store_mailbox_ref *ref, uint32_t uid,
				     uint64_t size, struct store_reader **reader, char *scratch,
				     size_t scratch_len, struct mail_structure **st_r);
/* The same with the cache already read (SEARCH's scan reads the trees
 * of its batch in one statement): `cached` (len bytes) is the message's
 * tree, NULL when none is cached (or to parse the message again). */
enum store_error imap_structure_load_cached(struct store_account *acct,
					    const struct store_mailbox_ref *ref, uint32_t uid,
					    uint64_t size, const void *cached, size_t cached_len,
					    struct store_reader **reader, char *scratch,
					    size_t scratch_len, struct mail_structure **st_r);

#endif
