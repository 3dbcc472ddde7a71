/* import-mbox - `tern import mbox`: stream an mbox file through the
 * splitter into appends, one message at a time, committed in batches. */
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
	const struct transfer_import *im;
	const char *mailbox;
	const char *path;
	struct transfer_batch tb;
	struct transfer_writer w;    /* w.ap: the message being written */
	enum store_error fatal;
	size_t index;            /* message number in the file, from 1 */
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
	transfer_writer_init(&im->w, NULL, im->im->max_size);
	if ((e = store_append_begin(im->acct, im->mailbox, &im->w.ap)) != STORE_OK) {
		im->fatal = e;
		return 1;
	}
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
	transfer_writer_write(&im->w, data, len);
	return 0;
}

static int mbox_import_end(void *ctx)
{
	struct mbox_import *im = ctx;
	struct transfer_message m = {
		.mailbox = im->mailbox, .flags = im->flags, .keywords = im->keywords,
		.internal_date = im->date,
	};
	char *source;

	if (im->pseudo) {
		store_append_abort(&im->w.ap);
		return 0;
	}
	if (asprintf(&source, "%s#%zu", im->path, im->index) < 0)
		abort();
	m.source = source;
	im->fatal = transfer_writer_commit(&im->w, &m, &im->tb);
	free(source);
	return im->fatal != STORE_OK;
}

static const struct mbox_callbacks mbox_import_callbacks = {
	.begin = mbox_import_begin,
	.data = mbox_import_data,
	.end = mbox_import_end,
};

enum store_error transfer_import_mbox(struct store_account *acct, const char *path,
				      const struct transfer_import *opts,
				      struct transfer_stats *stats)
{
	struct mbox_import im = {
		.acct = acct, .im = opts, .path = path,
		.mailbox = opts->mailbox != NULL ? opts->mailbox : "INBOX",
	};
	FILE *err = opts->err;
	struct mbox_parser *parser;
	const char *why;
	struct stat st;
	char buf[65536];
	enum store_error e;
	ssize_t n;
	int fd, rc = MBOX_OK;

	memset(stats, 0, sizeof(*stats));
	fd = transfer_source_open(acct, path, &st, &why);
	if (fd < 0) {
		fprintf(err, "%s: %s\n", path, why);
		return errno == ENOENT ? STORE_ERR_NOT_FOUND : STORE_ERR_INVALID;
	}
	if ((e = transfer_mailbox_ensure(acct, im.mailbox)) != STORE_OK) {
		fprintf(err, "mailbox %s: %s\n", im.mailbox, store_error_name(e));
		close(fd);
		return e;
	}
	if ((e = transfer_batch_init(&im.tb, acct, opts, stats)) != STORE_OK) {
		fprintf(err, "%s: cannot start the import (see the log)\n", path);
		close(fd);
		return e;
	}
	stats->mailboxes = 1;
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
	/* what is pending is stored even when a later message failed */
	if ((e = transfer_batch_flush(&im.tb)) != STORE_OK && im.fatal == STORE_OK)
		im.fatal = e;
	mbox_parser_free(&parser);
	close(fd);
	store_append_abort(&im.w.ap);
	transfer_batch_free(&im.tb);
	free(im.keywords);
	if (rc == MBOX_ERR_NOT_MBOX) {
		fprintf(err, "%s: not an mbox file (it does not start with a \"From \" line)\n", path);
		return STORE_ERR_INVALID;
	}
	return im.fatal;
}
