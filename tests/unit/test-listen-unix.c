/* test-listen-unix - the core's UNIX socket listener (core_listen_unix)
 * and the public folder it lives in (public_dir_prepare): the peer's
 * credentials reach the session as the kernel gives them, the
 * per-address limit counts per uid, a stale socket is replaced and a live
 * one is not, the socket goes when the core does, and the folder's
 * checks refuse what another user could use to take the socket's place. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn-harness.h"
#include "core/conn.h"
#include "core/listener.h"
#include "core/public-dir.h"

/* ---- a protocol that says who is calling ---- */

static void *who_open(struct conn *conn)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;

	if (!conn_peer_cred(conn, &uid, &gid, &pid))
		conn_printf(conn, "no credentials\r\n");
	else
		conn_printf(conn, "uid=%lu gid=%lu pid=%ld ip=%s\r\n", (unsigned long)uid,
			    (unsigned long)gid, (long)pid, conn_remote_ip(conn));
	return conn;
}

static void who_input(void *session)
{
	struct conn *conn = session;
	const char *line;
	size_t len;

	while (conn_line(conn, &line, &len) == CONN_LINE_OK)
		if (strcmp(line, "QUIT") == 0)
			conn_close(conn, "quit");
}

static void who_close(void *session)
{
	(void)session;
}

static const struct protocol who_protocol = {
	.name = "who",
	.open = who_open,
	.input = who_input,
	.close = who_close,
	.busy_reply = "busy\r\n",
};

static void limit_two(struct config *cfg)
{
	cfg->limits.connections_per_ip = 2;
}

static struct harness t_h;

static void start(void (*tweak)(struct config *cfg))
{
	harness_unix_protocol = &who_protocol;
	conn_harness_start(&t_h, &who_protocol, NULL, NULL, tweak);
}

/* ---- the listener ---- */

static void test_peer_credentials(void **state)
{
	struct client c, tcp;
	struct stat st;
	char want[160];

	(void)state;
	start(NULL);
	assert_int_equal(lstat(t_h.unix_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_int_equal(client_connect_unix(&c, t_h.unix_path), 0);
	snprintf(want, sizeof(want), "uid=%lu gid=%lu pid=%ld ip=uid:%lu", (unsigned long)geteuid(),
		 (unsigned long)getegid(), (long)getpid(), (unsigned long)geteuid());
	expect_line(&c, want);
	/* a TCP connection has none */
	client_connect(&tcp, t_h.port);
	expect_line(&tcp, "no credentials");
	client_close(&tcp);
	client_send(&c, "QUIT\r\n");
	assert_null(client_line(&c));
	client_close(&c);
	conn_harness_stop(&t_h);
	/* the core took its socket away */
	assert_int_equal(lstat(t_h.unix_path, &st), -1);
}

static void test_limit_per_uid(void **state)
{
	struct client a, b, c;

	(void)state;
	start(limit_two);
	assert_int_equal(client_connect_unix(&a, t_h.unix_path), 0);
	assert_non_null(client_line(&a));
	assert_int_equal(client_connect_unix(&b, t_h.unix_path), 0);
	assert_non_null(client_line(&b));
	/* a third from the same uid gets the busy line and the close */
	assert_int_equal(client_connect_unix(&c, t_h.unix_path), 0);
	expect_line(&c, "busy");
	assert_null(client_line(&c));
	client_close(&c);
	client_close(&a);
	client_close(&b);
	conn_harness_stop(&t_h);
}

/* A path that must not become a listener: the error names it. */
static void listen_fails(const char *path, const char *want)
{
	struct core_service svc = { .name = "who", .protocol = &who_protocol };
	struct config cfg = { 0 };
	struct core *core;
	char *error = NULL;

	cfg.server.threads = 1;
	cfg.limits.connections = 10;
	assert_int_equal(core_new(&cfg, &core, &error), 0);
	assert_int_equal(core_listen_unix(core, &svc, path, &error), -1);
	assert_non_null(error);
	if (strstr(error, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, want);
	free(error);
	core_free(&core);
}

static void test_stale_live_and_other_paths(void **state)
{
	char dir[] = "/tmp/tern-test-unix-XXXXXX";
	char path[96], file[128], longp[160];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client c;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* a socket nobody listens on any more (a server that died) */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(lstat(path, &st), 0);
	{
		struct core_service svc = { .name = "who", .protocol = &who_protocol };
		struct config cfg = { 0 };
		struct core *core;
		char *error = NULL;

		cfg.server.threads = 1;
		cfg.limits.connections = 10;
		assert_int_equal(core_new(&cfg, &core, &error), 0);
		assert_int_equal(core_listen_unix(core, &svc, path, &error), 0);
		/* now it is live: a second server is refused, and keeps it */
		listen_fails(path, "another server listens on");
		assert_int_equal(lstat(path, &st), 0);
		core_free(&core);
	}
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(client_connect_unix(&c, path), -1);
	/* something else at the path is left alone */
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	listen_fails(file, "File exists");
	assert_int_equal(lstat(file, &st), 0);
	unlink(file);
	/* too long for sun_path */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	listen_fails(longp, "File name too long");
	rmdir(dir);
}

/* ---- the public folder ---- */

static void prepare_fails(const char *path, const char *want)
{
	char *error = NULL;

	assert_int_equal(public_dir_prepare(path, geteuid(), getegid(), &error), -1);
	assert_non_null(error);
	if (strstr(error, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", error, want);
	free(error);
}

static void test_public_dir(void **state)
{
	char top[] = "/tmp/tern-test-public-XXXXXX";
	char path[128], link[128], file[128];
	char *error = NULL;
	struct stat st;
	mode_t old = umask(077);
	int fd;

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(path, sizeof(path), "%s/public", top);
	/* made 0755 whatever the umask, and again accepted as it is */
	assert_int_equal(public_dir_prepare(path, geteuid(), getegid(), &error), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(public_dir_prepare(path, geteuid(), getegid(), &error), 0);
	/* 0750 (a group of senders) is the operator's choice */
	assert_int_equal(chmod(path, 0750), 0);
	assert_int_equal(public_dir_prepare(path, geteuid(), getegid(), &error), 0);
	/* writable by others: someone could replace the socket */
	assert_int_equal(chmod(path, 0777), 0);
	prepare_fails(path, "writable by group or others (mode 0777)");
	assert_int_equal(chmod(path, 0775), 0);
	prepare_fails(path, "writable by group or others");
	assert_int_equal(chmod(path, 0755), 0);
	/* a symbolic link to a folder, a file, a missing parent, a relative path */
	snprintf(link, sizeof(link), "%s/link", top);
	assert_int_equal(symlink(path, link), 0);
	prepare_fails(link, "not a folder");
	snprintf(file, sizeof(file), "%s/file", top);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	prepare_fails(file, "not a folder");
	prepare_fails("/nonexistent-tern-parent/public", "cannot create it");
	prepare_fails("run/tern", "not an absolute path");
	/* owned by someone else than root and the server's user */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(public_dir_prepare(path, 65534, 65534, &error), 0);
		prepare_fails(path, "owned by uid 65534, neither root nor the server's user");
		/* made as root for the server's user: given to it */
		rmdir(path);
		assert_int_equal(public_dir_prepare(path, 65534, 65534, &error), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 65534);
	}
	umask(old);
	unlink(file);
	unlink(link);
	rmdir(path);
	rmdir(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_credentials),
		cmocka_unit_test(test_limit_per_uid),
		cmocka_unit_test(test_stale_live_and_other_paths),
		cmocka_unit_test(test_public_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
