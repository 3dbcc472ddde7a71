/* account - one account's handle: opening it (its folders, the lock,
 * index.db, the repair after an unclean shutdown) and closing it (the
 * clean-close marker), and the mutex that lets several threads share it
 * (store_enter / store_leave, which tell the hub what was committed
 * meanwhile and remove the files it freed). root.c shares handles between callers; store_open gives a
 * caller one of its own.
 *
 * The marker: DATA/mail/DOMAIN/LOCAL/clean exists only while nobody has
 * the account open and its last holder closed it cleanly. Every open
 * removes it (durably) before using the account; the last close (the
 * holder that can take the flock exclusively) writes it (durably) after
 * making msg/ durable (when a file left it). An open that finds it
 * missing, and the account held by nobody else, repairs: a kill -9 or a
 * power loss left it missing, and so did every tern before the marker.
 * A second process (tern import while the server runs) that opens an
 * account held by another leaves a note (`shared`): either of the two
 * may die unseen by the other, so the last close then writes no marker
 * and the next open repairs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/log.h"
#include "store/root-control.h"
#include "store/store-private.h"

#define STORE_CLEAN_MARKER "clean"
#define STORE_SHARED_NOTE "shared"
/* Opens of an account that may find its folder moved away under them
 * (by removals that follow one another) before one gives up. */
#define STORE_OPEN_TRIES 3

/* A change committed under the handle's mutex, told to the hub after. */
struct store_pending {
	char *mailbox;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	enum hub_change_kind kind;
	uint64_t modseq;
};

/* Log a failed file system call (errno) on PATH/NAME; its store error. */
static enum store_error store_folder_fail(const char *what, const char *path, const char *name)
{
	int err = errno;

	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"%s\" path=%s/%s error=\"%s\"",
		  what, path, name, strerror(err));
	return err == ENOSPC || err == EDQUOT ? STORE_ERR_NO_SPACE : STORE_ERR_IO;
}

/* Open `name` in the folder fd (at `path`, for logs), never through a
 * symbolic link; with `create`, make it first, durably when new (an
 * acknowledged message must not vanish with a folder whose entry was
 * never on disk). The new folder's descriptor, or -1: logged, except
 * STORE_ERR_GONE (missing, without `create`). */
static int store_folder_open(int fd, const char *path, const char *name, bool create,
			     enum store_error *err_r)
{
	int next;

	if (create && durable_mkdir(fd, name, 0700) < 0) {
		*err_r = store_folder_fail("cannot create folder", path, name);
		return -1;
	}
	next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (next < 0)
		*err_r = !create && errno == ENOENT ? STORE_ERR_GONE :
			store_folder_fail("cannot open folder", path, name);
	return next;
}

/* Open (with `create`, make) DATA/mail/DOMAIN/LOCAL and its msg/ and
 * fill acct->path and acct->msg_fd; *account_fd_r gets the account
 * folder, open. */
static enum store_error store_make_folders(struct store_account *acct, const char *data_dir,
					   bool create, int *account_fd_r)
{
	const char *at = strchr(acct->address, '@');
	enum store_error err = STORE_OK;
	char local[STORE_ADDRESS_MAX + 1];
	char *mail, *domain;
	int fd, next;

	*account_fd_r = -1;
	snprintf(local, sizeof(local), "%.*s", (int)(at - acct->address), acct->address);
	free(acct->path);
	if (asprintf(&mail, "%s/mail", data_dir) < 0 ||
	    asprintf(&domain, "%s/%s", mail, at + 1) < 0 ||
	    asprintf(&acct->path, "%s/%s", domain, local) < 0)
		abort();
	if (create && durable_mkdir(AT_FDCWD, data_dir, 0700) < 0) {
		err = store_folder_fail("cannot create folder", data_dir, ".");
		goto out;
	}
	if ((fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = store_folder_fail("cannot open folder", data_dir, ".");
		goto out;
	}
	next = store_folder_open(fd, data_dir, "mail", create, &err);
	close(fd);
	if ((fd = next) >= 0) {
		next = store_folder_open(fd, mail, at + 1, create, &err);
		close(fd);
	}
	if ((fd = next) >= 0) {
		*account_fd_r = store_folder_open(fd, domain, local, create, &err);
		close(fd);
	}
	if (*account_fd_r >= 0)
		acct->msg_fd = store_folder_open(*account_fd_r, acct->path, STORE_MSG_DIR, create,
						 &err);
out:
	free(mail);
	free(domain);
	return err;
}

struct store_account *store_account_new(char *address)
{
	struct store_account *acct = calloc(1, sizeof(*acct));

	if (acct == NULL)
		abort();
	acct->address = address;
	acct->msg_fd = -1;
	acct->lock_fd = -1;
	pthread_mutex_init(&acct->mutex, NULL);
	return acct;
}

/* Whether `name` exists in the folder fd: 1, 0, or -1 (logged). */
static int store_entry_exists(int fd, const char *path, const char *name)
{
	struct stat st;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	store_folder_fail("cannot check", path, name);
	return -1;
}

/* The marker's part of an open, with the flock held: remove the marker,
 * note a sharer, and say whether a repair is due. */
static enum store_error store_marker_open(struct store_account *acct, int account_fd,
					  bool exclusive, bool *repair_r)
{
	int clean = store_entry_exists(account_fd, acct->path, STORE_CLEAN_MARKER);
	int fd;

	*repair_r = false;
	if (clean < 0)
		return STORE_ERR_IO;
	/* From here on a crash must find no marker. */
	if (clean == 1 && durable_remove(account_fd, STORE_CLEAN_MARKER) < 0)
		return store_folder_fail("cannot remove the clean marker", acct->path, STORE_CLEAN_MARKER);
	if (exclusive) {
		/* no index yet: a new account, nothing to repair */
		if (clean == 0 &&
		    store_entry_exists(account_fd, acct->path, STORE_INDEX_NAME) != 0) {
			log_event(LOG_LEVEL_INFO, "store", NULL, NULL,
				  "msg=\"not closed cleanly: repairing\" user=%s", acct->address);
			*repair_r = true;
		}
		return STORE_OK;
	}
	/* No fsync: the note matters when a process dies, and then the page
	 * cache keeps it; a power loss takes the holders with it. Without
	 * room for it (a full disk) the account still opens. */
	fd = openat(account_fd, STORE_SHARED_NOTE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		store_folder_fail("cannot note a second opener", acct->path, STORE_SHARED_NOTE);
	else
		close(fd);
	return STORE_OK;
}

/* The marker's part of a clean close, with index.db closed. */
static void store_marker_close(struct store_account *acct)
{
	int account_fd, shared;

	/* Anyone else still holding it (here or in another process) writes
	 * the marker when it closes; the conversion is not atomic, so losing
	 * the lock on the way only means no marker (a repair next time). */
	if (flock(acct->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return;
	account_fd = open(acct->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (account_fd < 0) {
		store_folder_fail("cannot open folder", acct->path, ".");
		return;
	}
	shared = store_entry_exists(account_fd, acct->path, STORE_SHARED_NOTE);
	/* A file removed from msg/ must not come back after the marker. */
	if (shared == 0 && (!atomic_load(&acct->msg_unsynced) || fsync(acct->msg_fd) == 0) &&
	    durable_create(account_fd, STORE_CLEAN_MARKER) < 0 && errno != EEXIST)
		store_folder_fail("cannot write the clean marker", acct->path, STORE_CLEAN_MARKER);
	close(account_fd);
}

/* Whether the folder open at account_fd is still the one at `path`: a
 * removal (store_remove_begin) that held it while this open waited for
 * the flock has moved it aside. 1, 0, or -1 (logged). The descriptor
 * keeps the old folder's inode in use, so no new folder can have it. */
static int store_folder_moved(int account_fd, const char *path)
{
	struct stat held, there;

	if (fstat(account_fd, &held) < 0) {
		store_folder_fail("cannot check", path, ".");
		return -1;
	}
	if (lstat(path, &there) < 0) {
		if (errno == ENOENT)
			return 1;
		store_folder_fail("cannot check", path, ".");
		return -1;
	}
	return held.st_dev != there.st_dev || held.st_ino != there.st_ino;
}

/* Open the account's folders and take the shared flock (*exclusive_r:
 * the exclusive one was free, see store_account_load) on the folder that
 * is still the account's. An open that raced a removal tries again
 * (`create`: a new folder) or, without `create`, answers STORE_ERR_GONE. */
static enum store_error store_account_lock(struct store_account *acct, const char *data_dir,
					   bool create, int *account_fd_r, bool *exclusive_r)
{
	enum store_error err;
	int moved;

	for (unsigned tries = 0;; tries++) {
		if ((err = store_make_folders(acct, data_dir, create, account_fd_r)) != STORE_OK)
			return err;
		acct->lock_fd = openat(*account_fd_r, "lock", O_RDWR | (create ? O_CREAT : 0) |
				       O_NOFOLLOW | O_CLOEXEC, 0600);
		if (acct->lock_fd < 0)
			return !create && errno == ENOENT ? STORE_ERR_GONE :
				store_folder_fail("cannot open lock", acct->path, "lock");
		*exclusive_r = flock(acct->lock_fd, LOCK_EX | LOCK_NB) == 0;
		if (!*exclusive_r && flock(acct->lock_fd, LOCK_SH) < 0)
			return store_folder_fail("cannot lock", acct->path, "lock");
		if ((moved = store_folder_moved(*account_fd_r, acct->path)) <= 0)
			return moved < 0 ? STORE_ERR_IO : STORE_OK;
		/* the lock is of a folder no longer the account's */
		close(acct->lock_fd);
		close(acct->msg_fd);
		close(*account_fd_r);
		acct->lock_fd = acct->msg_fd = *account_fd_r = -1;
		if (!create)
			return STORE_ERR_GONE;
		if (tries == STORE_OPEN_TRIES) {
			log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
				  "msg=\"account folder keeps moving while opened\" user=%s",
				  acct->address);
			return STORE_ERR_IO;
		}
	}
}

enum store_error store_account_load(struct store_account *acct, const char *data_dir, bool create)
{
	enum store_error err;
	bool exclusive = false, repair;
	int account_fd = -1, index;

	store_check_off_loop(__func__);
	acct->data_dir = strdup(data_dir);
	if (acct->data_dir == NULL)
		abort();
	/* Every open handle holds a shared flock; the one that finds nobody
	 * else here (exclusive) may repair, since no append is in flight. */
	if ((err = store_account_lock(acct, data_dir, create, &account_fd, &exclusive)) != STORE_OK)
		goto out;
	if (!create) {
		/* a folder without its index is no store to go on with */
		index = store_entry_exists(account_fd, acct->path, STORE_INDEX_NAME);
		if (index <= 0) {
			err = index < 0 ? STORE_ERR_IO : STORE_ERR_GONE;
			goto out;
		}
	}
	if ((err = store_marker_open(acct, account_fd, exclusive, &repair)) != STORE_OK)
		goto out;
	if ((err = store_schema_open(acct)) != STORE_OK)
		goto out;
	if (repair) {
		if ((err = store_repair(acct)) != STORE_OK)
			goto out;
		/* repaired: what sharing there was is over */
		if (unlinkat(account_fd, STORE_SHARED_NOTE, 0) < 0 && errno != ENOENT)
			store_folder_fail("cannot remove", acct->path, STORE_SHARED_NOTE);
	}
	if (exclusive && flock(acct->lock_fd, LOCK_SH) < 0)
		err = store_folder_fail("cannot lock", acct->path, "lock");
out:
	if (account_fd >= 0)
		close(account_fd);
	return err;
}

void store_account_unload(struct store_account *acct, bool clean)
{
	store_check_off_loop(__func__);
	store_views_free(acct);
	store_parts_cache_free(&acct->parts_cache);
	db_close(&acct->db);
	if (clean && acct->lock_fd >= 0 && acct->msg_fd >= 0)
		store_marker_close(acct);
	if (acct->msg_fd >= 0)
		close(acct->msg_fd);
	if (acct->lock_fd >= 0)
		close(acct->lock_fd);
	acct->msg_fd = acct->lock_fd = -1;
}

void store_account_free(struct store_account *acct)
{
	pthread_mutex_destroy(&acct->mutex);
	free(acct->address);
	free(acct->data_dir);
	free(acct->path);
	free(acct);
}

enum store_error store_open(const char *data_dir, const char *address,
			    struct store_account **acct_r)
{
	struct store_account *acct;
	enum store_error err;
	char *canon;

	*acct_r = NULL;
	if (data_dir == NULL || address == NULL || (canon = store_address_canon(address)) == NULL)
		return STORE_ERR_INVALID;
	acct = store_account_new(canon);
	if ((err = store_account_load(acct, data_dir, true)) != STORE_OK) {
		store_account_unload(acct, false);
		store_account_free(acct);
		return err;
	}
	*acct_r = acct;
	return STORE_OK;
}

void store_close(struct store_account **acctp)
{
	struct store_account *acct = *acctp;

	if (acct == NULL)
		return;
	/* a shared handle is given back with store_account_put */
	if (acct->root != NULL)
		abort();
	*acctp = NULL;
	store_account_unload(acct, true);
	store_account_free(acct);
}

void store_msg_unlink(struct store_account *acct, const char *name)
{
	unlinkat(acct->msg_fd, name, 0);
	atomic_store(&acct->msg_unsynced, true);
}

void store_enter(struct store_account *acct)
{
	store_check_off_loop(__func__);
	pthread_mutex_lock(&acct->mutex);
}

/* Tell the hub (and, for a handle outside the server, the running
 * server) of the changes committed under the mutex. */
static void store_report(struct store_account *acct, struct store_pending *pending, size_t n)
{
	struct hub_change *changes;

	if (n == 0)
		return;
	if ((changes = calloc(n, sizeof(*changes))) == NULL)
		abort();
	/* Outside the mutex: a watcher called at once (loop NULL) may use
	 * the handle. The caller's reference keeps acct->address valid. */
	for (size_t i = 0; i < n; i++) {
		changes[i] = (struct hub_change){
			.address = acct->address,
			.mailbox = pending[i].mailbox,
			.mailbox_id = pending[i].mailbox_id,
			.uidvalidity = pending[i].uidvalidity,
			.kind = pending[i].kind,
			.modseq = pending[i].modseq,
		};
		hub_notify(&changes[i]);
	}
	/* A handle of the admin commands (tern import): the sessions are the
	 * running server's, whose hub is in its own process. */
	if (acct->root == NULL)
		store_changes_forward(acct->data_dir, changes, n);
	for (size_t i = 0; i < n; i++)
		free(pending[i].mailbox);
	free(changes);
}

void store_leave(struct store_account *acct)
{
	struct store_pending *pending = acct->pending;
	size_t n = acct->n_pending;
	char **unlinks = acct->unlinks;
	size_t n_unlinks = acct->n_unlinks;

	acct->pending = NULL;
	acct->n_pending = acct->cap_pending = 0;
	acct->unlinks = NULL;
	acct->n_unlinks = acct->cap_unlinks = 0;
	pthread_mutex_unlock(&acct->mutex);
	store_report(acct, pending, n);
	free(pending);
	/* File names are never reused, and the caller's reference keeps
	 * msg_fd open: these need no mutex. */
	for (size_t i = 0; i < n_unlinks; i++) {
		store_msg_unlink(acct, unlinks[i]);
		free(unlinks[i]);
	}
	free(unlinks);
}

void store_notify(struct store_account *acct, const struct store_box *box,
		  enum hub_change_kind kind, uint64_t modseq)
{
	struct store_pending *p;

	if (acct->n_pending == acct->cap_pending) {
		acct->cap_pending = acct->cap_pending == 0 ? 4 : acct->cap_pending * 2;
		acct->pending = realloc(acct->pending, acct->cap_pending * sizeof(*acct->pending));
		if (acct->pending == NULL)
			abort();
	}
	p = &acct->pending[acct->n_pending++];
	p->mailbox = strdup(box->name);
	if (p->mailbox == NULL)
		abort();
	p->mailbox_id = box->id;
	p->uidvalidity = box->uidvalidity;
	p->kind = kind;
	p->modseq = modseq;
}

void store_notify_rollback(struct store_account *acct, size_t mark)
{
	while (acct->n_pending > mark)
		free(acct->pending[--acct->n_pending].mailbox);
}

void store_release_memory(struct store_account *acct)
{
	store_enter(acct);
	db_release_memory(acct->db);
	store_parts_cache_free(&acct->parts_cache);
	store_leave(acct);
}

const char *store_path(const struct store_account *acct)
{
	return acct->path;
}

uint64_t store_account_id(const struct store_account *acct)
{
	return acct->id;
}
