/* root-control - the store on the server's control socket, ctx the store
 * root:
 *   "store-release ADDRESS"  store_root_release; ok either way, its text
 *                            says whether a handle was closed.
 *   "store-changed CHANGE"   a change another process (tern import)
 *                            committed to an account's index.db, told to
 *                            the server's change hub (hub_notify), so that
 *                            its sessions hear of it as of their own.
 * CHANGE is KIND,MAILBOX_ID,UIDVALIDITY,MODSEQ,ADDRESS: the kind's
 * hub_change_kind_name, three decimal numbers, the canonical address
 * (last: it may hold commas). The change carries no mailbox name. */
#ifndef TERN_STORE_ROOT_CONTROL_H
#define TERN_STORE_ROOT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/control.h"
#include "store/hub.h"

extern const struct control_command store_control_commands[];
extern const size_t store_control_commands_n;

/* The verb of a forwarded change. */
#define STORE_CHANGED_VERB "store-changed"

/* Write change's CHANGE argument into out (outsize bytes, at least
 * CONTROL_ARG_MAX + 1). Returns false, writing nothing usable, when it
 * cannot be one: an address that is not printable ASCII without spaces,
 * or too long, or a kind out of range. */
bool store_change_format(const struct hub_change *change, char *out, size_t outsize);

/* Parse a CHANGE argument into *change_r; its address points into
 * `address` (at least CONTROL_ARG_MAX + 1 bytes), its mailbox is NULL.
 * Returns false for anything that is not one (a missing field, a number
 * with a sign or out of range, an unknown kind, an empty address). */
bool store_change_parse(const char *arg, struct hub_change *change_r, char *address);

/* Tell the server running on data_dir about changes[0..n), one request
 * each (blocking: a connect and a line each way). Without a server, or
 * for a change that cannot be written, nothing happens: sessions opened
 * later read the index as it is. Another failure is logged once per
 * process. */
void store_changes_forward(const char *data_dir, const struct hub_change *changes, size_t n);

#endif
