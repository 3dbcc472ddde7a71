/* import-maildir - `tern import maildir`: a Maildir or Maildir++ tree,
 * with flags from file names and, when a dovecot-uidlist is there, the
 * source's UIDVALIDITY and UIDs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store-private.h"
#include "store/transfer.h"

struct maildir_file {
	char *path;       /* PATH/cur/NAME */
	char *base;       /* NAME up to the info separator */
	unsigned flags;
	uint32_t uid;     /* from dovecot-uidlist, or 0 */
};

struct maildir_list {
	struct maildir_file *files;
	size_t n, cap;
};

unsigned transfer_maildir_flags(const char *name)
{
	const char *info = strstr(name, ":2,");
	unsigned flags = 0;

	if (info == NULL)
		info = strstr(name, "!2,");
	if (info == NULL)
		info = strstr(name, ";2,");
	if (info == NULL)
		return 0;
	for (info += 3; *info != '\0' && *info != ','; info++) {
		switch (*info) {
		case 'D': flags |= STORE_FLAG_DRAFT; break;
		case 'F': flags |= STORE_FLAG_FLAGGED; break;
		case 'R': flags |= STORE_FLAG_ANSWERED; break;
		case 'S': flags |= STORE_FLAG_SEEN; break;
		case 'T': flags |= STORE_FLAG_DELETED; break;
		default: break;   /* keywords a-z: dovecot-keywords, not read */
		}
	}
	return flags;
}

char *transfer_maildir_base(const char *name)
{
	size_t len = strcspn(name, ":!;");
	char *base = strndup(name, len);

	if (base == NULL)
		abort();
	return base;
}

/* Copy the line at `pos` NUL-terminated into `line` (cut at
 * TRANSFER_UIDLIST_LINE_MAX - 1 bytes, without its '\n'); *whole tells
 * whether it fitted and held no NUL byte. Returns where the next line
 * starts. */
static size_t uidlist_line(const char *data, size_t len, size_t pos, char *line, bool *whole)
{
	const char *nl = memchr(data + pos, '\n', len - pos);
	size_t end = nl != NULL ? (size_t)(nl - data) : len;
	size_t n = end - pos;

	*whole = n <= TRANSFER_UIDLIST_LINE_MAX - 2 && memchr(data + pos, '\0', n) == NULL;
	if (n > TRANSFER_UIDLIST_LINE_MAX - 1)
		n = TRANSFER_UIDLIST_LINE_MAX - 1;
	memcpy(line, data + pos, n);
	line[n] = '\0';
	return nl != NULL ? end + 1 : len;
}

bool transfer_uidlist_parse(const void *buf, size_t len, struct transfer_uidlist *ul)
{
	const char *data = buf;
	unsigned long version, v = 0, nx = 0;
	size_t pos;
	char *line, *p, *end;
	bool whole;

	memset(ul, 0, sizeof(*ul));
	if (len == 0)
		return false;
	line = malloc(TRANSFER_UIDLIST_LINE_MAX);
	if (line == NULL)
		abort();
	pos = uidlist_line(data, len, 0, line, &whole);
	version = strtoul(line, &p, 10);
	if (p == line)
		goto bad;
	if (version == 1) {
		v = strtoul(p, &p, 10);
		nx = strtoul(p, &p, 10);
	} else {
		for (char *tok = strtok_r(p, " \r\n", &end); tok != NULL;
		     tok = strtok_r(NULL, " \r\n", &end)) {
			if (tok[0] == 'V')
				v = strtoul(tok + 1, NULL, 10);
			else if (tok[0] == 'N')
				nx = strtoul(tok + 1, NULL, 10);
		}
	}
	if (v == 0 || v > UINT32_MAX || nx > UINT32_MAX)
		goto bad;
	ul->uidvalidity = (uint32_t)v;
	ul->nextuid = (uint32_t)nx;
	while (pos < len) {
		unsigned long uid;
		char *start, *name, *colon;

		pos = uidlist_line(data, len, pos, line, &whole);
		/* longer than any real line, or binary: skipped whole */
		if (!whole)
			continue;
		/* A CR ends the line (CRLF files) before anything is parsed:
		 * strtoul would skip a leading CR as a blank. */
		line[strcspn(line, "\r")] = '\0';
		start = line + strspn(line, " \t");
		if (*start < '0' || *start > '9')
			continue;
		uid = strtoul(start, &p, 10);
		if (uid == 0 || uid >= UINT32_MAX || (*p != ' ' && *p != '\t'))
			continue;
		/* the file name follows " :" in version 3, else it is the last
		 * word */
		colon = strstr(p, " :");
		if (colon != NULL) {
			name = colon + 2;
		} else {
			name = strrchr(p, ' ');
			name = name != NULL ? name + 1 : p;
		}
		/* a name that is all info (":2,S") names no file */
		if (strcspn(name, ":!;") == 0)
			continue;
		if (ul->n == ul->cap) {
			ul->cap = ul->cap == 0 ? 64 : ul->cap * 2;
			ul->entries = realloc(ul->entries, ul->cap * sizeof(*ul->entries));
			if (ul->entries == NULL)
				abort();
		}
		ul->entries[ul->n].base = transfer_maildir_base(name);
		ul->entries[ul->n++].uid = (uint32_t)uid;
	}
	free(line);
	return true;
bad:
	free(line);
	return false;
}

void transfer_uidlist_free(struct transfer_uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++)
		free(ul->entries[i].base);
	free(ul->entries);
	memset(ul, 0, sizeof(*ul));
}

/* Read PATH/dovecot-uidlist whole and parse it; false when there is none or
 * it is unusable (said on err). */
static bool uidlist_read(struct store_account *acct, const char *dir,
			 struct transfer_uidlist *ul, FILE *err)
{
	char path[4096], *data;
	const char *why;
	struct stat st;
	size_t len = 0, size;
	ssize_t n = 0;
	bool ok;
	int fd;

	memset(ul, 0, sizeof(*ul));
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", dir);
	fd = transfer_source_open(acct, path, &st, &why);
	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(err, "%s: dovecot-uidlist: %s; UIDs not kept\n", dir, why);
		return false;
	}
	if (st.st_size > (off_t)TRANSFER_UIDLIST_MAX) {
		close(fd);
		fprintf(err, "%s: dovecot-uidlist larger than %u bytes, UIDs not kept\n", dir,
			TRANSFER_UIDLIST_MAX);
		return false;
	}
	size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (data == NULL)
		abort();
	while (len < size && (n = read(fd, data + len, size - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	ok = n >= 0 && transfer_uidlist_parse(data, len, ul);
	free(data);
	if (!ok)
		fprintf(err, "%s: unreadable dovecot-uidlist, UIDs not kept\n", dir);
	return ok;
}

static int uidlist_cmp(const void *a, const void *b)
{
	const struct transfer_uidlist_entry *x = a, *y = b;

	return strcmp(x->base, y->base);
}

static uint32_t uidlist_find(const struct transfer_uidlist *ul, const char *base)
{
	size_t lo = 0, hi = ul->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(base, ul->entries[mid].base);

		if (c == 0)
			return ul->entries[mid].uid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static void maildir_scan(const char *dir, const char *sub, struct maildir_list *list, FILE *err)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	/* a symlinked cur/ or new/ could point anywhere: not followed */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		int error = errno;
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			fprintf(err, "%s: a symbolic link, not followed\n", path);
		else
			fprintf(err, "%s: %s\n", path, strerror(error));
	}
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct maildir_file *f;

		if (de->d_name[0] == '.')
			continue;
		if (list->n == list->cap) {
			list->cap = list->cap == 0 ? 64 : list->cap * 2;
			list->files = realloc(list->files, list->cap * sizeof(*list->files));
			if (list->files == NULL)
				abort();
		}
		f = &list->files[list->n++];
		if (asprintf(&f->path, "%s/%s", path, de->d_name) < 0)
			abort();
		f->base = transfer_maildir_base(de->d_name);
		f->flags = transfer_maildir_flags(de->d_name);
		f->uid = 0;
	}
	closedir(d);
}

/* Known UIDs first, ascending; then the rest by name (Maildir names begin
 * with the delivery time). */
static int maildir_file_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;

	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->base, y->base);
}

/* Append one file (or skip it, counted in stats); STORE_OK unless the
 * import must stop. */
static enum store_error maildir_import_file(struct store_account *acct, const char *mailbox,
					    const struct maildir_file *mf, uint32_t want_uid,
					    struct transfer_batch *tb)
{
	const struct transfer_import *im = tb->im;
	struct transfer_message m = {
		.mailbox = mailbox, .source = mf->path, .flags = mf->flags, .uid = want_uid,
	};
	struct transfer_writer *w;
	enum store_error e;
	const char *why;
	struct stat st;
	char buf[65536];
	ssize_t n = 0;
	int fd;

	fd = transfer_source_open(acct, mf->path, &st, &why);
	if (fd < 0) {
		fprintf(im->err, "skipped %s: %s\n", mf->path, why);
		tb->stats->skipped++;
		return STORE_OK;
	}
	m.internal_date = (int64_t)st.st_mtime;
	w = malloc(sizeof(*w));
	if (w == NULL)
		abort();
	transfer_writer_init(w, NULL, im->max_size);
	if ((e = store_append_begin(acct, mailbox, &w->ap)) != STORE_OK) {
		close(fd);
		free(w);
		fprintf(im->err, "failed %s: %s\n", mf->path, store_error_name(e));
		return e;
	}
	/* Known too big from its size (CRLF only adds): not read at all. */
	if ((uint64_t)st.st_size > w->max) {
		w->size = (uint64_t)st.st_size;
		w->error = STORE_ERR_TOO_BIG;
	}
	while (w->error == STORE_OK && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			why = strerror(errno);
			break;
		}
		transfer_writer_write(w, buf, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		fprintf(im->err, "skipped %s: %s\n", mf->path, why);
		store_append_abort(&w->ap);
		tb->stats->skipped++;
		e = STORE_OK;
	} else {
		e = transfer_writer_commit(w, &m, tb);
	}
	free(w);
	return e;
}

/* One Maildir folder (cur/ and new/) into one mailbox; its messages are
 * all committed when it returns. */
static enum store_error maildir_import_folder(struct store_account *acct, const char *dir,
					      const char *mailbox, struct transfer_batch *tb)
{
	struct transfer_stats *stats = tb->stats;
	FILE *err = tb->im->err;
	struct maildir_list list = { 0 };
	struct transfer_uidlist ul;
	enum store_error e, flushed;
	bool keep, raised = false;
	uint32_t last = 0;

	if ((e = transfer_mailbox_ensure(acct, mailbox)) != STORE_OK) {
		fprintf(err, "mailbox %s (from %s): %s\n", mailbox, dir, store_error_name(e));
		return e == STORE_ERR_INVALID ? STORE_OK : e;
	}
	stats->mailboxes++;
	maildir_scan(dir, "cur", &list, err);
	maildir_scan(dir, "new", &list, err);
	keep = uidlist_read(acct, dir, &ul, err);
	if (keep) {
		if (ul.n > 0)
			qsort(ul.entries, ul.n, sizeof(ul.entries[0]), uidlist_cmp);
		for (size_t i = 0; i < list.n; i++)
			list.files[i].uid = uidlist_find(&ul, list.files[i].base);
		/* A UID listed twice (a broken uidlist) is kept by the first
		 * file only; the others get new UIDs after all listed ones. */
		if (list.n > 0)
			qsort(list.files, list.n, sizeof(list.files[0]), maildir_file_cmp);
		for (size_t i = 1; i < list.n; i++)
			if (list.files[i].uid != 0 && list.files[i].uid == list.files[i - 1].uid)
				list.files[i].uid = 0;
		/* UIDNEXT is raised to the list's N before the first file
		 * without a listed UID */
		e = store_mailbox_set_uids(acct, mailbox, ul.uidvalidity, 1);
		if (e != STORE_OK) {
			fprintf(err, "%s: mailbox %s is not empty: UIDs not kept, messages not"
				" already there get new ones\n", dir, mailbox);
			keep = false;
		}
	}
	if (list.n > 0)
		qsort(list.files, list.n, sizeof(list.files[0]), maildir_file_cmp);
	e = STORE_OK;
	for (size_t i = 0; i < list.n && e == STORE_OK; i++) {
		uint32_t want = 0;

		/* keep a listed UID when it still fits (a garbage uidlist may
		 * repeat one) */
		if (keep && list.files[i].uid > last) {
			want = list.files[i].uid;
			last = want;
		} else if (keep && !raised && ul.nextuid > 0) {
			raised = true;
			/* the pending messages' UIDs are below N: in first */
			if ((e = transfer_batch_flush(tb)) != STORE_OK ||
			    (e = store_mailbox_raise_uidnext(acct, mailbox, ul.nextuid)) != STORE_OK)
				break;
			/* UIDs below N are taken now */
			if (ul.nextuid - 1 > last)
				last = ul.nextuid - 1;
		}
		e = maildir_import_file(acct, mailbox, &list.files[i], want, tb);
	}
	/* what is pending is stored even when a later message failed */
	if ((flushed = transfer_batch_flush(tb)) != STORE_OK && e == STORE_OK)
		e = flushed;
	if (keep && e == STORE_OK && ul.nextuid > 0)
		e = store_mailbox_raise_uidnext(acct, mailbox, ul.nextuid);
	for (size_t i = 0; i < list.n; i++) {
		free(list.files[i].path);
		free(list.files[i].base);
	}
	free(list.files);
	transfer_uidlist_free(&ul);
	return e;
}

/* ".Folder.Sub" -> "Folder/Sub" (transfer_maildir_folder_decode), special
 * names matched case-insensitively to the existing mailboxes; under
 * `parent` when given. */
static char *maildir_mailbox_name(struct store_account *acct, const char *dirname,
				  const char *parent)
{
	char *name = transfer_maildir_folder_decode(dirname), *full;
	struct store_mailbox *boxes;
	size_t n;

	if (parent == NULL && store_mailbox_list(acct, &boxes, &n) == STORE_OK) {
		for (size_t i = 0; i < n; i++) {
			if (strcasecmp(boxes[i].name, name) == 0) {
				free(name);
				name = strdup(boxes[i].name);
				if (name == NULL)
					abort();
				break;
			}
		}
		store_mailboxes_free(boxes, n);
	}
	if (parent == NULL)
		return name;
	if (asprintf(&full, "%s/%s", parent, name) < 0)
		abort();
	free(name);
	return full;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when PATH/NAME is a folder, 0 when it is not, -1 when it cannot be
 * looked at (reported: "permission denied" is not "not a Maildir"). */
static int maildir_has_folder(const char *path, const char *name, FILE *err)
{
	char sub[4096];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/%s", path, name);
	if (stat(sub, &st) == 0)
		return S_ISDIR(st.st_mode) ? 1 : 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	fprintf(err, "%s: %s\n", sub, strerror(errno));
	return -1;
}

enum store_error transfer_import_maildir(struct store_account *acct, const char *path,
					 const struct transfer_import *im,
					 struct transfer_stats *stats)
{
	const char *mailbox = im->mailbox;
	FILE *err = im->err;
	struct transfer_batch tb;
	char **subs = NULL, sub[4096];
	size_t n_subs = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	enum store_error e;
	DIR *d;

	int has;

	memset(stats, 0, sizeof(*stats));
	if ((has = maildir_has_folder(path, "cur", err)) < 0)
		return STORE_ERR_IO;
	if (has == 0) {
		if ((has = maildir_has_folder(path, "new", err)) < 0)
			return STORE_ERR_IO;
		if (has == 0) {
			fprintf(err, "%s: not a Maildir (no cur/ or new/ folder)\n", path);
			return STORE_ERR_NOT_FOUND;
		}
		fprintf(err, "%s: no cur/ folder, importing new/ only\n", path);
	}
	if ((e = transfer_batch_init(&tb, acct, im, stats)) != STORE_OK) {
		fprintf(err, "%s: cannot start the import (see the log)\n", path);
		return e;
	}
	e = maildir_import_folder(acct, path, mailbox != NULL ? mailbox : "INBOX", &tb);
	d = e == STORE_OK ? opendir(path) : NULL;
	if (d == NULL) {
		transfer_batch_free(&tb);
		return e;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || de->d_name[1] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		/* lstat: a symlinked folder could lead out of the tree */
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode))
			fprintf(err, "%s: symbolic link, not followed\n", sub);
		if (!S_ISDIR(st.st_mode))
			continue;
		if (n_subs == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			subs = realloc(subs, cap * sizeof(*subs));
			if (subs == NULL)
				abort();
		}
		subs[n_subs] = strdup(de->d_name);
		if (subs[n_subs++] == NULL)
			abort();
	}
	closedir(d);
	/* sorted, so parents come before their children */
	if (n_subs > 0)
		qsort(subs, n_subs, sizeof(*subs), str_cmp);
	for (size_t i = 0; i < n_subs && e == STORE_OK; i++) {
		char *name = maildir_mailbox_name(acct, subs[i], mailbox);

		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		e = maildir_import_folder(acct, sub, name, &tb);
		free(name);
	}
	for (size_t i = 0; i < n_subs; i++)
		free(subs[i]);
	free(subs);
	transfer_batch_free(&tb);
	return e;
}
