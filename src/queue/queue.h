/* queue - DATA/queue: mail that got its 250 and is not yet delivered
 * everywhere. One immutable file per message (Return-Path, the fields
 * tern added: DKIM-Signature, Received; the message), its envelope
 * stored with it, queue.db as an index rebuilt from the files; a group
 * commit that makes many messages durable with shared fsyncs; local
 * delivery into the recipients' stores as soon as a message is
 * committed. docs/ARCHITECTURE.md ("The queue") has the design and the
 * durability argument.
 *
 * The receiving side (the SMTP session, `tern sendmail`) uses the
 * queue_msg_* calls below. Which of them block is said per call: a
 * blocking call runs in a job (conn_job), never on an I/O loop. */
#ifndef TERN_QUEUE_QUEUE_H
#define TERN_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/control.h"
#include "mail/mail-srs.h"

/* The length of a queue id (queue_msg_id). */
#define QUEUE_ID_LEN 16

struct config;
struct dir;
struct store_root;
struct queue;
struct queue_msg;

enum queue_error {
	QUEUE_OK,
	QUEUE_ERR_NO_SPACE,      /* the disk is (nearly) full: 452 4.3.1 */
	QUEUE_ERR_TOO_BIG,       /* over [limits] message_size: 552 5.3.4 */
	QUEUE_ERR_IO,            /* disk or database error, logged: 451 4.3.0 */
	QUEUE_ERR__COUNT
};
const char *queue_error_name(enum queue_error error);

/* DSN NOTIFY (RFC 3461 4.1): none given means the default (FAILURE and
 * DELAY, as Postfix: queue-report.c). */
enum queue_notify {
	QUEUE_NOTIFY_NEVER = 1 << 0,
	QUEUE_NOTIFY_SUCCESS = 1 << 1,
	QUEUE_NOTIFY_FAILURE = 1 << 2,
	QUEUE_NOTIFY_DELAY = 1 << 3,
};

/* DSN RET (RFC 3461 4.3). */
enum queue_ret {
	QUEUE_RET_DEFAULT,
	QUEUE_RET_FULL,
	QUEUE_RET_HDRS,
};

/* One recipient as RCPT resolved it (dir_resolve): a local account, or an
 * external address the outbound side (issue 9) will relay to. */
struct queue_rcpt {
	const char *address;     /* canonical local account, or the external address */
	bool local;
	const char *orcpt;       /* DSN ORCPT as given ("rfc822;a@b", decoded), or NULL */
	unsigned notify;         /* enum queue_notify bits, 0 when not given */
};

/* What the envelope of a message holds; every string is copied. */
struct queue_envelope {
	const char *sender;      /* the reverse-path without <>, "" for the null sender */
	const struct queue_rcpt *rcpts;
	size_t n_rcpts;
	const char *envid;       /* DSN ENVID (decoded), or NULL */
	enum queue_ret ret;
	bool smtputf8;
	bool eightbit;           /* the message has 8-bit octets: BODY=8BITMIME goes on,
	                          * never to a server without 8BITMIME; queue_msg_add
	                          * sets it when a byte added is over 127 */
	const char *auth_user;   /* the submitting account (submission), or NULL */
	const char *client_ip;   /* "" for mail made locally (sendmail) */
	const char *helo;        /* the EHLO/HELO name, or the local user for sendmail */
};

/* Open DATA/queue ([server] data_dir; creating it), rebuild queue.db from
 * the message files where it lags behind them, and start the committer
 * and the local delivery worker, which deliver into `store` and look
 * accounts up in `dir` (cfg, store and dir must outlive the queue).
 * Messages already queued are delivered where they are not yet. Blocking
 * (start of serve). Returns 0, or -1 with a malloc'd *error_r. */
int queue_open(const struct config *cfg, struct store_root *store, struct dir *dir,
	       struct queue **queue_r, char **error_r);
/* The descriptors outbound delivery needs at most: QUEUE_RELAY_SESSION_FDS
 * for each of [queue] connections sessions (its socket, and the file of
 * the message it sends; a message whose recipients wait holds none). */
#define QUEUE_RELAY_SESSION_FDS 2
unsigned queue_relay_fds(const struct config *cfg);
/* Start delivering the remote recipients (queue-relay.c) on `loop`, one
 * of the core's I/O loops (core_loop; it may not run yet): routes from
 * [queue] transport and relayhost, else MX records; at most [queue]
 * connections sessions at once, fewer when `fds` (what the core set
 * aside for them: core_reserve_fds of queue_relay_fds) holds fewer (at
 * least one). Call once, after queue_open; the loop must have ended
 * before queue_close. Returns 0, or -1 with a malloc'd *error_r (a bad
 * [queue] transport or relayhost). */
struct loop;
int queue_relay_start(struct queue *queue, struct loop *loop, unsigned fds, char **error_r);
/* Stop the workers (a delivery in progress finishes; what is left stays
 * queued) and close. Blocking; a commit round or a delivery still running
 * 10 s later (a hung disk) makes the process exit, as the core does with
 * jobs past their deadline: nothing acknowledged is lost by it. */
void queue_close(struct queue **queue);

/* ---- receiving a message ---- */

/* Start a message with its envelope. Takes an id (unique, 16 characters of
 * [A-Z2-7]) and may take a pre-created file; never blocks on the disk.
 * Returns NULL only when the queue cannot take mail now (it logs why; the
 * caller answers 451 4.3.0, or 452 4.3.1 when queue_has_space() says so):
 * below the free-space floor, while closing, while QUEUE_UNINDEXED_MAX
 * acknowledged messages wait for queue.db to take their rows, or for an
 * envelope that cannot be stored (no recipient, more than 100,000, a
 * field over 2,048 octets, CR or LF in the sender: the session's own
 * checks keep these from happening). */
#define QUEUE_UNINDEXED_MAX 1000
struct queue_msg *queue_msg_begin(struct queue *queue, const struct queue_envelope *env);
/* The message's queue id, for the Received header and the 250 reply. */
const char *queue_msg_id(const struct queue_msg *msg);
/* Whether text[0..len) is a queue id (QUEUE_ID_LEN characters of [A-Z2-7]). */
bool queue_id_valid(const char *text, size_t len);

/* Add bytes of the message as it will be stored (the caller's own header
 * lines, e.g. Received, first; then the message, CRLF as received). Held
 * in memory; returns true when the memory part (256 KiB) is full and the
 * caller must run queue_msg_flush() in a job before adding more. Never
 * blocks. The queue's own bound is [limits] message_size plus 64 KiB for
 * the headers tern adds: past it the bytes are dropped, add returns true
 * and flush and the commit fail with QUEUE_ERR_TOO_BIG (the session's
 * size limit should have stopped the message before). */
bool queue_msg_add(struct queue_msg *msg, const void *data, size_t len);
/* Header fields that go before everything added (after Return-Path):
 * the DKIM-Signature fields, made once the message is complete. Called
 * at most once, before queue_msg_commit; the bytes are copied and count
 * towards the queue's bound like those of queue_msg_add (past it the
 * commit fails with QUEUE_ERR_TOO_BIG). Never blocks. */
void queue_msg_prepend(struct queue_msg *msg, const void *data, size_t len);
/* Move what is held in memory to the message's unsynced temporary file
 * (DATA/queue/tmp/ID, never fsync'd). Blocking: from a job. A failure
 * stays with the message: its commit reports it too. */
enum queue_error queue_msg_flush(struct queue_msg *msg);

/* End of data: the message is complete. Hand it to the group commit and
 * return at once; done(arg, error) is called exactly once, from a queue
 * thread, when the message and its envelope are on stable storage
 * (QUEUE_OK: now, and only now, the caller may send 250) or failed. A
 * session calls conn_await() before and conn_await_done() in done. The
 * message is handed over: the caller must not touch it again. */
void queue_msg_commit(struct queue_msg *msg, void (*done)(void *arg, enum queue_error error),
		      void *arg);
/* Give the message up (RSET, a refused DATA, a closed connection, an
 * error): nothing is queued. Blocking when a temporary file exists: from a
 * job or after close (conn_job_after_close). */
void queue_msg_abort(struct queue_msg **msg);

/* Whether DATA's file system has more free space than the floor ([limits]
 * min_free_space, a key the queue adds): MAIL gets 452 4.3.1 otherwise. Cheap (a statvfs at most once a
 * second); thread-safe. */
bool queue_has_space(struct queue *queue);

/* ---- administration (`tern queue`) ---- */

/* A recipient's state in the queue. */
enum queue_state {
	QUEUE_STATE_QUEUED,      /* waiting for its first try (or a release) */
	QUEUE_STATE_DELIVERED,   /* in the local mailbox */
	QUEUE_STATE_DEFERRED,    /* a try failed; tried again at next_try */
	QUEUE_STATE_HELD,        /* `tern queue hold`: not tried until released */
	QUEUE_STATE_FAILED,      /* failed for good; reported to the sender (queue-report.c) */
	QUEUE_STATE__COUNT
};
/* "queued", "delivered", ...: the word queue.db and `tern queue list` use. */
const char *queue_state_name(enum queue_state state);

/* What the running server's queue did: OK (*changed_r recipients changed,
 * for remove the message's recipients), NOT_FOUND (no such message), or
 * ERROR (logged). Blocking; thread-safe. */
enum queue_admin_result {
	QUEUE_ADMIN_OK,
	QUEUE_ADMIN_NOT_FOUND,
	QUEUE_ADMIN_ERROR,
};
/* Take the message out of the queue, whatever its recipients' states; a
 * delivery in progress finishes first. */
enum queue_admin_result queue_remove(struct queue *queue, const char *id, unsigned *changed_r);
/* Its queued and deferred recipients are held: not tried until released. */
enum queue_admin_result queue_hold(struct queue *queue, const char *id, unsigned *changed_r);
/* Its held recipients are queued again, and tried now. */
enum queue_admin_result queue_release(struct queue *queue, const char *id, unsigned *changed_r);
/* Deferred recipients of the message (id NULL: of every message) are
 * tried now. */
enum queue_admin_result queue_flush(struct queue *queue, const char *id, unsigned *changed_r);

/* The commands of the control socket (core/control.h) that act on the
 * running queue, with the queue as their context: queue-remove ID,
 * queue-hold ID, queue-release ID, queue-flush [ID]. */
extern const struct control_command queue_control_commands[];
extern const size_t queue_control_commands_n;

/* One message as queue.db lists it. */
struct queue_list_rcpt {
	const char *address;
	bool local;
	enum queue_state state;
	unsigned attempts;
	int64_t next_try;        /* deferred: when it is tried again (seconds since the epoch) */
	const char *error;       /* the last try's error, or NULL */
	const char *remote_mta;  /* the server that answered the last try (a host name), or NULL */
	bool remote;             /* error is that server's reply */
};
struct queue_list_message {
	const char *id;
	const char *sender;      /* "" for the null sender */
	uint64_t size;
	int64_t arrival;         /* seconds since the epoch */
	const struct queue_list_rcpt *rcpts;
	size_t n_rcpts;
};
/* Every message in DATA/queue/queue.db, oldest first, read directly (no
 * server needed: the server commits every change it makes; before its
 * next start, queue.db may lack what a power loss took from it, which
 * the start rebuilds from the files). A queue that was never opened is
 * empty (0, nothing created). Blocking. Returns 0, or -1 with a malloc'd
 * *error_r. */
int queue_list(const char *data_dir, void (*cb)(void *ctx, const struct queue_list_message *msg),
	       void *ctx, char **error_r);

/* ---- SRS (mail/mail-srs.h; the key in DATA/srs.key) ---- */

/* The key for decoding SRS addresses that come back (RCPT), or NULL when
 * [queue] srs is off. Valid until queue_close. */
const struct mail_srs *queue_srs(const struct queue *queue);
/* The envelope sender to use for mail that leaves tern (out: at least
 * MAIL_SRS_ADDRESS_MAX + 1 octets): a sender of a domain that is not
 * local (mail an alias forwards) rewritten with SRS into an address of
 * [server] hostname; the null sender, a local sender, a sender with a
 * quoted local part or an address literal (SRS cannot carry them), or
 * any sender with SRS off, as it is. MAIL_SRS_OK, or the reason it cannot be rewritten
 * (the caller then sends with the sender as it is). Blocking (the
 * directory). */
enum mail_srs_result queue_srs_sender(struct queue *queue, const char *sender, char *out);

/* Counters since queue_open, for tests and benchmarks. Thread-safe. */
struct queue_stats {
	uint64_t commit_rounds;  /* group commits that made messages durable */
	uint64_t committed;      /* messages they made durable (each got its OK) */
	uint64_t indexed;        /* of those, the ones with their queue.db rows (after the OK) */
	uint64_t fsyncs;         /* fsyncs of files and folders on the way to an OK */
	uint64_t delivered;      /* local recipients delivered */
	uint64_t deferred;       /* failed tries of local recipients */
	uint64_t finished;       /* messages delivered everywhere and taken out */
	uint64_t commit_ns;      /* time spent in commit rounds */
};
void queue_stats(struct queue *queue, struct queue_stats *stats_r);

#endif
