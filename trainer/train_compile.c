// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training stage: XGBoost's model JSON compiled to a fragml model, and the
 * check of that reading (fragml_train.h).  With train.c the only files in
 * fragml that talk to XGBoost; the model file itself is written by model/.
 *
 * XGBoost 1.7 facts this file depends on (checked at run time by comparing our
 * own float walk of the parsed trees with XGBoost's predicted margins):
 *  - SaveModelToBuffer {"format":"json"}: learner.gradient_booster.model.trees[]
 *    with parallel arrays left_children (-1 at leaves), split_indices,
 *    split_conditions (threshold, or the leaf value already scaled by eta),
 *    default_left; tree_info[] gives each tree's class.
 *  - learner.learner_model_param.base_score is in output space: for
 *    binary:logistic a probability (margin = logit), for multi:softprob the
 *    margin itself.
 *  - Splits compare in float32: x < (float)cond goes left.  For integer x that
 *    is x < ceil(cond), the integer threshold we store.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "train_internal.h"

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/*
 * Compile one XGBoost tree (JSON) into m->nodes from index m->n_nodes, children
 * adjacent (right = left + 1), breadth first.  fid maps DMatrix columns to
 * feature ids.
 */
static int compile_tree(struct fragml_model *m, struct fnode *fn, struct json_object *tree,
			const int *fid, unsigned int ncol, unsigned int t, struct fragml_err *err)
{
	struct json_object *lc = jget(tree, "left_children"), *rc = jget(tree, "right_children"),
			   *si = jget(tree, "split_indices"), *sc = jget(tree, "split_conditions"),
			   *dl = jget(tree, "default_left");
	size_t nx, qh = 0, qt = 0;
	struct { int x; unsigned int slot; } *q;

	if (!lc || !rc || !si || !sc || !dl || !json_object_is_type(lc, json_type_array))
		return fragml_err_set(err, -EPROTO, "xgboost model JSON: tree %u lacks left_children/right_children/split_indices/split_conditions/default_left (XGBoost 1.7 format expected)",
				      t);
	nx = json_object_array_length(lc);
	if (json_object_array_length(rc) != nx || json_object_array_length(si) != nx ||
	    json_object_array_length(sc) != nx || json_object_array_length(dl) != nx || !nx)
		return fragml_err_set(err, -EPROTO, "xgboost model JSON: tree %u: arrays of different lengths",
				      t);
	if (m->n_nodes + nx > FRAGML_MAX_NODES)
		return fragml_err_set(err, -E2BIG, "model: %zu nodes after tree %u exceed the limit %d: use fewer trees or a smaller depth",
				      m->n_nodes + nx, t, FRAGML_MAX_NODES);
	q = malloc(nx * sizeof(*q));
	if (!q)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	m->trees[t].root = m->n_nodes;
	q[qt].x = 0;
	q[qt++].slot = m->n_nodes++;
	while (qh < qt) {
		int x = q[qh].x;
		unsigned int slot = q[qh++].slot;
		struct fragml_node *n = &m->nodes[slot];
		int l = json_object_get_int(json_object_array_get_idx(lc, x));
		double cond = json_object_get_double(json_object_array_get_idx(sc, x));

		if (l < 0) {
			n->info = FRAGML_NODE_LEAF;
			n->left = 0;
			n->value = fragml_fixed_from_double(cond);
			fn[slot].leaf = cond;
			continue;
		}
		int r = json_object_get_int(json_object_array_get_idx(rc, x));
		int col = json_object_get_int(json_object_array_get_idx(si, x));
		float fc = (float)cond;
		double thr = ceil((double)fc);

		if (l >= (int)nx || r >= (int)nx || r < 0 || col < 0 || (unsigned int)col >= ncol ||
		    qt + 2 > nx) {
			free(q);
			return fragml_err_set(err, -EPROTO, "xgboost model JSON: tree %u node %d: child or feature index out of range",
					      t, x);
		}
		if (thr > FRAGML_FEAT_MAX + 1.0)
			thr = FRAGML_FEAT_MAX + 1.0;	/* every valid value goes left */
		if (thr < FRAGML_FEAT_MIN)
			thr = FRAGML_FEAT_MIN;		/* every valid value goes right */
		n->info = (uint16_t)fid[col];
		if (json_object_get_boolean(json_object_array_get_idx(dl, x)))
			n->info |= FRAGML_NODE_DEFAULT_LEFT;
		n->value = (int32_t)thr;
		n->left = (uint16_t)m->n_nodes;
		fn[slot].cond = fc;
		q[qt].x = l;
		q[qt++].slot = m->n_nodes++;
		q[qt].x = r;
		q[qt++].slot = m->n_nodes++;
	}
	free(q);
	return 0;
}

/* Our float walk: what XGBoost predicts if we read its JSON right. */
static void float_margins(const struct fragml_model *m, const struct fnode *fn, const double *base,
			  const int32_t *x, double *out)
{
	for (unsigned int a = 0; a < m->n_actions; a++)
		out[a] = base[a];
	for (unsigned int t = 0; t < m->n_trees; t++) {
		unsigned int i = m->trees[t].root;

		while (!(m->nodes[i].info & FRAGML_NODE_LEAF)) {
			const struct fragml_node *n = &m->nodes[i];
			int32_t v = x[n->info & FRAGML_NODE_FEAT_MASK];
			int left = v == FRAGML_MISSING ? !!(n->info & FRAGML_NODE_DEFAULT_LEFT) :
							 (float)v < fn[i].cond;

			i = n->left + (left ? 0u : 1u);
		}
		out[m->output == FRAGML_OUT_ARGMAX ? m->trees[t].cls : 0] += fn[i].leaf;
	}
}

static unsigned int float_action(const struct fragml_model *m, const double *margin,
				 const double *thr)
{
	unsigned int a = 0;

	if (m->output == FRAGML_OUT_ORDINAL) {
		for (unsigned int i = 0; i + 1 < m->n_actions; i++)
			a += margin[0] >= thr[i];
		return a;
	}
	for (unsigned int k = 1; k < m->n_actions; k++)
		if (margin[k] > margin[a])
			a = k;
	return a;
}

/* Compile booster b (XGBoost's own JSON dump) into res->model. */
int train_compile(BoosterHandle b, const struct fragml_train_opts *o, unsigned int n_class,
		  const int *fid, unsigned int ncol, struct train_compiled *tc,
		  struct fragml_train_result *res, struct fragml_err *err)
{
	struct fragml_model *m = &res->model;
	struct json_object *root = NULL;
	int ret = 0;
	bst_ulong len;
	const char *buf;
	struct json_tokener *tok;
	struct json_object *learner, *trees, *tinfo, *lmp, *objname;
	const char *obj;
	double bs;

	XGB(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &buf));
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	root = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_free(tok);
	learner = jget(root, "learner");
	lmp = jget(learner, "learner_model_param");
	objname = jget(jget(learner, "objective"), "name");
	trees = jget(jget(jget(learner, "gradient_booster"), "model"), "trees");
	tinfo = jget(jget(jget(learner, "gradient_booster"), "model"), "tree_info");
	if (!root || !lmp || !objname || !trees || !tinfo || !jget(lmp, "base_score")) {
		ret = fragml_err_set(err, -EPROTO, "xgboost model JSON: missing learner/learner_model_param/base_score/objective/gradient_booster.model.trees (XGBoost 1.7 format expected)");
		goto out;
	}
	obj = json_object_get_string(objname);
	bs = strtod(json_object_get_string(jget(lmp, "base_score")), NULL);
	if (!strcmp(obj, "binary:logistic")) {
		if (bs <= 0 || bs >= 1) {
			ret = fragml_err_set(err, -EPROTO, "xgboost model JSON: base_score %g is not a probability",
					     bs);
			goto out;
		}
		tc->base[0] = log(bs / (1 - bs));
	} else {
		for (unsigned int c = 0; c < n_class; c++)
			tc->base[c] = bs;
	}
	memset(m, 0, sizeof(*m));
	m->hook = (uint8_t)o->hook;
	m->schema = FRAGML_SCHEMA_VERSION;
	m->output = o->kind == FRAGML_TRAIN_ARGMAX ? FRAGML_OUT_ARGMAX : FRAGML_OUT_ORDINAL;
	m->n_actions = (uint8_t)(o->kind == FRAGML_TRAIN_ARGMAX ? n_class :
				 o->kind == FRAGML_TRAIN_ORDINAL3 ? 3 :
				 o->positive_action > 1 ? o->positive_action + 1 : 2);
	m->n_trees = (uint16_t)json_object_array_length(trees);
	if (m->n_trees > FRAGML_MAX_TREES || !m->n_trees) {
		ret = fragml_err_set(err, -E2BIG, "model: %u trees outside 1..%d", m->n_trees,
				     FRAGML_MAX_TREES);
		goto out;
	}
	for (unsigned int t = 0; t < m->n_trees; t++) {
		int cls = json_object_get_int(json_object_array_get_idx(tinfo, t));

		m->trees[t].cls = (uint8_t)(m->output == FRAGML_OUT_ARGMAX ? cls : 0);
		ret = compile_tree(m, tc->fn, json_object_array_get_idx(trees, t), fid, ncol, t, err);
		if (ret)
			goto out;
	}
	for (unsigned int a = 0; a < (m->output == FRAGML_OUT_ARGMAX ? n_class : 1u); a++)
		m->base[a] = fragml_fixed_from_double(tc->base[a]);
	res->base_margin = tc->base[0];
out:
	if (root)
		json_object_put(root);
	return ret;
}

/*
 * Quantisation parity: XGBoost's float decisions against the integer model's
 * on rows[0..n_rows) (the test parts when there are any).  Refuses the model
 * when our float walk of the compiled trees differs from XGBoost's margins:
 * that would mean we misread its JSON.
 */
int train_parity(BoosterHandle b, const struct fragml_dataset *ds, const uint8_t *part,
		 const size_t *rows, size_t n_rows, const int *fid, unsigned int ncol,
		 unsigned int n_class, const struct train_compiled *tc,
		 struct fragml_train_result *res, struct fragml_err *err)
{
	const struct fragml_model *m = &res->model;
	DMatrixHandle dall = NULL;
	int ret = 0, rc;
	const char *cfg = "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
			  "\"iteration_end\": 0, \"strict_shape\": true}";
	const bst_ulong *shape;
	bst_ulong dim;
	const float *pred;
	int any_test = res->part_rows[FRAGML_PART_TEST] + res->part_rows[FRAGML_PART_CROSS] > 0;

	dall = train_dmatrix(ds, rows, n_rows, fid, ncol, &rc);
	if (rc) {
		ret = fragml_err_set(err, -EIO, "xgboost: cannot build the evaluation matrix: %s",
				     XGBGetLastError());
		goto out;
	}
	XGB(XGBoosterPredictFromDMatrix(b, dall, cfg, &shape, &dim, &pred));
	if (dim != 2 || shape[0] != n_rows || shape[1] != (m->output == FRAGML_OUT_ARGMAX ? n_class : 1)) {
		ret = fragml_err_set(err, -EPROTO, "xgboost: unexpected prediction shape");
		goto out;
	}
	for (size_t i = 0; i < n_rows; i++) {
		size_t r = rows[i];
		unsigned int k = (unsigned int)shape[1], fa, ia;
		double xm[FRAGML_MAX_ACTIONS] = { 0 }, mine[FRAGML_MAX_ACTIONS];
		struct fragml_eval_out io;

		for (unsigned int a = 0; a < k; a++)
			xm[a] = pred[i * k + a];
		float_margins(m, tc->fn, tc->base, ds->x + r * FRAGML_MAX_FEATURES, mine);
		fragml_model_eval(m, ds->x + r * FRAGML_MAX_FEATURES, &io);
		for (unsigned int a = 0; a < k; a++) {
			double e1 = fabs(mine[a] - xm[a]);
			double e2 = fabs(fragml_fixed_to_double(io.scores[a]) - xm[a]);

			if (e1 > res->max_margin_err)
				res->max_margin_err = e1;
			if (e2 > res->max_quant_err)
				res->max_quant_err = e2;
		}
		if (any_test && part[r] != FRAGML_PART_TEST && part[r] != FRAGML_PART_CROSS)
			continue;
		fa = float_action(m, xm, res->thresholds);
		ia = io.action;
		res->parity_n++;
		if (fa == ia) {
			res->parity_agree++;
			continue;
		}
		if (res->n_disagree < FRAGML_TRAIN_MAX_DISAGREE) {
			struct fragml_disagreement *d = &res->disagree[res->n_disagree++];

			d->row = r;
			d->xgb_margin = xm[m->output == FRAGML_OUT_ARGMAX ? fa : 0];
			d->int_score = fragml_fixed_to_double(io.score);
			d->xgb_action = fa;
			d->int_action = ia;
		}
		res->n_disagree_total++;
	}
	res->parity = res->parity_n ? (double)res->parity_agree / (double)res->parity_n : 1.0;
	/* A margin mismatch means we misread XGBoost's model: refuse it. */
	if (res->max_margin_err > 1e-3) {
		ret = fragml_err_set(err, -EPROTO, "compile check: our reading of XGBoost's trees differs from its predictions by %g (margin): model not written",
				     res->max_margin_err);
		goto out;
	}
out:
	if (dall)
		XGDMatrixFree(dall);
	return ret;
}
