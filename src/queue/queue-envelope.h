/* queue-envelope - the envelope record stored with each queue file: a
 * versioned, line-based text record (the extended attribute
 * user.tern.envelope, or DATA/queue/env/ID when too big for one), and its
 * parser. No I/O.
 *
 * The record (every line ends in LF):
 *   tern-envelope 1
 *   id ID                  16 characters of [A-Z2-7], the file's name
 *   arrival SECONDS        since the epoch
 *   size OCTETS            the queue file's size: what was made durable
 *   sender [VALUE]         no value: the null sender <>
 *   envid VALUE            optional (DSN ENVID)
 *   ret full|hdrs          optional (DSN RET)
 *   smtputf8               optional flag
 *   8bitmime               optional flag
 *   auth VALUE             optional: the submitting account
 *   client [VALUE]         no value: mail made locally
 *   helo [VALUE]
 *   rcpt local|remote NOTIFY ADDRESS [ORCPT]   one or more, in order
 *   end
 * Keys other than rcpt appear at most once, in any order between the
 * first line and `end`; an unknown key is an error (a new key is a new
 * version). A VALUE is its bytes with every byte outside 0x21-0x7e, and
 * '%', written %XX (upper-case hex); NUL is never a value's byte. NOTIFY
 * is the decimal enum queue_notify bit set (0: not given). */
#ifndef TERN_QUEUE_QUEUE_ENVELOPE_H
#define TERN_QUEUE_QUEUE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

/* Bounds of a record: its whole size, one value's decoded bytes, the
 * recipients. A record within them is never refused for its size. */
#define QUEUE_ENVELOPE_MAX (32u << 20)
#define QUEUE_FIELD_MAX 2048
#define QUEUE_RCPTS_MAX 100000

/* A whole record: the envelope with the message's id, arrival and size.
 * Every string of env (and env.rcpts) is owned by the record. */
struct queue_record {
	char id[QUEUE_ID_LEN + 1];
	int64_t arrival;
	uint64_t size;
	struct queue_envelope env;
	/* storage of env's strings and recipients */
	char *strings;
	struct queue_rcpt *rcpts;
};

/* Whether an envelope can be queued: 1 to QUEUE_RCPTS_MAX recipients,
 * each with an address; every string within QUEUE_FIELD_MAX; no CR or LF
 * in the sender (it becomes the Return-Path line); NOTIFY bits known.
 * NULL when it can, else what is wrong. */
const char *queue_envelope_check(const struct queue_envelope *env);

/* Fill rec with copies of env (which must pass queue_envelope_check) and
 * the id (valid), arrival and size. Free with queue_record_free. */
void queue_record_init(struct queue_record *rec, const char *id, int64_t arrival, uint64_t size,
		       const struct queue_envelope *env);
void queue_record_free(struct queue_record *rec);

/* The record as text (malloc'd, *len_r bytes, not NUL-terminated). */
char *queue_record_format(const struct queue_record *rec, size_t *len_r);

/* Parse a record. Returns 0 and fills *rec_r (free with
 * queue_record_free), or -1 with *error_r saying what is wrong (a static
 * string) and *rec_r empty. Anything queue_record_format writes parses
 * back to the same record; nothing else is accepted. */
int queue_record_parse(const char *data, size_t len, struct queue_record *rec_r,
		       const char **error_r);

#endif
