/* test-control - the control socket: its request and reply lines (good
 * and broken forms, the bounds), and a real server and client on a
 * socket in a temporary data folder: ok and error replies, a command's
 * argument rules, no server (no socket, or a stale one), a data folder
 * whose path is too long for a socket address. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/control.h"
#include "core/log.h"
#include "tmpdir.h"

static void test_request_parse(void **state)
{
	static const char *const bad[] = {
		"", " ", "Queue-hold", "queue_hold", "queue1", "queue-hold ", "queue-hold  X",
		" queue-hold X", "queue-hold X Y", "queue-hold X\r", "queue-hold \x01",
		"queue-hold \xc3\xa9", "queue-hold \x7f",
	};
	struct control_request req;
	const char *error;
	char line[CONTROL_LINE_MAX + 8];

	(void)state;
	assert_int_equal(control_request_parse("queue-flush", 11, &req, &error), 0);
	assert_string_equal(req.verb, "queue-flush");
	assert_false(req.has_arg);
	assert_string_equal(req.arg, "");
	assert_int_equal(control_request_parse("queue-hold ABC234", 17, &req, &error), 0);
	assert_string_equal(req.verb, "queue-hold");
	assert_true(req.has_arg);
	assert_string_equal(req.arg, "ABC234");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(control_request_parse(bad[i], strlen(bad[i]), &req, &error), -1);
		assert_non_null(error);
	}
	/* a NUL inside */
	assert_int_equal(control_request_parse("queue-hold A\0B", 14, &req, &error), -1);

	/* the bounds: a verb of 32, an argument of 320, and one more each */
	memset(line, 'a', CONTROL_VERB_MAX);
	line[CONTROL_VERB_MAX] = ' ';
	memset(line + CONTROL_VERB_MAX + 1, 'X', CONTROL_ARG_MAX);
	assert_int_equal(control_request_parse(line, CONTROL_LINE_MAX, &req, &error), 0);
	assert_int_equal(strlen(req.verb), CONTROL_VERB_MAX);
	assert_int_equal(strlen(req.arg), CONTROL_ARG_MAX);
	line[CONTROL_LINE_MAX] = 'X';
	assert_int_equal(control_request_parse(line, CONTROL_LINE_MAX + 1, &req, &error), -1);
	memset(line, 'a', CONTROL_VERB_MAX + 1);
	assert_int_equal(control_request_parse(line, CONTROL_VERB_MAX + 1, &req, &error), -1);
}

static void test_reply_parse(void **state)
{
	static const char *const bad[] = {
		"", "o", "ok ", "okay", "OK", "error", "error ", "err x", "ok a\tb", "error a\x7f",
	};
	char text[CONTROL_TEXT_MAX + 1], line[CONTROL_TEXT_MAX + 16];
	bool ok;

	(void)state;
	assert_int_equal(control_reply_parse("ok", 2, &ok, text), 0);
	assert_true(ok);
	assert_string_equal(text, "");
	assert_int_equal(control_reply_parse("ok held it: 2", 13, &ok, text), 0);
	assert_true(ok);
	assert_string_equal(text, "held it: 2");
	assert_int_equal(control_reply_parse("error no such message", 21, &ok, text), 0);
	assert_false(ok);
	assert_string_equal(text, "no such message");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(control_reply_parse(bad[i], strlen(bad[i]), &ok, text), -1);
	memcpy(line, "ok ", 3);
	memset(line + 3, 'x', CONTROL_TEXT_MAX);
	assert_int_equal(control_reply_parse(line, 3 + CONTROL_TEXT_MAX, &ok, text), 0);
	line[3 + CONTROL_TEXT_MAX] = 'x';
	assert_int_equal(control_reply_parse(line, 4 + CONTROL_TEXT_MAX, &ok, text), -1);
	assert_true(control_text_ok("fine: 3 recipients"));
	assert_false(control_text_ok("two\nlines"));
}

/* The commands of the test server. */
static bool t_echo(void *ctx, const char *arg, char *out)
{
	(*(int *)ctx)++;
	snprintf(out, CONTROL_TEXT_MAX + 1, "echo %s", arg != NULL ? arg : "(none)");
	return true;
}

static bool t_fail(void *ctx, const char *arg, char *out)
{
	(void)ctx;
	(void)arg;
	snprintf(out, CONTROL_TEXT_MAX + 1, "it failed\non two lines");
	return false;
}

static bool t_quiet(void *ctx, const char *arg, char *out)
{
	(void)ctx;
	(void)arg;
	(void)out;
	return false;
}

static const struct control_command t_commands[] = {
	{ "echo", CONTROL_ARG_OPTIONAL, t_echo },
	{ "fail", CONTROL_ARG_NONE, t_fail },
	{ "quiet", CONTROL_ARG_REQUIRED, t_quiet },
};

static void t_call(const char *dir, const char *request, enum control_call_result expect,
		   const char *text)
{
	char *got = NULL;

	assert_int_equal(control_call(dir, request, &got), expect);
	assert_non_null(got);
	if (text != NULL)
		assert_string_equal(got, text);
	free(got);
}

static void t_server(const char *dir)
{
	struct control *c;
	char *error = NULL;
	struct stat st;
	char path[4200];
	int calls = 0;

	assert_int_equal(control_open(dir, t_commands, 3, &calls, &c, &error), 0);
	snprintf(path, sizeof(path), "%s/" CONTROL_SOCKET_NAME, dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	t_call(dir, "echo hello", CONTROL_CALL_OK, "echo hello");
	t_call(dir, "echo", CONTROL_CALL_OK, "echo (none)");
	/* text the command should not have written is not sent as it is */
	t_call(dir, "fail", CONTROL_CALL_REFUSED, "failed");
	t_call(dir, "fail now", CONTROL_CALL_REFUSED, "takes no argument");
	t_call(dir, "quiet", CONTROL_CALL_REFUSED, "needs an argument");
	t_call(dir, "quiet x", CONTROL_CALL_REFUSED, "failed");
	t_call(dir, "reboot", CONTROL_CALL_REFUSED, "unknown command");
	t_call(dir, "echo two words", CONTROL_CALL_REFUSED, "bad argument");
	assert_int_equal(calls, 2);
	control_close(&c);
	assert_int_equal(lstat(path, &st), -1);
	t_call(dir, "echo", CONTROL_CALL_NO_SERVER, NULL);
}

static void test_server_and_client(void **state)
{
	char *dir = tmpdir_new("control");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	t_server(dir);
	/* a socket left by a server that died: nobody listens, and the next
	 * server replaces it */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/" CONTROL_SOCKET_NAME, dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	t_call(dir, "echo", CONTROL_CALL_NO_SERVER, NULL);
	t_server(dir);
	tmpdir_free(dir);
}

/* A data folder deeper than a socket address can name (108 octets). */
static void test_long_path(void **state)
{
	char *top = tmpdir_new("control-long"), path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", top,
		 "a-folder-name-long-enough-to-push-the-socket-path-past-sun-path-which-is-108");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(strlen(path) + sizeof("/" CONTROL_SOCKET_NAME) > sizeof(((struct sockaddr_un *)0)->sun_path));
	t_server(path);
	tmpdir_free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_server_and_client),
		cmocka_unit_test(test_long_path),
	};

	log_set_level(LOG_LEVEL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
