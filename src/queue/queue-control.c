/* queue-control - the queue's commands on the control socket (queue.h,
 * core/control.h): what `tern queue remove|hold|release|flush` asks of
 * the running server, each answered with one line. */
#include <stdio.h>

#include "core/control.h"
#include "queue/queue.h"

typedef enum queue_admin_result queue_admin_fn(struct queue *queue, const char *id,
					       unsigned *changed_r);

/* Run one of the queue's administrative calls and say what it did:
 * "held ID: 2 recipients", "flushed the queue: 1 deferred recipient to
 * try now", "removed ID"; or why not. */
static bool queue_control_run(queue_admin_fn *fn, void *ctx, const char *id, char *out,
			      const char *did, const char *noun, const char *tail)
{
	unsigned n = 0;

	switch (fn(ctx, id, &n)) {
	case QUEUE_ADMIN_OK:
		if (noun == NULL)
			snprintf(out, CONTROL_TEXT_MAX + 1, "%s %s", did, id);
		else
			snprintf(out, CONTROL_TEXT_MAX + 1, "%s %s: %u %s%s%s", did,
				 id != NULL ? id : "the queue", n, noun, n == 1 ? "" : "s", tail);
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
	return queue_control_run(queue_remove, ctx, id, out, "removed", NULL, "");
}

static bool queue_control_hold(void *ctx, const char *id, char *out)
{
	return queue_control_run(queue_hold, ctx, id, out, "held", "recipient", "");
}

static bool queue_control_release(void *ctx, const char *id, char *out)
{
	return queue_control_run(queue_release, ctx, id, out, "released", "recipient",
				 " to try now");
}

static bool queue_control_flush(void *ctx, const char *id, char *out)
{
	return queue_control_run(queue_flush, ctx, id, out, "flushed", "deferred recipient",
				 " to try now");
}

const struct control_command queue_control_commands[] = {
	{ "queue-remove", CONTROL_ARG_REQUIRED, queue_control_remove },
	{ "queue-hold", CONTROL_ARG_REQUIRED, queue_control_hold },
	{ "queue-release", CONTROL_ARG_REQUIRED, queue_control_release },
	{ "queue-flush", CONTROL_ARG_OPTIONAL, queue_control_flush },
};
const size_t queue_control_commands_n =
	sizeof(queue_control_commands) / sizeof(queue_control_commands[0]);
