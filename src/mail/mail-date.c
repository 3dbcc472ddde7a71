/* mail-date - the RFC 5322 date-time writer; see mail-date.h. */
#include "mail/mail-date.h"

#include <stdio.h>

int mail_date_write(time_t when, char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long offset;
	int n;

	if (localtime_r(&when, &tm) == NULL)
		return -1;
	offset = tm.tm_gmtoff / 60;
	n = snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		     tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, offset < 0 ? '-' : '+', (offset < 0 ? -offset : offset) / 60,
		     (offset < 0 ? -offset : offset) % 60);
	return n > 0 && (size_t)n < size ? 0 : -1;
}
