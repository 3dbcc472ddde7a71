/* smtp-peer - a scripted SMTP server for the client's unit tests: a
 * thread on a real loopback socket that reads the client's lines and
 * writes the replies the script gives (test-smtp-client.c,
 * test-queue-relay-cache.c, test-queue-relay.c). Include it after
 * <cmocka.h>. */
#ifndef TERN_TESTS_SMTP_PEER_H
#define TERN_TESTS_SMTP_PEER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Steps, one string each:
 *   "<TEXT"  read a line from the client; it must start with TEXT
 *   ">TEXT"  write TEXT (CRLF added after each '|'-separated line)
 *   "~TEXT"  the same, a byte at a time, 1 ms apart
 *   "D"      read a message after DATA's 354, up to its ".CRLF", into data
 *   "B"      read BDAT chunks up to the LAST one into data
 *   "Pn"     the same without replying: up to n chunks (or the LAST)
 *   "Q"      nothing more may arrive within 300 ms (a window is full)
 *   "S"      read slowly (64 KB per 100 ms) until EOF
 *   "T"      the server side of TLS (after its 220 to STARTTLS)
 *   "X"      close the connection
 *   "E"      wait for the client to close (EOF)
 *   "Z"      write garbage forever (until the client closes)
 *   "L"      write one endless line (until the client closes)
 *   "H"      stop reading: hold the connection 4 s, then close */
#define PEER_IN_MAX (1 << 20)

struct peer {
	int lfd;
	uint16_t port;
	const char *const *script;
	pthread_t thread;
	char data[1 << 20];          /* what arrived as the message */
	size_t data_len;
	char in[PEER_IN_MAX];        /* what the client sent, not read yet */
	char lines[8192];            /* the client's command lines, joined by '|' */
	unsigned chunks;             /* BDAT chunks read */
	bool ok;                     /* the script ran to its end */
	char failure[256];
	_Atomic bool accepted;       /* its session has its connection */
	const struct peer *after;    /* peer_next: accepts once this one has */
};

static int peer_read(struct peer *p, int fd, char *buf, size_t *len, size_t cap)
{
	ssize_t n = recv(fd, buf + *len, cap - *len, 0);

	(void)p;
	if (n <= 0)
		return -1;
	*len += (size_t)n;
	return 0;
}

static void peer_write_lines(int fd, const char *text, bool trickle)
{
	char out[4096];
	size_t n = 0;

	for (const char *s = text; *s != '\0' && n < sizeof(out) - 2; s++) {
		if (*s == '|') {
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\r';
	out[n++] = '\n';
	if (!trickle) {
		send(fd, out, n, MSG_NOSIGNAL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		send(fd, out + i, 1, MSG_NOSIGNAL);
		usleep(1000);
	}
}

/* The next line of in (CRLF taken off) into line; -1 at EOF. */
static int peer_line(struct peer *p, int fd, char *in, size_t *len, char *line, size_t cap)
{
	for (;;) {
		char *lf = memchr(in, '\n', *len);

		if (lf != NULL) {
			size_t total = (size_t)(lf - in) + 1, l = total - 1;

			if (l > 0 && in[l - 1] == '\r')
				l--;
			if (l >= cap)
				l = cap - 1;
			memcpy(line, in, l);
			line[l] = '\0';
			memmove(in, in + total, *len - total);
			*len -= total;
			return 0;
		}
		if (peer_read(p, fd, in, len, 65536) < 0)
			return -1;
	}
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	char *in = p->in;
	size_t len = 0;
	char line[4096];
	size_t start;
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	/* (at most 10 s) a second session on the same socket takes the second connection,
	 * not whichever its accept wins */
	for (int i = 0; p->after != NULL && !p->after->accepted && i < 10000; i++)
		usleep(1000);
	if ((fd = accept(p->lfd, NULL, NULL)) < 0)
		return NULL;
	p->accepted = true;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (const char *const *step = p->script; *step != NULL; step++) {
		const char *s = *step;

		switch (s[0]) {
		case '<': {
			size_t n = strlen(p->lines);

			if (peer_line(p, fd, in, &len, line, sizeof(line)) < 0) {
				snprintf(p->failure, sizeof(p->failure), "EOF waiting for %s", s + 1);
				goto out;
			}
			snprintf(p->lines + n, sizeof(p->lines) - n, "%s%s", n > 0 ? "|" : "", line);
			if (strncmp(line, s + 1, strlen(s + 1)) != 0) {
				snprintf(p->failure, sizeof(p->failure), "got \"%.100s\" for %.100s", line, s + 1);
				goto out;
			}
			break;
		}
		case '>':
		case '~':
			peer_write_lines(fd, s + 1, s[0] == '~');
			break;
		case 'D':
			/* up to the end of data: ".CRLF" alone or after a CRLF */
			start = p->data_len;
			for (;;) {
				size_t got;

				if (p->data_len + len > sizeof(p->data))
					goto out;
				memcpy(p->data + p->data_len, in, len);
				p->data_len += len;
				len = 0;
				got = p->data_len - start;
				if ((got == 3 && memcmp(p->data + start, ".\r\n", 3) == 0) ||
				    (got >= 5 &&
				     memcmp(p->data + p->data_len - 5, "\r\n.\r\n", 5) == 0))
					break;
				if (peer_read(p, fd, in, &len, PEER_IN_MAX) < 0)
					goto out;
			}
			break;
		case 'B':
		case 'P':
			for (unsigned k = 0; s[0] == 'B' || k < (unsigned)atoi(s + 1); k++) {
				unsigned long size;
				char last[8] = "";

				if (peer_line(p, fd, in, &len, line, sizeof(line)) < 0 ||
				    sscanf(line, "BDAT %lu %7s", &size, last) < 1) {
					snprintf(p->failure, sizeof(p->failure), "bad BDAT: %.100s", line);
					goto out;
				}
				while (len < size)
					if (peer_read(p, fd, in, &len, PEER_IN_MAX) < 0)
						goto out;
				if (p->data_len + size <= sizeof(p->data)) {
					memcpy(p->data + p->data_len, in, size);
					p->data_len += size;
				}
				memmove(in, in + size, len - size);
				len -= size;
				p->chunks++;
				if (strcmp(last, "LAST") == 0)
					break;
				if (s[0] == 'B')
					peer_write_lines(fd, "250 2.0.0 chunk", false);
			}
			break;
		case 'Q':
			usleep(300000);
			if (len > 0 || recv(fd, line, sizeof(line), MSG_DONTWAIT | MSG_PEEK) > 0) {
				snprintf(p->failure, sizeof(p->failure), "more than the window arrived");
				goto out;
			}
			break;
		case 'S':
			for (;;) {
				usleep(100000);
				for (int k = 0; k < 16; k++) {
					len = 0;
					if (peer_read(p, fd, in, &len, 4096) < 0)
						goto slow_end;
				}
			}
slow_end:
			break;
		case 'X':
			p->ok = true;
			goto out;
		case 'E':
			while (peer_read(p, fd, in, &len, PEER_IN_MAX) == 0)
				len = 0;
			break;
		case 'H':
			sleep(4);
			break;
		case 'Z':
		case 'L': {
			char junk[1024];

			memset(junk, s[0] == 'Z' ? '\n' : 'x', sizeof(junk));
			if (s[0] == 'Z')
				for (size_t i = 0; i < sizeof(junk); i += 8)
					memcpy(junk + i, "999 no\r\n", 8);
			while (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
				;
			break;
		}
		default:
			break;
		}
	}
	p->ok = true;
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void peer_start(struct peer *p, const char *const *script)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);

	memset(p, 0, sizeof(*p));
	p->script = script;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sin, &slen), 0);
	p->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
}

/* A second session on the listening socket of `on` (started, not
 * finished): the next connection to on->port runs `script`. */
static __attribute__((unused)) void peer_next(struct peer *p, const struct peer *on,
					      const char *const *script)
{
	memset(p, 0, sizeof(*p));
	p->script = script;
	p->lfd = dup(on->lfd);
	p->port = on->port;
	p->after = on;
	assert_true(p->lfd >= 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
}

static void peer_finish(struct peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->lfd);
	if (!p->ok)
		fail_msg("peer: %s (lines: %s)", p->failure, p->lines);
}

#endif
