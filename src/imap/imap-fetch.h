/* imap-fetch - the state of one FETCH command shared by its two halves:
 * imap-fetch-load.c reads a batch of messages in a job (metadata, \Seen,
 * structure, the small sections' bytes), cmd-fetch.c writes their
 * responses on the loop and streams the large sections from the file.
 * Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_FETCH_H
#define TERN_IMAP_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap-fetch-parse.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "mail/mail-decode.h"
#include "mail/mail-mime.h"
#include "store/store.h"

/* Messages per batch: with only metadata asked for, with structures but
 * no file contents (their cached blobs read in one statement), and
 * otherwise. */
#define IMAP_FETCH_BATCH_META 1000
#define IMAP_FETCH_BATCH_STRUCTURE 500
#define IMAP_FETCH_BATCH 64
/* A section up to this long is read (and decoded) in the batch job and
 * written from memory; a longer one is streamed from the file. */
#define IMAP_FETCH_INLINE_MAX (64u * 1024)
/* Bytes a batch may hold in memory for its inline sections; past it the
 * batch ends with the message that needs a streamed section. */
#define IMAP_FETCH_BATCH_BYTES (1024u * 1024)

/* What one section item of one message sends. */
enum imap_fetch_data_kind {
	IMAP_FETCH_DATA_EMPTY,   /* "" (no such part, an origin past the end): 0 for BINARY.SIZE */
	IMAP_FETCH_DATA_MEMORY,  /* data[0..size) */
	IMAP_FETCH_DATA_FILE,    /* bytes [off, off + size) of the file, as they are */
	IMAP_FETCH_DATA_DECODE,  /* bytes [off, off + enc_len) decoded with `cte`; of the
	                          * decoded bytes, `skip` are left out, then `size` sent */
};

struct imap_fetch_data {
	enum imap_fetch_data_kind kind;
	uint64_t size;           /* what the literal announces (BINARY.SIZE: the number) */
	bool literal8;           /* ~{n}: content holding NUL (RFC 9051 7.5.2) */
	char *data;              /* MEMORY, malloc'd */
	uint64_t off, enc_len;   /* FILE (enc_len = size), DECODE */
	enum mail_cte cte;       /* DECODE */
	uint64_t skip;           /* DECODE */
};

struct imap_fetch_msg {
	struct mail_structure *st;      /* when the items need it */
	/* Only ENVELOPE, BODY, BODYSTRUCTURE asked and their strings cached:
	 * peeked, and string p (a store_structure_part) is the batch's
	 * strings.data[str_off[p] .. + str_len[p]); no st. */
	bool peeked;
	size_t str_off[STORE_STRUCTURE__COUNT], str_len[STORE_STRUCTURE__COUNT];
	struct imap_fetch_data *data;   /* one per item (used by sections only) */
	struct store_reader *reader;    /* open while a FILE or DECODE item waits */
	bool gone;                      /* expunged by another session */
	bool seen_set;                  /* this FETCH set \Seen: FLAGS goes out too */
	uint64_t header_len;            /* read without the structure: where the header ends */
	bool header_known;
};

struct imap_fetch {
	struct imap_fetch_request req;
	uint32_t *uids;                 /* the set, ascending */
	size_t n_uids;
	size_t pos;                     /* uids[pos..] are not loaded yet */

	/* RFC 7162 modifiers: (CHANGEDSINCE n) keeps the messages whose
	 * MODSEQ is above n; VANISHED (UID FETCH) also tells which UIDs of
	 * the set (vanished_set, as the client wrote it) were expunged
	 * since n. The job's answers: changed (ascending UIDs), expunged
	 * and whether the expunge horizon kept all of them. */
	bool changedsince_given;
	uint64_t changedsince;
	bool vanished;
	struct imap_seqset vanished_set;
	uint32_t *changed;
	size_t n_changed;
	uint32_t *gone;
	size_t n_gone;
	bool complete;

	/* Copied from the session for the job. */
	struct store_account *acct;
	struct store_mailbox_ref ref;
	bool readonly;

	/* The batch loaded: uids[pos - n .. pos). */
	struct store_message *msgs;
	struct imap_fetch_msg *extra;
	size_t n;                       /* messages of the batch to write */
	size_t n_alloc;                 /* entries of msgs and extra */
	/* Where the writer is: message `cur`, item `item` (-1: its
	 * response has not begun). */
	size_t cur;
	long item;
	bool sep;                       /* an item went out: the next needs a space */
	bool flags_asked;               /* FLAGS is one of the items */
	struct buf line;                /* the writer's piece being made, its memory kept */
	struct buf strings;             /* the batch's cached strings, sent as they are */

	/* FETCH of UID and FLAGS only, answered from the session's view
	 * (cmd-fetch.c): the messages with keywords (kw_uids, ascending),
	 * read in one job into kw (uid 0 for one gone meanwhile). */
	uint32_t *kw_uids;
	struct store_message *kw;
	size_t n_kw;

	/* The job's outcome for the command. */
	enum store_error error;
	bool expunged;                  /* some message was gone */
	bool unknown_cte;               /* a BINARY of an encoding we cannot decode */

	/* A DECODE item being streamed. */
	struct mail_decoder decoder;
	uint64_t skip, left;
	char *scratch;                  /* MAIL_DECODE_OUT_MAX(64 KiB) */
};

/* In a job: load the batch after `pos` (see the top). Sets error,
 * expunged, unknown_cte. */
void imap_fetch_load(struct imap_fetch *f);
/* Free the loaded batch (readers closed, structures freed); the writer
 * starts again at its first message. */
void imap_fetch_batch_free(struct imap_fetch *f);
/* The decoding buffer, MAIL_DECODE_OUT_MAX(64 KiB) bytes, made on first use. */
char *imap_fetch_scratch(struct imap_fetch *f);

#endif
