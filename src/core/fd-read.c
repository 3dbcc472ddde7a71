/* fd-read - reading a known number of bytes from a descriptor (fd-read.h). */
#include <errno.h>
#include <unistd.h>

#include "core/fd-read.h"

size_t fd_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}
