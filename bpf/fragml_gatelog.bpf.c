// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Outcome tracer of the fallback gate, loaded only by `fragml-collect --gate`
 * (loader/gatelog.c).  The policy (bpf/fragml_policy.bpf.c) leaves every
 * logged decision the kernel may honour open in fragml_gate_pending[pid];
 * here the allocator's own tracepoints say what became of it:
 *
 *   kmem/mm_page_alloc_extfrag    the allocation fell back into a pageblock
 *                                 of another migratetype (mixing: the block
 *                                 kept its type, so a foreign page sits in it)
 *   vmscan/mm_vmscan_direct_reclaim_end   pages reclaimed meanwhile
 *   kmem/mm_page_alloc            the allocation returned (page or failure):
 *                                 one outcome record, the decision is closed
 *
 * Nested allocations: a deferred allocation reclaims and compacts, and
 * reclaim and compaction allocate (bios, slab, migration targets) in the same
 * task.  They all run with PF_MEMALLOC set, so extfrag and mm_page_alloc
 * events of a PF_MEMALLOC task are not the pending allocation's and are
 * ignored (the policy never opens a decision for them either: the kernel does
 * not let them defer).  The closing mm_page_alloc must also match the
 * decision's order, migratetype and gfp mask (less __GFP_HARDWALL, which the
 * first allocation pass may add).  Interrupts that allocate on the task's CPU
 * while it waits are counted as its events only if they fall back at the same
 * order and migratetype; their gfp never matches the close.
 *
 * Plain tracepoints (not tp_btf): change_ownership is computed in the event's
 * fast-assign and exists only in the raw record.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "fragml_gate.bpf.h"
#include "fragml_kdefs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define GATE_GFP_HARDWALL	(1u << 20)	/* ___GFP_HARDWALL_BIT in 6.12 */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} fragml_gate_outcomes SEC(".maps");

/* enum fragml_gatelog_stat */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_GATELOG_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} fragml_gate_stats SEC(".maps");

static __always_inline void stat(__u32 k)
{
	__u64 *n = bpf_map_lookup_elem(&fragml_gate_stats, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* The open decision of the current task, unless the task is reclaiming. */
static __always_inline struct fragml_gate_pending *open_decision(__u32 *pid)
{
	struct fragml_gate_pending *p;
	struct task_struct *t;

	*pid = (__u32)bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&fragml_gate_pending, pid);
	if (!p)
		return NULL;
	t = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(t, flags) & PF_MEMALLOC) {
		stat(FRAGML_GATELOG_NESTED);
		return NULL;
	}
	return p;
}

SEC("tracepoint/kmem/mm_page_alloc_extfrag")
int fragml_gate_extfrag(struct trace_event_raw_mm_page_alloc_extfrag *ctx)
{
	struct fragml_gate_pending *p;
	__u32 pid;

	p = open_decision(&pid);
	if (!p || ctx->alloc_order != (int)p->order || ctx->alloc_migratetype != p->mt)
		return 0;
	__sync_fetch_and_add(&p->extfrag, 1);
	if (!ctx->change_ownership)
		__sync_fetch_and_add(&p->mixing, 1);
	return 0;
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_end")
int fragml_gate_reclaim(struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	__u32 pid = (__u32)bpf_get_current_pid_tgid();
	struct fragml_gate_pending *p = bpf_map_lookup_elem(&fragml_gate_pending, &pid);

	/* direct reclaim itself runs under PF_MEMALLOC: no nesting check here */
	if (p)
		__sync_fetch_and_add(&p->reclaimed, ctx->nr_reclaimed);
	return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int fragml_gate_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	struct fragml_gate_outcome *o;
	struct fragml_gate_pending *p;
	__u32 pid;

	p = open_decision(&pid);
	if (!p || ctx->order != p->order || ctx->migratetype != p->mt ||
	    (((__u32)ctx->gfp_flags ^ p->gfp) & ~GATE_GFP_HARDWALL))
		return 0;
	stat(FRAGML_GATELOG_CLOSED);
	o = bpf_ringbuf_reserve(&fragml_gate_outcomes, sizeof(*o), 0);
	if (o) {
		o->seq = p->seq;
		o->dt_ns = bpf_ktime_get_ns() - p->ts;
		o->reclaimed = p->reclaimed;
		o->pid = pid;
		o->extfrag = p->extfrag;
		o->mixing = p->mixing;
		o->failed = ctx->pfn == (unsigned long)-1;
		bpf_ringbuf_submit(o, 0);
	} else {
		stat(FRAGML_GATELOG_LOST);
	}
	bpf_map_delete_elem(&fragml_gate_pending, &pid);
	return 0;
}
