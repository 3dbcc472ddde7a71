/* test-store-changed - changes another process commits, forwarded to the
 * running server's hub (root-control.h): the CHANGE argument written and
 * read back, broken arguments refused, and a store opened outside a root
 * (tern import) reaching a watch through a real control socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/root-control.h"
#include "store/store.h"
#include "store-ref.h"
#include "tmpdir.h"

static void test_change_round_trip(void **state)
{
	char arg[CONTROL_ARG_MAX + 1], address[CONTROL_ARG_MAX + 1], longest[255];
	struct hub_change in = { .address = "a,b@example.org", .mailbox = "INBOX",
				 .mailbox_id = 12, .uidvalidity = 4294967295u,
				 .kind = HUB_CHANGE_EXPUNGE, .modseq = 9007199254740993ull };
	struct hub_change out;

	(void)state;
	assert_true(store_change_format(&in, arg, sizeof(arg)));
	assert_string_equal(arg, "expunge,12,4294967295,9007199254740993,a,b@example.org");
	assert_true(store_change_parse(arg, &out, address));
	assert_int_equal(out.kind, HUB_CHANGE_EXPUNGE);
	assert_int_equal(out.mailbox_id, 12);
	assert_int_equal(out.uidvalidity, 4294967295u);
	assert_true(out.modseq == 9007199254740993ull);
	assert_string_equal(out.address, "a,b@example.org");
	assert_null(out.mailbox);
	/* every kind */
	for (int k = 0; k < HUB_CHANGE__COUNT; k++) {
		in.kind = (enum hub_change_kind)k;
		assert_true(store_change_format(&in, arg, sizeof(arg)));
		assert_true(store_change_parse(arg, &out, address));
		assert_int_equal(out.kind, k);
	}
	/* the longest address fits in a request */
	memset(longest, 'x', 254);
	longest[254] = '\0';
	longest[100] = '@';
	in.address = longest;
	assert_true(store_change_format(&in, arg, sizeof(arg)));
	assert_true(store_change_parse(arg, &out, address));
	assert_string_equal(out.address, longest);
	/* what a request cannot carry: nothing to send */
	in.address = "with space@example.org";
	assert_false(store_change_format(&in, arg, sizeof(arg)));
	in.address = "j\xc3\xbcrgen@example.org";
	assert_false(store_change_format(&in, arg, sizeof(arg)));
	in.address = "";
	assert_false(store_change_format(&in, arg, sizeof(arg)));
	in.address = "u@example.org";
	in.kind = HUB_CHANGE__COUNT;
	assert_false(store_change_format(&in, arg, sizeof(arg)));
	in.kind = HUB_CHANGE_APPEND;
	in.mailbox_id = -1;
	assert_false(store_change_format(&in, arg, sizeof(arg)));
	/* too small an output */
	in.mailbox_id = 1;
	assert_false(store_change_format(&in, arg, 10));
}

static void test_change_parse_broken(void **state)
{
	static const char *const bad[] = {
		"", "append", "append,", "append,1", "append,1,2", "append,1,2,3",
		"append,1,2,3,",                     /* no address */
		"Append,1,2,3,u@x", "appendx,1,2,3,u@x", "app,1,2,3,u@x", ",1,2,3,u@x",
		"append,,2,3,u@x", "append,1,,3,u@x", "append,1,2,,u@x",
		"append,-1,2,3,u@x", "append,+1,2,3,u@x", "append, 1,2,3,u@x",
		"append,1x,2,3,u@x", "append,1,4294967296,3,u@x",          /* UIDVALIDITY > 32 bits */
		"append,9223372036854775808,2,3,u@x",                        /* id > INT64_MAX */
		"append,1,2,99999999999999999999,u@x",                       /* overflow */
	};
	char address[CONTROL_ARG_MAX + 1];
	struct hub_change out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_change_parse(bad[i], &out, address))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(out.address);
	}
	/* leading zeros are numbers too */
	assert_true(store_change_parse("flags,007,0,0,u@x", &out, address));
	assert_int_equal(out.mailbox_id, 7);
}

struct seen {
	int forwarded;       /* changes without a name: from the control socket */
	int local;
	enum hub_change_kind kind;
	uint64_t modseq;
};

static void on_change(void *arg, const struct hub_change *change)
{
	struct seen *s = arg;

	if (change->mailbox == NULL) {
		s->forwarded++;
		s->kind = change->kind;
		s->modseq = change->modseq;
	} else {
		s->local++;
	}
}

static void test_store_forwards_to_server(void **state)
{
	char *dir = tmpdir_new("changed");
	const struct control_table table = { store_control_commands, store_control_commands_n, NULL };
	struct store_mailbox_ref ref;
	struct store_account *acct;
	struct control *control = NULL;
	struct hub_watch *w;
	struct seen s = { 0 };
	char *error = NULL, *text = NULL;
	uint32_t uid;

	(void)state;
	/* no server yet: the change goes nowhere, the append is fine */
	assert_int_equal(store_open(dir, "u@example.org", &acct), STORE_OK);
	assert_int_equal(store_append(acct, "INBOX", "x\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	ref = test_ref(acct, "INBOX");
	assert_true(ref.id > 0);
	w = hub_watch_add("u@example.org", ref.id, NULL, on_change, &s);
	assert_int_equal(control_open_tables(dir, &table, 1, &control, &error), 0);
	/* the "server" (this process's control thread) hears of it before
	 * the call returns: the request is answered after hub_notify */
	assert_int_equal(store_append(acct, "INBOX", "y\r\n", 3, 0, NULL, 0, &uid), STORE_OK);
	assert_int_equal(s.local, 1);
	assert_int_equal(s.forwarded, 1);
	assert_int_equal(s.kind, HUB_CHANGE_APPEND);
	assert_int_equal(store_flags_update(acct, &ref, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, NULL, NULL), STORE_OK);
	assert_int_equal(s.forwarded, 2);
	assert_int_equal(s.kind, HUB_CHANGE_FLAGS);
	assert_true(s.modseq > 1);
	/* a broken request is refused, and wakes nobody */
	assert_int_equal(control_call(dir, STORE_CHANGED_VERB " append,1,2", &text),
			 CONTROL_CALL_REFUSED);
	free(text);
	assert_int_equal(s.forwarded, 2);
	hub_watch_remove(&w);
	control_close(&control);
	store_close(&acct);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change_round_trip),
		cmocka_unit_test(test_change_parse_broken),
		cmocka_unit_test(test_store_forwards_to_server),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
