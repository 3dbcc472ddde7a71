/* queue-file - a queue message on disk: the final file DATA/queue/msg/ID
 * written once (Return-Path, the fields queue_msg_prepend gave, then the
 * bytes received, from memory and the temporary file), its envelope
 * record in the file's extended attribute or, when too big for one, in
 * DATA/queue/env/ID; reading the envelope back; and taking a finished
 * message away. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/fd-read.h"
#include "core/log.h"
#include "queue/queue-private.h"

enum queue_error queue_error_from_errno(int err)
{
	return err == ENOSPC || err == EDQUOT ? QUEUE_ERR_NO_SPACE : QUEUE_ERR_IO;
}

static enum queue_error queue_file_fail(struct queue *q, const struct queue_msg *m,
					const char *what, int err)
{
	log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
		  "msg=\"cannot queue a message: %s\" queue_id=%s path=%s error=\"%s\"", what,
		  m->rec.id, q->path, strerror(err));
	return queue_error_from_errno(err);
}

/* Write all of iov (which it consumes). */
static int queue_writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int queue_write_all(int fd, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return queue_writev_all(fd, &iov, 1);
}

/* The temporary file's bytes after what fd holds: copy_file_range (no
 * copy through user space), or read and write where it is refused. */
static int queue_copy_tmp(int from, uint64_t len, int to)
{
	char buf[65536];
	off_t in = 0;

	while ((uint64_t)in < len) {
		ssize_t n = copy_file_range(from, &in, to, NULL, (size_t)(len - (uint64_t)in), 0);

		if (n > 0)
			continue;
		if (n == 0) {
			errno = EIO;   /* the file is shorter than what was written */
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		break;
	}
	while ((uint64_t)in < len) {
		size_t want = len - (uint64_t)in < sizeof(buf) ? (size_t)(len - (uint64_t)in) : sizeof(buf);
		ssize_t n = pread(from, buf, want, in);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		if (queue_write_all(to, buf, (size_t)n) < 0)
			return -1;
		in += n;
	}
	return 0;
}

/* The envelope in env/ID, for a record the extended attribute cannot hold. */
static int queue_env_file_write(struct queue *q, struct queue_msg *m, const char *record,
				size_t len)
{
	int fd = openat(q->env_fd, m->rec.id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);

	/* left by a crash while its message was being written */
	if (fd < 0 && errno == EEXIST && unlinkat(q->env_fd, m->rec.id, 0) == 0)
		fd = openat(q->env_fd, m->rec.id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
	if (fd < 0)
		return -1;
	m->env_fd = fd;
	return queue_write_all(fd, record, len);
}

/* Open msg/ID for the final write: the pool's empty file, or a new one. */
static int queue_file_open(struct queue *q, struct queue_msg *m)
{
	struct stat st;

	if (!m->pooled) {
		m->fd = openat(q->msg_fd, m->rec.id,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		m->created = m->written = m->fd >= 0;
		return m->fd >= 0 ? 0 : -1;
	}
	m->fd = openat(q->msg_fd, m->rec.id, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (m->fd < 0)
		return -1;
	m->written = true;
	if (fstat(m->fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size != 0 || st.st_nlink != 1) {
		errno = EEXIST;   /* not the pool's empty file any more */
		m->written = false;
		return -1;
	}
	return 0;
}

enum queue_error queue_file_write(struct queue *q, struct queue_msg *m)
{
	char *record;
	char *head = NULL;
	size_t rlen;
	int hlen, rc;
	struct iovec iov[2];

	if (queue_file_open(q, m) < 0)
		return queue_file_fail(q, m, "cannot open its file", errno);
	/* RFC 5321 4.4: the delivered copy starts with the envelope sender */
	hlen = asprintf(&head, "Return-Path: <%s>\r\n%.*s", m->rec.env.sender,
			(int)m->prefix_len, m->prefix != NULL ? m->prefix : "");
	if (hlen < 0)
		abort();
	/* total counts the prefix, which head holds */
	m->rec.size = (uint64_t)hlen - m->prefix_len + m->total;
	if (m->tmp_fd >= 0) {
		rc = queue_write_all(m->fd, head, (size_t)hlen);
		if (rc == 0)
			rc = queue_copy_tmp(m->tmp_fd, m->tmp_len, m->fd);
		if (rc == 0)
			rc = queue_write_all(m->fd, m->mem, m->mem_len);
	} else {
		iov[0] = (struct iovec){ .iov_base = head, .iov_len = (size_t)hlen };
		iov[1] = (struct iovec){ .iov_base = m->mem, .iov_len = m->mem_len };
		rc = queue_writev_all(m->fd, iov, 2);
	}
	free(head);
	if (rc < 0)
		return queue_file_fail(q, m, "cannot write its file", errno);
	record = queue_record_format(&m->rec, &rlen);
	rc = fsetxattr(m->fd, QUEUE_XATTR, record, rlen, 0);
	/* Too big for an extended attribute here (ext4: about a block for
	 * all of a file's attributes), or none on this file system. */
	if (rc < 0 && (errno == E2BIG || errno == ENOSPC || errno == ERANGE ||
		       errno == ENOTSUP || errno == EOPNOTSUPP))
		rc = queue_env_file_write(q, m, record, rlen);
	free(record);
	if (rc < 0)
		return queue_file_fail(q, m, "cannot write its envelope", errno);
	return QUEUE_OK;
}

void queue_file_release(struct queue *q, struct queue_msg *m, bool keep)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->env_fd >= 0)
		close(m->env_fd);
	if (!keep && m->env_fd >= 0)
		unlinkat(q->env_fd, m->rec.id, 0);
	if (!keep && m->written)
		unlinkat(q->msg_fd, m->rec.id, 0);
	m->fd = m->env_fd = -1;
	m->written = false;
	if (m->tmp_fd >= 0) {
		close(m->tmp_fd);
		unlinkat(q->tmp_fd, m->rec.id, 0);
		m->tmp_fd = -1;
	}
}

/* Read a whole small file (the env/ fallback) into memory. */
static char *queue_read_env_file(struct queue *q, const char *id, size_t *len_r)
{
	int fd = openat(q->env_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *data;
	size_t got;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > QUEUE_ENVELOPE_MAX) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		abort();
	got = fd_read_full(fd, data, (size_t)st.st_size);
	close(fd);
	*len_r = got;
	return data;
}

int queue_file_envelope(struct queue *q, const char *id, int fd, struct queue_record *rec_r)
{
	const char *error = NULL;
	char *data = NULL;
	ssize_t len = fgetxattr(fd, QUEUE_XATTR, NULL, 0);
	size_t dlen = 0;
	int ret;

	if (len >= 0) {
		data = malloc((size_t)len + 1);
		if (data == NULL)
			abort();
		len = fgetxattr(fd, QUEUE_XATTR, data, (size_t)len);
		if (len < 0) {
			free(data);
			data = NULL;
		}
		dlen = len > 0 ? (size_t)len : 0;
	}
	if (data == NULL && len < 0 && errno != ENODATA && errno != ENOTSUP) {
		log_event(LOG_LEVEL_ERROR, "queue", NULL, NULL,
			  "msg=\"cannot read a queue file's envelope\" queue_id=%s error=\"%s\"", id,
			  strerror(errno));
		return -1;
	}
	if (data == NULL && (data = queue_read_env_file(q, id, &dlen)) == NULL)
		return errno == ENOENT ? 1 : -1;
	ret = queue_record_parse(data, dlen, rec_r, &error);
	free(data);
	if (ret < 0) {
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"a queue file's envelope is broken\" queue_id=%s error=\"%s\"", id,
			  error);
		return -1;
	}
	return 0;
}

void queue_file_finish(struct queue *q, const char *id)
{
	int fd = openat(q->msg_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool in_xattr = false;

	/* The envelope goes first: the inode is shared with the mailboxes,
	 * and a crash before the unlink must leave a file the rebuild knows
	 * as finished (data, no envelope), never a message to deliver
	 * again with its envelope on a mailbox's copy. */
	if (fd >= 0) {
		in_xattr = fremovexattr(fd, QUEUE_XATTR) == 0;
		if (!in_xattr && errno != ENODATA && errno != ENOTSUP)
			log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
				  "msg=\"cannot remove an envelope\" queue_id=%s error=\"%s\"", id,
				  strerror(errno));
		close(fd);
	}
	/* An envelope is in one place, never both (queue_file_write): one
	 * found in the attribute leaves no file in env/ to look for. */
	if (!in_xattr && unlinkat(q->env_fd, id, 0) < 0 && errno != ENOENT)
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"cannot remove an envelope file\" queue_id=%s error=\"%s\"", id,
			  strerror(errno));
	if (unlinkat(q->msg_fd, id, 0) < 0 && errno != ENOENT)
		log_event(LOG_LEVEL_WARN, "queue", NULL, NULL,
			  "msg=\"cannot remove a queue file\" queue_id=%s error=\"%s\"", id,
			  strerror(errno));
	queue_db_delete(q->db, id, NULL);
}
