/* imap-date - IMAP's date-time (RFC 9051 9: "date-time"), the internal
 * date APPEND gives and FETCH INTERNALDATE writes:
 * "17-Jul-1996 02:44:25 -0700". No I/O. Internal to src/imap. */
#ifndef TERN_IMAP_IMAP_DATE_H
#define TERN_IMAP_IMAP_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for what imap_date_time_write writes, with its NUL. */
#define IMAP_DATE_TIME_MAX 32

/* text[0..len) as a date-time (the day may be written " 7" or "07" or
 * "7"); *when_r gets seconds since the epoch (UTC). False for anything
 * else, or a date that does not exist (31-Feb), or a year before 1970. */
bool imap_date_time_parse(const char *text, size_t len, int64_t *when_r);

/* `when` in UTC as "dd-Mon-yyyy hh:mm:ss +0000", the day two digits. */
void imap_date_time_write(int64_t when, char out[IMAP_DATE_TIME_MAX]);

#endif
