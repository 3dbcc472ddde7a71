/* dkim-signer - collecting what one message's DKIM signature covers and
 * making the DKIM-Signature fields; see dkim-signer.h. */
#include "mailauth/dkim-signer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dir/dir.h"
#include "mail/mail-address.h"
#include "mail/mail-header.h"
#include "mailauth/dkim-canon.h"

/* The folded lines of a DKIM-Signature stay within this many columns. */
#define DKIM_LINE_MAX 76
/* h= for the signed fields occurring at most this often each. */
#define DKIM_INSTANCES_MAX 8

/* RFC 6376 5.4.1: the fields whose change alters what the reader sees;
 * From first (it MUST be signed). */
const char *const dkim_signed_fields[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To",
	"References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
};
const size_t dkim_signed_fields_n = sizeof(dkim_signed_fields) / sizeof(dkim_signed_fields[0]);
#define DKIM_FIELDS_N (sizeof(dkim_signed_fields) / sizeof(dkim_signed_fields[0]))
#define DKIM_FROM 0

/* A signed field of the message, canonical, in canon[off..off+len). */
struct dkim_field {
	unsigned name;     /* its index in dkim_signed_fields */
	size_t off, len;
};

struct dkim_signer {
	struct mail_header_parser parser;
	bool in_body;
	bool finished;
	const char *problem;            /* why it cannot be signed, or NULL */
	uint64_t fed;                   /* octets fed so far */
	struct buf canon;               /* the signed fields, canonical */
	struct dkim_field *fields;
	size_t n_fields, cap_fields;
	unsigned count[DKIM_FIELDS_N];  /* instances of each name */
	char *from;                     /* the From field's raw value */
	char domain[256];               /* its address's domain */
	struct dkim_body_canon body;
	EVP_MD_CTX *body_md;
	unsigned char bh[DKIM_HASH_LEN];
};

static void dkim_signer_body_output(void *ctx, const char *data, size_t len)
{
	struct dkim_signer *s = ctx;

	if (EVP_DigestUpdate(s->body_md, data, len) != 1)
		s->problem = "SHA-256 failed";
}

struct dkim_signer *dkim_signer_new(void)
{
	const struct mail_header_limits limits = {
		.max_header = SIZE_MAX,
		.max_field = DKIM_SIGNER_FIELD_MAX,
	};
	struct dkim_signer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	mail_header_parser_init(&s->parser, &limits);
	buf_init(&s->canon, DKIM_SIGNER_FIELDS_MAX);
	dkim_body_canon_init(&s->body, dkim_signer_body_output, s);
	s->body_md = EVP_MD_CTX_new();
	if (s->body_md == NULL || EVP_DigestInit_ex(s->body_md, EVP_sha256(), NULL) != 1)
		s->problem = "SHA-256 failed";
	return s;
}

void dkim_signer_free(struct dkim_signer **signer)
{
	struct dkim_signer *s = *signer;

	if (s == NULL)
		return;
	*signer = NULL;
	mail_header_parser_deinit(&s->parser);
	buf_release(&s->canon);
	free(s->fields);
	free(s->from);
	EVP_MD_CTX_free(s->body_md);
	free(s);
}

/* The index of a signed field's name, or -1. */
static int dkim_field_index(const char *name, size_t len)
{
	for (size_t i = 0; i < DKIM_FIELDS_N; i++)
		if (strlen(dkim_signed_fields[i]) == len &&
		    mail_header_name_equals(name, len, dkim_signed_fields[i]))
			return (int)i;
	return -1;
}

static void dkim_signer_field(struct dkim_signer *s, const struct mail_header_field *f)
{
	int idx = dkim_field_index(f->name, f->name_len);
	size_t off = s->canon.len;

	if (idx < 0 || s->problem != NULL)
		return;
	if (f->truncated) {
		s->problem = "a signed header field is too long";
		return;
	}
	if (idx == DKIM_FROM && s->from == NULL) {
		s->from = malloc(f->value_len + 1);
		if (s->from == NULL)
			abort();
		s->from[mail_header_unfold(f->value, f->value_len, s->from)] = '\0';
	}
	if (s->count[idx] == DKIM_INSTANCES_MAX ||
	    dkim_canon_header(f->name, f->name_len, f->value, f->value_len, true, &s->canon) < 0) {
		s->problem = "too many signed header fields";
		return;
	}
	s->count[idx]++;
	if (s->n_fields == s->cap_fields) {
		s->cap_fields = s->cap_fields == 0 ? 16 : s->cap_fields * 2;
		s->fields = realloc(s->fields, s->cap_fields * sizeof(*s->fields));
		if (s->fields == NULL)
			abort();
	}
	s->fields[s->n_fields++] = (struct dkim_field){
		.name = (unsigned)idx, .off = off, .len = s->canon.len - off,
	};
}

/* Read the header items pushed; once it ends, the rest of data (the
 * chunk pushed last, whose first octet was number `start`) is body. */
static void dkim_signer_header(struct dkim_signer *s, const char *data, size_t len,
			       uint64_t start)
{
	struct mail_header_field f;

	for (;;) {
		switch (mail_header_parser_next(&s->parser, &f)) {
		case MAIL_HEADER_FIELD:
			dkim_signer_field(s, &f);
			break;
		case MAIL_HEADER_MALFORMED:
			/* not a field: not signed, as verifiers cannot
			 * name it in h= either */
			break;
		case MAIL_HEADER_NEED_MORE:
			return;
		case MAIL_HEADER_END: {
			uint64_t body = (uint64_t)f.offset + f.length;

			s->in_body = true;
			if (data != NULL && body >= start && body < start + len)
				dkim_body_canon_feed(&s->body, data + (body - start),
						     (size_t)(start + len - body));
			return;
		}
		case MAIL_HEADER_TOO_LARGE:
		default:
			s->in_body = true;
			s->problem = "the header is too large";
			return;
		}
	}
}

void dkim_signer_feed(struct dkim_signer *s, const char *data, size_t len)
{
	uint64_t start = s->fed;

	if (len == 0 || s->finished)
		return;
	s->fed += len;
	if (s->in_body) {
		dkim_body_canon_feed(&s->body, data, len);
		return;
	}
	mail_header_parser_push(&s->parser, data, len);
	dkim_signer_header(s, data, len, start);
}

/* Remember addr's domain; a second, different one is a problem. */
static void dkim_signer_from_address(void *ctx, const char *addr, size_t len)
{
	struct dkim_signer *s = ctx;
	const char *at = memrchr(addr, '@', len);
	char domain[sizeof(s->domain)];
	size_t dlen = at != NULL ? len - (size_t)(at + 1 - addr) : 0;

	if (s->problem != NULL)
		return;
	if (dlen == 0 || dlen >= sizeof(domain)) {
		s->problem = "the From address has no domain";
		return;
	}
	memcpy(domain, at + 1, dlen);
	domain[dlen] = '\0';
	if (!dir_domain_normalize(domain)) {
		s->problem = "the From domain is not an ASCII host name";
		return;
	}
	if (s->domain[0] != '\0' && strcmp(s->domain, domain) != 0) {
		s->problem = "From has addresses of several domains";
		return;
	}
	memcpy(s->domain, domain, dlen + 1);
}

const char *dkim_signer_finish(struct dkim_signer *s, const char **why_r)
{
	unsigned bh_len = 0;

	if (!s->finished) {
		s->finished = true;
		if (!s->in_body) {
			mail_header_parser_finish(&s->parser);
			dkim_signer_header(s, NULL, 0, s->fed);
		}
		dkim_body_canon_finish(&s->body);
		if (EVP_DigestFinal_ex(s->body_md, s->bh, &bh_len) != 1 || bh_len != DKIM_HASH_LEN)
			s->problem = "SHA-256 failed";
		if (s->problem == NULL && s->count[DKIM_FROM] != 1)
			s->problem = s->count[DKIM_FROM] == 0 ? "no From field" : "several From fields";
		if (s->problem == NULL) {
			unsigned bad = mail_address_list(s->from, strlen(s->from),
							 dkim_signer_from_address, s);

			/* the callback's own problem says more */
			if (s->problem == NULL && (bad > 0 || s->domain[0] == '\0'))
				s->problem = "From is not an address";
		}
	}
	*why_r = s->problem;
	return s->problem == NULL ? s->domain : NULL;
}

int dkim_signer_body_hash(const struct dkim_signer *s, struct buf *out)
{
	return dkim_base64(s->bh, sizeof(s->bh), out);
}

/* RFC 6376 5.4.2: the n-th instance of a name in h= (n from 0) signs the
 * n-th of its fields counted from the bottom; none is the null input. */
static const struct dkim_field *dkim_signer_instance(const struct dkim_signer *s,
						      unsigned name, unsigned n)
{
	for (size_t i = s->n_fields; i-- > 0;) {
		if (s->fields[i].name == name && n-- == 0)
			return &s->fields[i];
	}
	return NULL;
}

int dkim_signer_sign_field(const struct dkim_signer *s, const struct dkim_key *key,
			   const char *const *h, size_t n, const char *field, size_t field_len,
			   struct buf *out)
{
	unsigned used[DKIM_FIELDS_N] = { 0 }, hash_len = 0;
	unsigned char hash[DKIM_HASH_LEN], sig[DKIM_SIGNATURE_MAX];
	const char *colon = memchr(field, ':', field_len);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct buf self;
	size_t sig_len = 0, name_len;
	bool ok = md != NULL && colon != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	/* RFC 6376 3.7: the fields in h= order, then the DKIM-Signature
	 * itself, canonical, its b= empty, without its CRLF */
	for (size_t i = 0; ok && i < n; i++) {
		int idx = dkim_field_index(h[i], strlen(h[i]));
		const struct dkim_field *f;

		if (idx < 0) {
			ok = false;
			break;
		}
		f = dkim_signer_instance(s, (unsigned)idx, used[idx]++);
		if (f != NULL)
			ok = EVP_DigestUpdate(md, s->canon.data + f->off, f->len) == 1;
	}
	buf_init(&self, DKIM_SIGNATURE_FIELD_MAX);
	if (ok) {
		name_len = (size_t)(colon - field);
		while (name_len > 0 && (field[name_len - 1] == ' ' || field[name_len - 1] == '\t'))
			name_len--;
		ok = dkim_canon_header(field, name_len, colon + 1,
				       field_len - (size_t)(colon + 1 - field), false, &self) == 0 &&
		     EVP_DigestUpdate(md, self.data, self.len) == 1 &&
		     EVP_DigestFinal_ex(md, hash, &hash_len) == 1 && hash_len == DKIM_HASH_LEN;
	}
	buf_release(&self);
	EVP_MD_CTX_free(md);
	if (ok)
		sig_len = dkim_key_sign(key, hash, sig);
	return sig_len > 0 ? dkim_base64(sig, sig_len, out) : -1;
}

/* ---- the field tern makes ---- */

/* The DKIM-Signature being written, folded as it goes. */
struct dkim_writer {
	struct buf *out;
	size_t column;      /* of the current line */
	int error;
};

/* Add text to the current line (a piece that must not be cut). */
static void dkim_write(struct dkim_writer *w, const char *text, size_t len)
{
	if (w->error == 0)
		w->error = buf_append(w->out, text, len);
	w->column += len;
}

/* Start a new line (folding white space, RFC 6376 3.5) when `len` more
 * octets would not fit on this one. */
static void dkim_write_fold(struct dkim_writer *w, size_t len)
{
	if (w->column > 1 && w->column + len > DKIM_LINE_MAX) {
		if (w->error == 0)
			w->error = buf_append(w->out, "\r\n\t", 3);
		w->column = 1;
	} else if (w->column > 1) {
		dkim_write(w, " ", 1);
	}
}

/* A tag=value, folded before it if needed, with ';' after. */
static void dkim_write_tag(struct dkim_writer *w, const char *tag, const char *value)
{
	size_t len = strlen(tag) + 1 + strlen(value) + 1;

	dkim_write_fold(w, len);
	dkim_write(w, tag, strlen(tag));
	dkim_write(w, "=", 1);
	dkim_write(w, value, strlen(value));
	dkim_write(w, ";", 1);
}

/* h=: the names, folded after a colon where a line is full (FWS may
 * stand on either side of one, 3.5). */
static void dkim_write_h(struct dkim_writer *w, const char *const *h, size_t n)
{
	dkim_write_fold(w, 2 + strlen(h[0]) + 1);
	dkim_write(w, "h=", 2);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		size_t len = strlen(h[i]);

		for (size_t k = 0; k <= len; k++)
			name[k] = h[i][k] >= 'A' && h[i][k] <= 'Z' ? (char)(h[i][k] - 'A' + 'a') : h[i][k];
		if (i > 0 && w->column + len + 1 > DKIM_LINE_MAX) {
			if (w->error == 0)
				w->error = buf_append(w->out, "\r\n\t", 3);
			w->column = 1;
		}
		dkim_write(w, name, len);
		dkim_write(w, i + 1 < n ? ":" : ";", 1);
	}
}

/* A base64 value, which may be cut anywhere (3.5: white space in bh=
 * and b= is ignored). */
static void dkim_write_base64(struct dkim_writer *w, const char *data, size_t len)
{
	while (len > 0) {
		size_t room = w->column < DKIM_LINE_MAX ? DKIM_LINE_MAX - w->column : 0;
		size_t n = len < room ? len : room;

		if (n == 0) {
			if (w->error == 0)
				w->error = buf_append(w->out, "\r\n\t", 3);
			w->column = 1;
			continue;
		}
		dkim_write(w, data, n);
		data += n;
		len -= n;
	}
}

int dkim_signer_sign(const struct dkim_signer *s, const struct dkim_key *key,
		     const char *selector, time_t when, struct buf *out)
{
	const char *h[DKIM_FIELDS_N * (DKIM_INSTANCES_MAX + 1)];
	struct buf field, bh, b;
	struct dkim_writer w = { .out = &field };
	char t[24];
	size_t n = 0;
	int ret = -1;

	if (!s->finished || s->problem != NULL)
		return -1;
	for (size_t i = 0; i < DKIM_FIELDS_N; i++) {
		/* RFC 6376 8.15: From once more than it occurs */
		unsigned times = s->count[i] + (i == DKIM_FROM ? 1 : 0);

		for (unsigned k = 0; k < times; k++)
			h[n++] = dkim_signed_fields[i];
	}
	buf_init(&field, DKIM_SIGNATURE_FIELD_MAX);
	buf_init(&bh, 64);
	buf_init(&b, DKIM_SIGNATURE_MAX * 2);
	snprintf(t, sizeof(t), "%lld", (long long)when);
	dkim_write(&w, "DKIM-Signature: v=1;", 20);
	dkim_write_tag(&w, "a", dkim_algorithm_tag(dkim_key_algorithm(key)));
	dkim_write_tag(&w, "c", "relaxed/relaxed");
	dkim_write_tag(&w, "d", s->domain);
	dkim_write_tag(&w, "s", selector);
	dkim_write_tag(&w, "t", t);
	dkim_write_h(&w, h, n);
	if (dkim_signer_body_hash(s, &bh) == 0) {
		dkim_write_fold(&w, 3 + bh.len + 1);
		dkim_write(&w, "bh=", 3);
		dkim_write_base64(&w, bh.data, bh.len);
		dkim_write(&w, ";", 1);
	} else {
		w.error = -1;
	}
	/* b= last, so the field hashed is this one up to here */
	dkim_write_fold(&w, DKIM_LINE_MAX);
	dkim_write(&w, "b=", 2);
	if (w.error == 0 &&
	    dkim_signer_sign_field(s, key, h, n, field.data, field.len, &b) == 0) {
		dkim_write_base64(&w, b.data, b.len);
		dkim_write(&w, "\r\n", 2);
		if (w.error == 0)
			ret = buf_append(out, field.data, field.len);
	}
	buf_release(&field);
	buf_release(&bh);
	buf_release(&b);
	return ret;
}
