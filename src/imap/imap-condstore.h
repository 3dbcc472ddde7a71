/* imap-condstore - the session's CONDSTORE and QRESYNC state (RFC 7162
 * 3.1, 3.2.3): turning CONDSTORE on, by ENABLE or implicitly by one of
 * the "CONDSTORE enabling commands", and reading a mod-sequence from a
 * command's arguments. Internal to src/imap.
 *
 * NOMODSEQ (3.1.2.2) is never sent: every tern mailbox keeps a MODSEQ
 * per message, so every mailbox answers HIGHESTMODSEQ. */
#ifndef TERN_IMAP_IMAP_CONDSTORE_H
#define TERN_IMAP_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-session.h"

/* A CONDSTORE enabling command runs (3.1): from now on every untagged
 * FETCH carries MODSEQ. The first one with a mailbox selected sends
 * "* OK [HIGHESTMODSEQ n]" for it (3.1, 3.1.2.1), n being what the
 * session has been told up to (imap_selected_modseq). Nothing when
 * already on. */
void imap_condstore_enable(struct imap_session *s);

/* "tag OK [HIGHESTMODSEQ n] text" for a command that expunged (EXPUNGE,
 * UID EXPUNGE, MOVE: RFC 7162 3.2.7, 3.2.9, RFC 6851 4.4), once the
 * sync has told the expunges (call it as imap_sync's done): n is what
 * the session has been told up to, so never above an expunge still
 * owed (RFC 7162 3.2). */
void imap_cmd_done_modseq(struct imap_cmd *cmd, const char *text);

/* A mod-sequence argument (RFC 7162 7): mod-sequence-value (1 .. 2^63-1),
 * or mod-sequence-valzer when `zero` (0 allowed too). False for
 * anything else. */
bool imap_modseq_parse(const struct imap_arg *arg, bool zero, uint64_t *modseq_r);

#endif
