/* dkim_bench - the cost of DKIM signing per message, as submission pays
 * it: a message of SIZE octets fed to the signer in 64 KiB pieces (the
 * canonicalisation and body hash, on the I/O loop), then one signature
 * with a 2048-bit RSA key or an Ed25519 key (in a job). Prints, for each
 * algorithm and size, the microseconds per message and the messages per
 * second one core signs. Run by bench/smtp_bench.py (make bench):
 *   dkim-bench [SECONDS_PER_CASE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/dkim-signer.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A plain text message of about `size` octets, lines of 72. */
static char *bench_message(size_t size, size_t *len_r)
{
	static const char header[] =
		"From: Alice <alice@bench.test>\r\nTo: Bob <bob@example.org>\r\n"
		"Subject: the cost of a signature\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
		"Message-ID: <bench@bench.test>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n";
	char *m = malloc(size + sizeof(header) + 80);
	size_t n = sizeof(header) - 1;

	if (m == NULL)
		abort();
	memcpy(m, header, n);
	while (n < size) {
		for (int i = 0; i < 70; i++)
			m[n++] = (char)(i % 9 == 8 ? ' ' : 'a' + i % 26);
		m[n++] = '\r';
		m[n++] = '\n';
	}
	*len_r = n;
	return m;
}

static void bench_case(struct dkim_key *key, size_t size, double seconds)
{
	size_t len, count = 0;
	char *msg = bench_message(size, &len);
	double start = bench_now(), elapsed;
	struct buf out;

	buf_init(&out, 0);
	do {
		struct dkim_signer *s = dkim_signer_new();
		const char *why;

		for (size_t at = 0; at < len; at += 65536)
			dkim_signer_feed(s, msg + at, len - at < 65536 ? len - at : 65536);
		if (dkim_signer_finish(s, &why) == NULL ||
		    dkim_signer_sign(s, key, "bench", time(NULL), &out) < 0) {
			fprintf(stderr, "dkim-bench: signing failed\n");
			exit(1);
		}
		dkim_signer_free(&s);
		buf_reset(&out);
		count++;
		elapsed = bench_now() - start;
	} while (elapsed < seconds);
	printf("dkim %-7s %7zu octets: %8.1f us/message, %8.0f messages/s on one core\n",
	       dkim_algorithm_name(dkim_key_algorithm(key)), len, elapsed * 1e6 / (double)count,
	       (double)count / elapsed);
	buf_release(&out);
	free(msg);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	static const size_t sizes[] = { 4096, 102400 };

	for (unsigned alg = 0; alg < DKIM_ALGORITHM__COUNT; alg++) {
		struct dkim_key *key = dkim_key_generate((enum dkim_algorithm)alg);

		if (key == NULL)
			return 1;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			bench_case(key, sizes[i], seconds);
		dkim_key_unref(&key);
	}
	return 0;
}
