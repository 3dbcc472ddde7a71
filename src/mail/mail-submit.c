/* mail-submit - the header of a locally submitted message; see
 * mail-submit.h. */
#include "mail/mail-submit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-date.h"
#include "mail/mail-header.h"

/* The fields whose absence mail_submit_header makes good. */
struct mail_submit_seen {
	bool date, message_id, from;
};

/* -t: the addresses of one To, Cc or Bcc field. False when one of them
 * cannot be read. */
static bool mail_submit_extract(const struct mail_submit *sub, const struct mail_header_field *f)
{
	char *value = malloc(f->value_len + 1);
	size_t len;
	unsigned errors;

	if (value == NULL)
		abort();
	len = mail_header_unfold(f->value, f->value_len, value);
	errors = mail_address_list(value, len, sub->rcpt, sub->ctx);
	free(value);
	return errors == 0;
}

/* The display name of an added From, as one quoted string (RFC 5322
 * 3.2.4): quotes and backslashes escaped, control characters (a line end
 * above all) made spaces. */
static void mail_submit_name(struct buf *out, const char *name)
{
	buf_append_str(out, "\"");
	for (const char *c = name; *c != '\0'; c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch == '"' || ch == '\\')
			buf_append(out, "\\", 1);
		buf_append(out, ch < 0x20 || ch == 0x7f ? " " : c, 1);
	}
	buf_append_str(out, "\" ");
}

/* The fields RFC 6409 8 asks for that the user left out, then the empty
 * line. */
static void mail_submit_add(const struct mail_submit *sub, const struct mail_submit_seen *seen,
			    struct buf *out)
{
	char date[MAIL_DATE_MAX];

	if (!seen->date && mail_date_write(sub->now, date, sizeof(date)) == 0)
		buf_printf(out, "Date: %s\r\n", date);
	if (!seen->message_id)
		buf_printf(out, "Message-ID: %s\r\n", sub->message_id);
	if (!seen->from) {
		buf_append_str(out, "From: ");
		if (sub->from_name != NULL && sub->from_name[0] != '\0') {
			mail_submit_name(out, sub->from_name);
			buf_printf(out, "<%s>\r\n", sub->from_addr);
		} else {
			buf_printf(out, "%s\r\n", sub->from_addr);
		}
	}
	buf_append_str(out, "\r\n");
}

/* The header reader stopped at the bound inside the line at
 * data[offset..len): whether that line is no field at all, so that the
 * header ended before it and it starts the body (text whose first line
 * is longer than the bound: `base64 -w0 file | sendmail`). Read alone,
 * with no bound; a line cut before its end might still be one. */
static bool mail_submit_cut_is_text(const char *data, size_t len, size_t offset)
{
	const struct mail_header_limits limits = {
		.max_header = SIZE_MAX,
		.max_field = MAIL_SUBMIT_HEADER_MAX,
	};
	const char *lf = memchr(data + offset, '\n', len - offset);
	struct mail_header_parser p;
	struct mail_header_field f;
	enum mail_header_result r;

	if (lf == NULL)
		return false;
	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, data + offset, (size_t)(lf - (data + offset)) + 1);
	mail_header_parser_finish(&p);
	r = mail_header_parser_next(&p, &f);
	mail_header_parser_deinit(&p);
	return r == MAIL_HEADER_MALFORMED;
}

enum mail_submit_result mail_submit_header(const struct mail_submit *sub, const char *data,
					   size_t len, bool complete, struct buf *out,
					   size_t *body_r, const char **field_r)
{
	/* Resent-Bcc hides its addresses as Bcc does (RFC 5322 3.6.6). */
	static const char *const rcpt_fields[] = { "To", "Cc", "Bcc", "Resent-Bcc" };
	const struct mail_header_limits limits = {
		.max_header = MAIL_SUBMIT_HEADER_MAX,
		.max_field = MAIL_SUBMIT_HEADER_MAX,
	};
	struct mail_header_parser p;
	struct mail_header_field f;
	struct mail_submit_seen seen = { false, false, false };
	enum mail_submit_result result = MAIL_SUBMIT_OK;
	enum mail_header_result r;

	*field_r = NULL;
	mail_header_parser_init(&p, &limits);
	mail_header_parser_push(&p, data, len);
	if (complete)
		mail_header_parser_finish(&p);
	while ((r = mail_header_parser_next(&p, &f)) == MAIL_HEADER_FIELD) {
		bool bcc = mail_header_name_equals(f.name, f.name_len, "Bcc") ||
			   mail_header_name_equals(f.name, f.name_len, "Resent-Bcc");

		seen.date |= mail_header_name_equals(f.name, f.name_len, "Date");
		seen.message_id |= mail_header_name_equals(f.name, f.name_len, "Message-ID");
		seen.from |= mail_header_name_equals(f.name, f.name_len, "From");
		for (size_t i = 0; sub->rcpt != NULL && i < sizeof(rcpt_fields) / sizeof(*rcpt_fields);
		     i++) {
			if (mail_header_name_equals(f.name, f.name_len, rcpt_fields[i]) &&
			    !mail_submit_extract(sub, &f)) {
				*field_r = rcpt_fields[i];
				result = MAIL_SUBMIT_BAD_ADDRESS;
			}
		}
		if (bcc)
			continue;
		buf_append(out, data + f.offset, f.length);
		/* the last line of a message without a line end */
		if (f.length < 2 || data[f.offset + f.length - 1] != '\n')
			buf_append_str(out, "\r\n");
	}
	switch (r) {
	case MAIL_HEADER_MALFORMED:
		/* not a field: the header ended before it, and it is body */
		*body_r = f.offset;
		break;
	case MAIL_HEADER_END:
		*body_r = f.offset + f.length;
		break;
	case MAIL_HEADER_TOO_LARGE:
		if (mail_submit_cut_is_text(data, len, f.offset)) {
			*body_r = f.offset;
			break;
		}
		/* fall through */
	default:
		/* NEED_MORE (the input goes on past what is given) or TOO_LARGE */
		result = result == MAIL_SUBMIT_OK ? MAIL_SUBMIT_TOO_LARGE : result;
		break;
	}
	mail_header_parser_deinit(&p);
	if (result == MAIL_SUBMIT_OK)
		mail_submit_add(sub, &seen, out);
	return result;
}
