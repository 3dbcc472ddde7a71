/* fuzz-mail-mime - libFuzzer harness for the MIME structure parser and
 * its ENVELOPE/BODY/BODYSTRUCTURE writers (mail/mail-mime.h). Input: 4
 * bytes of chunk sizes, then the message. The message is parsed whole,
 * one byte at a time and in the given chunks: the structures must answer
 * alike, their strings be well-formed IMAP and their sections lie in the
 * message (tests/unit/mail-mime-check.h); the serialised form must read
 * back to the same, and a cut one must not. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../unit/mail-mime-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SIZES 4

static struct mail_structure *fuzz_parse(const uint8_t *msg, size_t len, const size_t *sizes, size_t n)
{
	struct mail_mime_parser *p = mail_mime_parser_new();
	size_t off = 0, i = 0;

	while (off < len) {
		size_t k = sizes[i++ % n];

		if (k > len - off)
			k = len - off;
		/* each piece a copy freed at once: nothing may point into it */
		{
			uint8_t *copy = malloc(k);

			if (copy == NULL)
				abort();
			memcpy(copy, msg + off, k);
			mail_mime_parser_push(p, copy, k);
			free(copy);
		}
		off += k;
	}
	return mail_mime_parser_finish(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sizes[FUZZ_SIZES], whole, one = 1, i;
	struct mail_structure *a, *b, *c, *back;
	struct buf blob;

	if (size < FUZZ_SIZES)
		return 0;
	for (i = 0; i < FUZZ_SIZES; i++)
		sizes[i] = data[i] % 64 + 1;
	data += FUZZ_SIZES;
	size -= FUZZ_SIZES;
	whole = size > 0 ? size : 1;

	a = fuzz_parse(data, size, &whole, 1);
	b = fuzz_parse(data, size, &one, 1);
	c = fuzz_parse(data, size, sizes, FUZZ_SIZES);
	mmc_check(a);
	mmc_same(a, b);
	mmc_same(a, c);
	if (mail_structure_size(a) != size)
		abort();

	buf_init(&blob, 0);
	if (mail_structure_serialize(a, &blob) != 0)
		abort();
	back = mail_structure_deserialize(blob.data, blob.len);
	if (back == NULL)
		abort();
	mmc_same(a, back);
	if (mail_structure_deserialize(blob.data, blob.len - 1 - sizes[0] % blob.len) != NULL)
		abort();
	buf_release(&blob);

	mail_structure_free(&a);
	mail_structure_free(&b);
	mail_structure_free(&c);
	mail_structure_free(&back);
	return 0;
}
