// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The identification feed: the tracking core (fragml_track.bpf.h) in its feed
 * mode, one ring-buffer record (model/fragml_feed_events.h) per reported
 * allocation that can pin a pageblock:
 *   every mm_page_alloc_extfrag fallback of an unmovable/reclaimable allocation
 *   1 in 2^track_sample_shift other unmovable/reclaimable page allocations
 * each with the lifetime model's answer.  Loaded by the feed publisher
 * (`fragml feed serve`, loader/feed_serve.c) for as long as it runs, with the
 * publisher as exclude_tgid; nothing of its own is pinned.  It shares the
 * pinned model maps (fragml_models, fragml_counters, fragml_info, fragml_sites)
 * with the observe programs, so the record names the model version that is in
 * force, but it does not count its evaluations: `fragml status` keeps counting
 * the observe programs only.
 *
 * Classic tracepoints (kmem/mm_page_alloc, mm_page_alloc_extfrag, mm_page_free)
 * because their records carry the pfn, the key of the feed's pages and the
 * field its records name; read straight from the record (no helper call).
 * The slab and exit programs are the core's (tp_btf).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "fragml_eval.bpf.h"

#define FRAGML_FEED 1
#define FRAGML_PIN_SITES 1
#define FRAGML_IDENT_PIN
#include "fragml_track.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* slab, exit: fragml_track.bpf.h */

SEC("tracepoint/kmem/mm_page_alloc")
int fragml_feed_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	if (ctx->pfn == (unsigned long)-1)
		return 0;	/* no page */
	return fragml_on_alloc(ctx, NULL, ctx->pfn, ctx->order, (__u32)ctx->gfp_flags,
			       ctx->migratetype, 0, 0, 0, 0);
}

SEC("tracepoint/kmem/mm_page_alloc_extfrag")
int fragml_feed_extfrag(struct trace_event_raw_mm_page_alloc_extfrag *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	fragml_stat(FRAGML_STAT_EXTFRAG);
	fragml_note_extfrag(now);
	return fragml_on_alloc(ctx, NULL, ctx->pfn, ctx->alloc_order, 0, ctx->alloc_migratetype, 1,
			       ctx->fallback_migratetype, ctx->fallback_order >= FRAGML_HPAGE_ORDER,
			       now);
}

SEC("tracepoint/kmem/mm_page_free")
int fragml_feed_free(struct trace_event_raw_mm_page_free *ctx)
{
	return fragml_on_free(ctx->pfn);
}
