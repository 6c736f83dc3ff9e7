// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Training stage (fragml_train.h): options, the rows of a hook, fitting the
 * XGBoost booster, and fragml_train(), which runs fit -> compile
 * (train_compile.c) -> thresholds (train_threshold.c) -> validation ->
 * metrics (train_metrics.c) -> parity check.  The JSON report is in
 * train_report.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_internal.h"

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
	o->mode = -1;
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

DMatrixHandle train_dmatrix(const struct fragml_dataset *ds, const size_t *rows, size_t n,
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

/* Options outside what the format, the kernel budget or the hook allow. */
static int check_opts(const struct fragml_train_opts *o, struct fragml_err *err)
{
	unsigned int max_depth_lim = o->allow_over_budget ? FRAGML_MAX_DEPTH : FRAGML_TRAIN_MAX_DEPTH;
	unsigned int max_trees_lim = o->allow_over_budget ? FRAGML_MAX_TREES : FRAGML_TRAIN_MAX_TREES;

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
	if (o->positive_action > 1 &&
	    (o->kind != FRAGML_TRAIN_BINARY || o->positive_action >= fragml_hook_n_actions(o->hook)))
		return fragml_err_set(err, -EINVAL, "train: --positive %u: a binary model's action, 1..%u for hook %s",
				      o->positive_action, fragml_hook_n_actions(o->hook) - 1,
				      fragml_hook_name(o->hook));
	if (o->kind == FRAGML_TRAIN_ORDINAL3 && fragml_hook_n_actions(o->hook) < 3)
		return fragml_err_set(err, -EINVAL, "train: hook %s has %u actions: the 3-action ordinal model is for thp_fault",
				      fragml_hook_name(o->hook), fragml_hook_n_actions(o->hook));
	return fragml_threshold_rule_check(o->threshold_rule ? o->threshold_rule : "f1", err);
}

/* The rows of the hook, its training rows and their label counts. */
struct hook_rows {
	size_t *rows, n_hook;		/* every row of the hook */
	size_t *train, n_train, npos;	/* its training rows, npos of them label >= 1 */
	size_t class_n[FRAGML_MAX_ACTIONS];
	unsigned int n_class;
};

static int select_rows(const struct fragml_dataset *ds, const uint8_t *part,
		       const struct fragml_train_opts *o, struct hook_rows *hr,
		       struct fragml_train_result *res, struct fragml_err *err)
{
	hr->rows = malloc((ds->n_rows + 1) * sizeof(*hr->rows));
	hr->train = malloc((ds->n_rows + 1) * sizeof(*hr->train));
	if (!hr->rows || !hr->train)
		return fragml_err_set(err, -ENOMEM, "train: out of memory");
	for (size_t r = 0; r < ds->n_rows; r++) {
		if (ds->hook[r] != o->hook)
			continue;
		hr->rows[hr->n_hook++] = r;
		res->part_rows[part[r]]++;
		res->part_pos[part[r]] += ds->label[r] >= 1;
		if (part[r] == FRAGML_PART_TRAIN) {
			hr->train[hr->n_train++] = r;
			hr->class_n[ds->label[r]]++;
			hr->npos += ds->label[r] >= 1;
		}
	}
	if (!hr->n_train)
		return fragml_err_set(err, -ENODATA, "train: no training rows for hook %s (check the CSV's hook column and the split)",
				      fragml_hook_name(o->hook));
	if (o->kind != FRAGML_TRAIN_ARGMAX && (!hr->npos || hr->npos == hr->n_train))
		return fragml_err_set(err, -EDOM, "train: the training rows of hook %s all have label %d: nothing to learn",
				      fragml_hook_name(o->hook), hr->npos ? 1 : 0);
	hr->n_class = 2;
	if (o->kind == FRAGML_TRAIN_ARGMAX) {
		hr->n_class = ds->n_labels;
		if (hr->n_class < 2 || hr->n_class > fragml_hook_n_actions(o->hook))
			return fragml_err_set(err, -EINVAL, "train: argmax needs labels 0..%u (hook %s actions); the data has %u distinct label values",
					      fragml_hook_n_actions(o->hook) - 1, fragml_hook_name(o->hook), hr->n_class);
	}
	return 0;
}

/* Fit the booster on the training rows, labels weighted to balance the classes
 * when o->balance.  *bp and *dtrain are set even on failure (caller frees). */
static int fit_booster(const struct fragml_dataset *ds, const struct fragml_train_opts *o,
		       const struct hook_rows *hr, const int *fid, unsigned int ncol,
		       unsigned int rounds, BoosterHandle *bp, DMatrixHandle *dtrain,
		       struct fragml_err *err)
{
	float *weights = NULL, *labels = NULL;
	BoosterHandle b = NULL;
	char pbuf[64];
	int ret = 0, rc;

	*dtrain = train_dmatrix(ds, hr->train, hr->n_train, fid, ncol, &rc);
	if (rc)
		return fragml_err_set(err, -EIO, "xgboost: cannot build the training matrix: %s",
				      XGBGetLastError());
	labels = malloc(hr->n_train * sizeof(*labels));
	weights = malloc(hr->n_train * sizeof(*weights));
	if (!labels || !weights) {
		ret = fragml_err_set(err, -ENOMEM, "train: out of memory");
		goto out;
	}
	for (size_t i = 0; i < hr->n_train; i++) {
		unsigned int l = ds->label[hr->train[i]];

		if (o->kind != FRAGML_TRAIN_ARGMAX)
			l = l >= 1;
		labels[i] = (float)l;
		weights[i] = 1.0f;
		if (o->balance) {
			size_t cnt = o->kind == FRAGML_TRAIN_ARGMAX ? hr->class_n[l] :
				     (l ? hr->npos : hr->n_train - hr->npos);

			weights[i] = (float)((double)hr->n_train / ((double)hr->n_class * (double)cnt));
		}
	}
	XGB(XGDMatrixSetFloatInfo(*dtrain, "label", labels, hr->n_train));
	XGB(XGDMatrixSetFloatInfo(*dtrain, "weight", weights, hr->n_train));
	XGB(XGBoosterCreate(dtrain, 1, bp));
	b = *bp;
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
		snprintf(pbuf, sizeof(pbuf), "%u", hr->n_class);
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

		XGB(XGBoosterUpdateOneIter(b, (int)it, *dtrain));
		if (o->progress) {
			XGB(XGBoosterEvalOneIter(b, (int)it, dtrain, &name, 1, &eval));
			o->progress(o->progress_ctx, it + 1, rounds, eval);
		}
	}
out:
	free(labels);
	free(weights);
	return ret;
}

/*
 * o->threshold_xfit: each training workload's training and validation rows
 * scored by a model trained, with the same options, without that workload;
 * *out the pooled scores.  Rows of other parts keep their part, so the inner
 * models never see the test or cross-workload rows either.
 */
static int xfit_scores(const struct fragml_dataset *ds, const uint8_t *part,
		       const struct fragml_train_opts *o, struct scored **out, size_t *n_out,
		       struct fragml_err *err)
{
	struct fragml_train_opts io = *o;
	struct fragml_train_result *ir = malloc(sizeof(*ir));
	struct row_eval *ev = calloc(ds->n_rows + 1, sizeof(*ev));
	struct scored *xs = calloc(ds->n_rows + 1, sizeof(*xs));
	uint8_t *p2 = malloc(ds->n_rows + 1);
	uint8_t *has = calloc(ds->n_workloads + 1, 1);
	unsigned int n_w = 0;
	size_t n = 0;
	int ret = 0;

	if (!ir || !ev || !xs || !p2 || !has) {
		ret = fragml_err_set(err, -ENOMEM, "train: out of memory");
		goto out;
	}
	for (size_t r = 0; r < ds->n_rows; r++)
		if (ds->hook[r] == o->hook && part[r] == FRAGML_PART_TRAIN && ds->workload[r] < ds->n_workloads &&
		    !has[ds->workload[r]]) {
			has[ds->workload[r]] = 1;
			n_w++;
		}
	if (n_w < 2) {
		ret = fragml_err_set(err, -EINVAL, "train: --threshold-from workloads needs at least two training workloads (found %u)",
				     n_w);
		goto out;
	}
	io.threshold_xfit = 0;
	io.progress = NULL;
	for (unsigned int w = 0; w < ds->n_workloads; w++) {
		if (!has[w])
			continue;
		for (size_t r = 0; r < ds->n_rows; r++)
			p2[r] = ds->workload[r] == w && part[r] != FRAGML_PART_TEST ? FRAGML_PART_CROSS : part[r];
		if ((ret = fragml_train(ds, p2, &io, ir, err)))
			goto out;
		train_eval_rows(&ir->model, ds, ev);
		for (size_t r = 0; r < ds->n_rows; r++)
			if (ds->hook[r] == o->hook && ds->workload[r] == w &&
			    (part[r] == FRAGML_PART_TRAIN || part[r] == FRAGML_PART_VAL)) {
				xs[n].score = ev[r].score;
				xs[n++].pos = ds->label[r] >= 1;
			}
	}
	*out = xs;
	*n_out = n;
	xs = NULL;
out:
	free(ir);
	free(ev);
	free(xs);
	free(p2);
	free(has);
	return ret;
}

int fragml_train(const struct fragml_dataset *ds, const uint8_t *part,
		 const struct fragml_train_opts *o, struct fragml_train_result *res,
		 struct fragml_err *err)
{
	uint64_t mask = fragml_hook_feature_mask(o->hook, o->mode);
	struct hook_rows hr = { 0 };
	struct train_compiled tc = { 0 };
	struct fragml_model *m = &res->model;
	unsigned int ncol = 0, rounds;
	int fid[FRAGML_MAX_FEATURES];
	DMatrixHandle dtrain = NULL;
	BoosterHandle b = NULL;
	struct row_eval *ev = NULL;
	struct scored *tmp = NULL, *xs = NULL;
	size_t xn = 0;
	double t0 = now_s();
	int ret;

	memset(res, 0, sizeof(*res));
	if ((ret = check_opts(o, err)))
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

	ev = calloc(ds->n_rows + 1, sizeof(*ev));
	tmp = calloc(ds->n_rows + 1, sizeof(*tmp));
	tc.fn = calloc(FRAGML_MAX_NODES, sizeof(*tc.fn));
	if (!ev || !tmp || !tc.fn) {
		ret = fragml_err_set(err, -ENOMEM, "train: out of memory");
		goto out;
	}
	if ((ret = select_rows(ds, part, o, &hr, res, err)))
		goto out;
	rounds = o->kind == FRAGML_TRAIN_ARGMAX ? o->n_trees / hr.n_class : o->n_trees;
	if (!rounds) {
		ret = fragml_err_set(err, -EINVAL, "train: %u trees cannot hold one round of %u classes",
				     o->n_trees, hr.n_class);
		goto out;
	}
	if (o->threshold_xfit && (ret = xfit_scores(ds, part, o, &xs, &xn, err)))
		goto out;
	if ((ret = fit_booster(ds, o, &hr, fid, ncol, rounds, &b, &dtrain, err)) ||
	    (ret = train_compile(b, o, hr.n_class, fid, ncol, &tc, res, err)) ||
	    (ret = train_thresholds(m, ds, part, hr.rows, hr.n_hook, o, xs, xn, res, err)) ||
	    (ret = fragml_model_validate(m, "trained model", err)))
		goto out;
	for (unsigned int i = 0; i < m->n_nodes; i++)
		if (!(m->nodes[i].info & FRAGML_NODE_LEAF))
			res->features_used |= 1ull << (m->nodes[i].info & FRAGML_NODE_FEAT_MASK);
	res->n_features_used = (unsigned int)__builtin_popcountll(res->features_used);

	/* metrics of the integer model */
	train_eval_rows(m, ds, ev);
	for (int p = 0; p < FRAGML_NR_PARTS; p++) {
		train_metrics_of(m, ds, part, p, -1, ev, tmp, &res->m[p]);
		train_metrics_of(m, ds, part, p, -2, ev, tmp, &res->system[p]);
		for (int c = 0; c < FRAGML_NR_CLASSES; c++)
			train_metrics_of(m, ds, part, p, c, ev, tmp, &res->by_class[p][c]);
	}
	if ((ret = train_parity(b, ds, part, hr.rows, hr.n_hook, fid, ncol, hr.n_class, &tc, res, err)))
		goto out;
	res->train_seconds = now_s() - t0;
out:
	if (b)
		XGBoosterFree(b);
	if (dtrain)
		XGDMatrixFree(dtrain);
	free(hr.rows);
	free(hr.train);
	free(ev);
	free(tmp);
	free(xs);
	free(tc.fn);
	return ret;
}
