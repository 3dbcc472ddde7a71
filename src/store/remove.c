/* remove - taking an account's folder away when the account is deleted;
 * see store.h (store_remove_begin). The folder is first renamed out of the
 * account's path, atomically, then removed: no moment exists at which a
 * new account of the same address could find the old mail. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store-private.h"

/* The folder of DATA/mail/DOMAIN that keeps removed accounts' folders
 * (--keep-mail), and the one they pass through on the way out otherwise:
 * what is left there (a `user del` killed between the move and the
 * removal) is removed by the next removal in the domain. */
#define STORE_REMOVED_DIR ".deleted"
#define STORE_REMOVING_DIR ".deleting"
/* Names tried for one folder moved aside in the same second. */
#define STORE_REMOVE_TRIES 100

struct store_removal {
	char *domain_path;   /* DATA/mail/DOMAIN */
	char *local;         /* LOCAL */
	int domain_fd;       /* DATA/mail/DOMAIN, or -1: the account has no folder */
	int lock_fd;         /* LOCAL/lock, held exclusively */
};

static enum store_error store_remove_fail(const char *what, const char *path)
{
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL, "msg=\"%s\" path=%s error=\"%s\"",
		  what, path, strerror(errno));
	return STORE_ERR_IO;
}

void store_remove_abort(struct store_removal **rmp)
{
	struct store_removal *rm = *rmp;

	if (rm == NULL)
		return;
	*rmp = NULL;
	if (rm->lock_fd >= 0)
		close(rm->lock_fd);
	if (rm->domain_fd >= 0)
		close(rm->domain_fd);
	free(rm->domain_path);
	free(rm->local);
	free(rm);
}

static int store_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Remove what an interrupted removal left in DOMAIN/.deleting (never a
 * folder kept with --keep-mail: those are in .deleted). */
static void store_remove_leftovers(const char *domain_path)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", domain_path, STORE_REMOVING_DIR);
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	/* FTW_PHYS: a symbolic link is removed, never followed */
	if (nftw(path, store_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
		log_event(LOG_LEVEL_INFO, "store", NULL, NULL,
			  "msg=\"removed what an interrupted account deletion left\" path=%s", path);
	else
		store_remove_fail("cannot remove what an interrupted account deletion left", path);
}

enum store_error store_remove_begin(const char *data_dir, const char *address,
				    struct store_removal **rm_r)
{
	struct store_removal *rm;
	char *canon = store_address_canon(address);
	char *at;
	int account_fd;

	*rm_r = NULL;
	if (canon == NULL)
		return STORE_ERR_INVALID;
	rm = calloc(1, sizeof(*rm));
	if (rm == NULL)
		abort();
	rm->domain_fd = -1;
	rm->lock_fd = -1;
	at = strchr(canon, '@');
	*at = '\0';
	rm->local = strdup(canon);
	if (rm->local == NULL || asprintf(&rm->domain_path, "%s/mail/%s", data_dir, at + 1) < 0)
		abort();
	free(canon);

	rm->domain_fd = open(rm->domain_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rm->domain_fd < 0 && errno != ENOENT) {
		store_remove_fail("cannot open folder", rm->domain_path);
		store_remove_abort(&rm);
		return STORE_ERR_IO;
	}
	if (rm->domain_fd >= 0)
		store_remove_leftovers(rm->domain_path);
	account_fd = rm->domain_fd < 0 ? -1 :
		openat(rm->domain_fd, rm->local, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (account_fd < 0) {
		if (rm->domain_fd >= 0 && errno != ENOENT) {
			store_remove_fail("cannot open account folder", rm->domain_path);
			store_remove_abort(&rm);
			return STORE_ERR_IO;
		}
		/* no folder: nothing to take away */
		if (rm->domain_fd >= 0)
			close(rm->domain_fd);
		rm->domain_fd = -1;
		*rm_r = rm;
		return STORE_OK;
	}
	rm->lock_fd = openat(account_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(account_fd);
	if (rm->lock_fd < 0) {
		store_remove_fail("cannot open lock", rm->domain_path);
		store_remove_abort(&rm);
		return STORE_ERR_IO;
	}
	if (flock(rm->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		enum store_error e = errno == EWOULDBLOCK ? STORE_ERR_LOCKED :
			store_remove_fail("cannot lock account", rm->domain_path);

		store_remove_abort(&rm);
		return e;
	}
	*rm_r = rm;
	return STORE_OK;
}

/* Rename DOMAIN/LOCAL to DOMAIN/ASIDE/LOCAL.STAMP[.N]; *name_r gets
 * "ASIDE/LOCAL.STAMP[.N]" (malloc'd). */
static enum store_error store_remove_move(struct store_removal *rm, const char *aside,
					  char **name_r)
{
	char stamp[32], name[512];
	time_t now = time(NULL);
	struct tm tm;
	int aside_fd, rc = -1;

	if (mkdirat(rm->domain_fd, aside, 0700) < 0 && errno != EEXIST)
		return store_remove_fail("cannot create folder for removed accounts", rm->domain_path);
	aside_fd = openat(rm->domain_fd, aside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (aside_fd < 0)
		return store_remove_fail("cannot open folder for removed accounts", rm->domain_path);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i <= STORE_REMOVE_TRIES; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "%s.%s", rm->local, stamp);
		else
			snprintf(name, sizeof(name), "%s.%s.%d", rm->local, stamp, i);
		rc = renameat2(rm->domain_fd, rm->local, aside_fd, name, RENAME_NOREPLACE);
		if (rc == 0 || errno != EEXIST)
			break;
	}
	/* the move must outlive a crash, or the old mail could come back */
	if (rc < 0 || fsync(aside_fd) < 0 || fsync(rm->domain_fd) < 0) {
		store_remove_fail("cannot move account folder aside", rm->domain_path);
		close(aside_fd);
		return STORE_ERR_IO;
	}
	close(aside_fd);
	if (asprintf(name_r, "%s/%s", aside, name) < 0)
		abort();
	return STORE_OK;
}

enum store_error store_remove_commit(struct store_removal **rmp, bool keep, char **where_r)
{
	struct store_removal *rm = *rmp;
	enum store_error e;
	char *name = NULL;

	*where_r = NULL;
	*rmp = NULL;
	if (rm->domain_fd < 0) {
		store_remove_abort(&rm);
		return STORE_OK;
	}
	e = store_remove_move(rm, keep ? STORE_REMOVED_DIR : STORE_REMOVING_DIR, &name);
	if (e == STORE_OK) {
		if (asprintf(where_r, "%s/%s", rm->domain_path, name) < 0)
			abort();
		/* moved: sessions may open the address again (and find nothing) */
		close(rm->lock_fd);
		rm->lock_fd = -1;
		/* FTW_PHYS: a symbolic link is removed, never followed */
		if (!keep) {
			if (nftw(*where_r, store_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0) {
				free(*where_r);
				*where_r = NULL;
			} else {
				e = store_remove_fail("cannot remove folder", *where_r);
			}
		}
	}
	free(name);
	store_remove_abort(&rm);
	return e;
}
