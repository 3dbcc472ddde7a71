/* fuzz-mail-date - libFuzzer harness for the Date: header reader
 * (mail/mail-date.h): any input gives 0 or a real day, and a day written
 * back by mail_date_write reads as the same day. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t d = mail_date_parse_day((const char *)data, size);
	char out[MAIL_DATE_MAX];
	time_t when = 0;
	struct tm tm;

	if (d != 0 && mail_date_day((int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100)) != d)
		abort();
	memcpy(&when, data, size < sizeof(when) ? size : sizeof(when));
	when %= (time_t)253402300799;   /* before year 10000 */
	if (when < 0)
		when = -when;
	if (mail_date_write(when, out, sizeof(out)) == 0 && localtime_r(&when, &tm) != NULL &&
	    mail_date_parse_day(out, strlen(out)) !=
		    mail_date_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday))
		abort();
	return 0;
}
