/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-process state of the feature code (fragml_features.bpf.h), and the one
 * piece of it the enforcing policy reads too: the placement hook takes the
 * process's observed lifetime share (task_long_ppk) from the observe
 * programs' map.  The observe object defines FRAGML_PIN_TASKS and pins the
 * map by name; the policy object declares the same map unpinned and the
 * loader hands it the pinned one (loader/policy.c), or a 1-entry stand-in
 * when observe mode is not loaded (the feature is then missing).
 */
#ifndef FRAGML_TASK_STATE_BPF_H
#define FRAGML_TASK_STATE_BPF_H

#include <bpf/bpf_helpers.h>

/* Per-process rate state (1 s windows: `prev` is the last full second). */
struct fragml_task_state {
	__u64 win_start;
	__u32 pages_cur, pages_prev;
	__u32 thp_cur, thp_prev;
	__u32 regions;		/* 2 MB regions first-faulted (THP density) */
	__u32 touched;		/* 4 KB user faults in them */
	__u32 long_cnt;		/* tracked allocations that outlived T */
	__u32 short_cnt;	/* tracked allocations freed before T */
};

/* Allocated per process on its first tracked allocation, freed when its last
 * thread exits (fragml_task_exit()): kernel memory follows the live processes.
 * max_entries is a bound, set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);			/* tgid */
	__type(value, struct fragml_task_state);
#ifdef FRAGML_PIN_TASKS
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} fragml_task_state SEC(".maps");

/* Share of the process's tracked allocations that outlived T, per 1024. */
static __always_inline __s32 fragml_task_long_ppk(const struct fragml_task_state *t)
{
	__u32 n = t->long_cnt + t->short_cnt;

	return n ? (__s32)((__u64)t->long_cnt * 1024 / n) : FRAGML_MISSING;
}

#endif /* FRAGML_TASK_STATE_BPF_H */
