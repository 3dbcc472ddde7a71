/* test-smtp-received - the Received header writer (smtp-received.h): the
 * RFC 5321 4.4 form, the WITH keywords of RFC 3848 and RFC 6531, TLS in
 * a comment, FOR only when given, the date with its offset, the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp-received.h"

/* Tue, 1 Dec 2026 11:05:57 UTC */
#define T_WHEN ((time_t)1796123157)

static void test_protocol(void **state)
{
	(void)state;
	assert_string_equal(smtp_received_protocol(false, true, true, true), "SMTP");
	assert_string_equal(smtp_received_protocol(true, false, false, false), "ESMTP");
	assert_string_equal(smtp_received_protocol(true, true, false, false), "ESMTPS");
	assert_string_equal(smtp_received_protocol(true, false, true, false), "ESMTPA");
	assert_string_equal(smtp_received_protocol(true, true, true, false), "ESMTPSA");
	assert_string_equal(smtp_received_protocol(true, false, false, true), "UTF8SMTP");
	assert_string_equal(smtp_received_protocol(true, true, false, true), "UTF8SMTPS");
	assert_string_equal(smtp_received_protocol(true, false, true, true), "UTF8SMTPA");
	assert_string_equal(smtp_received_protocol(true, true, true, true), "UTF8SMTPSA");
}

static void test_write(void **state)
{
	struct smtp_received r = {
		.helo = "client.example",
		.client_ip = "192.0.2.7",
		.hostname = "mail.example.org",
		.protocol = "ESMTPS",
		.tls_version = "TLSv1.3",
		.tls_cipher = "TLS_AES_256_GCM_SHA384",
		.id = "ABCDEFGHIJKLMNOP",
		.for_rcpt = "alice@example.org",
		.when = T_WHEN,
	};
	struct buf b;

	(void)state;
	buf_init(&b, SMTP_RECEIVED_MAX);
	assert_int_equal(smtp_received_write(&r, &b), 0);
	assert_string_equal(b.data, "Received: from client.example ([192.0.2.7])\r\n"
				    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
				    "\tby mail.example.org (tern) with ESMTPS id ABCDEFGHIJKLMNOP\r\n"
				    "\tfor <alice@example.org>;\r\n"
				    "\tTue, 1 Dec 2026 11:05:57 +0000\r\n");
	/* No TLS, no FOR (several recipients), an IPv6 client with a
	 * literal for its name. */
	buf_reset(&b);
	r.helo = "[IPv6:2001:db8::1]";
	r.client_ip = "2001:db8::1";
	r.protocol = "SMTP";
	r.tls_version = NULL;
	r.tls_cipher = NULL;
	r.for_rcpt = NULL;
	assert_int_equal(smtp_received_write(&r, &b), 0);
	assert_string_equal(b.data, "Received: from [IPv6:2001:db8::1] ([IPv6:2001:db8::1])\r\n"
				    "\tby mail.example.org (tern) with SMTP id ABCDEFGHIJKLMNOP;\r\n"
				    "\tTue, 1 Dec 2026 11:05:57 +0000\r\n");
	buf_release(&b);
}

static void test_offset_and_bound(void **state)
{
	struct smtp_received r = {
		.helo = "h.example", .client_ip = "192.0.2.7", .hostname = "mx.example",
		.protocol = "ESMTP", .id = "ID", .when = T_WHEN,
	};
	struct buf b;

	(void)state;
	/* RFC 5321 4.4: local time with its numeric offset. */
	setenv("TZ", "America/New_York", 1);
	tzset();
	buf_init(&b, SMTP_RECEIVED_MAX);
	assert_int_equal(smtp_received_write(&r, &b), 0);
	assert_non_null(strstr(b.data, ";\r\n\tTue, 1 Dec 2026 06:05:57 -0500\r\n"));
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	buf_reset(&b);
	assert_int_equal(smtp_received_write(&r, &b), 0);
	assert_non_null(strstr(b.data, ";\r\n\tTue, 1 Dec 2026 16:35:57 +0530\r\n"));
	setenv("TZ", "UTC", 1);
	tzset();
	buf_release(&b);
	/* Past the buffer's cap: an error, never a cut header. */
	buf_init(&b, 64);
	assert_int_equal(smtp_received_write(&r, &b), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_offset_and_bound),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
