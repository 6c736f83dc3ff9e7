// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-collect: tracepoint programs that turn page-allocator, fault, slab and
 * compaction events into ring-buffer records for the labelled datasets
 * (docs/dataset.md).  tp_btf only, so it loads on a stock kernel (6.12, 6.18).
 * The tracking core (fragml_track.bpf.h) in its collect mode: this file adds
 * the kmalloc program and the fault and 2 MB region records.
 * Feature vectors come from fragml_features.bpf.h: the same code the observe
 * programs use (the enforcing policy reaches the same builders, fragml_vec.bpf.h,
 * from its callbacks' context).  The model maps of fragml_maps.bpf.h are
 * included for the scratch vector only; the collector unpins them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "fragml_maps.bpf.h"

#define FRAGML_COLLECT 1
#define FRAGML_IDENT_PIN
#include "fragml_track.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* alloc, extfrag, free, slab, compact_begin, compact_end, exit: fragml_track.bpf.h */

SEC("tp_btf/kmalloc")
int BPF_PROG(fragml_collect_kmalloc, unsigned long call_site, const void *ptr, size_t req,
	     size_t alloc)
{
	return fragml_on_slab_obj(NULL, alloc);
}

/* compaction_deferred() said no: a need moment of the `pollutes` label */
SEC("tp_btf/mm_compaction_deferred")
int BPF_PROG(fragml_collect_compact_deferred, struct zone *zone, int order)
{
	fragml_note_need(FRAGML_NEED_COMPACT_DEFERRED, order, 0);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(fragml_collect_fault, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	struct fragml_region_key rk = { .tgid = id >> 32, .region = address & ~(FRAGML_HPAGE_SIZE - 1) };
	struct fragml_task_state *t;
	struct fragml_ev_fault *e;
	__u8 one = 1;

	if (fragml_skip(bpf_get_current_task_btf(), rk.tgid))
		return 0;
	fragml_fault_note(address);	/* also the density feature's counts */
	fragml_stat(FRAGML_STAT_FAULTS);
	t = fragml_task_get(rk.tgid, now);
	e = fragml_reserve(sizeof(*e));
	if (e) {
		e->h.type = FRAGML_EV_FAULT;
		e->h.tgid = rk.tgid;
		e->h.ts = now;
		e->addr = address;
		fragml_submit(e);
	}
	if (bpf_map_lookup_elem(&fragml_regions, &rk))
		return 0;
	bpf_map_update_elem(&fragml_regions, &rk, &one, BPF_ANY);
	{
		struct fragml_vec *v = fragml_scratch_vec();
		struct fragml_ev_region *r;

		if (!v)
			return 0;
		fragml_thp_features(v, now, t, address, 0);
		r = fragml_reserve(sizeof(*r));
		if (!r)
			return 0;
		r->h.type = FRAGML_EV_REGION;
		r->h.tgid = rk.tgid;
		r->h.ts = now;
		r->region = rk.region;
		bpf_get_current_comm(r->comm, sizeof(r->comm));
		__builtin_memcpy(&r->v, v, sizeof(r->v));
		fragml_submit(r);
	}
	return 0;
}
