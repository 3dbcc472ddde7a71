/* fuzz-smtp-client-ehlo - libFuzzer harness for the SMTP client's EHLO
 * keyword reader and its wire form of a message: any input is an EHLO
 * reply's text (only known bits, and a SIZE limit only with SIZE), and a
 * message whose wire form, fed whole and in pieces the first byte picks,
 * is the same, within its bound, with no bare CR or LF. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-client-body.h"
#include "smtp/smtp-client-ehlo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_body(const char *in, size_t len, size_t step, bool dots, char *out)
{
	struct smtp_client_body b;
	size_t n = 0;

	smtp_client_body_init(&b, dots);
	for (size_t off = 0; off < len; off += step) {
		size_t piece = step > len - off ? len - off : step;
		size_t k = smtp_client_body_feed(&b, in + off, piece, out + n);

		if (k > SMTP_CLIENT_BODY_OUT_MAX(piece))
			__builtin_trap();
		n += k;
	}
	return n + smtp_client_body_finish(&b, out + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_client_ehlo e;
	const unsigned known = (SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES << 1) - 1;
	char *a, *b;
	size_t na, nb;

	smtp_client_ehlo_parse((const char *)data, size, &e);
	if ((e.ext & ~known) != 0 || (e.mechs & ~3u) != 0 ||
	    (e.size_max != 0 && !(e.ext & SMTP_CLIENT_EXT_SIZE)) ||
	    (e.mechs != 0 && !(e.ext & SMTP_CLIENT_EXT_AUTH)))
		__builtin_trap();
	if (size < 1)
		return 0;
	a = malloc(2 * size + 4);
	b = malloc(4 * size + 4);
	if (a == NULL || b == NULL)
		abort();
	na = fuzz_body((const char *)data + 1, size - 1, size, data[0] & 1, a);
	nb = fuzz_body((const char *)data + 1, size - 1, (size_t)(data[0] >> 1) % 13 + 1, data[0] & 1, b);
	if (na != nb || memcmp(a, b, na) != 0)
		__builtin_trap();
	for (size_t i = 0; i < na; i++)
		if ((a[i] == '\r' && (i + 1 == na || a[i + 1] != '\n')) ||
		    (a[i] == '\n' && (i == 0 || a[i - 1] != '\r')))
			__builtin_trap();
	free(a);
	free(b);
	return 0;
}
