/* smtp-mx - MX ordering per RFC 5321 5.1 and RFC 7505, and the order of
 * an exchanger's addresses; see smtp-mx.h. */
#include "smtp/smtp-mx.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const struct smtp_status smtp_mx_statuses[] = {
	[SMTP_MX_OK] = { 0, NULL, "ok" },
	/* RFC 7505 4.2 */
	[SMTP_MX_NULL] = { 556, "5.1.10", "Recipient address has null MX" },
	[SMTP_MX_NO_DOMAIN] = { 550, "5.1.2", "Host or domain name not found" },
	[SMTP_MX_TEMPFAIL] = { 451, "4.4.3", "Temporary failure looking up the domain's mail exchangers" },
	/* as Postfix: a configuration error here, not worth retrying */
	[SMTP_MX_LOOP] = { 554, "5.4.6", "Mail for the domain loops back to myself" },
	[SMTP_MX_NO_HOST] = { 451, "4.4.4", "No usable mail exchanger for the domain" },
};
_Static_assert(sizeof(smtp_mx_statuses) / sizeof(smtp_mx_statuses[0]) == SMTP_MX_RESULT__COUNT,
	       "smtp_mx_statuses");

const struct smtp_status *smtp_mx_result_status(enum smtp_mx_result result)
{
	return &smtp_mx_statuses[(unsigned)result < SMTP_MX_RESULT__COUNT ? result : SMTP_MX_TEMPFAIL];
}

static uint32_t smtp_mx_random_default(uint32_t bound)
{
	return arc4random_uniform(bound);
}

/* Copy a name lower-cased and without its final dot; false when it does
 * not fit. */
static bool smtp_mx_name(const char *in, char *out, size_t outsize)
{
	size_t len = strlen(in);

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len >= outsize)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
	out[len] = '\0';
	return true;
}

/* A domain written as an address, numeric or as an RFC 5321 address
 * literal: never a domain with an implicit MX. */
static bool smtp_mx_is_literal(const char *name)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1 ||
	       name[0] == '[';
}

static bool smtp_mx_is_self(const char *name, const char *const *self, size_t n_self)
{
	char own[254];

	for (size_t i = 0; i < n_self; i++)
		if (self[i] != NULL && smtp_mx_name(self[i], own, sizeof(own)) &&
		    strcmp(own, name) == 0)
			return true;
	return false;
}

static int smtp_mx_cmp(const void *a, const void *b)
{
	const struct smtp_mx_host *x = a, *y = b;

	return (int)x->preference - (int)y->preference;
}

/* RFC 5321 5.1: "randomize them to spread the load" among equals. */
static void smtp_mx_shuffle(struct smtp_mx_list *list, smtp_mx_random_fn *random)
{
	for (size_t start = 0; start < list->count;) {
		size_t end = start + 1;

		while (end < list->count && list->hosts[end].preference == list->hosts[start].preference)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + random((uint32_t)(i - start + 1));
			struct smtp_mx_host tmp = list->hosts[i];

			list->hosts[i] = list->hosts[j];
			list->hosts[j] = tmp;
		}
		start = end;
	}
}

static enum smtp_mx_result smtp_mx_implicit(const char *domain, const char *const *self,
					    size_t n_self, struct smtp_mx_list *list)
{
	/* RFC 5321 5.1: the domain itself, as if an MX of preference 0 */
	if (!dns_name_valid(domain) || smtp_mx_is_literal(domain) ||
	    !smtp_mx_name(domain, list->hosts[0].name, sizeof(list->hosts[0].name)))
		return SMTP_MX_NO_DOMAIN;
	list->hosts[0].preference = 0;
	list->implicit = true;
	if (smtp_mx_is_self(list->hosts[0].name, self, n_self))
		return SMTP_MX_LOOP;
	list->count = 1;
	return SMTP_MX_OK;
}

enum smtp_mx_result smtp_mx_order(const char *domain, const struct dns_answer *mx,
				  const char *const *self, size_t n_self,
				  smtp_mx_random_fn *random, struct smtp_mx_list *list_r)
{
	size_t nulls = 0, usable = 0;
	uint32_t self_pref = UINT32_MAX;
	struct smtp_mx_list *list = list_r;

	list->count = 0;
	list->implicit = false;
	if (random == NULL)
		random = smtp_mx_random_default;
	switch (mx->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		return smtp_mx_implicit(domain, self, n_self, list);
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		return SMTP_MX_NO_DOMAIN;
	default:
		return SMTP_MX_TEMPFAIL;
	}
	for (size_t i = 0; i < mx->count && i < DNS_ANSWER_MAX; i++) {
		const struct dns_mx *rec = &mx->u.mx[i];
		struct smtp_mx_host *host = &list->hosts[usable];

		if (rec->host[0] == '\0' || strcmp(rec->host, ".") == 0) {
			nulls++;
			continue;
		}
		/* As Postfix (dns_lookup's valid_rr_name, smtp_addr_one): an
		 * exchanger written as a numeric address ("10 192.0.2.1.", which
		 * RFC 1035 3.3.9 does not allow but zones hold) is kept and is
		 * that address (dns_lookup answers it, dns_answer_literal); a
		 * bracketed literal or a name that cannot be asked for is
		 * skipped. */
		if (rec->host[0] == '[' || !dns_name_valid(rec->host) ||
		    !smtp_mx_name(rec->host, host->name, sizeof(host->name)))
			continue;
		host->preference = rec->preference;
		if (smtp_mx_is_self(host->name, self, n_self) && rec->preference < self_pref)
			self_pref = rec->preference;
		usable++;
	}
	/* RFC 7505 3: a null MX is the domain's only MX record; one beside
	 * others is a mistake in the zone, and the others are used. */
	if (nulls > 0 && nulls == mx->count)
		return SMTP_MX_NULL;
	list->count = usable;
	if (usable == 0)
		return SMTP_MX_NO_HOST;
	qsort(list->hosts, list->count, sizeof(list->hosts[0]), smtp_mx_cmp);
	if (self_pref != UINT32_MAX) {
		/* RFC 5321 5.1: drop ourselves and everything not better */
		size_t keep = 0;

		while (keep < list->count && list->hosts[keep].preference < self_pref)
			keep++;
		list->count = keep;
		if (keep == 0)
			return SMTP_MX_LOOP;
	}
	smtp_mx_shuffle(list, random);
	return SMTP_MX_OK;
}

bool smtp_mx_wants(enum address_preference pref, int family)
{
	if (family == AF_INET6)
		return pref != ADDRESS_IPV4_ONLY;
	if (family == AF_INET)
		return pref != ADDRESS_IPV6_ONLY;
	return false;
}

size_t smtp_mx_order_addresses(struct dns_addr *addrs, size_t n, enum address_preference pref)
{
	int first = pref == ADDRESS_PREFER_IPV4 || pref == ADDRESS_IPV4_ONLY ? AF_INET : AF_INET6;
	int second = first == AF_INET ? AF_INET6 : AF_INET;
	struct dns_addr *sorted;
	size_t kept = 0;

	if (n == 0)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (addrs[i].family == first && smtp_mx_wants(pref, first))
			sorted[kept++] = addrs[i];
	for (size_t i = 0; i < n; i++)
		if (addrs[i].family == second && smtp_mx_wants(pref, second))
			sorted[kept++] = addrs[i];
	memcpy(addrs, sorted, kept * sizeof(*sorted));
	free(sorted);
	return kept;
}
