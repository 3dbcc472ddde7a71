/* dkim-keys - DATA/dkim: the key files of each domain, keygen's new
 * file, the listing, and the server's cache; see dkim-keys.h. */
#include "mailauth/dkim-keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/durable.h"
#include "core/fd-read.h"
#include "dir/dir.h"

/* A PEM key is a few kilobytes (RSA 8192: about 6). */
#define DKIM_KEY_FILE_MAX (64 * 1024)
/* Domains whose keys the server keeps; past it the cache starts over. */
#define DKIM_CACHE_MAX 4096

bool dkim_selector_valid(const char *selector)
{
	char copy[DKIM_SELECTOR_MAX + 1];
	size_t len = strlen(selector);

	if (len == 0 || len > DKIM_SELECTOR_MAX)
		return false;
	memcpy(copy, selector, len + 1);
	return dir_domain_normalize(copy) && strcmp(copy, selector) == 0;
}

/* ---- one domain's folder ---- */

/* One key file of a domain, as read. */
struct dkim_file {
	char selector[DKIM_SELECTOR_MAX + 1];
	struct dkim_key *key;      /* NULL: error says why */
	const char *error;
	struct timespec mtime;
	ino_t ino;
	off_t size;
	bool signing;
};

static void dkim_files_free(struct dkim_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dkim_key_unref(&files[i].key);
	free(files);
}

/* Read the key file `name` of the folder dfd into f. */
static void dkim_file_read(int dfd, const char *name, struct dkim_file *f)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *data = NULL;
	size_t got = 0;

	f->error = "cannot be read";
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DKIM_KEY_FILE_MAX) {
		f->error = "is not a key file (a regular file of at most 64 KiB)";
		close(fd);
		return;
	}
	f->mtime = st.st_mtim;
	f->ino = st.st_ino;
	f->size = st.st_size;
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		abort();
	got = fd_read_full(fd, data, (size_t)st.st_size);
	close(fd);
	if (got == (size_t)st.st_size)
		f->key = dkim_key_parse(data, got, &f->error);
	OPENSSL_cleanse(data, (size_t)st.st_size);
	free(data);
	if (f->key != NULL)
		f->error = NULL;
}

static int dkim_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dkim_file *)a)->selector,
		      ((const struct dkim_file *)b)->selector);
}

/* Of each algorithm, the newest usable key signs (the later selector
 * when two are as new). */
static void dkim_files_choose(struct dkim_file *files, size_t n)
{
	for (unsigned alg = 0; alg < DKIM_ALGORITHM__COUNT; alg++) {
		struct dkim_file *best = NULL;

		for (size_t i = 0; i < n; i++) {
			struct dkim_file *f = &files[i];

			if (f->key == NULL || dkim_key_algorithm(f->key) != alg)
				continue;
			if (best == NULL || f->mtime.tv_sec > best->mtime.tv_sec ||
			    (f->mtime.tv_sec == best->mtime.tv_sec &&
			     f->mtime.tv_nsec >= best->mtime.tv_nsec))
				best = f;
		}
		if (best != NULL)
			best->signing = true;
	}
}

/* The key files of DATA/dkim/DOMAIN (path), ordered by selector, and
 * the folder's own stat. Returns 0 (*n_r 0 and dir_r->st_ino 0 when the
 * folder does not exist), or -1 with errno. */
static int dkim_domain_scan(const char *path, struct dkim_file **files_r, size_t *n_r,
			    struct stat *dir_r)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), lfd;
	struct dkim_file *files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*files_r = NULL;
	*n_r = 0;
	memset(dir_r, 0, sizeof(*dir_r));
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(dfd, dir_r) < 0 || (lfd = dup(dfd)) < 0 || (d = fdopendir(lfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), slen = strlen(DKIM_KEY_SUFFIX);
		char selector[DKIM_SELECTOR_MAX + 1];

		/* SELECTOR.key; keygen's SELECTOR.key.tmp and the rest are
		 * not keys */
		if (len <= slen || len - slen > DKIM_SELECTOR_MAX ||
		    strcmp(de->d_name + len - slen, DKIM_KEY_SUFFIX) != 0)
			continue;
		memcpy(selector, de->d_name, len - slen);
		selector[len - slen] = '\0';
		if (!dkim_selector_valid(selector))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			files = realloc(files, cap * sizeof(*files));
			if (files == NULL)
				abort();
		}
		memset(&files[n], 0, sizeof(files[n]));
		memcpy(files[n].selector, selector, len - slen + 1);
		dkim_file_read(dfd, de->d_name, &files[n]);
		n++;
	}
	closedir(d);
	close(dfd);
	if (n > 1)
		qsort(files, n, sizeof(*files), dkim_file_cmp);
	dkim_files_choose(files, n);
	*files_r = files;
	*n_r = n;
	return 0;
}

/* ---- keygen ---- */

int dkim_keys_create(const char *data_dir, const char *domain, const char *selector,
		     const struct dkim_key *key, char **error_r)
{
	char path[4200], name[DKIM_SELECTOR_MAX + sizeof(DKIM_KEY_SUFFIX)];
	const char *step = "create";
	struct buf pem;
	struct stat st;
	int dfd, ret;

	snprintf(path, sizeof(path), "%s/%s", data_dir, DKIM_KEYS_DIR);
	if (durable_mkdir(AT_FDCWD, path, 0700) < 0) {
		if (asprintf(error_r, "cannot create %s: %s", path, strerror(errno)) < 0)
			abort();
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", data_dir, DKIM_KEYS_DIR, domain);
	snprintf(name, sizeof(name), "%s%s", selector, DKIM_KEY_SUFFIX);
	if (durable_mkdir(AT_FDCWD, path, 0700) < 0 ||
	    (dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (asprintf(error_r, "cannot create %s: %s", path, strerror(errno)) < 0)
			abort();
		return -1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dfd);
		return 1;
	}
	if (dkim_key_pem(key, &pem) < 0) {
		close(dfd);
		if (asprintf(error_r, "cannot write the key in PEM") < 0)
			abort();
		return -1;
	}
	ret = durable_write(dfd, name, pem.data, pem.len, &step);
	if (ret < 0 && asprintf(error_r, "cannot %s %s/%s: %s", step, path, name,
				strerror(errno)) < 0)
		abort();
	dkim_key_pem_release(&pem);
	close(dfd);
	return ret < 0 ? -1 : 0;
}

/* ---- the listing ---- */

static int dkim_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dkim_keys_list(const char *data_dir,
		   void (*cb)(void *ctx, const struct dkim_key_entry *entry), void *ctx,
		   char **error_r)
{
	char path[4200];
	char **domains = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", data_dir, DKIM_KEYS_DIR);
	d = opendir(path);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		if (asprintf(error_r, "cannot read %s: %s", path, strerror(errno)) < 0)
			abort();
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char copy[256];

		if (strlen(de->d_name) >= sizeof(copy))
			continue;
		strcpy(copy, de->d_name);
		if (!dir_domain_normalize(copy) || strcmp(copy, de->d_name) != 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			domains = realloc(domains, cap * sizeof(*domains));
			if (domains == NULL)
				abort();
		}
		domains[n] = strdup(de->d_name);
		if (domains[n++] == NULL)
			abort();
	}
	closedir(d);
	if (n > 1)
		qsort(domains, n, sizeof(*domains), dkim_name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct dkim_file *files;
		struct stat st;
		size_t nf;

		snprintf(path, sizeof(path), "%s/%s/%s", data_dir, DKIM_KEYS_DIR, domains[i]);
		if (dkim_domain_scan(path, &files, &nf, &st) == 0) {
			for (size_t k = 0; k < nf; k++) {
				char file[4300];
				struct dkim_key_entry e = {
					.domain = domains[i],
					.selector = files[k].selector,
					.path = file,
					.key = files[k].key,
					.error = files[k].error,
					.signing = files[k].signing,
				};

				snprintf(file, sizeof(file), "%s/%s%s", path, files[k].selector,
					 DKIM_KEY_SUFFIX);
				cb(ctx, &e);
			}
			dkim_files_free(files, nf);
		}
		free(domains[i]);
	}
	free(domains);
	return 0;
}

/* ---- the server's cache ---- */

struct dkim_cached {
	char *domain;
	struct stat dir;           /* the folder when it was read */
	struct dkim_file *files;
	size_t n;
};

struct dkim_keys {
	pthread_mutex_t lock;
	char *data_dir;
	struct dkim_cached *domains;
	size_t n, cap;
};

struct dkim_keys *dkim_keys_new(const char *data_dir)
{
	struct dkim_keys *keys = calloc(1, sizeof(*keys));

	if (keys == NULL || (keys->data_dir = strdup(data_dir)) == NULL)
		abort();
	pthread_mutex_init(&keys->lock, NULL);
	return keys;
}

static void dkim_cached_free(struct dkim_cached *c)
{
	free(c->domain);
	dkim_files_free(c->files, c->n);
}

void dkim_keys_free(struct dkim_keys **keysp)
{
	struct dkim_keys *keys = *keysp;

	if (keys == NULL)
		return;
	*keysp = NULL;
	for (size_t i = 0; i < keys->n; i++)
		dkim_cached_free(&keys->domains[i]);
	free(keys->domains);
	free(keys->data_dir);
	pthread_mutex_destroy(&keys->lock);
	free(keys);
}

static bool dkim_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Whether what was read of a domain is still what its folder holds: the
 * folder (a file added, removed, renamed over) and each file (rewritten
 * in place). */
static bool dkim_cached_fresh(const struct dkim_cached *c, const char *path,
			      const struct stat *dir)
{
	if (c->dir.st_ino != dir->st_ino || !dkim_same_time(&c->dir.st_mtim, &dir->st_mtim))
		return false;
	for (size_t i = 0; i < c->n; i++) {
		char file[4300];
		struct stat st;

		snprintf(file, sizeof(file), "%s/%s%s", path, c->files[i].selector, DKIM_KEY_SUFFIX);
		if (stat(file, &st) < 0 || st.st_ino != c->files[i].ino ||
		    st.st_size != c->files[i].size || !dkim_same_time(&st.st_mtim, &c->files[i].mtime))
			return false;
	}
	return true;
}

/* Under the lock: the cache entry of a domain, read again when stale.
 * NULL when the domain has no folder; -1 in *ret_r on an error. */
static struct dkim_cached *dkim_keys_get(struct dkim_keys *keys, const char *domain,
					  char **error_r, int *ret_r)
{
	char path[4200];
	struct dkim_cached *c = NULL;
	struct stat dir;

	*ret_r = 0;
	snprintf(path, sizeof(path), "%s/%s/%s", keys->data_dir, DKIM_KEYS_DIR, domain);
	for (size_t i = 0; i < keys->n && c == NULL; i++)
		if (strcmp(keys->domains[i].domain, domain) == 0)
			c = &keys->domains[i];
	if (stat(path, &dir) < 0) {
		if (errno == ENOENT)
			return NULL;
		*ret_r = -1;
		if (asprintf(error_r, "cannot read %s: %s", path, strerror(errno)) < 0)
			abort();
		return NULL;
	}
	if (c != NULL && dkim_cached_fresh(c, path, &dir))
		return c;
	if (c == NULL) {
		if (keys->n == DKIM_CACHE_MAX) {
			for (size_t i = 0; i < keys->n; i++)
				dkim_cached_free(&keys->domains[i]);
			keys->n = 0;
		}
		if (keys->n == keys->cap) {
			keys->cap = keys->cap == 0 ? 8 : keys->cap * 2;
			keys->domains = realloc(keys->domains, keys->cap * sizeof(*keys->domains));
			if (keys->domains == NULL)
				abort();
		}
		c = &keys->domains[keys->n++];
		*c = (struct dkim_cached){ .domain = strdup(domain) };
		if (c->domain == NULL)
			abort();
	}
	dkim_files_free(c->files, c->n);
	c->files = NULL;
	c->n = 0;
	if (dkim_domain_scan(path, &c->files, &c->n, &c->dir) < 0) {
		*ret_r = -1;
		if (asprintf(error_r, "cannot read %s: %s", path, strerror(errno)) < 0)
			abort();
		/* read again next time */
		memset(&c->dir, 0, sizeof(c->dir));
		return NULL;
	}
	return c;
}

int dkim_keys_find(struct dkim_keys *keys, const char *domain,
		   struct dkim_signing_key out[DKIM_ALGORITHM__COUNT], char **error_r)
{
	struct dkim_cached *c;
	int ret, n = 0;

	pthread_mutex_lock(&keys->lock);
	c = dkim_keys_get(keys, domain, error_r, &ret);
	for (size_t i = 0; c != NULL && ret == 0 && i < c->n; i++) {
		if (c->files[i].key == NULL) {
			ret = -1;
			if (asprintf(error_r, "%s/%s/%s/%s%s %s", keys->data_dir, DKIM_KEYS_DIR, domain,
				     c->files[i].selector, DKIM_KEY_SUFFIX, c->files[i].error) < 0)
				abort();
		}
	}
	for (unsigned alg = 0; c != NULL && ret == 0 && alg < DKIM_ALGORITHM__COUNT; alg++) {
		for (size_t i = 0; i < c->n; i++) {
			if (c->files[i].signing && dkim_key_algorithm(c->files[i].key) == alg) {
				out[n].key = dkim_key_ref(c->files[i].key);
				memcpy(out[n].selector, c->files[i].selector,
				       sizeof(out[n].selector));
				n++;
			}
		}
	}
	pthread_mutex_unlock(&keys->lock);
	return ret < 0 ? -1 : n;
}
