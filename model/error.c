// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_error.h"

/* Bytes a character takes once escaped: control characters (a newline in a
 * file name, say) become \n, \r, \t or \xNN so the message stays one line. */
static size_t esc_width(unsigned char c)
{
	if (c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 || c == 0x7f ? 4 : 1;
}

static char *esc_put(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (esc_width(c) == 1) {
		*o++ = (char)c;
		return o;
	}
	*o++ = '\\';
	switch (c) {
	case '\n': *o++ = 'n'; break;
	case '\r': *o++ = 'r'; break;
	case '\t': *o++ = 't'; break;
	default:
		*o++ = 'x';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	return o;
}

/*
 * Copy `raw` (len bytes) into msg[FRAGML_ERR_MSG_MAX], escaped.  When it does
 * not fit, the middle gives way: the start (the object named first) and the
 * end (the reason) are kept, joined by "...".  Cuts fall between characters,
 * never inside an escape or a UTF-8 sequence.
 */
static void fit_message(char *msg, const char *raw, size_t len)
{
	const size_t room = FRAGML_ERR_MSG_MAX - 1, head_max = 96;
	size_t total = 0, head = 0, hw = 0, tail, tw = 0;
	char *o = msg;

	for (size_t i = 0; i < len; i++)
		total += esc_width((unsigned char)raw[i]);
	if (total <= room) {
		for (size_t i = 0; i < len; i++)
			o = esc_put(o, (unsigned char)raw[i]);
		*o = '\0';
		return;
	}
	/* the end first: everything but the head and "..." */
	tail = len;
	while (tail > 0 && tw + esc_width((unsigned char)raw[tail - 1]) <= room - head_max - 3)
		tw += esc_width((unsigned char)raw[--tail]);
	while (tail < len && ((unsigned char)raw[tail] & 0xc0) == 0x80)
		tw -= esc_width((unsigned char)raw[tail++]);
	while (head < tail && hw + esc_width((unsigned char)raw[head]) <= room - tw - 3)
		hw += esc_width((unsigned char)raw[head++]);
	while (head > 0 && ((unsigned char)raw[head] & 0xc0) == 0x80)
		head--;
	for (size_t i = 0; i < head; i++)
		o = esc_put(o, (unsigned char)raw[i]);
	memcpy(o, "...", 3);
	o += 3;
	for (size_t i = tail; i < len; i++)
		o = esc_put(o, (unsigned char)raw[i]);
	*o = '\0';
}

int fragml_err_set(struct fragml_err *err, int code, const char *fmt, ...)
{
	char small[FRAGML_ERR_MSG_MAX], *raw = small;
	va_list ap;
	int n;

	if (code > 0)
		code = -code;
	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(-code));
		return code;
	}
	if ((size_t)n >= sizeof(small) && (raw = malloc((size_t)n + 1))) {
		va_start(ap, fmt);
		vsnprintf(raw, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else if ((size_t)n >= sizeof(small)) {
		raw = small;		/* out of memory: the start is all we have */
		n = sizeof(small) - 1;
	}
	fit_message(err->msg, raw, (size_t)n);
	if (raw != small)
		free(raw);
	return code;
}

void fragml_err_clear(struct fragml_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *fragml_err_msg(const struct fragml_err *err)
{
	if (!err)
		return "unknown error";
	if (err->msg[0])
		return err->msg;
	return strerror(err->code < 0 ? -err->code : err->code);
}
