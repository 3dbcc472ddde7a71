/* dkim-canon - relaxed header and body canonicalisation; see
 * dkim-canon.h. */
#include "mailauth/dkim-canon.h"

#include <string.h>

static bool dkim_canon_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int dkim_canon_header(const char *name, size_t name_len, const char *value, size_t value_len,
		      bool crlf, struct buf *out)
{
	/* the relaxed form is never longer than the field plus ":\r\n" */
	char *p = buf_reserve(out, name_len + value_len + 3);
	size_t n = 0;
	bool text = false, wsp = false;

	if (p == NULL)
		return -1;
	for (size_t i = 0; i < name_len; i++) {
		char c = name[i];

		p[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	p[n++] = ':';
	for (size_t i = 0; i < value_len; i++) {
		char c = value[i];

		/* RFC 6376 3.4.2: unfold; a line end inside a value is
		 * always followed by white space (else it ended the field) */
		if (c == '\r' && i + 1 < value_len && value[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c == '\n')
			continue;
		if (dkim_canon_wsp(c)) {
			/* white space after the colon goes; a run is one SP */
			wsp = text;
			continue;
		}
		if (wsp)
			p[n++] = ' ';
		p[n++] = c;
		text = true;
		wsp = false;
	}
	if (crlf) {
		p[n++] = '\r';
		p[n++] = '\n';
	}
	buf_commit(out, n);
	return 0;
}

void dkim_body_canon_init(struct dkim_body_canon *c, dkim_canon_output_fn *output, void *ctx)
{
	*c = (struct dkim_body_canon){ .output = output, .ctx = ctx };
}

static void dkim_body_flush(struct dkim_body_canon *c)
{
	if (c->run_len == 0)
		return;
	c->output(c->ctx, c->run, c->run_len);
	c->length += c->run_len;
	c->run_len = 0;
}

static void dkim_body_put(struct dkim_body_canon *c, char byte)
{
	if (c->run_len == sizeof(c->run))
		dkim_body_flush(c);
	c->run[c->run_len++] = byte;
}

static void dkim_body_crlf(struct dkim_body_canon *c)
{
	dkim_body_put(c, '\r');
	dkim_body_put(c, '\n');
}

/* A byte of text (not white space, not a line end): the empty lines
 * and the white space before it go out first, since they are inside
 * the body and inside the line. */
static void dkim_body_text(struct dkim_body_canon *c, char byte)
{
	if (!c->line_text) {
		for (; c->empty_lines > 0; c->empty_lines--)
			dkim_body_crlf(c);
	}
	if (c->wsp)
		dkim_body_put(c, ' ');
	dkim_body_put(c, byte);
	c->wsp = false;
	c->line_text = true;
}

/* Text bytes that go out as they are: inside a line that has text, with
 * no white space or CR waiting. A long run is handed to the output
 * directly, not copied through the run buffer. */
static void dkim_body_span(struct dkim_body_canon *c, const char *data, size_t len)
{
	if (len <= sizeof(c->run) - c->run_len) {
		memcpy(c->run + c->run_len, data, len);
		c->run_len += len;
		return;
	}
	dkim_body_flush(c);
	c->output(c->ctx, data, len);
	c->length += len;
}

/* How many bytes from data on stay as they are: no HTAB or CR, and a
 * SP only alone between text (a run of them is one SP, one at the end
 * of a line goes, so those are left to the byte-wise path). */
static size_t dkim_body_plain(const char *data, size_t len)
{
	size_t n = 0;

	while (n < len && data[n] != '\t' && data[n] != '\r') {
		if (data[n] == ' ' && (n + 1 == len || data[n + 1] == ' ' || data[n + 1] == '\t' ||
				       data[n + 1] == '\r'))
			break;
		n++;
	}
	return n;
}

void dkim_body_canon_feed(struct dkim_body_canon *c, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char byte;

		if (c->line_text && !c->wsp && !c->cr) {
			size_t n = dkim_body_plain(data + i, len - i);

			if (n > 0)
				dkim_body_span(c, data + i, n);
			i += n;
			if (i == len)
				break;
		}
		byte = data[i];

		if (c->cr) {
			c->cr = false;
			if (byte == '\n') {
				/* RFC 6376 3.4.4 a: white space at the end of
				 * a line goes; b: an empty line waits, since
				 * those at the end of the body go too */
				if (c->line_text)
					dkim_body_crlf(c);
				else
					c->empty_lines++;
				c->line_text = c->wsp = false;
				continue;
			}
			dkim_body_text(c, '\r');
		}
		if (byte == '\r')
			c->cr = true;
		else if (dkim_canon_wsp(byte))
			c->wsp = true;
		else
			dkim_body_text(c, byte);
	}
}

void dkim_body_canon_finish(struct dkim_body_canon *c)
{
	if (c->cr) {
		c->cr = false;
		dkim_body_text(c, '\r');
	}
	/* RFC 6376 3.4.4 b: a last line without CRLF gets one */
	if (c->line_text)
		dkim_body_crlf(c);
	c->line_text = c->wsp = false;
	c->empty_lines = 0;
	dkim_body_flush(c);
}
