/* fuzz-mail-srs - libFuzzer harness for the SRS decoder (mail/mail-srs.h),
 * the parser of addresses that come back from the internet. Whatever it
 * decodes fits the bound and has an '@'; an input that decodes must be
 * one our key could have made (the hash is checked), so forwarding the
 * decoded SRS0 address again and decoding that gives it back; and
 * forwarding any input as a sender either fails or decodes back to it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mail/mail-srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW ((int64_t)20000 * 86400)

static void fuzz_check_out(const char *out)
{
	if (strlen(out) > MAIL_SRS_ADDRESS_MAX || strchr(out, '@') == NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_srs srs;
	char out[MAIL_SRS_ADDRESS_MAX + 1], back[MAIL_SRS_ADDRESS_MAX + 1];
	char sender[MAIL_SRS_ADDRESS_MAX + 1];
	enum mail_srs_result r;

	memset(&srs, 0, sizeof(srs));
	memset(srs.secret, 0x5a, sizeof(srs.secret));
	r = mail_srs_reverse(&srs, (const char *)data, size, FUZZ_NOW, out);
	if ((unsigned)r >= MAIL_SRS__COUNT)
		__builtin_trap();
	if (r == MAIL_SRS_OK)
		fuzz_check_out(out);
	/* the input as a sender (without NULs): forwarded and back */
	if (size > MAIL_SRS_ADDRESS_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(sender, data, size);
	sender[size] = '\0';
	if (mail_srs_forward(&srs, sender, "fwd.example", FUZZ_NOW, out) != MAIL_SRS_OK)
		return 0;
	fuzz_check_out(out);
	if (strcmp(out, sender) == 0)
		return 0;   /* of the forwarding domain: unchanged */
	r = mail_srs_reverse(&srs, out, strlen(out), FUZZ_NOW, back);
	if (r != MAIL_SRS_OK)
		__builtin_trap();
	/* SRS0 gives the sender back; SRS1 the first forwarder's SRS0 */
	if (strncmp(out, "SRS0", 4) == 0 && strcmp(back, sender) != 0)
		__builtin_trap();
	return 0;
}
