/* queue-srs - the Sender Rewriting Scheme's key and its use for the
 * queue (mail/mail-srs.h does the rewriting): the secret lives in
 * DATA/srs.key (64 hexadecimal digits and a line end, 0600), made once
 * with 256 random bits on the first start with [queue] srs on, and read
 * at every start after, so that the addresses written before a restart
 * still decode. Copy the file to every server that must decode the
 * addresses of one domain (MX hosts of it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/config.h"
#include "core/durable.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/number.h"
#include "dir/dir.h"
#include "queue/queue-private.h"
#include "smtp/smtp-address.h"

#define QUEUE_SRS_FILE "srs.key"
#define QUEUE_SRS_TEXT (MAIL_SRS_SECRET_LEN * 2 + 1)

/* The key from its text: 64 hex digits, then a line end or nothing. */
static int queue_srs_parse(const char *text, size_t len, unsigned char *key)
{
	if (len != QUEUE_SRS_TEXT - 1 && !(len == QUEUE_SRS_TEXT && text[len - 1] == '\n'))
		return -1;
	for (size_t i = 0; i < MAIL_SRS_SECRET_LEN; i++) {
		int hi = number_hex_digit(text[2 * i]), lo = number_hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int queue_srs_create(int data_fd, const char *data, unsigned char *key, char **error_r)
{
	char text[QUEUE_SRS_TEXT + 1];
	const char *step = NULL;

	if (RAND_bytes(key, MAIL_SRS_SECRET_LEN) != 1)
		return errmsg_set(error_r, "cannot make an SRS key: no randomness");
	for (size_t i = 0; i < MAIL_SRS_SECRET_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	text[QUEUE_SRS_TEXT - 1] = '\n';
	if (durable_write(data_fd, QUEUE_SRS_FILE, text, QUEUE_SRS_TEXT, &step) < 0)
		return errmsg_set(error_r, "%s/%s: cannot %s: %s", data, QUEUE_SRS_FILE, step,
				  strerror(errno));
	log_event(LOG_LEVEL_INFO, "queue", NULL, NULL, "msg=\"SRS key made\" path=%s/%s", data,
		  QUEUE_SRS_FILE);
	return 0;
}

int queue_srs_open(struct queue *q, char **error_r)
{
	const char *data = q->cfg->server.data_dir;
	char text[QUEUE_SRS_TEXT + 8];
	struct stat st;
	ssize_t n;
	int data_fd, fd, ret = -1;

	if (!q->cfg->queue.srs)
		return 0;
	data_fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data_fd < 0)
		return errmsg_set(error_r, "%s: %s", data, strerror(errno));
	fd = openat(data_fd, QUEUE_SRS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		ret = queue_srs_create(data_fd, data, q->srs.secret, error_r);
	} else if (fd < 0) {
		errmsg_set(error_r, "%s/%s: %s", data, QUEUE_SRS_FILE,
			   errno == ELOOP ? "a symbolic link" : strerror(errno));
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errmsg_set(error_r, "%s/%s: not a regular file", data, QUEUE_SRS_FILE);
	} else if ((n = read(fd, text, sizeof(text))) < 0 ||
		   queue_srs_parse(text, (size_t)n, q->srs.secret) < 0) {
		errmsg_set(error_r, "%s/%s: not an SRS key (64 hexadecimal digits); remove it to "
			   "make a new one (addresses rewritten with the old key no longer decode)",
			   data, QUEUE_SRS_FILE);
	} else {
		if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) < 0)
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"cannot make the SRS key 0600\" path=%s/%s error=\"%s\"", data,
				  QUEUE_SRS_FILE, strerror(errno));
		ret = 0;
	}
	if (fd >= 0)
		close(fd);
	close(data_fd);
	q->srs_on = ret == 0;
	return ret;
}

const struct mail_srs *queue_srs(const struct queue *q)
{
	return q->srs_on ? &q->srs : NULL;
}

/* Whether the sender can go inside an SRS local part and stay one
 * address: a Dot-string local part (RFC 5321 4.1.2; UTF-8 too, RFC 6531
 * 3.3) and a domain name. A quoted local part ("john doe"@...) would put
 * its quotes in the middle of the new one, and an address literal its
 * brackets: neither is a valid mailbox then. */
static bool queue_srs_fits(const char *sender, const char *at)
{
	if (at[1] == '[')
		return false;
	for (const char *p = sender; p < at; p++)
		if (*p != '.' && (unsigned char)*p < 0x80 && !smtp_address_is_atext((unsigned char)*p))
			return false;
	return true;
}

enum mail_srs_result queue_srs_sender(struct queue *q, const char *sender, char *out)
{
	const char *at = strrchr(sender, '@');

	/* the null sender, a sender of ours, and one that SRS cannot carry
	 * leave as they are */
	if (!q->srs_on || sender[0] == '\0' || at == NULL || !queue_srs_fits(sender, at) ||
	    dir_domain_exists(q->dir, at + 1)) {
		if (strlen(sender) > MAIL_SRS_ADDRESS_MAX)
			return MAIL_SRS_TOO_LONG;
		strcpy(out, sender);
		return MAIL_SRS_OK;
	}
	return mail_srs_forward(&q->srs, sender, q->cfg->server.hostname, queue_now(), out);
}
