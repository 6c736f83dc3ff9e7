// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Enforce mode: the struct_ops policy for a kernel with kernel-patches/
 * (struct mm_policy_ops).  Its callbacks gather the kernel's context and
 * build the feature vectors with the builders the observe programs use
 * (fragml_vec.bpf.h), reading the observe programs' per-process and
 * system-wide state for the rate, density and lifetime-share features; the
 * loaded model decides, with the same evaluator, maps and counters as observe
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
/* pinned: the compiled model versions in fragml_cprog_* read their input there */
#define FRAGML_SCRATCH_PIN __uint(pinning, LIBBPF_PIN_BY_NAME);

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
#include "fragml_vec.bpf.h"
#include "fragml_vaudit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The requesting process's state in the observe programs' map, or NULL. */
static __always_inline const struct fragml_task_state *task_state_of(__u32 tgid)
{
	return tgid ? bpf_map_lookup_elem(&fragml_task_state, &tgid) : NULL;
}

/*
 * ---- canary and scope (docs/operator.md "Canary", "Scope") ----
 * Canary: a candidate model per hook in fragml_canary, evaluated beside the
 * live one on the same features and counted per (live action, candidate
 * action) in fragml_canary_cnt; never enforced.  No candidate: one lookup.
 * Scope: with cgroup ids in fragml_scope (fragml_scope_n[0] of them), only
 * tasks in those cgroups or below them get the models' decisions; every other
 * task (kernel threads included) gets the kernel default, uncounted.
 */
#define FRAGML_SCOPE_DEPTH	16	/* cgroup levels looked at */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FRAGML_NR_HOOKS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fragml_model_map);
} fragml_canary SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_NR_CANARY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_canary_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FRAGML_SCOPE_MAX);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragml_scope SEC(".maps");

FRAGML_SWITCH_MAP(fragml_scope_n);

static __always_inline bool fragml_in_scope(void)
{
	if (!fragml_switch_get(&fragml_scope_n))
		return true;
	for (int lvl = 1; lvl < FRAGML_SCOPE_DEPTH; lvl++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(lvl);

		if (!id)
			break;
		if (bpf_map_lookup_elem(&fragml_scope, &id))
			return true;
	}
	return false;
}

static __always_inline void fragml_canary_eval(__u32 hook, const struct fragml_vec *v, __u32 live)
{
	void *inner = bpf_map_lookup_elem(&fragml_canary, &hook);
	const struct fragml_blob *m;
	struct fragml_result res;
	__u32 zero = 0, key;
	__u64 *c;

	if (!inner || hook >= FRAGML_NR_HOOKS)
		return;
	m = bpf_map_lookup_elem(inner, &zero);
	if (!m)
		return;
	key = FRAGML_CANARY_INDEX(hook, live & (FRAGML_MAX_ACTIONS - 1),
				  fragml_eval_blob(m, v, &res) & (FRAGML_MAX_ACTIONS - 1));
	c = bpf_map_lookup_elem(&fragml_canary_cnt, &key);
	if (c)
		*c += 1;
}
/* ---- end of canary and scope ---- */

/*
 * Compiled model versions (loader/compile.c, docs/performance.md): a tail
 * call needs a program of the caller's type and attach prototype, so each
 * callback has its own program array (the variants' programs for one
 * callback share it), slot = hook.  The loader fills it at every publish,
 * rollback and unpublish with a struct_ops program generated for that
 * callback, which reads the vector in the pinned per-CPU fragml_scratch and
 * writes its result after it.  Pinned, so that both survive the loader and a
 * variant swap (a new object reuses them).  An empty slot: the map evaluator.
 */
FRAGML_CPROG_ARRAY(fragml_cprog_thp);
FRAGML_CPROG_ARRAY(fragml_cprog_cmp);
FRAGML_CPROG_ARRAY(fragml_cprog_fb);
FRAGML_CPROG_ARRAY(fragml_cprog_pl);
FRAGML_TAIL_DECIDE(fragml_tc_thp, fragml_cprog_thp, FRAGML_HOOK_THP_FAULT)
FRAGML_TAIL_DECIDE(fragml_tc_cmp, fragml_cprog_cmp, FRAGML_HOOK_COMPACTION)
FRAGML_TAIL_DECIDE(fragml_tc_fb, fragml_cprog_fb, FRAGML_HOOK_FALLBACK)
FRAGML_TAIL_DECIDE(fragml_tc_pl, fragml_cprog_pl, FRAGML_HOOK_PLACEMENT)

static __always_inline int thp_fault_decide(void *bctx, struct mm_policy_thp_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	__u32 tgid;
	int action;
	struct fragml_thp_in in = {
		.vma_start = ctx->vma_start, .vma_end = ctx->vma_end,
		.anon_rss = ctx->mm_anon_pages,
		.node_free_pages = ctx->node_free_pages, .node_free_huge = ctx->node_free_huge,
		.gfp = ctx->gfp, .vma_found = 1, .huge_advised = ctx->huge_advised,
		.region_in_vma = ctx->region_in_vma, .have_rss = 1, .have_node = 1,
	};

	if (!v || !fragml_in_scope())
		return MM_POLICY_THP_DEFAULT;
	/* a user fault: the current task is the faulting one */
	tgid = bpf_get_current_pid_tgid() >> 32;
	fragml_vec_thp(v, bpf_ktime_get_ns(), &in, task_state_of(tgid), fragml_glob_peek());
	fragml_vaudit_note(FRAGML_HOOK_THP_FAULT, FRAGML_VAUDIT_POLICY, tgid,
			   ctx->address >> (12 + FRAGML_HPAGE_ORDER), v);
	action = fragml_decide_via(fragml_tc_thp(bctx), FRAGML_HOOK_THP_FAULT, v, &res);
	fragml_canary_eval(FRAGML_HOOK_THP_FAULT, v, action < 0 ? MM_POLICY_THP_DEFAULT : action);
	if (action < 0 || action > MM_POLICY_THP_DEFAULT)
		return MM_POLICY_THP_DEFAULT;
	return action;
}

static __always_inline int compact_decide(void *bctx, struct mm_policy_compact_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	int action;

	struct fragml_cmp_in in = {
		.free_pages = ctx->free_pages, .free_huge = ctx->free_huge,
		/* proactive compaction of a node: no order, no index (as at a
		 * whole-zone mm_compaction_begin) */
		.order = ctx->proactive ? -1 : ctx->order, .frag_index = ctx->frag_index,
		.prio = ctx->prio, .defer_shift = ctx->defer_shift,
		.kthread = ctx->kthread, .kcompactd = ctx->proactive, .have_zone = 1,
	};

	if (!v || !fragml_in_scope())
		return MM_POLICY_COMPACT_RUN;
	fragml_vec_compaction(v, bpf_ktime_get_ns(), &in, fragml_glob_peek());
	if (!ctx->proactive)
		fragml_vaudit_compaction(FRAGML_VAUDIT_POLICY, ctx->zone_idx, ctx->order, v);
	action = fragml_decide_via(fragml_tc_cmp(bctx), FRAGML_HOOK_COMPACTION, v, &res);
	fragml_canary_eval(FRAGML_HOOK_COMPACTION, v, action < 0 ? MM_POLICY_COMPACT_RUN : action);
	if (action != MM_POLICY_COMPACT_SKIP)
		return MM_POLICY_COMPACT_RUN;
	return action;
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
 * gets a random action instead of the model's (now, or the waiting action the
 * collector chose: defer or compact, with equal chance); when logging, the
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
			action = !(r & 1) ? MM_POLICY_FALLBACK_NOW :
				 cfg->explore_action == MM_POLICY_FALLBACK_COMPACT ?
				 MM_POLICY_FALLBACK_COMPACT : MM_POLICY_FALLBACK_DEFER;
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
#define GATE_COPY(id, e, n, u, s, obs, enf, desc)			\
	if (((enf) & FRAGML_H_FB) && k < FRAGML_GATE_NFEAT) {		\
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

static __always_inline int fallback_decide(void *bctx, struct mm_policy_fallback_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_gate_cfg *cfg;
	struct fragml_result res;
	int model, action;
	__u32 zero = 0;

	if (!v || !fragml_in_scope())
		return MM_POLICY_FALLBACK_NOW;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_MIGRATETYPE] = ctx->migratetype;
	v->f[FRAGML_F_GFP_BITS] = ctx->gfp & FRAGML_GFP_BITS_MASK;
	v->f[FRAGML_F_IS_KTHREAD] = ctx->kthread;
	v->f[FRAGML_F_FREE_HUGE_BLOCKS] = fragml_cap(ctx->free_huge);
	v->f[FRAGML_F_UNUSABLE_PPK] = fragml_unusable_ppk(ctx->free_pages, ctx->free_huge);
	v->f[FRAGML_F_ZONE_FREE_LOG2] = fragml_log2(ctx->free_pages);
	v->f[FRAGML_F_CAN_RECLAIM] = ctx->can_defer;
	v->f[FRAGML_F_ATOMIC] = ctx->atomic;
	v->f[FRAGML_F_FILE_PPK] = fragml_ppk(ctx->file_pages, ctx->managed_pages);
	v->f[FRAGML_F_ANON_PPK] = fragml_ppk(ctx->anon_pages, ctx->managed_pages);
	v->f[FRAGML_F_FREE_WMARK_PPK] = fragml_ppk(ctx->free_pages, ctx->high_wmark);
	v->f[FRAGML_F_NOFRAG_ZONE] = ctx->nofragment_zone;
	/* the lifetime model's view of the requesting process (observe mode) */
	if (ctx->pid && !ctx->kthread) {
		const struct fragml_task_state *t = task_state_of(bpf_get_current_pid_tgid() >> 32);

		if (t)
			v->f[FRAGML_F_TASK_PRED_LONG_PPK] = fragml_task_pred_long_ppk(t);
	}
	model = fragml_decide_via(fragml_tc_fb(bctx), FRAGML_HOOK_FALLBACK, v, &res);
	fragml_canary_eval(FRAGML_HOOK_FALLBACK, v, model < 0 ? MM_POLICY_FALLBACK_NOW : model);
	action = model == MM_POLICY_FALLBACK_DEFER || model == MM_POLICY_FALLBACK_COMPACT ?
		 model : MM_POLICY_FALLBACK_NOW;
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
static __always_inline int placement_decide(void *bctx, struct mm_policy_placement_ctx *ctx)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;
	__u32 used;
	int action;

	if (!v || !fragml_in_scope())
		return MM_POLICY_PLACE_DEFAULT;
	used = ctx->free_pages + ctx->movable_pages;
	v->f[FRAGML_F_ORDER] = ctx->order;
	v->f[FRAGML_F_MIGRATETYPE] = ctx->start_mt;
	v->f[FRAGML_F_FALLBACK_MT] = ctx->block_mt;
	v->f[FRAGML_F_ZONE_FREE_LOG2] = fragml_log2(ctx->zone_free_pages);
	v->f[FRAGML_F_BLOCK_FREE] = fragml_cap(ctx->free_pages);
	v->f[FRAGML_F_BLOCK_MOVABLE] = fragml_cap(ctx->movable_pages);
	v->f[FRAGML_F_BLOCK_FOREIGN] = used < ctx->block_pages ?
				       fragml_cap(ctx->block_pages - used) : 0;
	v->f[FRAGML_F_FREE_ORDER] = ctx->free_order;
	v->f[FRAGML_F_KERNEL_CLAIMS] = ctx->kernel_claims;
	/* what identification observed of the requesting process */
	if (ctx->in_task) {
		const struct fragml_task_state *t = task_state_of(ctx->tgid);

		if (t) {
			v->f[FRAGML_F_TASK_LONG_PPK] = fragml_task_long_ppk(t);
			v->f[FRAGML_F_TASK_PRED_LONG_PPK] = fragml_task_pred_long_ppk(t);
		}
	}
	action = fragml_decide_via(fragml_tc_pl(bctx), FRAGML_HOOK_PLACEMENT, v, &res);
	fragml_canary_eval(FRAGML_HOOK_PLACEMENT, v, action < 0 ? MM_POLICY_PLACE_DEFAULT : action);
	if (action < MM_POLICY_PLACE_DEFAULT || action > MM_POLICY_PLACE_STEAL)
		return MM_POLICY_PLACE_DEFAULT;
	return action;
}

/*
 * The model-driven variants differ only in which callbacks they register:
 * one program per (variant, callback), each calling the same decide function.
 */
#define FRAGML_CALLBACK(variant, cb, ctx_type, decide)			\
	SEC("struct_ops/" #cb)						\
	int BPF_PROG(variant##_##cb, struct ctx_type *c)		\
	{								\
		return decide(ctx, c);					\
	}
#define FRAGML_THP(v)	FRAGML_CALLBACK(v, thp_fault, mm_policy_thp_ctx, thp_fault_decide)
#define FRAGML_CMP(v)	FRAGML_CALLBACK(v, compact, mm_policy_compact_ctx, compact_decide)
#define FRAGML_FB(v)	FRAGML_CALLBACK(v, fallback, mm_policy_fallback_ctx, fallback_decide)
#define FRAGML_PL(v)	FRAGML_CALLBACK(v, placement, mm_policy_placement_ctx, placement_decide)

FRAGML_THP(fragml)
FRAGML_CMP(fragml)

SEC(".struct_ops.link")
struct mm_policy_ops fragml = {
	.thp_fault	= (void *)fragml_thp_fault,
	.compact	= (void *)fragml_compact,
	.name		= "fragml",
};

FRAGML_THP(fragml_gate)
FRAGML_CMP(fragml_gate)
FRAGML_FB(fragml_gate)

SEC(".struct_ops.link")
struct mm_policy_ops fragml_gate = {
	.thp_fault	= (void *)fragml_gate_thp_fault,
	.compact	= (void *)fragml_gate_compact,
	.fallback	= (void *)fragml_gate_fallback,
	.name		= "fragml_gate",
};

FRAGML_THP(fragml_place)
FRAGML_CMP(fragml_place)
FRAGML_PL(fragml_place)

SEC(".struct_ops.link")
struct mm_policy_ops fragml_place = {
	.thp_fault	= (void *)fragml_place_thp_fault,
	.compact	= (void *)fragml_place_compact,
	.placement	= (void *)fragml_place_placement,
	.name		= "fragml_place",
};

FRAGML_THP(fragml_all)
FRAGML_CMP(fragml_all)
FRAGML_FB(fragml_all)
FRAGML_PL(fragml_all)

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
