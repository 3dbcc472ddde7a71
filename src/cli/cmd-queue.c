/* cmd-queue - `tern queue list|remove|hold|release|flush [ID]`: the mail
 * queue. list reads DATA/queue/queue.db itself, so that it works whether
 * the server runs or not; the others act on the running server's queue
 * through its control socket (core/control.h), since the server's
 * deliveries must know of them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/control.h"
#include "queue/queue.h"

static const char queue_usage[] =
	"usage: tern queue list\n"
	"       tern queue remove ID      take the message out of the queue\n"
	"       tern queue hold ID        keep it from being tried until released\n"
	"       tern queue release ID     try its held recipients again\n"
	"       tern queue flush [ID]     try deferred recipients now (of every message without ID)\n"
	"list shows each message (id, size, age, sender) with each recipient's state,\n"
	"tries, next try and last error (a server's reply as \"host NAME said: REPLY\");\n"
	"it reads the queue's index and needs no server.\n"
	"The others ask the running server.\n"
	"options: -c FILE, --set SECTION.KEY=VALUE, --help\n";

struct queue_print {
	time_t now;
	size_t messages;
	uint64_t octets;
};

/* A duration as people read it: 45s, 12m, 3h, 2d. */
static void queue_duration(char *out, size_t outsize, int64_t seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 120)
		snprintf(out, outsize, "%llds", (long long)seconds);
	else if (seconds < 2 * 3600)
		snprintf(out, outsize, "%lldm", (long long)(seconds / 60));
	else if (seconds < 2 * 86400)
		snprintf(out, outsize, "%lldh", (long long)(seconds / 3600));
	else
		snprintf(out, outsize, "%lldd", (long long)(seconds / 86400));
}

/* Text from the queue (addresses, errors), with control bytes shown as '?'. */
static void queue_put(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void queue_print_message(void *ctx, const struct queue_list_message *msg)
{
	struct queue_print *p = ctx;
	char age[32];

	if (p->messages == 0)
		printf("%-16s %10s %5s  %s\n", "ID", "SIZE", "AGE", "SENDER");
	p->messages++;
	p->octets += msg->size;
	queue_duration(age, sizeof(age), (int64_t)p->now - msg->arrival);
	printf("%-16s %10llu %5s  <", msg->id, (unsigned long long)msg->size, age);
	queue_put(msg->sender);
	printf(">\n");
	for (size_t i = 0; i < msg->n_rcpts; i++) {
		const struct queue_list_rcpt *r = &msg->rcpts[i];

		printf("    %-9s %s ", queue_state_name(r->state), r->local ? "local " : "remote");
		queue_put(r->address);
		if (r->attempts > 0)
			printf("  tries %u", r->attempts);
		if (r->state == QUEUE_STATE_DEFERRED) {
			char when[32];

			queue_duration(when, sizeof(when), r->next_try - (int64_t)p->now);
			printf(", next %s%s", r->next_try > (int64_t)p->now ? "in " : "",
			       r->next_try > (int64_t)p->now ? when : "now");
		}
		if (r->error != NULL && r->state != QUEUE_STATE_DELIVERED) {
			printf(": ");
			/* the server's reply, named as Postfix's mailq does */
			if (r->remote && r->remote_mta != NULL) {
				printf("host ");
				queue_put(r->remote_mta);
				printf(" said: ");
			}
			queue_put(r->error);
		}
		printf("\n");
	}
}

static int queue_list_run(const struct config *cfg)
{
	struct queue_print p = { .now = time(NULL) };
	char *error = NULL;

	if (queue_list(cfg->server.data_dir, queue_print_message, &p, &error) < 0) {
		cli_fail("queue list: %s", error != NULL ? error : "cannot read the queue");
		free(error);
		return 1;
	}
	if (p.messages == 0)
		printf("the queue is empty\n");
	else
		printf("-- %zu message%s, %llu octets\n", p.messages, p.messages == 1 ? "" : "s",
		       (unsigned long long)p.octets);
	return 0;
}

/* remove, hold, release, flush: one request to the running server. */
static int queue_ask(const struct config *cfg, const char *sub, const char *id)
{
	char request[CONTROL_LINE_MAX + 1], *text = NULL;
	enum control_call_result r;
	int ret = 1;

	snprintf(request, sizeof(request), "queue-%s%s%s", sub, id != NULL ? " " : "",
		 id != NULL ? id : "");
	r = control_call(cfg->server.data_dir, request, &text);
	switch (r) {
	case CONTROL_CALL_OK:
		printf("%s\n", text);
		ret = 0;
		break;
	case CONTROL_CALL_REFUSED:
		cli_fail("queue %s: %s", sub, text);
		break;
	case CONTROL_CALL_NO_SERVER:
		cli_fail("queue %s: the server is not running (%s); only `tern queue list`"
			 " works without it", sub, text);
		break;
	case CONTROL_CALL_FAILED:
		cli_fail("queue %s: cannot ask the server: %s", sub, text);
		break;
	}
	free(text);
	return ret;
}

int cmd_queue(int argc, char **argv)
{
	static const char *const with_id[] = { "remove", "hold", "release" };
	struct cli_options opts;
	struct config cfg;
	const char *sub, *id;
	bool known;
	int ret = cli_options_parse(&argc, argv, NULL, queue_usage, &opts);

	if (ret >= 0)
		return ret;
	sub = argc >= 2 ? argv[1] : "";
	id = argc >= 3 ? argv[2] : NULL;
	known = (strcmp(sub, "list") == 0 && argc == 2) || (strcmp(sub, "flush") == 0 && argc <= 3);
	for (size_t i = 0; i < sizeof(with_id) / sizeof(with_id[0]); i++)
		known = known || (strcmp(sub, with_id[i]) == 0 && argc == 3);
	if (!known)
		return cli_usage_error(&opts, queue_usage);
	if (id != NULL && !queue_id_valid(id, strlen(id))) {
		cli_fail("queue %s: not a queue id: '%.64s' (16 characters of A-Z and 2-7,"
			 " as tern queue list shows them)", sub, id);
		cli_options_free(&opts);
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	ret = cli_config_load(&opts, &cfg);
	cli_options_free(&opts);
	if (ret < 0)
		return 1;
	if (access(cfg.server.data_dir, F_OK) < 0 && errno == ENOENT) {
		cli_fail("queue %s: data folder %.1024s does not exist", sub, cfg.server.data_dir);
		ret = 1;
	} else if (cli_path_check("queue", "use the data folder", cfg.server.data_dir,
				  R_OK | X_OK) < 0) {
		ret = 1;
	} else {
		ret = strcmp(sub, "list") == 0 ? queue_list_run(&cfg) : queue_ask(&cfg, sub, id);
	}
	config_free(&cfg);
	return ret;
}
