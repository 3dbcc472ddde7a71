/* smtp-client-data - dot-stuffing and line-end repair of an outgoing
 * message; see smtp-client-data.h. */
#include "smtp/smtp-client-data.h"

void smtp_client_data_init(struct smtp_client_data *d, bool dot_stuff)
{
	d->dot_stuff = dot_stuff;
	d->line_start = true;
	d->cr_held = false;
	d->size = 0;
}

/* A line ends: CRLF, whatever ended it in the input. */
static size_t smtp_data_eol(struct smtp_client_data *d, char *out)
{
	out[0] = '\r';
	out[1] = '\n';
	d->line_start = true;
	return 2;
}

size_t smtp_client_data_encode(struct smtp_client_data *d, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (d->cr_held) {
			d->cr_held = false;
			n += smtp_data_eol(d, out + n);
			if (c == '\n')
				continue;   /* the CRLF it was */
			/* a bare CR: its CRLF is out, c starts a new line */
		}
		if (c == '\r') {
			d->cr_held = true;
			continue;
		}
		if (c == '\n') {
			n += smtp_data_eol(d, out + n);   /* a bare LF */
			continue;
		}
		/* RFC 5321 4.5.2: transparency */
		if (d->line_start && c == '.' && d->dot_stuff)
			out[n++] = '.';
		d->line_start = false;
		out[n++] = c;
	}
	d->size += n;
	return n;
}

size_t smtp_client_data_end(struct smtp_client_data *d, char *out)
{
	size_t n = 0;

	if (d->cr_held) {
		d->cr_held = false;
		n += smtp_data_eol(d, out);
	}
	if (!d->line_start)
		n += smtp_data_eol(d, out + n);
	if (d->dot_stuff) {
		out[n++] = '.';
		out[n++] = '\r';
		out[n++] = '\n';
	}
	d->size += n;
	return n;
}
