/* smtp-harness - the SMTP session served by the real connection layer
 * (conn-harness.h) with a real directory and the fake queue
 * (fake-queue.h), and a client that speaks SMTP to it. A test starts the
 * service it wants (port 25 or submission) with the configuration it
 * wants; the directory holds:
 *   example.org  alice (password T_PASSWORD), bob, dave (quota 100 octets)
 *                team -> alice, bob;  fwd -> friend@remote.example
 *                postmaster -> alice;  loop1 -> loop2 -> loop1
 *   example.net  carol;  @example.net -> carol (the catch-all)
 * Include it from one file per test executable, after <cmocka.h>. */
#ifndef TERN_TESTS_SMTP_HARNESS_H
#define TERN_TESTS_SMTP_HARNESS_H

#include "conn-harness.h"
#include "fake-queue.h"

#include "core/cidr.h"
#include "dir/auth-cache.h"
#include "dir/auth-throttle.h"
#include "dir/dir.h"
#include "dir/password.h"
#include "smtp/smtp-pregreet.h"
#include "smtp/smtp.h"
#include "store/store.h"

#define T_PASSWORD "Right-Horse-1"
#define T_GREETING "220 localhost ESMTP tern"

static struct harness t_h;
static struct dir *t_dir;
static char t_dir_path[64];
static struct smtp_context t_ctx;
static struct cidr_list *t_trusted;
/* A test's own changes to the configuration, applied last. */
static void (*t_tweak)(struct config *cfg);

static void smtp_harness_config(struct config *cfg)
{
	/* The listeners take the harness's pop3 limits: SMTP's. */
	cfg->pop3.conn.line_length = 1036;
	cfg->pop3.conn.idle_timeout = 300;
	cfg->smtp.conn = cfg->pop3.conn;
	cfg->smtp.data_timeout = 300;
	cfg->smtp.max_received = 50;
	cfg->smtp.subaddress_separator = "+";
	cfg->smtp.postmaster = "";
	cfg->smtp.sender_login = "aliases";
	cfg->smtp.pregreet_delay = 0;
	cfg->limits.message_size = 100000;
	cfg->limits.recipients = 100;
	cfg->limits.errors_per_session = 20;
	cfg->limits.auth_failures = 3;
	cfg->limits.slow_input_timeout = 30;
	cfg->auth.attempts_per_ip = 8;
	cfg->auth.rehash = true;
	if (t_tweak != NULL)
		t_tweak(cfg);
}

/* The directory, made once per test (a fresh folder). */
static void smtp_harness_dir(void)
{
	char *error = NULL;
	char *hash;

	snprintf(t_dir_path, sizeof(t_dir_path), "/tmp/tern-test-smtp-dir-XXXXXX");
	assert_non_null(mkdtemp(t_dir_path));
	assert_int_equal(dir_open(t_dir_path, &t_dir, &error), 0);
	assert_int_equal(dir_domain_add(t_dir, "example.org"), DIR_OK);
	assert_int_equal(dir_domain_add(t_dir, "example.net"), DIR_OK);
	hash = password_hash(T_PASSWORD);
	assert_non_null(hash);
	assert_int_equal(dir_user_add(t_dir, "alice@example.org", hash, 0), DIR_OK);
	assert_int_equal(dir_user_add(t_dir, "bob@example.org", hash, 0), DIR_OK);
	assert_int_equal(dir_user_add(t_dir, "dave@example.org", hash, 100), DIR_OK);
	assert_int_equal(dir_user_add(t_dir, "carol@example.net", hash, 0), DIR_OK);
	free(hash);
	assert_int_equal(dir_alias_add(t_dir, "team@example.org", "alice@example.org,bob@example.org"),
			 DIR_OK);
	assert_int_equal(dir_alias_add(t_dir, "fwd@example.org", "friend@remote.example"), DIR_OK);
	assert_int_equal(dir_alias_add(t_dir, "postmaster@example.org", "alice@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(t_dir, "loop1@example.org", "loop2@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(t_dir, "loop2@example.org", "loop1@example.org"), DIR_OK);
	assert_int_equal(dir_alias_add(t_dir, "@example.net", "carol@example.net"), DIR_OK);
}

/* Serve `service` (trusted: [smtp] trusted_networks, "" for none). */
static void smtp_harness_start(enum smtp_service service, const char *trusted)
{
	char *error = NULL;

	fake_queue_reset();
	auth_cache_set_ttl(3600);
	auth_cache_clear();
	auth_throttle_reset();
	smtp_harness_dir();
	assert_int_equal(cidr_list_parse(trusted, &t_trusted, &error), 0);
	t_ctx = (struct smtp_context){
		.service = service,
		.dir = t_dir,
		.queue = &fake_queue,
		.hostname = "localhost",
		.trusted = t_trusted,
		.pregreet = smtp_pregreet_new(0),
	};
	conn_harness_start(&t_h, service == SMTP_SERVICE_MX ? &smtp_protocol
							  : &smtp_submission_protocol,
			   NULL, &t_ctx, smtp_harness_config);
	assert_int_equal(store_root_open(t_h.dir, &t_ctx.store), STORE_OK);
}

static void smtp_harness_stop(void)
{
	char cmd[128];

	conn_harness_stop(&t_h);
	store_root_close(&t_ctx.store);
	/* Every message was committed or given up. */
	assert_int_equal(fake_queue.open, 0);
	smtp_pregreet_free(&t_ctx.pregreet);
	cidr_list_free(&t_trusted);
	dir_close(&t_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_dir_path);
	assert_int_equal(system(cmd), 0);
	fake_queue_reset();
	t_tweak = NULL;
}

/* ---- the client ---- */

static __attribute__((unused)) void smtp_connect(struct client *c)
{
	client_connect(c, t_h.port);
	expect_line(c, T_GREETING);
}

/* Read a reply's lines up to its last ("250 ..."), return that one. */
static __attribute__((unused)) const char *smtp_last_line(struct client *c)
{
	for (;;) {
		const char *line = client_line(c);

		if (line == NULL)
			fail_msg("EOF in a reply");
		if (strlen(line) < 4 || line[3] != '-')
			return line;
	}
}

/* Send one command, expect exactly this (last) reply line. */
static __attribute__((unused)) void smtp_cmd(struct client *c, const char *line, const char *want)
{
	client_send(c, line);
	client_send(c, "\r\n");
	assert_string_equal(smtp_last_line(c), want);
}

static __attribute__((unused)) void smtp_ehlo(struct client *c)
{
	client_send(c, "EHLO client.example\r\n");
	assert_string_equal(smtp_last_line(c), "250 DSN");
}

/* True when the server closes the connection (EOF) within 10 s. */
static __attribute__((unused)) bool smtp_closed(struct client *c)
{
	return client_line(c) == NULL;
}

/* A committed message, by position. */
static __attribute__((unused)) struct fake_queued *smtp_queued(size_t i)
{
	assert_true(fake_queue_wait(i + 1) > i);
	return &fake_queue.queued[i];
}

/* The message after tern's Received header. */
static __attribute__((unused)) const char *smtp_body(const struct fake_queued *q)
{
	const char *p = q->data;

	assert_true(strncmp(p, "Received: ", 10) == 0);
	/* The header is folded: its end is the first CRLF not followed by a tab. */
	for (;;) {
		p = strstr(p, "\r\n");
		assert_non_null(p);
		p += 2;
		if (*p != '\t')
			return p;
	}
}

#endif
