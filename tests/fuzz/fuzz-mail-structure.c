/* fuzz-mail-structure - libFuzzer harness for reading the MIME structure
 * blob back (mail_structure_deserialize, and mail_structure_peek, whose
 * strings must lie inside the blob). Input: a byte, then a blob. When
 * the byte is odd the harness appends the hash the blob must end with, so
 * that the checks behind it (lengths, offsets, the tree's shape) are
 * reached too. Whatever is read back must hold (mail-mime-check.h), save
 * that its strings, forged, need not be well-formed IMAP. */
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
	if (len >= 12) {
		struct mail_structure_strings strs;
		uint64_t msg_size = 0;

		for (i = 0; i < 8; i++)
			msg_size |= (uint64_t)blob[4 + i] << (8 * i);
		if (mail_structure_peek(blob, len, msg_size, &strs) &&
		    ((const uint8_t *)strs.bodystructure < blob ||
		     (const uint8_t *)strs.envelope + strs.envelope_len > blob + len ||
		     (const uint8_t *)strs.body + strs.body_len > blob + len ||
		     (const uint8_t *)strs.bodystructure + strs.bodystructure_len > blob + len))
			abort();
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
