/* mail-date - the RFC 5322 3.3 date-time that tern writes into the
 * headers it adds (Received, and Date for local submission): local time
 * with its numeric offset, "Tue, 1 Dec 2026 12:00:00 +0100", the names
 * written out so that no locale changes them; and the day a Date: header
 * names, for SEARCH SENTBEFORE/SENTON/SENTSINCE. No I/O. */
#ifndef TERN_MAIL_MAIL_DATE_H
#define TERN_MAIL_MAIL_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Room for any date mail_date_write writes, with its NUL. */
#define MAIL_DATE_MAX 40

/* Write `when` into out (size bytes, at least MAIL_DATE_MAX for any
 * date). Returns 0, or -1 when the time cannot be converted or does not
 * fit. */
int mail_date_write(time_t when, char *out, size_t size);

/* A day as one comparable number: year * 10000 + month * 100 + day
 * (20261201). 0 is no day. */
uint32_t mail_date_day(int year, int month, int day);

/* The month an English three-letter abbreviation names ("Jan" .. "Dec",
 * any ASCII case), 1 to 12; 0 for anything else. */
int mail_date_month(const char *s, size_t len);

/* The abbreviation of month 1 to 12 ("Jan" .. "Dec"); "Jan" for any
 * other number. */
const char *mail_date_month_name(int month);

/* The day of the date-time in a Date: header's value (RFC 5322 3.3, and
 * the obsolete forms of 4.3: two- and three-digit years, comments and
 * folding), time and zone disregarded as RFC 9051 6.4.4 SENTON asks;
 * 0 when the value holds no valid date. */
uint32_t mail_date_parse_day(const char *value, size_t len);

#endif
