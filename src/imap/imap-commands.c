/* imap-commands - the command table (STYLE habit 1): every IMAP command
 * with the states it is allowed in and its flags; adding a command is
 * adding a row. The run functions are declared in imap-commands.h. */
#include <strings.h>

#include "imap/imap-commands.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ANY (IMAP_IN(IMAP_STATE_NOT_AUTHENTICATED) | IMAP_IN(IMAP_STATE_AUTHENTICATED) | \
	     IMAP_IN(IMAP_STATE_SELECTED))
#define NOT_AUTH IMAP_IN(IMAP_STATE_NOT_AUTHENTICATED)
#define AUTH (IMAP_IN(IMAP_STATE_AUTHENTICATED) | IMAP_IN(IMAP_STATE_SELECTED))
#define SELECTED IMAP_IN(IMAP_STATE_SELECTED)

static const struct imap_command imap_commands[] = {
	/* RFC 9051 6.1 */
	{ "CAPABILITY", ANY, 0, cmd_capability, NULL, NULL },
	{ "NOOP", ANY, IMAP_CMD_SYNC, cmd_noop, NULL, NULL },
	{ "LOGOUT", ANY, 0, cmd_logout, NULL, NULL },
	{ "ID", ANY, 0, cmd_id, NULL, NULL },                 /* RFC 2971 */
	/* 6.2 */
	{ "STARTTLS", NOT_AUTH, 0, cmd_starttls, NULL, NULL },
	{ "AUTHENTICATE", NOT_AUTH, 0, cmd_authenticate, NULL, NULL },
	{ "LOGIN", NOT_AUTH, 0, cmd_login, NULL, NULL },
	/* 6.3 */
	/* RFC 9051 6.3.1: clients send it before SELECT, and servers need
	 * not check that they do */
	{ "ENABLE", AUTH, 0, cmd_enable, NULL, NULL },
	{ "NAMESPACE", AUTH, 0, cmd_namespace, NULL, NULL },  /* RFC 2342 */
	{ "CREATE", AUTH, 0, cmd_create, NULL, NULL },
	{ "DELETE", AUTH, 0, cmd_delete, NULL, NULL },
	{ "RENAME", AUTH, 0, cmd_rename, NULL, NULL },
	{ "SUBSCRIBE", AUTH, 0, cmd_subscribe, NULL, NULL },
	{ "UNSUBSCRIBE", AUTH, 0, cmd_unsubscribe, NULL, NULL },
	{ "LIST", AUTH, 0, cmd_list, NULL, NULL },
	{ "LSUB", AUTH, 0, cmd_lsub, NULL, NULL },            /* RFC 3501 6.3.9 */
	{ "STATUS", AUTH, 0, cmd_status, NULL, NULL },
	{ "APPEND", AUTH, IMAP_CMD_SYNC, cmd_append, cmd_append_stream, cmd_append_stream_max },
	{ "SELECT", AUTH, 0, cmd_select, NULL, NULL },
	{ "EXAMINE", AUTH, 0, cmd_examine, NULL, NULL },
	{ "IDLE", AUTH, IMAP_CMD_SYNC, cmd_idle, NULL, NULL }, /* RFC 2177 */
	/* 6.4 */
	{ "CLOSE", SELECTED, 0, cmd_close, NULL, NULL },
	{ "UNSELECT", SELECTED, 0, cmd_unselect, NULL, NULL }, /* RFC 3691 */
	{ "EXPUNGE", SELECTED, IMAP_CMD_UID, cmd_expunge, NULL, NULL },
	{ "CHECK", SELECTED, IMAP_CMD_SYNC, cmd_checkpoint, NULL, NULL }, /* RFC 3501 6.4.1 */
	{ "STORE", SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, cmd_store, NULL, NULL },
	{ "COPY", SELECTED, IMAP_CMD_UID, cmd_copy, NULL, NULL },
	{ "MOVE", SELECTED, IMAP_CMD_UID, cmd_move, NULL, NULL }, /* RFC 6851 */
	{ "FETCH", SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, cmd_fetch, NULL, NULL },
	{ "SEARCH", SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, cmd_search, NULL, NULL },
};

const struct imap_command *imap_command_find(const char *name, bool uid)
{
	for (size_t i = 0; i < ARRAY_SIZE(imap_commands); i++) {
		const struct imap_command *def = &imap_commands[i];

		if (strcasecmp(def->name, name) == 0)
			return !uid || (def->flags & IMAP_CMD_UID) != 0 ? def : NULL;
	}
	return NULL;
}
