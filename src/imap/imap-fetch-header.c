/* imap-fetch-header - HEADER.FIELDS(.NOT) filtering over the RFC 5322
 * header reader. */
#include "imap/imap-fetch-header.h"

#include "mail/mail-header.h"

static bool name_listed(const struct mail_header_field *f, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mail_header_name_equals(f->name, f->name_len, names[i]))
			return true;
	return false;
}

void imap_fetch_header_filter(const char *header, size_t len, char *const *names, size_t n,
			      bool exclude, struct buf *out)
{
	/* The fields are copied from `header` by their offsets, so the
	 * reader need keep only enough of each to see its name. */
	const struct mail_header_limits limits = { .max_header = len + 1, .max_field = 1024 };
	struct mail_header_parser p;
	struct mail_header_field f;
	enum mail_header_result r;

	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, header, len);
	mail_header_parser_finish(&p);
	while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD ||
	       r == MAIL_HEADER_MALFORMED) {
		/* A line that is not a field names nothing: .NOT keeps it,
		 * as Dovecot does. */
		bool listed = r == MAIL_HEADER_FIELD && name_listed(&f, names, n);

		if (listed == exclude)
			continue;
		buf_append(out, header + f.offset, f.length);
		if (f.length == 0 || header[f.offset + f.length - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	mail_header_parser_deinit(&p);
	buf_append(out, "\r\n", 2);
}
