/* listener - the server core as the serve command (and tests) drive it:
 * bound listening sockets mapped to protocols, the I/O threads, accepting
 * with per-address and total connection limits, signals, and the graceful
 * shutdown.
 *
 * Order of use: core_new, core_listen for every service, core_tls_load,
 * (drop privileges), core_run (blocks until stopped), core_free. */
#ifndef TERN_CORE_LISTENER_H
#define TERN_CORE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/tls.h"

struct core;

/* Set up the core for `cfg` (which must outlive it): the main loop, the
 * [server] threads I/O loops (0 = cores), UV_THREADPOOL_SIZE (unless set in
 * the environment: max(4, 2 * cores)); SIGPIPE is ignored. */
int core_new(const struct config *cfg, struct core **core_r, char **error_r);

/* What a service's listeners give their connections: one row of the
 * serve command's table of services. */
struct core_service {
	const char *name;                 /* "pop3s": the service in logs */
	const struct protocol *protocol;
	void *context;                    /* conn_context() */
	bool implicit_tls;                /* the TLS handshake comes before protocol->open */
	enum tls_policy tls_policy;       /* the SSL_CTX for implicit TLS or STARTTLS (tls.h) */
	struct config_conn limits;        /* idle timeout and line length (config.h) */
};

/* Bind and listen on every address of one service (SO_REUSEADDR;
 * IPV6_V6ONLY on IPv6); `service` is copied. Port 0 binds a free port (see
 * core_listener_port). Returns -1 with a malloc'd *error_r naming the
 * address. */
int core_listen(struct core *core, const struct core_service *service,
		const struct addr_spec *specs, size_t n_specs, char **error_r);
/* Bind and listen on a UNIX stream socket at `path` for one service, mode
 * 0666: whoever may enter its folder may connect (the folder is
 * public-dir.h's). A socket left there by a server that died is replaced;
 * one a live server answers on is an error ("another server listens on
 * PATH"), as are a path that is something else and one too long for a
 * socket address. Its connections carry the peer's credentials
 * (conn_peer_cred), and [limits] connections_per_ip counts them per uid.
 * The socket file is removed when the core is freed. Returns -1 with a
 * malloc'd *error_r. */
int core_listen_unix(struct core *core, const struct core_service *service, const char *path,
		     char **error_r);

/* The port the index-th bound socket (in core_listen order) listens on
 * (0 for a UNIX socket). */
uint16_t core_listener_port(const struct core *core, size_t index);

/* Load (or generate) the certificate; see tls.h. Without it conn_starttls
 * fails and implicit-TLS connections are refused. */
int core_tls_load(struct core *core, char **error_r);

/* Start the I/O threads and run the main loop (accepting; with
 * handle_signals also SIGTERM/SIGINT = core_stop and SIGHUP = reload the
 * certificate) until the core is stopped and every connection is closed.
 * Logs msg="ready" once listening. Returns 0, or -1 when a thread could not
 * be started. */
int core_run(struct core *core, bool handle_signals);

/* Stop: close the listeners, give every session protocol->timeout and
 * close it; sessions with a job running finish it first; after [server]
 * shutdown_timeout seconds the rest are cut. Thread-safe; may be called
 * before core_run (which then returns at once). */
void core_stop(struct core *core);

/* Free everything (after core_run returned, or if it never ran). */
void core_free(struct core **core);

/* The I/O loops (core_new made [server] threads of them), for work that
 * is not an accepted connection: outbound connections (conn-connect.h),
 * timers and jobs (loop.h). index < core_loop_count(). */
unsigned core_loop_count(const struct core *core);
struct loop *core_loop(const struct core *core, unsigned index);

/* Set aside up to n descriptors for what is not a connection of a
 * listener (the queue's outbound SMTP sessions), before core_run fits
 * [limits] connections to what the descriptor limit leaves: at most half
 * of what is left after the core's own reserve and what was set aside
 * already. Returns how many it set aside (the caller keeps within it).
 * Between core_new and core_run. */
unsigned core_reserve_fds(struct core *core, unsigned n);

/* For tests and metrics: connections currently open, and the largest
 * output queue any connection had (process-wide). */
unsigned core_connection_count(struct core *core);
size_t core_peak_output(void);

#endif
