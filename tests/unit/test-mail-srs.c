/* test-mail-srs - SRS rewriting (mail/mail-srs.h): SRS0 and back, SRS1 for
 * another forwarder's address and back to it, the hash compared without
 * case, the age, and broken, forged and oversized addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail-srs.h"

#define DAY 86400
#define NOW ((int64_t)20000 * DAY + 3600)

static struct mail_srs key(unsigned char fill)
{
	struct mail_srs s;

	memset(&s, 0, sizeof(s));
	memset(s.secret, fill, sizeof(s.secret));
	return s;
}

static enum mail_srs_result rev(const struct mail_srs *s, const char *a, int64_t now, char *out)
{
	return mail_srs_reverse(s, a, strlen(a), now, out);
}

static void test_srs0_round_trip(void **state)
{
	struct mail_srs s = key(7);
	char out[MAIL_SRS_ADDRESS_MAX + 1], back[MAIL_SRS_ADDRESS_MAX + 1];
	char hash[7], tt[3];

	(void)state;
	assert_int_equal(mail_srs_forward(&s, "alice=x@origin.example", "fwd.example", NOW, out),
			 MAIL_SRS_OK);
	/* SRS0=HHHHHH=TT=origin.example=alice=x@fwd.example */
	assert_int_equal(strncmp(out, "SRS0=", 5), 0);
	assert_int_equal(sscanf(out, "SRS0=%6[A-Z2-7]=%2[A-Z2-7]=", hash, tt), 2);
	/* day 20000 % 1024 = 544 = 17 * 32 + 0: "RA" */
	assert_string_equal(tt, "RA");
	assert_non_null(strstr(out, "=origin.example=alice=x@fwd.example"));
	assert_int_equal(rev(&s, out, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, "alice=x@origin.example");
	/* a relay that changed the case: still ours */
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	assert_int_equal(rev(&s, out, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, "alice=x@origin.example");
	/* the same day, hour after hour: the same address */
	{
		char again[MAIL_SRS_ADDRESS_MAX + 1], first[MAIL_SRS_ADDRESS_MAX + 1];

		mail_srs_forward(&s, "a@b.example", "fwd.example", NOW, first);
		mail_srs_forward(&s, "a@b.example", "fwd.example", NOW + 3 * 3600, again);
		assert_string_equal(first, again);
	}
	/* mail of the forwarding domain itself is not rewritten */
	assert_int_equal(mail_srs_forward(&s, "bob@FWD.example", "fwd.example", NOW, out),
			 MAIL_SRS_OK);
	assert_string_equal(out, "bob@FWD.example");
}

static void test_age(void **state)
{
	struct mail_srs s = key(1);
	char out[MAIL_SRS_ADDRESS_MAX + 1], back[MAIL_SRS_ADDRESS_MAX + 1];

	(void)state;
	assert_int_equal(mail_srs_forward(&s, "a@b.example", "f.example", NOW, out), MAIL_SRS_OK);
	assert_int_equal(rev(&s, out, NOW + MAIL_SRS_MAX_AGE_DAYS * DAY, back), MAIL_SRS_OK);
	assert_int_equal(rev(&s, out, NOW + (MAIL_SRS_MAX_AGE_DAYS + 1) * DAY, back),
			 MAIL_SRS_EXPIRED);
	/* from the future (a day ahead wraps to an age of 1023 days) */
	assert_int_equal(rev(&s, out, NOW - DAY, back), MAIL_SRS_EXPIRED);
	/* across the timestamp's wrap of 1024 days */
	assert_int_equal(mail_srs_forward(&s, "a@b.example", "f.example", 1023 * DAY, out),
			 MAIL_SRS_OK);
	assert_int_equal(rev(&s, out, 1025 * DAY, back), MAIL_SRS_OK);
	/* a configured maximum */
	s.max_age_days = 1;
	assert_int_equal(rev(&s, out, 1026 * DAY, back), MAIL_SRS_EXPIRED);
}

static void test_srs1(void **state)
{
	struct mail_srs first = key(1), second = key(2), third = key(3);
	char a0[MAIL_SRS_ADDRESS_MAX + 1], a1[MAIL_SRS_ADDRESS_MAX + 1];
	char a2[MAIL_SRS_ADDRESS_MAX + 1], back[MAIL_SRS_ADDRESS_MAX + 1];

	(void)state;
	assert_int_equal(mail_srs_forward(&first, "u@orig.example", "one.example", NOW, a0),
			 MAIL_SRS_OK);
	/* a second forwarder: SRS1 naming the first */
	assert_int_equal(mail_srs_forward(&second, a0, "two.example", NOW, a1), MAIL_SRS_OK);
	assert_int_equal(strncmp(a1, "SRS1=", 5), 0);
	assert_non_null(strstr(a1, "=one.example=="));
	assert_non_null(strstr(a1, "@two.example"));
	/* its bounce goes back to the first forwarder's SRS0 address */
	assert_int_equal(rev(&second, a1, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, a0);
	assert_int_equal(rev(&first, back, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, "u@orig.example");
	/* the first forwarder's key does not open the second's */
	assert_int_equal(rev(&first, a1, NOW, back), MAIL_SRS_BAD_HASH);
	/* a third: SRS1 again, the first forwarder kept, our hash */
	assert_int_equal(mail_srs_forward(&third, a1, "three.example", NOW, a2), MAIL_SRS_OK);
	assert_int_equal(strncmp(a2, "SRS1=", 5), 0);
	assert_non_null(strstr(a2, "=one.example=="));
	assert_int_equal(rev(&third, a2, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, a0);
	assert_int_equal(rev(&second, a2, NOW, back), MAIL_SRS_BAD_HASH);
}

static void test_forged_and_broken(void **state)
{
	struct mail_srs s = key(9);
	char out[MAIL_SRS_ADDRESS_MAX + 1], back[MAIL_SRS_ADDRESS_MAX + 1];
	char forged[MAIL_SRS_ADDRESS_MAX + 1], longer[400];

	(void)state;
	assert_int_equal(mail_srs_forward(&s, "a@b.example", "f.example", NOW, out), MAIL_SRS_OK);
	/* another target under the same hash */
	strcpy(forged, out);
	forged[strlen(forged) - strlen("a@f.example")] = 'z';
	assert_int_equal(rev(&s, forged, NOW, back), MAIL_SRS_BAD_HASH);
	/* a hash of the wrong length */
	assert_int_equal(rev(&s, "SRS0=ABC=RA=b.example=a@f.example", NOW, back), MAIL_SRS_BAD_HASH);
	/* not SRS */
	assert_int_equal(rev(&s, "alice@f.example", NOW, back), MAIL_SRS_NOT_SRS);
	assert_int_equal(rev(&s, "SRS0@f.example", NOW, back), MAIL_SRS_NOT_SRS);
	assert_int_equal(rev(&s, "SRS2=x@f.example", NOW, back), MAIL_SRS_NOT_SRS);
	assert_int_equal(rev(&s, "", NOW, back), MAIL_SRS_NOT_SRS);
	/* broken */
	assert_int_equal(rev(&s, "SRS0=AAAAAA", NOW, back), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(rev(&s, "SRS0=AAAAAA@f.example", NOW, back), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(rev(&s, "SRS0=@f.example", NOW, back), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_reverse(&s, "SRS0=A\0A=x@f", 12, NOW, back),
			 MAIL_SRS_BAD_SYNTAX);
	/* SRS0 data that is broken but carries a valid hash: the syntax is
	 * checked after the hash, so it must be made with our key */
	{
		static const char *const datas[] = { "R=b.example=a", "RA=b.example=",
						     "RA=b.example", "R1=b.example=a",
						     "RA=" "=a" };
		for (size_t i = 0; i < sizeof(datas) / sizeof(datas[0]); i++) {
			/* SRS1 with the data as its rest: its hash, our key */
			char made[MAIL_SRS_ADDRESS_MAX + 1], srs1[MAIL_SRS_ADDRESS_MAX + 1];

			snprintf(made, sizeof(made), "SRS0=XXXXXX=%s@x.example", datas[i]);
			/* forward() of an SRS0 address builds SRS1 with our hash */
			assert_int_equal(mail_srs_forward(&s, made, "f.example", NOW, srs1),
					 MAIL_SRS_OK);
			/* it reverses to the SRS0 address, whose own hash is not ours */
			assert_int_equal(rev(&s, srs1, NOW, back), MAIL_SRS_OK);
			assert_string_equal(back, made);
			assert_int_equal(rev(&s, back, NOW, out), MAIL_SRS_BAD_HASH);
		}
	}
	assert_int_equal(rev(&s, "SRS1=AAAAAA@f.example", NOW, back), MAIL_SRS_BAD_SYNTAX);
	/* forward of what is not an address */
	assert_int_equal(mail_srs_forward(&s, "nobody", "f.example", NOW, out), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_forward(&s, "@b.example", "f.example", NOW, out),
			 MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_forward(&s, "a@", "f.example", NOW, out), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_forward(&s, "a@b", "", NOW, out), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_forward(&s, "a@b=c", "f.example", NOW, out), MAIL_SRS_BAD_SYNTAX);
	assert_int_equal(mail_srs_forward(&s, "a@b", "f=x", NOW, out), MAIL_SRS_BAD_SYNTAX);
	/* a broken SRS1 sender is rewritten as any other address */
	assert_int_equal(mail_srs_forward(&s, "SRS1=nohash@b.example", "f.example", NOW, out),
			 MAIL_SRS_OK);
	assert_int_equal(strncmp(out, "SRS0=", 5), 0);
	assert_int_equal(rev(&s, out, NOW, back), MAIL_SRS_OK);
	assert_string_equal(back, "SRS1=nohash@b.example");
	assert_int_equal(mail_srs_forward(&s, "SRS0=@b.example", "f.example", NOW, out), MAIL_SRS_OK);
	assert_int_equal(strncmp(out, "SRS0=", 5), 0);
	assert_int_equal(mail_srs_forward(&s, "SRS1=ABCDEF=one.example=u@b.example", "f.example",
					  NOW, out), MAIL_SRS_OK);
	assert_int_equal(strncmp(out, "SRS0=", 5), 0);
	/* too long */
	memset(longer, 'l', sizeof(longer));
	strcpy(longer + 240, "@b.example");
	assert_int_equal(mail_srs_forward(&s, longer, "f.example", NOW, out), MAIL_SRS_TOO_LONG);
	strcpy(longer + 300, "@b.example");
	assert_int_equal(mail_srs_forward(&s, longer, "f.example", NOW, out), MAIL_SRS_TOO_LONG);
	memset(longer, 'l', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "SRS0=AAAAAA=RA=", 15);
	memcpy(longer + 300, "@b", 2);
	assert_int_equal(rev(&s, longer, NOW, back), MAIL_SRS_BAD_SYNTAX);
	assert_string_equal(mail_srs_result_name(MAIL_SRS_BAD_HASH), "bad hash");
	assert_string_equal(mail_srs_result_name(MAIL_SRS__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srs0_round_trip),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_srs1),
		cmocka_unit_test(test_forged_and_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
