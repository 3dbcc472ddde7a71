/* store - what the files of src/store share: error and special-use
 * names, the database result mapping, and turning an address into the
 * names of its folders. Opening an account is in account.c (shared
 * handles in root.c), index.db's schema in schema.c, crash repair in
 * repair.c. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "store/store-private.h"

static const char *const store_error_names[] = {
	[STORE_OK] = "ok",
	[STORE_ERR_NOT_FOUND] = "not found",
	[STORE_ERR_EXISTS] = "already exists",
	[STORE_ERR_INVALID] = "invalid argument",
	[STORE_ERR_TOO_BIG] = "message too big",
	[STORE_ERR_LOCKED] = "locked",
	[STORE_ERR_IO] = "i/o error",
	[STORE_ERR_CORRUPT] = "store corrupt",
	[STORE_ERR_NO_SPACE] = "no space left",
	[STORE_ERR_GONE] = "mailbox gone",
	[STORE_ERR_HAS_CHILDREN] = "mailbox has children",
};
_Static_assert(sizeof(store_error_names) / sizeof(store_error_names[0]) == STORE_ERR__COUNT,
	       "store_error_names must cover enum store_error");

const char *store_error_name(enum store_error error)
{
	if ((unsigned)error >= STORE_ERR__COUNT)
		return "unknown";
	return store_error_names[error];
}

static const char *const store_special_attrs[] = {
	[STORE_SPECIAL_NONE] = NULL,
	[STORE_SPECIAL_DRAFTS] = "\\Drafts",
	[STORE_SPECIAL_SENT] = "\\Sent",
	[STORE_SPECIAL_JUNK] = "\\Junk",
	[STORE_SPECIAL_TRASH] = "\\Trash",
	[STORE_SPECIAL_ARCHIVE] = "\\Archive",
};
_Static_assert(sizeof(store_special_attrs) / sizeof(store_special_attrs[0]) == STORE_SPECIAL__COUNT,
	       "store_special_attrs must cover enum store_special");

const char *store_special_attr(enum store_special special)
{
	if ((unsigned)special >= STORE_SPECIAL__COUNT)
		return NULL;
	return store_special_attrs[special];
}

void store_check_off_loop(const char *function)
{
	if (loop_current() == NULL)
		return;
	log_event(LOG_LEVEL_ERROR, "store", NULL, NULL,
		  "msg=\"blocking store call on an I/O loop\" function=%s", function);
	abort();
}

enum store_error store_db_result(enum db_result result)
{
	switch (result) {
	case DB_OK:
	case DB_ROW:
		return STORE_OK;
	case DB_ERR_EXISTS:
		return STORE_ERR_EXISTS;
	case DB_ERR_NO_SPACE:
		return STORE_ERR_NO_SPACE;
	case DB_ERR_NEWER:
		return STORE_ERR_CORRUPT;
	case DB_ERR_CONSTRAINT:
	case DB_ERR_IO:
	case DB_RESULT__COUNT:
		break;
	}
	return STORE_ERR_IO;
}

/* --- paths --------------------------------------------------------------- */

/* One part of an address becomes a folder name: it must not escape. */
static bool store_path_part_ok(const char *s, size_t len)
{
	if (len == 0 || len > 128 || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
		if (c == '.' && i + 1 < len && s[i + 1] == '.')
			return false;
	}
	return true;
}

char *store_address_canon(const char *address)
{
	size_t len = strlen(address);
	const char *at = strchr(address, '@');
	char *out;

	if (len > STORE_ADDRESS_MAX || at == NULL || strchr(at + 1, '@') != NULL)
		return NULL;
	if (!store_path_part_ok(address, (size_t)(at - address)) ||
	    !store_path_part_ok(at + 1, strlen(at + 1)))
		return NULL;
	out = strdup(address);
	if (out == NULL)
		abort();
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}
