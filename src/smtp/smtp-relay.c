/* smtp-relay - the relay decision; see smtp-relay.h for the rule. */
#include "smtp/smtp-relay.h"

#include "smtp/smtp-address.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const smtp_relay_verdict_names[] = {
	[SMTP_RELAY_LOCAL] = "local",
	[SMTP_RELAY_EXTERNAL] = "external",
	[SMTP_RELAY_DENIED] = "relay-denied",
	[SMTP_RELAY_TRICK] = "routing-trick",
	[SMTP_RELAY_UNKNOWN] = "unknown",
	[SMTP_RELAY_TEMP] = "temporary",
	[SMTP_RELAY_MISCONFIG] = "misconfigured",
};
_Static_assert(ARRAY_SIZE(smtp_relay_verdict_names) == SMTP_RELAY__COUNT,
	       "smtp_relay_verdict_names");

const char *smtp_relay_verdict_name(enum smtp_relay_verdict verdict)
{
	return (unsigned)verdict < SMTP_RELAY__COUNT ? smtp_relay_verdict_names[verdict] : "?";
}

bool smtp_relay_allowed(enum smtp_service service, bool authenticated, bool trusted)
{
	switch (service) {
	case SMTP_SERVICE_MX:
		return trusted;
	case SMTP_SERVICE_SUBMISSION:
		return authenticated;
	case SMTP_SERVICE_LOCAL:
		/* a local user, known by uid, as sendmail(8) always allowed */
		return true;
	case SMTP_SERVICE__COUNT:
	default:
		return false;
	}
}

enum smtp_relay_verdict smtp_relay_precheck(bool may_relay, unsigned tricks)
{
	/* A source route is ignored, never followed: not a trick to refuse. */
	unsigned routing = SMTP_ADDRESS_TRICK_PERCENT | SMTP_ADDRESS_TRICK_BANG |
			   SMTP_ADDRESS_TRICK_QUOTED_AT;

	if (!may_relay && (tricks & routing) != 0)
		return SMTP_RELAY_TRICK;
	return SMTP_RELAY_LOCAL;
}

enum smtp_relay_verdict smtp_relay_decide(bool may_relay, enum dir_error resolved,
					  bool local_domain)
{
	switch (resolved) {
	case DIR_OK:
		return SMTP_RELAY_LOCAL;
	case DIR_ERR_NO_DOMAIN:
		return may_relay ? SMTP_RELAY_EXTERNAL : SMTP_RELAY_DENIED;
	case DIR_ERR_INVALID:
		if (local_domain)
			return SMTP_RELAY_UNKNOWN;
		return may_relay ? SMTP_RELAY_EXTERNAL : SMTP_RELAY_DENIED;
	case DIR_ERR_NOT_FOUND:
		return SMTP_RELAY_UNKNOWN;
	case DIR_ERR_LOOP:
	case DIR_ERR_LIMIT:
		return SMTP_RELAY_MISCONFIG;
	case DIR_ERR_TEMP:
	case DIR_ERR_EXISTS:
	case DIR_ERR_NOT_EMPTY:
	case DIR_ERR__COUNT:
	default:
		return SMTP_RELAY_TEMP;
	}
}
