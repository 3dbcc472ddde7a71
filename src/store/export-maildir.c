/* export-maildir - `tern export maildir`: every mailbox as a Maildir++
 * folder (names escaped as maildir-name.c says) with ":2,FLAGS" names and
 * a dovecot-uidlist (version 3), so that Dovecot, or `tern import`, keeps
 * UIDVALIDITY and UIDs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <dirent.h>

#include "store/store-private.h"
#include "store/transfer.h"

/* Every folder and file of an export is made new, relative to the
 * descriptor of the folder that holds it, and nothing is ever followed:
 * the export runs as [server] user, which owns directory.db and every
 * account's mail, often into a folder that another local user can write
 * to (a home folder made writable for it). Such a user could otherwise
 * plant a symlink (dovecot-uidlist -> DATA/directory.db) once the
 * emptiness check has passed and have the export overwrite its target. */
#define EXPORT_OPEN_NEW (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)
#define EXPORT_OPEN_DIR (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Make a new folder NAME in `at` and open it: the descriptor, or -1
 * (EEXIST when something is already there, ELOOP/ENOTDIR when it was
 * swapped for a link or a file meanwhile). */
static int export_mkdir_open(int at, const char *name)
{
	if (mkdirat(at, name, 0700) < 0)
		return -1;
	return openat(at, name, EXPORT_OPEN_DIR);
}

/* The top folder: created, or an existing empty one, and not a symlink.
 * Its descriptor, -1 with errno, or -2 when it is not empty. */
static int export_top_open(const char *path)
{
	int fd, probe;
	DIR *d;
	struct dirent *de;
	bool empty = true;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = open(path, EXPORT_OPEN_DIR);
	if (fd < 0)
		return -1;
	probe = dup(fd);
	d = probe >= 0 ? fdopendir(probe) : NULL;
	if (d == NULL) {
		if (probe >= 0)
			close(probe);
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty) {
		close(fd);
		return -2;
	}
	return fd;
}

/* One mailbox's open folders: the mailbox folder and its cur/ and tmp/. */
struct export_dirs {
	int box, cur, tmp;
};

static void export_dirs_close(struct export_dirs *d)
{
	if (d->box >= 0)
		close(d->box);
	if (d->cur >= 0)
		close(d->cur);
	if (d->tmp >= 0)
		close(d->tmp);
	d->box = d->cur = d->tmp = -1;
}

/* The info part: ":2," and the flag letters in ASCII order. */
static void export_info(unsigned flags, char *out)
{
	char *p = out;

	p += sprintf(p, ":2,");
	if (flags & STORE_FLAG_DRAFT)
		*p++ = 'D';
	if (flags & STORE_FLAG_FLAGGED)
		*p++ = 'F';
	if (flags & STORE_FLAG_ANSWERED)
		*p++ = 'R';
	if (flags & STORE_FLAG_SEEN)
		*p++ = 'S';
	if (flags & STORE_FLAG_DELETED)
		*p++ = 'T';
	*p = '\0';
}

/* What an error of creating a file new says besides strerror(): that is
 * what a link (or anything else) planted in the target during the export
 * gives. */
static const char *export_planted(int error)
{
	return error == EEXIST || error == ELOOP || error == ENOTDIR ?
	       " (something else was put there during the export)" : "";
}

/* Copy one message to DIR/cur/BASE:2,FLAGS through DIR/tmp (DIR names
 * the folder in messages only). */
static enum store_error export_message(struct store_account *acct, const struct store_mailbox *box,
				       const struct store_message *m,
				       const struct export_dirs *dirs, const char *dir,
				       const char *base, FILE *err)
{
	char final[NAME_MAX + 1], info[16], buf[65536];
	struct store_reader *r;
	struct timespec times[2];
	enum store_error e;
	const char *sub = "tmp";
	bool made = false;
	struct store_mailbox_ref ref = { box->id, box->uidvalidity };
	ssize_t n;
	int fd, error;

	if ((e = store_reader_open(acct, &ref, m->uid, &r)) != STORE_OK) {
		fprintf(err, "skipped %s UID %u: %s\n", box->name, m->uid, store_error_name(e));
		return e == STORE_ERR_IO ? e : STORE_ERR_NOT_FOUND;
	}
	export_info(m->flags, info);
	snprintf(final, sizeof(final), "%s%s", base, info);
	fd = openat(dirs->tmp, base, EXPORT_OPEN_NEW, 0600);
	if (fd < 0)
		goto io;
	made = true;
	while ((n = store_reader_read(r, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno != EINTR)
				goto io;
			if (w > 0)
				off += w;
		}
	}
	if (n < 0)
		goto io;
	times[0].tv_sec = times[1].tv_sec = (time_t)m->internal_date;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	futimens(fd, times);
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto io;
	}
	fd = -1;
	sub = "cur";
	if (renameat(dirs->tmp, base, dirs->cur, final) < 0)
		goto io;
	store_reader_close(&r);
	return STORE_OK;
io:
	error = errno;
	fprintf(err, "cannot write %s/%s/%s: %s%s\n", dir, sub, sub[0] == 't' ? base : final,
		strerror(error), export_planted(error));
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dirs->tmp, base, 0);
	store_reader_close(&r);
	return STORE_ERR_IO;
}

/* Whether a folder name is more than the mailbox name with '.' for '/':
 * then the export says how it named the folder. */
static bool export_escaped(const char *mailbox, const char *folder)
{
	if (strlen(folder) != strlen(mailbox) + 1)
		return true;
	for (size_t i = 0; mailbox[i] != '\0'; i++)
		if (folder[i + 1] != (mailbox[i] == '/' ? '.' : mailbox[i]))
			return true;
	return false;
}

/* Make the folders of a mailbox: FOLDER in `top` (NULL: INBOX, which is
 * `top` itself), with cur/, new/ and tmp/ in it; 0, or -1 with errno and
 * `what` naming the step. */
static int export_dirs_make(int top, const char *folder, struct export_dirs *d,
			    const char **what)
{
	int fd;

	d->box = d->cur = d->tmp = -1;
	*what = ".";
	d->box = folder != NULL ? export_mkdir_open(top, folder) : dup(top);
	if (d->box < 0)
		return -1;
	*what = "cur";
	if ((d->cur = export_mkdir_open(d->box, "cur")) < 0)
		return -1;
	*what = "new";
	if ((fd = export_mkdir_open(d->box, "new")) < 0)
		return -1;
	close(fd);
	*what = "tmp";
	if ((d->tmp = export_mkdir_open(d->box, "tmp")) < 0)
		return -1;
	if (folder != NULL) {
		/* Maildir++: a folder's marker file */
		*what = "maildirfolder";
		if ((fd = openat(d->box, "maildirfolder", EXPORT_OPEN_NEW, 0600)) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* Returns 1 when the folder name was escaped (and said on out), 0 when
 * not, -1 on a write error (said on err). */
static int export_mailbox(struct store_account *acct, const struct store_mailbox *box,
			  int top, const char *root, FILE *out, FILE *err,
			  struct transfer_stats *stats)
{
	char dir[4096];
	const char *what = ".";
	struct export_dirs dirs = { -1, -1, -1 };
	struct store_message *msgs;
	char *folder = NULL;
	enum store_error e;
	int escaped = 0;
	size_t n;
	FILE *ul;
	int fd;

	/* A name the store no longer accepts (an index from an older tern
	 * may hold "."), would map to a folder outside root ("root/.."). */
	if (!store_mailbox_name_canon(box->name, dir, sizeof(dir))) {
		fprintf(err, "skipped mailbox %s: not a valid name\n", box->name);
		stats->skipped += box->messages;
		return 0;
	}
	if (strcmp(box->name, "INBOX") == 0) {
		snprintf(dir, sizeof(dir), "%s", root);
	} else {
		int len;

		folder = transfer_maildir_folder_encode(box->name);
		len = snprintf(dir, sizeof(dir), "%s/%s", root, folder);
		if (strlen(folder) > NAME_MAX || len < 0 || (size_t)len >= sizeof(dir) - 16) {
			fprintf(err, "skipped mailbox %s: its folder name %s is too long\n",
				box->name, folder);
			stats->skipped += box->messages;
			free(folder);
			return 0;
		}
		if (export_escaped(box->name, folder)) {
			fprintf(out, "mailbox %s exported as %s\n", box->name, folder);
			escaped = 1;
		}
	}
	if (export_dirs_make(top, folder, &dirs, &what) < 0) {
		free(folder);
		goto io;
	}
	free(folder);
	if (store_message_list(acct, &(struct store_mailbox_ref){ box->id, box->uidvalidity },
			       &msgs, &n) != STORE_OK) {
		export_dirs_close(&dirs);
		return -1;
	}
	what = "dovecot-uidlist";
	fd = openat(dirs.box, "dovecot-uidlist", EXPORT_OPEN_NEW, 0600);
	ul = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (ul == NULL) {
		if (fd >= 0)
			close(fd);
		store_messages_free(msgs, n);
		goto io;
	}
	fprintf(ul, "3 V%u N%u G%08x%08x%016llx\n", box->uidvalidity, box->uidnext,
		box->uidvalidity, (unsigned)getpid(), (unsigned long long)box->highestmodseq);
	e = STORE_OK;
	for (size_t i = 0; i < n; i++) {
		char base[96];

		snprintf(base, sizeof(base), "%lld.U%uV%u.tern", (long long)msgs[i].internal_date,
			 msgs[i].uid, box->uidvalidity);
		e = export_message(acct, box, &msgs[i], &dirs, dir, base, err);
		if (e == STORE_ERR_NOT_FOUND || e == STORE_ERR_CORRUPT) {
			stats->skipped++;
			e = STORE_OK;
			continue;
		}
		if (e != STORE_OK)
			break;
		fprintf(ul, "%u :%s\n", msgs[i].uid, base);
		stats->messages++;
	}
	store_messages_free(msgs, n);
	if (fflush(ul) != 0 || fsync(fileno(ul)) < 0) {
		fclose(ul);
		goto io;
	}
	fclose(ul);
	/* the renames into cur/ and the uidlist's entry, on disk too */
	what = "cur";
	if (fsync(dirs.cur) < 0)
		goto io;
	what = ".";
	if (fsync(dirs.box) < 0)
		goto io;
	export_dirs_close(&dirs);
	stats->mailboxes++;
	return e == STORE_OK ? escaped : -1;
io:
	fprintf(err, "cannot write %s/%s: %s%s\n", dir, what, strerror(errno),
		export_planted(errno));
	export_dirs_close(&dirs);
	return -1;
}

enum store_error transfer_export_maildir(struct store_account *acct, const char *path,
					 FILE *out, FILE *err, struct transfer_stats *stats)
{
	struct store_mailbox *boxes;
	enum store_error e;
	size_t n, escaped = 0;
	int top;

	memset(stats, 0, sizeof(*stats));
	top = export_top_open(path);
	if (top == -2) {
		fprintf(err, "%s: exists and is not empty\n", path);
		return STORE_ERR_EXISTS;
	}
	if (top < 0) {
		fprintf(err, "%s: %s%s\n", path, strerror(errno),
			errno == ELOOP ? " (a symbolic link: give the folder it points to)" : "");
		return STORE_ERR_IO;
	}
	if ((e = store_mailbox_list(acct, &boxes, &n)) != STORE_OK) {
		close(top);
		return e;
	}
	for (size_t i = 0; i < n && e == STORE_OK; i++) {
		int rc = export_mailbox(acct, &boxes[i], top, path, out, err, stats);

		if (rc < 0)
			e = STORE_ERR_IO;
		else
			escaped += (size_t)rc;
	}
	store_mailboxes_free(boxes, n);
	close(top);
	if (escaped > 0)
		fprintf(out, "escaped folder names are those of Dovecot's Maildir++ layout with"
			" its listescape plugin; tern import reads them back\n");
	fflush(out);
	return e;
}
