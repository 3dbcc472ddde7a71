/* dns-answer - a DNS answer as tern uses it, made from the raw reply and
 * c-ares's status, without I/O: the records of one type (MX, A, AAAA,
 * TXT, PTR), read with c-ares's ares_parse_*_reply, how long the answer
 * may be cached (the smallest TTL in the answer section; for a negative
 * answer the SOA's, RFC 2308 5), and the status that matters to a mail
 * server: found, the name does not exist, no record of that type, or a
 * temporary failure to try again later (timeout, SERVFAIL, REFUSED, an
 * answer that does not parse). dns.h does the asking. */
#ifndef TERN_CORE_DNS_ANSWER_H
#define TERN_CORE_DNS_ANSWER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_type {
	DNS_TYPE_A,
	DNS_TYPE_AAAA,
	DNS_TYPE_MX,
	DNS_TYPE_TXT,
	DNS_TYPE_PTR,
	DNS_TYPE__COUNT
};
/* "A", "AAAA", "MX", "TXT", "PTR" */
const char *dns_type_name(enum dns_type type);
/* The RR type number (1, 28, 15, 16, 12). */
int dns_type_rr(enum dns_type type);

enum dns_status {
	DNS_OK,         /* count >= 1 records */
	DNS_NXDOMAIN,   /* the name does not exist: permanent */
	DNS_NODATA,     /* the name exists but has no record of the type: permanent */
	DNS_TEMPFAIL,   /* timeout, SERVFAIL, REFUSED, no server, an answer
	                 * that does not parse, shutdown: try again later */
	DNS_BADNAME,    /* the name cannot be asked for (empty, too long, a bad
	                 * label): permanent, nothing was sent */
	DNS_STATUS__COUNT
};
/* "ok", "nxdomain", "nodata", "tempfail", "badname" */
const char *dns_status_name(enum dns_status status);

/* The longest host name an answer holds, as c-ares writes it (a name
 * of 255 octets, each escaped as \DDD at worst): a longer one comes from
 * a reply that does not parse (DNS_TEMPFAIL). */
#define DNS_HOST_TEXT_MAX 1024

struct dns_mx {
	uint16_t preference;
	char *host;             /* without the final dot; "" for the root (a null MX) */
};

struct dns_addr {
	int family;             /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct dns_txt {
	char *text;             /* the record's strings joined (RFC 7208 3.3), NUL-terminated */
	size_t len;             /* it may hold NUL bytes */
};

/* At most this many records of an answer are kept (the rest dropped;
 * of MX records, the lowest preferences). */
#define DNS_ANSWER_MAX 64
/* TTLs are capped here (seconds); negative answers at the second. */
#define DNS_TTL_MAX 86400
#define DNS_NEGATIVE_TTL_MAX 3600
/* A negative answer without an SOA is kept this long. */
#define DNS_NEGATIVE_TTL_DEFAULT 60

struct dns_answer {
	enum dns_type type;
	enum dns_status status;
	uint32_t ttl;           /* seconds it may be kept; 0 = not at all */
	size_t count;           /* records in the array of the type (0 unless DNS_OK) */
	union {
		struct dns_mx *mx;      /* DNS_TYPE_MX, in the order of the answer */
		struct dns_addr *addr;  /* DNS_TYPE_A, DNS_TYPE_AAAA */
		struct dns_txt *txt;    /* DNS_TYPE_TXT */
		char **ptr;             /* DNS_TYPE_PTR: host names, without the final dot */
	} u;
};

/* Make the answer to a query of `type` from c-ares's status of the query
 * (ARES_SUCCESS, ARES_ENOTFOUND, ...) and the reply (abuf may be NULL, as
 * when nothing came). Never fails: a reply that does not parse gives
 * DNS_TEMPFAIL. Free with dns_answer_free. */
struct dns_answer *dns_answer_parse(enum dns_type type, int ares_status,
				    const unsigned char *abuf, size_t alen);
/* An answer with no records and this status (ttl 0). */
struct dns_answer *dns_answer_status(enum dns_type type, enum dns_status status);
/* When `name` (a final dot is optional) is a numeric address, IPv4
 * dotted quad or IPv6, the answer to an A or AAAA query of it without
 * asking: its own address for the query of its family, DNS_NODATA for
 * the other (ttl 0). NULL when it is not a numeric address or the type
 * is neither. As Postfix's SMTP client reads an MX record's exchange
 * written as an address (against RFC 1035 3.3.9, but found in zones). */
struct dns_answer *dns_answer_literal(enum dns_type type, const char *name);
void dns_answer_free(struct dns_answer **answer);
/* About the octets of memory an answer holds (for the cache's bound: a
 * reply of 1,232 octets whose names are compressed can hold ten times
 * that). */
size_t dns_answer_size(const struct dns_answer *answer);

/* The smallest TTL of the answer section's records (*ttl_r) and, for a
 * negative answer, min(SOA TTL, SOA MINIMUM) of the authority section's
 * SOA (*neg_ttl_r, UINT32_MAX when there is none). Returns false when the
 * reply does not parse far enough. Exposed for tests and the fuzzer. */
bool dns_reply_ttls(const unsigned char *abuf, size_t alen, uint32_t *ttl_r, uint32_t *neg_ttl_r);

/* The name of the PTR query for an address ("4.3.2.1.in-addr.arpa",
 * RFC 3596 2.5's nibbles for IPv6) into out (at least 74 bytes). */
void dns_ptr_name(const struct dns_addr *addr, char *out, size_t outsize);

/* Whether `name` can be asked for: 1 to 253 octets (a final dot aside),
 * labels of 1 to 63 octets, no space, control character or backslash. */
bool dns_name_valid(const char *name);

#endif
