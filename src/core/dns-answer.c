/* dns-answer - a raw DNS reply and c-ares's status made into a struct
 * dns_answer: the records through c-ares's parsers, the TTLs from a walk
 * of the reply's sections; see dns-answer.h. */
#include "core/dns-answer.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#define DNS_RR_SOA 6
#define DNS_HEADER_LEN 12

static const char *const dns_type_names[] = {
	[DNS_TYPE_A] = "A",
	[DNS_TYPE_AAAA] = "AAAA",
	[DNS_TYPE_MX] = "MX",
	[DNS_TYPE_TXT] = "TXT",
	[DNS_TYPE_PTR] = "PTR",
};
_Static_assert(sizeof(dns_type_names) / sizeof(dns_type_names[0]) == DNS_TYPE__COUNT,
	       "dns_type_names");

static const int dns_type_rrs[] = {
	[DNS_TYPE_A] = 1,
	[DNS_TYPE_AAAA] = 28,
	[DNS_TYPE_MX] = 15,
	[DNS_TYPE_TXT] = 16,
	[DNS_TYPE_PTR] = 12,
};
_Static_assert(sizeof(dns_type_rrs) / sizeof(dns_type_rrs[0]) == DNS_TYPE__COUNT, "dns_type_rrs");

static const char *const dns_status_names[] = {
	[DNS_OK] = "ok",
	[DNS_NXDOMAIN] = "nxdomain",
	[DNS_NODATA] = "nodata",
	[DNS_TEMPFAIL] = "tempfail",
	[DNS_BADNAME] = "badname",
};
_Static_assert(sizeof(dns_status_names) / sizeof(dns_status_names[0]) == DNS_STATUS__COUNT,
	       "dns_status_names");

const char *dns_type_name(enum dns_type type)
{
	return (unsigned)type < DNS_TYPE__COUNT ? dns_type_names[type] : "?";
}

int dns_type_rr(enum dns_type type)
{
	return (unsigned)type < DNS_TYPE__COUNT ? dns_type_rrs[type] : 0;
}

const char *dns_status_name(enum dns_status status)
{
	return (unsigned)status < DNS_STATUS__COUNT ? dns_status_names[status] : "?";
}

bool dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (c <= ' ' || c == 0x7f || c == '\\' || ++label > 63)
			return false;
	}
	return label > 0;
}

/* ---- walking the reply (RFC 1035 4.1) ---- */

static uint16_t dns_get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t dns_get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Skip the name at *pos (labels, ending in a zero label or a
 * compression pointer, RFC 1035 4.1.4). False when it runs past the end
 * or is malformed. */
static bool dns_skip_name(const unsigned char *abuf, size_t alen, size_t *pos)
{
	size_t p = *pos;

	for (int labels = 0; labels < 128; labels++) {
		unsigned char len;

		if (p >= alen)
			return false;
		len = abuf[p];
		if ((len & 0xc0) == 0xc0) {
			if (p + 2 > alen)
				return false;
			*pos = p + 2;
			return true;
		}
		if ((len & 0xc0) != 0)
			return false;   /* the reserved label types */
		p += 1 + (size_t)len;
		if (len == 0) {
			*pos = p;
			return true;
		}
	}
	return false;
}

/* One resource record at *pos: its type, TTL and RDATA's place. */
static bool dns_next_rr(const unsigned char *abuf, size_t alen, size_t *pos, int *type_r,
			uint32_t *ttl_r, size_t *rdata_r, size_t *rdlen_r)
{
	size_t p = *pos;
	size_t rdlen;

	if (!dns_skip_name(abuf, alen, &p) || p + 10 > alen)
		return false;
	*type_r = dns_get16(abuf + p);
	*ttl_r = dns_get32(abuf + p + 4);
	/* RFC 2181 8: a TTL with the top bit set is zero */
	if (*ttl_r > 0x7fffffffu)
		*ttl_r = 0;
	rdlen = dns_get16(abuf + p + 8);
	p += 10;
	if (p + rdlen > alen)
		return false;
	*rdata_r = p;
	*rdlen_r = rdlen;
	*pos = p + rdlen;
	return true;
}

bool dns_reply_ttls(const unsigned char *abuf, size_t alen, uint32_t *ttl_r, uint32_t *neg_ttl_r)
{
	size_t pos = DNS_HEADER_LEN;
	unsigned qd, an, ns;

	*ttl_r = UINT32_MAX;
	*neg_ttl_r = UINT32_MAX;
	if (abuf == NULL || alen < DNS_HEADER_LEN)
		return false;
	qd = dns_get16(abuf + 4);
	an = dns_get16(abuf + 6);
	ns = dns_get16(abuf + 8);
	for (unsigned i = 0; i < qd; i++)
		if (!dns_skip_name(abuf, alen, &pos) || (pos += 4) > alen)
			return false;
	for (unsigned i = 0; i < an; i++) {
		size_t rdata, rdlen;
		uint32_t ttl;
		int type;

		if (!dns_next_rr(abuf, alen, &pos, &type, &ttl, &rdata, &rdlen))
			return false;
		if (ttl < *ttl_r)
			*ttl_r = ttl;
	}
	for (unsigned i = 0; i < ns; i++) {
		size_t rdata, rdlen, p;
		uint32_t ttl, minimum;
		int type;

		if (!dns_next_rr(abuf, alen, &pos, &type, &ttl, &rdata, &rdlen))
			return false;
		if (type != DNS_RR_SOA)
			continue;
		/* MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM */
		p = rdata;
		if (!dns_skip_name(abuf, rdata + rdlen, &p) || !dns_skip_name(abuf, rdata + rdlen, &p) ||
		    p + 20 > rdata + rdlen)
			return false;
		minimum = dns_get32(abuf + p + 16);
		if (minimum > 0x7fffffffu)
			minimum = 0;
		*neg_ttl_r = ttl < minimum ? ttl : minimum;
		break;
	}
	return true;
}

/* ---- the answer ---- */

static struct dns_answer *dns_answer_new(enum dns_type type, enum dns_status status)
{
	struct dns_answer *answer = calloc(1, sizeof(*answer));

	if (answer == NULL)
		abort();
	answer->type = type;
	answer->status = status;
	return answer;
}

struct dns_answer *dns_answer_status(enum dns_type type, enum dns_status status)
{
	return dns_answer_new(type, status);
}

static char *dns_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		abort();
	return copy;
}

static void *dns_calloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size);

	if (p == NULL)
		abort();
	return p;
}

struct dns_answer *dns_answer_literal(enum dns_type type, const char *name)
{
	char text[INET6_ADDRSTRLEN];
	size_t len = strlen(name);
	struct dns_addr addr = { 0 };
	struct dns_answer *answer;

	if (type != DNS_TYPE_A && type != DNS_TYPE_AAAA)
		return NULL;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(text))
		return NULL;
	memcpy(text, name, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &addr.u.v4) == 1)
		addr.family = AF_INET;
	else if (inet_pton(AF_INET6, text, &addr.u.v6) == 1)
		addr.family = AF_INET6;
	else
		return NULL;
	if ((addr.family == AF_INET) != (type == DNS_TYPE_A))
		return dns_answer_new(type, DNS_NODATA);
	answer = dns_answer_new(type, DNS_OK);
	answer->u.addr = dns_calloc(DNS_ANSWER_MAX, sizeof(*answer->u.addr));
	answer->u.addr[0] = addr;
	answer->count = 1;
	return answer;
}

/* A record and its place in the answer, for choosing which are kept. */
struct dns_mx_ref {
	const struct ares_mx_reply *mx;
	size_t at;
};

static int dns_mx_ref_cmp(const void *a, const void *b)
{
	const struct dns_mx_ref *x = a, *y = b;

	if (x->mx->priority != y->mx->priority)
		return x->mx->priority < y->mx->priority ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int dns_mx_ref_at_cmp(const void *a, const void *b)
{
	const struct dns_mx_ref *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/* Names come back from c-ares without the final dot; the root is "".
 * Of more than DNS_ANSWER_MAX records, those of the lowest preferences
 * are kept (RFC 5321 5.1 tries them first, and this server's own entry
 * must not be lost among the rest), in the order of the answer. */
static int dns_parse_mx(struct dns_answer *answer, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *list = NULL;
	struct dns_mx_ref *refs;
	size_t n = 0;
	int ret = ares_parse_mx_reply(abuf, alen, &list);

	if (ret != ARES_SUCCESS)
		return ret;
	for (struct ares_mx_reply *mx = list; mx != NULL; mx = mx->next)
		n++;
	refs = dns_calloc(n, sizeof(*refs));
	n = 0;
	for (struct ares_mx_reply *mx = list; mx != NULL; mx = mx->next, n++)
		refs[n] = (struct dns_mx_ref){ .mx = mx, .at = n };
	if (n > DNS_ANSWER_MAX) {
		qsort(refs, n, sizeof(*refs), dns_mx_ref_cmp);
		n = DNS_ANSWER_MAX;
		qsort(refs, n, sizeof(*refs), dns_mx_ref_at_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		if (refs[i].mx->host != NULL && strlen(refs[i].mx->host) > DNS_HOST_TEXT_MAX) {
			free(refs);
			ares_free_data(list);
			return ARES_EBADRESP;
		}
	}
	answer->u.mx = dns_calloc(n, sizeof(*answer->u.mx));
	for (size_t i = 0; i < n; i++) {
		answer->u.mx[i].preference = refs[i].mx->priority;
		answer->u.mx[i].host = dns_strdup(refs[i].mx->host != NULL ? refs[i].mx->host : "");
	}
	answer->count = n;
	free(refs);
	ares_free_data(list);
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

static int dns_parse_addr(struct dns_answer *answer, const unsigned char *abuf, int alen)
{
	int n = DNS_ANSWER_MAX;
	int ret;

	answer->u.addr = dns_calloc(DNS_ANSWER_MAX, sizeof(*answer->u.addr));
	if (answer->type == DNS_TYPE_A) {
		struct ares_addrttl ttls[DNS_ANSWER_MAX];

		ret = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
		for (int i = 0; ret == ARES_SUCCESS && i < n; i++) {
			answer->u.addr[i].family = AF_INET;
			answer->u.addr[i].u.v4 = ttls[i].ipaddr;
		}
	} else {
		struct ares_addr6ttl ttls[DNS_ANSWER_MAX];

		ret = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);
		for (int i = 0; ret == ARES_SUCCESS && i < n; i++) {
			answer->u.addr[i].family = AF_INET6;
			memcpy(&answer->u.addr[i].u.v6, &ttls[i].ip6addr, sizeof(struct in6_addr));
		}
	}
	if (ret != ARES_SUCCESS)
		return ret;
	answer->count = n > 0 ? (size_t)n : 0;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* RFC 7208 3.3: the strings of one record are joined without a space. */
static int dns_parse_txt(struct dns_answer *answer, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *list = NULL;
	size_t n = 0;
	int ret = ares_parse_txt_reply_ext(abuf, alen, &list);

	if (ret != ARES_SUCCESS)
		return ret;
	for (struct ares_txt_ext *t = list; t != NULL; t = t->next)
		if (t->record_start || t == list)
			n++;
	if (n > DNS_ANSWER_MAX)
		n = DNS_ANSWER_MAX;
	answer->u.txt = dns_calloc(n, sizeof(*answer->u.txt));
	answer->count = 0;
	for (struct ares_txt_ext *t = list; t != NULL; t = t->next) {
		struct dns_txt *rec;
		char *grown;

		if (t->record_start || t == list) {
			if (answer->count == n)
				break;
			answer->count++;
		}
		rec = &answer->u.txt[answer->count - 1];
		/* a record is at most 65535 octets: no overflow here */
		grown = realloc(rec->text, rec->len + t->length + 1);
		if (grown == NULL)
			abort();
		memcpy(grown + rec->len, t->txt, t->length);
		rec->len += t->length;
		grown[rec->len] = '\0';
		rec->text = grown;
	}
	ares_free_data(list);
	return answer->count > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

static int dns_parse_ptr(struct dns_answer *answer, const unsigned char *abuf, int alen)
{
	/* c-ares copies an address into the hostent: any will do */
	struct in_addr any = { 0 };
	struct hostent *host = NULL;
	size_t n = 0;
	int ret = ares_parse_ptr_reply(abuf, alen, &any, sizeof(any), AF_INET, &host);

	if (ret != ARES_SUCCESS)
		return ret;
	while (host->h_aliases != NULL && host->h_aliases[n] != NULL && n < DNS_ANSWER_MAX) {
		if (strlen(host->h_aliases[n]) > DNS_HOST_TEXT_MAX) {
			ares_free_hostent(host);
			return ARES_EBADRESP;
		}
		n++;
	}
	answer->u.ptr = dns_calloc(n, sizeof(*answer->u.ptr));
	for (size_t i = 0; i < n; i++)
		answer->u.ptr[i] = dns_strdup(host->h_aliases[i]);
	answer->count = n;
	ares_free_hostent(host);
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

static uint32_t dns_cap(uint32_t ttl, uint32_t max)
{
	return ttl < max ? ttl : max;
}

/* NXDOMAIN and NODATA are kept for the SOA's negative TTL. */
static void dns_answer_negative(struct dns_answer *answer, const unsigned char *abuf, size_t alen)
{
	uint32_t ttl, neg;

	if (!dns_reply_ttls(abuf, alen, &ttl, &neg) || neg == UINT32_MAX)
		neg = DNS_NEGATIVE_TTL_DEFAULT;
	answer->ttl = dns_cap(neg, DNS_NEGATIVE_TTL_MAX);
}

struct dns_answer *dns_answer_parse(enum dns_type type, int ares_status,
				    const unsigned char *abuf, size_t alen)
{
	struct dns_answer *answer;
	uint32_t ttl, neg;
	int ret;

	switch (ares_status) {
	case ARES_SUCCESS:
		break;
	case ARES_ENODATA:
		answer = dns_answer_new(type, DNS_NODATA);
		dns_answer_negative(answer, abuf, alen);
		return answer;
	case ARES_ENOTFOUND:
		answer = dns_answer_new(type, DNS_NXDOMAIN);
		dns_answer_negative(answer, abuf, alen);
		return answer;
	case ARES_EBADNAME:
		return dns_answer_new(type, DNS_BADNAME);
	default:
		/* SERVFAIL, REFUSED, timeouts, no server, cancelled... */
		return dns_answer_new(type, DNS_TEMPFAIL);
	}
	if (abuf == NULL || alen < DNS_HEADER_LEN || alen > 65535 ||
	    !dns_reply_ttls(abuf, alen, &ttl, &neg))
		return dns_answer_new(type, DNS_TEMPFAIL);
	answer = dns_answer_new(type, DNS_OK);
	switch (type) {
	case DNS_TYPE_MX:
		ret = dns_parse_mx(answer, abuf, (int)alen);
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		ret = dns_parse_addr(answer, abuf, (int)alen);
		break;
	case DNS_TYPE_TXT:
		ret = dns_parse_txt(answer, abuf, (int)alen);
		break;
	case DNS_TYPE_PTR:
		ret = dns_parse_ptr(answer, abuf, (int)alen);
		break;
	default:
		ret = ARES_EBADRESP;
		break;
	}
	if (ret == ARES_SUCCESS) {
		answer->ttl = dns_cap(ttl, DNS_TTL_MAX);
		return answer;
	}
	/* An answer of only CNAMEs (or of other types) is no data. */
	dns_answer_free(&answer);
	answer = dns_answer_new(type, ret == ARES_ENODATA ? DNS_NODATA : DNS_TEMPFAIL);
	if (ret == ARES_ENODATA)
		dns_answer_negative(answer, abuf, alen);
	return answer;
}

void dns_answer_free(struct dns_answer **answerp)
{
	struct dns_answer *answer = *answerp;

	if (answer == NULL)
		return;
	*answerp = NULL;
	switch (answer->type) {
	case DNS_TYPE_MX:
		for (size_t i = 0; answer->u.mx != NULL && i < answer->count; i++)
			free(answer->u.mx[i].host);
		free(answer->u.mx);
		break;
	case DNS_TYPE_TXT:
		for (size_t i = 0; answer->u.txt != NULL && i < answer->count; i++)
			free(answer->u.txt[i].text);
		free(answer->u.txt);
		break;
	case DNS_TYPE_PTR:
		for (size_t i = 0; answer->u.ptr != NULL && i < answer->count; i++)
			free(answer->u.ptr[i]);
		free(answer->u.ptr);
		break;
	default:
		free(answer->u.addr);
		break;
	}
	free(answer);
}

size_t dns_answer_size(const struct dns_answer *answer)
{
	size_t size = sizeof(*answer);

	switch (answer->type) {
	case DNS_TYPE_MX:
		size += answer->count * sizeof(*answer->u.mx);
		for (size_t i = 0; answer->u.mx != NULL && i < answer->count; i++)
			size += strlen(answer->u.mx[i].host) + 1;
		break;
	case DNS_TYPE_TXT:
		size += answer->count * sizeof(*answer->u.txt);
		for (size_t i = 0; answer->u.txt != NULL && i < answer->count; i++)
			size += answer->u.txt[i].len + 1;
		break;
	case DNS_TYPE_PTR:
		size += answer->count * sizeof(*answer->u.ptr);
		for (size_t i = 0; answer->u.ptr != NULL && i < answer->count; i++)
			size += strlen(answer->u.ptr[i]) + 1;
		break;
	default:
		size += answer->u.addr != NULL ? DNS_ANSWER_MAX * sizeof(*answer->u.addr) : 0;
		break;
	}
	return size;
}

void dns_ptr_name(const struct dns_addr *addr, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;

	if (outsize == 0)
		return;
	out[0] = '\0';
	if (addr->family == AF_INET) {
		const unsigned char *b = (const unsigned char *)&addr->u.v4;

		snprintf(out, outsize, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return;
	}
	if (addr->family != AF_INET6 || outsize < 74)
		return;
	for (int i = 15; i >= 0; i--) {
		unsigned char b = addr->u.v6.s6_addr[i];

		out[len++] = hex[b & 15];
		out[len++] = '.';
		out[len++] = hex[b >> 4];
		out[len++] = '.';
	}
	memcpy(out + len, "ip6.arpa", sizeof("ip6.arpa"));
}
