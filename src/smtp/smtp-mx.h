/* smtp-mx - where mail for a domain goes (RFC 5321 5.1), without I/O:
 * from the answer to the domain's MX query, the list of mail exchangers
 * in the order to try them, and from an exchanger's A and AAAA answers
 * the order of its addresses. The DNS lookups themselves are core/dns.h's.
 *
 * The rules: exchangers by preference, lowest first, in random order
 * among equal preferences (5.1, spreading the load as the domain asked);
 * when this server is one of them, it and every exchanger of equal or
 * higher preference are dropped (5.1's MUST, against loops), and when
 * nothing is left the mail loops back to us; no MX records (the name
 * exists): the domain itself is the one exchanger, the implicit MX; a
 * null MX (RFC 7505, "0 .") means the domain takes no mail, a permanent
 * failure at once. As Postfix does, an exchanger written as a numeric
 * address ("192.0.2.1", against RFC 1035 3.3.9) is that address (its
 * A/AAAA lookup answers it without asking, core/dns.h), one in brackets
 * ("[192.0.2.1]") or named by a name that cannot be asked for is
 * skipped; one that is a CNAME is used (its address lookup follows the
 * alias, RFC 5321 5.1 notwithstanding). */
#ifndef TERN_SMTP_SMTP_MX_H
#define TERN_SMTP_SMTP_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dns-answer.h"
#include "smtp/smtp-status.h"

enum smtp_mx_result {
	SMTP_MX_OK,          /* list->count >= 1 exchangers to try */
	SMTP_MX_NULL,        /* RFC 7505 null MX: the domain takes no mail */
	SMTP_MX_NO_DOMAIN,   /* the domain does not exist (or cannot be asked for) */
	SMTP_MX_TEMPFAIL,    /* the MX lookup failed for now: try again later */
	SMTP_MX_LOOP,        /* this server is the best exchanger: the mail loops back */
	SMTP_MX_NO_HOST,     /* MX records, but none names a usable exchanger */
	SMTP_MX_RESULT__COUNT
};
/* What a result means for the recipients: the reply code and RFC 3463
 * enhanced code of a delivery report (5xx permanent, 4xx temporary) and
 * a short text; code 0 for SMTP_MX_OK. */
const struct smtp_status *smtp_mx_result_status(enum smtp_mx_result result);

struct smtp_mx_host {
	char name[254];          /* lower case, without a final dot */
	uint16_t preference;
};

struct smtp_mx_list {
	size_t count;
	bool implicit;           /* no MX records: hosts[0] is the domain itself */
	struct smtp_mx_host hosts[DNS_ANSWER_MAX];
};

/* A uniform random number below `bound` (> 0): arc4random_uniform when
 * NULL is passed to smtp_mx_order; tests pass their own. */
typedef uint32_t smtp_mx_random_fn(uint32_t bound);

/* The exchangers for `domain` from its MX answer. `self` lists this
 * server's own names ([server] hostname, and any other it answers MX
 * for), compared without case and final dot. Fills *list_r (count 0
 * unless SMTP_MX_OK). */
enum smtp_mx_result smtp_mx_order(const char *domain, const struct dns_answer *mx,
				  const char *const *self, size_t n_self,
				  smtp_mx_random_fn *random, struct smtp_mx_list *list_r);

/* Which address lookups an exchanger needs under `pref`. */
bool smtp_mx_wants(enum address_preference pref, int family);

/* Order one exchanger's addresses for `pref`, in place and stably (the
 * DNS order within a family stays), dropping the family it excludes;
 * returns how many are kept. */
size_t smtp_mx_order_addresses(struct dns_addr *addrs, size_t n, enum address_preference pref);

#endif
