/* smtp-relay - the relay decision, the one place that says whether a
 * recipient is accepted for local delivery, accepted for relaying, or
 * refused. An open relay is the worst bug a mail server can have, so the
 * rule is small and pure (no I/O), and tested case by case:
 *
 *   - A client may relay (send to domains that are not local) when it
 *     logged in (submission, where MAIL needs AUTH anyway) or when its
 *     address is in [smtp] trusted_networks (port 25), and a local user
 *     on the sendmail socket (as sendmail(8) has always allowed; the
 *     Received header names the uid). Nobody else.
 *   - A recipient is routed by its domain alone, never by its local part:
 *     the percent hack (user%remote@local), bang paths (remote!user@local)
 *     and an "@" in a quoted local part ("user@remote"@local) are refused
 *     outright from a client that may not relay, even for a local domain
 *     (as Postfix's reject_unauth_destination does), so no later rewrite
 *     can ever turn them into a relay. From a client that may relay, they
 *     are plain local parts (a local domain then has no such account).
 *   - A source route (<@hop1,@hop2:user@domain>) is accepted and ignored
 *     (RFC 5321 4.1.1.3, C.6): the hops are never used, user@domain
 *     decides.
 *   - Local means a domain of the directory; what an address of it
 *     becomes (account, alias, catch-all, postmaster) is dir_resolve's. */
#ifndef TERN_SMTP_SMTP_RELAY_H
#define TERN_SMTP_SMTP_RELAY_H

#include <stdbool.h>

#include "dir/dir.h"
#include "smtp/smtp.h"

enum smtp_relay_verdict {
	SMTP_RELAY_LOCAL,        /* deliver: the resolution's recipients */
	SMTP_RELAY_EXTERNAL,     /* relay to the address as given (queued for outbound) */
	SMTP_RELAY_DENIED,       /* 554 5.7.1 relaying denied */
	SMTP_RELAY_TRICK,        /* 554 5.7.1 sender-specified routing refused */
	SMTP_RELAY_UNKNOWN,      /* 550 5.1.1 no such user (a local domain) */
	SMTP_RELAY_TEMP,         /* 451 4.3.0 the directory failed: try again */
	SMTP_RELAY_MISCONFIG,    /* 451 4.3.0 the aliases loop or exceed a bound: logged */
	SMTP_RELAY__COUNT
};
const char *smtp_relay_verdict_name(enum smtp_relay_verdict verdict);

/* May this client send to domains that are not local? */
bool smtp_relay_allowed(enum smtp_service service, bool authenticated, bool trusted);

/* Before any lookup: a recipient with routing tricks (enum
 * smtp_address_trick bits) from a client that may not relay is
 * SMTP_RELAY_TRICK; otherwise SMTP_RELAY_LOCAL, meaning "look it up". */
enum smtp_relay_verdict smtp_relay_precheck(bool may_relay, unsigned tricks);

/* After dir_resolve: what its answer means for this client. `local_domain`
 * matters only for DIR_ERR_INVALID (the directory could not take the
 * local part: unknown at a local domain, a plain foreign address else). */
enum smtp_relay_verdict smtp_relay_decide(bool may_relay, enum dir_error resolved,
					  bool local_domain);

#endif
