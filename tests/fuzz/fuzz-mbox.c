/* fuzz-mbox - libFuzzer harness for the mbox splitter (store/transfer.h):
 * the input is split whole and again in slices whose sizes come from the
 * input itself; both must give the same messages, every output line must
 * end in CRLF, and no bare LF may reach the store. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_out {
	unsigned char *buf;
	size_t len, cap;
	size_t messages;
	int prev_cr;
};

static void fuzz_put(struct fuzz_out *o, const void *data, size_t len)
{
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		if (o->buf == NULL)
			abort();
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
}

static int fuzz_begin(void *ctx, const char *from, size_t len)
{
	struct fuzz_out *o = ctx;

	if (len < 5 || memcmp(from, "From ", 5) != 0)
		abort();
	o->messages++;
	fuzz_put(o, "\0B", 2);
	return 0;
}

static int fuzz_data(void *ctx, const char *data, size_t len)
{
	struct fuzz_out *o = ctx;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && !o->prev_cr)
			abort();   /* a bare LF escaped the converter */
		o->prev_cr = data[i] == '\r';
	}
	fuzz_put(o, data, len);
	return 0;
}

static int fuzz_end(void *ctx)
{
	struct fuzz_out *o = ctx;

	fuzz_put(o, "\0E", 2);
	return 0;
}

static const struct mbox_callbacks fuzz_cb = { fuzz_begin, fuzz_data, fuzz_end };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_out whole = { 0 }, sliced = { 0 };
	struct mbox_parser *p;
	int rc1, rc2 = 0;
	size_t off = 0, step = size > 0 ? (size_t)data[0] % 17 + 1 : 1;

	rc1 = mbox_split(data, size, &fuzz_cb, &whole);
	p = mbox_parser_new(&fuzz_cb, &sliced);
	while (off < size && rc2 == 0) {
		size_t n = size - off < step ? size - off : step;

		rc2 = mbox_parser_feed(p, data + off, n);
		off += n;
		step = step * 7 % 23 + 1;
	}
	if (rc2 == 0)
		rc2 = mbox_parser_finish(p);
	mbox_parser_free(&p);
	if (rc1 != rc2)
		abort();
	if (rc1 == 0 && (whole.len != sliced.len || whole.messages != sliced.messages ||
			 (whole.len > 0 && memcmp(whole.buf, sliced.buf, whole.len) != 0)))
		abort();
	free(whole.buf);
	free(sliced.buf);
	return 0;
}
