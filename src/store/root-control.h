/* root-control - the store's commands on the server's control socket,
 * ctx the store root: "store-release ADDRESS" (store_root_release; ok
 * either way, its text says whether a handle was closed) and "store-gone
 * ADDRESS" (store_root_gone). */
#ifndef TERN_STORE_ROOT_CONTROL_H
#define TERN_STORE_ROOT_CONTROL_H

#include <stddef.h>

#include "core/control.h"

extern const struct control_command store_control_commands[];
extern const size_t store_control_commands_n;

#endif
