/* test-smtp-client-postfix - the SMTP client against Postfix from Debian:
 * a private Postfix instance (its own configuration and queue folders
 * under /tmp, nothing of /etc/postfix used) whose smtpd listens on a free
 * loopback port with tern's test certificate, and holds every message it
 * takes (check_client_access static:HOLD) so that the test reads it
 * back with postcat. One message to three recipients goes over STARTTLS
 * with BDAT (Postfix offers CHUNKING), then a second on the same
 * connection; both arrive whole, the leading dot and the bare LF as the
 * client promised. Postfix is a test dependency (scripts/deps.sh test)
 * and its master runs as root: without either the test fails. */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtp-harness.h"

#include "smtp/smtp-client.h"

struct pf_run {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	struct smtp_client_policy policy;
	struct smtp_client_message msgs[2];
	struct smtp_client_rcpt rcpts[3];
	size_t at;
	int status[2][3];
	char text[2][3][128];
	char tls[32];
};

static char pf_top[64], pf_etc[96];
static uint16_t pf_port;

static void pf_rcpt_done(void *arg, size_t index, const struct smtp_client_result *r)
{
	struct pf_run *run = arg;

	run->status[run->at][index] = (int)r->status;
	snprintf(run->text[run->at][index], sizeof(run->text[0][0]), "%s", r->text);
}

static void pf_done(void *arg, struct smtp_client *client, enum smtp_client_next next)
{
	struct pf_run *run = arg;
	const char *v = smtp_client_tls_version(client);

	(void)next;
	if (v != NULL)
		snprintf(run->tls, sizeof(run->tls), "%s", v);
	if (run->at == 0) {
		run->at = 1;
		assert_true(smtp_client_next(client, &run->msgs[1]));
	}
}

static void pf_closed(void *arg)
{
	struct pf_run *run = arg;

	pthread_mutex_lock(&run->lock);
	run->closed = true;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

static void pf_write(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf_write(const char *name, const char *fmt, ...)
{
	char path[160];
	FILE *f;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", pf_etc, name);
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static uint16_t pf_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void pf_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pf_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

static void pf_start(void)
{
	struct passwd *pw = getpwnam("postfix");
	char lib[128], spool[128];

	assert_true(access("/usr/sbin/postfix", X_OK) == 0);
	assert_int_equal(geteuid(), 0);
	assert_non_null(pw);
	snprintf(pf_top, sizeof(pf_top), "/tmp/tern-test-postfix-XXXXXX");
	assert_non_null(mkdtemp(pf_top));
	chmod(pf_top, 0755);
	snprintf(pf_etc, sizeof(pf_etc), "%s/etc", pf_top);
	snprintf(lib, sizeof(lib), "%s/lib", pf_top);
	assert_int_equal(mkdir(pf_etc, 0755), 0);
	assert_int_equal(mkdir(lib, 0755), 0);
	snprintf(spool, sizeof(spool), "%s/spool", pf_top);
	assert_int_equal(mkdir(spool, 0755), 0);
	assert_int_equal(chown(lib, pw->pw_uid, pw->pw_gid), 0);
	pf_port = pf_free_port();
	pf_write("main.cf",
		 "compatibility_level = 3.6\n"
		 "queue_directory = %s/spool\n"
		 "data_directory = %s\n"
		 "maillog_file = %s/maillog\n"
		 "maillog_file_prefixes = %s\n"
		 "myhostname = postfix.client.test\n"
		 "mydestination = postfix.client.test\n"
		 "local_recipient_maps =\n"
		 "alias_maps =\n"
		 "alias_database =\n"
		 "inet_interfaces = loopback-only\n"
		 "inet_protocols = ipv4\n"
		 "mynetworks = 127.0.0.0/8\n"
		 "smtpd_tls_security_level = may\n"
		 "smtpd_tls_cert_file = %s/tls/cert.pem\n"
		 "smtpd_tls_key_file = %s/tls/key.pem\n"
		 "smtpd_tls_received_header = yes\n"
		 "smtpd_client_restrictions = check_client_access static:HOLD\n",
		 pf_top, lib, pf_top, pf_top, t_h.dir, t_h.dir);
	pf_write("master.cf",
		 "127.0.0.1:%u inet n - n - - smtpd\n"
		 "pickup    unix  n    -      n 60   1  pickup\n"
		 "cleanup   unix  n    -      n -    0  cleanup\n"
		 "qmgr      unix  n    -      n 300  1  qmgr\n"
		 "tlsmgr    unix  -    -      n 1000? 1 tlsmgr\n"
		 "rewrite   unix  -    -      n -    -  trivial-rewrite\n"
		 "bounce    unix  -    -      n -    0  bounce\n"
		 "defer     unix  -    -      n -    0  bounce\n"
		 "trace     unix  -    -      n -    0  bounce\n"
		 "proxymap  unix  -    -      n -    -  proxymap\n"
		 "showq     unix  n    -      n -    -  showq\n"
		 "error     unix  -    -      n -    -  error\n"
		 "retry     unix  -    -      n -    -  error\n"
		 "discard   unix  -    -      n -    -  discard\n"
		 "anvil     unix  -    -      n -    1  anvil\n"
		 "scache    unix  -    -      n -    1  scache\n"
		 "postlog   unix-dgram n -    n -    1  postlogd\n",
		 pf_port);
	pf_cmd("/usr/sbin/postfix -c %s start >/dev/null 2>&1", pf_etc);
	/* up once smtpd takes connections */
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(pf_port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int r;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (r == 0)
			return;
		usleep(100 * 1000);
	}
	fail_msg("Postfix does not listen on %u", pf_port);
}

static void pf_stop(void)
{
	pf_cmd("/usr/sbin/postfix -c %s stop >/dev/null 2>&1", pf_etc);
	pf_cmd("rm -rf '%s'", pf_top);
}

/* The held messages' text (postcat of each), joined, into out. */
static size_t pf_held(char *out, size_t cap, size_t want)
{
	size_t n = 0, count = 0;

	for (int tries = 0; tries < 100 && count < want; tries++) {
		char cmd[256], id[64];
		FILE *ids;

		n = count = 0;
		snprintf(cmd, sizeof(cmd), "/usr/sbin/postqueue -c %s -j | "
			 "sed -n 's/.*\"queue_id\": *\"\\([0-9A-Za-z]*\\)\".*/\\1/p'", pf_etc);
		ids = popen(cmd, "r");
		assert_non_null(ids);
		while (fgets(id, sizeof(id), ids) != NULL) {
			FILE *cat;

			id[strcspn(id, "\n")] = '\0';
			snprintf(cmd, sizeof(cmd), "/usr/sbin/postcat -c %s -bh -q %s", pf_etc, id);
			cat = popen(cmd, "r");
			assert_non_null(cat);
			n += fread(out + n, 1, cap - n - 1, cat);
			pclose(cat);
			count++;
		}
		pclose(ids);
		if (count < want)
			usleep(100 * 1000);
	}
	out[n] = '\0';
	assert_int_equal(count, want);
	return n;
}

/* Whether Postfix's log has `text` (within 10 s). */
static bool pf_logged(const char *text)
{
	static char log[1 << 16];
	char path[128];

	snprintf(path, sizeof(path), "%s/maillog", pf_top);
	for (int tries = 0; tries < 100; tries++) {
		FILE *f = fopen(path, "r");
		size_t n = 0;

		if (f != NULL) {
			n = fread(log, 1, sizeof(log) - 1, f);
			fclose(f);
		}
		log[n] = '\0';
		if (strstr(log, text) != NULL)
			return true;
		usleep(100 * 1000);
	}
	fprintf(stderr, "Postfix's log:\n%s\n", log);
	return false;
}

static int setup(void **state)
{
	(void)state;
	smtp_harness_start(SMTP_SERVICE_MX, "");
	pf_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pf_stop();
	smtp_harness_stop();
	return 0;
}

static void test_postfix(void **state)
{
	static const char body[] = "Subject: to Postfix\r\n\r\n.leading dot\nbare LF\r\nend\r\n";
	static char held[65536];
	char path[] = "/tmp/tern-test-client-XXXXXX";
	struct smtp_client_target t = { .closed = pf_closed };
	struct sockaddr_in *sin = (struct sockaddr_in *)&t.remote;
	struct pf_run run;
	struct timespec until;
	int fd = mkstemp(path);

	(void)state;
	memset(&run, 0, sizeof(run));
	memset(run.status, -1, sizeof(run.status));
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, sizeof(body) - 1), (ssize_t)sizeof(body) - 1);
	smtp_client_policy_init(&run.policy, &t_h.cfg);
	run.policy.helo_name = "client.test";
	run.rcpts[0].address = "a@postfix.client.test";
	run.rcpts[1].address = "b@postfix.client.test";
	run.rcpts[2].address = "c@postfix.client.test";
	for (size_t m = 0; m < 2; m++)
		run.msgs[m] = (struct smtp_client_message){
			.sender = "sender@client.test", .rcpts = run.rcpts, .n_rcpts = 3 - m,
			.fd = fd, .length = sizeof(body) - 1, .rcpt_done = pf_rcpt_done,
			.done = pf_done, .arg = &run,
		};
	t.policy = &run.policy;
	t.arg = &run;
	snprintf(t.server_name, sizeof(t.server_name), "localhost");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(pf_port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	smtp_client_start(core_loop(t_h.core, 0), &t, &run.msgs[0]);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&run.lock);
	while (!run.closed)
		if (pthread_cond_timedwait(&run.cond, &run.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&run.lock);
	assert_true(run.closed);
	close(fd);
	unlink(path);

	assert_true(strncmp(run.tls, "TLSv1.", 6) == 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(run.status[0][i], SMTP_CLIENT_DELIVERED);
	assert_int_equal(run.status[1][0], SMTP_CLIENT_DELIVERED);
	assert_int_equal(run.status[1][1], SMTP_CLIENT_DELIVERED);
	assert_non_null(strstr(run.text[0][0], "queued as"));

	pf_held(held, sizeof(held), 2);
	/* Postfix's Received: our EHLO name, over TLS */
	assert_non_null(strstr(held, "from client.test (localhost [127.0.0.1])"));
	assert_non_null(strstr(held, "(using TLSv1."));
	assert_non_null(strstr(held, "Subject: to Postfix"));
	/* the dot and the bare LF as sent: postcat shows lines without CR */
	assert_non_null(strstr(held, "\n.leading dot\nbare LF\nend\n"));
	assert_null(strstr(held, "..leading"));
	/* smtpd's count of the session's commands: one connection, STARTTLS,
	 * both messages by BDAT, five recipients */
	assert_true(pf_logged("ehlo=2 starttls=1 mail=2 rcpt=5 bdat=2 rset=1 quit=1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_postfix, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
