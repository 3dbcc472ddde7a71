/* smtp-client-body - line ends and dot-stuffing of an outgoing message
 * (see the header). */
#include "smtp/smtp-client-body.h"

void smtp_client_body_init(struct smtp_client_body *b, bool dot_stuff)
{
	*b = (struct smtp_client_body){ .dot_stuff = dot_stuff, .line_start = true };
}

size_t smtp_client_body_feed(struct smtp_client_body *b, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (b->cr) {
			/* the CR ends a line, with its LF or alone */
			b->cr = false;
			out[n++] = '\r';
			out[n++] = '\n';
			b->line_start = true;
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			b->cr = true;
			continue;
		}
		if (c == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			b->line_start = true;
			continue;
		}
		if (b->line_start && c == '.' && b->dot_stuff)
			out[n++] = '.';
		b->line_start = false;
		out[n++] = c;
	}
	b->out += n;
	return n;
}

size_t smtp_client_body_finish(struct smtp_client_body *b, char *out)
{
	size_t n = 0;

	if (b->cr || !b->line_start) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	b->cr = false;
	b->line_start = true;
	b->out += n;
	return n;
}
