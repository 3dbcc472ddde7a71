/* test-dns - the loop's resolver against a real DNS server: dnsmasq on a
 * loopback port, serving MX (with a null MX), A, AAAA, TXT (one split in
 * two strings) and PTR records from a configuration file the test
 * writes, a CNAME followed, an MX written as an address and that
 * address's A/AAAA answered without a query; NXDOMAIN, no data, REFUSED (a temporary failure), a bad name,
 * the cache (a second lookup sends nothing, and answers after the server
 * is gone), one query for many waiters, cancelling, a server that never
 * answers (a timeout, temporary), one that answers SERVFAIL (temporary,
 * not kept), the stop answering what waits, truncated answers without
 * TCP and answers with another ID (temporary), and one whose small replies
 * hold large answers (compressed names): the cache stays within its
 * memory bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/dns.h"
#include "core/listener.h"
#include "core/loop.h"

/* ---- dnsmasq ---- */

struct dnsmasq {
	char dir[64];
	uint16_t port;
	pid_t pid;
};

/* A loopback port free for both TCP and UDP right now (dnsmasq takes
 * both). */
static uint16_t free_port(void)
{
	for (;;) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
		bool both;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(tcp, (struct sockaddr *)&sin, &len), 0);
		both = bind(udp, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(tcp);
		close(udp);
		if (both)
			return ntohs(sin.sin_port);
	}
}

/* dnsmasq also listens on TCP: connectable means ready. */
static bool tcp_open(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* One try on d->port: false when dnsmasq exited instead of listening
 * (another process took the port's TCP or UDP side meanwhile). */
static bool dnsmasq_try(struct dnsmasq *d, const char *conf)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fprintf(f,
		"port=%u\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n"
		"local-ttl=300\nlocal=/test/\n"
		"mx-host=example.test,mx1.example.test,10\n"
		"mx-host=example.test,mx2.example.test,20\n"
		"mx-host=example.test,mx3.example.test,20\n"
		"host-record=mx1.example.test,192.0.2.1,2001:db8::1\n"
		"txt-record=example.test,\"v=spf1 -all\"\n"
		"txt-record=split.example.test,\"v=DKIM1; k=rsa; \",\"p=ABC\"\n"
		"mx-host=nullmx.test,.,0\n"
		"cname=alias.example.test,mx1.example.test\n"
		"mx-host=numeric.test,192.0.2.7,10\n"
		"ptr-record=1.2.0.192.in-addr.arpa,mx1.example.test\n", d->port);
	fclose(f);
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		char arg[160];

		snprintf(arg, sizeof(arg), "--conf-file=%s", conf);
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground", arg, "--pid-file=",
		      "--log-facility=/dev/null", (char *)NULL);
		_exit(127);
	}
	/* up to 20 s: a loaded machine (the suite runs tests side by side)
	 * can take seconds to start it */
	for (int i = 0; i < 2000; i++) {
		if (tcp_open(d->port))
			return true;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			return false;
		}
		usleep(10 * 1000);
	}
	return tcp_open(d->port);
}

static void dnsmasq_start(struct dnsmasq *d)
{
	char conf[128];
	bool up = false;

	snprintf(d->dir, sizeof(d->dir), "/tmp/tern-test-dns-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(conf, sizeof(conf), "%s/dnsmasq.conf", d->dir);
	/* a port free now may be taken before dnsmasq binds it: another
	 * port then */
	for (int tries = 0; tries < 5 && !up; tries++) {
		d->port = free_port();
		up = dnsmasq_try(d, conf);
	}
	assert_true(up);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void dnsmasq_stop(struct dnsmasq *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	nftw(d->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- a core whose one loop does the lookups ---- */

struct world {
	struct config cfg;
	struct core *core;
	pthread_t thread;
	struct loop *loop;
	char servers[64];
};

static void *run(void *arg)
{
	struct world *w = arg;

	core_run(w->core, false);
	return NULL;
}

static void world_start(struct world *w, uint16_t port, unsigned timeout)
{
	char *error = NULL;

	memset(w, 0, sizeof(*w));
	snprintf(w->servers, sizeof(w->servers), "127.0.0.1:%u", port);
	w->cfg.server.hostname = "localhost";
	w->cfg.server.threads = 1;
	w->cfg.server.shutdown_timeout = 2;
	w->cfg.limits.connections = 100;
	w->cfg.dns.servers = w->servers;
	w->cfg.dns.timeout = timeout;
	assert_int_equal(core_new(&w->cfg, &w->core, &error), 0);
	w->loop = core_loop(w->core, 0);
	assert_int_equal(pthread_create(&w->thread, NULL, run, w), 0);
}

static void world_stop(struct world *w)
{
	core_stop(w->core);
	pthread_join(w->thread, NULL);
	core_free(&w->core);
}

/* One lookup's result, copied on the loop; the test thread waits. */
struct result {
	struct world *w;
	enum dns_type type;
	const char *name;
	bool cancel;                 /* cancel it right after starting it */
	atomic_bool done;
	enum dns_status status;
	uint32_t ttl;
	size_t count;
	char text[512];              /* the records, joined by '|' */
	bool called;
};

static void result_done(void *arg, const struct dns_answer *a)
{
	struct result *r = arg;
	size_t n = 0;

	assert_true(loop_current() == r->w->loop);
	r->called = true;
	r->status = a->status;
	r->ttl = a->ttl;
	r->count = a->count;
	for (size_t i = 0; i < a->count; i++) {
		char one[200] = "";

		switch (a->type) {
		case DNS_TYPE_MX:
			snprintf(one, sizeof(one), "%u %s", a->u.mx[i].preference, a->u.mx[i].host);
			break;
		case DNS_TYPE_A:
		case DNS_TYPE_AAAA:
			inet_ntop(a->u.addr[i].family, &a->u.addr[i].u, one, sizeof(one));
			break;
		case DNS_TYPE_TXT:
			snprintf(one, sizeof(one), "%s", a->u.txt[i].text);
			break;
		case DNS_TYPE_PTR:
			snprintf(one, sizeof(one), "%s", a->u.ptr[i]);
			break;
		default:
			break;
		}
		n += (size_t)snprintf(r->text + n, sizeof(r->text) - n, "%s%s", i > 0 ? "|" : "",
				      one);
		if (n >= sizeof(r->text))
			break;
	}
	atomic_store(&r->done, true);
}

static void start_on_loop(void *arg)
{
	struct result *r = arg;
	struct dns_query *q = dns_lookup(r->w->loop, r->type, r->name, result_done, r);

	assert_false(r->called);   /* never from within the call */
	if (r->cancel) {
		dns_cancel(&q);
		assert_null(q);
		atomic_store(&r->done, true);
	}
}

static void start(struct world *w, struct result *r, enum dns_type type, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->type = type;
	r->name = name;
	loop_post(w->loop, start_on_loop, r);
}

static void wait_for(struct result *r)
{
	for (int i = 0; i < 1500 && !atomic_load(&r->done); i++)
		usleep(10 * 1000);
	assert_true(atomic_load(&r->done));
}

static void lookup(struct world *w, struct result *r, enum dns_type type, const char *name)
{
	start(w, r, type, name);
	wait_for(r);
}

struct counters {
	struct world *w;
	atomic_bool done;
	unsigned long hits, sent;
};

static void count_on_loop(void *arg)
{
	struct counters *c = arg;

	dns_counters(c->w->loop, &c->hits, &c->sent);
	atomic_store(&c->done, true);
}

static void counters(struct world *w, unsigned long *hits, unsigned long *sent)
{
	struct counters c = { .w = w };

	loop_post(w->loop, count_on_loop, &c);
	for (int i = 0; i < 500 && !atomic_load(&c.done); i++)
		usleep(10 * 1000);
	assert_true(atomic_load(&c.done));
	*hits = c.hits;
	*sent = c.sent;
}

/* ---- the tests ---- */

static void test_records(void **state)
{
	struct dnsmasq d;
	struct world w;
	struct result r;

	(void)state;
	dnsmasq_start(&d);
	world_start(&w, d.port, 2);

	lookup(&w, &r, DNS_TYPE_MX, "Example.TEST.");
	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.count, 3);
	assert_true(strstr(r.text, "10 mx1.example.test") != NULL);
	assert_true(strstr(r.text, "20 mx2.example.test") != NULL);
	assert_true(strstr(r.text, "20 mx3.example.test") != NULL);
	assert_true(r.ttl > 0 && r.ttl <= 300);

	lookup(&w, &r, DNS_TYPE_A, "mx1.example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "192.0.2.1");
	lookup(&w, &r, DNS_TYPE_AAAA, "mx1.example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "2001:db8::1");

	lookup(&w, &r, DNS_TYPE_TXT, "example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "v=spf1 -all");
	/* the strings of one record are joined (RFC 7208 3.3) */
	lookup(&w, &r, DNS_TYPE_TXT, "split.example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.count, 1);
	assert_string_equal(r.text, "v=DKIM1; k=rsa; p=ABC");

	lookup(&w, &r, DNS_TYPE_PTR, "1.2.0.192.in-addr.arpa");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "mx1.example.test");

	/* RFC 7505: "0 ." */
	lookup(&w, &r, DNS_TYPE_MX, "nullmx.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "0 ");

	/* an alias: the A/AAAA answer follows the CNAME (an MX naming it is
	 * used so, as Postfix) */
	lookup(&w, &r, DNS_TYPE_A, "alias.example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "192.0.2.1");
	lookup(&w, &r, DNS_TYPE_AAAA, "alias.example.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "2001:db8::1");
	/* an MX written as an address; that address's lookups send nothing */
	lookup(&w, &r, DNS_TYPE_MX, "numeric.test");
	assert_int_equal(r.status, DNS_OK);
	assert_string_equal(r.text, "10 192.0.2.7");
	{
		unsigned long hits, sent, hits2, sent2;

		counters(&w, &hits, &sent);
		lookup(&w, &r, DNS_TYPE_A, "192.0.2.7.");
		assert_int_equal(r.status, DNS_OK);
		assert_string_equal(r.text, "192.0.2.7");
		lookup(&w, &r, DNS_TYPE_AAAA, "192.0.2.7");
		assert_int_equal(r.status, DNS_NODATA);
		lookup(&w, &r, DNS_TYPE_AAAA, "2001:DB8::7");
		assert_int_equal(r.status, DNS_OK);
		assert_string_equal(r.text, "2001:db8::7");
		counters(&w, &hits2, &sent2);
		assert_int_equal(sent2, sent);
		assert_int_equal(hits2, hits);
	}

	lookup(&w, &r, DNS_TYPE_A, "nope.test");
	assert_int_equal(r.status, DNS_NXDOMAIN);
	assert_int_equal(r.count, 0);
	lookup(&w, &r, DNS_TYPE_MX, "mx1.example.test");
	assert_int_equal(r.status, DNS_NODATA);
	/* not ours, and no upstream: dnsmasq refuses, which is temporary */
	lookup(&w, &r, DNS_TYPE_A, "www.example.org");
	assert_int_equal(r.status, DNS_TEMPFAIL);
	lookup(&w, &r, DNS_TYPE_A, "a..b.test");
	assert_int_equal(r.status, DNS_BADNAME);
	lookup(&w, &r, DNS_TYPE_A, "");
	assert_int_equal(r.status, DNS_BADNAME);

	world_stop(&w);
	dnsmasq_stop(&d);
}

static void test_cache(void **state)
{
	struct dnsmasq d;
	struct world w;
	struct result r, r2, r3;
	unsigned long hits, sent, hits2, sent2;

	(void)state;
	dnsmasq_start(&d);
	world_start(&w, d.port, 1);

	lookup(&w, &r, DNS_TYPE_MX, "example.test");
	assert_int_equal(r.status, DNS_OK);
	counters(&w, &hits, &sent);
	lookup(&w, &r, DNS_TYPE_MX, "EXAMPLE.test");
	assert_int_equal(r.status, DNS_OK);
	assert_int_equal(r.count, 3);
	counters(&w, &hits2, &sent2);
	assert_int_equal(hits2, hits + 1);
	assert_int_equal(sent2, sent);
	/* negative answers are kept too */
	lookup(&w, &r, DNS_TYPE_A, "nope.test");
	lookup(&w, &r, DNS_TYPE_A, "nope.test");
	assert_int_equal(r.status, DNS_NXDOMAIN);
	counters(&w, &hits, &sent);
	assert_int_equal(hits, hits2 + 1);

	/* three waiters for one name: one query; the cancelled one is never called */
	start(&w, &r, DNS_TYPE_A, "mx1.example.test");
	start(&w, &r2, DNS_TYPE_A, "mx1.example.test");
	memset(&r3, 0, sizeof(r3));
	r3.w = &w;
	r3.type = DNS_TYPE_A;
	r3.name = "mx1.example.test";
	r3.cancel = true;
	loop_post(w.loop, start_on_loop, &r3);
	wait_for(&r);
	wait_for(&r2);
	wait_for(&r3);
	assert_string_equal(r.text, "192.0.2.1");
	assert_string_equal(r2.text, "192.0.2.1");
	assert_false(r3.called);
	counters(&w, &hits2, &sent2);
	assert_int_equal(sent2, sent + 1);

	/* the server is gone: the cache still answers, a new name fails */
	dnsmasq_stop(&d);
	lookup(&w, &r, DNS_TYPE_MX, "example.test");
	assert_int_equal(r.status, DNS_OK);
	lookup(&w, &r, DNS_TYPE_TXT, "example.test");
	assert_int_equal(r.status, DNS_TEMPFAIL);
	/* and a temporary failure is not kept */
	counters(&w, &hits, &sent);
	lookup(&w, &r, DNS_TYPE_TXT, "example.test");
	assert_int_equal(r.status, DNS_TEMPFAIL);
	counters(&w, &hits2, &sent2);
	assert_int_equal(sent2, sent + 1);
	world_stop(&w);
}

/* A server that takes the query and never answers. */
static void test_timeout_and_stop(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct world w;
	struct result r;
	double t0;
	struct timespec ts;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	world_start(&w, ntohs(sin.sin_port), 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	lookup(&w, &r, DNS_TYPE_MX, "slow.test");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	assert_int_equal(r.status, DNS_TEMPFAIL);
	/* two tries: 1 s, then 2 s */
	assert_true((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0 >= 2.5);

	/* a query waiting when the server stops is answered at once */
	start(&w, &r, DNS_TYPE_MX, "slow2.test");
	usleep(100 * 1000);
	assert_false(atomic_load(&r.done));
	core_stop(w.core);
	wait_for(&r);
	assert_int_equal(r.status, DNS_TEMPFAIL);
	pthread_join(w.thread, NULL);
	core_free(&w.core);
	close(fd);
}

/* A server that answers every query SERVFAIL (RFC 1035 4.1.1 RCODE 2):
 * the query's header and question sent back with QR and the code set;
 * or, hostile, an answer marked truncated (TC) with no TCP to ask again
 * on, or one with another ID. */
enum servfail_mode { SERVFAIL_RCODE, SERVFAIL_TRUNCATED, SERVFAIL_WRONG_ID };

struct servfail {
	int fd;
	pthread_t thread;
	atomic_int answered;
	enum servfail_mode mode;
};

static void *servfail_run(void *arg)
{
	struct servfail *sf = arg;
	unsigned char buf[1500];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(sf->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len)) > 0) {
		if (n < 12)
			continue;
		buf[2] |= 0x80;                          /* QR */
		buf[3] = (unsigned char)((buf[3] & 0xf0) | 2);   /* RCODE SERVFAIL */
		if (sf->mode == SERVFAIL_TRUNCATED) {
			buf[2] |= 0x02;                  /* TC */
			buf[3] &= 0xf0;                  /* NOERROR */
		} else if (sf->mode == SERVFAIL_WRONG_ID) {
			buf[0] ^= 0x5a;
		}
		memset(buf + 6, 0, 6);                   /* no answer, authority, additional */
		sendto(sf->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
		atomic_fetch_add(&sf->answered, 1);
		len = sizeof(from);
	}
	return NULL;
}

static void test_servfail(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct servfail sf = { .fd = socket(AF_INET, SOCK_DGRAM, 0) };
	struct world w;
	struct result r;
	unsigned long hits, sent, hits2, sent2;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sf.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(sf.fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pthread_create(&sf.thread, NULL, servfail_run, &sf), 0);
	world_start(&w, ntohs(sin.sin_port), 2);
	lookup(&w, &r, DNS_TYPE_MX, "broken.test");
	assert_int_equal(r.status, DNS_TEMPFAIL);
	assert_true(atomic_load(&sf.answered) >= 1);
	/* not kept: asked again */
	counters(&w, &hits, &sent);
	lookup(&w, &r, DNS_TYPE_MX, "broken.test");
	assert_int_equal(r.status, DNS_TEMPFAIL);
	counters(&w, &hits2, &sent2);
	assert_int_equal(sent2, sent + 1);
	assert_int_equal(hits2, hits);
	world_stop(&w);
	shutdown(sf.fd, SHUT_RDWR);
	close(sf.fd);
	pthread_join(sf.thread, NULL);
}

/* Truncated answers with no TCP behind them, answers with another ID:
 * a temporary failure within the tries' timeouts, never a hang. */
static void test_hostile_servers(void **state)
{
	(void)state;
	for (int mode = SERVFAIL_TRUNCATED; mode <= SERVFAIL_WRONG_ID; mode++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		struct servfail sf = { .fd = socket(AF_INET, SOCK_DGRAM, 0),
				       .mode = (enum servfail_mode)mode };
		struct world w;
		struct result r;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(sf.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(sf.fd, (struct sockaddr *)&sin, &len), 0);
		assert_int_equal(pthread_create(&sf.thread, NULL, servfail_run, &sf), 0);
		world_start(&w, ntohs(sin.sin_port), 1);
		lookup(&w, &r, DNS_TYPE_TXT, "hostile.test");
		assert_int_equal(r.status, DNS_TEMPFAIL);
		assert_true(atomic_load(&sf.answered) >= 1);
		world_stop(&w);
		shutdown(sf.fd, SHUT_RDWR);
		close(sf.fd);
		pthread_join(sf.thread, NULL);
	}
}

/* A server whose every MX answer is 50 exchangers of 200-octet names,
 * each name but the first a label and a compression pointer (RFC 1035
 * 4.1.4): about 1,200 octets on the wire, 10 KB once parsed. */
static void *inflate_run(void *arg)
{
	struct servfail *sf = arg;
	unsigned char q[1500], out[1232];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(sf->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &len)) > 0) {
		size_t qend = 12, o, longname;

		while (qend < (size_t)n && q[qend] != 0)
			qend += (size_t)q[qend] + 1;
		qend += 5;   /* the root label, QTYPE, QCLASS */
		if (n < 12 || qend > (size_t)n)
			continue;
		memcpy(out, q, qend);
		out[2] = 0x81;                                  /* QR, RD */
		out[3] = 0x80;                                  /* RA, NOERROR */
		memset(out + 6, 0, 6);
		out[7] = 50;                                    /* ANCOUNT */
		o = qend;
		for (unsigned i = 0; i < 50; i++) {
			static const unsigned char rr[] = { 0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10 };
			size_t rdlen_at;

			memcpy(out + o, rr, sizeof(rr));
			o += sizeof(rr);
			rdlen_at = o;
			o += 2;
			out[o++] = 0;
			out[o++] = (unsigned char)i;            /* preference */
			if (i == 0) {
				longname = o;
				for (int l = 0; l < 4; l++) {
					out[o++] = 49;
					memset(out + o, 'x', 49);
					o += 49;
				}
				out[o++] = 0;
			} else {
				out[o++] = 1;
				out[o++] = (unsigned char)('a' + i % 26);
				out[o++] = (unsigned char)(0xc0 | (longname >> 8));
				out[o++] = (unsigned char)(longname & 0xff);
			}
			out[rdlen_at] = (unsigned char)((o - rdlen_at - 2) >> 8);
			out[rdlen_at + 1] = (unsigned char)((o - rdlen_at - 2) & 0xff);
		}
		sendto(sf->fd, out, o, 0, (struct sockaddr *)&from, len);
		atomic_fetch_add(&sf->answered, 1);
		len = sizeof(from);
	}
	return NULL;
}

#define INFLATE_NAMES 600

struct inflate {
	struct world *w;
	char names[INFLATE_NAMES][32];
	int started;                 /* at most 50 at a time: the server's socket holds so many */
	atomic_int done;
	size_t biggest;              /* the largest answer, parsed */
	size_t entries, bytes;
	int bad;                     /* answers not of 50 exchangers */
};

static void inflate_done(void *arg, const struct dns_answer *a)
{
	struct inflate *f = arg;

	if (a->status != DNS_OK || a->count != 50)
		f->bad++;
	if (dns_answer_size(a) > f->biggest)
		f->biggest = dns_answer_size(a);
	if (f->started < INFLATE_NAMES)
		dns_lookup(f->w->loop, DNS_TYPE_MX, f->names[f->started++], inflate_done, f);
	atomic_fetch_add(&f->done, 1);
}

static void inflate_start(void *arg)
{
	struct inflate *f = arg;

	while (f->started < 50)
		dns_lookup(f->w->loop, DNS_TYPE_MX, f->names[f->started++], inflate_done, f);
}

static void inflate_usage(void *arg)
{
	struct inflate *f = arg;

	dns_cache_usage(f->w->loop, &f->entries, &f->bytes);
	atomic_fetch_add(&f->done, 1);
}

static void test_cache_memory(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct servfail sf = { .fd = socket(AF_INET, SOCK_DGRAM, 0) };
	struct world w;
	static struct inflate f;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sf.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(sf.fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pthread_create(&sf.thread, NULL, inflate_run, &sf), 0);
	world_start(&w, ntohs(sin.sin_port), 2);
	memset(&f, 0, sizeof(f));
	f.w = &w;
	for (int i = 0; i < INFLATE_NAMES; i++)
		snprintf(f.names[i], sizeof(f.names[i]), "n%d.inflate.test", i);
	loop_post(w.loop, inflate_start, &f);
	for (int i = 0; i < 3000 && atomic_load(&f.done) < INFLATE_NAMES; i++)
		usleep(10 * 1000);
	assert_int_equal(atomic_load(&f.done), INFLATE_NAMES);
	loop_post(w.loop, inflate_usage, &f);
	for (int i = 0; i < 500 && atomic_load(&f.done) == INFLATE_NAMES; i++)
		usleep(10 * 1000);
	assert_int_equal(f.bad, 0);
	/* 600 answers of 10 KB would be 6 MB: the oldest went */
	assert_true(f.biggest > 10000);
	assert_true(f.entries < INFLATE_NAMES);
	assert_true(f.bytes <= 4u << 20);
	assert_true(f.bytes > (4u << 20) - 2 * f.biggest);
	world_stop(&w);
	shutdown(sf.fd, SHUT_RDWR);
	close(sf.fd);
	pthread_join(sf.thread, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_timeout_and_stop),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_hostile_servers),
		cmocka_unit_test(test_cache_memory),
	};

	if (access("/usr/sbin/dnsmasq", X_OK) != 0) {
		fprintf(stderr, "dnsmasq is missing (scripts/deps.sh test installs it)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
