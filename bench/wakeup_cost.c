/* wakeup_cost - what a thread's sleep and wake-up costs on this machine,
 * the price tern pays for each hand-off between its threads and each wait
 * for the disk. Prints three lines, each one figure:
 *   - two threads passing a token through two eventfds, pinned to two
 *     different CPUs: microseconds per round trip, and the CPU time the
 *     two spend on it;
 *   - the same with both threads pinned to one CPU;
 *   - a thread that does a fixed piece of work, then sleeps 500 µs: the
 *     CPU time charged per sleep beyond the work itself.
 * On a virtual machine whose idle vCPUs halt, the first and the last are
 * far above the second. Run by bench/smtp_bench.py (make bench):
 *   wakeup-cost [ROUND_TRIPS] */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct pingpong {
	int to_peer, to_main;
	long rounds;
	int cpu;
};

static double wake_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (both threads), in seconds. */
static double wake_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void wake_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
		fprintf(stderr, "wakeup-cost: cannot pin a thread to CPU %d\n", cpu);
		exit(1);
	}
}

static void wake_pass(int fd_out, int fd_in)
{
	uint64_t v = 1;

	if (write(fd_out, &v, sizeof(v)) != (ssize_t)sizeof(v) ||
	    read(fd_in, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		perror("wakeup-cost: eventfd");
		exit(1);
	}
}

static void *wake_peer(void *arg)
{
	struct pingpong *p = arg;
	uint64_t v;

	wake_pin(p->cpu);
	for (long i = 0; i < p->rounds; i++) {
		if (read(p->to_peer, &v, sizeof(v)) != (ssize_t)sizeof(v) ||
		    write(p->to_main, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
			perror("wakeup-cost: eventfd");
			exit(1);
		}
	}
	return NULL;
}

/* Round trips between this thread on CPU 0 and a peer on `peer_cpu`. */
static void wake_pingpong(const char *what, int peer_cpu, long rounds)
{
	struct pingpong p = { .rounds = rounds, .cpu = peer_cpu };
	double t0, c0, t1, c1;
	pthread_t peer;

	p.to_peer = eventfd(0, EFD_CLOEXEC);
	p.to_main = eventfd(0, EFD_CLOEXEC);
	if (p.to_peer < 0 || p.to_main < 0) {
		perror("wakeup-cost: eventfd");
		exit(1);
	}
	wake_pin(0);
	if (pthread_create(&peer, NULL, wake_peer, &p) != 0) {
		fprintf(stderr, "wakeup-cost: cannot start a thread\n");
		exit(1);
	}
	usleep(10000);
	t0 = wake_now();
	c0 = wake_cpu();
	for (long i = 0; i < rounds; i++)
		wake_pass(p.to_peer, p.to_main);
	t1 = wake_now();
	c1 = wake_cpu();
	pthread_join(peer, NULL);
	close(p.to_peer);
	close(p.to_main);
	printf("wake-up, %s: %.1f us per round trip, %.1f us of CPU\n", what,
	       (t1 - t0) / (double)rounds * 1e6, (c1 - c0) / (double)rounds * 1e6);
}

static volatile unsigned long wake_sink;

static void wake_work(void)
{
	for (unsigned long i = 0; i < 20000; i++)
		wake_sink += i * i;
}

/* CPU charged per 500 µs sleep, beyond the work between sleeps. */
static void wake_sleep_cost(long rounds)
{
	double c0, alone, slept;

	c0 = wake_cpu();
	for (long i = 0; i < rounds; i++)
		wake_work();
	alone = wake_cpu() - c0;
	c0 = wake_cpu();
	for (long i = 0; i < rounds; i++) {
		wake_work();
		usleep(500);
	}
	slept = wake_cpu() - c0;
	printf("sleep and wake-up: %.1f us of CPU each (work alone %.1f us)\n",
	       (slept - alone) / (double)rounds * 1e6, alone / (double)rounds * 1e6);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20000;

	if (rounds <= 0) {
		fprintf(stderr, "usage: wakeup-cost [ROUND_TRIPS]\n");
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		wake_pingpong("two CPUs", 1, rounds);
	wake_pingpong("one CPU", 0, rounds);
	wake_sleep_cost(rounds / 10 > 0 ? rounds / 10 : 1);
	return 0;
}
