/* test-hub - the change hub: matching watches get changes, removed ones
 * never again, exactly the right ones among many; the store reports its
 * changes, after its handle is free again (a watcher may use the account
 * it is told about). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/hub.h"
#include "store/store.h"
#include "store-ref.h"

struct seen {
	int calls;
	enum hub_change_kind kind;
	char mailbox[64];
	uint64_t modseq;
};

static void on_change(void *arg, const struct hub_change *change)
{
	struct seen *s = arg;

	s->calls++;
	s->kind = change->kind;
	snprintf(s->mailbox, sizeof(s->mailbox), "%s", change->mailbox != NULL ? change->mailbox : "");
	s->modseq = change->modseq;
}

static void test_hub_match(void **state)
{
	struct seen all = { 0 }, inbox = { 0 }, other = { 0 };
	struct hub_watch *w1 = hub_watch_add("a@example.org", 0, NULL, on_change, &all);
	struct hub_watch *w2 = hub_watch_add("a@example.org", 1, NULL, on_change, &inbox);
	struct hub_watch *w3 = hub_watch_add("b@example.org", 0, NULL, on_change, &other);
	struct hub_change c = { .address = "a@example.org", .mailbox = "INBOX", .mailbox_id = 1,
				.kind = HUB_CHANGE_APPEND, .modseq = 7 };

	(void)state;
	hub_notify(&c);
	assert_int_equal(all.calls, 1);
	assert_int_equal(inbox.calls, 1);
	assert_int_equal(inbox.modseq, 7);
	assert_int_equal(other.calls, 0);
	c.mailbox = "Sent";
	c.mailbox_id = 3;
	c.kind = HUB_CHANGE_FLAGS;
	hub_notify(&c);
	assert_int_equal(all.calls, 2);
	assert_int_equal(all.kind, HUB_CHANGE_FLAGS);
	assert_string_equal(all.mailbox, "Sent");
	assert_int_equal(inbox.calls, 1);
	hub_watch_remove(&w1);
	assert_null(w1);
	hub_notify(&c);
	assert_int_equal(all.calls, 2);
	hub_watch_remove(&w2);
	hub_watch_remove(&w3);
	hub_watch_remove(&w3);
}

/* 1,000 accounts, 3 watched mailboxes each with 3 watches, and one
 * account-wide watch each: a change reaches exactly the watches of its
 * mailbox and its account's account-wide one; create/delete/rename all
 * of the account's; none of any other account's. */
#define MANY_ACCOUNTS 1000
#define MANY_BOXES 3
#define MANY_PER_BOX 3

struct many {
	struct hub_watch *box[MANY_ACCOUNTS][MANY_BOXES][MANY_PER_BOX];
	struct hub_watch *all[MANY_ACCOUNTS];
	int box_calls[MANY_ACCOUNTS][MANY_BOXES][MANY_PER_BOX];
	int all_calls[MANY_ACCOUNTS];
};

static void on_count(void *arg, const struct hub_change *change)
{
	(void)change;
	(*(int *)arg)++;
}

static int many_total(const struct many *m)
{
	int n = 0;

	for (int a = 0; a < MANY_ACCOUNTS; a++) {
		n += m->all_calls[a];
		for (int b = 0; b < MANY_BOXES; b++)
			for (int k = 0; k < MANY_PER_BOX; k++)
				n += m->box_calls[a][b][k];
	}
	return n;
}

static void test_hub_many_watchers_exact(void **state)
{
	struct many *m = calloc(1, sizeof(*m));
	char address[64];
	struct hub_change c = { .mailbox = "INBOX", .kind = HUB_CHANGE_APPEND, .modseq = 9 };

	(void)state;
	assert_non_null(m);
	for (int a = 0; a < MANY_ACCOUNTS; a++) {
		snprintf(address, sizeof(address), "idle%d@example.org", a);
		for (int b = 0; b < MANY_BOXES; b++)
			for (int k = 0; k < MANY_PER_BOX; k++)
				m->box[a][b][k] = hub_watch_add(address, b + 1, NULL, on_count,
								&m->box_calls[a][b][k]);
		m->all[a] = hub_watch_add(address, 0, NULL, on_count, &m->all_calls[a]);
	}
	/* one delivery to account 500's mailbox 2, its address in another case */
	c.address = "IDLE500@Example.ORG";
	c.mailbox_id = 2;
	assert_int_equal(hub_notify(&c), MANY_PER_BOX + 1);
	for (int k = 0; k < MANY_PER_BOX; k++)
		assert_int_equal(m->box_calls[500][1][k], 1);
	assert_int_equal(m->all_calls[500], 1);
	assert_int_equal(many_total(m), MANY_PER_BOX + 1);
	/* a mailbox nobody watches: only the account-wide watch */
	c.mailbox_id = 77;
	assert_int_equal(hub_notify(&c), 1);
	assert_int_equal(m->all_calls[500], 2);
	/* a rename reaches every watch of the account, no other */
	c.address = "idle7@example.org";
	c.mailbox_id = 3;
	c.kind = HUB_CHANGE_MAILBOX;
	assert_int_equal(hub_notify(&c), MANY_BOXES * MANY_PER_BOX + 1);
	assert_int_equal(many_total(m), MANY_PER_BOX + 2 + MANY_BOXES * MANY_PER_BOX + 1);
	/* an account nobody watches */
	c.address = "nobody@example.org";
	assert_int_equal(hub_notify(&c), 0);
	/* removed watches get nothing; the others of their mailbox still do */
	hub_watch_remove(&m->box[500][1][0]);
	hub_watch_remove(&m->box[500][1][2]);
	memset(m->box_calls, 0, sizeof(m->box_calls));
	memset(m->all_calls, 0, sizeof(m->all_calls));
	c.address = "idle500@example.org";
	c.mailbox_id = 2;
	c.kind = HUB_CHANGE_FLAGS;
	assert_int_equal(hub_notify(&c), 2);
	assert_int_equal(m->box_calls[500][1][1], 1);
	assert_int_equal(many_total(m), 2);
	/* every watch gone: nothing is reached, nothing is left */
	for (int a = 0; a < MANY_ACCOUNTS; a++) {
		for (int b = 0; b < MANY_BOXES; b++)
			for (int k = 0; k < MANY_PER_BOX; k++)
				hub_watch_remove(&m->box[a][b][k]);
		hub_watch_remove(&m->all[a]);
	}
	assert_int_equal(hub_notify(&c), 0);
	c.address = "idle999@example.org";
	c.kind = HUB_CHANGE_MAILBOX;
	assert_int_equal(hub_notify(&c), 0);
	/* and the index takes new watches again */
	m->all[0] = hub_watch_add("idle500@example.org", 2, NULL, on_count, &m->all_calls[0]);
	c.address = "idle500@example.org";
	c.kind = HUB_CHANGE_APPEND;
	assert_int_equal(hub_notify(&c), 1);
	hub_watch_remove(&m->all[0]);
	free(m);
}

static void test_hub_store(void **state)
{
	char dir[] = "/tmp/tern-test-hub-XXXXXX";
	struct seen s = { 0 };
	struct store_account *acct;
	struct hub_watch *w;
	uint32_t uid;
	char cmd[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, "u@example.org", &acct), STORE_OK);
	w = hub_watch_add("U@Example.org", TREF(acct, "INBOX")->id, NULL, on_change, &s);
	assert_int_equal(store_append(acct, "INBOX", "x\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.kind, HUB_CHANGE_APPEND);
	assert_int_equal(store_flags_update(acct, TREF(acct, "INBOX"), &uid, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.kind, HUB_CHANGE_FLAGS);
	assert_int_equal(store_expunge(acct, TREF(acct, "INBOX"), &uid, 1), STORE_OK);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.kind, HUB_CHANGE_EXPUNGE);
	assert_int_equal(store_mailbox_create(acct, "New", STORE_SPECIAL_NONE), STORE_OK);
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.kind, HUB_CHANGE_MAILBOX);
	/* a change elsewhere is not seen */
	assert_int_equal(store_append(acct, "Sent", "x\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(s.calls, 4);
	/* the mailbox as typed ("inbox") still reaches a watch on INBOX */
	assert_int_equal(store_append(acct, "inbox", "x\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	assert_int_equal(s.calls, 5);
	assert_string_equal(s.mailbox, "INBOX");
	assert_int_equal(store_flags_update(acct, TREF(acct, "Inbox"), &uid, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(s.calls, 6);
	assert_int_equal(store_expunge(acct, TREF(acct, "inBox"), &uid, 1), STORE_OK);
	assert_int_equal(s.calls, 7);
	hub_watch_remove(&w);
	store_close(&acct);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A watcher called at once reads the mailbox it was told about, through
 * the very handle that made the change: the store tells the hub only
 * after it let go of the handle's mutex (else this would deadlock). */
struct reader {
	struct store_account *acct;
	uint32_t messages;
	int calls;
};

static void on_change_read(void *arg, const struct hub_change *change)
{
	struct reader *r = arg;
	struct store_mailbox box;

	r->calls++;
	assert_int_equal(store_mailbox_get(r->acct, change->mailbox, &box), STORE_OK);
	r->messages = box.messages;
	store_mailbox_free(&box);
}

static void test_watcher_uses_the_store(void **state)
{
	char dir[] = "/tmp/tern-test-hub-XXXXXX";
	struct store_root *root;
	struct reader r = { 0 };
	struct hub_watch *w;
	char cmd[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_root_open(dir, &root), STORE_OK);
	assert_int_equal(store_account_get(root, "w@example.org", &r.acct), STORE_OK);
	w = hub_watch_add("w@example.org", TREF(r.acct, "INBOX")->id, NULL, on_change_read, &r);
	assert_int_equal(store_append(r.acct, "INBOX", "x\r\n", 3, 0, NULL, 0, NULL), STORE_OK);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.messages, 1);
	hub_watch_remove(&w);
	store_account_put(&r.acct);
	store_root_close(&root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_match),
		cmocka_unit_test(test_hub_many_watchers_exact),
		cmocka_unit_test(test_hub_store),
		cmocka_unit_test(test_watcher_uses_the_store),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
