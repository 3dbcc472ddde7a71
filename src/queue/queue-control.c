/* queue-control - the queue's commands on the control socket (queue.h,
 * core/control.h): what `tern queue remove|hold|release|flush` asks of
 * the running server, each answered with one line. */
#include <stdio.h>

#include "core/control.h"
#include "queue/queue.h"

/* The reply for a result: ok with `done`, or why not. */
static bool queue_control_reply(enum queue_admin_result r, const char *id, char *out,
				const char *done)
{
	switch (r) {
	case QUEUE_ADMIN_OK:
		snprintf(out, CONTROL_TEXT_MAX + 1, "%s", done);
		return true;
	case QUEUE_ADMIN_NOT_FOUND:
		snprintf(out, CONTROL_TEXT_MAX + 1, "no such message in the queue: %s", id);
		return false;
	case QUEUE_ADMIN_ERROR:
		break;
	}
	snprintf(out, CONTROL_TEXT_MAX + 1, "the queue failed (the server's log says why)");
	return false;
}

static bool queue_control_remove(void *ctx, const char *id, char *out)
{
	unsigned n;
	char done[64];

	snprintf(done, sizeof(done), "removed %.20s", id);
	return queue_control_reply(queue_remove(ctx, id, &n), id, out, done);
}

static bool queue_control_hold(void *ctx, const char *id, char *out)
{
	enum queue_admin_result r;
	unsigned n;
	char done[96];

	r = queue_hold(ctx, id, &n);
	snprintf(done, sizeof(done), "held %.20s: %u recipient%s", id, n, n == 1 ? "" : "s");
	return queue_control_reply(r, id, out, done);
}

static bool queue_control_release(void *ctx, const char *id, char *out)
{
	enum queue_admin_result r;
	unsigned n;
	char done[96];

	r = queue_release(ctx, id, &n);
	snprintf(done, sizeof(done), "released %.20s: %u recipient%s", id, n, n == 1 ? "" : "s");
	return queue_control_reply(r, id, out, done);
}

static bool queue_control_flush(void *ctx, const char *id, char *out)
{
	enum queue_admin_result r;
	unsigned n;
	char done[128];

	r = queue_flush(ctx, id, &n);
	snprintf(done, sizeof(done), "flushed %.20s: %u deferred recipient%s to try now",
		 id != NULL ? id : "the queue", n, n == 1 ? "" : "s");
	return queue_control_reply(r, id != NULL ? id : "", out, done);
}

const struct control_command queue_control_commands[] = {
	{ "queue-remove", CONTROL_ARG_REQUIRED, queue_control_remove },
	{ "queue-hold", CONTROL_ARG_REQUIRED, queue_control_hold },
	{ "queue-release", CONTROL_ARG_REQUIRED, queue_control_release },
	{ "queue-flush", CONTROL_ARG_OPTIONAL, queue_control_flush },
};
const size_t queue_control_commands_n =
	sizeof(queue_control_commands) / sizeof(queue_control_commands[0]);
