/* fuzz-mail-submit - libFuzzer harness for the header fix-ups of locally
 * submitted mail (mail-submit.h). The first byte says whether the input
 * is complete; the rest is the message. On OK the header made must end
 * with its empty line, hold no Bcc field and a Date, a Message-ID and
 * a From, and the body must start inside the input; every
 * recipient handed out must be bounded. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mail/mail-header.h"
#include "mail/mail-submit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rcpt(void *ctx, const char *addr, size_t len)
{
	(void)ctx;
	if (len == 0 || len > MAIL_ADDRESS_MAX || strlen(addr) != len)
		__builtin_trap();
}

/* How many fields of the header made are called name. */
static unsigned fuzz_count(const struct buf *out, const char *name)
{
	const struct mail_header_limits limits = { .max_header = out->len + 1,
						   .max_field = out->len + 1 };
	struct mail_header_parser p;
	struct mail_header_field f;
	enum mail_header_result r;
	unsigned n = 0;

	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, out->data, out->len);
	mail_header_parser_finish(&p);
	while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED)
		if (r == MAIL_HEADER_FIELD && mail_header_name_equals(f.name, f.name_len, name))
			n++;
	mail_header_parser_deinit(&p);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mail_submit sub = {
		.from_addr = "user@host.example",
		.from_name = "A \"name\"",
		.message_id = "<1.2@host.example>",
		.now = 1796122957,
		.rcpt = fuzz_rcpt,
	};
	const char *field;
	struct buf out;
	size_t body = 0;

	if (size < 1)
		return 0;
	buf_init(&out, size + 1024);
	if (mail_submit_header(&sub, (const char *)data + 1, size - 1, (data[0] & 1) != 0, &out,
			       &body, &field) == MAIL_SUBMIT_OK) {
		if (body > size - 1 || out.len < 2 ||
		    memcmp(out.data + out.len - 2, "\r\n", 2) != 0 || fuzz_count(&out, "Bcc") != 0 ||
		    fuzz_count(&out, "Date") == 0 || fuzz_count(&out, "Message-ID") == 0 ||
		    fuzz_count(&out, "From") == 0)
			__builtin_trap();
	}
	buf_release(&out);
	return 0;
}
