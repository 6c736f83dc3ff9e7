/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml error convention (every stage of the API follows it):
 *
 *   - A function that can fail returns 0 (or a non-negative count) on success
 *     and a negative errno on failure.
 *   - It takes a `struct fragml_err *` as its last argument (may be NULL) and,
 *     on failure, fills it with that errno and one line of text that names the
 *     object (file, map, feature), the field and the limit, and says what to do.
 *     The message has no trailing newline and no "error:" prefix.
 *   - The library never prints to stdout/stderr and never calls exit();
 *     commands print `<prog>: <msg>` and exit non-zero.
 *   - A failed call leaves what it was asked to change as it was.
 *
 * Thread safety: a struct fragml_err belongs to one caller; use one per thread.
 */
#ifndef FRAGML_ERROR_H
#define FRAGML_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_ERR_MSG_MAX 512

struct fragml_err {
	int code;			/* negative errno, 0 when no error */
	char msg[FRAGML_ERR_MSG_MAX];
};

/* Record an error; returns `code` (a negative errno) for `return fragml_err_set(...)`.
 * The message stays one line: control characters are escaped (\n, \xNN).  One
 * longer than FRAGML_ERR_MSG_MAX - 1 bytes loses its middle ("..."), so a long
 * file name is shortened and the reason after it kept. */
int fragml_err_set(struct fragml_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reset to "no error". */
void fragml_err_clear(struct fragml_err *err);

/* The message, or strerror(-code) when none was set. Never NULL. */
const char *fragml_err_msg(const struct fragml_err *err);

/* Copy src into dst[cap] as valid UTF-8: every byte that does not start a valid
 * sequence becomes U+FFFD; cut at a character boundary.  For JSON output of
 * names that come from files or the kernel.  Returns the bytes written. */
size_t fragml_utf8_clean(char *dst, size_t cap, const char *src);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_ERROR_H */
