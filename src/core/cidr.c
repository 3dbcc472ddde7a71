/* cidr - network lists and membership; see cidr.h. */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/log.h"

/* A list longer than this is a mistake, not a configuration. */
#define CIDR_LIST_MAX 1024
/* Longest element worth looking at: an IPv6 address and "/128". */
#define CIDR_ELEMENT_MAX (INET6_ADDRSTRLEN + 4)

struct cidr_net {
	unsigned char addr[16];   /* IPv4 in the first 4 bytes */
	unsigned prefix;          /* bits that must match */
	bool v6;
};

struct cidr_list {
	size_t n;
	struct cidr_net nets[];
};

static int cidr_fail(char **error_r, const char *elem, size_t len, const char *reason)
{
	char quoted[CIDR_ELEMENT_MAX * 4 + 8];

	log_escape(quoted, sizeof(quoted), elem, len);
	return errmsg_set(error_r, "'%s': %s", quoted, reason);
}

/* Do the first `bits` bits of a and b agree? */
static bool cidr_prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xffu) == 0;
}

/* One element, without surrounding spaces. */
static int cidr_parse_net(const char *elem, size_t len, struct cidr_net *net, char **error_r)
{
	char text[CIDR_ELEMENT_MAX + 1];
	const char *slash;
	unsigned max;

	if (len > CIDR_ELEMENT_MAX)
		return cidr_fail(error_r, elem, len, "too long for a network");
	memcpy(text, elem, len);
	text[len] = '\0';
	slash = strchr(text, '/');
	if (slash != NULL)
		text[slash - text] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, text, net->addr) == 1) {
		max = 32;
	} else if (inet_pton(AF_INET6, text, net->addr) == 1) {
		max = 128;
		net->v6 = true;
	} else {
		return cidr_fail(error_r, elem, len, "not an IP address or ADDRESS/PREFIX");
	}
	net->prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned value = 0;

		if (*p == '\0' || strlen(p) > 3)
			return cidr_fail(error_r, elem, len, "the prefix must be a number of bits");
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return cidr_fail(error_r, elem, len, "the prefix must be a number of bits");
			value = value * 10 + (unsigned)(*p - '0');
		}
		if (value > max)
			return cidr_fail(error_r, elem, len,
					 max == 32 ? "an IPv4 prefix is at most 32 bits"
						   : "an IPv6 prefix is at most 128 bits");
		net->prefix = value;
	}
	/* Bits beyond the prefix: 192.0.2.1/24 was probably meant as
	 * 192.0.2.0/24 or as the host; say so rather than guess. */
	for (unsigned bit = net->prefix; bit < max; bit++)
		if ((net->addr[bit / 8] & (0x80u >> (bit % 8))) != 0)
			return cidr_fail(error_r, elem, len,
					 "address bits set beyond the prefix (write the network address)");
	return 0;
}

static bool cidr_is_space(char c)
{
	return c == ' ' || c == '\t';
}

int cidr_list_parse(const char *text, struct cidr_list **list_r, char **error_r)
{
	struct cidr_list *list;
	size_t n = 0, commas = 0;
	const char *p;

	*list_r = NULL;
	*error_r = NULL;
	for (p = text; *p != '\0'; p++)
		commas += *p == ',';
	if (commas >= CIDR_LIST_MAX)
		return errmsg_set(error_r, "more than %d networks", CIDR_LIST_MAX);
	list = calloc(1, sizeof(*list) + (commas + 1) * sizeof(list->nets[0]));
	if (list == NULL)
		abort();
	p = text;
	while (cidr_is_space(*p))
		p++;
	while (*p != '\0') {
		const char *start = p, *end;

		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && cidr_is_space(end[-1]))
			end--;
		if (end == start) {
			free(list);
			return errmsg_set(error_r, "empty element in the network list");
		}
		if (cidr_parse_net(start, (size_t)(end - start), &list->nets[n], error_r) < 0) {
			free(list);
			return -1;
		}
		n++;
		if (*p == ',') {
			p++;
			while (cidr_is_space(*p))
				p++;
			if (*p == '\0') {
				free(list);
				return errmsg_set(error_r, "empty element in the network list");
			}
		}
	}
	list->n = n;
	*list_r = list;
	return 0;
}

void cidr_list_free(struct cidr_list **list)
{
	free(*list);
	*list = NULL;
}

bool cidr_list_match(const struct cidr_list *list, const char *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char v4[4], v6[16];
	bool is_v4 = false, is_v6 = false;

	if (list == NULL || list->n == 0 || ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, v4) == 1) {
		is_v4 = true;
	} else if (inet_pton(AF_INET6, ip, v6) == 1) {
		is_v6 = true;
		if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
			memcpy(v4, v6 + 12, 4);
			is_v4 = true;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct cidr_net *net = &list->nets[i];

		if (net->v6 ? is_v6 && cidr_prefix_equal(net->addr, v6, net->prefix)
			    : is_v4 && cidr_prefix_equal(net->addr, v4, net->prefix))
			return true;
	}
	return false;
}

size_t cidr_list_count(const struct cidr_list *list)
{
	return list != NULL ? list->n : 0;
}
