/* mail-srs - the Sender Rewriting Scheme: the envelope sender of mail that
 * an alias forwards to another domain is rewritten into an address of
 * the forwarding domain, so that SPF at the receiver checks the
 * forwarder, and a bounce to that address finds its way back. No I/O:
 * the secret is the caller's (queue/queue-srs.h keeps it in DATA).
 *
 *   SRS0=HHHHHH=TT=orig-domain=orig-local@forward-domain
 *   SRS1=HHHHHH=first-forwarder==HHHHHH=TT=orig-domain=orig-local@forward-domain
 *
 * TT is the day (days since the epoch, modulo 1024) in two base32
 * characters, as in the usual scheme (libsrs2, PostSRSd); HHHHHH the
 * first 30 bits of HMAC-SHA256(secret, what follows it, lower case) in
 * base32 (RFC 4648 alphabet), so that a hash survives a relay that
 * changes the local part's case (it is compared without case). An
 * address already SRS0 (another forwarder's) becomes SRS1, naming that
 * forwarder; one already SRS1 keeps its first forwarder and gets our
 * hash. The result may pass RFC 5321's 64-octet local part, as every SRS
 * does; it is refused past MAIL_SRS_ADDRESS_MAX in all. */
#ifndef TERN_MAIL_MAIL_SRS_H
#define TERN_MAIL_MAIL_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The secret's length, and the longest address written or read (RFC 5321
 * 4.5.3.1.3: a path is at most 256 octets with its brackets). */
#define MAIL_SRS_SECRET_LEN 32
#define MAIL_SRS_ADDRESS_MAX 254
/* How old a rewritten address may be when a bounce comes back (days): as
 * libsrs2's default. */
#define MAIL_SRS_MAX_AGE_DAYS 21

enum mail_srs_result {
	MAIL_SRS_OK,
	MAIL_SRS_NOT_SRS,      /* decode: not an SRS address (deliver it as it is) */
	MAIL_SRS_BAD_SYNTAX,   /* decode: SRS0/SRS1 but broken; forward: not local@domain */
	MAIL_SRS_BAD_HASH,     /* decode: the hash is not ours (forged) */
	MAIL_SRS_EXPIRED,      /* decode: older than the maximum age, or from the future */
	MAIL_SRS_TOO_LONG,     /* the result would pass MAIL_SRS_ADDRESS_MAX */
	MAIL_SRS__COUNT
};
/* "ok", "not srs", ...: for logs. */
const char *mail_srs_result_name(enum mail_srs_result result);

struct mail_srs {
	unsigned char secret[MAIL_SRS_SECRET_LEN];
	unsigned max_age_days;  /* 0: MAIL_SRS_MAX_AGE_DAYS */
};

/* Rewrite `sender` (local@domain, not the null sender) for mail that
 * leaves through `domain` (the forwarding domain) at time `now`, into
 * out (at least MAIL_SRS_ADDRESS_MAX + 1 octets). A sender of `domain`
 * itself is copied unchanged (no need). */
enum mail_srs_result mail_srs_forward(const struct mail_srs *srs, const char *sender,
				      const char *domain, int64_t now, char *out);

/* Undo one rewriting: for SRS0 the original sender, for SRS1 the first
 * forwarder's SRS0 address (it undoes its own), into out (at least
 * MAIL_SRS_ADDRESS_MAX + 1 octets). `address` is local@domain, len
 * octets; the domain is not checked (the caller knows it is ours). The
 * hash and the age are checked: only what we wrote, recently, decodes. */
enum mail_srs_result mail_srs_reverse(const struct mail_srs *srs, const char *address,
				      size_t len, int64_t now, char *out);

#endif
