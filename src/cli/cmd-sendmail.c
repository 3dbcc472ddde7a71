/* cmd-sendmail - `tern sendmail` (also tern run as "sendmail", through a
 * /usr/sbin/sendmail symbolic link): the sendmail(8) interface of cron,
 * PHP's mail(), git send-email and scripts. The message comes on standard
 * input (LF or CRLF line ends; a lone "." ends it unless -i), its header
 * is made fit to send (mail-submit.h: Bcc removed, Date, Message-ID and
 * From added, -t's recipients), and it is handed to the running server
 * in SMTP over [server] public_dir/sendmail.sock, where the server knows
 * the user by the socket's peer credentials (smtp.h, SMTP_SERVICE_LOCAL)
 * and queues it as any other mail. Exit codes are sendmail's
 * (sysexits.h): 0 once the server has the message on stable storage. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/public-dir.h"
#include "mail/mail-address.h"
#include "mail/mail-submit.h"

/* RFC 5321 4.5.3.2: the longest a client waits for a reply (DATA's end
 * gets 10 minutes). */
#define SENDMAIL_TIMEOUT_S 600
/* The longest command line (RFC 3461 5.4: 1,000 plus room for DSN's
 * parameters), as the server accepts. */
#define SENDMAIL_COMMAND_MAX 1030
/* The longest -F name. */
#define SENDMAIL_NAME_MAX 256

static const char sendmail_usage[] =
	"usage: tern sendmail [-t] [-i] [-oi] [-f SENDER] [-F NAME] [-bm] [RECIPIENT...]\n"
	"Send the message on standard input through the running tern server.\n"
	"  -t         also send to the addresses of To, Cc, Bcc and Resent-Bcc (the Bccs are removed)\n"
	"  -i, -oi    a line holding a single dot does not end the message\n"
	"  -f SENDER  the envelope sender (default: you@[server] hostname; <> for none)\n"
	"  -F NAME    the full name of a From header tern adds\n"
	"  -bm        read the message and send it (the default)\n"
	"  -N DSN     delivery status notices: never, or any of success,delay,failure\n"
	"  -R RET     what a notice returns: full or hdrs\n"
	"  -V ENVID   the envelope id a notice quotes\n"
	"-B TYPE, -o... and -v are accepted and ignored, as other sendmails do.\n"
	"Exit status as sendmail(8): 0 queued, 64 usage, 65 message or address\n"
	"refused, 67 unknown user, 75 try again later (no server running), 77 not\n"
	"allowed, 78 configuration.\n";

struct sendmail_args {
	struct cli_options opts;
	bool extract;        /* -t */
	bool dots;           /* a lone "." ends the input (no -i) */
	const char *sender;  /* -f, or NULL */
	const char *name;    /* -F, or NULL */
	char notify[40];     /* -N as RCPT's NOTIFY= value, "" for none */
	const char *ret;     /* -R as MAIL's RET= value, or NULL */
	char envid[310];     /* -V as MAIL's ENVID= value (xtext), "" for none */
	char **rcpts;        /* the arguments that are not options */
	int n_rcpts;
};

/* The recipients, qualified ("root" -> root@hostname). */
struct sendmail_rcpts {
	char **list;
	size_t n;
	const char *hostname;
};

static void sendmail_rcpt_add(void *ctx, const char *addr, size_t len)
{
	struct sendmail_rcpts *r = ctx;
	/* a quoted local part may hold '@': it has no domain when it ends
	 * the address */
	bool bare = addr[len - 1] == '"' || memchr(addr, '@', len) == NULL;
	char *copy;

	if (asprintf(&copy, "%s%s%s", addr, bare ? "@" : "", bare ? r->hostname : "") < 0)
		abort();
	r->list = realloc(r->list, (r->n + 1) * sizeof(*r->list));
	if (r->list == NULL)
		abort();
	r->list[r->n++] = copy;
}

static void sendmail_rcpts_free(struct sendmail_rcpts *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->list[i]);
	free(r->list);
}

/* ---- options ---- */

/* The value of -fADDR / -f ADDR: *i moves past it. NULL when missing. */
static const char *sendmail_value(int argc, char **argv, int *i)
{
	if (argv[*i][2] != '\0')
		return argv[*i] + 2;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* -N never | success,delay,failure (RFC 3461 4.1, as Postfix's -N):
 * NOTIFY's value into out. False when the list is not one. */
static bool sendmail_notify(const char *value, char *out, size_t size)
{
	static const char *const kinds[] = { "never", "success", "delay", "failure" };
	const char *p = value;
	size_t n = 0;

	out[0] = '\0';
	while (*p != '\0') {
		size_t len = strcspn(p, ","), k = 0;

		while (k < 4 && !(strlen(kinds[k]) == len && strncasecmp(p, kinds[k], len) == 0))
			k++;
		/* NEVER stands alone */
		if (k == 4 || (k == 0 && (n > 0 || p[len] != '\0')) || n + len + 2 > size)
			return false;
		if (n > 0)
			out[n++] = ',';
		for (size_t c = 0; c < len; c++)
			out[n++] = (char)toupper((unsigned char)p[c]);
		out[n] = '\0';
		p += len + (p[len] == ',');
	}
	return n > 0;
}

/* -V ENVID as xtext (RFC 3461 4): printable ASCII but '+' and '=' as
 * is, the rest as +XX; at most 100 characters before encoding. */
static bool sendmail_envid(const char *value, char *out, size_t size)
{
	size_t n = 0;

	if (*value == '\0' || strlen(value) > 100)
		return false;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 33 || *p > 126)
			return false;   /* RFC 3461 4.4: ENVID is printable ASCII */
		n += (size_t)snprintf(out + n, size - n, *p == '+' || *p == '=' ? "+%02X" : "%c", *p);
	}
	return n < size;
}

/* Returns -1 to go on, or the exit status (usage printed). */
static int sendmail_parse(int argc, char **argv, struct sendmail_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->dots = true;
	a->opts.access = CLI_ACCESS_NONE;   /* the peer's uid is who sends */
	a->opts.sets = calloc((size_t)argc, sizeof(*a->opts.sets));
	if (a->opts.sets == NULL)
		abort();
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *arg = argv[i], *value = NULL;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(sendmail_usage, stdout);
			return EX_OK;
		}
		if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0 ||
		    strcmp(arg, "--set") == 0) {
			if (i + 1 >= argc)
				goto usage;
			if (arg[1] == '-' && arg[2] == 's')
				a->opts.sets[a->opts.n_sets++] = argv[++i];
			else
				a->opts.config_path = argv[++i];
			continue;
		}
		if (strncmp(arg, "--set=", 6) == 0) {
			a->opts.sets[a->opts.n_sets++] = arg + 6;
			continue;
		}
		if (strspn(arg + 1, "ti") == strlen(arg + 1)) {
			/* -t, -i, and the two together ("-ti") */
			a->extract |= strchr(arg, 't') != NULL;
			a->dots &= strchr(arg, 'i') == NULL;
			continue;
		}
		switch (arg[1]) {
		case 'o':
			/* -oi; -odi, -oem, -om ... change nothing here */
			if (strcmp(arg, "-oi") == 0)
				a->dots = false;
			break;
		case 'b':
			if (strcmp(arg, "-bm") != 0) {
				fprintf(stderr, "tern sendmail: %.16s is not supported (only -bm)\n", arg);
				goto usage;
			}
			break;
		case 'f':
		case 'r':
			if ((value = sendmail_value(argc, argv, &i)) == NULL)
				goto usage;
			a->sender = value;
			break;
		case 'F':
			if ((value = sendmail_value(argc, argv, &i)) == NULL ||
			    strlen(value) > SENDMAIL_NAME_MAX)
				goto usage;
			a->name = value;
			break;
		case 'B':
			/* the body type: 8BITMIME is declared in any case */
			if (sendmail_value(argc, argv, &i) == NULL)
				goto usage;
			break;
		case 'N':
			if ((value = sendmail_value(argc, argv, &i)) == NULL ||
			    !sendmail_notify(value, a->notify, sizeof(a->notify)))
				goto usage;
			break;
		case 'R':
			if ((value = sendmail_value(argc, argv, &i)) == NULL ||
			    (strcasecmp(value, "full") != 0 && strcasecmp(value, "hdrs") != 0))
				goto usage;
			a->ret = strcasecmp(value, "full") == 0 ? "FULL" : "HDRS";
			break;
		case 'V':
			if ((value = sendmail_value(argc, argv, &i)) == NULL ||
			    !sendmail_envid(value, a->envid, sizeof(a->envid)))
				goto usage;
			break;
		case 'v':
			break;
		default:
			fprintf(stderr, "tern sendmail: unknown option %.32s\n", arg);
			goto usage;
		}
	}
	a->rcpts = argv + i;
	a->n_rcpts = argc - i;
	return -1;
usage:
	fputs(sendmail_usage, stderr);
	return EX_USAGE;
}

/* ---- standard input ---- */

struct sendmail_input {
	FILE *in;
	bool dots;
	bool ended;          /* EOF or the lone dot */
	char *line;
	size_t cap;
};

/* Append the next line of input to out, with CRLF: its LF or CRLF made
 * CRLF, a CR anywhere else a line end too (a progress bar in a cron
 * job's output must not get the message refused as a bare CR). Returns
 * 1, 0 at the end, -1 when out would exceed its bound or on a read
 * error (errno then says which). */
static int sendmail_read_line(struct sendmail_input *in, struct buf *out)
{
	ssize_t n;
	size_t len;

	if (in->ended)
		return 0;
	errno = 0;
	n = getline(&in->line, &in->cap, in->in);
	if (n < 0) {
		in->ended = true;
		return ferror(in->in) ? -1 : 0;
	}
	len = (size_t)n;
	if (len > 0 && in->line[len - 1] == '\n')
		len--;
	if (len > 0 && in->line[len - 1] == '\r')
		len--;
	if (in->dots && len == 1 && in->line[0] == '.') {
		in->ended = true;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		const char *piece = in->line[i] == '\r' ? "\r\n" : in->line + i;

		if (buf_append(out, piece, piece[0] == '\r' ? 2 : 1) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
	if (buf_append(out, "\r\n", 2) < 0) {
		errno = EFBIG;
		return -1;
	}
	return 1;
}

/* A line too long for any message (EFBIG) or a read error: say so. */
static int sendmail_input_error(int err)
{
	fprintf(stderr, "tern sendmail: reading the message: %s; it was not sent\n",
		err == EFBIG ? "a line longer than [limits] message_size" : strerror(err));
	return err == EFBIG ? EX_DATAERR : EX_IOERR;
}

/* ---- the SMTP dialogue ---- */

struct sendmail_conn {
	FILE *r, *w;
	char text[1024];     /* the last line of the last reply */
	unsigned code;
	bool line_start;     /* DATA: the next octet starts a line */
};

/* Whether the listener on fd is the mail server: its socket was made by
 * root (tern serve binds it before dropping root), by [server] user, or
 * by the user running this (a server of one's own). Anyone else may
 * only have planted it in a public_dir they could write, which the
 * server refuses to use: it would read the message and answer 250. */
static bool sendmail_peer_trusted(int fd, const char *server_user, uid_t *uid_r)
{
	struct passwd *pw;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*uid_r = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return false;
	*uid_r = cred.uid;
	if (cred.uid == 0 || cred.uid == getuid())
		return true;
	pw = getpwnam(server_user);
	return pw != NULL && pw->pw_uid == cred.uid;
}

/* Connect to the server's socket. Returns 0, or EX_TEMPFAIL/EX_OSERR/
 * EX_CONFIG after saying why. */
static int sendmail_connect(const struct config *cfg, struct sendmail_conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = SENDMAIL_TIMEOUT_S };
	const char *dir = cfg->server.public_dir;
	uid_t peer;
	int fd, fd2;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, PUBLIC_DIR_SENDMAIL_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return EX_OSERR;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr,
			"tern sendmail: the mail server is not running (%s: %s); the message was "
			"not sent\n",
			sun.sun_path, strerror(errno));
		close(fd);
		return EX_TEMPFAIL;
	}
	if (!sendmail_peer_trusted(fd, cfg->server.user, &peer)) {
		fprintf(stderr,
			"tern sendmail: %s is not the mail server's (its listener is uid %ld, "
			"neither root nor [server] user %s); the message was not sent\n",
			sun.sun_path, peer == (uid_t)-1 ? -1L : (long)peer, cfg->server.user);
		close(fd);
		return EX_CONFIG;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fd2 = dup(fd);
	c->r = fd2 >= 0 ? fdopen(fd2, "r") : NULL;
	c->w = fdopen(fd, "w");
	if (c->r == NULL || c->w == NULL)
		return EX_OSERR;
	return 0;
}

/* Read one reply (its lines "NNN-..." up to "NNN ..."): c->code, and
 * c->text its last line. 0 when the connection failed. */
static unsigned sendmail_reply(struct sendmail_conn *c)
{
	c->code = 0;
	if (fflush(c->w) != 0)
		return 0;
	while (fgets(c->text, sizeof(c->text), c->r) != NULL) {
		size_t len = strlen(c->text);

		while (len > 0 && (c->text[len - 1] == '\n' || c->text[len - 1] == '\r'))
			c->text[--len] = '\0';
		if (len < 3 || c->text[0] < '2' || c->text[0] > '5')
			return 0;
		if (len == 3 || c->text[3] == ' ') {
			c->code = (unsigned)strtoul(c->text, NULL, 10);
			return c->code;
		}
	}
	return 0;
}

/* RFC 3463's code after the reply code, or "". */
static const char *sendmail_enhanced(const struct sendmail_conn *c, char out[16])
{
	const char *t = c->text + 4;
	size_t len = strspn(t, "0123456789.");

	out[0] = '\0';
	if (strlen(c->text) > 4 && len >= 5 && len < 16 && t[1] == '.') {
		memcpy(out, t, len);
		out[len] = '\0';
	}
	return out;
}

/* What a refusal means to the caller, as sendmail(8)'s exit codes. */
static int sendmail_exit_code(const struct sendmail_conn *c)
{
	char esc[16];

	sendmail_enhanced(c, esc);
	if (c->code == 0)
		return EX_TEMPFAIL;               /* the server went away */
	if (strcmp(esc, "5.1.1") == 0)
		return EX_NOUSER;
	/* the message, not the moment: size, hops, recipients, line ends */
	if (strncmp(esc, "5.3.", 4) == 0 || strncmp(esc, "5.4.", 4) == 0 ||
	    strncmp(esc, "5.6.", 4) == 0 || strcmp(esc, "4.5.3") == 0 ||
	    strcmp(esc, "5.5.2") == 0 || strncmp(esc, "5.1.", 4) == 0 || c->code == 501 ||
	    c->code == 553 || c->code == 555)
		return EX_DATAERR;
	if (strncmp(esc, "5.7.", 4) == 0)
		return EX_NOPERM;
	if (c->code >= 400 && c->code < 500)
		return EX_TEMPFAIL;
	return c->code >= 500 ? EX_UNAVAILABLE : EX_PROTOCOL;
}

/* Send a command and read its reply; 0 when it is `want`, otherwise the
 * exit code after printing the reply. */
static int sendmail_command(struct sendmail_conn *c, unsigned want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sendmail_command(struct sendmail_conn *c, unsigned want, const char *fmt, ...)
{
	char what[SENDMAIL_COMMAND_MAX + 1];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(what)) {
		fprintf(stderr, "tern sendmail: an address is too long: %.60s...\n", what);
		return EX_DATAERR;
	}
	if (what[0] != '\0')
		fprintf(c->w, "%s\r\n", what);
	if (sendmail_reply(c) == want)
		return 0;
	if (c->code == 0)
		fprintf(stderr, "tern sendmail: the connection to the server was lost (%s)\n",
			what[0] != '\0' ? what : "greeting");
	else
		fprintf(stderr, "tern sendmail: %s: %s\n", what[0] != '\0' ? what : "greeting",
			c->text);
	return sendmail_exit_code(c);
}

/* DATA's bytes, dot-stuffed (RFC 5321 4.5.2); lines end in CRLF. */
static void sendmail_data(struct sendmail_conn *c, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (c->line_start && data[i] == '.')
			fputc('.', c->w);
		fputc(data[i], c->w);
		c->line_start = data[i] == '\n';
	}
}

static bool sendmail_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* ---- the whole ---- */

struct sendmail_job {
	const struct config *cfg;
	struct sendmail_args *args;
	char *sender;                  /* the envelope sender, "" for <> */
	struct sendmail_rcpts rcpts;
	struct sendmail_input in;
	struct buf header;             /* as read */
	struct buf out;                /* as sent */
	size_t body;                   /* where the body starts in header */
};

/* Read the header part of the input and fix it. 0, or the exit code. */
static int sendmail_header(struct sendmail_job *j, const char *from, const char *full_name)
{
	struct mail_submit sub = {
		.from_addr = from,
		.from_name = j->args->name != NULL ? j->args->name : full_name,
		.now = time(NULL),
		.rcpt = j->args->extract ? sendmail_rcpt_add : NULL,
		.ctx = &j->rcpts,
	};
	unsigned char rnd[8];
	char msgid[400];
	const char *field;
	int got;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return EX_OSERR;
	snprintf(msgid, sizeof(msgid), "<%" PRIu64 ".%ld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>",
		 (uint64_t)sub.now, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		 rnd[6], rnd[7], j->cfg->server.hostname);
	sub.message_id = msgid;
	/* up to the empty line, the end, or the bound */
	while (j->header.len < MAIL_SUBMIT_HEADER_MAX) {
		size_t before = j->header.len;

		got = sendmail_read_line(&j->in, &j->header);
		if (got < 0)
			return sendmail_input_error(errno);
		if (got == 0 || j->header.len - before == 2)
			break;
	}
	buf_init(&j->out, j->header.len + 4096);
	switch (mail_submit_header(&sub, j->header.data != NULL ? j->header.data : "",
				   j->header.len, j->in.ended, &j->out, &j->body, &field)) {
	case MAIL_SUBMIT_OK:
		return 0;
	case MAIL_SUBMIT_TOO_LARGE:
		fprintf(stderr, "tern sendmail: the header is larger than %d octets\n",
			MAIL_SUBMIT_HEADER_MAX);
		return EX_DATAERR;
	case MAIL_SUBMIT_BAD_ADDRESS:
	default:
		fprintf(stderr, "tern sendmail: %s: an address cannot be read; the message was not sent\n",
			field);
		return EX_DATAERR;
	}
}

/* The envelope, then DATA with the header and the rest of the input. */
static int sendmail_send(struct sendmail_job *j, struct sendmail_conn *c)
{
	const struct sendmail_args *a = j->args;
	bool utf8 = sendmail_8bit(j->sender);
	int ret;

	for (size_t i = 0; i < j->rcpts.n; i++)
		utf8 |= sendmail_8bit(j->rcpts.list[i]);
	if ((ret = sendmail_command(c, 220, "%s", "")) != 0 ||
	    (ret = sendmail_command(c, 250, "EHLO localhost")) != 0 ||
	    (ret = sendmail_command(c, 250, "MAIL FROM:<%s> BODY=8BITMIME%s%s%s%s%s", j->sender,
				    utf8 ? " SMTPUTF8" : "", a->ret != NULL ? " RET=" : "",
				    a->ret != NULL ? a->ret : "", a->envid[0] != '\0' ? " ENVID=" : "",
				    a->envid)) != 0)
		return ret;
	/* every recipient, or none: a script's retry must not send twice */
	for (size_t i = 0; i < j->rcpts.n; i++)
		if ((ret = sendmail_command(c, 250, "RCPT TO:<%s>%s%s", j->rcpts.list[i],
					    a->notify[0] != '\0' ? " NOTIFY=" : "", a->notify)) != 0)
			return ret;
	if ((ret = sendmail_command(c, 354, "DATA")) != 0)
		return ret;
	c->line_start = true;
	sendmail_data(c, j->out.data, j->out.len);
	sendmail_data(c, j->header.data + j->body, j->header.len - j->body);
	for (;;) {
		int got;

		buf_reset(&j->header);
		got = sendmail_read_line(&j->in, &j->header);
		if (got < 0)   /* the server gives the message up with the connection */
			return sendmail_input_error(errno);
		if (got == 0)
			break;
		sendmail_data(c, j->header.data, j->header.len);
		/* the server is gone: reading on would only waste the input */
		if (ferror(c->w)) {
			fprintf(stderr, "tern sendmail: the connection to the server was lost "
					"(DATA); the message was not sent\n");
			return EX_TEMPFAIL;
		}
	}
	if ((ret = sendmail_command(c, 250, ".")) != 0)
		return ret;
	fprintf(c->w, "QUIT\r\n");
	fflush(c->w);
	return EX_OK;
}

/* The sender: -f (brackets allowed, <> the null sender), else the user
 * at [server] hostname. NULL after printing why. */
static char *sendmail_sender(const struct sendmail_job *j, const char *login)
{
	const char *f = j->args->sender;
	struct sendmail_rcpts one = { .hostname = j->cfg->server.hostname };
	char *sender = NULL;

	if (f == NULL) {
		if (asprintf(&sender, "%s@%s", login, j->cfg->server.hostname) < 0)
			abort();
		return sender;
	}
	if (strcmp(f, "<>") == 0 || f[0] == '\0')
		return strdup("");
	if (mail_address_list(f, strlen(f), sendmail_rcpt_add, &one) == 0 && one.n == 1) {
		sender = one.list[0];
		one.n = 0;
	} else {
		fprintf(stderr, "tern sendmail: -f %.256s: not one address\n", f);
	}
	sendmail_rcpts_free(&one);
	return sender;
}

/* The user the kernel will name to the server, and a full name for From. */
static int sendmail_user(char login[64], char full_name[SENDMAIL_NAME_MAX + 1])
{
	struct passwd *pw = getpwuid(getuid());
	size_t comma;

	if (pw == NULL || strlen(pw->pw_name) >= 64) {
		fprintf(stderr, "tern sendmail: uid %lu has no user name\n",
			(unsigned long)getuid());
		return EX_NOUSER;
	}
	snprintf(login, 64, "%s", pw->pw_name);
	/* the GECOS field's first part, as sendmail takes it */
	comma = pw->pw_gecos != NULL ? strcspn(pw->pw_gecos, ",") : 0;
	snprintf(full_name, SENDMAIL_NAME_MAX + 1, "%.*s", (int)comma,
		 comma > 0 ? pw->pw_gecos : "");
	return 0;
}

static int sendmail_run(struct sendmail_job *j)
{
	char login[64], full_name[SENDMAIL_NAME_MAX + 1], from[MAIL_ADDRESS_MAX + 320];
	struct sendmail_conn c = { .r = NULL };
	int ret;

	if ((ret = sendmail_user(login, full_name)) != 0)
		return ret;
	j->sender = sendmail_sender(j, login);
	if (j->sender == NULL)
		return EX_DATAERR;
	for (int i = 0; i < j->args->n_rcpts; i++) {
		const char *arg = j->args->rcpts[i];

		if (mail_address_list(arg, strlen(arg), sendmail_rcpt_add, &j->rcpts) != 0) {
			fprintf(stderr, "tern sendmail: %.256s: not an address\n", arg);
			return EX_DATAERR;
		}
	}
	/* From: the sender, or the user when it is <> */
	if (j->sender[0] != '\0')
		snprintf(from, sizeof(from), "%s", j->sender);
	else
		snprintf(from, sizeof(from), "%s@%s", login, j->cfg->server.hostname);
	if ((ret = sendmail_header(j, from, full_name[0] != '\0' ? full_name : NULL)) != 0)
		return ret;
	if (j->rcpts.n == 0) {
		fprintf(stderr, "tern sendmail: no recipients (give some, or -t with To, Cc or Bcc)\n");
		return EX_USAGE;
	}
	if (j->cfg->server.public_dir == NULL || j->cfg->server.public_dir[0] == '\0') {
		fprintf(stderr, "tern sendmail: [server] public_dir is empty: the server has no "
				"socket for local mail\n");
		return EX_CONFIG;
	}
	ret = sendmail_connect(j->cfg, &c);
	if (ret == 0)
		ret = sendmail_send(j, &c);
	if (c.r != NULL)
		fclose(c.r);
	if (c.w != NULL)
		fclose(c.w);
	return ret;
}

int cmd_sendmail(int argc, char **argv)
{
	struct sendmail_args args;
	struct sendmail_job job;
	struct config cfg;
	int ret = sendmail_parse(argc, argv, &args);

	if (ret >= 0) {
		cli_options_free(&args.opts);
		return ret;
	}
	/* A server that dies mid-message is a write error and EX_TEMPFAIL,
	 * not a death by SIGPIPE that says nothing and no sysexits code. */
	signal(SIGPIPE, SIG_IGN);
	memset(&cfg, 0, sizeof(cfg));
	if (cli_config_load(&args.opts, &cfg) < 0) {
		cli_options_free(&args.opts);
		return EX_CONFIG;
	}
	job = (struct sendmail_job){
		.cfg = &cfg,
		.args = &args,
		.rcpts = { .hostname = cfg.server.hostname },
		.in = { .in = stdin, .dots = args.dots },
	};
	/* one line may be as long as the message may be */
	buf_init(&job.header, MAIL_SUBMIT_HEADER_MAX + (size_t)cfg.limits.message_size + 4096);
	ret = sendmail_run(&job);
	buf_release(&job.header);
	buf_release(&job.out);
	free(job.in.line);
	free(job.sender);
	sendmail_rcpts_free(&job.rcpts);
	config_free(&cfg);
	cli_options_free(&args.opts);
	return ret;
}
