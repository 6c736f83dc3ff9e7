/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Feature-path audit: while fragml_vaudit_on[0] is set, the observe programs
 * and the enforcing policy each record the vector they built for a decision,
 * keyed by (hook, side, process, where), in fragml_vaudit; the VM selftest
 * (selftests/vm/policy_test.c, feature_vectors_agree) compares the two sides
 * at the same real THP faults (process, 2 MB region) and direct compactions
 * (thread, zone and order: the policy is asked just before compact_zone()
 * starts, in the same thread).  Off, it costs one array lookup per decision.
 * Both objects pin the maps by name, so they share them.
 */
#ifndef FRAGML_VAUDIT_BPF_H
#define FRAGML_VAUDIT_BPF_H

#include "fragml_abi.h"
#include "fragml_switch.bpf.h"

FRAGML_SWITCH_MAP(fragml_vaudit_on);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FRAGML_VAUDIT_MAX);
	__type(key, struct fragml_vaudit_key);
	__type(value, struct fragml_vec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_vaudit SEC(".maps");

/* Per thread, the number of direct compactions the policy was asked about
 * (while auditing): one key per compaction, not per (zone, order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_vaudit_seq SEC(".maps");

static __always_inline bool fragml_vaudit_on_now(void)
{
	return fragml_switch_get(&fragml_vaudit_on);
}

static __always_inline void fragml_vaudit_note(__u32 hook, __u32 side, __u32 tgid, __u64 where,
					       const struct fragml_vec *v)
{
	struct fragml_vaudit_key k = { .hook = hook, .side = side, .tgid = tgid, .where = where };

	if (fragml_vaudit_on_now())
		bpf_map_update_elem(&fragml_vaudit, &k, v, BPF_ANY);
}

/*
 * A direct compaction, keyed by (thread, zone, order, n): the policy counts
 * the n-th call of the thread (`policy` true), observe takes the count as it
 * is at mm_compaction_begin, which follows the call in the same thread when
 * the zone is compacted at all.
 */
static __always_inline void fragml_vaudit_compaction(__u32 side, __u32 zone_idx, __s32 order,
						     const struct fragml_vec *v)
{
	__u32 tid, one = 1, *n;

	if (!fragml_vaudit_on_now())
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	n = bpf_map_lookup_elem(&fragml_vaudit_seq, &tid);
	if (side == FRAGML_VAUDIT_POLICY) {
		if (!n) {
			bpf_map_update_elem(&fragml_vaudit_seq, &tid, &one, BPF_NOEXIST);
			n = bpf_map_lookup_elem(&fragml_vaudit_seq, &tid);
		} else {
			__sync_fetch_and_add(n, 1);
		}
	}
	if (n)
		fragml_vaudit_note(FRAGML_HOOK_COMPACTION, side, tid,
				   (__u64)*n << 40 | (__u64)(zone_idx & 0xff) << 32 | (__u32)(order + 1), v);
}

#endif /* FRAGML_VAUDIT_BPF_H */
