// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libbpf's messages inside libfragml (libbpf_log.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf_log.h"

static __thread char first[256], last[256];

int loader_libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char line[sizeof(last)];
	size_t n;
	va_list aq;

	if (lvl != LIBBPF_WARN)
		return 0;
	va_copy(aq, ap);
	vsnprintf(line, sizeof(line), fmt, aq);
	va_end(aq);
	n = strcspn(line, "\n");
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	if (n) {
		if (!first[0])
			memcpy(first, line, n + 1);
		memcpy(last, line, n + 1);
	}
	if (getenv("FRAGML_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

void loader_libbpf_reset(void)
{
	first[0] = last[0] = '\0';
}

const char *loader_libbpf_first(void)
{
	return first;
}

const char *loader_libbpf_last(void)
{
	return last;
}
