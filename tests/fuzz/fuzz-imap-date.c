/* fuzz-imap-date - libFuzzer harness for IMAP's date-time parser: any
 * bytes are read without a crash; a date that parses, written back in
 * UTC, parses again to the same instant. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imap/imap-date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[IMAP_DATE_TIME_MAX];
	int64_t when, again;

	if (!imap_date_time_parse((const char *)data, size, &when))
		return 0;
	if (when < 0)
		__builtin_trap();
	imap_date_time_write(when, out);
	if (!imap_date_time_parse(out, strlen(out), &again) || again != when)
		__builtin_trap();
	return 0;
}
