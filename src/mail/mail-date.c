/* mail-date - the RFC 5322 date-time writer, and the day of a Date:
 * header; see mail-date.h. */
#include "mail/mail-date.h"

#include <stdio.h>

static const char *const mail_date_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int mail_date_write(time_t when, char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct tm tm;
	long offset;
	int n;

	if (localtime_r(&when, &tm) == NULL)
		return -1;
	offset = tm.tm_gmtoff / 60;
	n = snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		     tm.tm_mday, mail_date_months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, offset < 0 ? '-' : '+', (offset < 0 ? -offset : offset) / 60,
		     (offset < 0 ? -offset : offset) % 60);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

uint32_t mail_date_day(int year, int month, int day)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
		return 0;
	if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return 0;
	return (uint32_t)(year * 10000 + month * 100 + day);
}

int mail_date_month(const char *s, size_t len)
{
	if (len != 3)
		return 0;
	for (int m = 0; m < 12; m++) {
		const char *name = mail_date_months[m];
		size_t i;

		/* Letters only on the name's side: | 0x20 lowers both cases. */
		for (i = 0; i < 3 && (s[i] | 0x20) == (name[i] | 0x20); i++)
			;
		if (i == 3)
			return m + 1;
	}
	return 0;
}

const char *mail_date_month_name(int month)
{
	return mail_date_months[month >= 1 && month <= 12 ? month - 1 : 0];
}

/* Skip white space, line ends and comments (RFC 5322 3.2.2 CFWS, nested). */
static size_t mail_date_cfws(const char *s, size_t len, size_t i)
{
	unsigned depth = 0;

	while (i < len) {
		char c = s[i];

		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		i++;
	}
	return i;
}

static size_t mail_date_digits(const char *s, size_t len, size_t i, int *n_r, size_t max)
{
	size_t start = i;
	int n = 0;

	while (i < len && i - start < max && s[i] >= '0' && s[i] <= '9')
		n = n * 10 + (s[i++] - '0');
	*n_r = n;
	return i - start;
}

uint32_t mail_date_parse_day(const char *s, size_t len)
{
	size_t i = mail_date_cfws(s, len, 0);
	size_t start, nd;
	int day, month, year;

	/* [day-of-week ","]: a name, and mailers that drop the comma. */
	start = i;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i > start) {
		i = mail_date_cfws(s, len, i);
		if (i < len && s[i] == ',')
			i = mail_date_cfws(s, len, i + 1);
	}
	nd = mail_date_digits(s, len, i, &day, 2);
	if (nd == 0)
		return 0;
	i = mail_date_cfws(s, len, i + nd);
	if (i + 3 > len || (month = mail_date_month(s + i, 3)) == 0)
		return 0;
	i = mail_date_cfws(s, len, i + 3);
	nd = mail_date_digits(s, len, i, &year, 4);
	if (nd < 2 || (i + nd < len && s[i + nd] >= '0' && s[i + nd] <= '9'))
		return 0;
	/* RFC 5322 4.3: 00-49 are 2000-2049, 50-99 and three digits add 1900. */
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	return mail_date_day(year, month, day);
}
