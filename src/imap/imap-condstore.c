/* imap-condstore - CONDSTORE turned on for a session, and mod-sequence
 * arguments; see imap-condstore.h. */
#include "imap/imap-condstore.h"

#include <stdio.h>

#include "imap/imap-selected.h"

void imap_condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	/* RFC 7162 3.1: the first enabling command with a mailbox selected
	 * tells its HIGHESTMODSEQ (SELECT's own is sent by cmd-select.c). */
	if (s->selected != NULL && s->state == IMAP_STATE_SELECTED)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)imap_selected_modseq(s->selected));
}

void imap_cmd_done_modseq(struct imap_cmd *cmd, const char *text)
{
	char code[48];

	snprintf(code, sizeof(code), "HIGHESTMODSEQ %llu",
		 (unsigned long long)imap_selected_modseq(cmd->s->selected));
	imap_cmd_done(cmd, IMAP_OK, code, "%s", text);
}

bool imap_modseq_parse(const struct imap_arg *arg, bool zero, uint64_t *modseq_r)
{
	/* imap_arg_number64 bounds it to 63 bits, as RFC 7162 3.1 does */
	return imap_arg_number64(arg, modseq_r) && (zero || *modseq_r > 0);
}
