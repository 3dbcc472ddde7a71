/* dkim-canon - DKIM's "relaxed" canonicalisation (RFC 6376 3.4.2 and
 * 3.4.4), sans-I/O: one header field at a time, and the body as a stream
 * fed in pieces of any size, whose canonical form goes out through a
 * callback in runs (so a signer hashes it as it arrives and never holds
 * the body). Only "relaxed": tern signs with c=relaxed/relaxed, the form
 * that survives the rewrapping of header fields and trailing white space
 * on the way.
 *
 * Input is the message as tern stores it: lines end in CRLF. A CR that
 * is not followed by LF, and an LF without a CR before it, are ordinary
 * bytes of the line (they cannot reach the signer from SMTP, whose
 * reader refuses them), NUL and 8-bit bytes too: nothing is refused. */
#ifndef TERN_MAILAUTH_DKIM_CANON_H
#define TERN_MAILAUTH_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Append the relaxed form of one header field to out: the name in lower
 * case, ':', the value unfolded, every run of spaces and tabs made one
 * space, none at its start or end, then CRLF when `crlf` (false for the
 * DKIM-Signature field being made, RFC 6376 3.7). `name` is the field
 * name without white space, `value` the raw value after the colon, its
 * folding line ends included (mail-header.h gives both). Returns 0, or
 * -1 when out's bound is reached (out then holds part of it). */
int dkim_canon_header(const char *name, size_t name_len, const char *value, size_t value_len,
		      bool crlf, struct buf *out);

/* Called with each run of canonical body bytes, in order; `data` is
 * valid during the call only. */
typedef void dkim_canon_output_fn(void *ctx, const char *data, size_t len);

/* The relaxed body canonicaliser. Read nothing in it. */
struct dkim_body_canon {
	dkim_canon_output_fn *output;
	void *ctx;
	bool line_text;       /* the current line has output text */
	bool wsp;             /* spaces or tabs wait: one SP if text follows */
	bool cr;              /* a CR waits: a line end if LF follows */
	uint64_t empty_lines; /* CRLFs held back: only text after them sends them */
	uint64_t length;      /* canonical octets output */
	size_t run_len;
	char run[1024];
};

void dkim_body_canon_init(struct dkim_body_canon *c, dkim_canon_output_fn *output, void *ctx);
/* Feed the next bytes of the body (after the empty line that ends the
 * header). The same body gives the same output however it is cut. */
void dkim_body_canon_feed(struct dkim_body_canon *c, const char *data, size_t len);
/* The body ended: output what is still held (empty lines at the end are
 * dropped; a last line without CRLF gets one, RFC 6376 3.4.4 b). An
 * empty body outputs nothing. Feed nothing afterwards. */
void dkim_body_canon_finish(struct dkim_body_canon *c);

#endif
