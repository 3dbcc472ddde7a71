/* change-forward - a store opened outside the server (store_open: tern
 * import) tells the running server's change hub what it committed, over
 * the control socket ("store-changed", root-control.h). The hub is in
 * the server's process; without this, an IDLE session would never hear of
 * an import, and the others only at a command that reads the index
 * anyway (NOOP). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/number.h"
#include "store/root-control.h"

bool store_change_format(const struct hub_change *change, char *out, size_t outsize)
{
	const char *kind = hub_change_kind_name(change->kind);
	int n;

	if (kind == NULL || change->address == NULL || change->address[0] == '\0' ||
	    change->mailbox_id < 0)
		return false;
	for (const char *c = change->address; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	n = snprintf(out, outsize, "%s,%lld,%u,%llu,%s", kind, (long long)change->mailbox_id,
		     (unsigned)change->uidvalidity, (unsigned long long)change->modseq,
		     change->address);
	return n > 0 && (size_t)n < outsize && (size_t)n <= CONTROL_ARG_MAX;
}

/* The next comma-ended field of *p as a number at most max. */
static bool change_number(const char **p, uint64_t max, uint64_t *value_r)
{
	const char *comma = strchr(*p, ',');

	if (comma == NULL || !number_parse_u64(*p, (size_t)(comma - *p), max, value_r))
		return false;
	*p = comma + 1;
	return true;
}

bool store_change_parse(const char *arg, struct hub_change *change_r, char *address)
{
	const char *comma = strchr(arg, ',');
	const char *p;
	uint64_t id, uidvalidity, modseq;
	size_t len;
	int kind = -1;

	memset(change_r, 0, sizeof(*change_r));
	if (comma == NULL)
		return false;
	for (int k = 0; k < HUB_CHANGE__COUNT && kind < 0; k++) {
		const char *name = hub_change_kind_name((enum hub_change_kind)k);

		if (strlen(name) == (size_t)(comma - arg) && memcmp(name, arg, strlen(name)) == 0)
			kind = k;
	}
	p = comma + 1;
	if (kind < 0 || !change_number(&p, INT64_MAX, &id) ||
	    !change_number(&p, UINT32_MAX, &uidvalidity) || !change_number(&p, INT64_MAX, &modseq))
		return false;
	len = strlen(p);
	if (len == 0 || len > CONTROL_ARG_MAX)
		return false;
	memcpy(address, p, len + 1);
	change_r->address = address;
	change_r->mailbox_id = (int64_t)id;
	change_r->uidvalidity = (uint32_t)uidvalidity;
	change_r->kind = (enum hub_change_kind)kind;
	change_r->modseq = modseq;
	return true;
}

void store_changes_forward(const char *data_dir, const struct hub_change *changes, size_t n)
{
	static atomic_bool warned;
	char request[CONTROL_LINE_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		size_t verb = strlen(STORE_CHANGED_VERB " ");
		enum control_call_result r;
		char *text = NULL;

		memcpy(request, STORE_CHANGED_VERB " ", verb);
		if (!store_change_format(&changes[i], request + verb, sizeof(request) - verb))
			continue;
		r = control_call(data_dir, request, &text);
		if (r == CONTROL_CALL_NO_SERVER) {
			free(text);
			return;     /* nobody to tell: nor about the rest */
		}
		if (r != CONTROL_CALL_OK && !atomic_exchange(&warned, true))
			log_warn("msg=\"the running server was not told of a change\" error=\"%.200s\"",
				 text != NULL ? text : "?");
		free(text);
	}
}
