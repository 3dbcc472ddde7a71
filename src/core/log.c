/* log - event lines to stderr; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_min_level = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};
_Static_assert(sizeof(log_level_names) / sizeof(log_level_names[0]) == LOG_LEVEL_ERROR + 1,
	       "log_level_names must cover enum log_level");

const char *log_level_name(enum log_level level)
{
	return log_level_names[level];
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (strcasecmp(name, log_level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_set_level(enum log_level min)
{
	log_min_level = (int)min;
}

void log_event(enum log_level level, const char *service, const char *session,
	       const char *remote, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t len;
	int n;

	if ((int)level < log_min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     log_level_name(level), service);
	len = (size_t)n;
	if (session != NULL && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, " sid=%s", session);
	if (remote != NULL && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, " remote=%s", remote);
	if (len < sizeof(line) - 1) {
		line[len++] = ' ';
		va_start(ap, fmt);
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		va_end(ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere left to report it */
	}
}

char *log_escape(char *out, size_t outsize, const char *in, size_t max_in)
{
	size_t o = 0;
	size_t i;

	if (outsize == 0)
		return out;
	for (i = 0; i < max_in && in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)in[i];
		if (o + 5 + 4 >= outsize)
			break;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, outsize - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < max_in && in[i] != '\0' && o + 4 <= outsize) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
