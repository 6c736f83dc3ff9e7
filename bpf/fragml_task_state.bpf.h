/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The state the feature path keeps between events: per process
 * (fragml_task_state) and system-wide (fragml_glob).  The observe programs
 * write it (fragml_features.bpf.h); the enforcing policy reads the same maps
 * for the rate, density and lifetime-share features (fragml_vec.bpf.h).  The
 * observe object defines FRAGML_PIN_TASKS and pins both maps by name; the
 * policy object declares them unpinned and the loader hands it the pinned
 * ones (loader/policy.c), or 1-entry stand-ins when observe mode is not
 * loaded (those features are then missing).
 */
#ifndef FRAGML_TASK_STATE_BPF_H
#define FRAGML_TASK_STATE_BPF_H

#include <bpf/bpf_helpers.h>

/* Per-process rate state (1 s windows: `prev` is the last full second). */
struct fragml_task_state {
	__u64 win_start;
	__u32 pages_cur, pages_prev;
	__u32 thp_cur, thp_prev;
	__u32 regions;		/* 2 MB regions a thread of it left (THP density) */
	__u32 touched;		/* 4 KB user faults in them (at most 512 each) */
	__u32 long_cnt;		/* tracked allocations that outlived T */
	__u32 short_cnt;	/* tracked allocations freed before T */
	__u32 pred_long;	/* sampled non-movable allocations the published
				 * lifetime model called long-lived (decayed) */
	__u32 pred_n;		/* ... of those it decided (halved past 256) */
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

/* System-wide windows (rolled every second by the observe programs). */
struct fragml_glob {
	__u64 win_start;	/* 0: nothing counted yet */
	__u32 extfrag_cur, extfrag_prev;
	__u32 compact_ok, compact_fail;	/* decayed: halved every window */
	__u64 node;		/* `struct pglist_data *` of node 0 (for THP features) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_glob);
#ifdef FRAGML_PIN_TASKS
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} fragml_glob SEC(".maps");

static __always_inline struct fragml_glob *fragml_glob_peek(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fragml_glob, &zero);
}

/* Mean touched share of the 2 MB regions the process's threads left, per 1024. */
static __always_inline __s32 fragml_task_density_ppk(const struct fragml_task_state *t)
{
	__u64 cap = (__u64)t->regions * 512;

	if (!t->regions)
		return FRAGML_MISSING;
	return (__s32)((t->touched > cap ? cap : t->touched) * 1024 / cap);
}

/* Share of the process's tracked allocations that outlived T, per 1024. */
static __always_inline __s32 fragml_task_long_ppk(const struct fragml_task_state *t)
{
	__u32 n = t->long_cnt + t->short_cnt;

	return n ? (__s32)((__u64)t->long_cnt * 1024 / n) : FRAGML_MISSING;
}

/* Fewer decisions than this: the prediction share is missing. */
#define FRAGML_PRED_MIN		8
#define FRAGML_PRED_DECAY	256

/* One lifetime decision of the observe programs for a sampled non-movable
 * allocation of the process: the counts behind task_pred_long_ppk. */
static __always_inline void fragml_task_note_pred(struct fragml_task_state *t, int long_lived)
{
	t->pred_long += long_lived;
	t->pred_n++;
	if (t->pred_n > FRAGML_PRED_DECAY) {
		t->pred_long >>= 1;
		t->pred_n >>= 1;
	}
}

/* Share of the process's recent sampled non-movable allocations that the
 * published lifetime model predicted long-lived, per 1024. */
static __always_inline __s32 fragml_task_pred_long_ppk(const struct fragml_task_state *t)
{
	__u32 n = t->pred_n;

	return n >= FRAGML_PRED_MIN ? (__s32)((__u64)t->pred_long * 1024 / n) : FRAGML_MISSING;
}

#endif /* FRAGML_TASK_STATE_BPF_H */
