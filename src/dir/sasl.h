/* sasl - server side of the SASL mechanisms PLAIN (RFC 4616) and LOGIN,
 * shared by every protocol. Sans-I/O: the protocol feeds the client's
 * base64 responses and sends back the base64 challenges; when the exchange
 * is DONE it verifies the credentials with auth_verify() (auth.h). */
#ifndef TERN_DIR_SASL_H
#define TERN_DIR_SASL_H

#include <stddef.h>

struct sasl;

enum sasl_status {
	SASL_STATUS_CONTINUE,   /* send *challenge_r (base64, may be "") and wait */
	SASL_STATUS_DONE,       /* credentials are ready: authcid/authzid/password */
	SASL_STATUS_ERROR,      /* malformed response (bad base64, bad fields) */
	SASL_STATUS_CANCELLED,  /* the client sent "*" (RFC 4422 3.5) */
};

/* Space-separated mechanism names to advertise: "PLAIN LOGIN". */
const char *sasl_mechanisms(void);

/* Start a mechanism by name (any case); NULL when unknown. */
struct sasl *sasl_begin(const char *mech);

/* Feed one client response: the base64 text as received, without CRLF.
 * For the first call, response == NULL means the client gave no initial
 * response, and "=" an empty one (RFC 4954 4, RFC 5034 4). Lines longer
 * than the mechanism allows are errors. *challenge_r stays valid until the
 * next call; *error_r is a static text for the log. */
enum sasl_status sasl_step(struct sasl *sasl, const char *response, size_t len,
			   const char **challenge_r, const char **error_r);

/* After DONE: the credentials (NUL-terminated; authzid "" when absent). */
const char *sasl_authcid(const struct sasl *sasl);
const char *sasl_authzid(const struct sasl *sasl);
const char *sasl_password(const struct sasl *sasl);

/* Free, wiping the password from memory. Sets *sasl to NULL. */
void sasl_free(struct sasl **sasl);

#endif
