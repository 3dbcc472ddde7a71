/* transfer - moving mail in and out of an account's store: Maildir/Maildir++
 * and mbox import, Maildir++ export, and the mbox splitter they rest on.
 *
 * Import and export are blocking tools (`tern import`, `tern export`).
 * Imported messages are appended in batches (store_batch_*): each one is
 * durable (its batch committed) before its line "imported MAILBOX UID
 * SOURCE" is printed and flushed to `out`;
 * problems with single messages are reported on `err` and the message is
 * skipped. A message larger than the import's max_size is skipped; one
 * whose mailbox already holds the same bytes is counted as present and not
 * stored again, so running an import twice stores nothing new. Source
 * files are never read through a symlink, nor when they are not regular
 * files or lie inside tern's message stores. */
#ifndef TERN_STORE_TRANSFER_H
#define TERN_STORE_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/store.h"

struct transfer_stats {
	size_t messages;    /* imported or exported */
	size_t skipped;     /* reported on err and left out */
	size_t present;     /* import: already in the mailbox, not stored again */
	size_t mailboxes;
};

/* Where imported mail goes and what it may be. */
struct transfer_import {
	const char *mailbox;   /* target (NULL: INBOX) */
	uint64_t max_size;     /* [limits] message_size: larger ones are skipped */
	FILE *out, *err;
};

/* Import a Maildir or Maildir++ tree: PATH/{cur,new} go to the target
 * mailbox, PATH/.A.B to "A/B" (under the target when one is given; folder
 * names as transfer_maildir_folder_decode reads them). Flags come from the
 * ":2,FLAGS" suffix, the internal date from the file's mtime; a
 * dovecot-uidlist keeps its UIDVALIDITY and UIDs when the target mailbox is
 * still empty. Returns STORE_ERR_NOT_FOUND when PATH is not a Maildir,
 * STORE_ERR_IO when a message could not be stored. */
enum store_error transfer_import_maildir(struct store_account *acct, const char *path,
					 const struct transfer_import *im,
					 struct transfer_stats *stats);

/* Import an mbox file (mboxo/mboxrd) into the target mailbox. Flags from
 * Status/X-Status, keywords from X-Keywords (those headers are not stored),
 * the internal date from the "From " line. Line ends become CRLF.
 * STORE_ERR_INVALID when the file is not an mbox or is refused (a symlink,
 * not a regular file), STORE_ERR_NOT_FOUND when it cannot be opened. */
enum store_error transfer_import_mbox(struct store_account *acct, const char *path,
				      const struct transfer_import *im,
				      struct transfer_stats *stats);

/* Write every mailbox as a Maildir++ tree under PATH (created, or empty):
 * INBOX in PATH/cur, others in PATH/<transfer_maildir_folder_encode>/cur,
 * with ":2,FLAGS" names and a dovecot-uidlist, so that an import keeps
 * UIDVALIDITY and UIDs. Each mailbox whose folder name had to be escaped is
 * named on `out` ("mailbox a.b exported as .a\2eb"). Message bytes are
 * written unchanged (CRLF). STORE_ERR_EXISTS when PATH is not empty. */
enum store_error transfer_export_maildir(struct store_account *acct, const char *path,
					 FILE *out, FILE *err, struct transfer_stats *stats);

/* --- the mbox splitter: a push parser, no I/O ----------------------------
 * A message starts at a "From " line at the start of the input or after an
 * empty line; that empty line belongs to the separator. Lines matching
 * ^>+From  lose one '>' (mboxrd/mboxo unquoting). Output lines end in CRLF
 * whatever the input used; a line longer than MBOX_LINE_MAX arrives in
 * pieces (only the last one ends in CRLF). */
#define MBOX_LINE_MAX 65536

enum mbox_result {
	MBOX_OK = 0,
	MBOX_ERR_NOT_MBOX = -1,  /* text before the first "From " line */
};

struct mbox_callbacks {
	/* A message begins; from_line is the separator without its line end. */
	int (*begin)(void *ctx, const char *from_line, size_t len);
	/* Bytes of the message, in order. */
	int (*data)(void *ctx, const char *data, size_t len);
	/* The message ended. */
	int (*end)(void *ctx);
};

struct mbox_parser;
struct mbox_parser *mbox_parser_new(const struct mbox_callbacks *cb, void *ctx);
/* Returns MBOX_OK, MBOX_ERR_NOT_MBOX, or the first non-zero value a
 * callback returned (parsing stops then). */
int mbox_parser_feed(struct mbox_parser *parser, const void *data, size_t len);
/* End of input: ends the last message. Same results as feed. */
int mbox_parser_finish(struct mbox_parser *parser);
void mbox_parser_free(struct mbox_parser **parser);
/* All of it on a buffer in memory. */
int mbox_split(const void *data, size_t len, const struct mbox_callbacks *cb, void *ctx);

/* --- shared by the importers ----------------------------------------------
 * Buffered writing into an append, turning bare LF and bare CR into CRLF.
 * Past max bytes nothing more is written (the error is STORE_ERR_TOO_BIG),
 * but size goes on counting, so that the message's size can be told. */
struct transfer_writer {
	struct store_append *ap;
	enum store_error error;
	int prev_cr;
	int last;              /* last byte written, -1 before the first */
	uint64_t size;         /* bytes of the message so far, CRLF included */
	uint64_t max;
	size_t len;
	char buf[65536];
};
/* max 0: only the store's own limit. */
void transfer_writer_init(struct transfer_writer *w, struct store_append *ap, uint64_t max);
void transfer_writer_write(struct transfer_writer *w, const void *data, size_t len);
/* Flush; returns the first error met. */
enum store_error transfer_writer_flush(struct transfer_writer *w);

/* What an imported message is stored with. */
struct transfer_message {
	const char *mailbox;
	const char *source;    /* for the output: "PATH" or "PATH#N" */
	unsigned flags;
	const char *keywords;
	int64_t internal_date;
	uint32_t uid;          /* the UID to keep, 0: the next one */
};
/* The messages of an import waiting for their store batch; their lines
 * are printed when it commits. */
struct transfer_batch {
	struct store_batch *sb;
	const struct transfer_import *im;
	struct transfer_stats *stats;
	char *mailboxes[STORE_BATCH_MAX];   /* as the lines name them */
	char *sources[STORE_BATCH_MAX];
};
/* STORE_ERR_IO when the store's batch cannot be made (tb then needs no
 * free). */
enum store_error transfer_batch_init(struct transfer_batch *tb, struct store_account *acct,
				     const struct transfer_import *im,
				     struct transfer_stats *stats);
/* Commit what is pending: "imported MAILBOX UID SOURCE" on im->out for
 * each message stored, "failed SOURCE: ERROR" on im->err for the others.
 * Returns STORE_OK, or the first failure (the import must end). Called
 * before anything that needs the pending messages in the index (UIDNEXT
 * changes) and at the end. */
enum store_error transfer_batch_flush(struct transfer_batch *tb);
/* Drop what is pending (not reported: it was never stored). */
void transfer_batch_free(struct transfer_batch *tb);

/* End a message written through w: flush; skip it (said on im->err) when
 * it is empty, too big or unwritable; count it as present when its
 * mailbox already holds the same bytes (or a message pending in the
 * batch does); else add it to the batch, committed when full (see
 * transfer_batch_flush). w's append is consumed either way. Returns
 * STORE_OK, or the error that must end the import. */
enum store_error transfer_writer_commit(struct transfer_writer *w, const struct transfer_message *m,
					struct transfer_batch *tb);

/* Open a file to import from: not through a symlink (O_NOFOLLOW), only a
 * regular file (checked on the open descriptor, which O_NONBLOCK kept a
 * FIFO from blocking), not inside the message stores (DATA/mail: another
 * account's message files). Returns a descriptor for blocking reads and
 * its fstat in *st_r, or -1 with *why_r saying why (static text, or
 * strerror) and errno set (EINVAL for a file opened, then refused). */
int transfer_source_open(struct store_account *acct, const char *path, struct stat *st_r,
			 const char **why_r);

/* Get or create a mailbox (and its parents). */
enum store_error transfer_mailbox_ensure(struct store_account *acct, const char *name);

/* --- the Maildir parsers: pure, on memory, no I/O ------------------------
 * dovecot-uidlist: a header "3 V<uidvalidity> N<nextuid> ..." (or version 1
 * "1 <uidvalidity> <nextuid>"), then "<uid> [ext...] :<name>" (or "<uid>
 * <name>") lines. Lenient: lines that are bad, hold a NUL byte or are longer
 * than TRANSFER_UIDLIST_LINE_MAX - 2 bytes are skipped; the header is read
 * from its first TRANSFER_UIDLIST_LINE_MAX - 1 bytes. The importer reads no
 * file larger than TRANSFER_UIDLIST_MAX. */
#define TRANSFER_UIDLIST_LINE_MAX 8192
#define TRANSFER_UIDLIST_MAX (128u << 20)

struct transfer_uidlist_entry {
	char *base;        /* the file name up to its info separator, not empty */
	uint32_t uid;      /* 1 .. UINT32_MAX - 1 */
};

struct transfer_uidlist {
	uint32_t uidvalidity;   /* never 0 after a successful parse */
	uint32_t nextuid;       /* 0: not given */
	struct transfer_uidlist_entry *entries;   /* in file order */
	size_t n, cap;
};

/* False (and `ul` empty) when the header is unusable. Either way `ul` is
 * to be freed with transfer_uidlist_free. */
bool transfer_uidlist_parse(const void *data, size_t len, struct transfer_uidlist *ul);
void transfer_uidlist_free(struct transfer_uidlist *ul);

/* Maildir file names: flags (STORE_FLAG_*) from the info ":2,FLAGS" (also
 * "!2," and ";2,", used where ':' is not allowed; keywords a-z and the
 * fields after a ',' are ignored), and the name up to the first ':', '!'
 * or ';' (malloc'ed). */
unsigned transfer_maildir_flags(const char *name);
char *transfer_maildir_base(const char *name);

/* Maildir++ folder names (maildir-name.c), written the way Dovecot's
 * Maildir++ layout with its listescape plugin writes them: a '.', then
 * the levels of the mailbox name in modified UTF-7 (RFC 3501 5.1.3) joined
 * by '.', where a '.' or '\' inside a level, a '~' starting one and any
 * byte that is not part of valid UTF-8 are written "\2e", "\5c", "\7e",
 * "\xx". So "a.b" is ".a\2eb", "a/b" is ".a.b", "Ärger" is ".&AMQ-rger".
 * encode: the folder of any mailbox name but INBOX (malloc'd). decode: the
 * mailbox name of a folder name starting with '.' (malloc'd), levels that
 * are not valid modified UTF-7 taken as they are; the result still has to
 * pass the store's name rules. decode(encode(x)) == x for every name. */
char *transfer_maildir_folder_encode(const char *mailbox);
char *transfer_maildir_folder_decode(const char *folder);

#endif
