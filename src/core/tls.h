/* tls - the server's TLS context: certificate and key loading, the
 * self-signed pair generated on first start, and reload on SIGHUP.
 *
 * Connections take a reference to the current SSL_CTX when they start TLS;
 * a reload swaps in a new context under a lock, so new connections use the
 * new certificate while existing ones keep the one they started with. */
#ifndef TERN_CORE_TLS_H
#define TERN_CORE_TLS_H

#include <openssl/ssl.h>

#include "core/config.h"

struct tls;

/* Load [tls] cert/key when both are set; otherwise DATA/tls/cert.pem and
 * DATA/tls/key.pem, generated (self-signed for [server] hostname, 10 years,
 * files 0600 in a 0700 folder) when missing. On error returns -1 with a
 * malloc'd *error_r. */
int tls_new(const struct config *cfg, struct tls **tls_r, char **error_r);
/* Read the certificate and key again into a new context. On failure the
 * old context stays in use; returns -1 with a malloc'd *error_r. */
int tls_reload(struct tls *tls, char **error_r);
/* The current context with one more reference: SSL_CTX_free() it (SSL_new
 * takes its own reference). Thread-safe. */
SSL_CTX *tls_ctx_acquire(struct tls *tls);
void tls_free(struct tls **tls);

#endif
