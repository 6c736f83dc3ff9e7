// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Allocator events the fallback-gate and placement VM tests count
 * (gate_test.c): migratetype fallbacks, those that leave a pageblock mixed
 * (the block kept its type: a foreign page now sits in it), the pageblocks
 * non-movable fallbacks took pages from, and failed page allocations,
 * atomic ones apart.
 */
#include "vmlinux-patched.h"
#include <bpf/bpf_helpers.h>

#include "alloc_events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ALLOC_EV_NR);
	__type(key, __u32);
	__type(value, __u64);
} alloc_events SEC(".maps");

/* Pageblocks (pfn >> PAGEBLOCK_ORDER) a mixing fallback took a page from. */
#define PAGEBLOCK_ORDER	9
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);	/* one per pageblock of 2 TiB */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
} mixed_blocks SEC(".maps");

static __always_inline void bump(__u32 ev)
{
	__u64 *n = bpf_map_lookup_elem(&alloc_events, &ev);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Pageblocks any non-movable fallback took pages from (claimed or not). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
} polluted_blocks SEC(".maps");

SEC("tracepoint/kmem/mm_page_alloc_extfrag")
int count_extfrag(struct trace_event_raw_mm_page_alloc_extfrag *ctx)
{
	bump(ALLOC_EV_FALLBACK);
	if (ctx->alloc_migratetype != MIGRATE_MOVABLE) {
		__u64 block = ctx->pfn >> PAGEBLOCK_ORDER;
		__u8 one = 1;

		/* a claim of a block with pages in use (what placement
		 * decides); a free block of pageblock order or more is always
		 * taken whole by the kernel, before any placement is asked */
		if (ctx->change_ownership && ctx->fallback_order < PAGEBLOCK_ORDER)
			bump(ALLOC_EV_FALLBACK_CLAIMED_UNMOVABLE);
		if (!bpf_map_update_elem(&polluted_blocks, &block, &one, BPF_NOEXIST))
			bump(ALLOC_EV_BLOCKS_POLLUTED);
	}
	if (!ctx->change_ownership) {
		bump(ALLOC_EV_FALLBACK_MIXING);
		__u64 block = ctx->pfn >> PAGEBLOCK_ORDER;
		__u8 one = 1;

		if (ctx->alloc_migratetype != MIGRATE_MOVABLE)
			bump(ALLOC_EV_FALLBACK_MIXING_UNMOVABLE);
		if (!bpf_map_update_elem(&mixed_blocks, &block, &one, BPF_NOEXIST))
			bump(ALLOC_EV_BLOCKS_MIXED);
	}
	return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int count_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	if (ctx->pfn != -1UL)
		return 0;
	bump(ALLOC_EV_FAILED);
	if (!(ctx->gfp_flags & (1U << ___GFP_DIRECT_RECLAIM_BIT))) {
		bump(ALLOC_EV_FAILED_ATOMIC);
		/* opportunistic attempts (slab's higher orders...) say NOWARN */
		if (!(ctx->gfp_flags & (1U << ___GFP_NOWARN_BIT)))
			bump(ALLOC_EV_FAILED_ATOMIC_WARN);
	}
	return 0;
}
