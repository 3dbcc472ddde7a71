/* fuzz-dkim-canon - libFuzzer harness for DKIM's relaxed canonicalisation
 * and the signer that reads a message's header for it (mailauth/
 * dkim-canon.h, dkim-signer.h). Input: a byte of chunk size, then the
 * message. The body canonicaliser and the signer are each fed the input
 * whole and in chunks: the results must be equal (the same canonical
 * body; the same domain or reason; with a fixed Ed25519 key, which signs
 * deterministically, the same DKIM-Signature field), and the canonical
 * body must be relaxed: no tab, no run of spaces, no space before a line
 * end, no empty line at its end. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mailauth/dkim-canon.h"
#include "mailauth/dkim-signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_collect(void *ctx, const char *data, size_t len)
{
	if (buf_append(ctx, data, len) < 0)
		abort();
}

static void fuzz_body(const char *in, size_t len, size_t step, struct buf *out)
{
	struct dkim_body_canon c;

	dkim_body_canon_init(&c, fuzz_collect, out);
	for (size_t at = 0; at < len; at += step)
		dkim_body_canon_feed(&c, in + at, len - at < step ? len - at : step);
	dkim_body_canon_finish(&c);
	if (c.length != out->len)
		abort();
}

static void fuzz_check_relaxed(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];

		if (c == '\t')
			abort();
		if (c == ' ' && i + 1 < b->len && (b->data[i + 1] == ' ' ||
		     (b->data[i + 1] == '\r' && i + 2 < b->len && b->data[i + 2] == '\n')))
			abort();
	}
	if (b->len > 0 && (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0))
		abort();
	if (b->len >= 4 && memcmp(b->data + b->len - 4, "\r\n\r\n", 4) == 0)
		abort();
}

/* RFC 6376 3.4.4 the plain way, on the whole body: split at CRLF; in
 * each line runs of SP and HTAB made one SP and those at its end
 * removed; the empty lines at the end removed; every line ended by CRLF. */
static void fuzz_reference(const char *in, size_t len, struct buf *out)
{
	size_t keep = 0;   /* out's length up to the last line with text */

	for (size_t at = 0; at < len;) {
		const char *eol = memmem(in + at, len - at, "\r\n", 2);
		size_t end = eol != NULL ? (size_t)(eol - in) : len, line = out->len;
		bool wsp = false;

		for (size_t i = at; i < end; i++) {
			if (in[i] == ' ' || in[i] == '\t') {
				wsp = true;
				continue;
			}
			if (wsp && buf_append(out, " ", 1) < 0)
				abort();
			if (buf_append(out, in + i, 1) < 0)
				abort();
			wsp = false;
		}
		if (buf_append(out, "\r\n", 2) < 0)
			abort();
		if (out->len > line + 2)
			keep = out->len;
		at = end + 2;
	}
	out->len = keep;
}

/* RFC 8032 7.1's first secret key: any fixed key will do. */
static struct dkim_key *fuzz_key(void)
{
	static const unsigned char secret[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60 };
	static struct dkim_key *key;
	EVP_PKEY *pkey;
	const char *error;
	BIO *bio;
	char *pem;
	long len;

	if (key != NULL)
		return key;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, sizeof(secret));
	bio = BIO_new(BIO_s_mem());
	if (pkey == NULL || bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	len = BIO_get_mem_data(bio, &pem);
	key = dkim_key_parse(pem, (size_t)len, &error);
	if (key == NULL)
		abort();
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return key;
}

/* The signature field (or the reason there is none) of the message fed
 * in pieces of `step`. */
static void fuzz_sign(const char *in, size_t len, size_t step, struct buf *out)
{
	struct dkim_signer *s = dkim_signer_new();
	const char *why = NULL, *domain;

	for (size_t at = 0; at < len; at += step)
		dkim_signer_feed(s, in + at, len - at < step ? len - at : step);
	domain = dkim_signer_finish(s, &why);
	if ((domain == NULL) == (why == NULL))
		abort();
	if (domain == NULL)
		buf_append_str(out, why);
	else if (dkim_signer_sign(s, fuzz_key(), "fuzz", 1, out) < 0)
		abort();
	dkim_signer_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, pieces;
	const char *in = (const char *)data + 1;
	size_t len, step;

	if (size < 1)
		return 0;
	step = data[0] % 17 + 1;
	len = size - 1;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	fuzz_body(in, len, len > 0 ? len : 1, &whole);
	fuzz_body(in, len, step, &pieces);
	if (whole.len != pieces.len || (whole.len > 0 && memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	fuzz_check_relaxed(&whole);
	buf_reset(&pieces);
	fuzz_reference(in, len, &pieces);
	if (whole.len != pieces.len || (whole.len > 0 && memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	buf_reset(&whole);
	buf_reset(&pieces);
	fuzz_sign(in, len, len > 0 ? len : 1, &whole);
	fuzz_sign(in, len, step, &pieces);
	if (whole.len != pieces.len || (whole.len > 0 && memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	buf_release(&whole);
	buf_release(&pieces);
	return 0;
}
