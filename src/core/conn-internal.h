/* conn-internal - what loop.c, listener.c and conn.c share inside the core:
 * the loop and connection structures and the accept hand-off. Nothing
 * outside src/core includes this (tests may, for counters). */
#ifndef TERN_CORE_CONN_INTERNAL_H
#define TERN_CORE_CONN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "core/conn.h"
#include "core/loop.h"

struct core;
struct listener;
struct tls;

/* One queued loop_post() call. */
struct loop_post_item {
	struct loop_post_item *next;
	void (*fn)(void *arg);
	void *arg;
};

struct loop {
	uv_loop_t uv;
	uv_async_t async;
	uv_timer_t shutdown_timer;
	pthread_t thread;
	bool thread_started;
	struct core *core;

	pthread_mutex_t lock;            /* guards the post queue */
	struct loop_post_item *head, *tail;

	atomic_uint nconns;              /* connections given to this loop */
	struct conn *conns;              /* live connections (loop thread only) */
	bool stopping;                   /* shutdown asked (loop thread only) */
	bool closed;                     /* handles closed (loop thread only) */
	bool in_posts;                   /* running posted calls (loop thread only) */
};

/* Create a loop (uv_loop_init, async); run it on a new thread with
 * loop_thread_start(); loop_join() waits for it to end after shutdown. */
struct loop *loop_new(struct core *core);
int loop_thread_start(struct loop *loop);
void loop_join(struct loop *loop);
void loop_free(struct loop **loop);
/* Posted by the core on SIGTERM: every session gets protocol->timeout and
 * is closed; the loop ends when its last connection is gone. */
void loop_shutdown(void *loop);
/* Called by conn.c when a connection is freed. */
void loop_conn_gone(struct loop *loop);

/* An accepted socket on its way to a loop (created on the main thread). */
struct conn_accept {
	int fd;
	struct listener *listener;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	char remote_ip[48];
};
/* loop_post() target: turns an accepted socket into a connection. */
void conn_accepted(void *accept);
/* On the loop thread, during shutdown: timeout + close (or after the job). */
void conn_shutdown(struct conn *conn);
/* Close at once (shutdown deadline passed); waits for a running job. */
void conn_abort(struct conn *conn);
struct conn *conn_next(const struct conn *conn);

/* What a connection needs from its listener and the core (listener.c). */
const struct protocol *listener_protocol(const struct listener *l);
void *listener_context(const struct listener *l);
const char *listener_service(const struct listener *l);
bool listener_implicit_tls(const struct listener *l);
struct core *listener_core(const struct listener *l);
const struct config *core_config(const struct core *core);
struct tls *core_tls(const struct core *core);
/* The limit of concurrent password jobs (conn_auth_limit). */
struct job_limit *core_auth_limit(const struct core *core);
/* Give back the per-address and total slots taken at accept. */
void core_conn_release(struct core *core, const char *ip);
/* Record the largest output queue seen (for tests). */
void core_note_output(size_t len);

#endif
