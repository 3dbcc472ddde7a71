/* listener - the main thread of the core: listening sockets, accepting with
 * connection limits, the hand-off to the I/O loops, signals and shutdown;
 * see listener.h. */
#include "core/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/conn-internal.h"
#include "core/job-limit.h"
#include "core/log.h"
#include "core/tls.h"

#define CORE_IP_BUCKETS 1024
#define CORE_ACCEPT_BATCH 64
#define CORE_ACCEPT_PAUSE_MS 200
#define CORE_REFUSAL_LOG_MS 1000      /* at most one refusal line per reason and second */
/* Descriptors one connection may hold at once, unless its protocol says
 * (struct protocol session_fds): its socket, and for a logged-in session
 * the account's index.db with its -wal and -shm, the account lock, the
 * open msg/ folder (store-private.h: msg_fd), and a message file being
 * read. */
#define CORE_FDS_PER_CONN 7
/* Descriptors kept for everything else: listeners, loops and their
 * wake-ups, the directory, the thread pool's jobs, logs. */
#define CORE_FDS_RESERVED(threads) (64 + 16 * (threads))
/* Above this share of the connection limit, every new connection closes
 * the oldest one still waiting to log in (percent). */
#define CORE_PRESSURE_PERCENT 90
/* After SIGTERM, running jobs get [server] shutdown_timeout plus this
 * (seconds) before the process exits without them. */
#define CORE_JOB_GRACE_S 5

enum core_refusal {
	CORE_REFUSED_TOTAL,
	CORE_REFUSED_PER_IP,
	CORE_REFUSED_DESCRIPTORS,
	CORE_REFUSED__COUNT
};

static const char *const core_refusal_texts[] = {
	[CORE_REFUSED_TOTAL] = "too many connections",
	[CORE_REFUSED_PER_IP] = "too many connections from this address",
	[CORE_REFUSED_DESCRIPTORS] = "out of file descriptors",
};
_Static_assert(sizeof(core_refusal_texts) / sizeof(core_refusal_texts[0]) == CORE_REFUSED__COUNT,
	       "core_refusal_texts");

/* Refusals of one reason since the last log line (main thread only). */
struct core_refusal_log {
	uint64_t last_ms;
	bool logged;
	unsigned suppressed;
};

struct listener {
	struct core *core;
	int fd;
	uv_poll_t poll;
	struct core_service svc;          /* svc.name is ours (malloc'd) */
	uint16_t port;                    /* 0 for a UNIX socket */
	bool unix_socket;
	dev_t unix_dev;                   /* the socket file bound, removed at the end */
	ino_t unix_ino;
	char text[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];  /* address or path */
};

/* Connections from one address; in the shared table under ip_lock. */
struct core_ip {
	struct core_ip *next;
	unsigned count;
	char ip[48];
};

struct core {
	const struct config *cfg;
	uv_loop_t uv;
	uv_async_t stop_async;
	uv_async_t room_async;        /* an eviction is done: accept again */
	uv_timer_t accept_pause;
	atomic_bool waiting_room;     /* accepting paused until room is made */
	uv_signal_t sig_term, sig_int, sig_hup;
	bool signals;
	bool handles_closed;
	atomic_bool stopping;

	struct listener **listeners;
	size_t n_listeners;
	struct loop **loops;
	unsigned n_loops;
	unsigned next_loop;
	struct tls *tls;

	pthread_mutex_t ip_lock;
	struct core_ip *ips[CORE_IP_BUCKETS];
	unsigned total;
	unsigned max_conns;           /* [limits] connections, fitted to the descriptor limit */
	unsigned preauth;             /* connections waiting to log in (has_login) */
	unsigned closing;             /* connections only closing (a reply to flush, a linger) */
	unsigned evicting;            /* evictions asked for, not yet carried out */
	int spare_fd;                 /* an emergency descriptor, spent to refuse at EMFILE */
	unsigned nofile;              /* RLIMIT_NOFILE after raising it */
	unsigned fds_set_aside;       /* core_reserve_fds: for outbound sessions */
	uint64_t stop_ms;             /* CLOCK_MONOTONIC at the stop: the job deadline counts from it */

	struct core_refusal_log refusals[CORE_REFUSED__COUNT];
	struct job_limit *auth_limit;

	pthread_mutex_t client_lock;  /* guards client_ctx and client_failed */
	SSL_CTX *client_ctx;          /* outbound TLS, made on first use */
	bool client_failed;           /* making it failed (logged once) */
};

static atomic_size_t core_peak;

const struct core_service *listener_service(const struct listener *l) { return &l->svc; }
struct core *listener_core(const struct listener *l) { return l->core; }
const struct config *core_config(const struct core *core) { return core->cfg; }
struct tls *core_tls(const struct core *core) { return core->tls; }
struct job_limit *core_auth_limit(const struct core *core) { return core->auth_limit; }
unsigned core_loop_count(const struct core *core) { return core->n_loops; }

struct loop *core_loop(const struct core *core, unsigned index)
{
	return index < core->n_loops ? core->loops[index] : NULL;
}

/* Made on first use: a server that never connects out does not read the
 * system's certificate store. */
SSL_CTX *core_client_ctx(struct core *core)
{
	SSL_CTX *ctx = NULL;
	char *error = NULL;

	pthread_mutex_lock(&core->client_lock);
	if (core->client_ctx == NULL && !core->client_failed) {
		core->client_ctx = tls_client_ctx_new(core->cfg, &error);
		if (core->client_ctx == NULL) {
			core->client_failed = true;
			log_error("msg=\"no outbound TLS\" error=\"%s\"", error != NULL ? error : "?");
			free(error);
		}
	}
	if (core->client_ctx != NULL && SSL_CTX_up_ref(core->client_ctx) == 1)
		ctx = core->client_ctx;
	pthread_mutex_unlock(&core->client_lock);
	return ctx;
}

void core_note_output(size_t len)
{
	size_t old = atomic_load(&core_peak);

	while (len > old && !atomic_compare_exchange_weak(&core_peak, &old, len))
		;
}

size_t core_peak_output(void)
{
	return atomic_load(&core_peak);
}

unsigned core_connection_count(struct core *core)
{
	unsigned n;

	pthread_mutex_lock(&core->ip_lock);
	n = core->total;
	pthread_mutex_unlock(&core->ip_lock);
	return n;
}

static unsigned core_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (unsigned)n;
}

/* The size libuv gives its thread pool (it reads the variable the same way,
 * clamped to 1..1024). */
static unsigned core_pool_size(void)
{
	const char *v = getenv("UV_THREADPOOL_SIZE");
	unsigned long n = v != NULL ? strtoul(v, NULL, 10) : 4;

	if (n == 0)
		n = 1;
	return n > 1024 ? 1024 : (unsigned)n;
}

static struct core_ip **core_ip_find(struct core *core, const char *ip)
{
	unsigned h = 2166136261u;
	struct core_ip **p;

	for (const char *c = ip; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (p = &core->ips[h % CORE_IP_BUCKETS]; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->ip, ip) == 0)
			break;
	return p;
}

/* Under ip_lock: a connection waiting to log in, or one that is only
 * closing, is left to close for a new one. Connections being closed to
 * make room linger a moment: never more than a tenth over the limit
 * meanwhile. */
static bool core_room_possible(const struct core *core)
{
	return core->preauth + core->closing > core->evicting &&
	       core->total < core->max_conns + core->max_conns / 10 + 1;
}

/* Take a slot for a new connection: true when allowed, else false with
 * the reason; a connection of a protocol with a login phase counts as
 * waiting to log in from now on. Near the limit (*evict_r) the caller
 * must have the oldest
 * connection that is not logged in closed; at the limit, a new
 * connection is still taken while such a connection can make room for
 * it, so that clients that never log in cannot lock everyone out. */
static bool core_conn_acquire(struct core *core, const char *ip, bool has_login,
			      enum core_refusal *refused_r, bool *evict_r)
{
	unsigned soft = core->max_conns - core->max_conns * (100 - CORE_PRESSURE_PERCENT) / 100;
	bool ok = false;
	bool room;
	struct core_ip **p;

	*evict_r = false;
	pthread_mutex_lock(&core->ip_lock);
	p = core_ip_find(core, ip);
	room = core->total + 1 > soft && core_room_possible(core);
	if (core->total >= core->max_conns && !room) {
		*refused_r = CORE_REFUSED_TOTAL;
	} else if (*p != NULL && core->cfg->limits.connections_per_ip > 0 &&
		   (*p)->count >= core->cfg->limits.connections_per_ip) {
		*refused_r = CORE_REFUSED_PER_IP;
	} else {
		ok = true;
		if (*p == NULL) {
			*p = calloc(1, sizeof(**p));
			if (*p == NULL)
				abort();
			snprintf((*p)->ip, sizeof((*p)->ip), "%s", ip);
		}
		(*p)->count++;
		core->total++;
		/* Counted here, not when the loop takes it: a burst is
		 * accepted faster than the loops catch up. */
		if (has_login)
			core->preauth++;
		if (room) {
			core->evicting++;
			*evict_r = true;
		}
	}
	pthread_mutex_unlock(&core->ip_lock);
	return ok;
}

void core_preauth_count(struct core *core, int delta)
{
	pthread_mutex_lock(&core->ip_lock);
	core->preauth = (unsigned)((int)core->preauth + delta);
	pthread_mutex_unlock(&core->ip_lock);
}

void core_closing_count(struct core *core, int delta)
{
	pthread_mutex_lock(&core->ip_lock);
	core->closing = (unsigned)((int)core->closing + delta);
	pthread_mutex_unlock(&core->ip_lock);
}

void core_eviction_done(struct core *core)
{
	pthread_mutex_lock(&core->ip_lock);
	if (core->evicting > 0)
		core->evicting--;
	pthread_mutex_unlock(&core->ip_lock);
	if (atomic_load(&core->waiting_room))
		uv_async_send(&core->room_async);
}

/* At the limit, with every connection that could make room already being
 * closed: a new one would be refused only for want of a moment. */
static bool core_room_coming(struct core *core)
{
	bool coming;

	pthread_mutex_lock(&core->ip_lock);
	coming = core->total >= core->max_conns && core->evicting > 0 && !core_room_possible(core);
	pthread_mutex_unlock(&core->ip_lock);
	return coming;
}

struct loop *core_oldest_preauth_loop(struct core *core)
{
	struct loop *best = NULL;
	uint64_t best_ns = UINT64_MAX;

	for (unsigned i = 0; i < core->n_loops; i++) {
		uint64_t ns = atomic_load(&core->loops[i]->preauth_oldest);

		if (best == NULL || ns < best_ns) {
			best = core->loops[i];
			best_ns = ns;
		}
	}
	return best;
}

struct loop *core_eviction_loop(struct core *core)
{
	for (unsigned i = 0; i < core->n_loops; i++)
		if (atomic_load(&core->loops[i]->closing_count) > 0)
			return core->loops[i];
	return core_oldest_preauth_loop(core);
}

void core_conn_release(struct core *core, const char *ip)
{
	struct core_ip **p;

	pthread_mutex_lock(&core->ip_lock);
	p = core_ip_find(core, ip);
	if (*p != NULL && --(*p)->count == 0) {
		struct core_ip *gone = *p;

		*p = gone->next;
		free(gone);
	}
	core->total--;
	pthread_mutex_unlock(&core->ip_lock);
}

static struct loop *core_pick_loop(struct core *core)
{
	struct loop *best = NULL;
	unsigned best_n = 0;

	for (unsigned k = 0; k < core->n_loops; k++) {
		struct loop *loop = core->loops[(core->next_loop + k) % core->n_loops];
		unsigned n = atomic_load(&loop->nconns);

		if (best == NULL || n < best_n) {
			best = loop;
			best_n = n;
		}
	}
	core->next_loop = (core->next_loop + 1) % core->n_loops;
	return best;
}

/* A flood of refusals costs one log line per reason and second, with the
 * number of refusals not logged since the previous line. */
static void core_log_refusal(struct core *core, struct listener *l, enum core_refusal why,
			     const char *ip)
{
	struct core_refusal_log *r = &core->refusals[why];
	uint64_t now;

	uv_update_time(&core->uv);
	now = uv_now(&core->uv);
	if (r->logged && now - r->last_ms < CORE_REFUSAL_LOG_MS) {
		r->suppressed++;
		return;
	}
	log_event(LOG_LEVEL_WARN, l->svc.name, NULL, ip,
		  "msg=\"connection refused\" reason=\"%s\" suppressed=%u",
		  core_refusal_texts[why], r->suppressed);
	r->logged = true;
	r->last_ms = now;
	r->suppressed = 0;
}

/* Say why before hanging up, where the protocol has a line for it and the
 * connection is not TLS: one non-blocking write, best effort. */
static void core_refuse(struct listener *l, int fd)
{
	const char *reply = l->svc.protocol != NULL ? l->svc.protocol->busy_reply : NULL;

	if (reply != NULL && !l->svc.implicit_tls) {
		ssize_t n = send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)n;
	}
	close(fd);
}

/* Who is connecting: the address of a TCP peer, or for a UNIX socket the
 * uid the kernel says (SO_PEERCRED), "uid:1000", which the per-address
 * limit then counts. *cred_r is set for a UNIX socket only (returns
 * true then). ip has 48 bytes. */
static bool core_peer(int fd, const struct sockaddr_storage *ss, char *ip, struct ucred *cred_r)
{
	socklen_t clen = sizeof(*cred_r);

	snprintf(ip, 48, "unknown");
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, 48);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, 48);
	if (ss->ss_family != AF_UNIX)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred_r, &clen) < 0 || clen != sizeof(*cred_r))
		return false;
	snprintf(ip, 48, "uid:%lu", (unsigned long)cred_r->uid);
	return true;
}

static void core_accept_one(struct listener *l, int fd, const struct sockaddr_storage *ss,
			    socklen_t len)
{
	struct core *core = l->core;
	struct conn_accept *acc;
	enum core_refusal refused;
	struct ucred cred;
	char ip[48];
	bool evict, local = core_peer(fd, ss, ip, &cred);

	if (ss->ss_family == AF_UNIX && !local) {
		/* no credentials, no service: a local peer must say who it is */
		log_event(LOG_LEVEL_WARN, l->svc.name, NULL, NULL,
			  "msg=\"no peer credentials\" error=\"%s\"", strerror(errno));
		close(fd);
		return;
	}
	if (!core_conn_acquire(core, ip, l->svc.protocol != NULL && l->svc.protocol->has_login, &refused,
			       &evict)) {
		core_log_refusal(core, l, refused, ip);
		core_refuse(l, fd);
		return;
	}
	if (evict) {
		struct loop *victim = core_eviction_loop(core);

		loop_post(victim, loop_evict_preauth, victim);
	}
	acc = calloc(1, sizeof(*acc));
	if (acc == NULL)
		abort();
	acc->fd = fd;
	acc->listener = l;
	memcpy(&acc->remote, ss, sizeof(*ss));
	acc->remote_len = len;
	memcpy(acc->remote_ip, ip, sizeof(ip));
	acc->local = local;
	if (local)
		acc->cred = cred;
	/* The order of accepting, not of the loops' taking over, decides
	 * which connection is the oldest. */
	acc->born_ns = uv_hrtime();
	{
		struct loop *loop = core_pick_loop(core);

		atomic_fetch_add(&loop->nconns, 1);
		loop_post(loop, conn_accepted, acc);
	}
}

static void core_spare_open(struct core *core)
{
	if (core->spare_fd < 0)
		core->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors with clients waiting: free the spare one, accept a
 * client with it, tell it the server is busy, hang up, take the spare
 * back. Returns 1 when a client was refused, 0 when none was waiting,
 * -1 when that did not work (no spare, or it could not be taken back). */
static int core_refuse_with_spare(struct listener *l)
{
	struct core *core = l->core;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred cred;
	char ip[48];
	int fd;

	if (core->spare_fd < 0)
		return -1;
	close(core->spare_fd);
	core->spare_fd = -1;
	fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		core_peer(fd, &ss, ip, &cred);
		core_log_refusal(core, l, CORE_REFUSED_DESCRIPTORS, ip);
		core_refuse(l, fd);
	}
	core_spare_open(core);
	if (core->spare_fd < 0)
		return -1;
	return fd >= 0 ? 1 : 0;
}

static void core_accept_cb(uv_poll_t *poll, int status, int events);

static void core_accept_resume(uv_timer_t *timer)
{
	struct core *core = timer->data;

	if (atomic_load(&core->stopping))
		return;
	atomic_store(&core->waiting_room, false);
	uv_timer_stop(&core->accept_pause);
	core_spare_open(core);
	for (size_t i = 0; i < core->n_listeners; i++)
		uv_poll_start(&core->listeners[i]->poll, UV_READABLE, core_accept_cb);
}

static void core_room_cb(uv_async_t *async)
{
	struct core *core = async->data;

	if (atomic_load(&core->waiting_room))
		core_accept_resume(&core->accept_pause);
}

/* Leave new clients in the listen backlog for the moment it takes to
 * close connections that make room for them, rather than refuse them. The
 * timer is the fallback should an eviction never report back. */
static void core_wait_for_room(struct core *core)
{
	atomic_store(&core->waiting_room, true);
	for (size_t i = 0; i < core->n_listeners; i++)
		uv_poll_stop(&core->listeners[i]->poll);
	uv_timer_start(&core->accept_pause, core_accept_resume, CORE_ACCEPT_PAUSE_MS, 0);
	/* An eviction that ended meanwhile has not seen the flag. */
	if (!core_room_coming(core))
		core_accept_resume(&core->accept_pause);
}

static void core_accept_cb(uv_poll_t *poll, int status, int events)
{
	struct listener *l = poll->data;
	struct core *core = l->core;

	(void)events;
	if (status < 0 || atomic_load(&core->stopping))
		return;
	for (int n = 0; n < CORE_ACCEPT_BATCH; n++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;

		if (core_room_coming(core)) {
			core_wait_for_room(core);
			return;
		}
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			core_accept_one(l, fd, &ss, len);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			int r = core_refuse_with_spare(l);

			if (r > 0)
				continue;
			if (r == 0)
				return;
		}
		/* Out of descriptors (and no spare) or memory: stop accepting
		 * for a moment rather than spinning on a readable listener. */
		log_event(LOG_LEVEL_ERROR, l->svc.name, NULL, NULL,
			  "msg=\"accept failed\" error=\"%s\"", strerror(errno));
		for (size_t i = 0; i < core->n_listeners; i++)
			uv_poll_stop(&core->listeners[i]->poll);
		uv_timer_start(&core->accept_pause, core_accept_resume, CORE_ACCEPT_PAUSE_MS, 0);
		return;
	}
}

static void core_listener_closed(uv_handle_t *handle)
{
	struct listener *l = handle->data;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Close every handle of the main loop, so that uv_run returns. */
static void core_close_handles(struct core *core)
{
	if (core->handles_closed)
		return;
	core->handles_closed = true;
	for (size_t i = 0; i < core->n_listeners; i++)
		uv_close((uv_handle_t *)&core->listeners[i]->poll, core_listener_closed);
	uv_close((uv_handle_t *)&core->stop_async, NULL);
	uv_close((uv_handle_t *)&core->room_async, NULL);
	uv_close((uv_handle_t *)&core->accept_pause, NULL);
	if (core->signals) {
		uv_close((uv_handle_t *)&core->sig_term, NULL);
		uv_close((uv_handle_t *)&core->sig_int, NULL);
		uv_close((uv_handle_t *)&core->sig_hup, NULL);
	}
}

static uint64_t core_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for an I/O thread until the job deadline: [server]
 * shutdown_timeout + CORE_JOB_GRACE_S after the stop. A job that is still
 * running then (a hung disk, a password hash) is not waited for: the
 * process exits. Nothing acknowledged is lost by that, since every
 * acknowledgement is sent only after its data is durable, and the store
 * repairs what a job cut short leaves (docs/ARCHITECTURE.md). */
static void core_join_bounded(struct core *core, struct loop *loop)
{
	uint64_t deadline = core->stop_ms +
			    ((uint64_t)core->cfg->server.shutdown_timeout + CORE_JOB_GRACE_S) * 1000;
	uint64_t now = core_monotonic_ms();
	struct timespec abs;

	clock_gettime(CLOCK_REALTIME, &abs);
	if (deadline > now) {
		uint64_t ns = (uint64_t)abs.tv_nsec + (deadline - now) % 1000 * 1000000;

		abs.tv_sec += (time_t)((deadline - now) / 1000 + ns / 1000000000);
		abs.tv_nsec = (long)(ns % 1000000000);
	}
	if (loop_join_until(loop, &abs) == 0)
		return;
	log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
		  "msg=\"exiting with jobs still running\" after=%u",
		  core->cfg->server.shutdown_timeout + CORE_JOB_GRACE_S);
	_exit(0);
}

static void core_stop_cb(uv_async_t *async)
{
	struct core *core = async->data;

	if (core->handles_closed)
		return;
	log_event(LOG_LEVEL_INFO, "serve", NULL, NULL, "msg=\"stopping\" timeout=%u",
		  core->cfg->server.shutdown_timeout);
	core->stop_ms = core_monotonic_ms();
	core_close_handles(core);
	for (unsigned i = 0; i < core->n_loops; i++)
		loop_post(core->loops[i], loop_shutdown, core->loops[i]);
}

void core_stop(struct core *core)
{
	atomic_store(&core->stopping, true);
	uv_async_send(&core->stop_async);
}

static void core_signal_cb(uv_signal_t *sig, int signum)
{
	struct core *core = sig->data;
	char *error = NULL;

	if (signum != SIGHUP) {
		log_event(LOG_LEVEL_INFO, "serve", NULL, NULL, "msg=\"signal\" signal=%s",
			  signum == SIGTERM ? "TERM" : "INT");
		atomic_store(&core->stopping, true);
		core_stop_cb(&core->stop_async);
		return;
	}
	if (core->tls == NULL)
		return;
	if (tls_reload(core->tls, &error) < 0) {
		log_event(LOG_LEVEL_ERROR, "serve", NULL, NULL,
			  "msg=\"certificate reload failed; keeping the old one\" error=\"%s\"",
			  error != NULL ? error : "?");
		free(error);
	} else {
		log_event(LOG_LEVEL_INFO, "serve", NULL, NULL, "msg=\"certificate reloaded\"");
	}
}

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open), or 0. */
static rlim_t core_nr_open(void)
{
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long long n = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &n) != 1)
		n = 0;
	fclose(f);
	return (rlim_t)n;
}

/* Raise the soft descriptor limit to the hard one, and, while still root
 * (before the privilege drop), the hard one to the kernel's ceiling
 * (fs.nr_open, 1,048,576 by default): 100,000 connections of 7
 * descriptors need 700,000. Returns the limit. */
static unsigned core_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (geteuid() == 0 && rl.rlim_max != RLIM_INFINITY) {
		rlim_t ceiling = core_nr_open();

		if (ceiling > rl.rlim_max) {
			struct rlimit raised = { .rlim_cur = ceiling, .rlim_max = ceiling };

			/* Refused without CAP_SYS_RESOURCE (a container):
			 * the hard limit given is kept. */
			if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
				rl = raised;
		}
	}
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	return rl.rlim_cur > UINT_MAX ? UINT_MAX : (unsigned)rl.rlim_cur;
}

unsigned core_reserve_fds(struct core *core, unsigned n)
{
	unsigned reserved = CORE_FDS_RESERVED(core->n_loops) + core->fds_set_aside;
	unsigned room = core->nofile > reserved ? (core->nofile - reserved) / 2 : 0;

	if (n > room)
		n = room;
	core->fds_set_aside += n;
	return n;
}

/* [limits] connections, lowered to what the descriptor limit can carry,
 * so that the server runs out of connection slots long before it runs
 * out of descriptors: by the largest need of a session among the
 * listening protocols. */
static void core_fit_connections(struct core *core)
{
	unsigned reserved = CORE_FDS_RESERVED(core->n_loops) + core->fds_set_aside;
	unsigned per = 0, fit;
	unsigned configured = core->cfg->limits.connections;

	for (size_t i = 0; i < core->n_listeners; i++) {
		const struct protocol *p = core->listeners[i]->svc.protocol;
		unsigned need = p != NULL && p->session_fds > 0 ? p->session_fds : CORE_FDS_PER_CONN;

		if (need > per)
			per = need;
	}
	if (per == 0)
		per = CORE_FDS_PER_CONN;
	fit = core->nofile > reserved ? (core->nofile - reserved) / per : 0;

	if (fit < 1)
		fit = 1;
	core->max_conns = configured < fit ? configured : fit;
	if (core->max_conns < configured)
		log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
			  "msg=\"connection limit lowered to fit the descriptor limit\" nofile=%u connections=%u configured=%u per_connection=%u outbound_fds=%u",
			  core->nofile, core->max_conns, configured, per, core->fds_set_aside);
	else
		log_event(LOG_LEVEL_INFO, "serve", NULL, NULL,
			  "msg=\"descriptor limit\" nofile=%u connections=%u per_connection=%u outbound_fds=%u",
			  core->nofile, core->max_conns, per, core->fds_set_aside);
}

int core_new(const struct config *cfg, struct core **core_r, char **error_r)
{
	struct core *core;
	unsigned cpus = core_cpus();
	unsigned threads = cfg->server.threads > 0 ? cfg->server.threads : cpus;
	unsigned slots;
	char pool[16];

	*error_r = NULL;
	/* Before libuv's thread pool is first used: fsync and password
	 * hashing jobs must not starve each other. */
	snprintf(pool, sizeof(pool), "%u", cpus * 2 > 4 ? cpus * 2 : 4);
	setenv("UV_THREADPOOL_SIZE", pool, 0);
	signal(SIGPIPE, SIG_IGN);

	core = calloc(1, sizeof(*core));
	if (core == NULL)
		abort();
	core->cfg = cfg;
	pthread_mutex_init(&core->ip_lock, NULL);
	pthread_mutex_init(&core->client_lock, NULL);
	core->nofile = core_raise_nofile();
	/* Fitted again by core_run, once the listeners are known. */
	core->max_conns = cfg->limits.connections;
	core->spare_fd = -1;
	core_spare_open(core);
	/* Password hashing may take half the pool at most; the rest stays
	 * free for fsync and store jobs of every other session. The queue of
	 * checks waiting for a slot is bounded too ([auth] hash_queue). */
	slots = core_pool_size() / 2 > 0 ? core_pool_size() / 2 : 1;
	core->auth_limit = job_limit_new(slots, cfg->auth.hash_queue > 0 ? cfg->auth.hash_queue :
					 slots * 16 > 64 ? slots * 16 : 64);
	if (uv_loop_init(&core->uv) != 0)
		abort();
	uv_async_init(&core->uv, &core->stop_async, core_stop_cb);
	core->stop_async.data = core;
	uv_async_init(&core->uv, &core->room_async, core_room_cb);
	core->room_async.data = core;
	uv_timer_init(&core->uv, &core->accept_pause);
	core->accept_pause.data = core;
	core->n_loops = threads;
	core->loops = calloc(threads, sizeof(*core->loops));
	if (core->loops == NULL)
		abort();
	for (unsigned i = 0; i < threads; i++)
		core->loops[i] = loop_new(core);
	*core_r = core;
	return 0;
}

static int core_listen_fail(char **error_r, const char *service, const char *addr, int fd)
{
	if (asprintf(error_r, "%s: cannot listen on %s: %s", service, addr, strerror(errno)) < 0)
		*error_r = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The IPv6 half of "*" or "localhost" on a host without IPv6: go on with
 * IPv4 alone, and say so. */
static int core_listen_skip(const char *service, const char *addr)
{
	log_event(LOG_LEVEL_WARN, "serve", NULL, NULL,
		  "msg=\"IPv6 unavailable, not listening\" service=%s addr=%s", service, addr);
	return 0;
}

/* A bound, listening descriptor as one of the core's listeners (not
 * polled until the core starts accepting). */
static struct listener *core_listener_add(struct core *core, int fd,
					  const struct core_service *svc, const char *text)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		abort();
	l->core = core;
	l->fd = fd;
	l->svc = *svc;
	l->svc.name = strdup(svc->name);
	snprintf(l->text, sizeof(l->text), "%s", text);
	if (l->svc.name == NULL || uv_poll_init(&core->uv, &l->poll, fd) != 0)
		abort();
	l->poll.data = l;
	core->listeners = realloc(core->listeners, (core->n_listeners + 1) * sizeof(*core->listeners));
	if (core->listeners == NULL)
		abort();
	core->listeners[core->n_listeners++] = l;
	return l;
}

static int core_listen_one(struct core *core, const struct core_service *svc,
			   const struct addr_spec *spec, char **error_r)
{
	const char *service = svc->name;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct listener *l;
	int one = 1;
	int fd = socket(spec->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 && spec->optional && errno == EAFNOSUPPORT)
		return core_listen_skip(service, spec->text);
	if (fd < 0)
		return core_listen_fail(error_r, service, spec->text, -1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (spec->sa.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		return core_listen_fail(error_r, service, spec->text, fd);
	if (bind(fd, (const struct sockaddr *)&spec->sa, spec->sa_len) < 0) {
		if (!spec->optional || errno != EADDRNOTAVAIL)
			return core_listen_fail(error_r, service, spec->text, fd);
		close(fd);
		return core_listen_skip(service, spec->text);
	}
	if (listen(fd, 511) < 0 || getsockname(fd, (struct sockaddr *)&bound, &blen) < 0)
		return core_listen_fail(error_r, service, spec->text, fd);

	l = core_listener_add(core, fd, svc, spec->text);
	if (bound.ss_family == AF_INET6)
		l->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		l->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	return 0;
}

int core_listen(struct core *core, const struct core_service *service,
		const struct addr_spec *specs, size_t n_specs, char **error_r)
{
	*error_r = NULL;
	for (size_t i = 0; i < n_specs; i++)
		if (core_listen_one(core, service, &specs[i], error_r) < 0)
			return -1;
	return 0;
}

/* Whether a server answers on the UNIX socket at sun: a socket left by
 * one that died refuses the connection. */
static bool core_unix_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

int core_listen_unix(struct core *core, const struct core_service *service, const char *path,
		     char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct listener *l;
	struct stat st;
	int fd;

	*error_r = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return core_listen_fail(error_r, service->name, path, -1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return core_listen_fail(error_r, service->name, path, -1);
		}
		if (core_unix_live(&sun)) {
			if (asprintf(error_r, "%s: another server listens on %s", service->name,
				     path) < 0)
				*error_r = NULL;
			return -1;
		}
		/* left by a server that died */
		if (unlink(path) < 0 && errno != ENOENT)
			return core_listen_fail(error_r, service->name, path, -1);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0)
		return core_listen_fail(error_r, service->name, path, fd);
	/* Whoever may enter the folder may connect; until the chmod the
	 * umask's mode keeps them out. */
	if (chmod(path, 0666) < 0 || lstat(path, &st) < 0 || listen(fd, 511) < 0) {
		int err = errno;

		unlink(path);
		errno = err;
		return core_listen_fail(error_r, service->name, path, fd);
	}
	l = core_listener_add(core, fd, service, path);
	l->unix_socket = true;
	l->unix_dev = st.st_dev;
	l->unix_ino = st.st_ino;
	return 0;
}

/* Remove the socket file this listener bound, unless it is another's
 * by now. */
static void core_unix_remove(const struct listener *l)
{
	struct stat st;

	if (l->unix_socket && lstat(l->text, &st) == 0 && st.st_dev == l->unix_dev &&
	    st.st_ino == l->unix_ino)
		unlink(l->text);
}

uint16_t core_listener_port(const struct core *core, size_t index)
{
	return index < core->n_listeners ? core->listeners[index]->port : 0;
}

int core_tls_load(struct core *core, char **error_r)
{
	return tls_new(core->cfg, &core->tls, error_r);
}

static void core_log_ready(struct core *core)
{
	char text[1024];
	size_t len = 0;

	text[0] = '\0';
	for (size_t i = 0; i < core->n_listeners && len < sizeof(text); i++) {
		struct listener *l = core->listeners[i];
		char addr[sizeof(l->text)];
		const char *colon = strrchr(l->text, ':');

		/* Show the bound port (port 0 asks for any); a path as it is. */
		if (l->unix_socket)
			snprintf(addr, sizeof(addr), "%s", l->text);
		else
			snprintf(addr, sizeof(addr), "%.*s:%u",
				 (int)(colon != NULL ? (size_t)(colon - l->text) : strlen(l->text)),
				 l->text, l->port);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s=%s",
					i > 0 ? "," : "", l->svc.name, addr);
	}
	log_event(LOG_LEVEL_INFO, "serve", NULL, NULL, "msg=\"ready\" listen=\"%s\" threads=%u",
		  text, core->n_loops);
}

int core_run(struct core *core, bool handle_signals)
{
	int ret = 0;
	unsigned started = 0;

	for (; started < core->n_loops; started++)
		if (loop_thread_start(core->loops[started]) < 0)
			break;
	if (started < core->n_loops) {
		log_error("msg=\"cannot start I/O threads\"");
		atomic_store(&core->stopping, true);
		ret = -1;
	}
	if (handle_signals && !core->handles_closed) {
		core->signals = true;
		uv_signal_init(&core->uv, &core->sig_term);
		uv_signal_init(&core->uv, &core->sig_int);
		uv_signal_init(&core->uv, &core->sig_hup);
		core->sig_term.data = core->sig_int.data = core->sig_hup.data = core;
		uv_signal_start(&core->sig_term, core_signal_cb, SIGTERM);
		uv_signal_start(&core->sig_int, core_signal_cb, SIGINT);
		uv_signal_start(&core->sig_hup, core_signal_cb, SIGHUP);
	}
	if (atomic_load(&core->stopping)) {
		core_stop_cb(&core->stop_async);
	} else {
		core_fit_connections(core);
		for (size_t i = 0; i < core->n_listeners; i++)
			uv_poll_start(&core->listeners[i]->poll, UV_READABLE, core_accept_cb);
		core_log_ready(core);
	}
	uv_run(&core->uv, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < started; i++)
		core_join_bounded(core, core->loops[i]);
	log_event(LOG_LEVEL_INFO, "serve", NULL, NULL, "msg=\"stopped\"");
	return ret;
}

void core_free(struct core **corep)
{
	struct core *core = *corep;

	if (core == NULL)
		return;
	if (!core->handles_closed) {
		core_close_handles(core);
		uv_run(&core->uv, UV_RUN_DEFAULT);
	}
	if (uv_loop_close(&core->uv) != 0)
		log_error("msg=\"main loop still has open handles at exit\"");
	for (unsigned i = 0; i < core->n_loops; i++)
		loop_free(&core->loops[i]);
	free(core->loops);
	for (size_t i = 0; i < core->n_listeners; i++) {
		core_unix_remove(core->listeners[i]);
		free((char *)core->listeners[i]->svc.name);
		free(core->listeners[i]);
	}
	free(core->listeners);
	tls_free(&core->tls);
	for (size_t i = 0; i < CORE_IP_BUCKETS; i++) {
		while (core->ips[i] != NULL) {
			struct core_ip *next = core->ips[i]->next;

			free(core->ips[i]);
			core->ips[i] = next;
		}
	}
	pthread_mutex_destroy(&core->ip_lock);
	pthread_mutex_destroy(&core->client_lock);
	SSL_CTX_free(core->client_ctx);
	job_limit_free(&core->auth_limit);
	if (core->spare_fd >= 0)
		close(core->spare_fd);
	free(core);
	*corep = NULL;
}
