/* errmsg - malloc'd error messages; see errmsg.h. */
#include "core/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int errmsg_set(char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		*error_r = NULL;
	va_end(ap);
	return -1;
}
