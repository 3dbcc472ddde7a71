/* transfer - helpers the importers share: opening a source file safely, a
 * buffered writer that turns bare LF and bare CR into CRLF (and ends every
 * message with a line end) under a size limit, the end of one imported
 * message (limit, duplicate check, into the batch), the batch's commit
 * and its output, and creating target mailboxes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store-private.h"
#include "store/transfer.h"

void transfer_writer_init(struct transfer_writer *w, struct store_append *ap, uint64_t max)
{
	w->ap = ap;
	w->error = STORE_OK;
	w->prev_cr = 0;
	w->last = -1;
	w->size = 0;
	w->max = max == 0 || max > STORE_MESSAGE_MAX ? STORE_MESSAGE_MAX : max;
	w->len = 0;
}

static void transfer_writer_drain(struct transfer_writer *w)
{
	/* size counts what is in buf too: over the limit, nothing more is
	 * written, and the partial file is removed by the abort */
	if (w->size > w->max && w->error == STORE_OK)
		w->error = STORE_ERR_TOO_BIG;
	if (w->len > 0 && w->error == STORE_OK)
		w->error = store_append_write(w->ap, w->buf, w->len);
	w->len = 0;
}

void transfer_writer_write(struct transfer_writer *w, const void *data, size_t len)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		size_t before = w->len;

		/* room for "\r\n" */
		if (w->len + 2 > sizeof(w->buf)) {
			transfer_writer_drain(w);
			before = 0;
		}
		/* bare CR (old Mac line ends, mixed files) ends a line too:
		 * message files have CRLF only (DESIGN 5) */
		if (w->prev_cr && p[i] != '\n')
			w->buf[w->len++] = '\n';
		if (p[i] == '\n' && !w->prev_cr)
			w->buf[w->len++] = '\r';
		w->buf[w->len++] = p[i];
		w->size += w->len - before;
		w->prev_cr = p[i] == '\r';
		w->last = (unsigned char)p[i];
	}
}

enum store_error transfer_writer_flush(struct transfer_writer *w)
{
	if (w->len + 2 > sizeof(w->buf))
		transfer_writer_drain(w);
	if (w->prev_cr) {
		w->buf[w->len++] = '\n';
		w->size++;
	} else if (w->last >= 0 && w->last != '\n') {
		/* A last line without its line end: end it. A message is lines
		 * (RFC 5322 2.1), SMTP always delivers it so, and POP3 must send
		 * exactly the octets LIST announced (RFC 1939 5). */
		w->buf[w->len++] = '\r';
		w->buf[w->len++] = '\n';
		w->size += 2;
	}
	w->prev_cr = 0;
	w->last = '\n';
	transfer_writer_drain(w);
	return w->error;
}

enum store_error transfer_mailbox_ensure(struct store_account *acct, const char *name)
{
	char canon[STORE_MAILBOX_NAME_MAX + 1];
	struct store_mailbox box;
	enum store_error err;

	if (!store_mailbox_name_canon(name, canon, sizeof(canon)))
		return STORE_ERR_INVALID;
	err = store_mailbox_get(acct, canon, &box);
	store_mailbox_free(&box);
	if (err != STORE_ERR_NOT_FOUND)
		return err;
	/* parents first, so the hierarchy has no holes */
	for (char *slash = strchr(canon, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		err = store_mailbox_create(acct, canon, STORE_SPECIAL_NONE);
		*slash = '/';
		if (err != STORE_OK && err != STORE_ERR_EXISTS)
			return err;
	}
	err = store_mailbox_create(acct, canon, STORE_SPECIAL_NONE);
	return err == STORE_ERR_EXISTS ? STORE_OK : err;
}

enum store_error transfer_batch_init(struct transfer_batch *tb, struct store_account *acct,
				     const struct transfer_import *im,
				     struct transfer_stats *stats)
{
	memset(tb, 0, sizeof(*tb));
	tb->im = im;
	tb->stats = stats;
	return store_batch_new(acct, &tb->sb);
}

static void transfer_batch_forget(struct transfer_batch *tb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tb->mailboxes[i]);
		free(tb->sources[i]);
		tb->mailboxes[i] = tb->sources[i] = NULL;
	}
}

enum store_error transfer_batch_flush(struct transfer_batch *tb)
{
	struct store_batch_result results[STORE_BATCH_MAX];
	size_t n = store_batch_count(tb->sb);
	enum store_error first = STORE_OK;

	store_batch_commit(tb->sb, results);
	for (size_t i = 0; i < n; i++) {
		if (results[i].error == STORE_OK) {
			tb->stats->messages++;
			fprintf(tb->im->out, "imported %s %u %s\n", tb->mailboxes[i], results[i].uid,
				tb->sources[i]);
			continue;
		}
		fprintf(tb->im->err, "failed %s: %s\n", tb->sources[i],
			store_error_name(results[i].error));
		if (first == STORE_OK)
			first = results[i].error;
	}
	fflush(tb->im->out);
	transfer_batch_forget(tb, n);
	return first;
}

void transfer_batch_free(struct transfer_batch *tb)
{
	transfer_batch_forget(tb, store_batch_count(tb->sb));
	store_batch_free(&tb->sb);
}

enum store_error transfer_writer_commit(struct transfer_writer *w, const struct transfer_message *m,
					struct transfer_batch *tb)
{
	enum store_error e = transfer_writer_flush(w);
	size_t slot = store_batch_count(tb->sb);
	bool present = false, full = false;

	if (e == STORE_OK && w->size > 0)
		e = store_batch_add(tb->sb, &w->ap, m->flags, m->keywords, m->internal_date,
				    m->uid, &present, &full);
	if (present) {
		tb->stats->present++;
		return STORE_OK;
	}
	if (e != STORE_OK || w->size == 0) {
		store_append_abort(&w->ap);
		tb->stats->skipped++;
		if (e == STORE_ERR_TOO_BIG)
			fprintf(tb->im->err, "skipped %s: %llu bytes, over the limit of %llu"
				" ([limits] message_size)\n", m->source,
				(unsigned long long)w->size, (unsigned long long)w->max);
		else
			fprintf(tb->im->err, "skipped %s: %s\n", m->source,
				e == STORE_OK ? "empty message" : store_error_name(e));
		return e == STORE_ERR_IO ? e : STORE_OK;
	}
	tb->mailboxes[slot] = strdup(m->mailbox);
	tb->sources[slot] = strdup(m->source);
	if (tb->mailboxes[slot] == NULL || tb->sources[slot] == NULL)
		abort();
	return full ? transfer_batch_flush(tb) : STORE_OK;
}

static const char *transfer_file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO, not a regular file";
	if (S_ISDIR(mode))
		return "a folder, not a regular file";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device, not a regular file";
	if (S_ISSOCK(mode))
		return "a socket, not a regular file";
	return "not a regular file";
}

/* Whether the open file lies inside the message stores (DATA/mail), by
 * the path the kernel resolved: a symlinked folder on the way (O_NOFOLLOW
 * guards only the last part) does not hide it. False when that cannot be
 * told (no /proc). */
static bool transfer_in_stores(struct store_account *acct, int fd)
{
	char link[64], file[PATH_MAX], *mail, *stores;
	ssize_t n;
	size_t len;
	bool inside;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, file, sizeof(file) - 1);
	if (asprintf(&mail, "%s/mail", acct->data_dir) < 0)
		abort();
	stores = realpath(mail, NULL);
	free(mail);
	if (n <= 0 || stores == NULL) {
		free(stores);
		return false;
	}
	file[n] = '\0';
	len = strlen(stores);
	inside = strncmp(file, stores, len) == 0 && file[len] == '/';
	free(stores);
	return inside;
}

int transfer_source_open(struct store_account *acct, const char *path, struct stat *st_r,
			 const char **why_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*why_r = NULL;
	if (fd < 0) {
		*why_r = errno == ELOOP ? "a symbolic link, not followed" : strerror(errno);
		return -1;
	}
	if (fstat(fd, st_r) < 0)
		*why_r = strerror(errno);
	else if (!S_ISREG(st_r->st_mode))
		*why_r = transfer_file_kind(st_r->st_mode);
	else if (transfer_in_stores(acct, fd))
		*why_r = "a file of tern's own message store, not imported";
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		*why_r = strerror(errno);
	if (*why_r != NULL) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}
