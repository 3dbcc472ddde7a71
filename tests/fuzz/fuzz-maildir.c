/* fuzz-maildir - libFuzzer harness for the Maildir importer's parsers
 * (store/transfer.h): the first byte chooses the dovecot-uidlist parser
 * (even) or the file-name parsers (odd: message file names, and the same
 * bytes as a Maildir++ folder name and as a mailbox name); the rest is the
 * file or the name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_FLAGS (STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | \
		   STORE_FLAG_DELETED | STORE_FLAG_DRAFT)

/* Every entry has a UID in range and a non-empty base that holds no
 * separator, no line end and no NUL, and came from the input. */
static void fuzz_uidlist(const uint8_t *data, size_t size)
{
	struct transfer_uidlist ul;
	bool ok = transfer_uidlist_parse(data, size, &ul);

	if (!ok && (ul.n != 0 || ul.entries != NULL))
		abort();
	if (ok && ul.uidvalidity == 0)
		abort();
	for (size_t i = 0; i < ul.n; i++) {
		const char *b = ul.entries[i].base;
		size_t len = strlen(b);

		if (ul.entries[i].uid == 0 || ul.entries[i].uid == UINT32_MAX)
			abort();
		if (len == 0 || len >= TRANSFER_UIDLIST_LINE_MAX || strcspn(b, ":!;\r\n") != len)
			abort();
		if (memmem(data, size, b, len) == NULL)
			abort();
	}
	transfer_uidlist_free(&ul);
	if (ul.n != 0 || ul.entries != NULL)
		abort();
}

/* The input as a C string (cut at a NUL byte, as a file name would be). */
static char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The base is a prefix of the name without separators; only the five
 * system flags come out. */
static void fuzz_name(const uint8_t *data, size_t size)
{
	char *name = fuzz_string(data, size), *base;
	unsigned flags;
	size_t len;

	flags = transfer_maildir_flags(name);
	base = transfer_maildir_base(name);
	len = strlen(base);
	if ((flags & ~(unsigned)ALL_FLAGS) != 0)
		abort();
	if (strncmp(base, name, len) != 0 || strcspn(base, ":!;") != len)
		abort();
	if (name[len] != '\0' && strchr(":!;", name[len]) == NULL)
		abort();
	if (flags != 0 && name[len] == '\0')
		abort();   /* flags without an info separator */
	free(base);
	free(name);
}

/* A folder name decodes to some mailbox name whose folder decodes back to
 * it; any mailbox name encodes to a folder of one path level that decodes
 * back to that name exactly. */
static void fuzz_folder(const uint8_t *data, size_t size)
{
	char *name = fuzz_string(data, size), *mailbox, *folder, *back;

	mailbox = transfer_maildir_folder_decode(name);
	folder = transfer_maildir_folder_encode(mailbox);
	back = transfer_maildir_folder_decode(folder);
	if (strcmp(back, mailbox) != 0 || strchr(folder, '/') != NULL)
		abort();
	free(mailbox);
	free(folder);
	free(back);
	folder = transfer_maildir_folder_encode(name);
	back = transfer_maildir_folder_decode(folder);
	if (strcmp(back, name) != 0 || folder[0] != '.' || strchr(folder, '/') != NULL)
		abort();
	free(folder);
	free(back);
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0)
		fuzz_uidlist(data + 1, size - 1);
	else {
		fuzz_name(data + 1, size - 1);
		fuzz_folder(data + 1, size - 1);
	}
	return 0;
}
