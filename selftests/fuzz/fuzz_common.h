/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by the libFuzzer targets: the input as a file (readers that take a path). */
#ifndef FRAGML_FUZZ_COMMON_H
#define FRAGML_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* One memfd for the whole run, rewritten per input; its /proc path in `path`. */
static inline const char *fuzz_as_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fragml-fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

#endif
