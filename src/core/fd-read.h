/* fd-read - reading a known number of bytes from a descriptor, for the
 * small files read whole (queue envelopes, DKIM keys). */
#ifndef TERN_CORE_FD_READ_H
#define TERN_CORE_FD_READ_H

#include <stddef.h>

/* Read up to len bytes into buf, retrying interrupted and short reads;
 * returns how many arrived before the end of the file or an error
 * (errno tells which when it is fewer than len). Blocking. */
size_t fd_read_full(int fd, void *buf, size_t len);

#endif
