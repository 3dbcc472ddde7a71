/* fuzz-mail-address - libFuzzer harness for the RFC 5322 address-list
 * reader (mail-address.h). Every address given must be bounded and
 * NUL-free, and read alone again must give itself, with no error. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mail/mail-address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_again {
	const char *want;
	size_t want_len;
	unsigned seen;
};

static void fuzz_same(void *ctx, const char *addr, size_t len)
{
	struct fuzz_again *a = ctx;

	if (len != a->want_len || memcmp(addr, a->want, len) != 0)
		__builtin_trap();
	a->seen++;
}

static void fuzz_address(void *ctx, const char *addr, size_t len)
{
	struct fuzz_again again = { .want = addr, .want_len = len };

	(void)ctx;
	if (len == 0 || len > MAIL_ADDRESS_MAX || strlen(addr) != len)
		__builtin_trap();
	if (mail_address_list(addr, len, fuzz_same, &again) != 0 || again.seen != 1)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mail_address_list((const char *)data, size, fuzz_address, NULL);
	return 0;
}
