/* queue-route - the transport table and the smarthost's address:
 * parsing them, and the table's lookup (queue-route.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "queue/queue-route.h"

static bool queue_route_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == ':';
}

const char *queue_route_parse_host(const char *text, size_t len, struct queue_route *route_r)
{
	const char *host = text, *colon = NULL;
	size_t hlen;

	route_r->port = 25;
	if (len > 0 && text[0] == '[') {
		const char *close = memchr(text, ']', len);

		if (close == NULL)
			return "an [address] without its ]";
		host = text + 1;
		hlen = (size_t)(close - host);
		if ((size_t)(close + 1 - text) < len) {
			if (close[1] != ':')
				return "junk after the ]";
			colon = close + 1;
		}
	} else {
		colon = memchr(text, ':', len);
		hlen = colon != NULL ? (size_t)(colon - text) : len;
	}
	if (hlen == 0)
		return "no host";
	if (hlen >= sizeof(route_r->host))
		return "the host is too long";
	for (size_t i = 0; i < hlen; i++)
		if (!queue_route_host_char(host[i]) || (host[i] == ':' && text[0] != '['))
			return "a bad character in the host";
	if (colon != NULL) {
		const char *p = colon + 1, *end = text + len;
		unsigned long port = 0;

		if (p == end || end - p > 5)
			return "a bad port";
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return "a bad port";
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return "a bad port";
		route_r->port = (uint16_t)port;
	}
	memcpy(route_r->host, host, hlen);
	route_r->host[hlen] = '\0';
	if (text[0] == '[') {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, route_r->host, &a6) != 1)
			return "not an IPv6 address within []";
	}
	return NULL;
}

/* One "domain=host[:port][/tls]" of text[0..len). */
static const char *queue_route_parse_entry(const char *text, size_t len, struct queue_route *r)
{
	const char *end = text + len, *eq = memchr(text, '=', len), *host, *slash, *err;
	size_t dlen, hlen;

	memset(r, 0, sizeof(*r));
	r->tls = SMTP_CLIENT_TLS_MAY;
	if (eq == NULL)
		return "an entry without '='";
	dlen = (size_t)(eq - text);
	if (dlen > 0 && text[dlen - 1] == '.')
		dlen--;
	if (dlen == 0 || dlen >= sizeof(r->domain))
		return "a bad domain";
	for (size_t i = 0; i < dlen; i++) {
		bool dot = text[i] == '.';

		/* labels are never empty: no leading, trailing or double dot */
		if ((!isalnum((unsigned char)text[i]) && text[i] != '-' && !dot) ||
		    (dot && (i == 0 || i + 1 == dlen || text[i - 1] == '.')))
			return "a bad domain";
		r->domain[i] = (char)tolower((unsigned char)text[i]);
	}
	host = eq + 1;
	slash = memchr(host, '/', (size_t)(end - host));
	hlen = (size_t)((slash != NULL ? slash : end) - host);
	if ((err = queue_route_parse_host(host, hlen, r)) != NULL)
		return err;
	if (slash != NULL) {
		char word[16];
		size_t wlen = (size_t)(end - slash - 1);

		if (wlen == 0 || wlen >= sizeof(word))
			return "a bad TLS policy";
		memcpy(word, slash + 1, wlen);
		word[wlen] = '\0';
		if (smtp_client_tls_parse(word, &r->tls) < 0)
			return "a bad TLS policy (none, may, encrypt or verify)";
	}
	return NULL;
}

const char *queue_route_parse_table(const char *text, struct queue_route **routes_r,
				    size_t *n_r)
{
	struct queue_route *routes = NULL;
	size_t n = 0;
	const char *p = text;

	*routes_r = NULL;
	*n_r = 0;
	while (*p != '\0') {
		const char *start, *stop, *err;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		stop = p;
		if (n == QUEUE_ROUTE_MAX) {
			free(routes);
			return "too many entries";
		}
		if ((routes = realloc(routes, (n + 1) * sizeof(*routes))) == NULL)
			abort();
		if ((err = queue_route_parse_entry(start, (size_t)(stop - start), &routes[n])) !=
		    NULL) {
			free(routes);
			return err;
		}
		n++;
	}
	*routes_r = routes;
	*n_r = n;
	return NULL;
}

const struct queue_route *queue_route_find(const struct queue_route *routes, size_t n,
					   const char *domain)
{
	size_t len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (size_t i = 0; i < n; i++)
		if (strlen(routes[i].domain) == len && strncasecmp(routes[i].domain, domain, len) == 0)
			return &routes[i];
	return NULL;
}
