/* import-mbox - `tern import mbox`: stream an mbox file through the
 * splitter into durable appends, one message at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store/store-private.h"
#include "store/transfer.h"

struct mbox_import {
	struct store_account *acct;
	const char *mailbox;
	const char *path;
	FILE *out, *err;
	struct transfer_stats *stats;
	struct store_append *ap;
	struct transfer_writer w;
	enum store_error fatal;
	size_t index;            /* message number in the file, from 1 */
	uint64_t size;
	int64_t date;
	unsigned flags;
	char *keywords;
	bool in_header, at_line_start, dropping, pseudo;
};

/* "From sender Sat Jan  3 01:05:34 1996": the asctime() date after the
 * sender. 0 when it does not parse. */
static int64_t mbox_from_date(const char *line, size_t len)
{
	char buf[256];
	const char *sp;
	struct tm tm;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	sp = strchr(buf + 5, ' ');
	if (sp == NULL)
		return 0;
	while (*sp == ' ')
		sp++;
	memset(&tm, 0, sizeof(tm));
	if (strptime(sp, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

static int mbox_import_begin(void *ctx, const char *from_line, size_t len)
{
	struct mbox_import *im = ctx;
	enum store_error e;

	im->index++;
	im->date = mbox_from_date(from_line, len);
	im->flags = 0;
	free(im->keywords);
	im->keywords = NULL;
	im->in_header = true;
	im->at_line_start = true;
	im->dropping = false;
	im->pseudo = false;
	im->size = 0;
	if ((e = store_append_begin(im->acct, im->mailbox, &im->ap)) != STORE_OK) {
		im->fatal = e;
		return 1;
	}
	transfer_writer_init(&im->w, im->ap);
	return 0;
}

static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Metadata headers of mbox writers: turned into flags and keywords, not
 * stored. X-IMAP marks the pseudo message of UW-IMAP/Dovecot. */
static bool mbox_import_meta(struct mbox_import *im, const char *line, size_t len)
{
	if (header_is(line, len, "Status") || header_is(line, len, "X-Status")) {
		for (size_t i = strcspn(line, ":") + 1; i < len; i++) {
			switch (line[i]) {
			case 'R': im->flags |= STORE_FLAG_SEEN; break;
			case 'A': im->flags |= STORE_FLAG_ANSWERED; break;
			case 'F': im->flags |= STORE_FLAG_FLAGGED; break;
			case 'D': im->flags |= STORE_FLAG_DELETED; break;
			case 'T': im->flags |= STORE_FLAG_DRAFT; break;
			default: break;
			}
		}
		return true;
	}
	if (header_is(line, len, "X-Keywords")) {
		char buf[1024];
		size_t start = strlen("X-Keywords:"), n = len - start;

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line + start, n);
		buf[n] = '\0';
		for (char *p = buf; *p != '\0'; p++)
			if (*p == ',' || *p == '\r' || *p == '\n' || *p == '\t')
				*p = ' ';
		free(im->keywords);
		if (!store_keywords_normalize(buf, &im->keywords))
			im->keywords = NULL;
		return true;
	}
	if (header_is(line, len, "X-IMAP") || header_is(line, len, "X-IMAPbase")) {
		im->pseudo = header_is(line, len, "X-IMAP");
		return true;
	}
	return header_is(line, len, "X-UID");
}

static int mbox_import_data(void *ctx, const char *data, size_t len)
{
	struct mbox_import *im = ctx;
	bool start = im->at_line_start;

	im->at_line_start = len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n';
	if (len == 2 && start && im->at_line_start && data[0] == '\r')
		im->in_header = false;
	if (im->in_header) {
		if (start && data[0] != ' ' && data[0] != '\t')
			im->dropping = mbox_import_meta(im, data, len);
		if (im->dropping)
			return 0;
	}
	im->size += len;
	transfer_writer_write(&im->w, data, len);
	return 0;
}

static int mbox_import_end(void *ctx)
{
	struct mbox_import *im = ctx;
	enum store_error e;
	uint32_t uid;

	e = transfer_writer_flush(&im->w);
	if (e != STORE_OK || im->size == 0 || im->pseudo) {
		store_append_abort(&im->ap);
		if (im->pseudo)
			return 0;
		im->stats->skipped++;
		fprintf(im->err, "skipped %s#%zu: %s\n", im->path, im->index,
			im->size == 0 ? "empty message" : store_error_name(e));
		if (e == STORE_ERR_IO) {
			im->fatal = e;
			return 1;
		}
		return 0;
	}
	e = store_append_commit(&im->ap, im->flags, im->keywords, im->date, &uid);
	if (e != STORE_OK) {
		fprintf(im->err, "failed %s#%zu: %s\n", im->path, im->index, store_error_name(e));
		im->fatal = e;
		return 1;
	}
	im->stats->messages++;
	fprintf(im->out, "imported %s %u %s#%zu\n", im->mailbox, uid, im->path, im->index);
	fflush(im->out);
	return 0;
}

static const struct mbox_callbacks mbox_import_callbacks = {
	.begin = mbox_import_begin,
	.data = mbox_import_data,
	.end = mbox_import_end,
};

enum store_error transfer_import_mbox(struct store_account *acct, const char *path,
				      const char *mailbox, FILE *out, FILE *err,
				      struct transfer_stats *stats)
{
	struct mbox_import im = {
		.acct = acct, .path = path, .out = out, .err = err, .stats = stats,
		.mailbox = mailbox != NULL ? mailbox : "INBOX",
	};
	struct mbox_parser *parser;
	char buf[65536];
	enum store_error e;
	ssize_t n;
	int fd, rc = MBOX_OK;

	memset(stats, 0, sizeof(*stats));
	if ((e = transfer_mailbox_ensure(acct, im.mailbox)) != STORE_OK) {
		fprintf(err, "mailbox %s: %s\n", im.mailbox, store_error_name(e));
		return e;
	}
	stats->mailboxes = 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return STORE_ERR_NOT_FOUND;
	}
	parser = mbox_parser_new(&mbox_import_callbacks, &im);
	while (rc == MBOX_OK && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(err, "%s: %s\n", path, strerror(errno));
			im.fatal = STORE_ERR_IO;
			break;
		}
		rc = mbox_parser_feed(parser, buf, (size_t)n);
	}
	if (rc == MBOX_OK && im.fatal == STORE_OK)
		rc = mbox_parser_finish(parser);
	mbox_parser_free(&parser);
	close(fd);
	store_append_abort(&im.ap);
	free(im.keywords);
	if (rc == MBOX_ERR_NOT_MBOX) {
		fprintf(err, "%s: not an mbox file (it does not start with a \"From \" line)\n", path);
		return STORE_ERR_INVALID;
	}
	return im.fatal;
}
