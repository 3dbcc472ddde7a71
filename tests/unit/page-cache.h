/* page-cache - what the file-sending tests share: making a file "cold"
 * (none of its pages in the page cache) and checking that it is, so that
 * a test of the read-in-a-job path never depends on the kernel having
 * dropped the pages when asked once. */
#ifndef TERN_TESTS_PAGE_CACHE_H
#define TERN_TESTS_PAGE_CACHE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many of fd's pages the page cache holds (mincore of an untouched
 * mapping); -1 on error. */
static inline long page_cache_resident(int fd)
{
	long page = sysconf(_SC_PAGESIZE), resident = 0;
	struct stat st;
	unsigned char *vec;
	size_t pages;
	void *map;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	vec = malloc(pages);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (vec == NULL || map == MAP_FAILED) {
		free(vec);
		if (map != MAP_FAILED)
			munmap(map, (size_t)st.st_size);
		return -1;
	}
	if (mincore(map, (size_t)st.st_size, vec) < 0)
		resident = -1;
	for (size_t i = 0; resident >= 0 && i < pages; i++)
		resident += vec[i] & 1;
	munmap(map, (size_t)st.st_size);
	free(vec);
	return resident;
}

/* Write back and drop the file's pages until none is left (a page that
 * is dirty or under write-back when asked stays; a busy machine can need
 * a second try). False if some remain after many tries. */
static inline bool page_cache_drop(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool cold = false;

	if (fd < 0)
		return false;
	for (int tries = 0; tries < 100 && !cold; tries++) {
		if (tries > 0)
			usleep(10 * 1000);
		if (fdatasync(fd) < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
			break;
		cold = page_cache_resident(fd) == 0;
	}
	close(fd);
	return cold;
}

#endif
