/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * In-kernel tree-ensemble evaluator over the packed layout of struct
 * fragml_blob (fragml_abi.h).  Integer only; every walk is bounded by
 * FRAGML_MAX_TREES x FRAGML_MAX_DEPTH steps.  Must stay bit-for-bit equal to
 * fragml_model_eval() in model/model.c (the parity selftest checks).
 *
 * The model slot is looked up once per decision, so a decision is always made
 * by exactly one whole model even while the loader swaps versions.
 */
#ifndef FRAGML_EVAL_BPF_H
#define FRAGML_EVAL_BPF_H

#include "fragml_maps.bpf.h"

/* The current model blob for `hook`, or NULL when none is loaded. */
static __always_inline const struct fragml_blob *fragml_model_get(__u32 hook)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&fragml_models, &hook);

	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, &zero);
}

static __always_inline void fragml_count(__u32 hook, const struct fragml_blob *m, __u32 action)
{
	__u32 key = FRAGML_COUNTER_INDEX(hook, m->counter_row & (FRAGML_COUNTER_ROWS - 1),
					 action & (FRAGML_MAX_ACTIONS - 1));
	__u64 *c = bpf_map_lookup_elem(&fragml_counters, &key);

	if (c)
		*c += 1;
}

/*
 * One decision population per hook: in enforce mode the policy decides
 * thp_fault and compaction and counts them in fragml_counters; the observe
 * programs still evaluate there (their vectors feed the collector and
 * `fragml top`), but their decisions are a shadow and count in fragml_shadow.
 */
static __always_inline bool fragml_shadowed(__u32 hook)
{
	__u32 zero = 0;
	struct fragml_info *fi = bpf_map_lookup_elem(&fragml_info, &zero);

	return fi && fi->mode == FRAGML_MODE_ENFORCE &&
	       (FRAGML_ENFORCE_HOOKS & FRAGML_HOOKBIT(hook));
}

static __always_inline void fragml_count_shadow(__u32 hook, __u32 action)
{
	__u32 key = FRAGML_SHADOW_INDEX(hook % FRAGML_NR_HOOKS, action & (FRAGML_MAX_ACTIONS - 1));
	__u64 *c = bpf_map_lookup_elem(&fragml_shadow, &key);

	if (c)
		*c += 1;
}

#define FRAGML_KN_BYTES	(FRAGML_KNODES * 8)
#define FRAGML_SMALL_TREES	4	/* up to this many trees: a straight-line walk */

/*
 * Walk one tree from the split entry at byte offset `off` down to a leaf;
 * returns the byte offset of the leaf value.  Per level: two loads of the
 * entry, one load of the feature, one unsigned compare; no index scaling, no
 * masking: the bound check the verifier needs is a branch never taken.  The
 * leaf test is a branch too; it follows the tree's shape, which the CPU learns.
 *
 * `branchless` does the compare arithmetically (BPF has no cmov): each level
 * then waits for its feature load, but never mispredicts.  With a branch the
 * CPU runs ahead on its guess: faster when decisions repeat, slower when they
 * are a coin toss.  Measured (docs/performance.md): a branch wins for single
 * trees and small ensembles even on random vectors; ensembles, whose walks
 * add up their mispredictions, are walked branch-free.
 */
static __always_inline __u64 fragml_walk(const struct fragml_blob *m, __u64 off,
					 const struct fragml_vec *v, const bool branchless)
{
	const char *kn = (const char *)m->knode;
	int d;

#pragma clang loop unroll(disable)
	for (d = 0; d < FRAGML_MAX_DEPTH; d++) {
		const struct fragml_knode *n;
		__u64 meta, fb, x, u, step, lbit, diff;

		barrier_var(off);
		if (off > FRAGML_KN_BYTES - sizeof(*n))
			break;
		n = (const void *)(kn + off);
		meta = n->meta;
		fb = meta >> FRAGML_KN_FB_SHIFT;
		x = *(const __u32 *)((const char *)v->f + (fb & 0xfc));
		u = (__u32)(x + 0x80000000u - (fb & FRAGML_KN_DFLT_RIGHT));
		diff = u - n->thr;
		if (branchless)
			barrier_var(diff);	/* keep clang from turning the sign into a branch */
		lbit = diff >> 63;	/* 1: go left */
		if (branchless)
			barrier_var(lbit);
		step = 8 >> ((fb >> 1) & 1);
		off = (meta & FRAGML_KN_LEFT_MASK) + step - (step & -lbit);
		if ((meta >> (FRAGML_KN_RLEAF_SHIFT - lbit)) & 1)
			break;
	}
	return off;
}

/* The leaf value tree entry `t` leads to for `v`. */
static __always_inline __s32 fragml_tree_value(const struct fragml_blob *m, __u32 t,
					       const struct fragml_vec *v, const bool branchless)
{
	__u64 off = t & FRAGML_KT_OFF_MASK;

	if (!(t & FRAGML_KT_LEAF))
		off = fragml_walk(m, off, v, branchless);
	barrier_var(off);
	if (off > FRAGML_KN_BYTES - sizeof(__s32))
		off = 0;
	return *(const __s32 *)((const char *)m->knode + off);
}

static __always_inline void fragml_add_tree(const struct fragml_blob *m, unsigned int i,
					    const struct fragml_vec *v, __s64 *scores,
					    const bool branchless)
{
	__u32 t = m->tree[i & (FRAGML_MAX_TREES - 1)];

	scores[(t >> FRAGML_KT_CLS_SHIFT) & (FRAGML_MAX_ACTIONS - 1)] += fragml_tree_value(m, t, v, branchless);
}

/* The scores of one evaluation, as one object a global function may write. */
struct fragml_scores {
	__s64 s[FRAGML_MAX_ACTIONS];
};

/*
 * Trees i and, when i + 1 < n, i + 1 of a larger ensemble, walked branch-free
 * and added to `sc`: the iterator's step, as a global function.  On 6.12 the
 * verifier re-checked the inlined walks of the iterator's body (two bounded
 * 12-level loops) on each pass until its states converged, 60 000-130 000
 * instructions of every program that evaluates a model; a global function's
 * body is checked once per program.  Two trees per call keep their walks
 * independent, so the CPU still overlaps them (docs/performance.md, "Load
 * time").
 */
__noinline int fragml_add_trees_bf(const struct fragml_blob *m, __u32 i, __u32 n,
				   const struct fragml_vec *v, struct fragml_scores *sc)
{
	if (!m || !v || !sc)
		return 0;
	fragml_add_tree(m, i, v, sc->s, true);
	if (i + 1 < n)
		fragml_add_tree(m, i + 1, v, sc->s, true);
	return 0;
}

/*
 * Evaluate `m` on `v`; fills res (version, action, score); returns the action.
 * Up to FRAGML_SMALL_TREES trees the walks are straight-line code (the
 * verifier checks each copy); larger ensembles go through an open-coded
 * iterator (bpf_for) two trees per step, through fragml_add_trees_bf().
 */
static __always_inline __u32 fragml_eval_blob(const struct fragml_blob *m,
					      const struct fragml_vec *v,
					      struct fragml_result *res)
{
	struct fragml_scores sc = {};
	__s64 *scores = sc.s;
	__u32 n_trees = m->n_trees, action = 0;
	__s64 best;
	int p, i;

	scores[0] = m->base[0];
	if (m->output != FRAGML_OUT_ORDINAL)
		for (i = 1; i < FRAGML_MAX_ACTIONS; i++)
			scores[i] = m->base[i];
	if (n_trees <= FRAGML_SMALL_TREES) {
		fragml_add_tree(m, 0, v, scores, false);
		for (i = 1; i < FRAGML_SMALL_TREES; i++)
			if (i < n_trees)
				fragml_add_tree(m, i, v, scores, false);
	} else {
		if (n_trees > FRAGML_MAX_TREES)
			n_trees = FRAGML_MAX_TREES;
		bpf_for(p, 0, (n_trees + 1) / 2)
			fragml_add_trees_bf(m, 2 * p, n_trees, v, &sc);
	}
	best = scores[0];
	if (m->output == FRAGML_OUT_ORDINAL) {
		for (i = 0; i < FRAGML_MAX_ACTIONS - 1; i++)
			if (i + 1 < m->n_actions && scores[0] >= m->thresholds[i])
				action++;
	} else {
		for (i = 1; i < FRAGML_MAX_ACTIONS; i++)
			if (i < m->n_actions && scores[i] > best) {
				best = scores[i];
				action = i;
			}
	}
	res->version = m->version;
	res->action = action;
	res->score = best;
	return action;
}

/*
 * fragml_eval_blob() as a global function: the verifier checks it once per
 * program, apart from its callers, instead of once per call site and per
 * state the caller reaches it in (the tree walks' bounded loops multiplied by
 * the feature builders' branches made the lifetime hooks the most expensive
 * programs to verify).  Its pointer arguments may be NULL as far as the
 * verifier knows.
 */
__noinline int fragml_eval_blob_g(const struct fragml_blob *m, const struct fragml_vec *v,
				  struct fragml_result *res)
{
	if (!m || !v || !res)
		return 0;
	return fragml_eval_blob(m, v, res);
}

/*
 * Evaluate the model in force at `hook` without counting the decision (the
 * feed: the observe programs count the same allocations).  Returns the model,
 * or NULL (res zeroed: version 0, action 0, score 0) when none is loaded.
 */
static __always_inline const struct fragml_blob *fragml_evaluate(__u32 hook,
								 const struct fragml_vec *v,
								 struct fragml_result *res)
{
	const struct fragml_blob *m = fragml_model_get(hook);

	/* zeroed first: the no-model answer, and initialised memory for the
	 * global function, which the verifier checks apart from this caller */
	res->version = 0;
	res->action = 0;
	res->score = 0;
	if (!m || !m->version)
		return NULL;
	fragml_eval_blob_g(m, v, res);
	return m;
}

/*
 * One decision at `hook`: look the model up once, evaluate, count.
 * Returns the action, or -1 (res->version = 0) when no model is loaded.
 */
static __always_inline int fragml_decide(__u32 hook, const struct fragml_vec *v,
					 struct fragml_result *res)
{
	const struct fragml_blob *m = fragml_evaluate(hook, v, res);

	if (!m)
		return -1;
	fragml_count(hook, m, res->action);
	return (int)res->action;
}

/* The map evaluator's decision at a hook the enforcing policy decides:
 * counted as a shadow decision, apart from the hook's. */
static __always_inline int fragml_decide_shadow(__u32 hook, const struct fragml_vec *v,
						struct fragml_result *res)
{
	if (!fragml_evaluate(hook, v, res))
		return -1;
	fragml_count_shadow(hook, res->action);
	return (int)res->action;
}

/*
 * A decision through a compiled model version: `compiled` is what the hook's
 * tail-call function returned (the action, the result in the scratch after
 * `v`), or < 0 when no compiled program is in the slot: then the map
 * evaluator decides; when it does decide, the scratch's result is marked as
 * none (version 0), so that a decision's result there is the compiled
 * program's or none (a hook that found no model leaves it: a vector built
 * later may sit before an older result).  `v` must be fragml_scratch_vec()'s.
 */
static __always_inline int fragml_decide_via(long compiled, __u32 hook, struct fragml_vec *v,
					     struct fragml_result *res)
{
	struct fragml_cio *c = (struct fragml_cio *)v;
	int action;

	if (compiled >= 0) {
		*res = c->r;
		return (int)compiled;
	}
	action = fragml_decide(hook, v, res);
	if (action >= 0)
		c->r.version = 0;	/* decided here: no compiled result for this vector */
	return action;
}

/*
 * An observe program's decision at `hook`: the hook's decision, through its
 * compiled version (`tc`: the call of the hook's tail-call function, made
 * only then), or a shadow one where the enforcing policy decides the hook.
 */
#define fragml_decide_observed(tc, hook, v, res)				\
	(fragml_shadowed(hook) ? fragml_decide_shadow(hook, v, res)		\
			       : fragml_decide_via((tc), hook, v, res))

/* A pinned program array of compiled model versions, slot = hook: one per
 * caller (a tail call needs the caller's type and attach prototype); pinned
 * because a program array empties when its last user-space reference goes. */
#define FRAGML_CPROG_ARRAY(name)				\
	struct {						\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);		\
		__uint(max_entries, FRAGML_NR_HOOKS);		\
		__type(key, __u32);				\
		__type(value, __u32);				\
		__uint(pinning, LIBBPF_PIN_BY_NAME);		\
	} name SEC(".maps")

/* A global function that tail-calls slot `hook` of program array `array`:
 * the compiled program's action, or -1 (empty slot).  Global, so that
 * neither clang nor the verifier takes the fall-through -1 for the only
 * result; one per (array, hook), so the slot is a constant and the tail call
 * a direct jump the kernel patches at each swap. */
#define FRAGML_TAIL_DECIDE(name, array, hook)				\
__noinline long name(void *ctx __arg_ctx)				\
{									\
	long r = -1;							\
									\
	bpf_tail_call(ctx, &array, hook);				\
	barrier_var(r);							\
	return r;							\
}

#endif /* FRAGML_EVAL_BPF_H */
