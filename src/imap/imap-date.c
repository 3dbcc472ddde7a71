/* imap-date - IMAP's date-time, read and written by hand so that no
 * locale or time zone of the server changes it. */
#include "imap/imap-date.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail/mail-date.h"

static bool imap_digits(const char *p, size_t n, int *value_r)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*value_r = v;
	return true;
}

bool imap_date_time_parse(const char *text, size_t len, int64_t *when_r)
{
	int day, month, year, hour, min, sec, zh, zm;
	struct tm tm;
	size_t daylen;
	int64_t when;

	/* day: " 7", "07" or "7" (date-day-fixed, and date-day of RFC 3501) */
	if (len > 0 && text[0] == ' ') {
		text++;
		len--;
		daylen = 1;
	} else {
		daylen = len > 1 && text[1] != '-' ? 2 : 1;
	}
	/* "-Mon-yyyy hh:mm:ss +zzzz" is 24 bytes */
	if (len != daylen + 24 || !imap_digits(text, daylen, &day))
		return false;
	text += daylen;
	if (text[0] != '-' || text[4] != '-' || text[9] != ' ' || text[12] != ':' ||
	    text[15] != ':' || text[18] != ' ' || (text[19] != '+' && text[19] != '-'))
		return false;
	month = mail_date_month(text + 1, 3);
	if (month == 0 || !imap_digits(text + 5, 4, &year) || !imap_digits(text + 10, 2, &hour) ||
	    !imap_digits(text + 13, 2, &min) || !imap_digits(text + 16, 2, &sec) ||
	    !imap_digits(text + 20, 2, &zh) || !imap_digits(text + 22, 2, &zm))
		return false;
	/* mail_date_day: 0 for a day the month does not have (31-Feb) */
	if (year < 1970 || mail_date_day(year, month, day) == 0 || hour > 23 || min > 59 ||
	    sec > 60 || zh > 23 || zm > 59)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	when = (int64_t)timegm(&tm);
	/* the zone says how far local time is ahead of UTC */
	when -= (text[19] == '+' ? 1 : -1) * (int64_t)(zh * 3600 + zm * 60);
	if (when < 0)
		return false;
	*when_r = when;
	return true;
}

void imap_date_time_write(int64_t when, char out[IMAP_DATE_TIME_MAX])
{
	time_t t = (time_t)when;
	struct tm tm;

	/* four-digit years only (RFC 9051 9: date-year) */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(out, IMAP_DATE_TIME_MAX, "01-Jan-1970 00:00:00 +0000");
		return;
	}
	/* the modulos only tell the compiler the widths */
	snprintf(out, IMAP_DATE_TIME_MAX, "%02u-%s-%04u %02u:%02u:%02u +0000",
		 (unsigned)tm.tm_mday % 100u, mail_date_month_name(tm.tm_mon + 1),
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}
