/* submit_load - the load generator of bench/relay_bench.py: SESSIONS
 * concurrent submission sessions, as mail clients make them, against one
 * server (tern or Postfix, the same load for both). Each session
 * connects, reads the greeting, EHLO, AUTH PLAIN (no TLS: the servers
 * allow it over loopback), then sends up to PER_SESSION messages of about
 * SIZE octets (MAIL, RCPT, DATA, one command at a time, no pipelining),
 * QUIT, and the next session starts in its place until MESSAGES are
 * sent. Message k goes to account (k mod ACCOUNTS) + 1, "<n>LOCAL@DOMAIN",
 * so every account gets its share. Replies are read with tern's own
 * reply parser. Prints `sent N errors E` (and the first error on
 * standard error); exits 0 only when all MESSAGES got their 250.
 *   submit-load HOST PORT USER PASSWORD SESSIONS MESSAGES PER_SESSION
 *               SIZE FROM LOCAL DOMAIN ACCOUNTS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "smtp/smtp-client-reply.h"

#define LOAD_IO_TIMEOUT 60      /* seconds per read or write: no hang */

struct load {
	struct sockaddr_in addr;
	char auth[1024];            /* "AUTH PLAIN base64\r\n" */
	const char *from, *local, *domain;
	unsigned long messages, per_session, accounts;
	char *body;                 /* header tail and body, dot-terminated */
	size_t body_len;
	atomic_ulong next;          /* the next message to hand out */
	atomic_ulong sent, errors;
	pthread_mutex_t lock;       /* the first error's text */
	char first_error[512];
};

struct load_conn {
	int fd;
	struct smtp_client_reply_parser parser;
	char in[4096];
	size_t in_len;              /* bytes of `in` not yet fed */
};

static void load_error(struct load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void load_error(struct load *l, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&l->lock);
	if (l->first_error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(l->first_error, sizeof(l->first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&l->lock);
}

static int load_write(struct load_conn *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one whole reply; its code, or 0 when the connection failed or the
 * reply was not SMTP. */
static unsigned load_reply(struct load_conn *c)
{
	smtp_client_reply_init(&c->parser);
	for (;;) {
		size_t used = 0;
		enum smtp_client_reply_result r = smtp_client_reply_feed(&c->parser, c->in, c->in_len, &used);

		if (r == SMTP_CLIENT_REPLY_ERROR)
			return 0;
		if (r == SMTP_CLIENT_REPLY_DONE) {
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
			return smtp_client_reply_get(&c->parser)->code;
		}
		ssize_t n = read(c->fd, c->in, sizeof(c->in));

		if (n < 0 && errno == EINTR) {
			c->in_len = 0;
			continue;
		}
		if (n <= 0)
			return 0;
		c->in_len = (size_t)n;
	}
}

/* Send a command (NULL: none, read the greeting) and check its reply's
 * code: `want`, or any of its class when `want` is a single digit
 * (smtp-sink, the generator's ceiling, answers AUTH with 250). */
static int load_step(struct load *l, struct load_conn *c, const char *cmd, size_t len, unsigned want,
		     const char *what)
{
	unsigned code;

	if (cmd != NULL && load_write(c, cmd, len) < 0) {
		load_error(l, "%s: write: %s", what, strerror(errno));
		return -1;
	}
	code = load_reply(c);
	if (want < 10 ? code / 100 != want : code != want) {
		load_error(l, "%s: %u %s", what, code, code ? smtp_client_reply_get(&c->parser)->text : "(no reply)");
		return -1;
	}
	return 0;
}

static int load_connect(struct load *l, struct load_conn *c)
{
	struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT };
	int one = 1;

	c->in_len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		load_error(l, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&l->addr, sizeof(l->addr)) < 0) {
		load_error(l, "connect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* One message, k, on an open session. */
static int load_message(struct load *l, struct load_conn *c, unsigned long k)
{
	char cmd[1024], head[512];
	unsigned long to = k % l->accounts + 1;
	int n;

	n = snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", l->from);
	if (load_step(l, c, cmd, (size_t)n, 250, "MAIL") < 0)
		return -1;
	n = snprintf(cmd, sizeof(cmd), "RCPT TO:<%lu%s@%s>\r\n", to, l->local, l->domain);
	if (load_step(l, c, cmd, (size_t)n, 250, "RCPT") < 0)
		return -1;
	if (load_step(l, c, "DATA\r\n", 6, 354, "DATA") < 0)
		return -1;
	n = snprintf(head, sizeof(head),
		     "From: <%s>\r\nTo: <%lu%s@%s>\r\nSubject: relay bench %lu\r\n"
		     "Message-ID: <%lu.%ld@submit-load.bench>\r\n", l->from, to, l->local, l->domain, k, k,
		     (long)getpid());
	if (load_write(c, head, (size_t)n) < 0 ||
	    load_step(l, c, l->body, l->body_len, 250, "end of data") < 0)
		return -1;
	atomic_fetch_add(&l->sent, 1);
	return 0;
}

static void *load_session_loop(void *arg)
{
	struct load *l = arg;
	struct load_conn c;

	for (;;) {
		unsigned long first = atomic_fetch_add(&l->next, l->per_session), k;

		if (first >= l->messages)
			return NULL;
		unsigned long last = first + l->per_session < l->messages ? first + l->per_session : l->messages;

		if (load_connect(l, &c) < 0 || load_step(l, &c, NULL, 0, 220, "greeting") < 0 ||
		    load_step(l, &c, "EHLO submit-load.bench\r\n", 24, 250, "EHLO") < 0 ||
		    load_step(l, &c, l->auth, strlen(l->auth), 2, "AUTH") < 0) {
			k = first;
		} else {
			for (k = first; k < last; k++)
				if (load_message(l, &c, k) < 0)
					break;
			if (k == last)
				(void)load_step(l, &c, "QUIT\r\n", 6, 221, "QUIT");
		}
		atomic_fetch_add(&l->errors, last - k);
		if (c.fd >= 0)
			close(c.fd);
	}
}

/* The message after its first header fields: a Date, then `size` octets
 * of body in lines of 76 (none starts with '.'), and the final dot. */
static void load_body(struct load *l, size_t size)
{
	static const char date[] = "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
				   "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	size_t n = sizeof(date) - 1;

	l->body = malloc(n + size + 84);
	if (l->body == NULL)
		abort();
	memcpy(l->body, date, n);
	for (size_t line = 0; n < sizeof(date) - 1 + size; line++) {
		for (size_t i = 0; i < 76; i++)
			l->body[n++] = (char)(i % 8 == 7 ? ' ' : 'a' + (i + line) % 26);
		l->body[n++] = '\r';
		l->body[n++] = '\n';
	}
	memcpy(l->body + n, ".\r\n", 3);
	l->body_len = n + 3;
}

static int load_auth(struct load *l, const char *user, const char *password)
{
	unsigned char plain[512];
	size_t ulen = strlen(user), plen = strlen(password);

	/* RFC 4616 2: authzid NUL authcid NUL passwd, authzid empty */
	if (ulen + plen + 2 > sizeof(plain) || (ulen + plen + 4) / 3 * 4 + 16 > sizeof(l->auth))
		return -1;
	plain[0] = '\0';
	memcpy(plain + 1, user, ulen);
	plain[1 + ulen] = '\0';
	memcpy(plain + 2 + ulen, password, plen);
	memcpy(l->auth, "AUTH PLAIN ", 11);
	int n = EVP_EncodeBlock((unsigned char *)l->auth + 11, plain, (int)(ulen + plen + 2));

	memcpy(l->auth + 11 + n, "\r\n", 3);
	return 0;
}

static int load_number(const char *s, unsigned long min, unsigned long *r)
{
	char *end;

	errno = 0;
	*r = strtoul(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || *r < min ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct load l;
	unsigned long port, sessions, size;
	pthread_t *threads;

	if (argc != 13 || load_number(argv[2], 1, &port) < 0 || port > 65535 ||
	    load_number(argv[5], 1, &sessions) < 0 || sessions > 10000 ||
	    load_number(argv[6], 1, &l.messages) < 0 || load_number(argv[7], 1, &l.per_session) < 0 ||
	    load_number(argv[8], 0, &size) < 0 || size > 100000000 ||
	    load_number(argv[12], 1, &l.accounts) < 0 ||
	    inet_pton(AF_INET, argv[1], &l.addr.sin_addr) != 1) {
		fprintf(stderr, "usage: submit-load HOST PORT USER PASSWORD SESSIONS MESSAGES PER_SESSION "
			"SIZE FROM LOCAL DOMAIN ACCOUNTS\n");
		return 2;
	}
	if (load_auth(&l, argv[3], argv[4]) < 0) {
		fprintf(stderr, "submit-load: user and password too long\n");
		return 2;
	}
	l.addr.sin_family = AF_INET;
	l.addr.sin_port = htons((uint16_t)port);
	l.from = argv[9];
	l.local = argv[10];
	l.domain = argv[11];
	pthread_mutex_init(&l.lock, NULL);
	load_body(&l, size);
	threads = calloc(sessions, sizeof(*threads));
	if (threads == NULL)
		abort();
	for (unsigned long i = 0; i < sessions; i++)
		if (pthread_create(&threads[i], NULL, load_session_loop, &l) != 0)
			abort();
	for (unsigned long i = 0; i < sessions; i++)
		pthread_join(threads[i], NULL);
	printf("sent %lu errors %lu\n", atomic_load(&l.sent), atomic_load(&l.errors));
	if (l.first_error[0] != '\0')
		fprintf(stderr, "submit-load: first error: %s\n", l.first_error);
	free(threads);
	free(l.body);
	return atomic_load(&l.sent) == l.messages && atomic_load(&l.errors) == 0 ? 0 : 1;
}
