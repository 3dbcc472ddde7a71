/* dkim-signer - the DKIM signature of one message (RFC 6376 5, c=relaxed/
 * relaxed), sans-I/O. The signer is fed the message as it arrives, in
 * pieces of any size: it keeps the header fields it signs (canonical, at
 * most DKIM_SIGNER_FIELDS_MAX octets) and hashes the body on the way
 * (dkim-canon.h), so the message itself is never held. Once it ended,
 * each key makes one DKIM-Signature field, to be put before the message.
 *
 * What is signed (5.4): the fields of dkim_signed_fields that the
 * message has, each as often as it occurs (the last first, 5.4.2), and
 * From once more than it occurs, so that a From added later breaks the
 * signature (8.15). The signing domain d= is the From address's domain;
 * t= is the time of signing; no l= (the whole body is signed) and no
 * x=. */
#ifndef TERN_MAILAUTH_DKIM_SIGNER_H
#define TERN_MAILAUTH_DKIM_SIGNER_H

#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "mailauth/dkim-key.h"

/* The longest header field that can be signed (a long References). */
#define DKIM_SIGNER_FIELD_MAX (64 * 1024)
/* The most octets of signed fields, canonical, a signer keeps. */
#define DKIM_SIGNER_FIELDS_MAX (256 * 1024)
/* The longest DKIM-Signature field made (RSA 8192 and a full h=). */
#define DKIM_SIGNATURE_FIELD_MAX 8192

/* The names of the fields signed, in h= order. */
extern const char *const dkim_signed_fields[];
extern const size_t dkim_signed_fields_n;

struct dkim_signer;

struct dkim_signer *dkim_signer_new(void);
void dkim_signer_free(struct dkim_signer **signer);

/* The next bytes of the message (header, empty line, body; CRLF line
 * ends). Never fails: a message that cannot be signed says so at the
 * end. Cheap: a pass over the bytes and SHA-256 of the body. */
void dkim_signer_feed(struct dkim_signer *signer, const char *data, size_t len);

/* The message ended. Returns the domain to sign for (the From address's,
 * in lower case), or NULL with *why_r (a static text for the log) when
 * the message cannot be signed: no From field, several, a From that is
 * not one address (or only addresses of one domain), a From domain that
 * is no ASCII host name, a header that does not end, a signed field
 * longer than DKIM_SIGNER_FIELD_MAX or more than DKIM_SIGNER_FIELDS_MAX
 * of them. Call it once, before signing. */
const char *dkim_signer_finish(struct dkim_signer *signer, const char **why_r);

/* Append one DKIM-Signature field (folded, CRLF at its end) signed by
 * `key` as selector `selector` of the domain dkim_signer_finish gave,
 * at time `when`. 0, or -1 when the key fails to sign or the field does
 * not fit out. Blocking for RSA (a millisecond): from a job. One signer
 * may sign with several keys, one after the other. */
int dkim_signer_sign(const struct dkim_signer *signer, const struct dkim_key *key,
		     const char *selector, time_t when, struct buf *out);

/* The base64 body hash bh= (RFC 6376 3.7), after dkim_signer_finish,
 * appended to out: 0, or -1 when out is full. */
int dkim_signer_body_hash(const struct dkim_signer *signer, struct buf *out);

/* The lower layer of dkim_signer_sign, for a DKIM-Signature made by
 * someone else (the test vectors of RFC 8463): the b= value (base64) for
 * the header fields named in h[0..n) (names of dkim_signed_fields, any
 * case), as selected by 5.4.2, and the DKIM-Signature field `field`
 * ("DKIM-Signature: ...b=", raw, folded as it will be sent, its b= empty
 * and last, no CRLF at the end). Appended to out; 0, or -1 when a name
 * is not one of dkim_signed_fields, the key fails or out is full. */
int dkim_signer_sign_field(const struct dkim_signer *signer, const struct dkim_key *key,
			   const char *const *h, size_t n, const char *field, size_t field_len,
			   struct buf *out);

#endif
