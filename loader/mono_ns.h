/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside libfragml and its commands: CLOCK_MONOTONIC in nanoseconds, the
 * clock of the BPF programs' bpf_ktime_get_ns() (record timestamps, ages),
 * and in seconds (durations).  Not installed.
 */
#ifndef FRAGML_MONO_NS_H
#define FRAGML_MONO_NS_H

#include <stdint.h>
#include <time.h>

static inline uint64_t loader_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double loader_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* FRAGML_MONO_NS_H */
