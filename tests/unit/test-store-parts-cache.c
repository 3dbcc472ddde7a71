/* test-store-parts-cache - the structure parts an account handle keeps in
 * memory (src/store/parts-cache.c): found by (mailbox, UIDVALIDITY, UID)
 * with every part asked for, replaced and forgotten (linear probing keeps
 * finding the rest of a run), grown, and bounded: past the handle's bound
 * nothing more is kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/store-private.h"

#define BS (1u << STORE_STRUCTURE_BODYSTRUCTURE)
#define ENV (1u << STORE_STRUCTURE_ENVELOPE)

static void put(struct store_parts_cache **c, int64_t box, uint32_t uidvalidity, uint32_t uid,
		unsigned mask, const char *text)
{
	struct store_blob parts[STORE_STRUCTURE__COUNT] = { 0 };

	for (int p = 0; p < STORE_STRUCTURE__COUNT; p++)
		if (mask & (1u << p))
			parts[p] = (struct store_blob){ text, strlen(text) };
	store_parts_cache_put(c, box, uidvalidity, uid, mask, parts);
}

/* The part p of (box, uid) when held with `mask`, else NULL. */
static const char *get(struct store_parts_cache *c, int64_t box, uint32_t uidvalidity,
		       uint32_t uid, unsigned mask, int p, char *out, size_t size)
{
	struct store_blob parts[STORE_STRUCTURE__COUNT];

	if (!store_parts_cache_get(c, box, uidvalidity, uid, mask, parts))
		return NULL;
	for (int q = 0; q < STORE_STRUCTURE__COUNT; q++)
		if (!(mask & (1u << q)))
			assert_null(parts[q].data);
	snprintf(out, size, "%.*s", (int)parts[p].len, (const char *)parts[p].data);
	return out;
}

static void test_found_replaced_forgotten(void **state)
{
	struct store_parts_cache *c = NULL;
	char text[64], buf[64];

	(void)state;
	assert_false(store_parts_cache_get(NULL, 1, 7, 1, BS, NULL));
	store_parts_cache_forget(NULL, 1, 1);
	put(&c, 1, 7, 1, BS | ENV, "one");
	assert_non_null(c);
	assert_string_equal(get(c, 1, 7, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)), "one");
	assert_string_equal(get(c, 1, 7, 1, BS | ENV, STORE_STRUCTURE_ENVELOPE, buf, sizeof(buf)), "one");
	/* a part not held, another UIDVALIDITY, mailbox or UID: not found */
	assert_null(get(c, 1, 7, 1, BS | 1u << STORE_STRUCTURE_TREE, 0, buf, sizeof(buf)));
	assert_null(get(c, 1, 8, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)));
	assert_null(get(c, 2, 7, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)));
	assert_null(get(c, 1, 7, 2, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)));
	/* replaced: the new parts only */
	put(&c, 1, 7, 1, BS, "uno");
	assert_string_equal(get(c, 1, 7, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)), "uno");
	assert_null(get(c, 1, 7, 1, ENV, STORE_STRUCTURE_ENVELOPE, buf, sizeof(buf)));
	/* many (the table grows; runs of probes form), then every other
	 * forgotten: the rest are all still found */
	for (uint32_t uid = 2; uid < 5000; uid++) {
		snprintf(text, sizeof(text), "m%u", uid);
		put(&c, 1 + uid % 3, 7, uid, BS, text);
	}
	for (uint32_t uid = 2; uid < 5000; uid += 2)
		store_parts_cache_forget(c, 1 + uid % 3, uid);
	for (uint32_t uid = 2; uid < 5000; uid++) {
		const char *got = get(c, 1 + uid % 3, 7, uid, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf,
				      sizeof(buf));

		if (uid % 2 == 0) {
			assert_null(got);
		} else {
			snprintf(text, sizeof(text), "m%u", uid);
			assert_non_null(got);
			assert_string_equal(got, text);
		}
	}
	store_parts_cache_free(&c);
	assert_null(c);
	store_parts_cache_free(&c);
}

static void test_bounded(void **state)
{
	static char big[64 * 1024];
	struct store_parts_cache *c = NULL;
	size_t kept = 0;
	char buf[8];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	for (uint32_t uid = 1; uid <= 2 * STORE_PARTS_CACHE_MAX / sizeof(big); uid++) {
		put(&c, 1, 7, uid, BS, big);
		kept += store_parts_cache_get(c, 1, 7, uid, BS, (struct store_blob[STORE_STRUCTURE__COUNT]){ 0 });
	}
	/* the first ones kept up to the bound, then nothing more */
	assert_true(kept > 0 && kept < STORE_PARTS_CACHE_MAX / sizeof(big));
	assert_non_null(get(c, 1, 7, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)));
	assert_null(get(c, 1, 7, (uint32_t)kept + 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf,
			sizeof(buf)));
	/* freed, the room is there again (the process-wide count too) */
	store_parts_cache_free(&c);
	put(&c, 1, 7, 1, BS, "small");
	assert_string_equal(get(c, 1, 7, 1, BS, STORE_STRUCTURE_BODYSTRUCTURE, buf, sizeof(buf)),
			    "small");
	store_parts_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_replaced_forgotten),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
