/* store-ref - for the unit tests of the store: the ref
 * (store_mailbox_ref) of a mailbox named as the tests name it (a missing
 * mailbox gives the ref { 0, 0 }, which every call answers with
 * STORE_ERR_GONE), and the SQL that takes an index.db back to schema 3,
 * for the tests of older schemas. */
#ifndef TERN_TESTS_STORE_REF_H
#define TERN_TESTS_STORE_REF_H

#include "store/store.h"

static inline struct store_mailbox_ref test_ref(struct store_account *acct, const char *name)
{
	struct store_mailbox_ref ref = { 0, 0 };
	struct store_mailbox box;

	if (store_mailbox_get(acct, name, &box) == STORE_OK) {
		ref.id = box.id;
		ref.uidvalidity = box.uidvalidity;
		store_mailbox_free(&box);
	}
	return ref;
}

/* A pointer to the ref of a mailbox, valid in the enclosing block. */
#define TREF(acct, name) (&(struct store_mailbox_ref[1]){ test_ref((acct), (name)) }[0])

/* Undo schema.c's v7 (run on a closed index.db, then set user_version). */
#define TEST_SCHEMA_UNDO_V7 "DELETE FROM meta WHERE key = 'incarnation';"
/* Undo schema.c's v6 and v7. */
#define TEST_SCHEMA_UNDO_V6 \
	TEST_SCHEMA_UNDO_V7 " DROP TABLE structures;" \
	" CREATE TABLE structures(file_id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
/* Undo schema.c's v5, v6 and v7. */
#define TEST_SCHEMA_UNDO_V5 \
	TEST_SCHEMA_UNDO_V6 " ALTER TABLE expunged DROP COLUMN expunged_at;" \
	" ALTER TABLE mailboxes DROP COLUMN pruned_modseq;"
/* Undo schema.c's v4 to v7. */
#define TEST_SCHEMA_UNDO_V4 \
	TEST_SCHEMA_UNDO_V5 " DROP TRIGGER messages_count_insert; DROP TRIGGER messages_count_delete;" \
	" DROP TRIGGER messages_count_update; DROP TRIGGER files_structure_delete;" \
	" DROP TRIGGER mailboxes_delete; DROP INDEX messages_modseq; DROP INDEX expunged_modseq;" \
	" DROP TABLE structures; DROP TABLE mailbox_keywords;" \
	" ALTER TABLE mailboxes ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 0;" \
	" UPDATE mailboxes SET subscribed = name IN (SELECT name FROM subscriptions);" \
	" DROP TABLE subscriptions; ALTER TABLE mailboxes DROP COLUMN messages;" \
	" ALTER TABLE mailboxes DROP COLUMN unseen; ALTER TABLE mailboxes DROP COLUMN deleted;" \
	" ALTER TABLE mailboxes DROP COLUMN size; ALTER TABLE mailboxes DROP COLUMN recent_uid;"

#endif
