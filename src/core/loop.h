/* loop - the I/O threads, each running its own uv_loop, and the one way to
 * hand work to another loop.
 *
 * State shared between loops is small and locked; the way for one thread to
 * make something happen on another loop is loop_post(). */
#ifndef TERN_CORE_LOOP_H
#define TERN_CORE_LOOP_H

struct loop;

/* The loop running on the calling thread, or NULL off the I/O threads. */
struct loop *loop_current(void);

/* Run fn(arg) on `loop`'s thread soon. Thread-safe; never blocks; calls are
 * run in the order posted. */
void loop_post(struct loop *loop, void (*fn)(void *arg), void *arg);

#endif
