/* fuzz-dns-answer - libFuzzer harness for DNS replies: the first byte
 * picks the query type and c-ares's status (success, NXDOMAIN, no data,
 * a failure); the rest is the reply, handed to dns_answer_parse (c-ares's
 * ares_parse_*_reply and tern's walk of the sections for the TTLs) and to
 * dns_reply_ttls; an MX answer then goes through the MX ordering of
 * smtp-mx, and each exchanger's name through dns_answer_literal. The
 * answer and the list must be consistent and bounded. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ares.h>

#include "core/dns-answer.h"
#include "smtp/smtp-mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_statuses[] = { ARES_SUCCESS, ARES_ENOTFOUND, ARES_ENODATA, ARES_ESERVFAIL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dns_type type;
	struct dns_answer *a;
	uint32_t ttl, neg;
	int status;

	if (size < 1)
		return 0;
	type = (enum dns_type)(data[0] % DNS_TYPE__COUNT);
	status = fuzz_statuses[(data[0] / DNS_TYPE__COUNT) % 4];
	a = dns_answer_parse(type, status, data + 1, size - 1);
	if (a->type != type || a->status >= DNS_STATUS__COUNT || a->count > DNS_ANSWER_MAX ||
	    (a->status != DNS_OK && a->count != 0) || (a->status == DNS_OK && a->count == 0) ||
	    a->ttl > DNS_TTL_MAX || dns_answer_size(a) < sizeof(*a) ||
	    dns_answer_size(a) > sizeof(*a) + DNS_ANSWER_MAX * (sizeof(struct dns_addr) + 1100) + size)
		__builtin_trap();
	for (size_t i = 0; i < a->count; i++) {
		switch (type) {
		case DNS_TYPE_MX:
			if (a->u.mx[i].host == NULL || strlen(a->u.mx[i].host) > DNS_HOST_TEXT_MAX)
				__builtin_trap();
			break;
		case DNS_TYPE_TXT:
			if (a->u.txt[i].text == NULL || a->u.txt[i].text[a->u.txt[i].len] != '\0')
				__builtin_trap();
			break;
		case DNS_TYPE_PTR:
			if (a->u.ptr[i] == NULL || strlen(a->u.ptr[i]) > DNS_HOST_TEXT_MAX)
				__builtin_trap();
			break;
		default:
			if (a->u.addr[i].family != (type == DNS_TYPE_A ? AF_INET : AF_INET6))
				__builtin_trap();
			break;
		}
	}
	if (type == DNS_TYPE_MX) {
		static const char *const self[] = { "mx1.example.test" };
		static struct smtp_mx_list list;
		enum smtp_mx_result r = smtp_mx_order("example.test", a, self, 1, NULL, &list);

		if (r >= SMTP_MX_RESULT__COUNT || (r == SMTP_MX_OK) != (list.count > 0) ||
		    list.count > DNS_ANSWER_MAX)
			__builtin_trap();
		for (size_t i = 1; i < list.count; i++)
			if (list.hosts[i].preference < list.hosts[i - 1].preference)
				__builtin_trap();
		for (size_t i = 0; i < list.count; i++) {
			if (strcmp(list.hosts[i].name, "mx1.example.test") == 0 ||
			    !dns_name_valid(list.hosts[i].name))
				__builtin_trap();
			/* an exchanger written as an address answers for itself */
			for (int t = DNS_TYPE_A; t <= DNS_TYPE_AAAA; t++) {
				struct dns_answer *lit =
					dns_answer_literal((enum dns_type)t, list.hosts[i].name);

				if (lit != NULL && (lit->count > 1 || (lit->status == DNS_OK) !=
									     (lit->count == 1)))
					__builtin_trap();
				dns_answer_free(&lit);
			}
		}
	}
	dns_answer_free(&a);
	if (dns_reply_ttls(data + 1, size - 1, &ttl, &neg) && size - 1 < 12)
		__builtin_trap();
	return 0;
}
