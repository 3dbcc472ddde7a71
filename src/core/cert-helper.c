/* cert-helper - reading the certificate and key files, directly or through
 * the privileged helper process; see cert-helper.h. */
#include "core/cert-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
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

#include "core/errmsg.h"

#define CERT_HELPER_TIMEOUT_S 5       /* the longest the server waits for an answer */
#define CERT_HELPER_REQUEST 'R'       /* the one request: "the two files, now" */
#define CERT_HELPER_ERROR_MAX 1024    /* longest error text in a reply */
#define CERT_SYMLINKS_MAX 40          /* as the kernel's limit */

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
		errmsg_set(error_r, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CERT_PEM_MAX) {
		close(fd);
		return errmsg_set(error_r, S_ISREG(st.st_mode) ? "%s is larger than 1 MiB" :
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
			errmsg_set(error_r, "cannot read %s: %s", path, strerror(errno));
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

/* May a process of uid (with gid as its only group, as after privs_drop)
 * write to this folder by its mode bits? (Its owner always may.) */
static bool cert_dir_writable(const struct stat *st, uid_t uid, gid_t gid)
{
	return st->st_uid == uid || (st->st_mode & S_IWOTH) != 0 ||
	       ((st->st_mode & S_IWGRP) != 0 && st->st_gid == gid);
}

/* Walk the path as the kernel would, one name at a time, looking at each
 * folder where a name is looked up. */
int cert_path_check(const char *path, uid_t uid, gid_t gid, char **error_r)
{
	char todo[8192], where[8192];
	size_t pos = 0;
	int links = 0;
	int dir;

	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return errmsg_set(error_r, "cannot read %s: %s", path, strerror(ENAMETOOLONG));
	snprintf(where, sizeof(where), "%s", path[0] == '/' ? "/" : ".");
	dir = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (;;) {
		char name[NAME_MAX + 1];
		struct stat dst, st;
		size_t len, wlen;
		bool sticky;
		int fd;

		if (dir < 0 || fstat(dir, &dst) < 0)
			break;
		/* In a sticky folder that is not its own, it may only
		 * replace its own entries (checked below). */
		sticky = (dst.st_mode & S_ISVTX) != 0 && dst.st_uid != uid;
		if (!sticky && cert_dir_writable(&dst, uid, gid))
			goto unsafe;
		pos += strspn(todo + pos, "/");
		if (todo[pos] == '\0') {
			close(dir);    /* a folder: cert_file_read refuses it */
			return 0;
		}
		len = strcspn(todo + pos, "/");
		if (len > NAME_MAX) {
			errno = ENAMETOOLONG;
			break;
		}
		memcpy(name, todo + pos, len);
		name[len] = '\0';
		pos += len;
		wlen = strlen(where);
		snprintf(where + wlen, sizeof(where) - wlen, "%s%s",
			 where[wlen - 1] == '/' ? "" : "/", name);
		fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (sticky && cert_dir_writable(&dst, uid, gid) && st.st_uid == uid) {
			close(fd);
			goto unsafe;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[4096], rest[8192];
			ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);

			close(fd);
			if (n < 0)
				break;
			target[n] = '\0';
			if (++links > CERT_SYMLINKS_MAX ||
			    snprintf(rest, sizeof(rest), "%s/%s", target, todo + pos) >= (int)sizeof(rest)) {
				errno = ELOOP;
				break;
			}
			memcpy(todo, rest, sizeof(todo));
			pos = 0;
			where[wlen] = '\0';
			if (target[0] == '/') {
				close(dir);
				snprintf(where, sizeof(where), "/");
				dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			}
			continue;
		}
		if (todo[pos + strspn(todo + pos, "/")] == '\0') {
			close(fd);     /* the file itself: whoever owns it, it is this name */
			close(dir);
			return 0;
		}
		close(dir);
		dir = fd;
	}
	errmsg_set(error_r, "cannot read %s: %s", path, strerror(errno));
	if (dir >= 0)
		close(dir);
	return -1;
unsafe:
	close(dir);
	return errmsg_set(error_r, "not reading %s as root: the server's user can change %s",
			 path, where);
}

/* What the helper knows, fixed at start. */
struct cert_helper_paths {
	const char *cert;
	const char *key;
	uid_t uid;                    /* the server's user */
	gid_t gid;
};

static int cert_helper_answer(int fd, const struct cert_helper_paths *paths)
{
	struct cert_reply reply = { .status = CERT_REPLY_OK };
	struct cert_pem pem;
	char *error = NULL;
	int ret;

	if (cert_path_check(paths->cert, paths->uid, paths->gid, &error) == 0 &&
	    cert_path_check(paths->key, paths->uid, paths->gid, &error) == 0 &&
	    cert_pem_read(paths->cert, paths->key, &pem, &error) == 0) {
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

static _Noreturn void cert_helper_main(int fd, const struct cert_helper_paths *paths)
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
		if (cert_helper_answer(sock, paths) < 0)
			_exit(0);
	}
}

/* ---- the server's side ---- */

int cert_helper_start(const char *cert_path, const char *key_path, uid_t server_uid,
		      gid_t server_gid, struct cert_helper **helper_r, char **error_r)
{
	const struct cert_helper_paths paths = {
		.cert = cert_path, .key = key_path, .uid = server_uid, .gid = server_gid,
	};
	struct timeval tv = { .tv_sec = CERT_HELPER_TIMEOUT_S };
	struct cert_helper *helper;
	int sv[2];
	pid_t pid;

	*helper_r = NULL;
	*error_r = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errmsg_set(error_r, "cannot start the certificate helper: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		errmsg_set(error_r, "cannot start the certificate helper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		cert_helper_main(sv[1], &paths);
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
	return errmsg_set(error_r, "certificate helper: %s (%s)", why, detail);
}

int cert_helper_fetch(struct cert_helper *helper, struct cert_pem *pem, char **error_r)
{
	const char request = CERT_HELPER_REQUEST;
	struct cert_reply reply;

	memset(pem, 0, sizeof(*pem));
	*error_r = NULL;
	if (helper->fd < 0)
		return errmsg_set(error_r, "certificate helper: gone since an earlier failure");
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
