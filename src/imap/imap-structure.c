/* imap-structure - a message's MIME structure, cached or parsed once; see
 * imap-structure.h. */
#include "imap/imap-structure.h"

#include <stdlib.h>

#include "core/buf.h"

/* Cache st for the message: the tree, and each string FETCH sends as it
 * is sealed apart (a part of the store's entry each). One the cache
 * cannot hold is parsed again next time. */
static void imap_structure_put(struct store_account *acct, const struct store_mailbox_ref *ref,
			       uint32_t uid, const struct mail_structure *st)
{
	struct buf bufs[STORE_STRUCTURE__COUNT];
	struct store_blob parts[STORE_STRUCTURE__COUNT];
	uint64_t size = mail_structure_size(st);
	int r;

	for (int i = 0; i < STORE_STRUCTURE__COUNT; i++)
		buf_init(&bufs[i], 0);
	r = mail_structure_serialize(st, &bufs[STORE_STRUCTURE_TREE]);
	r |= mail_structure_string_seal(mail_structure_bodystructure(st), size,
					&bufs[STORE_STRUCTURE_BODYSTRUCTURE]);
	r |= mail_structure_string_seal(mail_structure_body(st), size, &bufs[STORE_STRUCTURE_BODY]);
	r |= mail_structure_string_seal(mail_structure_envelope(st), size,
					&bufs[STORE_STRUCTURE_ENVELOPE]);
	for (int i = 0; i < STORE_STRUCTURE__COUNT; i++)
		parts[i] = (struct store_blob){ .data = bufs[i].data, .len = bufs[i].len };
	if (r == 0)
		(void)store_structure_put(acct, ref, uid, parts);   /* too large: INVALID */
	for (int i = 0; i < STORE_STRUCTURE__COUNT; i++)
		buf_release(&bufs[i]);
}

enum store_error imap_structure_load_cached(struct store_account *acct,
					    const struct store_mailbox_ref *ref, uint32_t uid,
					    uint64_t size, const void *cached, size_t cached_len,
					    struct store_reader **reader, char *scratch,
					    size_t scratch_len, struct mail_structure **st_r)
{
	struct mail_mime_parser *p;
	enum store_error err;
	uint64_t off = 0;
	ssize_t got;

	*st_r = NULL;
	if (cached != NULL) {
		*st_r = mail_structure_deserialize(cached, cached_len);
		if (*st_r != NULL && mail_structure_size(*st_r) == size)
			return STORE_OK;
		mail_structure_free(st_r);
	}
	if (*reader == NULL) {
		err = store_reader_open(acct, ref, uid, reader);
		if (err != STORE_OK)
			return err;
	}
	p = mail_mime_parser_new();
	while ((got = store_reader_pread(*reader, scratch, scratch_len, off)) > 0) {
		mail_mime_parser_push(p, scratch, (size_t)got);
		off += (uint64_t)got;
	}
	*st_r = mail_mime_parser_finish(&p);
	if (got < 0) {
		mail_structure_free(st_r);
		return STORE_ERR_IO;
	}
	imap_structure_put(acct, ref, uid, *st_r);
	return STORE_OK;
}

enum store_error imap_structure_load(struct store_account *acct,
				     const struct store_mailbox_ref *ref, uint32_t uid,
				     uint64_t size, struct store_reader **reader, char *scratch,
				     size_t scratch_len, struct mail_structure **st_r)
{
	enum store_error err;
	void *data = NULL;
	size_t len = 0;

	if (store_structure_get(acct, ref, uid, &data, &len) != STORE_OK)
		data = NULL;
	err = imap_structure_load_cached(acct, ref, uid, size, data, len, reader, scratch,
					 scratch_len, st_r);
	free(data);
	return err;
}
