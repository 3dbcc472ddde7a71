/* test-auth-login - the login driver through the real connection layer: a
 * line protocol ("LOGIN user password") served by real loops, a real
 * directory and real password hashes, clients from many loopback
 * addresses. The log (stderr) is captured to count what was hashed. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conn-harness.h"
#include "core/conn-internal.h"
#include "dir/auth-cache.h"
#include "dir/auth-login.h"
#include "dir/auth-throttle.h"
#include "dir/password.h"

#define T_PASSWORD "Right-Horse-1"

static struct dir *t_dir;
static char t_dir_path[64];

/* ---- the test protocol: LOGIN, answered with the driver's result ---- */

struct lsession {
	struct conn *conn;
};

static void *l_open(struct conn *conn)
{
	struct lsession *s = calloc(1, sizeof(*s));

	s->conn = conn;
	conn_printf(conn, "HELLO\r\n");
	return s;
}

static void l_done(void *ctx, enum auth_login_result result, const char *address)
{
	struct lsession *s = ctx;

	if (result == AUTH_LOGIN_GONE) {
		assert_true(conn_is_closing(s->conn));
		return;
	}
	conn_printf(s->conn, "%s%s%s\r\n", auth_login_result_name(result),
		    address != NULL ? " " : "", address != NULL ? address : "");
	conn_resume_input(s->conn);
}

static void l_input(void *session)
{
	struct lsession *s = session;
	char user[128], password[128];
	const char *line;
	size_t len;

	if (conn_line(s->conn, &line, &len) != CONN_LINE_OK)
		return;
	if (sscanf(line, "LOGIN %127s %127s", user, password) != 2) {
		conn_printf(s->conn, "ERR\r\n");
		return;
	}
	conn_pause_input(s->conn);
	auth_login_start(s->conn, t_dir, user, "", password, l_done, s);
}

static void l_close(void *session)
{
	free(session);
}

static const struct protocol login_protocol = {
	.name = "login",
	.open = l_open,
	.input = l_input,
	.close = l_close,
};

/* ---- the log ---- */

static int t_stderr = -1;
static char t_log_path[64];

static void log_capture_start(void)
{
	int fd;

	snprintf(t_log_path, sizeof(t_log_path), "/tmp/tern-test-auth-login-log-XXXXXX");
	fd = mkstemp(t_log_path);
	assert_true(fd >= 0);
	fflush(stderr);
	t_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* How many captured lines hold `what`. */
static int log_count(const char *what)
{
	FILE *f = fopen(t_log_path, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, what) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Give the captured log back to the real stderr (ctest shows it when a
 * test fails). */
static void log_capture_stop(void)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (t_stderr < 0)
		return;
	dup2(t_stderr, STDERR_FILENO);
	close(t_stderr);
	t_stderr = -1;
	fd = open(t_log_path, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	unlink(t_log_path);
}

/* ---- fixtures ---- */

static unsigned t_per_ip = 8, t_queue = 0;

static void tweak_auth(struct config *cfg)
{
	cfg->auth.attempts_per_ip = t_per_ip;
	cfg->auth.hash_queue = t_queue;
	cfg->auth.rehash = true;
	cfg->pop3.conn.line_length = 512;
}

static int setup(void **state)
{
	char *error = NULL;
	char *hash;

	(void)state;
	snprintf(t_dir_path, sizeof(t_dir_path), "/tmp/tern-test-auth-login-XXXXXX");
	assert_non_null(mkdtemp(t_dir_path));
	assert_int_equal(dir_open(t_dir_path, &t_dir, &error), 0);
	assert_int_equal(dir_domain_add(t_dir, "example.org"), DIR_OK);
	hash = password_hash(T_PASSWORD);
	assert_int_equal(dir_user_add(t_dir, "alice@example.org", hash, 0), DIR_OK);
	free(hash);
	auth_cache_set_ttl(3600);
	auth_cache_clear();
	auth_throttle_reset();
	t_per_ip = 8;
	t_queue = 0;
	log_capture_start();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	log_capture_stop();
	dir_close(&t_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_dir_path);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void login_send(struct client *c, uint16_t port, const char *from, const char *user,
		       const char *password)
{
	char line[300];

	client_connect_from(c, port, from);
	expect_line(c, "HELLO");
	snprintf(line, sizeof(line), "LOGIN %s %s\r\n", user, password);
	client_send(c, line);
}

/* Every admitted attempt was completed: nothing is in flight any more. */
static void assert_nothing_in_flight(const char *ip)
{
	uint64_t wait;

	assert_int_not_equal(auth_throttle_admit(ip, true, 1, &wait), AUTH_ADMIT_BUSY);
	(void)auth_throttle_done(ip, NULL, AUTH_OUTCOME_DROPPED);
}

static void wait_until_waiting(struct harness *h, unsigned n)
{
	struct job_limit *limit = core_auth_limit(h->core);

	for (int i = 0; i < 500 && job_limit_waiting(limit) < n; i++)
		usleep(10000);
	assert_true(job_limit_waiting(limit) >= n);
}

/* ---- tests ---- */

/* A cached login from a clean address is answered while unverified
 * attempts still wait for the one hash slot. */
static void test_cached_login_never_waits(void **state)
{
	struct harness h;
	struct client good, flood[6];
	char from[32];

	(void)state;
	conn_harness_start(&h, &login_protocol, NULL, NULL, tweak_auth);
	assert_int_equal(job_limit_max(core_auth_limit(h.core)), 1);
	login_send(&good, h.port, "127.0.0.2", "alice@example.org", T_PASSWORD);
	expect_line(&good, "ok alice@example.org");
	client_close(&good);

	for (int i = 0; i < 6; i++) {
		char user[32];

		snprintf(from, sizeof(from), "127.0.1.%d", i + 1);
		snprintf(user, sizeof(user), "guess%d@example.org", i);
		login_send(&flood[i], h.port, from, user, "wrong");
	}
	wait_until_waiting(&h, 3);
	login_send(&good, h.port, "127.0.0.3", "ALICE@example.org", T_PASSWORD);
	expect_line(&good, "ok alice@example.org");
	assert_true(job_limit_waiting(core_auth_limit(h.core)) > 0);
	client_close(&good);
	for (int i = 0; i < 6; i++) {
		expect_line(&flood[i], "failed");
		client_close(&flood[i]);
	}
	assert_int_equal(log_count("msg=\"login failed\""), 6);
	conn_harness_stop(&h);
	for (int i = 0; i < 6; i++) {
		snprintf(from, sizeof(from), "127.0.1.%d", i + 1);
		assert_nothing_in_flight(from);
	}
}

/* Attempts abandoned at once (sent, then closed) are dropped unhashed,
 * and completed in the throttle all the same. */
static void test_abandoned_attempts_not_hashed(void **state)
{
	struct harness h;
	struct client a, b[8];
	char from[32];

	(void)state;
	conn_harness_start(&h, &login_protocol, NULL, NULL, tweak_auth);
	login_send(&a, h.port, "127.0.2.1", "guess@example.org", "wrong");
	for (int i = 0; i < 8; i++) {
		snprintf(from, sizeof(from), "127.0.2.%d", i + 2);
		login_send(&b[i], h.port, from, "guess@example.org", "wrong");
		shutdown(b[i].fd, SHUT_WR);
		client_close(&b[i]);
	}
	expect_line(&a, "failed");
	client_close(&a);
	for (int i = 0; i < 500 && log_count("msg=\"login failed\"") +
	     log_count("msg=\"login dropped\"") < 9; i++)
		usleep(10000);
	/* Only one that found the slot free may have been hashed besides a. */
	assert_true(log_count("msg=\"login failed\"") <= 2);
	assert_int_equal(log_count("msg=\"login failed\"") + log_count("msg=\"login dropped\""), 9);
	conn_harness_stop(&h);
	for (int i = 0; i < 9; i++) {
		snprintf(from, sizeof(from), "127.0.2.%d", i + 1);
		assert_nothing_in_flight(from);
	}
}

/* Over attempts_per_ip from one address, and over the hash queue in all,
 * the answer is "busy" at once. */
static void test_bounds(void **state)
{
	struct harness h;
	struct client c[6];
	const char *line;
	char from[32];
	int busy = 0, failed = 0;

	(void)state;
	t_per_ip = 2;
	t_queue = 2;
	conn_harness_start(&h, &login_protocol, NULL, NULL, tweak_auth);
	/* One failure first, so that the next attempts from the address are
	 * paced (250 ms and more) and stay in flight whatever the machine's
	 * load; then three at once. */
	login_send(&c[0], h.port, "127.0.3.1", "guess@example.org", "wrong");
	expect_line(&c[0], "failed");
	client_close(&c[0]);
	for (int i = 0; i < 3; i++) {
		client_connect_from(&c[i], h.port, "127.0.3.1");
		expect_line(&c[i], "HELLO");
	}
	for (int i = 0; i < 3; i++)
		client_send(&c[i], "LOGIN guess@example.org wrong\r\n");
	/* Whichever comes third (the loops take them in any order) is
	 * refused before the first is done. */
	for (int i = 0; i < 3; i++) {
		line = client_line(&c[i]);
		assert_non_null(line);
		busy += strcmp(line, "busy") == 0;
		failed += strcmp(line, "failed") == 0;
		client_close(&c[i]);
	}
	assert_int_equal(busy, 1);
	assert_int_equal(failed, 2);
	busy = failed = 0;

	/* Clean addresses, one each: one hashes, two wait, the rest is busy. */
	for (int i = 0; i < 6; i++) {
		char user[32];

		snprintf(from, sizeof(from), "127.0.3.%d", i + 10);
		snprintf(user, sizeof(user), "guess%d@example.org", i);
		login_send(&c[i], h.port, from, user, "wrong");
	}
	for (int i = 0; i < 6; i++) {
		line = client_line(&c[i]);
		assert_non_null(line);
		busy += strcmp(line, "busy") == 0;
		failed += strcmp(line, "failed") == 0;
		client_close(&c[i]);
	}
	assert_true(busy >= 1);
	assert_int_equal(busy + failed, 6);
	assert_int_equal(log_count("reason=\"password check queue full\""), busy);
	conn_harness_stop(&h);
}

/* An address with a failure waits before its next attempt is hashed; a
 * client that hangs up meanwhile is dropped unhashed. */
static void test_pacing_cut_short(void **state)
{
	struct harness h;
	struct client c;
	double t0;

	(void)state;
	conn_harness_start(&h, &login_protocol, NULL, NULL, tweak_auth);
	login_send(&c, h.port, "127.0.4.1", "alice@example.org", "wrong");
	expect_line(&c, "failed");
	/* The account has a failure now: its next success waits too. */
	t0 = now_s();
	client_send(&c, "LOGIN alice@example.org " T_PASSWORD "\r\n");
	expect_line(&c, "ok alice@example.org");
	assert_true(now_s() - t0 >= 0.45);   /* pacing 250 ms + answer 250 ms */
	client_close(&c);
	login_send(&c, h.port, "127.0.4.1", "guess@example.org", "wrong");
	usleep(50 * 1000);
	client_close(&c);
	for (int i = 0; i < 300 && log_count("stage=pacing") < 1; i++)
		usleep(10000);
	assert_int_equal(log_count("stage=pacing"), 1);
	assert_int_equal(log_count("msg=\"login failed\""), 1);
	conn_harness_stop(&h);
	assert_nothing_in_flight("127.0.4.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cached_login_never_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abandoned_attempts_not_hashed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing_cut_short, setup, teardown),
	};

	/* Before libuv's pool starts: 2 threads, so one password hash slot. */
	setenv("UV_THREADPOOL_SIZE", "2", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
