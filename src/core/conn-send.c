/* conn-send - a range of a file sent to the client (conn_send_file) without
 * ever blocking the loop on the disk: what the page cache holds is read
 * inline with preadv2(RWF_NOWAIT), or for a large raw range sent from it
 * with sendfile/SSL_sendfile; anything else is read in a job on the thread
 * pool, which also asks the kernel to read ahead. See conn.h. */
#include "core/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/conn-internal.h"

/* Read at a time: one piece of output, and what a filter gets. */
#define CONN_SEND_PIECE (64 * 1024)
/* A raw range at least this long goes out by sendfile where it can; a
 * shorter one is cheaper copied with what surrounds it. */
#define CONN_SENDFILE_MIN (64 * 1024)
/* Looked up in the page cache, and handed to sendfile, at a time. */
#define CONN_SENDFILE_WINDOW (2 * 1024 * 1024)

static const char *const conn_send_results[] = {
	[CONN_SEND_OK] = "ok",
	[CONN_SEND_SHORT] = "short",
	[CONN_SEND_IO_ERROR] = "io-error",
	[CONN_SEND_CLOSED] = "closed",
};
_Static_assert(sizeof(conn_send_results) / sizeof(conn_send_results[0]) == CONN_SEND__COUNT,
	       "conn_send_results");

const char *conn_send_result_name(enum conn_send_result result)
{
	return (unsigned)result < CONN_SEND__COUNT ? conn_send_results[result] : "?";
}

/* Process-wide, for tests (conn_send_counters). */
static atomic_uint_fast64_t conn_send_jobs, conn_send_sendfiled;

void conn_send_counters(uint64_t *job_reads_r, uint64_t *sendfile_bytes_r)
{
	*job_reads_r = atomic_load(&conn_send_jobs);
	*sendfile_bytes_r = atomic_load(&conn_send_sendfiled);
}

bool conn_send_running(const struct conn *conn)
{
	return conn->send != NULL;
}

/* Say once per process how message bodies leave under TLS. */
static void conn_send_log_tls_path(const struct conn *conn)
{
	static atomic_bool logged_ktls, logged_copy;
	atomic_bool *once = conn->ktls_send ? &logged_ktls : &logged_copy;

	if (atomic_exchange(once, true))
		return;
	if (conn->ktls_send)
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"message bodies under TLS go out with "
			 "SSL_sendfile (kernel TLS)\"");
	else
		conn_log(conn, LOG_LEVEL_INFO, "msg=\"message bodies under TLS go out with "
			 "SSL_write\" reason=\"%s\"", conn->cfg->tls.ktls ?
			 "the kernel does not offer TLS (tls module) for this connection" :
			 "[tls] ktls = no");
}

void conn_send_file(struct conn *conn, int fd, uint64_t off, uint64_t len,
		    conn_send_filter_fn *filter, conn_send_done_fn *done, void *arg)
{
	struct conn_send *s;

	if (conn->job || conn->send != NULL) {
		conn_log(conn, LOG_LEVEL_ERROR, "msg=\"file send started while a %s runs\"",
			 conn->send != NULL ? "send" : "job");
		abort();
	}
	s = malloc(sizeof(*s));
	if (s == NULL)
		abort();
	*s = (struct conn_send){
		.fd = fd,
		.off = off,
		.left = len,
		.filter = filter,
		.done = done,
		.arg = arg,
		.use_sendfile = filter == NULL && len >= CONN_SENDFILE_MIN && conn_can_sendfile(conn),
	};
	conn->send = s;
	if (filter == NULL && len >= CONN_SENDFILE_MIN && conn->tls_on)
		conn_send_log_tls_path(conn);
	conn_kick(conn);
}

/* The send is over: done, once (it may start the next send). */
static void conn_send_end(struct conn *conn, enum conn_send_result result)
{
	struct conn_send *s = conn->send;
	conn_send_done_fn *done = s->done;
	void *arg = s->arg;

	conn->send = NULL;
	free(s->piece);
	free(s);
	conn->depth++;
	done(arg, result);
	conn->depth--;
}

/* The send ends with `result` at the next step (an error, or the filter
 * has all it wants). */
static void conn_send_stop(struct conn *conn, enum conn_send_result result)
{
	conn->send->ended = true;
	conn->send->result = result;
}

static void conn_send_advance(struct conn *conn, size_t n)
{
	conn->send->off += n;
	conn->send->left -= n;
}

/* Hand n bytes read into `data` on: through the filter, or (raw) into the
 * output queue unless they are already there (`queued`). */
static void conn_send_deliver(struct conn *conn, const char *data, size_t n, bool queued)
{
	struct conn_send *s = conn->send;

	conn_send_advance(conn, n);
	if (s->filter == NULL) {
		if (!queued)
			conn_write(conn, data, n);
		return;
	}
	conn->depth++;
	if (s->filter(s->arg, data, n))
		conn_send_stop(conn, CONN_SEND_OK);
	conn->depth--;
}

static void conn_send_read_failed(struct conn *conn, int err)
{
	conn_log(conn, LOG_LEVEL_ERROR, "msg=\"reading a file to send failed\" offset=%llu error=\"%s\"",
		 (unsigned long long)conn->send->off, strerror(err));
	conn_send_stop(conn, CONN_SEND_IO_ERROR);
}

/* ---- the read job: what the page cache does not hold ---- */

static size_t conn_send_want(const struct conn_send *s)
{
	return s->left < CONN_SEND_PIECE ? (size_t)s->left : CONN_SEND_PIECE;
}

static void conn_send_read_work(void *arg)
{
	struct conn *conn = arg;
	struct conn_send *s = conn->send;
	size_t want = conn_send_want(s);

	do
		s->job_read = pread(s->fd, s->piece, want, (off_t)s->off);
	while (s->job_read < 0 && errno == EINTR);
	s->job_errno = s->job_read < 0 ? errno : 0;
	/* What follows, so that the next steps find it cached (and a large
	 * raw range goes out by sendfile again). */
	if (s->job_read > 0 && s->left > (uint64_t)s->job_read)
		posix_fadvise(s->fd, (off_t)(s->off + (uint64_t)s->job_read),
			      CONN_SENDFILE_WINDOW, POSIX_FADV_WILLNEED);
}

static void conn_send_read_done(void *arg)
{
	struct conn *conn = arg;
	struct conn_send *s = conn->send;

	s->reading = false;
	/* Closing: conn_settle ends the send. */
	if (conn_is_closing(conn))
		return;
	if (s->job_read < 0)
		conn_send_read_failed(conn, s->job_errno);
	else if (s->job_read == 0)
		conn_send_stop(conn, CONN_SEND_SHORT);
	else
		conn_send_deliver(conn, s->piece, (size_t)s->job_read, false);
}

static void conn_send_read_job(struct conn *conn)
{
	struct conn_send *s = conn->send;

	if (s->piece == NULL && (s->piece = malloc(CONN_SEND_PIECE)) == NULL)
		abort();
	s->reading = true;
	atomic_fetch_add(&conn_send_jobs, 1);
	conn_job(conn, conn_send_read_work, conn_send_read_done, conn);
}

/* ---- the steps on the loop ---- */

enum conn_send_step {
	CONN_SEND_STEP_MORE,   /* progress: go on */
	CONN_SEND_STEP_WAIT,   /* the socket or the queue is full, or a job reads */
};

/* How many bytes from `off` (at most len) the page cache holds, without
 * reading any: mincore() of a mapping that is never touched. Linux
 * answers for the page cache when the process owns the file (the store's
 * files are the server's own); otherwise it says "not cached", and the
 * bytes are read in a job, which is slower but never wrong. */
static size_t conn_send_cached(int fd, uint64_t off, size_t len)
{
	long page_size = sysconf(_SC_PAGESIZE);
	unsigned char vec[CONN_SENDFILE_WINDOW / 4096 + 2];
	uint64_t start;
	size_t span, pages, i, cached;
	void *map;

	start = off - off % (uint64_t)page_size;
	span = (size_t)(off - start) + len;
	pages = (span + (size_t)page_size - 1) / (size_t)page_size;
	if (pages > sizeof(vec))
		return 0;
	map = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		return 0;
	if (mincore(map, span, vec) < 0) {
		munmap(map, span);
		return 0;
	}
	munmap(map, span);
	for (i = 0; i < pages && (vec[i] & 1); i++)
		;
	if (i == pages)
		return len;
	cached = i * (size_t)page_size;
	return cached > (size_t)(off - start) ? cached - (size_t)(off - start) : 0;
}

/* Raw and large: straight from the page cache to the socket, once what
 * was queued before is sent (the bytes must follow it). */
static enum conn_send_step conn_send_by_sendfile(struct conn *conn)
{
	struct conn_send *s = conn->send;
	size_t n = s->left < CONN_SENDFILE_WINDOW ? (size_t)s->left : CONN_SENDFILE_WINDOW;
	ssize_t r;

	if (conn_queued(conn) > 0)
		return CONN_SEND_STEP_WAIT;   /* conn_flush goes on as the socket drains */
	n = conn_send_cached(s->fd, s->off, n);
	if (n == 0) {
		conn_send_read_job(conn);
		return CONN_SEND_STEP_WAIT;
	}
	r = conn_sock_sendfile(conn, s->fd, s->off, n);
	if (r > 0) {
		conn_send_advance(conn, (size_t)r);
		conn->bytes_out += (uint64_t)r;
		atomic_fetch_add(&conn_send_sendfiled, (uint64_t)r);
		conn_deadline_progress(conn);
		return CONN_SEND_STEP_MORE;
	}
	if (r == 0) {
		conn_send_stop(conn, CONN_SEND_SHORT);
	} else if (r == CONN_IO_AGAIN) {
		s->want_write = true;
		return CONN_SEND_STEP_WAIT;
	} else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
		/* This file (or socket) cannot be spliced: copy instead. */
		s->use_sendfile = false;
	} else if (errno == EIO) {
		conn_send_read_failed(conn, errno);
	} else {
		conn->broken = true;
		conn_close(conn, "write error");
	}
	return CONN_SEND_STEP_MORE;
}

/* Read the next piece if the page cache holds it, else in a job. */
static enum conn_send_step conn_send_by_read(struct conn *conn)
{
	struct conn_send *s = conn->send;
	size_t want = conn_send_want(s);
	struct iovec iov;
	ssize_t n;

	if (s->no_nowait) {
		conn_send_read_job(conn);
		return CONN_SEND_STEP_WAIT;
	}
	if (s->filter != NULL) {
		if (s->piece == NULL && (s->piece = malloc(CONN_SEND_PIECE)) == NULL)
			abort();
		iov.iov_base = s->piece;
	} else {
		/* raw: read straight into the output queue */
		iov.iov_base = conn_output_reserve(conn, want);
		if (iov.iov_base == NULL)
			return CONN_SEND_STEP_MORE;   /* closing: ended on the next step */
	}
	iov.iov_len = want;
	n = preadv2(s->fd, &iov, 1, (off_t)s->off, RWF_NOWAIT);
	if (n > 0) {
		if (s->filter == NULL)
			conn_output_commit(conn, (size_t)n);
		conn_send_deliver(conn, iov.iov_base, (size_t)n, true);
		return CONN_SEND_STEP_MORE;
	}
	if (n == 0) {
		conn_send_stop(conn, CONN_SEND_SHORT);
		return CONN_SEND_STEP_MORE;
	}
	if (errno == EINTR)
		return CONN_SEND_STEP_MORE;
	if (errno == EOPNOTSUPP)
		s->no_nowait = true;   /* this file system cannot say: always a job */
	else if (errno != EAGAIN) {
		conn_send_read_failed(conn, errno);
		return CONN_SEND_STEP_MORE;
	}
	conn_send_read_job(conn);
	return CONN_SEND_STEP_WAIT;
}

bool conn_send_step(struct conn *conn)
{
	struct conn_send *s = conn->send;

	if (s == NULL || s->reading)
		return false;
	s->want_write = false;
	for (;;) {
		enum conn_send_step step;

		if (conn_is_closing(conn)) {
			conn_send_end(conn, CONN_SEND_CLOSED);
			return true;
		}
		if (s->ended || s->left == 0) {
			conn_send_end(conn, s->ended ? s->result : CONN_SEND_OK);
			return true;
		}
		if (conn->out_blocked || conn_output_full(conn))
			return false;   /* on again once the client has read */
		step = s->use_sendfile ? conn_send_by_sendfile(conn) : conn_send_by_read(conn);
		if (step == CONN_SEND_STEP_WAIT)
			return false;
	}
}
