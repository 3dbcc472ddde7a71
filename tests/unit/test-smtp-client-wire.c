/* test-smtp-client-wire - the client-side pieces together against tern's
 * own SMTP server (port 25, in-process, smtp-harness.h): an outbound
 * connection (conn_connect) driven by a scripted client that reads every
 * reply with the reply parser straight from the input buffer (pipelined
 * replies one after the other), the extensions with the EHLO reader,
 * upgrades with STARTTLS as the client, pipelines MAIL, two RCPTs and
 * DATA (RFC 2920), and sends a message with bare line ends and leading
 * dots through the data encoder. The server must queue exactly the
 * message meant, with ESMTPS and the cipher in its Received header, and
 * refuse the unknown recipient with 5.1.1. Not the delivery state
 * machine: a test of the parts it will be made of. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp-harness.h"

#include "core/conn-connect.h"
#include "smtp/smtp-client-data.h"
#include "smtp/smtp-client-ehlo.h"
#include "smtp/smtp-client-reply.h"

#define T_MESSAGE "Subject: wire\r\n\r\nline\n.\nnext\r.leading dot\r\n..two\r\nlast"
#define T_QUEUED "Subject: wire\r\n\r\nline\r\n.\r\nnext\r\n.leading dot\r\n..two\r\nlast\r\n"

enum step {
	STEP_GREETING, STEP_EHLO, STEP_STARTTLS, STEP_EHLO_TLS, STEP_MAIL, STEP_RCPT1, STEP_RCPT2,
	STEP_DATA, STEP_DOT, STEP_QUIT, STEP_DONE,
};

struct script {
	struct conn *conn;
	struct smtp_client_reply_parser parser;
	enum step step;
	struct smtp_client_ehlo before, after;
	char rcpt2_enhanced[12];
	bool tls_asked;              /* STARTTLS answered: read nothing until tls_ready */
	char tls_cipher[64];
	enum conn_tls_peer peer;
	char failure[200];
	atomic_bool finished;
};

static struct script t_script;

static void script_fail(struct script *s, const char *what, const struct smtp_client_reply *r)
{
	if (s->failure[0] == '\0')
		snprintf(s->failure, sizeof(s->failure), "%s: got %u %.100s", what, r != NULL ? r->code : 0,
			 r != NULL ? r->text : "");
	conn_close(s->conn, "script failed");
}

static void script_send_message(struct script *s)
{
	struct smtp_client_data d;
	char out[SMTP_CLIENT_DATA_OUT_MAX(sizeof(T_MESSAGE)) + SMTP_CLIENT_DATA_END_MAX];
	size_t n;

	smtp_client_data_init(&d, true);
	n = smtp_client_data_encode(&d, T_MESSAGE, strlen(T_MESSAGE), out);
	n += smtp_client_data_end(&d, out + n);
	conn_write(s->conn, out, n);
}

/* One whole reply, in the order the commands went. */
static void script_reply(struct script *s, const struct smtp_client_reply *r)
{
	switch (s->step) {
	case STEP_GREETING:
		if (r->code != 220)
			return script_fail(s, "greeting", r);
		conn_printf(s->conn, "EHLO client.example\r\n");
		s->step = STEP_EHLO;
		break;
	case STEP_EHLO:
		smtp_client_ehlo_parse(r, &s->before);
		if (!smtp_client_ehlo_has(&s->before, SMTP_CLIENT_EXT_STARTTLS))
			return script_fail(s, "no STARTTLS", r);
		conn_printf(s->conn, "STARTTLS\r\n");
		s->step = STEP_STARTTLS;
		break;
	case STEP_STARTTLS:
		if (r->code != 220 || conn_starttls(s->conn) < 0)
			return script_fail(s, "STARTTLS", r);
		/* anything else buffered is thrown away (RFC 3207 4.2) */
		s->tls_asked = true;
		break;   /* tls_ready goes on */
	case STEP_EHLO_TLS:
		smtp_client_ehlo_parse(r, &s->after);
		if (!smtp_client_ehlo_has(&s->after, SMTP_CLIENT_EXT_PIPELINING))
			return script_fail(s, "no PIPELINING", r);
		/* RFC 2920 3.1: DATA may end the group */
		conn_printf(s->conn, "MAIL FROM:<sender@remote.example> SIZE=%zu\r\n"
			    "RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n",
			    strlen(T_QUEUED));
		s->step = STEP_MAIL;
		break;
	case STEP_MAIL:
	case STEP_RCPT1:
		if (r->code != 250)
			return script_fail(s, s->step == STEP_MAIL ? "MAIL" : "RCPT", r);
		s->step++;
		break;
	case STEP_RCPT2:
		if (r->code != 550)
			return script_fail(s, "the unknown RCPT", r);
		snprintf(s->rcpt2_enhanced, sizeof(s->rcpt2_enhanced), "%s", r->enhanced);
		s->step = STEP_DATA;
		break;
	case STEP_DATA:
		if (r->code != 354)
			return script_fail(s, "DATA", r);
		script_send_message(s);
		s->step = STEP_DOT;
		break;
	case STEP_DOT:
		if (r->code != 250)
			return script_fail(s, "the end of data", r);
		conn_printf(s->conn, "QUIT\r\n");
		s->step = STEP_QUIT;
		break;
	case STEP_QUIT:
		if (r->code != 221)
			return script_fail(s, "QUIT", r);
		s->step = STEP_DONE;
		conn_close(s->conn, "done");
		break;
	case STEP_DONE:
		script_fail(s, "a reply after QUIT", r);
		break;
	}
}

static void *script_open(struct conn *conn)
{
	struct script *s = conn_connect_arg(conn);

	s->conn = conn;
	smtp_client_reply_init(&s->parser);
	return s;
}

/* Replies straight from the input buffer: the parser says how much each took. */
static void script_input(void *session)
{
	struct script *s = session;
	struct buf *in = conn_input(s->conn);

	while (in->len > 0 && !conn_is_closing(s->conn) && !s->tls_asked) {
		size_t used;
		enum smtp_client_reply_result res = smtp_client_reply_feed(&s->parser, in->data, in->len,
									   &used);

		buf_consume(in, used);
		if (res == SMTP_CLIENT_REPLY_MORE)
			break;
		if (res == SMTP_CLIENT_REPLY_ERROR) {
			script_fail(s, smtp_client_reply_error_name(smtp_client_reply_error(&s->parser)),
				    NULL);
			break;
		}
		script_reply(s, smtp_client_reply_get(&s->parser));
		smtp_client_reply_init(&s->parser);
	}
}

static void script_tls_ready(void *session)
{
	struct script *s = session;

	snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", conn_tls_cipher(s->conn));
	s->peer = conn_tls_peer(s->conn);
	smtp_client_reply_init(&s->parser);
	s->tls_asked = false;
	conn_printf(s->conn, "EHLO client.example\r\n");
	s->step = STEP_EHLO_TLS;
}

static void script_close(void *session)
{
	struct script *s = session;

	if (s->step != STEP_DONE && s->failure[0] == '\0')
		snprintf(s->failure, sizeof(s->failure), "closed at step %d", (int)s->step);
	atomic_store(&s->finished, true);
}

static const struct protocol script_protocol = {
	.name = "script", .open = script_open, .input = script_input,
	.tls_ready = script_tls_ready, .close = script_close,
};

static const struct core_service script_service = {
	.name = "smtp-out", .protocol = &script_protocol,
	.limits = { .idle_timeout = 30, .line_length = SMTP_CLIENT_REPLY_LINE_MAX },
};

static void script_failed(void *arg, enum conn_connect_error why)
{
	struct script *s = arg;

	snprintf(s->failure, sizeof(s->failure), "connect: %s", conn_connect_error_name(why));
	atomic_store(&s->finished, true);
}

static void test_wire(void **state)
{
	struct conn_connect req = {
		.service = &script_service, .verify = CONN_TLS_VERIFY_LOG, .arg = &t_script,
		.failed = script_failed, .server_name = "localhost", .connect_timeout = 5,
		.greeting_timeout = 10,
	};
	struct sockaddr_in *sin = (struct sockaddr_in *)&req.remote;
	struct fake_queued *q;

	(void)state;
	memset(&t_script, 0, sizeof(t_script));
	smtp_harness_start(SMTP_SERVICE_MX, "");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(t_h.port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	conn_connect(core_loop(t_h.core, 0), &req);
	for (int i = 0; i < 1500 && !atomic_load(&t_script.finished); i++)
		usleep(10 * 1000);
	assert_true(atomic_load(&t_script.finished));
	if (t_script.failure[0] != '\0')
		fail_msg("%s", t_script.failure);

	/* what the server offered, before TLS and after */
	assert_true(smtp_client_ehlo_has(&t_script.before, SMTP_CLIENT_EXT_PIPELINING));
	assert_true(smtp_client_ehlo_has(&t_script.before, SMTP_CLIENT_EXT_CHUNKING));
	assert_true(smtp_client_ehlo_has(&t_script.before, SMTP_CLIENT_EXT_DSN));
	assert_true(smtp_client_ehlo_has(&t_script.before, SMTP_CLIENT_EXT_SMTPUTF8));
	assert_int_equal(t_script.before.size_max, 100000);
	assert_false(smtp_client_ehlo_has(&t_script.after, SMTP_CLIENT_EXT_STARTTLS));
	assert_int_equal(t_script.peer, CONN_TLS_PEER_UNVERIFIED);
	assert_string_equal(t_script.rcpt2_enhanced, "5.1.1");

	q = smtp_queued(0);
	assert_string_equal(q->sender, "sender@remote.example");
	assert_int_equal(q->n_rcpts, 1);
	assert_string_equal(q->rcpts[0], "alice@example.org");
	assert_string_equal(smtp_body(q), T_QUEUED);
	assert_non_null(strstr(q->data, "with ESMTPS"));
	assert_non_null(strstr(q->data, t_script.tls_cipher));
	smtp_harness_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
