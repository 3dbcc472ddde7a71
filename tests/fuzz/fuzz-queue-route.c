/* fuzz-queue-route - libFuzzer harness for the transport table and host
 * parsers (queue-route.h): any input is parsed or refused; what parses
 * holds only bounded, NUL-terminated fields, a port, a known TLS policy,
 * and every entry is found again by its domain. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue-route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct queue_route *routes, one;
	size_t n;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (queue_route_parse_host(text, size, &one) == NULL &&
	    (one.port == 0 || strlen(one.host) == 0 || strlen(one.host) >= sizeof(one.host)))
		abort();
	if (queue_route_parse_table(text, &routes, &n) == NULL) {
		for (size_t i = 0; i < n; i++) {
			if (routes[i].port == 0 || routes[i].tls >= SMTP_CLIENT_TLS__COUNT ||
			    strlen(routes[i].domain) == 0 ||
			    queue_route_find(routes, n, routes[i].domain) == NULL)
				abort();
		}
		free(routes);
	}
	free(text);
	return 0;
}
