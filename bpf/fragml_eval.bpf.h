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
 * Evaluate `m` on `v`; fills res (version, action, score); returns the action.
 * The tree loop is an open-coded iterator (bpf_for), so the verifier checks
 * its body once rather than once per tree; the depth loop is a plain bounded
 * loop whose states converge because node indices are unknown scalars.
 */
static __always_inline __u32 fragml_eval_blob(const struct fragml_blob *m,
					      const struct fragml_vec *v,
					      struct fragml_result *res)
{
	__s64 scores[FRAGML_MAX_ACTIONS];
	__u32 n_trees = m->n_trees, action = 0;
	__s64 best;
	int t, d, i;


	for (i = 0; i < FRAGML_MAX_ACTIONS; i++)
		scores[i] = m->base[i];
	if (n_trees > FRAGML_MAX_TREES)
		n_trees = FRAGML_MAX_TREES;
	bpf_for(t, 0, n_trees) {
		const struct fragml_tree *tr = &m->trees[t & (FRAGML_MAX_TREES - 1)];
		__u32 idx = tr->root;

#pragma clang loop unroll(disable)
		for (d = 0; d <= FRAGML_MAX_DEPTH; d++) {
			const struct fragml_node *n = &m->nodes[idx & (FRAGML_MAX_NODES - 1)];
			__u16 info = n->info;
			__s32 x;
			int left;

			if (info & FRAGML_NODE_LEAF) {
				scores[tr->cls & (FRAGML_MAX_ACTIONS - 1)] += n->value;
				break;
			}
			x = v->f[info & (FRAGML_MAX_FEATURES - 1)];
			if (x == FRAGML_MISSING)
				left = !!(info & FRAGML_NODE_DEFAULT_LEFT);
			else
				left = x < n->value;
			idx = n->left + (left ? 0 : 1);
		}
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
