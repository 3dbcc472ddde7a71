/* fuzz-pop3 - libFuzzer harness for the POP3 module: the command
 * tokenizer, the RETR/TOP byte-stuffer, and whole sessions driven through
 * the in-memory connection, login driver and store of fuzz-pop3-fake.h.
 * Input: one byte of options, then what the client sends. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-pop3-fake.h"
#include "core/number.h"
#include "pop3/pop3-parser.h"
#include "pop3/pop3-stuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sink(void *ctx, const void *data, size_t len)
{
	size_t *total = ctx;

	(void)data;
	*total += len;
}

static void fuzz_parser(const char *text, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i <= len; i++) {
		struct pop3_command cmd;
		const char *error;
		uint64_t n;

		if (i < len && text[i] != '\n')
			continue;
		if (pop3_parse_line(text + start, i - start, &cmd) == POP3_PARSE_OK) {
			(void)pop3_command_args_valid(&cmd, 0, 2, true, &error);
			if (cmd.argc > 0)
				(void)number_parse_u64(cmd.args[0], strlen(cmd.args[0]), UINT32_MAX, &n);
		}
		start = i + 1;
	}
}

static void fuzz_stuff(const char *text, size_t len, uint8_t opts)
{
	struct pop3_stuff st;
	size_t total = 0, off = 0, chunk = (size_t)(opts % 7) + 1;

	pop3_stuff_init(&st, (opts & 0x10) != 0, opts >> 5);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (pop3_stuff_feed(&st, text + off, n, fuzz_sink, &total))
			break;
		off += n;
	}
	pop3_stuff_finish(&st, fuzz_sink, &total);
	/* Never shorter than what was fed when RETR. */
	if ((opts & 0x10) == 0 && total < len + 3)
		abort();
}

static void fuzz_session(const char *text, size_t len, uint8_t opts)
{
	static const char msg1[] = "Subject: a\r\n\r\n.x\r\nbody\r\n";
	static const char msg2[] = "Subject: b\r\n\r\nno end";
	struct conn *c;
	size_t off = 0, piece = (size_t)(opts >> 4) * 16 + 1;

	fake_store_reset();
	fake_store_add(msg1, sizeof(msg1) - 1);
	fake_store_add(msg2, sizeof(msg2) - 1);
	c = fake_conn_new(&pop3_protocol);
	c->send_piece = (size_t)(opts & 3) + 1;
	/* A slow thread pool: jobs end one piece of input later. */
	c->hold_jobs = (opts & 4) != 0;
	c->loopback = (opts & 8) != 0;
	c->high_water = 64;
	fake_open(c);
	while (off < len && !c->closing) {
		size_t n = len - off < piece ? len - off : piece;

		fake_send_bytes(c, text + off, n);
		off += n;
		if (c->starttls_pending)
			fake_tls_handshake(c);
		if (c->hold_jobs && c->job_work != NULL) {
			c->hold_jobs = false;
			fake_run(c);
			c->hold_jobs = true;
		}
		while (c->queued >= c->high_water && !c->closing)
			fake_drain(c);
		free(fake_take(c));
	}
	fake_free(c);
	if (fake_store.locked || fake_store.opens != 0 || fake_store.readers != 0)
		abort();
	fake_store_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text;
	uint8_t opts;

	if (size < 1)
		return 0;
	opts = data[0];
	text = (const char *)data + 1;
	size--;
	fuzz_parser(text, size);
	fuzz_stuff(text, size, opts);
	fuzz_session(text, size, opts);
	return 0;
}
