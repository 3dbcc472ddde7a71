/* cert-helper - the certificate and key files as bytes in memory: read
 * directly, or through the certificate helper, a small process that stays
 * root so that a server which has dropped privileges can still reload a key
 * only root may read (Let's Encrypt's archive/ is 0700, privkey 0600).
 *
 * The helper is the one exception to "tern serve is one process"
 * (docs/ARCHITECTURE.md). It is forked with the two paths fixed, keeps
 * only its end of a socketpair (and stderr), and answers each request with
 * the current contents of exactly those two files; the unprivileged side
 * cannot name another path, nor point those at another file: a path that
 * goes through a folder the server's user could change is refused. It exits when the socket closes (the server
 * stopped or died), and ignores SIGHUP, SIGINT and SIGTERM so that a
 * signal meant for the server cannot take it away first. */
#ifndef TERN_CORE_CERT_HELPER_H
#define TERN_CORE_CERT_HELPER_H

#include <stddef.h>
#include <sys/types.h>

/* Largest certificate chain or key file accepted (a chain of four RSA
 * certificates is about 8 KiB). */
#define CERT_PEM_MAX (1024 * 1024)

/* PEM text of the chain and the key (each NUL-terminated, not counted in
 * the length). */
struct cert_pem {
	char *cert;
	size_t cert_len;
	char *key;
	size_t key_len;
};

/* Read both files as the calling process. They must be regular files
 * (symlinks are followed) of at most CERT_PEM_MAX bytes. Returns 0, or -1
 * with a malloc'd *error_r naming the path. */
int cert_pem_read(const char *cert_path, const char *key_path, struct cert_pem *pem,
		  char **error_r);
/* Free both texts, the key's wiped first. */
void cert_pem_clear(struct cert_pem *pem);

/* The helper reads as root what the configuration names: the server's user
 * (uid, with gid as its only group) must not be able to point that name at
 * another file, e.g. by a symlink planted in a folder it owns. So every
 * folder a name is looked up in, symlinks followed, must be one it cannot
 * write to; in a sticky folder it does not own (/tmp), where it may only
 * replace its own entries, an entry it owns is refused. The file itself may
 * be anyone's. Returns 0, or -1 with a malloc'd *error_r naming the folder
 * (or why the path cannot be followed). */
int cert_path_check(const char *path, uid_t uid, gid_t gid, char **error_r);

struct cert_helper;

/* Fork the helper for these two paths; server_uid and server_gid are the
 * user the server runs as after the privilege drop (the folders on the
 * paths must be safe from it). Call it while the process has one thread
 * (before any I/O thread or thread pool runs): the child goes on with
 * malloc and stdio. Returns 0, or -1 with a malloc'd *error_r. */
int cert_helper_start(const char *cert_path, const char *key_path, uid_t server_uid,
		      gid_t server_gid, struct cert_helper **helper_r, char **error_r);
/* Ask the helper for the files' current contents (what cert_pem_read gives
 * as root); waits at most a few seconds. Blocking: for the main thread. On
 * failure returns -1 with a malloc'd *error_r (the helper's own reason when
 * it could not read a file); when the helper is gone or did not answer in
 * time, every later fetch fails too. */
int cert_helper_fetch(struct cert_helper *helper, struct cert_pem *pem, char **error_r);
/* Close the socket, so that the helper exits, and reap it. */
void cert_helper_free(struct cert_helper **helper);

#endif
