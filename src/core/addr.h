/* addr - listener address lists: "127.0.0.1:110, [::1]:110, *:995".
 *
 * Used by config (to reject a bad [listen] value at load, with its line) and
 * by the listeners (to bind). "*:PORT" means every IPv4 and IPv6 address
 * (0.0.0.0 and [::] with IPV6_V6ONLY). */
#ifndef TERN_CORE_ADDR_H
#define TERN_CORE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr_spec {
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char text[INET6_ADDRSTRLEN + 8];   /* "127.0.0.1:110", "[::1]:110" */
	/* The IPv6 half of "*" or "localhost": a host without IPv6 may skip
	 * it (the IPv4 half still has to work). */
	bool optional;
};

/* Parse a comma-separated list (empty string: no addresses). On success
 * *specs_r is a malloc'd array of *n_r entries (free()). On error returns -1
 * and *error_r is a malloc'd message naming the bad element. */
int addr_list_parse(const char *list, struct addr_spec **specs_r, size_t *n_r, char **error_r);

#endif
