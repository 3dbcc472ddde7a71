/* root-control - the store's commands on the server's control socket
 * (core/control.h, root-control.h): `store-release ADDRESS` closes the
 * account's handle when it only lingers (store_root_linger), so that `tern
 * user del` can take the account's folder at once; `store-changed CHANGE`
 * hands another process's committed change to the change hub. */
#include "store/root-control.h"

#include <stdio.h>

#include "store/store.h"

static bool store_control_release(void *ctx, const char *arg, char *out)
{
	struct store_root *root = ctx;

	snprintf(out, CONTROL_TEXT_MAX + 1, "%s",
		 store_root_release(root, arg) ? "closed" : "not lingering");
	return true;
}

/* Nothing of the store is read: the hub only wakes the watches of the
 * mailbox, whose sessions then read what changed from the index, as they
 * do for a change of their own process. */
static bool store_control_changed(void *ctx, const char *arg, char *out)
{
	char address[CONTROL_ARG_MAX + 1];
	struct hub_change change;

	(void)ctx;
	if (!store_change_parse(arg, &change, address)) {
		snprintf(out, CONTROL_TEXT_MAX + 1, "not a change");
		return false;
	}
	hub_notify(&change);
	out[0] = '\0';
	return true;
}

const struct control_command store_control_commands[] = {
	{ "store-release", CONTROL_ARG_REQUIRED, store_control_release },
	{ STORE_CHANGED_VERB, CONTROL_ARG_REQUIRED, store_control_changed },
};
const size_t store_control_commands_n =
	sizeof(store_control_commands) / sizeof(store_control_commands[0]);
