/* addr - parse listener address lists ("127.0.0.1:110, [::1]:110, *:995")
 * into socket addresses; see addr.h. Literals only: no name is looked up. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* A list longer than this is a mistake, not a configuration. */
#define ADDR_LIST_MAX 256
/* Longest element worth looking at: "[IPv6]:PORT". */
#define ADDR_ELEMENT_MAX (INET6_ADDRSTRLEN + 8)

static int addr_fail(char **error_r, const char *elem, size_t elem_len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int addr_fail(char **error_r, const char *elem, size_t elem_len, const char *fmt, ...)
{
	char escaped[128];
	char *reason = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		abort();
	va_end(ap);
	log_escape(escaped, sizeof(escaped), elem, elem_len);
	if (asprintf(error_r, "'%s': %s", escaped, reason) < 0)
		abort();
	free(reason);
	return -1;
}

static bool addr_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Port: 1..65535, decimal digits only. Returns -1 when invalid. */
static int addr_parse_port(const char *p, size_t len)
{
	unsigned port = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		port = port * 10 + (unsigned)(p[i] - '0');
	}
	return port >= 1 && port <= 65535 ? (int)port : -1;
}

static void addr_fill(struct addr_spec *spec, int family, const void *ip, uint16_t port)
{
	char ipbuf[INET6_ADDRSTRLEN];

	memset(spec, 0, sizeof(*spec));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&spec->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, sizeof(sin->sin_addr));
		spec->sa_len = sizeof(*sin);
		inet_ntop(AF_INET, ip, ipbuf, sizeof(ipbuf));
		snprintf(spec->text, sizeof(spec->text), "%s:%u", ipbuf, (unsigned)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&spec->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, sizeof(sin6->sin6_addr));
		spec->sa_len = sizeof(*sin6);
		inet_ntop(AF_INET6, ip, ipbuf, sizeof(ipbuf));
		snprintf(spec->text, sizeof(spec->text), "[%s]:%u", ipbuf, (unsigned)port);
	}
}

struct addr_list {
	struct addr_spec *specs;
	size_t n;
};

static int addr_add(struct addr_list *list, int family, const void *ip, uint16_t port,
		    bool optional, const char *elem, size_t elem_len, char **error_r)
{
	struct addr_spec spec;

	addr_fill(&spec, family, ip, port);
	spec.optional = optional;
	for (size_t i = 0; i < list->n; i++) {
		if (strcmp(list->specs[i].text, spec.text) == 0)
			return addr_fail(error_r, elem, elem_len, "%s is listed twice", spec.text);
	}
	if (list->n >= ADDR_LIST_MAX)
		return addr_fail(error_r, elem, elem_len, "more than %d addresses", ADDR_LIST_MAX);
	list->specs = realloc(list->specs, (list->n + 1) * sizeof(*list->specs));
	if (list->specs == NULL)
		abort();
	list->specs[list->n++] = spec;
	return 0;
}

/* One element "HOST:PORT" (no surrounding spaces) of elem_len bytes. */
static int addr_parse_element(struct addr_list *list, const char *elem, size_t elem_len,
			      char **error_r)
{
	char host[ADDR_ELEMENT_MAX + 1];
	const char *colon;
	size_t host_len;
	unsigned char ip[sizeof(struct in6_addr)];
	int port;

	if (elem_len > ADDR_ELEMENT_MAX)
		return addr_fail(error_r, elem, elem_len, "too long for an address");
	if (elem[0] == '[') {
		const char *close = memchr(elem, ']', elem_len);

		if (close == NULL)
			return addr_fail(error_r, elem, elem_len, "missing ']' after the IPv6 address");
		host_len = (size_t)(close - elem) - 1;
		memcpy(host, elem + 1, host_len);
		host[host_len] = '\0';
		if (close + 1 == elem + elem_len || close[1] != ':')
			return addr_fail(error_r, elem, elem_len, "expected ':PORT' after ']'");
		colon = close + 1;
		if (inet_pton(AF_INET6, host, ip) != 1)
			return addr_fail(error_r, elem, elem_len, "not an IPv6 address inside [ ]");
	} else {
		colon = NULL;
		for (size_t i = elem_len; i > 0; i--) {
			if (elem[i - 1] == ':') {
				colon = elem + i - 1;
				break;
			}
		}
		if (colon == NULL)
			return addr_fail(error_r, elem, elem_len, "expected HOST:PORT");
		host_len = (size_t)(colon - elem);
		memcpy(host, elem, host_len);
		host[host_len] = '\0';
		if (memchr(host, ':', host_len) != NULL)
			return addr_fail(error_r, elem, elem_len,
					 "an IPv6 address must be written in brackets: [ADDR]:PORT");
	}
	port = addr_parse_port(colon + 1, (size_t)(elem + elem_len - colon - 1));
	if (port < 0)
		return addr_fail(error_r, elem, elem_len, "port must be a number from 1 to 65535");
	if (elem[0] == '[')
		return addr_add(list, AF_INET6, ip, (uint16_t)port, false, elem, elem_len, error_r);
	if (host_len == 0)
		return addr_fail(error_r, elem, elem_len, "missing address before ':PORT' (use * for all)");
	if (strcmp(host, "*") == 0 || strcmp(host, "localhost") == 0) {
		bool any = host[0] == '*';
		struct in_addr v4 = { .s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK) };
		const struct in6_addr *v6 = any ? &in6addr_any : &in6addr_loopback;

		if (addr_add(list, AF_INET, &v4, (uint16_t)port, false, elem, elem_len, error_r) < 0)
			return -1;
		return addr_add(list, AF_INET6, v6, (uint16_t)port, true, elem, elem_len, error_r);
	}
	if (inet_pton(AF_INET, host, ip) != 1)
		return addr_fail(error_r, elem, elem_len,
				 "not an IP address, '*' or 'localhost' (names are not looked up)");
	return addr_add(list, AF_INET, ip, (uint16_t)port, false, elem, elem_len, error_r);
}

int addr_list_parse(const char *text, struct addr_spec **specs_r, size_t *n_r, char **error_r)
{
	struct addr_list list = { NULL, 0 };
	const char *p = text;

	*specs_r = NULL;
	*n_r = 0;
	*error_r = NULL;
	while (addr_is_space(*p))
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		const char *start, *end;

		while (addr_is_space(*p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && addr_is_space(end[-1]))
			end--;
		if (end == start) {
			free(list.specs);
			if (asprintf(error_r, "empty element in the address list") < 0)
				abort();
			return -1;
		}
		if (memchr(start, ' ', (size_t)(end - start)) != NULL ||
		    memchr(start, '\t', (size_t)(end - start)) != NULL) {
			free(list.specs);
			return addr_fail(error_r, start, (size_t)(end - start),
					 "addresses are separated by commas");
		}
		if (addr_parse_element(&list, start, (size_t)(end - start), error_r) < 0) {
			free(list.specs);
			return -1;
		}
		if (*p == '\0')
			break;
		p++;    /* the comma */
	}
	*specs_r = list.specs;
	*n_r = list.n;
	return 0;
}
