/* errmsg - the one-line error messages of the `char **error_r` convention:
 * a function that fails returns -1 (or NULL) and hands its caller a
 * malloc'd message to print and free. */
#ifndef TERN_CORE_ERRMSG_H
#define TERN_CORE_ERRMSG_H

/* Set *error_r to the printf-formatted message (NULL when out of memory)
 * and return -1, so that a failure path is one statement. */
int errmsg_set(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
