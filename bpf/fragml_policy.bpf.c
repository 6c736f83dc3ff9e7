// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Enforce mode: the struct_ops policy for a kernel with kernel-patches/
 * (struct mm_policy_ops).  Its callbacks compute the THP-fault and compaction
 * features of model/fragml_features.h from the kernel's context and let the
 * loaded model decide, with the same evaluator, maps and counters as observe
 * mode.  No model loaded for a hook = the kernel default.
 *
 * Its own BPF object: a stock kernel has no mm_policy_ops, and observe mode
 * must never try to load it (loader/policy.c probes BTF first).
 *
 * Variants (one struct_ops map each; loader/policy.c picks one by name):
 *   fragml          the models decide (what fragml-load attaches)
 *   fragml_gate     the same plus the allocator's fallback gate (fragml-load
 *                   switches to it when a fallback model is published: a
 *                   gate makes every allocation first avoid falling back)
 *   fragml_place    the models plus the placement of fallback allocations
 *                   (when a placement model is published)
 *   fragml_all      gate and placement both
 *   kdefault        always "kernel default" (tests, A/B baselines)
 *   always_compact  always "huge page with direct compaction" (tests)
 */
#ifdef FRAGML_VMLINUX_PATCHED
#include "vmlinux-patched.h"
#else
#include "vmlinux.h"
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fragml_eval.bpf.h"
#include "fragml_gate.bpf.h"
#include "fragml_policy_kern.h"
#include "fragml_task_state.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PAGES_PER_HUGE	512	/* PMD order 9 on x86-64 */

static __always_inline __s32 clamp_feat(__u64 x)
{
	return x > FRAGML_FEAT_MAX ? FRAGML_FEAT_MAX : (__s32)x;
}

/* floor(log2(x)), 0 for x <= 1. */
static __always_inline __s32 log2_u64(__u64 x)
{
	__s32 r = 0;

	if (x >> 32) { x >>= 32; r += 32; }
	if (x >> 16) { x >>= 16; r += 16; }
	if (x >> 8) { x >>= 8; r += 8; }
	if (x >> 4) { x >>= 4; r += 4; }
	if (x >> 2) { x >>= 2; r += 2; }
	if (x >> 1) r += 1;
	return r;
}

/* Unusable free space index at order 9, parts per 1024. */
static __always_inline __s32 unusable_ppk(__u64 free, __u64 free_huge)
{
	__u64 usable = free_huge * PAGES_PER_HUGE;

	if (!free)
		return 1024;
	if (usable > free)
		usable = free;
	return (__s32)(((free - usable) * 1024) / free);
}

static __always_inline int thp_fault_decide(struct mm_policy_thp_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	int action;

	if (!v)
		return MM_POLICY_THP_DEFAULT;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_GFP_BITS] = ctx->gfp & FRAGML_GFP_BITS_MASK;
	v->f[FRAGML_F_VMA_PAGES_LOG2] = log2_u64((ctx->vma_end - ctx->vma_start) >> 12);
	v->f[FRAGML_F_VMA_HUGE_ADVISED] = ctx->huge_advised;
	v->f[FRAGML_F_REGION_IN_VMA] = ctx->region_in_vma;
	v->f[FRAGML_F_MM_RSS_LOG2] = log2_u64(ctx->mm_anon_pages);
	v->f[FRAGML_F_FREE_HUGE_BLOCKS] = clamp_feat(ctx->node_free_huge);
	v->f[FRAGML_F_UNUSABLE_PPK] = unusable_ppk(ctx->node_free_pages, ctx->node_free_huge);
	action = fragml_decide(FRAGML_HOOK_THP_FAULT, v, &res);
	if (action < 0 || action > MM_POLICY_THP_DEFAULT)
		return MM_POLICY_THP_DEFAULT;
	return action;
}

static __always_inline int compact_decide(struct mm_policy_compact_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	int action;

	if (!v)
		return MM_POLICY_COMPACT_RUN;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_IS_KTHREAD] = ctx->kthread;
	v->f[FRAGML_F_FREE_HUGE_BLOCKS] = clamp_feat(ctx->free_huge);
	v->f[FRAGML_F_UNUSABLE_PPK] = unusable_ppk(ctx->free_pages, ctx->free_huge);
	v->f[FRAGML_F_COMPACT_PRIO] = ctx->prio;
	v->f[FRAGML_F_ZONE_FREE_LOG2] = log2_u64(ctx->free_pages);
	if (!ctx->proactive)
		v->f[FRAGML_F_FRAG_INDEX] = ctx->frag_index;
	v->f[FRAGML_F_IS_KCOMPACTD] = ctx->proactive;
	v->f[FRAGML_F_COMPACT_DEFER] = ctx->defer_shift;
	action = fragml_decide(FRAGML_HOOK_COMPACTION, v, &res);
	if (action != MM_POLICY_COMPACT_SKIP)
		return MM_POLICY_COMPACT_RUN;
	return action;
}

/* Parts per 1024 of @whole, capped to the feature range. */
static __always_inline __s32 ppk(__u64 part, __u64 whole)
{
	if (!whole)
		return part ? FRAGML_FEAT_MAX : 0;
	return clamp_feat(part * 1024 / whole);
}

/*
 * Exploration and the decision log of the fallback gate, for collecting
 * training data (`fragml-collect --gate`, docs/dataset.md "fallback").  Off
 * unless the collector sets fragml_gate_cfg; then the only cost is the one
 * lookup of that map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_gate_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_gate_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FRAGML_GATE_LOG_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_gate_log SEC(".maps");

/*
 * With probability explore_ppm / 10^6 an allocation the kernel may defer
 * gets a uniformly random action instead of the model's; when logging, the
 * decision is written to fragml_gate_log and, for a task-context allocation
 * the kernel may defer, left open in fragml_gate_pending for the outcome
 * tracer.  Allocations that cannot be deferred are never explored: the
 * kernel would refuse the deferral, so the random action would teach nothing.
 */
static __always_inline int gate_explore_log(struct mm_policy_fallback_ctx *ctx,
					    const struct fragml_vec *v,
					    struct fragml_gate_cfg *cfg, int model,
					    int action, __u32 version)
{
	struct fragml_gate_decision *d;
	struct fragml_gate_pending p = {};
	__u32 pid = ctx->pid, k = 0;
	bool can_defer = ctx->can_defer;
	__u8 flags = 0;

	if (can_defer && cfg->explore_ppm) {
		__u32 r = bpf_get_prandom_u32();

		/* low bit: the action; the rest: the draw (2^31 > 10^6 * 2) */
		if ((r >> 1) % FRAGML_GATE_PPM < cfg->explore_ppm) {
			action = r & 1 ? MM_POLICY_FALLBACK_DEFER : MM_POLICY_FALLBACK_NOW;
			flags |= FRAGML_GATE_F_EXPLORED;
		}
	}
	if (cfg->log == FRAGML_GATE_LOG_OFF ||
	    (cfg->log == FRAGML_GATE_LOG_HONOURED && !can_defer))
		return action;
	if (can_defer)
		flags |= FRAGML_GATE_F_CAN_DEFER;
	if (ctx->kthread)
		flags |= FRAGML_ALLOC_F_KTHREAD;
	d = bpf_ringbuf_reserve(&fragml_gate_log, sizeof(*d), 0);
	if (!d) {
		__sync_fetch_and_add(&cfg->lost, 1);
		return action;
	}
	d->seq = __sync_fetch_and_add(&cfg->seq, 1) + 1;
	d->ts = bpf_ktime_get_ns();
	d->pid = pid;
	d->gfp = ctx->gfp;
	d->order = ctx->order;
	d->mt = ctx->migratetype;
	d->model_version = version;
	d->action = action;
	d->model_action = model < 0 ? 0xff : model;
	d->zone_idx = ctx->zone_idx;
	/* the fallback hook's features, densely, in registry order */
#define GATE_COPY(id, e, n, u, s, h, desc)				\
	if (((h) & FRAGML_H_FB) && k < FRAGML_GATE_NFEAT) {		\
		d->f[k] = v->f[id];					\
		k++;							\
	}
	FRAGML_FEATURES(GATE_COPY)
#undef GATE_COPY
	for (; k < FRAGML_GATE_NFEAT; k++)
		d->f[k & (FRAGML_GATE_NFEAT - 1)] = FRAGML_MISSING;
	if (can_defer && pid) {
		p.seq = d->seq;
		p.ts = d->ts;
		p.gfp = ctx->gfp;
		p.order = ctx->order;
		p.mt = ctx->migratetype;
		p.action = action;
		if (bpf_map_update_elem(&fragml_gate_pending, &pid, &p, BPF_ANY))
			__sync_fetch_and_add(&cfg->pending_full, 1);
		else
			flags |= FRAGML_GATE_F_PENDING;
	}
	d->flags = flags;
	bpf_ringbuf_submit(d, 0);
	return action;
}

static __always_inline int fallback_decide(struct mm_policy_fallback_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_gate_cfg *cfg;
	struct fragml_result res;
	int model, action;
	__u32 zero = 0;

	if (!v)
		return MM_POLICY_FALLBACK_NOW;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_MIGRATETYPE] = ctx->migratetype;
	v->f[FRAGML_F_GFP_BITS] = ctx->gfp & FRAGML_GFP_BITS_MASK;
	v->f[FRAGML_F_IS_KTHREAD] = ctx->kthread;
	v->f[FRAGML_F_FREE_HUGE_BLOCKS] = clamp_feat(ctx->free_huge);
	v->f[FRAGML_F_UNUSABLE_PPK] = unusable_ppk(ctx->free_pages, ctx->free_huge);
	v->f[FRAGML_F_ZONE_FREE_LOG2] = log2_u64(ctx->free_pages);
	v->f[FRAGML_F_CAN_RECLAIM] = ctx->can_defer;
	v->f[FRAGML_F_ATOMIC] = ctx->atomic;
	v->f[FRAGML_F_FILE_PPK] = ppk(ctx->file_pages, ctx->managed_pages);
	v->f[FRAGML_F_ANON_PPK] = ppk(ctx->anon_pages, ctx->managed_pages);
	v->f[FRAGML_F_FREE_WMARK_PPK] = ppk(ctx->free_pages, ctx->high_wmark);
	v->f[FRAGML_F_NOFRAG_ZONE] = ctx->nofragment_zone;
	model = fragml_decide(FRAGML_HOOK_FALLBACK, v, &res);
	action = model == MM_POLICY_FALLBACK_DEFER ? MM_POLICY_FALLBACK_DEFER :
						    MM_POLICY_FALLBACK_NOW;
	cfg = bpf_map_lookup_elem(&fragml_gate_cfg, &zero);
	if (cfg && (cfg->explore_ppm || cfg->log))
		action = gate_explore_log(ctx, v, cfg, model, action, res.version);
	return action;
}

/*
 * Placement: which pageblock of another migratetype a fallback takes pages
 * from.  Runs under zone->lock with interrupts off, once per candidate block
 * (at most one per free-list order): one model evaluation and one lookup of
 * the requesting process's observed lifetime share.
 */
static __always_inline int placement_decide(struct mm_policy_placement_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	__u32 used;
	int action;

	if (!v)
		return MM_POLICY_PLACE_DEFAULT;
	used = ctx->free_pages + ctx->movable_pages;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_MIGRATETYPE] = ctx->start_mt;
	v->f[FRAGML_F_FALLBACK_MT] = ctx->block_mt;
	v->f[FRAGML_F_ZONE_FREE_LOG2] = log2_u64(ctx->zone_free_pages);
	v->f[FRAGML_F_BLOCK_FREE] = clamp_feat(ctx->free_pages);
	v->f[FRAGML_F_BLOCK_MOVABLE] = clamp_feat(ctx->movable_pages);
	v->f[FRAGML_F_BLOCK_FOREIGN] = used < ctx->block_pages ?
				       clamp_feat(ctx->block_pages - used) : 0;
	v->f[FRAGML_F_FREE_ORDER] = ctx->free_order;
	v->f[FRAGML_F_KERNEL_CLAIMS] = ctx->kernel_claims;
	/* what identification observed of the requesting process */
	if (ctx->in_task) {
		__u32 tgid = ctx->tgid;
		struct fragml_task_state *t = bpf_map_lookup_elem(&fragml_task_state, &tgid);

		if (t)
			v->f[FRAGML_F_TASK_LONG_PPK] = fragml_task_long_ppk(t);
	}
	action = fragml_decide(FRAGML_HOOK_PLACEMENT, v, &res);
	if (action < MM_POLICY_PLACE_DEFAULT || action > MM_POLICY_PLACE_STEAL)
		return MM_POLICY_PLACE_DEFAULT;
	return action;
}

SEC("struct_ops/thp_fault")
int BPF_PROG(fragml_thp_fault, struct mm_policy_thp_ctx *c)
{
	return thp_fault_decide(c);
}

SEC("struct_ops/compact")
int BPF_PROG(fragml_compact, struct mm_policy_compact_ctx *c)
{
	return compact_decide(c);
}

SEC(".struct_ops.link")
struct mm_policy_ops fragml = {
	.thp_fault	= (void *)fragml_thp_fault,
	.compact	= (void *)fragml_compact,
	.name		= "fragml",
};

SEC("struct_ops/thp_fault")
int BPF_PROG(fragml_gate_thp_fault, struct mm_policy_thp_ctx *c)
{
	return thp_fault_decide(c);
}

SEC("struct_ops/compact")
int BPF_PROG(fragml_gate_compact, struct mm_policy_compact_ctx *c)
{
	return compact_decide(c);
}

SEC("struct_ops/fallback")
int BPF_PROG(fragml_gate_fallback, struct mm_policy_fallback_ctx *c)
{
	return fallback_decide(c);
}

SEC(".struct_ops.link")
struct mm_policy_ops fragml_gate = {
	.thp_fault	= (void *)fragml_gate_thp_fault,
	.compact	= (void *)fragml_gate_compact,
	.fallback	= (void *)fragml_gate_fallback,
	.name		= "fragml_gate",
};

SEC("struct_ops/thp_fault")
int BPF_PROG(fragml_place_thp_fault, struct mm_policy_thp_ctx *c)
{
	return thp_fault_decide(c);
}

SEC("struct_ops/compact")
int BPF_PROG(fragml_place_compact, struct mm_policy_compact_ctx *c)
{
	return compact_decide(c);
}

SEC("struct_ops/placement")
int BPF_PROG(fragml_place_placement, struct mm_policy_placement_ctx *c)
{
	return placement_decide(c);
}

SEC(".struct_ops.link")
struct mm_policy_ops fragml_place = {
	.thp_fault	= (void *)fragml_place_thp_fault,
	.compact	= (void *)fragml_place_compact,
	.placement	= (void *)fragml_place_placement,
	.name		= "fragml_place",
};

SEC("struct_ops/thp_fault")
int BPF_PROG(fragml_all_thp_fault, struct mm_policy_thp_ctx *c)
{
	return thp_fault_decide(c);
}

SEC("struct_ops/compact")
int BPF_PROG(fragml_all_compact, struct mm_policy_compact_ctx *c)
{
	return compact_decide(c);
}

SEC("struct_ops/fallback")
int BPF_PROG(fragml_all_fallback, struct mm_policy_fallback_ctx *c)
{
	return fallback_decide(c);
}

SEC("struct_ops/placement")
int BPF_PROG(fragml_all_placement, struct mm_policy_placement_ctx *c)
{
	return placement_decide(c);
}

SEC(".struct_ops.link")
struct mm_policy_ops fragml_all = {
	.thp_fault	= (void *)fragml_all_thp_fault,
	.compact	= (void *)fragml_all_compact,
	.fallback	= (void *)fragml_all_fallback,
	.placement	= (void *)fragml_all_placement,
	.name		= "fragml_all",
};

/* ---- fixed-answer variants ---- */

SEC("struct_ops/thp_fault")
int BPF_PROG(kdefault_thp_fault, struct mm_policy_thp_ctx *c)
{
	return MM_POLICY_THP_DEFAULT;
}

SEC("struct_ops/compact")
int BPF_PROG(kdefault_compact, struct mm_policy_compact_ctx *c)
{
	return MM_POLICY_COMPACT_RUN;
}

SEC(".struct_ops.link")
struct mm_policy_ops kdefault = {
	.thp_fault	= (void *)kdefault_thp_fault,
	.compact	= (void *)kdefault_compact,
	.name		= "fragml_kdefault",
};

SEC("struct_ops/thp_fault")
int BPF_PROG(always_compact_thp_fault, struct mm_policy_thp_ctx *c)
{
	return MM_POLICY_THP_COMPACT;
}

SEC("struct_ops/compact")
int BPF_PROG(always_compact_compact, struct mm_policy_compact_ctx *c)
{
	return MM_POLICY_COMPACT_RUN;
}

SEC(".struct_ops.link")
struct mm_policy_ops always_compact = {
	.thp_fault	= (void *)always_compact_thp_fault,
	.compact	= (void *)always_compact_compact,
	.name		= "fragml_compact",
};
