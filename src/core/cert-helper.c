/* cert-helper - reading the certificate and key files, directly or through
 * the privileged helper process; see cert-helper.h. */
#include "core/cert-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define CERT_HELPER_TIMEOUT_S 5       /* the longest the server waits for an answer */
#define CERT_HELPER_REQUEST 'R'       /* the one request: "the two files, now" */
#define CERT_HELPER_ERROR_MAX 1024    /* longest error text in a reply */

struct cert_helper {
	pid_t pid;
	int fd;                       /* -1 once the helper is gone */
};

/* A reply: this header, then len1 bytes (the chain, or the error text)
 * and len2 bytes (the key). Both ends are this program on this machine. */
enum cert_reply_status {
	CERT_REPLY_OK,
	CERT_REPLY_ERROR,
};

struct cert_reply {
	uint32_t status;
	uint32_t len1;
	uint32_t len2;
};

static int cert_fail(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cert_fail(char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		*error_r = NULL;
	va_end(ap);
	return -1;
}

/* ---- reading the files ---- */

static int cert_file_read(const char *path, char **data_r, size_t *len_r, char **error_r)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t len = 0, size;
	char *data;

	*data_r = NULL;
	*len_r = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		cert_fail(error_r, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CERT_PEM_MAX) {
		close(fd);
		return cert_fail(error_r, S_ISREG(st.st_mode) ? "%s is larger than 1 MiB" :
				 "%s is not a regular file", path);
	}
	size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (data == NULL)
		abort();
	while (len < size) {
		ssize_t n = read(fd, data + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cert_fail(error_r, "cannot read %s: %s", path, strerror(errno));
			OPENSSL_cleanse(data, len);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

int cert_pem_read(const char *cert_path, const char *key_path, struct cert_pem *pem,
		  char **error_r)
{
	memset(pem, 0, sizeof(*pem));
	*error_r = NULL;
	if (cert_file_read(cert_path, &pem->cert, &pem->cert_len, error_r) < 0 ||
	    cert_file_read(key_path, &pem->key, &pem->key_len, error_r) < 0) {
		cert_pem_clear(pem);
		return -1;
	}
	return 0;
}

void cert_pem_clear(struct cert_pem *pem)
{
	if (pem->key != NULL)
		OPENSSL_cleanse(pem->key, pem->key_len);
	free(pem->key);
	free(pem->cert);
	memset(pem, 0, sizeof(*pem));
}

/* ---- the socket between the two ---- */

static int cert_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* -1 with errno EPIPE at end of file. */
static int cert_recv_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = recv(fd, c, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- the helper process ---- */

static int cert_helper_answer(int fd, const char *cert_path, const char *key_path)
{
	struct cert_reply reply = { .status = CERT_REPLY_OK };
	struct cert_pem pem;
	char *error = NULL;
	int ret;

	if (cert_pem_read(cert_path, key_path, &pem, &error) == 0) {
		reply.len1 = (uint32_t)pem.cert_len;
		reply.len2 = (uint32_t)pem.key_len;
		ret = cert_send_all(fd, &reply, sizeof(reply)) < 0 ||
		      cert_send_all(fd, pem.cert, pem.cert_len) < 0 ||
		      cert_send_all(fd, pem.key, pem.key_len) < 0 ? -1 : 0;
		cert_pem_clear(&pem);
		return ret;
	}
	{
		const char *text = error != NULL ? error : "cannot read the certificate";
		size_t len = strnlen(text, CERT_HELPER_ERROR_MAX);

		reply.status = CERT_REPLY_ERROR;
		reply.len1 = (uint32_t)len;
		ret = cert_send_all(fd, &reply, sizeof(reply)) < 0 ||
		      cert_send_all(fd, text, len) < 0 ? -1 : 0;
	}
	free(error);
	return ret;
}

/* Keep only the socket (moved to a number above 2), stderr, and /dev/null
 * as standard input and output. */
static int cert_helper_descriptors(int fd)
{
	int sock = fcntl(fd, F_DUPFD, 3);
	int null = open("/dev/null", O_RDWR);

	if (sock < 0 || null < 0)
		return -1;
	close(fd);
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    (fcntl(2, F_GETFD) < 0 && dup2(null, 2) < 0))
		return -1;
	if ((sock > 3 && close_range(3, (unsigned)sock - 1, 0) < 0) ||
	    close_range((unsigned)sock + 1, ~0U, 0) < 0)
		return -1;
	return sock;
}

static _Noreturn void cert_helper_main(int fd, const char *cert_path, const char *key_path)
{
	int sock = cert_helper_descriptors(fd);

	if (sock < 0)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "tern-certs", 0, 0, 0);
	for (;;) {
		char request;
		ssize_t n = recv(sock, &request, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/* End of file (the server is gone), an error, or a request
		 * it does not know: nothing more to do. */
		if (n <= 0 || request != CERT_HELPER_REQUEST)
			_exit(0);
		if (cert_helper_answer(sock, cert_path, key_path) < 0)
			_exit(0);
	}
}

/* ---- the server's side ---- */

int cert_helper_start(const char *cert_path, const char *key_path,
		      struct cert_helper **helper_r, char **error_r)
{
	struct timeval tv = { .tv_sec = CERT_HELPER_TIMEOUT_S };
	struct cert_helper *helper;
	int sv[2];
	pid_t pid;

	*helper_r = NULL;
	*error_r = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cert_fail(error_r, "cannot start the certificate helper: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		cert_fail(error_r, "cannot start the certificate helper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		cert_helper_main(sv[1], cert_path, key_path);
	close(sv[1]);
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		abort();
	helper = calloc(1, sizeof(*helper));
	if (helper == NULL)
		abort();
	helper->pid = pid;
	helper->fd = sv[0];
	*helper_r = helper;
	return 0;
}

/* The stream can no longer be trusted to be in step: close it (the
 * helper then exits). */
static int cert_helper_lost(struct cert_helper *helper, const char *why, char **error_r)
{
	const char *detail = errno == EAGAIN || errno == EWOULDBLOCK ? "no answer in time" :
			     strerror(errno);

	close(helper->fd);
	helper->fd = -1;
	return cert_fail(error_r, "certificate helper: %s (%s)", why, detail);
}

int cert_helper_fetch(struct cert_helper *helper, struct cert_pem *pem, char **error_r)
{
	const char request = CERT_HELPER_REQUEST;
	struct cert_reply reply;

	memset(pem, 0, sizeof(*pem));
	*error_r = NULL;
	if (helper->fd < 0)
		return cert_fail(error_r, "certificate helper: gone since an earlier failure");
	if (cert_send_all(helper->fd, &request, 1) < 0 ||
	    cert_recv_all(helper->fd, &reply, sizeof(reply)) < 0)
		return cert_helper_lost(helper, "no reply", error_r);
	if (reply.status == CERT_REPLY_ERROR && reply.len1 <= CERT_HELPER_ERROR_MAX &&
	    reply.len2 == 0) {
		char *text = malloc(reply.len1 + 1);

		if (text == NULL)
			abort();
		if (cert_recv_all(helper->fd, text, reply.len1) < 0) {
			free(text);
			return cert_helper_lost(helper, "truncated reply", error_r);
		}
		text[reply.len1] = '\0';
		*error_r = text;
		return -1;
	}
	if (reply.status != CERT_REPLY_OK || reply.len1 > CERT_PEM_MAX || reply.len2 > CERT_PEM_MAX) {
		errno = EPROTO;
		return cert_helper_lost(helper, "bad reply", error_r);
	}
	pem->cert = malloc((size_t)reply.len1 + 1);
	pem->key = malloc((size_t)reply.len2 + 1);
	if (pem->cert == NULL || pem->key == NULL)
		abort();
	pem->cert_len = reply.len1;
	pem->key_len = reply.len2;
	if (cert_recv_all(helper->fd, pem->cert, pem->cert_len) < 0 ||
	    cert_recv_all(helper->fd, pem->key, pem->key_len) < 0) {
		cert_pem_clear(pem);
		return cert_helper_lost(helper, "truncated reply", error_r);
	}
	pem->cert[pem->cert_len] = '\0';
	pem->key[pem->key_len] = '\0';
	return 0;
}

void cert_helper_free(struct cert_helper **helperp)
{
	struct cert_helper *helper = *helperp;

	if (helper == NULL)
		return;
	if (helper->fd >= 0)
		close(helper->fd);
	while (waitpid(helper->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(helper);
	*helperp = NULL;
}
