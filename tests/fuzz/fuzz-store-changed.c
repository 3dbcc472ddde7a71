/* fuzz-store-changed - libFuzzer harness for the CHANGE argument of the
 * control socket's store-changed (root-control.h): what parses has a
 * known kind and a non-empty address within the bound, and written again
 * it parses to the same change. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/root-control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg[CONTROL_ARG_MAX + 1], address[CONTROL_ARG_MAX + 1], again[CONTROL_ARG_MAX + 1];
	char address2[CONTROL_ARG_MAX + 1];
	struct hub_change change, change2;

	/* the control parser hands over at most CONTROL_ARG_MAX bytes, no NUL */
	if (size > CONTROL_ARG_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	if (!store_change_parse(arg, &change, address))
		return 0;
	if (hub_change_kind_name(change.kind) == NULL || change.address == NULL ||
	    change.address[0] == '\0' || strlen(change.address) > CONTROL_ARG_MAX ||
	    change.mailbox != NULL || change.mailbox_id < 0)
		__builtin_trap();
	if (!store_change_format(&change, again, sizeof(again)))
		return 0;   /* an address a request may not carry (a space, 8 bits) */
	if (!store_change_parse(again, &change2, address2) || change2.kind != change.kind ||
	    change2.mailbox_id != change.mailbox_id || change2.uidvalidity != change.uidvalidity ||
	    change2.modseq != change.modseq || strcmp(change2.address, change.address) != 0)
		__builtin_trap();
	return 0;
}
