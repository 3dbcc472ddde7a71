/* control - the server side of the control socket: a thread that accepts
 * on DATA/control.sock, checks who is calling, reads one request line,
 * runs its command and writes one reply line; see control.h. */
#include "core/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"

/* How long a client may take to send its request or read the reply. */
#define CONTROL_IO_TIMEOUT_S 5

struct control {
	struct control_table tables[CONTROL_TABLES_MAX];
	size_t n_tables;
	int data_fd, listen_fd, wake_fd;
	pthread_t thread;
};

/* The socket's address: DATA/control.sock, or the same through the data
 * folder's descriptor when the path is too long for sun_path. */
static int control_address(const char *data_dir, int data_fd, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", data_dir, CONTROL_SOCKET_NAME);
	if (n > 0 && (size_t)n < sizeof(sun->sun_path))
		return 0;
	if (data_fd < 0)
		return -1;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s", data_fd,
		     CONTROL_SOCKET_NAME);
	return n > 0 && (size_t)n < sizeof(sun->sun_path) ? 0 : -1;
}

static void control_reply(int fd, bool ok, const char *text)
{
	char line[CONTROL_TEXT_MAX + 16];
	int n;

	if (!ok && text[0] == '\0')
		text = "failed";
	n = snprintf(line, sizeof(line), "%s%s%s\n", ok ? "ok" : "error", text[0] != '\0' ? " " : "",
		     text);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		log_event(LOG_LEVEL_DEBUG, "control", NULL, NULL,
			  "msg=\"cannot write the reply\" error=\"%s\"", strerror(errno));
}

/* Read one line (up to LF) of at most CONTROL_LINE_MAX octets: its
 * length, or -1. */
static ssize_t control_read_line(int fd, char *line)
{
	size_t len = 0;

	while (len <= CONTROL_LINE_MAX) {
		ssize_t n = read(fd, line + len, CONTROL_LINE_MAX + 1 - len);
		char *lf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		lf = memchr(line + len, '\n', (size_t)n);
		if (lf != NULL)
			return lf - line;
		len += (size_t)n;
	}
	return -1;
}

static const struct control_command *control_find(const struct control *c, const char *verb,
						  void **ctx_r)
{
	for (size_t t = 0; t < c->n_tables; t++) {
		const struct control_table *table = &c->tables[t];

		for (size_t i = 0; i < table->n; i++) {
			if (strcmp(table->commands[i].verb, verb) == 0) {
				*ctx_r = table->ctx;
				return &table->commands[i];
			}
		}
	}
	return NULL;
}

static void control_serve(struct control *c, int fd)
{
	const struct timeval tv = { .tv_sec = CONTROL_IO_TIMEOUT_S };
	char line[CONTROL_LINE_MAX + 1], text[CONTROL_TEXT_MAX + 1] = "";
	const struct control_command *cmd;
	struct control_request req;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	const char *error;
	void *ctx = NULL;
	ssize_t len;
	bool ok;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* the folder's mode keeps others out; this says it again */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_event(LOG_LEVEL_WARN, "control", NULL, NULL, "msg=\"refused a caller\" uid=%ld",
			  clen == sizeof(cred) ? (long)cred.uid : -1L);
		control_reply(fd, false, "permission denied");
		return;
	}
	if ((len = control_read_line(fd, line)) < 0) {
		control_reply(fd, false, "no request line");
		return;
	}
	if (control_request_parse(line, (size_t)len, &req, &error) < 0) {
		control_reply(fd, false, error);
		return;
	}
	cmd = control_find(c, req.verb, &ctx);
	if (cmd == NULL) {
		control_reply(fd, false, "unknown command");
		return;
	}
	if ((cmd->arg == CONTROL_ARG_NONE && req.has_arg) ||
	    (cmd->arg == CONTROL_ARG_REQUIRED && !req.has_arg)) {
		control_reply(fd, false, req.has_arg ? "takes no argument" : "needs an argument");
		return;
	}
	ok = cmd->run(ctx, req.has_arg ? req.arg : NULL, text);
	if (!control_text_ok(text))
		snprintf(text, sizeof(text), "%s", ok ? "" : "failed");
	log_event(LOG_LEVEL_INFO, "control", NULL, NULL,
		  "msg=\"request\" command=%s arg=%s uid=%ld result=%s", req.verb,
		  req.has_arg ? req.arg : "-", (long)cred.uid, ok ? "ok" : "error");
	control_reply(fd, ok, text);
}

static void *control_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->listen_fd, .events = POLLIN },
			{ .fd = c->wake_fd, .events = POLLIN },
		};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		control_serve(c, fd);
		close(fd);
	}
	return NULL;
}

static void control_free(struct control *c)
{
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->data_fd >= 0)
		close(c->data_fd);
	free(c);
}

int control_open(const char *data_dir, const struct control_command *commands, size_t n,
		 void *ctx, struct control **control_r, char **error_r)
{
	const struct control_table table = { commands, n, ctx };

	return control_open_tables(data_dir, &table, 1, control_r, error_r);
}

int control_open_tables(const char *data_dir, const struct control_table *tables, size_t n_tables,
			struct control **control_r, char **error_r)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun;
	int err;

	*control_r = NULL;
	if (c == NULL || n_tables > CONTROL_TABLES_MAX)
		abort();
	memcpy(c->tables, tables, n_tables * sizeof(*tables));
	c->n_tables = n_tables;
	c->listen_fd = c->wake_fd = -1;
	c->data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->data_fd < 0 || control_address(data_dir, c->data_fd, &sun) < 0) {
		err = c->data_fd < 0 ? errno : ENAMETOOLONG;
		control_free(c);
		return errmsg_set(error_r, "%s/%s: %s", data_dir, CONTROL_SOCKET_NAME, strerror(err));
	}
	/* left by a server that died: this one holds the data folder's lock */
	if (unlinkat(c->data_fd, CONTROL_SOCKET_NAME, 0) < 0 && errno != ENOENT)
		goto fail;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto fail;
	/* before anyone can connect; the 0700 data folder kept others out
	 * meanwhile */
	if (fchmodat(c->data_fd, CONTROL_SOCKET_NAME, 0600, 0) < 0 || listen(c->listen_fd, 16) < 0)
		goto fail;
	c->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (c->wake_fd < 0)
		goto fail;
	if ((err = pthread_create(&c->thread, NULL, control_main, c)) != 0) {
		errno = err;
		goto fail;
	}
	*control_r = c;
	return 0;
fail:
	err = errno;
	unlinkat(c->data_fd, CONTROL_SOCKET_NAME, 0);
	control_free(c);
	return errmsg_set(error_r, "%s/%s: %s", data_dir, CONTROL_SOCKET_NAME, strerror(err));
}

void control_close(struct control **cp)
{
	struct control *c = *cp;
	uint64_t one = 1;

	if (c == NULL)
		return;
	*cp = NULL;
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		abort();
	pthread_join(c->thread, NULL);
	unlinkat(c->data_fd, CONTROL_SOCKET_NAME, 0);
	control_free(c);
}
