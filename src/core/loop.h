/* loop - the I/O threads, each running its own uv_loop, the one way to
 * hand work to another loop, and work on a loop that is not tied to a
 * connection (the queue manager's retries and expiry: timers, jobs on the
 * thread pool, and being told that the server stops).
 *
 * State shared between loops is small and locked; the way for one thread to
 * make something happen on another loop is loop_post(). Everything below
 * loop_post runs on the loop's own thread only (loop_current() == loop). */
#ifndef TERN_CORE_LOOP_H
#define TERN_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

/* The loop running on the calling thread, or NULL off the I/O threads. */
struct loop *loop_current(void);

/* Run fn(arg) on `loop`'s thread soon. Thread-safe; never blocks; calls are
 * run in the order posted. Not after the loop has ended (see loop_on_stop). */
void loop_post(struct loop *loop, void (*fn)(void *arg), void *arg);

/* ---- work not tied to a connection (loop-work.c) ---- */

/* The loop's clock: milliseconds, monotonic, as of this loop iteration. */
uint64_t loop_now_ms(struct loop *loop);

/* A one-shot timer: cb(arg) runs on the loop `ms` milliseconds after
 * loop_timer_start, unless stopped or started again first (which replaces
 * the old deadline). Once the server stops (loop_on_stop), pending timers
 * no longer fire and starting one does nothing; a timer its owner has not
 * freed when the loop ends is closed by the loop, and loop_timer_free then
 * only frees it. */
struct loop_timer;
struct loop_timer *loop_timer_new(struct loop *loop, void (*cb)(void *arg), void *arg);
void loop_timer_start(struct loop_timer *timer, uint64_t ms);
void loop_timer_stop(struct loop_timer *timer);
bool loop_timer_pending(const struct loop_timer *timer);
/* Stop and free; *timer becomes NULL. NULL is fine. */
void loop_timer_free(struct loop_timer **timer);

/* Run work(arg) on the libuv thread pool, then done(arg) on this loop,
 * never from within this call. The loop does not end before done has run,
 * also when the server stops meanwhile (a stop waits for running jobs for
 * a bounded time: see core_run). */
void loop_job(struct loop *loop, void (*work)(void *arg), void (*done)(void *arg), void *arg);

/* Call fn(arg) on the loop once, when the server begins to stop (before
 * the loop's connections are ended), so that the owner of timers, jobs
 * and outbound connections stops starting new ones and lets go of them.
 * Returns the hook, for loop_stop_cancel when the owner goes first, or
 * NULL when the loop is already stopping (fn is not called then). */
struct loop_stop_hook;
struct loop_stop_hook *loop_on_stop(struct loop *loop, void (*fn)(void *arg), void *arg);
/* Forget a hook that has not run; *hook becomes NULL. NULL is fine; a
 * hook that has run is freed by the loop and must not be cancelled. */
void loop_stop_cancel(struct loop_stop_hook **hook);

#endif
