/* mail-mime-check - what must hold for the structure of any message, for
 * tests/unit/test-mail-mime.c and the fuzz harnesses of the MIME parser:
 * its IMAP strings are well formed (one parenthesised list of quoted
 * strings, literals, NIL, numbers and lists), section ranges lie in the
 * message, and two structures answer alike. Aborts when one does not. */
#ifndef TERN_TESTS_MAIL_MIME_CHECK_H
#define TERN_TESTS_MAIL_MIME_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-mime.h"

/* The 64-bit FNV-1a hash (regen.py writes section hashes with it; the
 * structure blob ends with one). */
static inline uint64_t mmc_fnv1a(const void *data, size_t len)
{
	const unsigned char *s = data;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* mail-structure.c's blob hash: FNV-1a's constants over little-endian
 * 8-byte words in four lanes, folded, then the bytes left. */
static inline uint64_t mmc_blob_hash(const void *data, size_t len)
{
	const unsigned char *s = data;
	const uint64_t prime = 0x100000001b3ull;
	uint64_t lane[4] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9ce484222325cbf2ull,
			     0x2325cbf29ce48422ull };
	uint64_t h;
	size_t i = 0;

	for (; len - i >= 32; i += 32) {
		for (size_t l = 0; l < 4; l++) {
			uint64_t w = 0;

			for (size_t b = 0; b < 8; b++)
				w |= (uint64_t)s[i + 8 * l + b] << (8 * b);
			lane[l] = (lane[l] ^ w) * prime;
		}
	}
	h = lane[0];
	for (size_t l = 1; l < 4; l++)
		h = (h ^ lane[l]) * prime;
	for (; i < len; i++)
		h = (h ^ s[i]) * prime;
	return h;
}

/* s is one IMAP list: "(" values ")" with values separated by one space
 * (none between lists, as Dovecot writes a multipart's parts). */
static inline bool mmc_imap_list(const char *s)
{
	size_t i = 0, depth = 0;
	bool value = false;   /* a value just ended: a space or ')' may follow */

	if (s[0] != '(')
		return false;
	while (s[i] != '\0') {
		char c = s[i];

		if (c == ')') {
			if (depth == 0)
				return false;
			depth--;
			i++;
			value = true;
			if (depth == 0)
				return s[i] == '\0';
			continue;
		}
		if (c == ' ') {
			if (!value)
				return false;
			value = false;
			i++;
			continue;
		}
		if (value && c != '(')
			return false;   /* two values without a space (lists excepted) */
		value = true;
		if (c == '(') {
			depth++;
			i++;
			value = false;
		} else if (c == '"') {
			for (i++; s[i] != '"'; i++) {
				if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
					return false;
				if (s[i] == '\\' && s[++i] != '"' && s[i] != '\\')
					return false;
			}
			i++;
		} else if (c == '{') {
			char *end;
			unsigned long n = strtoul(s + i + 1, &end, 10);

			if (end == s + i + 1 || strncmp(end, "}\r\n", 3) != 0)
				return false;
			i = (size_t)(end - s) + 3;
			while (n-- > 0) {
				if (s[i++] == '\0')
					return false;
			}
		} else if (strncmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else if (c >= '0' && c <= '9') {
			while (s[i] >= '0' && s[i] <= '9')
				i++;
		} else {
			return false;
		}
	}
	return false;
}

/* The paths every check walks: all of up to three numbers 1..3. */
static inline size_t mmc_path(size_t index, uint32_t *part)
{
	size_t depth = 0;

	if (index == 0)
		return 0;
	index--;
	if (index < 3) {
		part[0] = (uint32_t)index + 1;
		return 1;
	}
	index -= 3;
	if (index < 9) {
		part[0] = (uint32_t)(index / 3) + 1;
		part[1] = (uint32_t)(index % 3) + 1;
		return 2;
	}
	index -= 9;
	part[0] = (uint32_t)(index / 9) + 1;
	part[1] = (uint32_t)(index / 3 % 3) + 1;
	part[2] = (uint32_t)(index % 3) + 1;
	depth = 3;
	return depth;
}
#define MMC_PATHS (1 + 3 + 9 + 27)

/* Whatever was parsed: the strings are well formed, every section lies
 * in the message, every existing part has an encoding. */
static inline void mmc_check(const struct mail_structure *st)
{
	uint64_t size = mail_structure_size(st);
	size_t i;

	if (!mmc_imap_list(mail_structure_envelope(st)) || !mmc_imap_list(mail_structure_body(st)) ||
	    !mmc_imap_list(mail_structure_bodystructure(st)))
		abort();
	for (i = 0; i < MMC_PATHS; i++) {
		uint32_t part[3];
		size_t depth = mmc_path(i, part);
		enum mail_section_kind k;
		bool exists = mail_structure_encoding(st, part, depth) != NULL;

		for (k = 0; k < MAIL_SECTION__COUNT; k++) {
			uint64_t off = UINT64_MAX, len = UINT64_MAX;

			if (!mail_structure_section(st, part, depth, k, &off, &len)) {
				if (off != UINT64_MAX || len != UINT64_MAX)
					abort();
				continue;
			}
			if (!exists || off > size || len > size - off)
				abort();
		}
	}
}

/* a and b answer alike (the same message parsed in other pieces, or
 * read back from its blob). */
static inline void mmc_same(const struct mail_structure *a, const struct mail_structure *b)
{
	size_t i;

	if (strcmp(mail_structure_envelope(a), mail_structure_envelope(b)) != 0 ||
	    strcmp(mail_structure_body(a), mail_structure_body(b)) != 0 ||
	    strcmp(mail_structure_bodystructure(a), mail_structure_bodystructure(b)) != 0 ||
	    mail_structure_size(a) != mail_structure_size(b))
		abort();
	for (i = 0; i < MMC_PATHS; i++) {
		uint32_t part[3];
		size_t depth = mmc_path(i, part);
		const char *ea = mail_structure_encoding(a, part, depth);
		const char *eb = mail_structure_encoding(b, part, depth);
		enum mail_section_kind k;

		if ((ea == NULL) != (eb == NULL) || (ea != NULL && strcmp(ea, eb) != 0))
			abort();
		for (k = 0; k < MAIL_SECTION__COUNT; k++) {
			uint64_t oa = 0, la = 0, ob = 0, lb = 0;

			if (mail_structure_section(a, part, depth, k, &oa, &la) !=
			    mail_structure_section(b, part, depth, k, &ob, &lb) || oa != ob || la != lb)
				abort();
		}
	}
}

#endif
