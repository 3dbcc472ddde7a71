/* log - one line per event on stderr, key=value, safe for client text.
 *
 * Line format:
 *   2026-11-27T07:19:48.123Z info pop3 sid=Ab3xK9 remote=127.0.0.1 msg="login" user=demo@localhost
 * The message is printf-style; any text that came from a client must pass
 * through log_escape() (bounded, control bytes escaped). Never log a
 * password, a hash or a message body. Thread-safe: each line is written
 * with one write(2). */
#ifndef TERN_CORE_LOG_H
#define TERN_CORE_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

const char *log_level_name(enum log_level level);
/* Parse "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *name);

/* Lines below `min` are dropped. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level min);

/* Write one event. service is e.g. "pop3" or "serve"; session and remote may
 * be NULL for events that belong to no connection. */
void log_event(enum log_level level, const char *service, const char *session,
	       const char *remote, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define log_error(...) log_event(LOG_LEVEL_ERROR, "tern", NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_event(LOG_LEVEL_WARN, "tern", NULL, NULL, __VA_ARGS__)
#define log_info(...) log_event(LOG_LEVEL_INFO, "tern", NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_event(LOG_LEVEL_DEBUG, "tern", NULL, NULL, __VA_ARGS__)

/* Copy at most `max_in` bytes of client text into out (size outsize, always
 * NUL-terminated), escaping quotes, backslashes and non-printable bytes as
 * \xNN; an ellipsis marks truncation. Returns out. */
char *log_escape(char *out, size_t outsize, const char *in, size_t max_in);

#endif
