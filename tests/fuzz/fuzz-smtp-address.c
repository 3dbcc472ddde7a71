/* fuzz-smtp-address - libFuzzer harness for the SMTP path, mailbox and
 * domain parsers. The first byte picks the path kind and whether UTF-8 is
 * allowed; the rest is the text. A parsed address must be bounded, and
 * written back (smtp_address_write) must parse again to the same address. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp/smtp-address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_bounded(const struct smtp_address *a)
{
	if (strlen(a->local) > SMTP_LOCAL_MAX || strlen(a->domain) > SMTP_DOMAIN_MAX)
		__builtin_trap();
	for (const char *c = a->local; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			__builtin_trap();
	if (a->null_path && (a->local[0] != '\0' || a->domain[0] != '\0'))
		__builtin_trap();
	if (!a->null_path && !a->postmaster && a->domain[0] == '\0')
		__builtin_trap();
}

/* Write the address, parse "<written>" again: same address, no route. */
static void fuzz_round_trip(const struct smtp_address *a, enum smtp_path_kind kind, bool utf8)
{
	char text[SMTP_ADDRESS_TEXT_MAX + 2];
	struct smtp_address again;
	enum smtp_address_result result;
	size_t len, used;

	len = smtp_address_write(a, text + 1);
	if (len != strlen(text + 1) || len + 1 > SMTP_ADDRESS_TEXT_MAX)
		__builtin_trap();
	text[0] = '<';
	text[len + 1] = '>';
	result = smtp_address_parse_path(text, len + 2, kind, utf8, &again, &used);
	/* A canonical IPv6 literal may be an octet or two longer than given. */
	if (result == SMTP_ADDRESS_PATH_TOO_LONG && a->literal)
		return;
	if (result != SMTP_ADDRESS_OK || used != len + 2 ||
	    strcmp(again.local, a->local) != 0 || strcmp(again.domain, a->domain) != 0 ||
	    again.null_path != a->null_path || again.postmaster != a->postmaster ||
	    again.literal != a->literal || again.utf8 != a->utf8 ||
	    again.tricks != (a->tricks & ~(unsigned)SMTP_ADDRESS_TRICK_SOURCE_ROUTE))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_address addr;
	char domain[SMTP_DOMAIN_MAX + 1];
	enum smtp_path_kind kind;
	const char *text;
	bool utf8, literal;
	size_t used;

	if (size < 1)
		return 0;
	kind = (data[0] & 1) != 0 ? SMTP_PATH_FORWARD : SMTP_PATH_REVERSE;
	utf8 = (data[0] & 2) != 0;
	text = (const char *)data + 1;
	size--;

	if (smtp_address_parse_path(text, size, kind, utf8, &addr, &used) == SMTP_ADDRESS_OK) {
		if (used > size || used > SMTP_PATH_MAX || text[used - 1] != '>')
			__builtin_trap();
		fuzz_check_bounded(&addr);
		fuzz_round_trip(&addr, kind, utf8);
	}
	if (smtp_address_parse_mailbox(text, size, utf8, &addr) == SMTP_ADDRESS_OK) {
		fuzz_check_bounded(&addr);
		if (addr.null_path || addr.postmaster)
			__builtin_trap();
	}
	if (smtp_address_parse_domain(text, size, domain, &literal) == SMTP_ADDRESS_OK &&
	    strlen(domain) > SMTP_DOMAIN_MAX)
		__builtin_trap();
	(void)smtp_address_result_text((enum smtp_address_result)(data[0] >> 2));
	return 0;
}
