/* root-control - the store's commands on the server's control socket
 * (core/control.h): `store-release ADDRESS` closes the account's handle
 * when it only lingers (store_root_linger), so that `tern user del` can
 * take the account's folder at once; `store-gone ADDRESS`, after it took
 * it, wakes the account's idle sessions (store_root_gone). */
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

static bool store_control_gone(void *ctx, const char *arg, char *out)
{
	struct store_root *root = ctx;

	if (!store_root_gone(root, arg)) {
		snprintf(out, CONTROL_TEXT_MAX + 1, "not an address");
		return false;
	}
	snprintf(out, CONTROL_TEXT_MAX + 1, "told");
	return true;
}

const struct control_command store_control_commands[] = {
	{ "store-release", CONTROL_ARG_REQUIRED, store_control_release },
	{ "store-gone", CONTROL_ARG_REQUIRED, store_control_gone },
};
const size_t store_control_commands_n =
	sizeof(store_control_commands) / sizeof(store_control_commands[0]);
