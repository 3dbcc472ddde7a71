/* fuzz-sasl - libFuzzer harness for the SASL PLAIN and LOGIN server side.
 * The first byte picks the mechanism and whether there is an initial
 * response; the rest, split on '\n', is the client's successive responses. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dir/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl *sasl;
	const char *p;
	const char *end;
	bool first = true;

	if (size == 0)
		return 0;
	sasl = sasl_begin((data[0] & 1) != 0 ? "LOGIN" : "PLAIN");
	if (sasl == NULL)
		return 0;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (;;) {
		const char *challenge;
		const char *error;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		enum sasl_status st;

		if (first && (data[0] & 2) != 0)
			st = sasl_step(sasl, NULL, 0, &challenge, &error);
		else
			st = sasl_step(sasl, p, len, &challenge, &error);
		if (first && (data[0] & 2) != 0) {
			first = false;
			if (st != SASL_STATUS_CONTINUE)
				__builtin_trap();
			continue;
		}
		first = false;
		if (st == SASL_STATUS_DONE) {
			/* Every field is a bounded C string. */
			if (strlen(sasl_authcid(sasl)) == 0 || strlen(sasl_authcid(sasl)) > 255 ||
			    strlen(sasl_password(sasl)) == 0 || strlen(sasl_password(sasl)) > 255 ||
			    strlen(sasl_authzid(sasl)) > 255)
				__builtin_trap();
			break;
		}
		if (st == SASL_STATUS_ERROR) {
			if (error == NULL)
				__builtin_trap();
			break;
		}
		if (st == SASL_STATUS_CANCELLED)
			break;
		if (challenge == NULL)
			__builtin_trap();
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	sasl_free(&sasl);
	return 0;
}
