/* test-queue-envelope - the queue's envelope record: what is written
 * parses back to the same envelope (every field, odd bytes, the null
 * sender, many recipients), the text is the documented one, and broken
 * records (every prefix of a good one, each rule broken once, the
 * bounds) are refused with a reason, never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "queue/queue-envelope.h"

static const char t_id[] = "ABCDEFGHIJKLMN23";

static void assert_same_envelope(const struct queue_envelope *a, const struct queue_envelope *b)
{
	assert_string_equal(a->sender, b->sender);
	if (a->envid == NULL || b->envid == NULL)
		assert_ptr_equal(a->envid, b->envid);
	else
		assert_string_equal(a->envid, b->envid);
	if (a->auth_user == NULL || b->auth_user == NULL)
		assert_ptr_equal(a->auth_user, b->auth_user);
	else
		assert_string_equal(a->auth_user, b->auth_user);
	assert_int_equal(a->ret, b->ret);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_int_equal(a->eightbit, b->eightbit);
	assert_string_equal(a->client_ip, b->client_ip);
	assert_string_equal(a->helo, b->helo);
	assert_int_equal(a->n_rcpts, b->n_rcpts);
	for (size_t i = 0; i < a->n_rcpts; i++) {
		assert_string_equal(a->rcpts[i].address, b->rcpts[i].address);
		assert_int_equal(a->rcpts[i].local, b->rcpts[i].local);
		assert_int_equal(a->rcpts[i].notify, b->rcpts[i].notify);
		if (a->rcpts[i].orcpt == NULL || b->rcpts[i].orcpt == NULL)
			assert_ptr_equal(a->rcpts[i].orcpt, b->rcpts[i].orcpt);
		else
			assert_string_equal(a->rcpts[i].orcpt, b->rcpts[i].orcpt);
	}
}

/* Format rec, parse it back: the same record, and the same text again. */
static void round_trip(const struct queue_record *rec)
{
	struct queue_record back;
	const char *error = NULL;
	size_t len, len2;
	char *text = queue_record_format(rec, &len), *text2;

	assert_int_equal(queue_record_parse(text, len, &back, &error), 0);
	assert_null(error);
	assert_string_equal(back.id, rec->id);
	assert_int_equal(back.arrival, rec->arrival);
	assert_int_equal(back.size, rec->size);
	assert_same_envelope(&back.env, &rec->env);
	text2 = queue_record_format(&back, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(text2, text, len);
	free(text2);
	free(text);
	queue_record_free(&back);
}

static void test_round_trip(void **state)
{
	const struct queue_rcpt rcpts[] = {
		{ .address = "bob@example.org", .local = true },
		{ .address = "\"odd person\"@example.net", .orcpt = "rfc822;Odd%Person@example.net",
		  .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY },
		{ .address = "j\xc3\xb8rn@b\xc3\xa6r.example", .notify = QUEUE_NOTIFY_NEVER },
	};
	const struct queue_envelope env = {
		.sender = "alice+tag@example.org",
		.rcpts = rcpts,
		.n_rcpts = 3,
		.envid = "QQ 314159 %",
		.ret = QUEUE_RET_HDRS,
		.smtputf8 = true,
		.eightbit = true,
		.auth_user = "alice@example.org",
		.client_ip = "2001:db8::1",
		.helo = "client.example.org",
	};
	const struct queue_envelope null_sender = {
		.sender = "",
		.rcpts = rcpts,
		.n_rcpts = 1,
		.client_ip = "",
		.helo = "",
	};
	struct queue_record rec;

	(void)state;
	queue_record_init(&rec, t_id, 1700000000, 4242, &env);
	round_trip(&rec);
	queue_record_free(&rec);
	queue_record_init(&rec, t_id, 0, 0, &null_sender);
	round_trip(&rec);
	queue_record_free(&rec);
}

static void test_text(void **state)
{
	const struct queue_rcpt rcpts[] = {
		{ .address = "bob@example.org", .local = true },
		{ .address = "c d@example.net", .orcpt = "rfc822;c d@example.net", .notify = 6 },
	};
	const struct queue_envelope env = {
		.sender = "",
		.rcpts = rcpts,
		.n_rcpts = 2,
		.ret = QUEUE_RET_FULL,
		.eightbit = true,
		.client_ip = "192.0.2.7",
		.helo = "h\xc3\xa9",
	};
	const char expect[] =
		"tern-envelope 1\n"
		"id ABCDEFGHIJKLMN23\n"
		"arrival 1700000000\n"
		"size 12\n"
		"sender\n"
		"ret full\n"
		"8bitmime\n"
		"client 192.0.2.7\n"
		"helo h%C3%A9\n"
		"rcpt local 0 bob@example.org\n"
		"rcpt remote 6 c%20d@example.net rfc822;c%20d@example.net\n"
		"end\n";
	struct queue_record rec;
	size_t len;
	char *text;

	(void)state;
	queue_record_init(&rec, t_id, 1700000000, 12, &env);
	text = queue_record_format(&rec, &len);
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(text, expect, len);
	free(text);
	queue_record_free(&rec);
}

static const char t_good[] =
	"tern-envelope 1\n"
	"id ABCDEFGHIJKLMN23\n"
	"arrival 5\n"
	"size 12\n"
	"sender a@b\n"
	"client\n"
	"helo x\n"
	"rcpt local 0 bob@example.org\n"
	"end\n";

static void expect_broken(const char *text, size_t len)
{
	struct queue_record rec;
	const char *error = NULL;

	assert_int_equal(queue_record_parse(text, len, &rec, &error), -1);
	assert_non_null(error);
	assert_null(rec.strings);
	assert_null(rec.rcpts);
}

static void test_prefixes(void **state)
{
	struct queue_record rec;
	const char *error;

	(void)state;
	assert_int_equal(queue_record_parse(t_good, strlen(t_good), &rec, &error), 0);
	queue_record_free(&rec);
	for (size_t len = 0; len < strlen(t_good); len++)
		expect_broken(t_good, len);
}

/* t_good with the line starting `what` replaced by `with` ("" drops it). */
static char *t_variant(const char *what, const char *with)
{
	const char *at = strstr(t_good, what);
	const char *eol;
	char *out;

	assert_non_null(at);
	eol = strchr(at, '\n') + 1;
	if (asprintf(&out, "%.*s%s%s", (int)(at - t_good), t_good, with, eol) < 0)
		abort();
	return out;
}

static void test_broken(void **state)
{
	static const struct {
		const char *line, *with;
	} cases[] = {
		{ "tern-envelope", "tern-envelope 2\n" },
		{ "tern-envelope", "" },
		{ "id ", "" },
		{ "id ", "id abcdefghijklmn23\n" },
		{ "id ", "id ABCDEFGHIJKLMN2\n" },
		{ "id ", "id ABCDEFGHIJKLMN230\n" },
		{ "id ", "id ABCDEFGHIJKLMN18\n" },
		{ "id ", "id ABCDEFGHIJKLMN23\nid ABCDEFGHIJKLMN23\n" },
		{ "arrival", "arrival 05\n" },
		{ "arrival", "arrival -5\n" },
		{ "arrival", "arrival 9223372036854775808\n" },
		{ "arrival", "arrival\n" },
		{ "size", "size 18446744073709551616\n" },
		{ "size", "size 1 2\n" },
		{ "size", "" },
		{ "sender", "" },
		{ "sender", "sender a@b c\n" },
		{ "sender", "sender a%0D%0Ab\n" },
		{ "sender", "sender a%0d\n" },
		{ "sender", "sender a%41\n" },
		{ "sender", "sender a%00b\n" },
		{ "sender", "sender a%2\n" },
		{ "sender", "sender a%zz\n" },
		{ "sender", "sender a\x7f\n" },
		{ "sender", "sender a\xc3\xa9\n" },
		{ "sender", "sender a@b \n" },
		{ "sender", "sender  a@b\n" },
		{ "sender", "sender a@b\r\n" },
		{ "client", "" },
		{ "client", "client\nclient\n" },
		{ "helo", "" },
		{ "helo", "helo x\nsmtputf8 yes\n" },
		{ "helo", "helo x\nret some\n" },
		{ "helo", "helo x\nenvid\n" },
		{ "helo", "helo x\nunknown 1\n" },
		{ "helo", "helo x\n\n" },
		{ "helo", "helo x\n end\n" },
		{ "rcpt", "" },
		{ "rcpt", "rcpt own 0 bob@example.org\n" },
		{ "rcpt", "rcpt local 16 bob@example.org\n" },
		{ "rcpt", "rcpt local 01 bob@example.org\n" },
		{ "rcpt", "rcpt local x bob@example.org\n" },
		{ "rcpt", "rcpt local 0\n" },
		{ "rcpt", "rcpt local 0 bob@example.org o r\n" },
		{ "end", "end\nend\n" },
		{ "end", "end\nx" },
		{ "end", "end" },
		{ "end", "END\n" },
	};
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = t_variant(cases[i].line, cases[i].with);
		expect_broken(text, strlen(text));
		free(text);
	}
	/* a NUL inside */
	text = t_variant("helo", "helo x\n");
	text[strlen(text) - 6] = '\0';
	expect_broken(text, strlen(text) + 1 + 5);
	free(text);
}

/* A value of exactly QUEUE_FIELD_MAX octets passes, one more does not;
 * and so for the recipients and the whole record. */
static void test_bounds(void **state)
{
	char *value = malloc(QUEUE_FIELD_MAX + 2), *text;
	struct queue_rcpt *rcpts;
	struct queue_envelope env = { .sender = "", .client_ip = "", .helo = "" };
	struct queue_record rec;
	const char *error;
	struct buf b;
	size_t len;

	(void)state;
	memset(value, 'a', QUEUE_FIELD_MAX + 1);
	value[QUEUE_FIELD_MAX] = '\0';
	rcpts = calloc(QUEUE_RCPTS_MAX + 1, sizeof(*rcpts));
	assert_non_null(rcpts);
	for (size_t i = 0; i <= QUEUE_RCPTS_MAX; i++)
		rcpts[i].address = "someone.with.a.long.name@example.org";
	env.rcpts = rcpts;
	env.n_rcpts = 1;
	env.helo = value;
	assert_null(queue_envelope_check(&env));
	queue_record_init(&rec, t_id, 1, 1, &env);
	round_trip(&rec);
	queue_record_free(&rec);
	value[QUEUE_FIELD_MAX] = 'a';
	value[QUEUE_FIELD_MAX + 1] = '\0';
	assert_non_null(queue_envelope_check(&env));
	if (asprintf(&text, "tern-envelope 1\nid %s\narrival 1\nsize 1\nsender\nclient\nhelo %s\n"
		     "rcpt local 0 a@b\nend\n", t_id, value) < 0)
		abort();
	expect_broken(text, strlen(text));
	free(text);
	/* a value escaped to three times its size is still one value */
	memset(value, ' ', QUEUE_FIELD_MAX);
	value[QUEUE_FIELD_MAX] = '\0';
	assert_null(queue_envelope_check(&env));
	queue_record_init(&rec, t_id, 1, 1, &env);
	round_trip(&rec);
	queue_record_free(&rec);
	env.helo = "x";

	env.n_rcpts = QUEUE_RCPTS_MAX;
	assert_null(queue_envelope_check(&env));
	queue_record_init(&rec, t_id, 1, 1, &env);
	text = queue_record_format(&rec, &len);
	assert_true(len <= QUEUE_ENVELOPE_MAX);
	queue_record_free(&rec);
	assert_int_equal(queue_record_parse(text, len, &rec, &error), 0);
	assert_int_equal(rec.env.n_rcpts, QUEUE_RCPTS_MAX);
	queue_record_free(&rec);
	/* one recipient more */
	buf_init(&b, 0);
	buf_append(&b, text, len - 4);
	buf_append_str(&b, "rcpt local 0 a@b\nend\n");
	expect_broken(b.data, b.len);
	buf_release(&b);
	free(text);
	env.n_rcpts = QUEUE_RCPTS_MAX + 1;
	assert_non_null(queue_envelope_check(&env));
	env.n_rcpts = 0;
	assert_non_null(queue_envelope_check(&env));

	/* too big as a whole, before anything is read */
	text = calloc(1, (size_t)QUEUE_ENVELOPE_MAX + 1);
	assert_non_null(text);
	expect_broken(text, (size_t)QUEUE_ENVELOPE_MAX + 1);
	free(text);
	free(rcpts);
	free(value);
}

static void test_check(void **state)
{
	struct queue_rcpt rcpt = { .address = "a@b" };
	struct queue_envelope env = { .sender = "x\ry", .rcpts = &rcpt, .n_rcpts = 1 };

	(void)state;
	assert_non_null(queue_envelope_check(&env));
	env.sender = "x@y";
	assert_null(queue_envelope_check(&env));
	rcpt.address = "";
	assert_non_null(queue_envelope_check(&env));
	rcpt.address = "a@b";
	rcpt.notify = 1u << 4;
	assert_non_null(queue_envelope_check(&env));
	rcpt.notify = 0;
	env.ret = (enum queue_ret)7;
	assert_non_null(queue_envelope_check(&env));
	assert_true(queue_id_valid(t_id, strlen(t_id)));
	assert_false(queue_id_valid("ABCDEFGHIJKLMN2", 15));
	assert_false(queue_id_valid("ABCDEFGHIJKLMN21", 16));
	assert_false(queue_id_valid("../../etc/passwd", 16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
