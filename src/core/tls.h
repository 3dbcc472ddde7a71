/* tls - the server's TLS contexts: certificate and key loading, the
 * self-signed pair generated on first start, the TLS policy of each
 * service, and reload on SIGHUP.
 *
 * There is one SSL_CTX per policy, all with the same certificate, loaded
 * and reloaded together. Connections take a reference to the current
 * context of their listener's policy when they start TLS; a reload swaps
 * in new contexts under a lock, so new connections use the new certificate
 * while existing ones keep the one they started with. */
#ifndef TERN_CORE_TLS_H
#define TERN_CORE_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "core/config.h"

/* What a listener offers. Both: TLS 1.2 and 1.3, no compression, no
 * renegotiation, no session cache or tickets, the server's order; kernel
 * TLS where the kernel offers it and [tls] ktls is on. */
enum tls_policy {
	/* The services users' programs connect to (pop3, pop3s; imap, imaps,
	 * submission, submissions): in TLS 1.2 only ECDHE key exchange with
	 * AES-GCM or ChaCha20-Poly1305. */
	TLS_POLICY_CLIENT,
	/* Port 25, where TLS is opportunistic and the alternative is
	 * plaintext: the client's suites first, then the rest of OpenSSL's
	 * default list with ECDHE or RSA key exchange (CBC, SHA-1 MACs). */
	TLS_POLICY_MX,
	TLS_POLICY__COUNT
};
const char *tls_policy_name(enum tls_policy policy);
/* The policy a service's listeners get. */
enum tls_policy tls_policy_for_service(enum service service);

struct tls;

/* Load [tls] cert/key when both are set; otherwise DATA/tls/cert.pem and
 * DATA/tls/key.pem, generated (self-signed for [server] hostname, 10 years,
 * files 0600 in a 0700 folder) when missing. When the process runs as root
 * and [tls] cert/key are set, the certificate helper (cert-helper.h) is
 * started first and every load goes through it, so that a reload after the
 * privilege drop can still read files only root may read; call this then
 * while the process has one thread. On error returns -1 with a malloc'd
 * *error_r. */
int tls_new(const struct config *cfg, struct tls **tls_r, char **error_r);
/* Read the certificate and key again into new contexts. On failure the
 * old ones stay in use; returns -1 with a malloc'd *error_r. */
int tls_reload(struct tls *tls, char **error_r);
/* The current context of `policy` with one more reference: SSL_CTX_free()
 * it (SSL_new takes its own reference). Thread-safe. */
SSL_CTX *tls_ctx_acquire(struct tls *tls, enum tls_policy policy);
void tls_free(struct tls **tls);

/* A new context for TLS as a client (outbound SMTP): TLS 1.2 and 1.3,
 * certificates checked against the system store and [tls] ca_file (whose
 * certificates are trusted as they are, a server's own included: an
 * operator may pin a smarthost's certificate), no session cache. Whether
 * a failed check is fatal and which name is checked are set per
 * connection (conn-connect.h). On error returns NULL with a malloc'd
 * *error_r. */
SSL_CTX *tls_client_ctx_new(const struct config *cfg, char **error_r);

/* The files tls_new reads: [tls] cert/key, or (*self_signed_r true) the
 * pair in DATA/tls/, which may not exist yet. Both malloc'd. */
void tls_paths(const struct config *cfg, char **cert_r, char **key_r, bool *self_signed_r);
/* For `tern check`: read the pair of tls_paths() as the calling process
 * (which generates nothing: the self-signed pair must exist), with the
 * certificate helper's rule on the folders on the way when tls_new would
 * start one, and check that it loads and that the key matches the
 * certificate. Returns 0, or -1 with a malloc'd *error_r. */
int tls_check(const struct config *cfg, char **error_r);

#endif
