/* test-config - configuration schema, parsing, --set, errors, and the
 * listener address lists of core/addr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/config.h"

/* Load text that must be accepted. */
static void load_ok(struct config *cfg, const char *text)
{
	char *error = NULL;
	int ret = config_load_string(cfg, "t.conf", text, &error);

	if (ret != 0)
		fail_msg("unexpected error: %s", error);
	assert_null(error);
}

/* Load text that must be refused with exactly `expected`. */
static void load_fails(const char *text, const char *expected)
{
	struct config cfg;
	char *error = NULL;

	assert_int_equal(config_load_string(&cfg, "t.conf", text, &error), -1);
	assert_non_null(error);
	assert_string_equal(error, expected);
	free(error);
	assert_null(cfg.server.hostname);    /* left freed */
}

/* Load text that must be refused with a message starting with `prefix`. */
static void load_fails_prefix(const char *text, const char *prefix)
{
	struct config cfg;
	char *error = NULL;

	assert_int_equal(config_load_string(&cfg, "t.conf", text, &error), -1);
	assert_non_null(error);
	if (strncmp(error, prefix, strlen(prefix)) != 0)
		fail_msg("error '%s' does not start with '%s'", error, prefix);
	free(error);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char host[256];

	(void)state;
	load_ok(&cfg, "");
	assert_null(cfg.path);
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0')
		assert_string_equal(cfg.server.hostname, host);
	assert_string_equal(cfg.server.data_dir, "/var/lib/tern");
	assert_string_equal(cfg.server.user, "tern");
	assert_int_equal(cfg.server.threads, 0);
	assert_int_equal(cfg.server.shutdown_timeout, 10);
	assert_string_equal(cfg.server.public_dir, "/run/tern");
	assert_string_equal(cfg.listen[SERVICE_SMTP], "*:25");
	assert_string_equal(cfg.listen[SERVICE_SUBMISSION], "*:587");
	assert_string_equal(cfg.listen[SERVICE_SUBMISSIONS], "*:465");
	assert_string_equal(cfg.listen[SERVICE_POP3], "*:110");
	assert_string_equal(cfg.listen[SERVICE_POP3S], "*:995");
	assert_string_equal(cfg.listen[SERVICE_IMAP], "*:143");
	assert_string_equal(cfg.listen[SERVICE_IMAPS], "*:993");
	assert_string_equal(cfg.tls.cert, "");
	assert_string_equal(cfg.tls.key, "");
	assert_true(cfg.tls.ktls);
	assert_true(cfg.limits.message_size == 52428800);
	assert_int_equal(cfg.limits.recipients, 1000);
	assert_int_equal(cfg.pop3.conn.line_length, 8192);
	assert_int_equal(cfg.pop3.conn.idle_timeout, 600);
	assert_int_equal(cfg.smtp.conn.line_length, 1036);
	assert_int_equal(cfg.smtp.conn.idle_timeout, 300);
	assert_int_equal(cfg.smtp.data_timeout, 300);
	assert_string_equal(cfg.smtp.trusted_networks, "");
	assert_int_equal(cfg.smtp.max_received, 50);
	assert_string_equal(cfg.smtp.subaddress_separator, "+");
	assert_string_equal(cfg.smtp.postmaster, "");
	assert_string_equal(cfg.smtp.sender_login, "aliases");
	assert_int_equal(cfg.smtp.pregreet_delay, 6);
	assert_int_equal(cfg.imap.conn.line_length, 65536);
	assert_int_equal(cfg.imap.conn.idle_timeout, 1800);
	assert_int_equal(cfg.limits.connections_per_ip, 50);
	assert_int_equal(cfg.limits.connections, 100000);
	assert_int_equal(cfg.limits.errors_per_session, 20);
	assert_int_equal(cfg.limits.auth_failures, 3);
	assert_true(cfg.limits.output_buffer == 262144);
	assert_false(cfg.auth.allow_plaintext_loopback);
	assert_string_equal(cfg.dns.servers, "");
	assert_string_equal(cfg.log.level, "info");
	config_free(&cfg);
	config_free(&cfg);    /* idempotent */
}

static void test_every_type(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg,
		"; a comment\n"
		"# another\n"
		"[server]\n"
		"hostname = mail.example.org\n"
		"data_dir = /srv/tern   ; inline comment\n"
		"threads = 4\r\n"
		"[limits]\n"
		"message_size = 10M\n"
		"output_buffer = 64k\n"
		"[smtp]\n"
		"line_length = 1024\n"
		"[auth]\n"
		"allow_plaintext_loopback = On\n"
		"[tls]\n"
		"cert = /etc/ssl/a.pem\n"
		"key = /etc/ssl/a.key\n"
		"[dns]\n"
		"servers = 127.0.0.53, [::1]:5353, 192.0.2.1:53, 2001:db8::1\n"
		"[log]\n"
		"level = debug\n");
	assert_string_equal(cfg.server.hostname, "mail.example.org");
	assert_string_equal(cfg.server.data_dir, "/srv/tern");
	assert_int_equal(cfg.server.threads, 4);
	assert_true(cfg.limits.message_size == 10 * 1024 * 1024);
	assert_true(cfg.limits.output_buffer == 64 * 1024);
	assert_int_equal(cfg.smtp.conn.line_length, 1024);
	assert_true(cfg.auth.allow_plaintext_loopback);
	assert_string_equal(cfg.tls.cert, "/etc/ssl/a.pem");
	assert_string_equal(cfg.log.level, "debug");
	config_free(&cfg);

	static const char *const yes[] = { "yes", "true", "on", "1", "YES" };
	static const char *const no[] = { "no", "false", "off", "0", "False" };
	for (size_t i = 0; i < 5; i++) {
		char text[128];

		snprintf(text, sizeof(text), "[auth]\nallow_plaintext_loopback=%s\n", yes[i]);
		load_ok(&cfg, text);
		assert_true(cfg.auth.allow_plaintext_loopback);
		config_free(&cfg);
		snprintf(text, sizeof(text), "[auth]\nallow_plaintext_loopback=%s\n", no[i]);
		load_ok(&cfg, text);
		assert_false(cfg.auth.allow_plaintext_loopback);
		config_free(&cfg);
	}

	load_ok(&cfg, "[limits]\nmessage_size = 1G\noutput_buffer=4096\n");
	assert_true(cfg.limits.message_size == 1024ULL * 1024 * 1024);
	assert_true(cfg.limits.output_buffer == 4096);
	config_free(&cfg);
}

static void test_listen(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "[listen]\nsmtp =\npop3 = 127.0.0.1:1100, [::1]:1100\nimap=localhost:1143\n");
	assert_string_equal(cfg.listen[SERVICE_SMTP], "");    /* service off */
	assert_string_equal(cfg.listen[SERVICE_POP3], "127.0.0.1:1100, [::1]:1100");
	assert_string_equal(cfg.listen[SERVICE_IMAP], "localhost:1143");
	config_free(&cfg);

	/* the [listen] keys are the service names */
	for (int s = 0; s < SERVICE__COUNT; s++) {
		char text[128];

		snprintf(text, sizeof(text), "[listen]\n%s = 127.0.0.1:%d\n", service_name(s), 2000 + s);
		load_ok(&cfg, text);
		snprintf(text, sizeof(text), "127.0.0.1:%d", 2000 + s);
		assert_string_equal(cfg.listen[s], text);
		config_free(&cfg);
	}
	assert_string_equal(service_name(SERVICE_POP3S), "pop3s");

	load_fails("[listen]\npop3 = [::1\n",
		   "t.conf:2: [listen] pop3: '[::1': missing ']' after the IPv6 address");
	load_fails("[listen]\n\npop3 = 1.2.3.4:0\n",
		   "t.conf:3: [listen] pop3: '1.2.3.4:0': port must be a number from 1 to 65535");
	load_fails("[listen]\npop3 = 1.2.3.4:99999\n",
		   "t.conf:2: [listen] pop3: '1.2.3.4:99999': port must be a number from 1 to 65535");
	load_fails("[listen]\npop3 = host:port\n",
		   "t.conf:2: [listen] pop3: 'host:port': port must be a number from 1 to 65535");
	load_fails("[listen]\npop3 = mail.example.org:110\n",
		   "t.conf:2: [listen] pop3: 'mail.example.org:110': not an IP address, '*' or 'localhost' (names are not looked up)");
	load_fails_prefix("[listen]\nimaps = 127.0.0.1:993,\n", "t.conf:2: [listen] imaps: empty element");
}

static void test_addr_list(void **state)
{
	struct addr_spec *specs;
	size_t n;
	char *error;

	(void)state;
	assert_int_equal(addr_list_parse("", &specs, &n, &error), 0);
	assert_int_equal(n, 0);
	free(specs);
	assert_int_equal(addr_list_parse("  ", &specs, &n, &error), 0);
	assert_int_equal(n, 0);
	free(specs);

	assert_int_equal(addr_list_parse("*:995", &specs, &n, &error), 0);
	assert_int_equal(n, 2);
	assert_string_equal(specs[0].text, "0.0.0.0:995");
	assert_string_equal(specs[1].text, "[::]:995");
	assert_int_equal(specs[0].sa.ss_family, AF_INET);
	assert_int_equal(specs[0].sa_len, sizeof(struct sockaddr_in));
	assert_int_equal(specs[1].sa.ss_family, AF_INET6);
	assert_int_equal(specs[1].sa_len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&specs[1].sa)->sin6_port), 995);
	/* a host without IPv6 may skip the IPv6 half of "*" */
	assert_false(specs[0].optional);
	assert_true(specs[1].optional);
	free(specs);

	assert_int_equal(addr_list_parse("localhost:110 ,\t[2001:db8::1]:65535,10.0.0.1:1", &specs, &n, &error), 0);
	assert_int_equal(n, 4);
	assert_string_equal(specs[0].text, "127.0.0.1:110");
	assert_string_equal(specs[1].text, "[::1]:110");
	assert_string_equal(specs[2].text, "[2001:db8::1]:65535");
	assert_string_equal(specs[3].text, "10.0.0.1:1");
	assert_int_equal(ntohs(((struct sockaddr_in *)&specs[3].sa)->sin_port), 1);
	/* only the expanded IPv6 half of "localhost" is optional */
	assert_false(specs[0].optional);
	assert_true(specs[1].optional);
	assert_false(specs[2].optional);
	assert_false(specs[3].optional);
	free(specs);

	static const char *const bad[] = {
		"[::1", "[::1]", "[::1]110", "::1:110", "1.2.3.4", "1.2.3.4:", ":110",
		"1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4:1x", "1.2.3.4:000000110", "999.1.1.1:1",
		"a b:1", "1.2.3.4:1 1.2.3.5:1", ",", "1.2.3.4:1,,1.2.3.4:2",
		"127.0.0.1:110, localhost:110", "[fe80::1%eth0]:1", "[1.2.3.4]:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		if (addr_list_parse(bad[i], &specs, &n, &error) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(error);
		assert_null(strchr(error, '\n'));
		free(error);
	}
	/* control bytes come back escaped */
	assert_int_equal(addr_list_parse("\x01:1", &specs, &n, &error), -1);
	assert_string_equal(error, "'\\x01:1': not an IP address, '*' or 'localhost' (names are not looked up)");
	free(error);
}

/* RFC 5321 4.5.3.2: an SMTP client's timeouts "SHOULD be at least" 5
 * minutes for the greeting, MAIL and RCPT (and so the other commands), 2
 * for DATA's 354, 3 for each data block and 10 for the final "."; the
 * defaults may be longer, never shorter. */
static void test_client_timeouts_at_least_rfc5321(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "");
	assert_true(cfg.smtp.client_greeting_timeout >= 5 * 60);   /* 4.5.3.2.1 */
	assert_true(cfg.smtp.client_command_timeout >= 5 * 60);    /* 4.5.3.2.2 */
	assert_true(cfg.smtp.client_rcpt_timeout >= 5 * 60);       /* 4.5.3.2.3 */
	assert_true(cfg.smtp.client_data_timeout >= 2 * 60);       /* 4.5.3.2.4 */
	assert_true(cfg.smtp.client_block_timeout >= 3 * 60);      /* 4.5.3.2.5 */
	assert_true(cfg.smtp.client_dot_timeout >= 10 * 60);       /* 4.5.3.2.6 */
	config_free(&cfg);
}

static void test_smtp_keys(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "[smtp]\ntrusted_networks = 192.0.2.0/24, 2001:db8::/32 ,127.0.0.1\n"
		      "subaddress_separator = +-\npostmaster = admin@example.org\n"
		      "sender_login = any\npregreet_delay = 0\nmax_received = 100\n");
	assert_string_equal(cfg.smtp.trusted_networks, "192.0.2.0/24, 2001:db8::/32 ,127.0.0.1");
	assert_string_equal(cfg.smtp.subaddress_separator, "+-");
	assert_string_equal(cfg.smtp.postmaster, "admin@example.org");
	assert_string_equal(cfg.smtp.sender_login, "any");
	assert_int_equal(cfg.smtp.pregreet_delay, 0);
	assert_int_equal(cfg.smtp.max_received, 100);
	config_free(&cfg);
	load_ok(&cfg, "[smtp]\nsubaddress_separator =\n");
	assert_string_equal(cfg.smtp.subaddress_separator, "");
	config_free(&cfg);

	load_fails("[smtp]\ntrusted_networks = 192.0.2.1/24\n",
		   "t.conf:2: [smtp] trusted_networks: '192.0.2.1/24': address bits set beyond the "
		   "prefix (write the network address)");
	load_fails("[smtp]\ntrusted_networks = 10.0.0.0/8,\n",
		   "t.conf:2: [smtp] trusted_networks: empty element in the network list");
	load_fails("[smtp]\ntrusted_networks = example.org\n",
		   "t.conf:2: [smtp] trusted_networks: 'example.org': not an IP address or ADDRESS/PREFIX");
	load_fails("[smtp]\nsubaddress_separator = a\n",
		   "t.conf:2: [smtp] subaddress_separator: 'a' cannot separate a sub-address (use "
		   "characters such as + - _ =)");
	load_fails("[smtp]\npostmaster = admin\n",
		   "t.conf:2: [smtp] postmaster: must be an account's address (local@domain) or empty");
	load_fails("[smtp]\nsender_login = strict\n",
		   "t.conf:2: [smtp] sender_login: must be aliases, account or any");
	load_fails("[smtp]\nmax_received = 0\n", "t.conf:2: [smtp] max_received: must be from 1 to 1000");
	load_fails("[smtp]\npregreet_delay = 61\n", "t.conf:2: [smtp] pregreet_delay: must be from 0 to 60");
}

/* [queue]'s outbound keys (queue-route.c parses transport and
 * relayhost at the queue's start: test-queue-route). */
static void test_queue_relay_keys(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "[queue]\n");
	assert_string_equal(cfg.queue.relayhost, "");
	assert_string_equal(cfg.queue.relayhost_tls, "may");
	assert_string_equal(cfg.queue.source_address, "");
	assert_int_equal(cfg.queue.destination_concurrency, 20);
	assert_false(cfg.queue.relayhost_auth_unverified);
	config_free(&cfg);
	load_ok(&cfg, "[queue]\nrelayhost = [2001:db8::1]:587\nrelayhost_tls = verify\n"
		      "relayhost_user = me@example.org\nrelayhost_password = secret\n"
		      "source_address = 192.0.2.1, 2001:db8::2\ndestination_concurrency = 1\n");
	assert_string_equal(cfg.queue.relayhost_tls, "verify");
	assert_string_equal(cfg.queue.relayhost_password, "secret");
	assert_string_equal(cfg.queue.source_address, "192.0.2.1, 2001:db8::2");
	assert_int_equal(cfg.queue.destination_concurrency, 1);
	config_free(&cfg);

	load_fails("[queue]\nrelayhost_tls = starttls\n",
		   "t.conf:2: [queue] relayhost_tls: expected none, may, encrypt or verify");
	load_fails("[queue]\nsource_address = 192.0.2.1,192.0.2.2\n",
		   "t.conf:2: [queue] source_address: expected an IPv4 and/or an IPv6 address");
	load_fails("[queue]\nsource_address = mail.example.org\n",
		   "t.conf:2: [queue] source_address: expected an IPv4 and/or an IPv6 address");
	load_fails("[queue]\ndestination_concurrency = 0\n",
		   "t.conf:2: [queue] destination_concurrency: must be from 1 to 1000");
}

static void test_errors(void **state)
{
	(void)state;
	load_fails("[server]\nthreads = 4\n\n[bogus]\nx = 1\n",
		   "t.conf:4: [bogus]: unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)");
	load_fails("[server]\n[nokeys]\n",
		   "t.conf:2: [nokeys]: unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)");
	load_fails("[server]\nthreads = 4\nthread = 4\n", "t.conf:3: [server] thread: unknown key");
	load_fails("threads = 4\n", "t.conf:1: [] threads: key outside any [section]");
	load_fails("[server]\nthreads = 1025\n", "t.conf:2: [server] threads: must be from 0 to 1024");
	load_fails("[server]\nthreads = 99999999999999999999999\n",
		   "t.conf:2: [server] threads: must be from 0 to 1024");
	load_fails("[server]\nthreads = -1\n", "t.conf:2: [server] threads: must be a whole number");
	load_fails("[server]\nthreads = 4k\n", "t.conf:2: [server] threads: must be a whole number");
	load_fails("[server]\nthreads =\n", "t.conf:2: [server] threads: must be a whole number");
	load_fails("[imap]\nline_length = 511\n", "t.conf:2: [imap] line_length: must be from 512 to 1048576");
	load_fails("[pop3]\nline_length = 1048577\n", "t.conf:2: [pop3] line_length: must be from 512 to 1048576");
	/* the global keys of old became per-protocol ones */
	load_fails("[limits]\nidle_timeout = 60\n", "t.conf:2: [limits] idle_timeout: unknown key");
	load_fails("[limits]\nmessage_size = 10X\n",
		   "t.conf:2: [limits] message_size: must be a number of bytes, optionally with a K, M or G suffix");
	load_fails("[limits]\nmessage_size = 1T\n",
		   "t.conf:2: [limits] message_size: must be a number of bytes, optionally with a K, M or G suffix");
	load_fails("[limits]\nmessage_size = 99999999999G\n",
		   "t.conf:2: [limits] message_size: must be from 1024 to 4294967296");
	load_fails("[auth]\nallow_plaintext_loopback = maybe\n",
		   "t.conf:2: [auth] allow_plaintext_loopback: must be yes or no (also true/false, on/off, 1/0)");
	load_fails("[server]\npublic_dir = run/tern\n",
		   "t.conf:2: [server] public_dir: must be an absolute path, or empty");
	load_fails("[server]\npublic_dir = /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		   "t.conf:2: [server] public_dir: must be at most 90 characters (a socket's path is short)");
	load_fails("[log]\nlevel = loud\n", "t.conf:2: [log] level: must be debug, info, warn or error");
	load_fails("[server]\nuser =\n", "t.conf:2: [server] user: must not be empty");
	load_fails("[server]\nhostname = bad host\n", "t.conf:2: [server] hostname: ' ' does not belong in a host name");
	load_fails("[server]\nthreads = 1\nthreads = 2\n", "t.conf:3: [server] threads: set twice");
	load_fails("[server]\nthreads\n", "t.conf:2: syntax error: expected [section], key = value or a comment");
	load_fails("[server\n", "t.conf:1: syntax error: expected [section], key = value or a comment");
	/* no continuation lines: an indented line is a line of its own */
	load_fails("[server]\nuser = a\n  b\n", "t.conf:3: syntax error: expected [section], key = value or a comment");
	load_fails("[dns]\nservers = *\n", "t.conf:2: [dns] servers: a DNS server must be an IP address");
	load_fails("[dns]\nservers = dns.example\n",
		   "t.conf:2: [dns] servers: 'dns.example:53': not an IP address, '*' or 'localhost' (names are not looked up)");
	load_fails("[tls]\ncert = /a.pem\n",
		   "t.conf: [tls] cert and key: set both, or neither (then a self-signed pair is generated)");
	load_fails("[server]\nuser = a\x01\n", "t.conf:2: [server] user: value contains a control character");
	/* the first error wins */
	load_fails("[server]\nthreads = x\n[bogus]\n", "t.conf:2: [server] threads: must be a whole number");
	load_fails("[bogus]\n[server]\nthreads = x\n",
		   "t.conf:1: [bogus]: unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)");

	/* a long line is refused, not cut */
	size_t len = 5000;
	char *text = malloc(len + 64);
	strcpy(text, "[server]\ndata_dir = /");
	memset(text + strlen(text), 'a', len);
	text[21 + len] = '\0';
	strcat(text, "\n");
	load_fails(text, "t.conf:2: line is longer than 4096 bytes");
	/* but long values under the limit are kept whole */
	text[9 + 4000] = '\0';
	struct config cfg;
	load_ok(&cfg, text);
	assert_int_equal(strlen(cfg.server.data_dir), 4000 - 11);
	config_free(&cfg);
	free(text);
}

/* Write text to a fresh temporary file; returns its malloc'd path. */
static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_file_and_set(void **state)
{
	struct config cfg;
	char *error = NULL;
	char *path = write_temp("[server]\nthreads = 2\nuser = mail\n[listen]\npop3 = 127.0.0.1:1100\n");
	const char *sets[] = {
		"server.threads=3",
		" server.threads = 5 ",         /* later --set wins */
		"listen.smtp=",
		"limits.message_size=2M",
	};

	(void)state;
	assert_int_equal(config_load(&cfg, path, sets, 4, &error), 0);
	assert_null(error);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.server.threads, 5);
	assert_string_equal(cfg.server.user, "mail");
	assert_string_equal(cfg.listen[SERVICE_POP3], "127.0.0.1:1100");
	assert_string_equal(cfg.listen[SERVICE_SMTP], "");
	assert_true(cfg.limits.message_size == 2 * 1024 * 1024);
	config_free(&cfg);

	/* $TERN_CONFIG is used when no path is given */
	setenv("TERN_CONFIG", path, 1);
	assert_int_equal(config_load(&cfg, NULL, NULL, 0, &error), 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.server.threads, 2);
	config_free(&cfg);
	unsetenv("TERN_CONFIG");

	/* --set errors */
	static const struct {
		const char *set, *error;
	} bad[] = {
		{ "server.threads=x", "--set server.threads=x: must be a whole number" },
		{ "server.nope=1", "--set server.nope=1: unknown key" },
		{ "nope.x=1", "--set nope.x=1: unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)" },
		{ "threads=1", "--set threads=1: expected section.key=value" },
		{ "server.threads", "--set server.threads: expected section.key=value" },
		{ "listen.pop3=1.2.3.4:0", "--set listen.pop3=1.2.3.4:0: '1.2.3.4:0': port must be a number from 1 to 65535" },
		{ "server.user=a ;b", "--set server.user=a ;b: value has a ';' at its start or after a space, which starts a comment" },
		{ "server.user=;b", "--set server.user=;b: value has a ';' at its start or after a space, which starts a comment" },
		{ "server.user=a\nb", "--set server.user=a\\x0ab: value contains a control character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *one[] = { bad[i].set };

		error = NULL;
		assert_int_equal(config_load(&cfg, path, one, 1, &error), -1);
		assert_non_null(error);
		assert_string_equal(error, bad[i].error);
		free(error);
		assert_null(cfg.path);
	}

	/* a file error names the file and line */
	char *badpath = write_temp("[server]\n\nthreads = many\n");
	char expected[256];
	assert_int_equal(config_load(&cfg, badpath, NULL, 0, &error), -1);
	snprintf(expected, sizeof(expected), "%s:3: [server] threads: must be a whole number", badpath);
	assert_string_equal(error, expected);
	free(error);
	unlink(badpath);
	free(badpath);

	/* a named file that does not exist is an error */
	unlink(path);
	assert_int_equal(config_load(&cfg, path, NULL, 0, &error), -1);
	assert_non_null(strstr(error, "cannot open"));
	free(error);
	setenv("TERN_CONFIG", path, 1);
	assert_int_equal(config_load(&cfg, NULL, NULL, 0, &error), -1);
	free(error);
	unsetenv("TERN_CONFIG");
	free(path);

	/* nothing found anywhere: defaults, and no path */
	if (access("/etc/tern/tern.conf", F_OK) != 0) {
		char cwd[4096], dir[] = "/tmp/test-config-dir-XXXXXX";
		const char *one[] = { "server.threads=7" };

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		assert_non_null(mkdtemp(dir));
		assert_int_equal(chdir(dir), 0);
		assert_int_equal(config_load(&cfg, NULL, one, 1, &error), 0);
		assert_null(cfg.path);
		assert_int_equal(cfg.server.threads, 7);
		config_free(&cfg);
		/* ./tern.conf is found */
		FILE *f = fopen("tern.conf", "w");
		fputs("[server]\nthreads = 9\n", f);
		fclose(f);
		assert_int_equal(config_load(&cfg, NULL, NULL, 0, &error), 0);
		assert_string_equal(cfg.path, "./tern.conf");
		assert_int_equal(cfg.server.threads, 9);
		config_free(&cfg);
		unlink("tern.conf");
		assert_int_equal(chdir(cwd), 0);
		rmdir(dir);
	}
}

static char *print_to_string(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	config_print(cfg, f);
	fclose(f);
	return text;
}

/* The one size parser: the configuration's and `tern user --quota`'s. */
static void test_parse_size(void **state)
{
	uint64_t n = 7;

	(void)state;
	assert_int_equal(config_parse_size("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(config_parse_size("52428800", &n), 0);
	assert_int_equal(n, 52428800);
	assert_int_equal(config_parse_size("10M", &n), 0);
	assert_int_equal(n, 10485760);
	assert_int_equal(config_parse_size("10m", &n), 0);
	assert_int_equal(n, 10485760);
	assert_int_equal(config_parse_size("3k", &n), 0);
	assert_int_equal(n, 3072);
	assert_int_equal(config_parse_size("4G", &n), 0);
	assert_int_equal(n, 4294967296ULL);
	assert_int_equal(config_parse_size("18446744073709551615", &n), 0);
	assert_int_equal(n, UINT64_MAX);
	n = 7;
	assert_int_equal(config_parse_size("", &n), -1);
	assert_int_equal(config_parse_size("M", &n), -1);
	assert_int_equal(config_parse_size("10MB", &n), -1);
	assert_int_equal(config_parse_size("10T", &n), -1);
	assert_int_equal(config_parse_size("-1", &n), -1);
	assert_int_equal(config_parse_size(" 1", &n), -1);
	assert_int_equal(config_parse_size("1 ", &n), -1);
	assert_int_equal(n, 7);
	assert_int_equal(config_parse_size("18446744073709551616", &n), -2);
	assert_int_equal(config_parse_size("17179869184G", &n), -2);
}

static void test_print_round_trip(void **state)
{
	struct config a, b;
	char *text1, *text2;

	(void)state;
	load_ok(&a,
		"[server]\nhostname = mx.example.net\nthreads = 3\n"
		"[listen]\nsmtp =\npop3 = 127.0.0.1:1100, [::1]:1100\n"
		"[tls]\ncert = /c.pem\nkey = /k.pem\n"
		"[limits]\nmessage_size = 3M\n"
		"[auth]\nallow_plaintext_loopback = yes\n"
		"[dns]\nservers = 192.0.2.53\n"
		"[log]\nlevel = warn\n");
	text1 = print_to_string(&a);
	assert_non_null(strstr(text1, "\n[limits]\n"));
	assert_non_null(strstr(text1, "\nmessage_size = 3145728\n"));
	assert_non_null(strstr(text1, "\nallow_plaintext_loopback = yes\n"));
	assert_non_null(strstr(text1, "\nsmtp = \n"));
	assert_true(strncmp(text1, "# ", 2) == 0);
	load_ok(&b, text1);
	text2 = print_to_string(&b);
	assert_string_equal(text1, text2);
	assert_string_equal(a.server.hostname, b.server.hostname);
	assert_int_equal(a.server.threads, b.server.threads);
	assert_true(a.limits.message_size == b.limits.message_size);
	assert_true(b.auth.allow_plaintext_loopback);
	for (int s = 0; s < SERVICE__COUNT; s++)
		assert_string_equal(a.listen[s], b.listen[s]);
	assert_string_equal(b.tls.cert, "/c.pem");
	assert_string_equal(b.log.level, "warn");
	free(text1);
	free(text2);
	config_free(&a);
	config_free(&b);

	/* the defaults print and read back too */
	load_ok(&a, "");
	text1 = print_to_string(&a);
	load_ok(&b, text1);
	text2 = print_to_string(&b);
	assert_string_equal(text1, text2);
	free(text1);
	free(text2);
	config_free(&a);
	config_free(&b);
}

/* A FIFO named as the configuration is refused at once (the open used to
 * wait for a writer forever); a symlink to a file is followed. alarm()
 * turns a hang into a failure. */
static void test_file_kinds(void **state)
{
	char dir[] = "/tmp/test-config-kinds-XXXXXX", fifo[64], link[64];
	char *file = write_temp("[server]\nthreads = 3\n");
	struct config cfg;
	char *error = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10);
	assert_int_equal(config_load(&cfg, fifo, NULL, 0, &error), -1);
	alarm(0);
	assert_non_null(strstr(error, "not a regular file"));
	free(error);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(config_load(&cfg, link, NULL, 0, &error), 0);
	assert_int_equal(cfg.server.threads, 3);
	config_free(&cfg);
	unlink(link);
	unlink(fifo);
	unlink(file);
	rmdir(dir);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_addr_list),
		cmocka_unit_test(test_smtp_keys),
		cmocka_unit_test(test_client_timeouts_at_least_rfc5321),
		cmocka_unit_test(test_queue_relay_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file_and_set),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_file_kinds),
	};

	unsetenv("TERN_CONFIG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
