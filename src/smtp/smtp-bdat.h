/* smtp-bdat - where a BDAT transaction stands (RFC 3030 2): the octets
 * of the current chunk still to come, whether BDAT LAST was seen, and the
 * total announced, with overflow checked. The chunk's bytes themselves go
 * through the message reader (smtp-data.h, RAW mode). No I/O. */
#ifndef TERN_SMTP_SMTP_BDAT_H
#define TERN_SMTP_SMTP_BDAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_bdat_result {
	SMTP_BDAT_OK,
	SMTP_BDAT_TOO_BIG,     /* the total would pass the limit, or overflow (552 5.3.4) */
	SMTP_BDAT_AFTER_LAST,  /* a chunk after BDAT LAST (503 5.5.1) */
};

struct smtp_bdat {
	uint64_t remaining;    /* octets of the current chunk still to come */
	uint64_t total;        /* octets of the chunks accepted so far */
	bool last;             /* BDAT LAST was accepted */
};

/* Start a transaction: nothing announced. */
void smtp_bdat_init(struct smtp_bdat *b);

/* A BDAT command of `size` octets, LAST or not, was parsed. Whatever
 * this returns, the next `size` octets of input are the chunk and must
 * be consumed and discarded when refused (RFC 3030 2: "MUST accept and
 * discard the associated message data before sending the appropriate
 * 5XX or 4XX code"), so `remaining` is always set to size; total and last
 * change only on OK. max_total is the message size limit (UINT64_MAX:
 * none). Call it only when remaining is 0. */
enum smtp_bdat_result smtp_bdat_chunk(struct smtp_bdat *b, uint64_t size, bool last,
				      uint64_t max_total);

/* How many of the `available` input octets belong to the current chunk;
 * they count as received. */
size_t smtp_bdat_take(struct smtp_bdat *b, size_t available);

/* True once BDAT LAST was accepted and its chunk fully received: the
 * message is complete. */
bool smtp_bdat_complete(const struct smtp_bdat *b);

#endif
