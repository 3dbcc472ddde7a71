/* mail-date - the RFC 5322 3.3 date-time that tern writes into the
 * headers it adds (Received, and Date for local submission): local time
 * with its numeric offset, "Tue, 1 Dec 2026 12:00:00 +0100", the names
 * written out so that no locale changes them. No I/O. */
#ifndef TERN_MAIL_MAIL_DATE_H
#define TERN_MAIL_MAIL_DATE_H

#include <stddef.h>
#include <time.h>

/* Room for any date mail_date_write writes, with its NUL. */
#define MAIL_DATE_MAX 40

/* Write `when` into out (size bytes, at least MAIL_DATE_MAX for any
 * date). Returns 0, or -1 when the time cannot be converted or does not
 * fit. */
int mail_date_write(time_t when, char *out, size_t size);

#endif
