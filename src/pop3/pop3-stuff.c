/* pop3-stuff - byte-stuffing and TOP cutting of a message fed in chunks;
 * see pop3-stuff.h. */
#include "pop3/pop3-stuff.h"

#include <string.h>

void pop3_stuff_init(struct pop3_stuff *st, bool top, uint64_t lines)
{
	memset(st, 0, sizeof(*st));
	st->top = top;
	st->body_lines = lines;
	st->bol = true;
}

bool pop3_stuff_feed(struct pop3_stuff *st, const char *data, size_t len,
		     pop3_stuff_write_fn *write, void *ctx)
{
	size_t i = 0, run = 0;

	while (i < len && !st->done) {
		const char *nl;
		size_t end;
		bool empty;

		/* RFC 1939 3: a line starting with the termination octet gets
		 * one more; the check holds across chunk boundaries because
		 * `bol` survives between calls. */
		if (st->bol) {
			st->bol = false;
			if (data[i] == '.') {
				if (i > run)
					write(ctx, data + run, i - run);
				write(ctx, ".", 1);
				run = i;
			}
		}
		nl = memchr(data + i, '\n', len - i);
		end = nl != NULL ? (size_t)(nl - data) : len;
		st->line_len += end - i;
		if (end > i)
			st->prev = data[end - 1];
		if (nl == NULL) {
			i = len;
			break;
		}
		empty = st->line_len == 0 || (st->line_len == 1 && st->prev == '\r');
		i = end + 1;
		st->bol = true;
		st->line_len = 0;
		st->prev = '\n';
		if (!st->top)
			continue;
		/* TOP: the header, the blank line, then n body lines. */
		if (!st->in_body) {
			if (empty)
				st->in_body = true;
		} else {
			st->body_lines--;
		}
		if (st->in_body && st->body_lines == 0)
			st->done = true;
	}
	if (i > run) {
		write(ctx, data + run, i - run);
		st->wrote_any = true;
		st->last = data[i - 1];
	}
	return st->done;
}

void pop3_stuff_finish(struct pop3_stuff *st, pop3_stuff_write_fn *write, void *ctx)
{
	if (st->wrote_any && st->last != '\n')
		write(ctx, "\r\n", 2);
	write(ctx, ".\r\n", 3);
}
