/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps shared by every fragml BPF object.  Pinned by name under
 * /sys/fs/bpf/fragml (the loader sets pin_root_path), so the observe programs,
 * the test-run programs and the struct_ops policy all see one set of models
 * and counters.
 */
#ifndef FRAGML_MAPS_BPF_H
#define FRAGML_MAPS_BPF_H

#include "fragml_abi.h"

/* Template of a model version: a fresh one is created for every publish. */
struct fragml_model_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct fragml_blob));
};

/* One slot per hook; the loader swaps inner maps atomically. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FRAGML_NR_HOOKS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fragml_model_map);
} fragml_models SEC(".maps");

/* Decisions per (hook, model-version row, action). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_counters SEC(".maps");

/* Shadow decisions per (hook, action): in enforce mode the policy decides
 * thp_fault and compaction (fragml_counters); what the observe programs
 * would have decided there is counted here, apart (fragml_shadowed()). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_NR_SHADOW);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_shadow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_info SEC(".maps");

/*
 * Per-CPU scratch feature vector for hooks (contexts cannot be indexed
 * variably).  A struct fragml_cio: a compiled model version reads the vector
 * there and writes its result after it (fragml_decide_via()).
 */
#ifndef FRAGML_SCRATCH_PIN
#define FRAGML_SCRATCH_PIN
#endif
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_cio);
	FRAGML_SCRATCH_PIN	/* the policy pins it: its compiled programs read it */
} fragml_scratch SEC(".maps");

static __always_inline struct fragml_vec *fragml_scratch_vec(void)
{
	__u32 zero = 0;
	struct fragml_cio *c = bpf_map_lookup_elem(&fragml_scratch, &zero);

	if (!c)
		return NULL;
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		c->v.f[i] = FRAGML_MISSING;
	return &c->v;
}

#endif /* FRAGML_MAPS_BPF_H */
