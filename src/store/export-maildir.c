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

static int export_mkdir(const char *path)
{
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int export_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static bool export_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (d == NULL)
		return errno == ENOENT;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
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

/* Copy one message to dir/cur/BASE:2,FLAGS through dir/tmp. */
static enum store_error export_message(struct store_account *acct, const char *mailbox,
				       const struct store_message *m, const char *dir,
				       const char *base, FILE *err)
{
	char tmp[4200], final[4300], info[16], buf[65536];
	struct store_reader *r;
	struct timespec times[2];
	enum store_error e;
	ssize_t n;
	int fd;

	if ((e = store_reader_open(acct, mailbox, m->uid, &r)) != STORE_OK) {
		fprintf(err, "skipped %s UID %u: %s\n", mailbox, m->uid, store_error_name(e));
		return e == STORE_ERR_IO ? e : STORE_ERR_NOT_FOUND;
	}
	export_info(m->flags, info);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, base);
	snprintf(final, sizeof(final), "%s/cur/%s%s", dir, base, info);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto io;
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
	if (rename(tmp, final) < 0)
		goto io;
	store_reader_close(&r);
	return STORE_OK;
io:
	fprintf(err, "cannot write %s: %s\n", final, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
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

/* Returns 1 when the folder name was escaped (and said on out), 0 when
 * not, -1 on a write error (said on err). */
static int export_mailbox(struct store_account *acct, const struct store_mailbox *box,
			  const char *root, FILE *out, FILE *err, struct transfer_stats *stats)
{
	char dir[4096], sub[4200];
	struct store_message *msgs;
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
		char *folder = transfer_maildir_folder_encode(box->name);
		int len = snprintf(dir, sizeof(dir), "%s/%s", root, folder);

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
		free(folder);
	}
	snprintf(sub, sizeof(sub), "%s/cur", dir);
	if (export_mkdir(dir) < 0 || export_mkdir(sub) < 0)
		goto io;
	snprintf(sub, sizeof(sub), "%s/new", dir);
	if (export_mkdir(sub) < 0)
		goto io;
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	if (export_mkdir(sub) < 0)
		goto io;
	if (strcmp(box->name, "INBOX") != 0) {
		/* Maildir++: a folder's marker file */
		snprintf(sub, sizeof(sub), "%s/maildirfolder", dir);
		fd = open(sub, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			goto io;
		close(fd);
	}
	if ((e = store_message_list(acct, box->name, &msgs, &n)) != STORE_OK)
		return -1;
	snprintf(sub, sizeof(sub), "%s/dovecot-uidlist", dir);
	fd = open(sub, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
		e = export_message(acct, box->name, &msgs[i], dir, base, err);
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
	snprintf(sub, sizeof(sub), "%s/cur", dir);
	if (export_fsync_dir(sub) < 0 || export_fsync_dir(dir) < 0)
		goto io;
	stats->mailboxes++;
	return e == STORE_OK ? escaped : -1;
io:
	fprintf(err, "cannot write %s: %s\n", sub, strerror(errno));
	return -1;
}

enum store_error transfer_export_maildir(struct store_account *acct, const char *path,
					 FILE *out, FILE *err, struct transfer_stats *stats)
{
	struct store_mailbox *boxes;
	enum store_error e;
	size_t n, escaped = 0;

	memset(stats, 0, sizeof(*stats));
	if (!export_dir_empty(path)) {
		fprintf(err, "%s: exists and is not empty\n", path);
		return STORE_ERR_EXISTS;
	}
	if (export_mkdir(path) < 0) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return STORE_ERR_IO;
	}
	if ((e = store_mailbox_list(acct, &boxes, &n)) != STORE_OK)
		return e;
	for (size_t i = 0; i < n && e == STORE_OK; i++) {
		int rc = export_mailbox(acct, &boxes[i], path, out, err, stats);

		if (rc < 0)
			e = STORE_ERR_IO;
		else
			escaped += (size_t)rc;
	}
	store_mailboxes_free(boxes, n);
	if (escaped > 0)
		fprintf(out, "escaped folder names are those of Dovecot's Maildir++ layout with"
			" its listescape plugin; tern import reads them back\n");
	fflush(out);
	return e;
}
