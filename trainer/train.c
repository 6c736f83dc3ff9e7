// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training (XGBoost C API), compilation to a fragml model, threshold choice
 * and validation (fragml_train.h).  The only file in fragml that talks to
 * XGBoost; the model file itself is written by the model/ library.
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
#include <time.h>

#include <json-c/json.h>
#include <xgboost/c_api.h>

#include "fragml_train.h"

const char *fragml_train_kind_name(enum fragml_train_kind k)
{
	switch (k) {
	case FRAGML_TRAIN_BINARY: return "binary";
	case FRAGML_TRAIN_ORDINAL3: return "ordinal3";
	case FRAGML_TRAIN_ARGMAX: return "argmax";
	}
	return "?";
}

void fragml_train_opts_init(struct fragml_train_opts *o, unsigned int hook)
{
	memset(o, 0, sizeof(*o));
	o->hook = hook;
	o->kind = hook == FRAGML_HOOK_THP_FAULT ? FRAGML_TRAIN_ORDINAL3 : FRAGML_TRAIN_BINARY;
	o->n_trees = 16;
	o->max_depth = 5;
	o->eta = 0.3;
	o->min_child_weight = 1.0;
	o->seed = 1;
	o->balance = 1;
	o->threshold_rule = "f1";
	o->compact_precision = 0.95;
}

/* ---- metrics ---- */

struct scored {
	int64_t score;	/* binary-view score: higher = more positive */
	uint8_t pos;
};

static int cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	return x->score < y->score ? -1 : x->score > y->score;
}

/* Mann-Whitney ROC-AUC with ties counted half.  Sorts v. */
static double roc_auc(struct scored *v, size_t n)
{
	double rank_sum = 0;
	size_t npos = 0, i = 0;

	qsort(v, n, sizeof(*v), cmp_scored);
	while (i < n) {
		size_t j = i, p = 0;

		while (j < n && v[j].score == v[i].score)
			p += v[j++].pos;
		rank_sum += (double)p * ((double)(i + 1 + j) / 2.0);
		npos += p;
		i = j;
	}
	if (!npos || npos == n)
		return NAN;
	return (rank_sum - (double)npos * (double)(npos + 1) / 2.0) /
	       ((double)npos * (double)(n - npos));
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void finish_metrics(struct fragml_metrics *m)
{
	m->accuracy = ratio(m->tp + m->tn, m->n);
	m->precision = ratio(m->tp, m->tp + m->fp);
	m->recall = ratio(m->tp, m->tp + m->fn);
	m->f1 = ratio(2 * m->tp, 2 * m->tp + m->fp + m->fn);
}

/* Per-row evaluation of the compiled model. */
struct row_eval {
	int64_t score;		/* binary view */
	uint8_t action;
};

static int64_t binary_score(const struct fragml_model *m, const struct fragml_eval_out *o)
{
	if (m->output == FRAGML_OUT_ORDINAL)
		return o->scores[0];
	if (m->n_actions == 2)
		return o->scores[1] - o->scores[0];
	return o->scores[o->action];	/* no meaningful binary score */
}

static void eval_rows(const struct fragml_model *m, const struct fragml_dataset *ds,
		      struct row_eval *ev)
{
	for (size_t r = 0; r < ds->n_rows; r++) {
		struct fragml_eval_out o;

		if (ds->hook[r] != m->hook)
			continue;
		fragml_model_eval(m, ds->x + r * FRAGML_MAX_FEATURES, &o);
		ev[r].action = (uint8_t)o.action;
		ev[r].score = binary_score(m, &o);
	}
}

/* Metrics over rows r of m->hook with (which < 0 || part[r] == which) and,
 * when cls_filter >= 0, class == cls_filter (-2: system classes). */
static void metrics_of(const struct fragml_model *m, const struct fragml_dataset *ds,
		       const uint8_t *part, int which, int cls_filter,
		       const struct row_eval *ev, struct scored *tmp, struct fragml_metrics *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->n_actions = m->n_actions;
	for (size_t r = 0; r < ds->n_rows; r++) {
		int pos, pred;

		if (ds->hook[r] != m->hook || (which >= 0 && part[r] != which))
			continue;
		if (cls_filter == -2 && !fragml_class_is_system(ds->cls[r]))
			continue;
		if (cls_filter >= 0 && ds->cls[r] != cls_filter)
			continue;
		pos = ds->label[r] >= 1;
		pred = ev[r].action >= 1;
		if (ds->label[r] + 1u > out->n_labels)
			out->n_labels = ds->label[r] + 1u;
		out->confusion[ds->label[r]][ev[r].action]++;
		if (m->output == FRAGML_OUT_ARGMAX && m->n_actions > 2) {
			/* multi-class: "positive" = correct, for accuracy only */
			if (ds->label[r] == ev[r].action)
				out->tp++;
			else
				out->fp++;
		} else {
			out->tp += pos && pred;
			out->fp += !pos && pred;
			out->tn += !pos && !pred;
			out->fn += pos && !pred;
		}
		tmp[n].score = ev[r].score;
		tmp[n].pos = (uint8_t)pos;
		n++;
	}
	out->n = n;
	if (m->output == FRAGML_OUT_ARGMAX && m->n_actions > 2) {
		out->accuracy = ratio(out->tp, n);
		out->precision = out->recall = out->f1 = out->auc = NAN;
		out->tp = out->fp = 0;
		return;
	}
	finish_metrics(out);
	out->auc = roc_auc(tmp, n);
}

void fragml_model_metrics_class(const struct fragml_model *m, const struct fragml_dataset *ds,
				const uint8_t *part, int which, int cls, struct fragml_metrics *out)
{
	struct row_eval *ev = calloc(ds->n_rows + 1, sizeof(*ev));
	struct scored *tmp = calloc(ds->n_rows + 1, sizeof(*tmp));

	memset(out, 0, sizeof(*out));
	if (ev && tmp) {
		eval_rows(m, ds, ev);
		metrics_of(m, ds, part, which, cls < -2 ? -1 : cls, ev, tmp, out);
	}
	free(ev);
	free(tmp);
}

void fragml_model_metrics(const struct fragml_model *m, const struct fragml_dataset *ds,
			  const uint8_t *part, int which, struct fragml_metrics *out)
{
	fragml_model_metrics_class(m, ds, part, which, -1, out);
}

/* ---- thresholds ---- */

int fragml_threshold_rule_check(const char *rule, struct fragml_err *err)
{
	char *end;
	double v;

	if (!strcmp(rule, "f1"))
		return 0;
	if (!strncmp(rule, "recall:", 7) || !strncmp(rule, "precision:", 10) ||
	    !strncmp(rule, "prob:", 5)) {
		const char *p = strchr(rule, ':') + 1;

		v = strtod(p, &end);
		if (end != p && !*end && v > 0 && v < 1)
			return 0;
	}
	return fragml_err_set(err, -EINVAL, "threshold rule '%s': expected f1, recall:R, precision:P or prob:P with 0 < R,P < 1",
			      rule);
}

static int cmp_scored_desc(const void *a, const void *b)
{
	return -cmp_scored(a, b);
}

static int32_t clamp32(int64_t v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN + 1)
		return INT32_MIN + 1;
	return (int32_t)v;
}

/*
 * Candidate thresholds lie half-way between adjacent distinct scores (so that
 * the small quantisation error of the integer model cannot move a validation
 * row across the line).  cand[k] has n_pred[k] rows at or above it, tp[k] of
 * them positive.  Returns the number of candidates.
 */
struct cand {
	int64_t thr;
	size_t n_pred, tp;
};

static size_t candidates(struct scored *v, size_t n, struct cand *c)
{
	size_t k = 0, tp = 0, i = 0;

	qsort(v, n, sizeof(*v), cmp_scored_desc);
	/* nothing positive */
	c[k++] = (struct cand){ .thr = (n ? v[0].score : 0) + (1 << FRAGML_LEAF_SHIFT), 0, 0 };
	while (i < n) {
		size_t j = i;
		int64_t next;

		while (j < n && v[j].score == v[i].score)
			tp += v[j++].pos;
		next = j < n ? v[j].score : v[i].score - 2 * (1 << FRAGML_LEAF_SHIFT);
		c[k++] = (struct cand){ .thr = next + (v[i].score - next + 1) / 2, .n_pred = j, .tp = tp };
		i = j;
	}
	return k;
}

static double cand_f1(const struct cand *c, size_t npos)
{
	return ratio(2 * c->tp, c->n_pred + npos);
}

/* Choose the binary threshold by rule; returns Q15.16. */
static int64_t choose_threshold(struct scored *v, size_t n, const char *rule, const struct cand *c,
				size_t nc)
{
	size_t npos = 0, best = 0;
	double target;

	for (size_t i = 0; i < n; i++)
		npos += v[i].pos;
	if (!strncmp(rule, "prob:", 5)) {
		double p = strtod(rule + 5, NULL);

		return fragml_fixed_from_double(log(p / (1 - p)));
	}
	if (!strcmp(rule, "f1")) {
		/* Highest F1; among ties the middle candidate, away from both ends. */
		size_t first = 0, last = 0;
		double bf = -1;

		for (size_t k = 0; k < nc; k++) {
			double f = cand_f1(&c[k], npos);

			if (isnan(f))
				f = 0;
			if (f > bf + 1e-12) {
				bf = f;
				first = last = k;
			} else if (fabs(f - bf) <= 1e-12 && last == k - 1) {
				last = k;
			}
		}
		best = first + (last - first) / 2;
		return c[best].thr;
	}
	target = strtod(strchr(rule, ':') + 1, NULL);
	if (!strncmp(rule, "recall:", 7)) {
		for (size_t k = 0; k < nc; k++)
			if (npos && ratio(c[k].tp, npos) >= target)
				return c[k].thr;
		return c[nc - 1].thr;
	}
	/* precision:P -- the lowest threshold that still has that precision */
	best = 0;
	for (size_t k = 1; k < nc; k++)
		if (ratio(c[k].tp, c[k].n_pred) >= target)
			best = k;
	return c[best].thr;
}

/* ---- XGBoost ---- */

#define XGB(call) do { \
		if ((call) != 0) { \
			ret = fragml_err_set(err, -EIO, "xgboost: %s: %s", #call, XGBGetLastError()); \
			goto out; \
		} \
	} while (0)

/* Float twin of a compiled node, for checking our reading of XGBoost's JSON. */
struct fnode {
	float cond;	/* split threshold (float32, as XGBoost compares) */
	double leaf;
};

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static DMatrixHandle make_dmatrix(const struct fragml_dataset *ds, const size_t *rows, size_t n,
				  const int *fid, unsigned int ncol, int *rc)
{
	float *buf = malloc((n ? n : 1) * ncol * sizeof(float));
	DMatrixHandle d = NULL;

	*rc = -1;
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (unsigned int j = 0; j < ncol; j++) {
			int32_t v = ds->x[rows[i] * FRAGML_MAX_FEATURES + fid[j]];

			buf[i * ncol + j] = v == FRAGML_MISSING ? NAN : (float)v;
		}
	*rc = XGDMatrixCreateFromMat(buf, n, ncol, NAN, &d);
	free(buf);
	return d;
}

int fragml_train(const struct fragml_dataset *ds, const uint8_t *part,
		 const struct fragml_train_opts *o, struct fragml_train_result *res,
		 struct fragml_err *err)
{
	unsigned int max_depth_lim = o->allow_over_budget ? FRAGML_MAX_DEPTH : FRAGML_TRAIN_MAX_DEPTH;
	unsigned int max_trees_lim = o->allow_over_budget ? FRAGML_MAX_TREES : FRAGML_TRAIN_MAX_TREES;
	uint64_t mask = fragml_hook_feature_mask(o->hook);
	size_t *rows = NULL, *train_rows = NULL, n_hook = 0, n_train = 0, npos = 0;
	size_t class_n[FRAGML_MAX_ACTIONS] = { 0 };
	unsigned int ncol = 0, n_class = 2, rounds;
	int fid[FRAGML_MAX_FEATURES];
	DMatrixHandle dtrain = NULL, dall = NULL;
	BoosterHandle b = NULL;
	struct json_object *root = NULL;
	struct row_eval *ev = NULL;
	struct scored *tmp = NULL;
	struct fnode *fn = NULL;
	float *weights = NULL, *labels = NULL;
	struct fragml_model *m = &res->model;
	double base[FRAGML_MAX_ACTIONS] = { 0 }, t0 = now_s();
	char pbuf[64];
	int ret = 0, rc;

	memset(res, 0, sizeof(*res));
	if (o->hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "train: hook %u unknown", o->hook);
	if (o->max_depth < 1 || o->max_depth > max_depth_lim)
		return fragml_err_set(err, -E2BIG, "train: max depth %u outside 1..%u (kernel budget%s)",
				      o->max_depth, max_depth_lim,
				      o->allow_over_budget ? ", format limit" : "; --over-budget allows up to 12");
	if (o->n_trees < 1 || o->n_trees > max_trees_lim)
		return fragml_err_set(err, -E2BIG, "train: %u trees outside 1..%u (kernel budget%s)",
				      o->n_trees, max_trees_lim,
				      o->allow_over_budget ? ", format limit" : "; --over-budget allows up to 64");
	/* eta 0 trains nothing: every tree is empty and the model a constant */
	if (!(o->eta > 0 && o->eta <= 1))
		return fragml_err_set(err, -EINVAL, "train: eta %g outside (0, 1]", o->eta);
	if (!(o->min_child_weight >= 0))
		return fragml_err_set(err, -EINVAL, "train: min_child_weight %g is negative", o->min_child_weight);
	if (o->kind == FRAGML_TRAIN_ORDINAL3 && !(o->compact_precision > 0 && o->compact_precision <= 1))
		return fragml_err_set(err, -EINVAL, "train: compact precision %g outside (0, 1]", o->compact_precision);
	if (!(o->decline_precision >= 0 && o->decline_precision <= 1))
		return fragml_err_set(err, -EINVAL, "train: decline precision %g outside [0, 1]", o->decline_precision);
	if (o->kind == FRAGML_TRAIN_ORDINAL3 && fragml_hook_n_actions(o->hook) < 3)
		return fragml_err_set(err, -EINVAL, "train: hook %s has %u actions: the 3-action ordinal model is for thp_fault",
				      fragml_hook_name(o->hook), fragml_hook_n_actions(o->hook));
	if ((ret = fragml_threshold_rule_check(o->threshold_rule ? o->threshold_rule : "f1", err)))
		return ret;
	if (o->features)
		mask &= o->features;
	for (int id = 0; id < FRAGML_MAX_FEATURES; id++)
		if (mask & (1ull << id))
			fid[ncol++] = id;
	if (!ncol)
		return fragml_err_set(err, -EINVAL, "train: no registered feature of hook %s selected",
				      fragml_hook_name(o->hook));
	if ((ret = fragml_dataset_check_float32(ds, err)))
		return ret;

	rows = malloc((ds->n_rows + 1) * sizeof(*rows));
	train_rows = malloc((ds->n_rows + 1) * sizeof(*train_rows));
	ev = calloc(ds->n_rows + 1, sizeof(*ev));
	tmp = calloc(ds->n_rows + 1, sizeof(*tmp));
	fn = calloc(FRAGML_MAX_NODES, sizeof(*fn));
	if (!rows || !train_rows || !ev || !tmp || !fn) {
		ret = fragml_err_set(err, -ENOMEM, "train: out of memory");
		goto out;
	}
	for (size_t r = 0; r < ds->n_rows; r++) {
		if (ds->hook[r] != o->hook)
			continue;
		rows[n_hook++] = r;
		res->part_rows[part[r]]++;
		res->part_pos[part[r]] += ds->label[r] >= 1;
		if (part[r] == FRAGML_PART_TRAIN) {
			train_rows[n_train++] = r;
			class_n[ds->label[r]]++;
			npos += ds->label[r] >= 1;
		}
	}
	if (!n_train)
		ret = fragml_err_set(err, -ENODATA, "train: no training rows for hook %s (check the CSV's hook column and the split)",
				     fragml_hook_name(o->hook));
	else if (o->kind != FRAGML_TRAIN_ARGMAX && (!npos || npos == n_train))
		ret = fragml_err_set(err, -EINVAL, "train: the training rows of hook %s all have label %d: nothing to learn",
				     fragml_hook_name(o->hook), npos ? 1 : 0);
	if (ret)
		goto out;
	if (o->kind == FRAGML_TRAIN_ARGMAX) {
		n_class = ds->n_labels;
		if (n_class < 2 || n_class > fragml_hook_n_actions(o->hook)) {
			ret = fragml_err_set(err, -EINVAL, "train: argmax needs labels 0..%u (hook %s actions); the data has %u distinct label values",
					     fragml_hook_n_actions(o->hook) - 1, fragml_hook_name(o->hook), n_class);
			goto out;
		}
	}
	rounds = o->kind == FRAGML_TRAIN_ARGMAX ? o->n_trees / n_class : o->n_trees;
	if (!rounds) {
		ret = fragml_err_set(err, -EINVAL, "train: %u trees cannot hold one round of %u classes",
				     o->n_trees, n_class);
		goto out;
	}

	/* ---- training ---- */
	dtrain = make_dmatrix(ds, train_rows, n_train, fid, ncol, &rc);
	if (rc) {
		ret = fragml_err_set(err, -EIO, "xgboost: cannot build the training matrix: %s",
				     XGBGetLastError());
		goto out;
	}
	labels = malloc(n_train * sizeof(*labels));
	weights = malloc(n_train * sizeof(*weights));
	if (!labels || !weights) {
		ret = fragml_err_set(err, -ENOMEM, "train: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_train; i++) {
		unsigned int l = ds->label[train_rows[i]];

		if (o->kind != FRAGML_TRAIN_ARGMAX)
			l = l >= 1;
		labels[i] = (float)l;
		weights[i] = 1.0f;
		if (o->balance) {
			size_t cnt = o->kind == FRAGML_TRAIN_ARGMAX ? class_n[l] : (l ? npos : n_train - npos);

			weights[i] = (float)((double)n_train / ((double)n_class * (double)cnt));
		}
	}
	XGB(XGDMatrixSetFloatInfo(dtrain, "label", labels, n_train));
	XGB(XGDMatrixSetFloatInfo(dtrain, "weight", weights, n_train));
	XGB(XGBoosterCreate(&dtrain, 1, &b));
	XGB(XGBoosterSetParam(b, "verbosity", "0"));
	XGB(XGBoosterSetParam(b, "booster", "gbtree"));
	XGB(XGBoosterSetParam(b, "tree_method", "hist"));
	XGB(XGBoosterSetParam(b, "max_bin", "256"));
	XGB(XGBoosterSetParam(b, "nthread", "1"));
	snprintf(pbuf, sizeof(pbuf), "%u", o->seed);
	XGB(XGBoosterSetParam(b, "seed", pbuf));
	snprintf(pbuf, sizeof(pbuf), "%u", o->max_depth);
	XGB(XGBoosterSetParam(b, "max_depth", pbuf));
	snprintf(pbuf, sizeof(pbuf), "%.17g", o->eta);
	XGB(XGBoosterSetParam(b, "eta", pbuf));
	snprintf(pbuf, sizeof(pbuf), "%.17g", o->min_child_weight);
	XGB(XGBoosterSetParam(b, "min_child_weight", pbuf));
	if (o->kind == FRAGML_TRAIN_ARGMAX) {
		XGB(XGBoosterSetParam(b, "objective", "multi:softprob"));
		snprintf(pbuf, sizeof(pbuf), "%u", n_class);
		XGB(XGBoosterSetParam(b, "num_class", pbuf));
		XGB(XGBoosterSetParam(b, "eval_metric", "mlogloss"));
	} else {
		XGB(XGBoosterSetParam(b, "objective", "binary:logistic"));
		XGB(XGBoosterSetParam(b, "base_score", "0.5"));
		XGB(XGBoosterSetParam(b, "eval_metric", "logloss"));
	}
	for (unsigned int it = 0; it < rounds; it++) {
		const char *eval = NULL;
		const char *name = "train";

		XGB(XGBoosterUpdateOneIter(b, (int)it, dtrain));
		if (o->progress) {
			XGB(XGBoosterEvalOneIter(b, (int)it, &dtrain, &name, 1, &eval));
			o->progress(o->progress_ctx, it + 1, rounds, eval);
		}
	}

	/* ---- compile: XGBoost JSON -> fragml model ---- */
	{
		bst_ulong len;
		const char *buf;
		struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
		struct json_object *learner, *trees, *tinfo, *lmp, *objname;
		const char *obj;
		double bs;

		XGB(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &buf));
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
			base[0] = log(bs / (1 - bs));
		} else {
			for (unsigned int c = 0; c < n_class; c++)
				base[c] = bs;
		}
		memset(m, 0, sizeof(*m));
		m->hook = (uint8_t)o->hook;
		m->schema = FRAGML_SCHEMA_VERSION;
		m->output = o->kind == FRAGML_TRAIN_ARGMAX ? FRAGML_OUT_ARGMAX : FRAGML_OUT_ORDINAL;
		m->n_actions = (uint8_t)(o->kind == FRAGML_TRAIN_ARGMAX ? n_class :
					 o->kind == FRAGML_TRAIN_ORDINAL3 ? 3 : 2);
		m->n_trees = (uint16_t)json_object_array_length(trees);
		if (m->n_trees > FRAGML_MAX_TREES || !m->n_trees) {
			ret = fragml_err_set(err, -E2BIG, "model: %u trees outside 1..%d", m->n_trees,
					     FRAGML_MAX_TREES);
			goto out;
		}
		for (unsigned int t = 0; t < m->n_trees; t++) {
			int cls = json_object_get_int(json_object_array_get_idx(tinfo, t));

			m->trees[t].cls = (uint8_t)(m->output == FRAGML_OUT_ARGMAX ? cls : 0);
			ret = compile_tree(m, fn, json_object_array_get_idx(trees, t), fid, ncol, t, err);
			if (ret)
				goto out;
		}
		for (unsigned int a = 0; a < (m->output == FRAGML_OUT_ARGMAX ? n_class : 1u); a++)
			m->base[a] = fragml_fixed_from_double(base[a]);
		res->base_margin = base[0];
	}

	/* ---- thresholds: chosen on validation rows with the integer model ---- */
	if (m->output == FRAGML_OUT_ORDINAL) {
		const char *rule = o->threshold_rule ? o->threshold_rule : "f1";
		int which = res->part_rows[FRAGML_PART_VAL] ? FRAGML_PART_VAL : FRAGML_PART_TRAIN;
		struct cand *c = malloc((ds->n_rows + 2) * sizeof(*c));
		size_t n = 0, nc;
		int64_t t1, t2 = INT32_MAX;

		if (!c) {
			ret = fragml_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		eval_rows(m, ds, ev);	/* thresholds do not change scores */
		for (size_t i = 0; i < n_hook; i++)
			if (part[rows[i]] == which) {
				tmp[n].score = ev[rows[i]].score;
				tmp[n++].pos = ds->label[rows[i]] >= 1;
			}
		nc = candidates(tmp, n, c);
		t1 = choose_threshold(tmp, n, rule, c, nc);
		if (o->decline_precision > 0) {
			/* decline (action 0) only where the validation rows below t1
			 * are at least decline_precision negative: the highest
			 * candidate <= t1 that reaches it, else never decline */
			size_t npos = 0;
			int64_t t = INT32_MIN + 1;

			for (size_t i = 0; i < n; i++)
				npos += tmp[i].pos;
			for (size_t k = 0; k < nc; k++) {
				size_t below = n - c[k].n_pred, neg = (n - npos) - (c[k].n_pred - c[k].tp);

				if (c[k].thr <= t1 && below &&
				    ratio(neg, below) >= o->decline_precision) {
					t = c[k].thr;
					break;
				}
			}
			t1 = t;
		}
		if (o->kind == FRAGML_TRAIN_ORDINAL3) {
			/* stall for compaction only where the region is very likely
			 * to be used: lowest threshold >= t1 with that precision */
			for (size_t k = nc; k-- > 1 && !o->never_compact;)
				if (c[k].thr >= t1 && ratio(c[k].tp, c[k].n_pred) >= o->compact_precision) {
					t2 = c[k].thr;
					break;
				}
			m->thresholds[1] = clamp32(t2);
		}
		m->thresholds[0] = clamp32(t1);
		if (m->thresholds[1] && m->thresholds[1] < m->thresholds[0])
			m->thresholds[1] = m->thresholds[0];
		free(c);
	}
	for (unsigned int i = 0; i + 1 < m->n_actions && m->output == FRAGML_OUT_ORDINAL; i++)
		res->thresholds[i] = fragml_fixed_to_double(m->thresholds[i]);
	if ((ret = fragml_model_validate(m, "trained model", err)))
		goto out;
	for (unsigned int i = 0; i < m->n_nodes; i++)
		if (!(m->nodes[i].info & FRAGML_NODE_LEAF))
			res->features_used |= 1ull << (m->nodes[i].info & FRAGML_NODE_FEAT_MASK);
	res->n_features_used = (unsigned int)__builtin_popcountll(res->features_used);

	/* ---- metrics of the integer model ---- */
	eval_rows(m, ds, ev);
	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		metrics_of(m, ds, part, p, -1, ev, tmp, &res->m[p]);
		metrics_of(m, ds, part, p, -2, ev, tmp, &res->system[p]);
		for (int c = 0; c < FRAGML_NR_CLASSES; c++)
			metrics_of(m, ds, part, p, c, ev, tmp, &res->by_class[p][c]);
	}

	/* ---- quantisation parity: XGBoost float decisions vs integer ---- */
	{
		const char *cfg = "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
				  "\"iteration_end\": 0, \"strict_shape\": true}";
		const bst_ulong *shape;
		bst_ulong dim;
		const float *pred;
		int any_test = res->part_rows[FRAGML_PART_TEST] + res->part_rows[FRAGML_PART_CROSS] > 0;

		dall = make_dmatrix(ds, rows, n_hook, fid, ncol, &rc);
		if (rc) {
			ret = fragml_err_set(err, -EIO, "xgboost: cannot build the evaluation matrix: %s",
					     XGBGetLastError());
			goto out;
		}
		XGB(XGBoosterPredictFromDMatrix(b, dall, cfg, &shape, &dim, &pred));
		if (dim != 2 || shape[0] != n_hook || shape[1] != (m->output == FRAGML_OUT_ARGMAX ? n_class : 1)) {
			ret = fragml_err_set(err, -EPROTO, "xgboost: unexpected prediction shape");
			goto out;
		}
		for (size_t i = 0; i < n_hook; i++) {
			size_t r = rows[i];
			unsigned int k = (unsigned int)shape[1], fa, ia;
			double xm[FRAGML_MAX_ACTIONS] = { 0 }, mine[FRAGML_MAX_ACTIONS];
			struct fragml_eval_out io;

			for (unsigned int a = 0; a < k; a++)
				xm[a] = pred[i * k + a];
			float_margins(m, fn, base, ds->x + r * FRAGML_MAX_FEATURES, mine);
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
	}
	res->train_seconds = now_s() - t0;
out:
	if (root)
		json_object_put(root);
	if (b)
		XGBoosterFree(b);
	if (dtrain)
		XGDMatrixFree(dtrain);
	if (dall)
		XGDMatrixFree(dall);
	free(rows);
	free(train_rows);
	free(ev);
	free(tmp);
	free(fn);
	free(labels);
	free(weights);
	return ret;
}

/* ---- JSON report ---- */

static struct json_object *jnum(double v)
{
	char s[40];

	if (isnan(v) || isinf(v))
		return NULL;	/* null */
	snprintf(s, sizeof(s), "%.6g", v);
	return json_object_new_double_s(v, s);
}

static struct json_object *jint(int64_t v)
{
	return json_object_new_int64(v);
}

struct json_object *fragml_metrics_json(const struct fragml_metrics *m)
{
	struct json_object *o = json_object_new_object(), *conf = json_object_new_array();

	json_object_object_add(o, "rows", jint((int64_t)m->n));
	json_object_object_add(o, "accuracy", jnum(m->accuracy));
	json_object_object_add(o, "precision", jnum(m->precision));
	json_object_object_add(o, "recall", jnum(m->recall));
	json_object_object_add(o, "f1", jnum(m->f1));
	json_object_object_add(o, "roc_auc", jnum(m->auc));
	json_object_object_add(o, "tp", jint((int64_t)m->tp));
	json_object_object_add(o, "fp", jint((int64_t)m->fp));
	json_object_object_add(o, "tn", jint((int64_t)m->tn));
	json_object_object_add(o, "fn", jint((int64_t)m->fn));
	/* confusion[label][action]: rows = true label, columns = model action */
	for (unsigned int l = 0; l < (m->n_labels > 2 ? m->n_labels : 2); l++) {
		struct json_object *row = json_object_new_array();

		for (unsigned int a = 0; a < (m->n_actions ? m->n_actions : 2); a++)
			json_object_array_add(row, jint((int64_t)m->confusion[l][a]));
		json_object_array_add(conf, row);
	}
	json_object_object_add(o, "confusion", conf);
	return o;
}

static struct json_object *feature_list(uint64_t mask)
{
	struct json_object *a = json_object_new_array();

	for (int id = 0; id < FRAGML_MAX_FEATURES; id++)
		if (mask & (1ull << id))
			json_object_array_add(a, json_object_new_string(fragml_feature_by_id(id)->name));
	return a;
}

struct json_object *fragml_train_report_json(const struct fragml_dataset *ds,
					     const struct fragml_train_opts *o,
					     const struct fragml_train_result *res)
{
	const struct fragml_model *m = &res->model;
	struct json_object *r = json_object_new_object(), *opt = json_object_new_object(),
			   *data = json_object_new_object(), *mod = json_object_new_object(),
			   *met = json_object_new_object(), *bycls = json_object_new_object(),
			   *sys = json_object_new_object(), *par = json_object_new_object(),
			   *dis = json_object_new_array(), *acts = json_object_new_array(),
			   *thr = json_object_new_array(), *thrq = json_object_new_array();
	uint64_t mask = fragml_hook_feature_mask(o->hook);

	json_object_object_add(r, "hook", json_object_new_string(fragml_hook_name(o->hook)));
	json_object_object_add(r, "kind", json_object_new_string(fragml_train_kind_name(o->kind)));

	json_object_object_add(opt, "trees", jint(o->n_trees));
	json_object_object_add(opt, "max_depth", jint(o->max_depth));
	json_object_object_add(opt, "eta", jnum(o->eta));
	json_object_object_add(opt, "min_child_weight", jnum(o->min_child_weight));
	json_object_object_add(opt, "seed", jint(o->seed));
	json_object_object_add(opt, "balance", json_object_new_boolean(o->balance));
	json_object_object_add(opt, "threshold_rule",
			       json_object_new_string(o->threshold_rule ? o->threshold_rule : "f1"));
	if (o->kind == FRAGML_TRAIN_ORDINAL3)
		json_object_object_add(opt, "compact_precision", jnum(o->compact_precision));
	if (o->kind == FRAGML_TRAIN_ORDINAL3 && o->never_compact)
		json_object_object_add(opt, "never_compact", json_object_new_boolean(1));
	if (o->decline_precision > 0)
		json_object_object_add(opt, "decline_precision", jnum(o->decline_precision));
	json_object_object_add(opt, "features", feature_list(o->features ? mask & o->features : mask));
	json_object_object_add(r, "options", opt);

	json_object_object_add(data, "rows", jint((int64_t)ds->n_rows));
	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		struct json_object *po = json_object_new_object();

		json_object_object_add(po, "rows", jint((int64_t)res->part_rows[p]));
		json_object_object_add(po, "positives", jint((int64_t)res->part_pos[p]));
		json_object_object_add(data, fragml_part_name(p), po);
	}
	json_object_object_add(r, "data", data);

	json_object_object_add(mod, "output", json_object_new_string(m->output == FRAGML_OUT_ARGMAX ? "argmax" : "ordinal"));
	for (unsigned int a = 0; a < m->n_actions; a++)
		json_object_array_add(acts, json_object_new_string(fragml_action_name(m->hook, a)));
	json_object_object_add(mod, "actions", acts);
	json_object_object_add(mod, "trees", jint(m->n_trees));
	json_object_object_add(mod, "nodes", jint(m->n_nodes));
	json_object_object_add(mod, "max_depth", jint(m->max_depth));
	json_object_object_add(mod, "bytes", jint((int64_t)fragml_model_file_size(m)));
	json_object_object_add(mod, "base_margin", jnum(res->base_margin));
	if (m->output == FRAGML_OUT_ORDINAL)
		for (unsigned int i = 0; i + 1 < m->n_actions; i++) {
			json_object_array_add(thr, jnum(res->thresholds[i]));
			json_object_array_add(thrq, jint(m->thresholds[i]));
		}
	json_object_object_add(mod, "thresholds", thr);
	json_object_object_add(mod, "thresholds_q16", thrq);
	json_object_object_add(mod, "features_used", feature_list(res->features_used));
	json_object_object_add(r, "model", mod);

	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		struct json_object *cm = json_object_new_object();

		json_object_object_add(met, fragml_part_name(p), fragml_metrics_json(&res->m[p]));
		json_object_object_add(sys, fragml_part_name(p), fragml_metrics_json(&res->system[p]));
		for (int c = 0; c < FRAGML_NR_CLASSES; c++)
			if (res->by_class[p][c].n)
				json_object_object_add(cm, fragml_class_name(c),
						       fragml_metrics_json(&res->by_class[p][c]));
		json_object_object_add(bycls, fragml_part_name(p), cm);
	}
	json_object_object_add(r, "metrics", met);
	json_object_object_add(r, "by_class", bycls);
	json_object_object_add(r, "system_classes", sys);

	json_object_object_add(par, "rows", jint((int64_t)res->parity_n));
	json_object_object_add(par, "agree", jint((int64_t)res->parity_agree));
	json_object_object_add(par, "agreement", jnum(res->parity));
	json_object_object_add(par, "max_margin_error", jnum(res->max_margin_err));
	json_object_object_add(par, "max_quantisation_error", jnum(res->max_quant_err));
	json_object_object_add(par, "disagreements_total", jint((int64_t)res->n_disagree_total));
	for (unsigned int i = 0; i < res->n_disagree; i++) {
		const struct fragml_disagreement *d = &res->disagree[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "row", jint((int64_t)d->row));
		json_object_object_add(e, "workload", json_object_new_string(ds->workloads[ds->workload[d->row]]));
		json_object_object_add(e, "ts_ns", jint((int64_t)ds->ts_ns[d->row]));
		json_object_object_add(e, "xgb_margin", jnum(d->xgb_margin));
		json_object_object_add(e, "int_score", jnum(d->int_score));
		json_object_object_add(e, "xgb_action", json_object_new_string(fragml_action_name(m->hook, d->xgb_action)));
		json_object_object_add(e, "int_action", json_object_new_string(fragml_action_name(m->hook, d->int_action)));
		json_object_array_add(dis, e);
	}
	json_object_object_add(par, "disagreements", dis);
	json_object_object_add(r, "parity", par);
	json_object_object_add(r, "train_seconds", jnum(res->train_seconds));
	return r;
}
