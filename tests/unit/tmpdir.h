/* tmpdir - what the store and core tests share about folders: a fresh
 * temporary folder per test, removed with all it holds (never following
 * a symbolic link), and counting a folder's entries. */
#ifndef TERN_TESTS_TMPDIR_H
#define TERN_TESTS_TMPDIR_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* /tmp/tern-test-NAME-XXXXXX, made 0700; malloc'd. */
static inline char *tmpdir_new(const char *name)
{
	char *dir;

	if (asprintf(&dir, "/tmp/tern-test-%s-XXXXXX", name) < 0 || mkdtemp(dir) == NULL)
		abort();
	return dir;
}

static inline int tmpdir_remove_entry(const char *path, const struct stat *st, int flag,
				      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove the folder and everything in it, and free the name. */
static inline void tmpdir_free(char *dir)
{
	nftw(dir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Entries of a folder whose names start with prefix (NULL: all), without
 * "." and ".."; aborts when the folder cannot be listed. */
static inline size_t tmpdir_count(const char *path, const char *prefix)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    (prefix == NULL || strncmp(de->d_name, prefix, strlen(prefix)) == 0))
			n++;
	return closedir(d) == 0 ? n : 0;
}

#endif
