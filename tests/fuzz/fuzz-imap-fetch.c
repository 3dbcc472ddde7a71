/* fuzz-imap-fetch - libFuzzer harness for the FETCH item parser
 * (imap/imap-fetch-parse.h) and the HEADER.FIELDS filter
 * (imap/imap-fetch-header.h). Input: the first byte picks the form, the
 * rest is split at each NUL byte into items: one atom, or a list of
 * atoms. A parsed request must be consistent (labels, bounds); the names
 * of any HEADER.FIELDS item are then used to filter the input as a
 * header, in both senses, and the output must be no longer than the
 * input plus the line ends the filter may add. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap-fetch-header.h"
#include "imap/imap-fetch-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ATOMS (IMAP_FETCH_MAX_ITEMS + 2)

static void fuzz_check(const struct imap_fetch_request *req, const char *text, size_t len)
{
	if (req->n > IMAP_FETCH_MAX_ITEMS)
		abort();
	for (size_t i = 0; i < req->n; i++) {
		const struct imap_fetch_item *it = &req->items[i];
		bool section = it->attr == IMAP_FETCH_SECTION || it->attr == IMAP_FETCH_BINARY_SIZE;

		if (it->attr == IMAP_FETCH_UID || it->attr >= IMAP_FETCH__COUNT)
			abort();
		if (section != (it->label != NULL) || it->depth > IMAP_FETCH_MAX_DEPTH ||
		    it->n_fields > IMAP_FETCH_MAX_FIELDS || (it->partial && it->length == 0))
			abort();
		for (size_t k = 0; k < it->depth; k++)
			if (it->part[k] == 0)
				abort();
		if (it->n_fields > 0) {
			for (int exclude = 0; exclude < 2; exclude++) {
				struct buf out;

				buf_init(&out, 0);
				imap_fetch_header_filter(text, len, it->fields, it->n_fields,
							 exclude != 0, &out);
				if (out.len < 2 || out.len > len + 4)
					abort();
				buf_release(&out);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_arg atoms[FUZZ_MAX_ATOMS], list;
	struct imap_fetch_request req;
	const char *text, *why;
	size_t n = 0, start = 0, len;
	char *copy;
	bool ok;

	if (size < 1)
		return 0;
	len = size - 1;
	copy = malloc(len + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, len);
	copy[len] = '\0';
	text = copy;
	for (size_t i = 0; i <= len && n < FUZZ_MAX_ATOMS; i++) {
		if (i < len && copy[i] != '\0')
			continue;
		atoms[n].type = IMAP_ARG_ATOM;
		atoms[n].str = copy + start;
		atoms[n].len = i - start;
		atoms[n].literal8 = false;
		atoms[n].list = NULL;
		atoms[n].n = 0;
		n++;
		start = i + 1;
	}
	if (data[0] & 1) {
		memset(&list, 0, sizeof(list));
		list.type = IMAP_ARG_LIST;
		list.str = "";
		list.list = atoms;
		list.n = n;
		ok = imap_fetch_parse(&list, (data[0] & 2) != 0, &req, &why);
	} else {
		ok = imap_fetch_parse(&atoms[0], (data[0] & 2) != 0, &req, &why);
	}
	if (ok) {
		if (((data[0] & 2) != 0 && !req.uid))
			abort();
		fuzz_check(&req, text, len);
		imap_fetch_request_free(&req);
	} else if (why == NULL || req.n != 0 || req.items != NULL) {
		abort();
	}
	free(copy);
	return 0;
}
