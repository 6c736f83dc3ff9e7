/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * In-kernel tree-ensemble evaluator.  Integer only; every walk is bounded by
 * FRAGML_MAX_TREES x (FRAGML_MAX_DEPTH + 1) steps.  Must stay bit-for-bit equal to
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
 * One step down from split node `n`: the child index.  Branch-free: the split
 * outcome is data-dependent and would mispredict often, and BPF has no cmov,
 * so the comparison is done arithmetically (the barrier keeps clang from
 * turning it back into a branch).  A missing feature is rare and predictable,
 * so it keeps a plain branch.
 */
static __always_inline __u32 fragml_step(const struct fragml_node *n, const struct fragml_vec *v)
{
	__u32 info = n->info;
	__s64 x = v->f[info & (FRAGML_MAX_FEATURES - 1)], diff;
	__u64 right;

	if (x == FRAGML_MISSING) {
		right = ((info >> 14) & 1) ^ 1;
	} else {
		diff = x - (__s64)n->value;
		barrier_var(diff);
		right = ((__u64)diff >> 63) ^ 1;
	}
	return n->left + (__u32)right;
}

/*
 * Evaluate `m` on `v`; fills res (version, action, score); returns the action.
 * Trees are walked two at a time: the two walks are independent chains of
 * loads, so the CPU overlaps them.  The pair loop is an open-coded iterator
 * (bpf_for), so the verifier checks its body once rather than once per tree;
 * the depth loop is a plain bounded loop whose states converge because node
 * indices are unknown scalars.
 */
static __always_inline __u32 fragml_eval_blob(const struct fragml_blob *m,
					      const struct fragml_vec *v,
					      struct fragml_result *res)
{
	__s64 scores[FRAGML_MAX_ACTIONS];
	__u32 n_trees = m->n_trees, action = 0;
	__s64 best;
	int p, d, i;

	for (i = 0; i < FRAGML_MAX_ACTIONS; i++)
		scores[i] = m->base[i];
	if (n_trees > FRAGML_MAX_TREES)
		n_trees = FRAGML_MAX_TREES;
	bpf_for(p, 0, (n_trees + 1) / 2) {
		const struct fragml_tree *ta = &m->trees[(2 * p) & (FRAGML_MAX_TREES - 1)];
		const struct fragml_tree *tb = &m->trees[(2 * p + 1) & (FRAGML_MAX_TREES - 1)];
		int has_b = 2 * p + 1 < n_trees;
		__u32 ia = ta->root, ib = has_b ? tb->root : ta->root;
		const struct fragml_node *na, *nb;

#pragma clang loop unroll(disable)
		for (d = 0; d <= FRAGML_MAX_DEPTH; d++) {
			na = &m->nodes[ia & (FRAGML_MAX_NODES - 1)];
			nb = &m->nodes[ib & (FRAGML_MAX_NODES - 1)];
			if (!(na->info & FRAGML_NODE_LEAF))
				ia = fragml_step(na, v);
			if (!(nb->info & FRAGML_NODE_LEAF))
				ib = fragml_step(nb, v);
			else if (na->info & FRAGML_NODE_LEAF)
				break;
		}
		/* validated models reach their leaves within FRAGML_MAX_DEPTH steps */
		na = &m->nodes[ia & (FRAGML_MAX_NODES - 1)];
		nb = &m->nodes[ib & (FRAGML_MAX_NODES - 1)];
		scores[ta->cls & (FRAGML_MAX_ACTIONS - 1)] += na->value;
		if (has_b)
			scores[tb->cls & (FRAGML_MAX_ACTIONS - 1)] += nb->value;
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
 * One decision at `hook`: look the model up once, evaluate, count.
 * Returns the action, or -1 (res->version = 0) when no model is loaded.
 */
static __always_inline int fragml_decide(__u32 hook, const struct fragml_vec *v,
					 struct fragml_result *res)
{
	const struct fragml_blob *m = fragml_model_get(hook);
	__u32 action;

	if (!m || !m->version) {
		res->version = 0;
		res->action = 0;
		res->score = 0;
		return -1;
	}
	action = fragml_eval_blob(m, v, res);
	fragml_count(hook, m, action);
	return (int)action;
}

#endif /* FRAGML_EVAL_BPF_H */
