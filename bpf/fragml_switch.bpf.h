/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A switch: a one-entry __u32 array pinned by name under /sys/fs/bpf/fragml,
 * set by the loader or a test and read by the programs at each decision
 * (the feature audit's fragml_vaudit_on, the site switch fragml_site_want,
 * the policy's scope count fragml_scope_n).
 */
#ifndef FRAGML_SWITCH_BPF_H
#define FRAGML_SWITCH_BPF_H

#include <bpf/bpf_helpers.h>

#define FRAGML_SWITCH_MAP(name)				\
	struct {					\
		__uint(type, BPF_MAP_TYPE_ARRAY);	\
		__uint(max_entries, 1);			\
		__type(key, __u32);			\
		__type(value, __u32);			\
		__uint(pinning, LIBBPF_PIN_BY_NAME);	\
	} name SEC(".maps")

/* The switch's value; 0 when the map has no element (never, for an array). */
static __always_inline __u32 fragml_switch_get(void *map)
{
	__u32 zero = 0, *v = bpf_map_lookup_elem(map, &zero);

	return v ? *v : 0;
}

#endif /* FRAGML_SWITCH_BPF_H */
