/* fuzz-mail-structure - libFuzzer harness for reading the MIME structure
 * blob back (mail_structure_deserialize), and a sealed string
 * (mail_structure_string_open, whose string must lie inside the input,
 * and which must open what mail_structure_string_seal made of the input).
 * Input: a byte, then a blob. When the byte is odd the harness appends
 * the hash the blob must end with, so that the checks behind it
 * (lengths, offsets, the tree's shape) are reached too. Whatever is read
 * back must hold (mail-mime-check.h), save that its strings, forged,
 * need not be well-formed IMAP. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../unit/mail-mime-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_structure *st;
	uint8_t *blob;
	size_t len, i;

	if (size < 1)
		return 0;
	len = size - 1;
	blob = malloc(len + 8);
	if (blob == NULL)
		abort();
	memcpy(blob, data + 1, len);
	if (data[0] & 1) {
		uint64_t h = mmc_blob_hash(blob, len);

		for (i = 0; i < 8; i++)
			blob[len + i] = (uint8_t)(h >> (8 * i));
		len += 8;
	}
	{
		const char *str;
		size_t n;

		if (mail_structure_string_open(blob, len, len, &str, &n) &&
		    ((const uint8_t *)str != blob || n + 8 != len))
			abort();
	}
	if (data[0] & 2) {
		/* sealed from the input's text: opens to that text */
		char *text = strndup((const char *)data + 1, size - 1);
		struct buf sealed;
		const char *str;
		size_t n;

		if (text == NULL)
			abort();
		buf_init(&sealed, 0);
		if (mail_structure_string_seal(text, size, &sealed) != 0 ||
		    !mail_structure_string_open(sealed.data, sealed.len, size, &str, &n) ||
		    n != strlen(text) || memcmp(str, text, n) != 0)
			abort();
		buf_release(&sealed);
		free(text);
	}
	st = mail_structure_deserialize(blob, len);
	free(blob);
	if (st == NULL)
		return 0;
	for (i = 0; i < MMC_PATHS; i++) {
		uint32_t part[3];
		size_t depth = mmc_path(i, part);
		enum mail_section_kind k;

		(void)mail_structure_encoding(st, part, depth);
		for (k = 0; k < MAIL_SECTION__COUNT; k++) {
			uint64_t off, n;

			if (mail_structure_section(st, part, depth, k, &off, &n) &&
			    (off > mail_structure_size(st) || n > mail_structure_size(st) - off))
				abort();
		}
	}
	if (mail_structure_envelope(st) == NULL || mail_structure_body(st) == NULL ||
	    mail_structure_bodystructure(st) == NULL)
		abort();
	mail_structure_free(&st);
	return 0;
}
