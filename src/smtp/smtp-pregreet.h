/* smtp-pregreet - the pregreet test of port 25 (as Postfix's postscreen
 * runs it): the greeting's first line "220-" goes out at once and its
 * last line only after [smtp] pregreet_delay seconds; a client that sends
 * anything before that is a bot that does not wait for the server (real
 * MTAs do, RFC 5321 4.3.1), and is refused with 554 and logged. An
 * address that passed is remembered for SMTP_PREGREET_REMEMBER seconds
 * and greeted at once from then on; trusted networks are never tested.
 *
 * The memory is a fixed table shared by every loop (thread-safe), so it
 * costs the same whatever the number of clients: when it is full, the
 * oldest entry among the few an address may use gives way. */
#ifndef TERN_SMTP_SMTP_PREGREET_H
#define TERN_SMTP_SMTP_PREGREET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A day, as postscreen's postscreen_greet_ttl. */
#define SMTP_PREGREET_REMEMBER (24 * 60 * 60)

struct smtp_pregreet;

/* A table of `slots` addresses (0: a default of 8192, about 200 KiB). */
struct smtp_pregreet *smtp_pregreet_new(size_t slots);
void smtp_pregreet_free(struct smtp_pregreet **pregreet);

/* Did `ip` ("192.0.2.1", "2001:db8::1") pass the test since now -
 * SMTP_PREGREET_REMEMBER? False for text that is not an address. */
bool smtp_pregreet_passed(struct smtp_pregreet *pregreet, const char *ip, time_t now);
/* Remember that `ip` passed at `now`. */
void smtp_pregreet_remember(struct smtp_pregreet *pregreet, const char *ip, time_t now);

#endif
