// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Migratetype fallbacks counted in the guest for the evaluation
 * (evalblocks.c), with the definitions of `evalwork extfrag`: every
 * mm_page_alloc_extfrag event; polluting ones (fallback below pageblock order
 * that left the block its type) and the pageblocks they hit; non-movable ones
 * (an unmovable or reclaimable request, claimed or not) and their pageblocks;
 * the polluting ones of non-movable requests and their pageblocks (the lasting
 * kind: a movable page in an unmovable block can be migrated out, an
 * unmovable page in a movable block cannot).
 * In the kernel, so nothing is lost when a ring buffer would overflow.
 */
#include "vmlinux-patched.h"
#include <bpf/bpf_helpers.h>

#include "extfrag_blocks.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EXTFRAG_NR);
	__type(key, __u32);
	__type(value, __u64);
} extfrag_counts SEC(".maps");

/* One byte per pageblock (pfn >> 9), set to 1 when a fallback of the kind hit it. */
struct blockmap {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EXTFRAG_MAX_BLOCKS);
	__type(key, __u32);
	__type(value, __u8);
};
struct blockmap polluted_blocks SEC(".maps");
struct blockmap nonmovable_blocks SEC(".maps");
struct blockmap nm_polluted_blocks SEC(".maps");

static __always_inline void bump(__u32 k)
{
	__u64 *n = bpf_map_lookup_elem(&extfrag_counts, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void mark(void *map, __u64 pfn)
{
	__u64 b = pfn >> EXTFRAG_PAGEBLOCK_ORDER;
	__u32 k = b;
	__u8 *v;

	if (b >= EXTFRAG_MAX_BLOCKS) {
		bump(EXTFRAG_OUT_OF_RANGE);
		return;
	}
	v = bpf_map_lookup_elem(map, &k);
	if (v && !*v)
		*v = 1;
}

SEC("tracepoint/kmem/mm_page_alloc_extfrag")
int count_extfrag(struct trace_event_raw_mm_page_alloc_extfrag *ctx)
{
	int polluting = ctx->fallback_order < EXTFRAG_PAGEBLOCK_ORDER && !ctx->change_ownership;

	bump(EXTFRAG_EVENTS);
	if (polluting) {
		bump(EXTFRAG_POLLUTING);
		mark(&polluted_blocks, ctx->pfn);
	}
	if (ctx->alloc_migratetype != MIGRATE_MOVABLE) {
		bump(EXTFRAG_NONMOVABLE);
		mark(&nonmovable_blocks, ctx->pfn);
		if (polluting) {
			bump(EXTFRAG_NM_POLLUTING);
			mark(&nm_polluted_blocks, ctx->pfn);
		}
	}
	return 0;
}
