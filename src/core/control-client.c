/* control-client - the `tern` commands' side of the control socket: one
 * request to the running server, one reply; see control.h. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/control.h"

/* How long the reply may take: a command may wait for a delivery in
 * progress. */
#define CONTROL_CALL_TIMEOUT_S 60

static enum control_call_result control_fail(enum control_call_result r, char **text_r,
					     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum control_call_result control_fail(enum control_call_result r, char **text_r,
					     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(text_r, fmt, ap) < 0)
		abort();
	va_end(ap);
	return r;
}

/* Connect to DATA/control.sock: the descriptor, or -1 with errno. */
static int control_connect(const char *data_dir)
{
	const struct timeval tv = { .tv_sec = CONTROL_CALL_TIMEOUT_S };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, n, data_fd = -1, err;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", data_dir, CONTROL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		/* too long for an address: through the folder's descriptor */
		data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (data_fd < 0)
			return -1;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d/%s", data_fd,
			 CONTROL_SOCKET_NAME);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	err = errno;
	if (data_fd >= 0)
		close(data_fd);
	errno = err;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

enum control_call_result control_call(const char *data_dir, const char *request, char **text_r)
{
	char line[CONTROL_TEXT_MAX + 16], text[CONTROL_TEXT_MAX + 1];
	size_t len = 0, rlen = strlen(request);
	char *out;
	bool ok;
	int fd = control_connect(data_dir);

	*text_r = NULL;
	if (fd < 0)
		return control_fail(errno == ENOENT || errno == ECONNREFUSED ? CONTROL_CALL_NO_SERVER
									     : CONTROL_CALL_FAILED,
				    text_r, "%s/" CONTROL_SOCKET_NAME ": %s", data_dir, strerror(errno));
	if ((out = malloc(rlen + 1)) == NULL)
		abort();
	memcpy(out, request, rlen);
	out[rlen] = '\n';
	if (write(fd, out, rlen + 1) != (ssize_t)(rlen + 1)) {
		free(out);
		close(fd);
		return control_fail(CONTROL_CALL_FAILED, text_r, "%s/" CONTROL_SOCKET_NAME ": %s",
				    data_dir, strerror(errno));
	}
	free(out);
	/* the reply is one line; the server closes after it */
	while (len < sizeof(line)) {
		ssize_t n = read(fd, line + len, sizeof(line) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	close(fd);
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len) != line + len - 1 ||
	    control_reply_parse(line, len - 1, &ok, text) < 0)
		return control_fail(CONTROL_CALL_FAILED, text_r, "no sensible reply from the server%s",
				    len == 0 ? " (it closed the connection)" : "");
	if ((*text_r = strdup(text)) == NULL)
		abort();
	return ok ? CONTROL_CALL_OK : CONTROL_CALL_REFUSED;
}
