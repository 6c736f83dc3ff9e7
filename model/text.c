// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Text helpers of libfragml: valid UTF-8 for JSON output (fragml_error.h). */
#include <string.h>

#include "fragml_error.h"

/* Length of the valid UTF-8 sequence at s (1..4), 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t fragml_utf8_clean(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (!cap)
		return 0;
	while (*s) {
		size_t n = utf8_seq(s);
		const char *put = n ? (const char *)s : "\xef\xbf\xbd";	/* U+FFFD */
		size_t len = n ? n : 3;

		if (o + len >= cap)
			break;
		memcpy(dst + o, put, len);
		o += len;
		s += n ? n : 1;
	}
	dst[o] = '\0';
	return o;
}
