/* test-dns-answer - DNS replies made into answers, without a server:
 * records and TTLs of MX (a null MX among them), A, AAAA, TXT and PTR
 * replies built byte by byte (of 100 MX, the 64 best kept; a CNAME then
 * its target's A); a numeric address answering for itself; negative TTLs from the SOA (RFC 2308 5)
 * and their caps; c-ares statuses mapped to permanent and temporary
 * failures; and broken replies (every truncation, a reserved label type,
 * a compression loop, counts that lie, CNAME-only answers) that must give
 * a temporary failure or no data, never a crash. Also the PTR names and
 * the check of names before they are asked for. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <cmocka.h>

#include "core/dns-answer.h"

/* ---- building replies ---- */

struct pkt {
	unsigned char b[4096];
	size_t len;
};

static void put8(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (unsigned char)v;
}

static void put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void put_name(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		put8(p, (unsigned)n);
		memcpy(p->b + p->len, name, n);
		p->len += n;
		name += n;
		if (*name == '.')
			name++;
	}
	put8(p, 0);
}

/* Header and question; the question's name is at offset 12 (0xc00c). */
static void begin(struct pkt *p, unsigned rcode, unsigned an, unsigned ns, const char *qname,
		  int qtype)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	put16(p, 0x8180 | rcode);
	put16(p, 1);
	put16(p, an);
	put16(p, ns);
	put16(p, 0);
	put_name(p, qname);
	put16(p, (unsigned)qtype);
	put16(p, 1);
}

/* An RR owned by the question's name; returns where RDLENGTH is. */
static size_t rr_begin(struct pkt *p, int type, uint32_t ttl)
{
	size_t at;

	put16(p, 0xc00c);
	put16(p, (unsigned)type);
	put16(p, 1);
	put32(p, ttl);
	at = p->len;
	put16(p, 0);
	return at;
}

static void rr_end(struct pkt *p, size_t at)
{
	size_t n = p->len - at - 2;

	p->b[at] = (unsigned char)(n >> 8);
	p->b[at + 1] = (unsigned char)(n & 0xff);
}

static void rr_mx(struct pkt *p, uint32_t ttl, unsigned pref, const char *host)
{
	size_t at = rr_begin(p, 15, ttl);

	put16(p, pref);
	put_name(p, host);
	rr_end(p, at);
}

static void rr_soa(struct pkt *p, uint32_t ttl, uint32_t minimum)
{
	size_t at = rr_begin(p, 6, ttl);

	put_name(p, "ns.example.test");
	put_name(p, "hostmaster.example.test");
	put32(p, 1);
	put32(p, 3600);
	put32(p, 600);
	put32(p, 86400);
	put32(p, minimum);
	rr_end(p, at);
}

static struct dns_answer *parse(enum dns_type type, int status, const struct pkt *p)
{
	return dns_answer_parse(type, status, p->b, p->len);
}

/* ---- records ---- */

static void test_mx(void **state)
{
	struct pkt p;
	struct dns_answer *a;

	(void)state;
	begin(&p, 0, 2, 0, "example.test", 15);
	rr_mx(&p, 300, 10, "mx1.example.test");
	rr_mx(&p, 100, 20, "mx2.example.test");
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 100);   /* the smallest */
	assert_int_equal(a->u.mx[0].preference, 10);
	assert_string_equal(a->u.mx[0].host, "mx1.example.test");
	assert_string_equal(a->u.mx[1].host, "mx2.example.test");
	dns_answer_free(&a);
	assert_null(a);

	/* RFC 7505 null MX: the root as the exchange */
	begin(&p, 0, 1, 0, "example.test", 15);
	rr_mx(&p, 300, 0, "");
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 1);
	assert_string_equal(a->u.mx[0].host, "");
	dns_answer_free(&a);

	/* RFC 2181 8: a TTL with the top bit set counts as 0; caps */
	begin(&p, 0, 1, 0, "example.test", 15);
	rr_mx(&p, 0x80000001u, 10, "mx.example.test");
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &p);
	assert_int_equal(a->ttl, 0);
	dns_answer_free(&a);
	begin(&p, 0, 1, 0, "example.test", 15);
	rr_mx(&p, 9999999, 10, "mx.example.test");
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &p);
	assert_int_equal(a->ttl, DNS_TTL_MAX);
	dns_answer_free(&a);

	/* 100 records, the best last: the 64 of the lowest preferences are
	 * kept, in the answer's order (1,000 would not fit this packet) */
	begin(&p, 0, 100, 0, "example.test", 15);
	for (unsigned i = 0; i < 100; i++) {
		char host[32];

		snprintf(host, sizeof(host), "m%u.example.test", i);
		rr_mx(&p, 300, 100 - i, host);
	}
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, DNS_ANSWER_MAX);
	for (size_t i = 0; i < DNS_ANSWER_MAX; i++)
		assert_int_equal(a->u.mx[i].preference, DNS_ANSWER_MAX - i);
	assert_string_equal(a->u.mx[DNS_ANSWER_MAX - 1].host, "m99.example.test");
	dns_answer_free(&a);
}

static void test_addresses(void **state)
{
	struct pkt p;
	struct dns_answer *a;
	char text[64];
	size_t at;

	(void)state;
	/* more records than kept: the first DNS_ANSWER_MAX */
	begin(&p, 0, 70, 0, "many.test", 1);
	for (unsigned i = 0; i < 70; i++) {
		at = rr_begin(&p, 1, 60);
		put32(&p, 0xc0000200u + i);
		rr_end(&p, at);
	}
	a = parse(DNS_TYPE_A, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, DNS_ANSWER_MAX);
	inet_ntop(AF_INET, &a->u.addr[1].u.v4, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
	dns_answer_free(&a);

	begin(&p, 0, 1, 0, "v6.test", 28);
	at = rr_begin(&p, 28, 60);
	{
		struct in6_addr a6;

		inet_pton(AF_INET6, "2001:db8::25", &a6);
		memcpy(p.b + p.len, &a6, 16);
		p.len += 16;
	}
	rr_end(&p, at);
	a = parse(DNS_TYPE_AAAA, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->u.addr[0].family, AF_INET6);
	inet_ntop(AF_INET6, &a->u.addr[0].u.v6, text, sizeof(text));
	assert_string_equal(text, "2001:db8::25");
	dns_answer_free(&a);

	/* an answer of a CNAME only: no data of the type */
	begin(&p, 0, 1, 0, "alias.test", 1);
	at = rr_begin(&p, 5, 60);
	put_name(&p, "target.test");
	rr_end(&p, at);
	a = parse(DNS_TYPE_A, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_NODATA);
	assert_int_equal(a->count, 0);
	assert_int_equal(a->ttl, DNS_NEGATIVE_TTL_DEFAULT);
	dns_answer_free(&a);

	/* a CNAME then the target's A, as a recursive server answers: the
	 * address, kept for the smaller TTL */
	begin(&p, 0, 2, 0, "alias.test", 1);
	at = rr_begin(&p, 5, 600);
	put_name(&p, "target.test");
	rr_end(&p, at);
	put_name(&p, "target.test");
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 120);
	put16(&p, 4);
	put32(&p, 0xc0000207u);
	a = parse(DNS_TYPE_A, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 1);
	inet_ntop(AF_INET, &a->u.addr[0].u.v4, text, sizeof(text));
	assert_string_equal(text, "192.0.2.7");
	assert_int_equal(a->ttl, 120);
	dns_answer_free(&a);
}

/* A numeric address as a name: its own answer, nothing asked. */
static void test_literal(void **state)
{
	struct dns_answer *a;
	char text[64];
	static const char *const not_literal[] = {
		"", ".", "mx.example.test", "192.0.2", "192.0.2.1.2", "[192.0.2.1]", "192.0.2.256",
		"2001:db8::1::2", "::ffff:192.0.2.1x", "0x7f.0.0.1",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999",
	};

	(void)state;
	a = dns_answer_literal(DNS_TYPE_A, "192.0.2.1.");
	assert_non_null(a);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->ttl, 0);
	assert_int_equal(a->u.addr[0].family, AF_INET);
	inet_ntop(AF_INET, &a->u.addr[0].u.v4, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
	dns_answer_free(&a);
	a = dns_answer_literal(DNS_TYPE_AAAA, "192.0.2.1");
	assert_non_null(a);
	assert_int_equal(a->status, DNS_NODATA);
	assert_int_equal(a->count, 0);
	dns_answer_free(&a);
	a = dns_answer_literal(DNS_TYPE_AAAA, "2001:DB8::25");
	assert_non_null(a);
	assert_int_equal(a->status, DNS_OK);
	inet_ntop(AF_INET6, &a->u.addr[0].u.v6, text, sizeof(text));
	assert_string_equal(text, "2001:db8::25");
	dns_answer_free(&a);
	a = dns_answer_literal(DNS_TYPE_A, "2001:db8::25");
	assert_non_null(a);
	assert_int_equal(a->status, DNS_NODATA);
	dns_answer_free(&a);
	/* other types, and names that are not addresses, are asked for */
	assert_null(dns_answer_literal(DNS_TYPE_MX, "192.0.2.1"));
	assert_null(dns_answer_literal(DNS_TYPE_PTR, "192.0.2.1"));
	for (size_t i = 0; i < sizeof(not_literal) / sizeof(not_literal[0]); i++) {
		assert_null(dns_answer_literal(DNS_TYPE_A, not_literal[i]));
		assert_null(dns_answer_literal(DNS_TYPE_AAAA, not_literal[i]));
	}
}

static void test_txt_ptr(void **state)
{
	struct pkt p;
	struct dns_answer *a;
	size_t at;

	(void)state;
	begin(&p, 0, 2, 0, "example.test", 16);
	at = rr_begin(&p, 16, 60);
	put8(&p, 4);
	memcpy(p.b + p.len, "v=DK", 4);
	p.len += 4;
	put8(&p, 3);
	memcpy(p.b + p.len, "IM1", 3);
	p.len += 3;
	rr_end(&p, at);
	at = rr_begin(&p, 16, 60);
	put8(&p, 3);
	memcpy(p.b + p.len, "a\0b", 3);   /* a NUL inside */
	p.len += 3;
	rr_end(&p, at);
	a = parse(DNS_TYPE_TXT, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	assert_string_equal(a->u.txt[0].text, "v=DKIM1");
	assert_int_equal(a->u.txt[0].len, 7);
	assert_int_equal(a->u.txt[1].len, 3);
	assert_memory_equal(a->u.txt[1].text, "a\0b", 3);
	dns_answer_free(&a);

	begin(&p, 0, 2, 0, "1.2.0.192.in-addr.arpa", 12);
	at = rr_begin(&p, 12, 60);
	put_name(&p, "mx.example.test");
	rr_end(&p, at);
	at = rr_begin(&p, 12, 60);
	put_name(&p, "other.example.test");
	rr_end(&p, at);
	a = parse(DNS_TYPE_PTR, ARES_SUCCESS, &p);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 2);
	assert_string_equal(a->u.ptr[0], "mx.example.test");
	assert_string_equal(a->u.ptr[1], "other.example.test");
	dns_answer_free(&a);
}

/* ---- negative answers and statuses ---- */

static void test_negative(void **state)
{
	struct pkt p;
	struct dns_answer *a;
	uint32_t ttl, neg;

	(void)state;
	begin(&p, 3, 0, 1, "nope.test", 15);
	rr_soa(&p, 900, 120);
	a = parse(DNS_TYPE_MX, ARES_ENOTFOUND, &p);
	assert_int_equal(a->status, DNS_NXDOMAIN);
	assert_int_equal(a->ttl, 120);   /* min(SOA TTL, MINIMUM) */
	dns_answer_free(&a);
	assert_true(dns_reply_ttls(p.b, p.len, &ttl, &neg));
	assert_int_equal(ttl, UINT32_MAX);
	assert_int_equal(neg, 120);

	begin(&p, 0, 0, 1, "nodata.test", 15);
	rr_soa(&p, 30, 86400);
	a = parse(DNS_TYPE_MX, ARES_ENODATA, &p);
	assert_int_equal(a->status, DNS_NODATA);
	assert_int_equal(a->ttl, 30);
	dns_answer_free(&a);

	begin(&p, 0, 0, 1, "nodata.test", 15);
	rr_soa(&p, 999999, 999999);
	a = parse(DNS_TYPE_MX, ARES_ENODATA, &p);
	assert_int_equal(a->ttl, DNS_NEGATIVE_TTL_MAX);
	dns_answer_free(&a);

	/* nothing came at all */
	a = dns_answer_parse(DNS_TYPE_MX, ARES_ENOTFOUND, NULL, 0);
	assert_int_equal(a->status, DNS_NXDOMAIN);
	assert_int_equal(a->ttl, DNS_NEGATIVE_TTL_DEFAULT);
	dns_answer_free(&a);

	static const int temporary[] = {
		ARES_ESERVFAIL, ARES_EREFUSED, ARES_ETIMEOUT, ARES_ECONNREFUSED, ARES_EFORMERR,
		ARES_ENOTIMP, ARES_ECANCELLED, ARES_EDESTRUCTION, ARES_ENOMEM, ARES_EBADRESP,
	};
	for (size_t i = 0; i < sizeof(temporary) / sizeof(temporary[0]); i++) {
		a = dns_answer_parse(DNS_TYPE_A, temporary[i], NULL, 0);
		assert_int_equal(a->status, DNS_TEMPFAIL);
		assert_int_equal(a->count, 0);
		assert_int_equal(a->ttl, 0);
		dns_answer_free(&a);
	}
	a = dns_answer_parse(DNS_TYPE_A, ARES_EBADNAME, NULL, 0);
	assert_int_equal(a->status, DNS_BADNAME);
	dns_answer_free(&a);
	assert_string_equal(dns_status_name(DNS_TEMPFAIL), "tempfail");
	assert_string_equal(dns_type_name(DNS_TYPE_AAAA), "AAAA");
	assert_int_equal(dns_type_rr(DNS_TYPE_MX), 15);
}

/* ---- broken replies ---- */

static void check_sane(const struct dns_answer *a)
{
	assert_true(a->status < DNS_STATUS__COUNT);
	assert_true(a->count <= DNS_ANSWER_MAX);
	if (a->status != DNS_OK)
		assert_int_equal(a->count, 0);
	else
		assert_true(a->count > 0);
}

static void test_broken(void **state)
{
	struct pkt p, cut;
	struct dns_answer *a;
	uint32_t ttl, neg;

	(void)state;
	begin(&p, 0, 2, 1, "example.test", 15);
	rr_mx(&p, 300, 10, "mx1.example.test");
	rr_mx(&p, 300, 20, "mx2.example.test");
	rr_soa(&p, 300, 300);
	/* every truncation: no data, a failure, or (whole RRs) fewer records */
	for (size_t len = 0; len < p.len; len++) {
		memcpy(&cut, &p, sizeof(p));
		cut.len = len;
		a = parse(DNS_TYPE_MX, ARES_SUCCESS, &cut);
		check_sane(a);
		assert_true(a->status != DNS_OK || a->count <= 2);
		dns_answer_free(&a);
		a = parse(DNS_TYPE_MX, ARES_ENOTFOUND, &cut);
		assert_int_equal(a->status, DNS_NXDOMAIN);
		assert_true(a->ttl <= DNS_NEGATIVE_TTL_MAX);
		dns_answer_free(&a);
	}

	/* counts that promise more than is there */
	memcpy(&cut, &p, sizeof(p));
	cut.b[7] = 9;
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &cut);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	dns_answer_free(&a);

	/* a reserved label type (0x40) in the answer's owner */
	memcpy(&cut, &p, sizeof(p));
	{
		size_t first_rr = 12 + 14 + 4;   /* header, "example.test", type and class */

		assert_int_equal(cut.b[first_rr], 0xc0);
		cut.b[first_rr] = 0x40;
	}
	assert_false(dns_reply_ttls(cut.b, cut.len, &ttl, &neg));
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &cut);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	dns_answer_free(&a);

	/* an exchange whose name points at itself */
	begin(&cut, 0, 1, 0, "loop.test", 15);
	{
		size_t at = rr_begin(&cut, 15, 60);
		size_t self = cut.len + 2;

		put16(&cut, 10);
		put16(&cut, 0xc000 | (unsigned)self);
		rr_end(&cut, at);
	}
	a = parse(DNS_TYPE_MX, ARES_SUCCESS, &cut);
	check_sane(a);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	dns_answer_free(&a);

	/* an SOA whose RDATA is too short for its numbers */
	begin(&cut, 3, 0, 1, "nope.test", 15);
	{
		size_t at = rr_begin(&cut, 6, 60);

		put_name(&cut, "ns.test");
		put_name(&cut, "h.test");
		put32(&cut, 1);
		rr_end(&cut, at);
	}
	assert_false(dns_reply_ttls(cut.b, cut.len, &ttl, &neg));
	a = parse(DNS_TYPE_MX, ARES_ENOTFOUND, &cut);
	assert_int_equal(a->ttl, DNS_NEGATIVE_TTL_DEFAULT);
	dns_answer_free(&a);

	/* the answer to another type than asked */
	begin(&cut, 0, 1, 0, "example.test", 15);
	rr_mx(&cut, 60, 10, "mx.test");
	a = parse(DNS_TYPE_TXT, ARES_SUCCESS, &cut);
	check_sane(a);
	assert_int_equal(a->status, DNS_NODATA);
	dns_answer_free(&a);
	a = parse(DNS_TYPE_A, ARES_SUCCESS, &cut);
	check_sane(a);
	assert_int_equal(a->status, DNS_NODATA);
	dns_answer_free(&a);
}

/* ---- names ---- */

static void test_names(void **state)
{
	struct dns_addr a4 = { .family = AF_INET }, a6 = { .family = AF_INET6 };
	char name[80], label[70], big[300];

	(void)state;
	inet_pton(AF_INET, "192.0.2.25", &a4.u.v4);
	dns_ptr_name(&a4, name, sizeof(name));
	assert_string_equal(name, "25.2.0.192.in-addr.arpa");
	inet_pton(AF_INET6, "2001:db8::567:89ab", &a6.u.v6);
	dns_ptr_name(&a6, name, sizeof(name));
	assert_string_equal(name, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");

	assert_true(dns_name_valid("example.test"));
	assert_true(dns_name_valid("example.test."));
	assert_true(dns_name_valid("_dmarc.example.test"));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("."));
	assert_false(dns_name_valid("a..b"));
	assert_false(dns_name_valid(".a"));
	assert_false(dns_name_valid("a b.test"));
	assert_false(dns_name_valid("a\\.b"));
	assert_false(dns_name_valid("a\x01.test"));
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(dns_name_valid(label));
	label[63] = '\0';
	assert_true(dns_name_valid(label));
	memset(big, 'a', sizeof(big));
	for (size_t i = 50; i < sizeof(big); i += 50)
		big[i] = '.';
	big[254] = '\0';
	assert_false(dns_name_valid(big));
	big[253] = '\0';
	assert_true(dns_name_valid(big));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_txt_ptr),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
