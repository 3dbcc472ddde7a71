/* cidr - lists of networks in CIDR notation ("192.0.2.0/24, 2001:db8::/32,
 * 127.0.0.1"), and whether a client address belongs to one: [smtp]
 * trusted_networks. IPv4 and IPv6 are separate: an IPv4 network never
 * matches an IPv6 address, except that an IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) is compared as the IPv4 address it holds. */
#ifndef TERN_CORE_CIDR_H
#define TERN_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr_list;

/* Parse a comma-separated list (spaces around elements allowed; the empty
 * text is the empty list). An element is an address with an optional
 * /prefix (0-32 for IPv4, 0-128 for IPv6; none means the host alone); bits
 * set beyond the prefix are an error, as they are most likely a typo
 * (192.0.2.1/24). Returns 0 with a malloc'd *list_r (free with
 * cidr_list_free), or -1 with a malloc'd *error_r naming the element. */
int cidr_list_parse(const char *text, struct cidr_list **list_r, char **error_r);
void cidr_list_free(struct cidr_list **list);

/* Does the list hold the address `ip` ("192.0.2.1", "2001:db8::1", as
 * conn_remote_ip gives it)? False for the empty list, a NULL list and text
 * that is not an address. Thread-safe (the list is read only). */
bool cidr_list_match(const struct cidr_list *list, const char *ip);

/* How many networks the list holds. */
size_t cidr_list_count(const struct cidr_list *list);

#endif
