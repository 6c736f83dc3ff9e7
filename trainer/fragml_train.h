/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml-train: train gradient-boosted trees with the XGBoost C API on a
 * split dataset (fragml_dataset.h), compile them to a fragml model (through
 * the model/ library), choose the decision thresholds, and validate: metrics
 * of the compiled integer model on every part, per allocation class, and the
 * quantisation parity of integer vs XGBoost float decisions.
 *
 * Deterministic: one thread, fixed seed, rows in file order -> the same
 * dataset and options give a byte-identical model.bin.
 * Errors follow fragml_error.h.  Nothing is printed; progress goes through a
 * callback.  docs/trainer.md describes the metrics report.
 */
#ifndef FRAGML_TRAIN_H
#define FRAGML_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "fragml_dataset.h"
#include "fragml_model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/* Kernel budget (issue 4): the defaults the trainer enforces unless told. */
#define FRAGML_TRAIN_MAX_DEPTH	8
#define FRAGML_TRAIN_MAX_TREES	32

enum fragml_train_kind {
	/* Binary label; ORDINAL model with one threshold: action 1 iff score >= t. */
	FRAGML_TRAIN_BINARY = 0,
	/* Binary label (THP fault: the region is well used); ORDINAL model with two
	 * thresholds: decline < t1 <= no_compact < t2 <= compact. */
	FRAGML_TRAIN_ORDINAL3,
	/* Label = action index; multi:softprob, ARGMAX model, trees per class. */
	FRAGML_TRAIN_ARGMAX,
};

struct fragml_train_opts {
	unsigned int hook;		/* enum fragml_hook */
	enum fragml_train_kind kind;
	unsigned int n_trees;		/* total trees (ARGMAX: rounds x classes) */
	unsigned int max_depth;
	double eta;			/* learning rate, default 0.3 */
	double min_child_weight;	/* default 1 */
	unsigned int seed;
	int balance;			/* weight classes equally (binary kinds) */
	int allow_over_budget;		/* permit depth/trees up to the format limits */
	int mode;			/* FRAGML_MODE_* the model is for; -1 (default):
					 * features computed in every mode that
					 * evaluates the hook */
	uint64_t features;		/* feature-id mask; 0 = every feature of the hook */
	/* Threshold rule for the binary decision (first ORDINAL threshold):
	 * "f1" (max F1 on validation), "recall:R", "precision:P", "prob:P". */
	const char *threshold_rule;
	/* Where the rule picks its threshold: 0 = the validation rows (a later
	 * time of the training workloads); 1 = "workloads": every training
	 * workload scored by a model trained without it (same options), the
	 * scores pooled: a threshold for workloads the model has not seen.
	 * Needs at least two training workloads; costs one training per workload. */
	int threshold_xfit;
	/* ORDINAL3: the compact threshold is the lowest score at which the
	 * validation precision reaches this (default 0.95). */
	double compact_precision;
	/* If > 0: the first threshold (decline below it) is lowered until the validation
	 * rows it declines are at least this fraction negative (label 0), i.e. decline
	 * only where "not worth it" is that precise; if no threshold declines anything
	 * with that precision, never decline (t1 = INT32_MIN + 1).  0 = off. */
	double decline_precision;
	/* ORDINAL3: never choose compact (t2 = INT32_MAX): the region-use label says
	 * nothing about whether a direct compaction stall would pay off. */
	int never_compact;
	/* BINARY: the action taken at score >= t (default 1); a higher one makes
	 * an ORDINAL model of positive_action + 1 actions whose thresholds are
	 * all t, so it answers 0 or positive_action (fallback: compact = 2). */
	unsigned int positive_action;
	void (*progress)(void *ctx, unsigned int iter, unsigned int total, const char *eval);
	void *progress_ctx;
};

void fragml_train_opts_init(struct fragml_train_opts *o, unsigned int hook);

struct fragml_metrics {
	size_t n;
	size_t tp, fp, tn, fn;		/* binary view: positive = label >= 1 / action >= 1 */
	double accuracy, precision, recall, f1;
	double auc;			/* ROC-AUC of the integer score; NAN if undefined */
	unsigned int n_labels, n_actions;
	size_t confusion[FRAGML_MAX_ACTIONS][FRAGML_MAX_ACTIONS];	/* [label][action] */
};

#define FRAGML_TRAIN_MAX_DISAGREE 64

struct fragml_disagreement {
	size_t row;
	double xgb_margin;		/* XGBoost's float margin (class 0 / winner for ARGMAX) */
	double int_score;		/* integer model score, as a real number */
	unsigned int xgb_action, int_action;
};

struct fragml_train_result {
	struct fragml_model model;
	unsigned int n_features_used;	/* distinct features in split nodes */
	uint64_t features_used;
	double base_margin;		/* margin the trees are added to (class 0) */
	double thresholds[FRAGML_MAX_ACTIONS - 1];	/* chosen, real-valued (ORDINAL) */
	size_t part_rows[FRAGML_NR_PARTS];
	size_t part_pos[FRAGML_NR_PARTS];
	struct fragml_metrics m[FRAGML_NR_PARTS];
	struct fragml_metrics by_class[FRAGML_NR_PARTS][FRAGML_NR_CLASSES];
	struct fragml_metrics system[FRAGML_NR_PARTS];	/* all system classes together */
	/* Quantisation parity over the test and cross-workload parts. */
	size_t parity_n, parity_agree;
	double parity;			/* agree / n (1.0 when n == 0) */
	double max_margin_err;		/* |fragml float walk - XGBoost margin| max: must be ~0 */
	double max_quant_err;		/* |integer score - XGBoost margin| max */
	unsigned int n_disagree;	/* listed (capped at FRAGML_TRAIN_MAX_DISAGREE) */
	size_t n_disagree_total;
	struct fragml_disagreement disagree[FRAGML_TRAIN_MAX_DISAGREE];
	double train_seconds;
};

/* Train on rows with part == TRAIN, choose thresholds on VAL (TRAIN if VAL is
 * empty), evaluate everything.  Only rows of o->hook are used.  -EDOM: the
 * training rows are all of one label (a split that leaves nothing to learn). */
int fragml_train(const struct fragml_dataset *ds, const uint8_t *part,
		 const struct fragml_train_opts *o, struct fragml_train_result *res,
		 struct fragml_err *err);

/* Metrics of a compiled model on the rows with part == which (or all rows
 * when which < 0), over one allocation class only (cls >= 0), the system
 * classes together (cls == -2) or every row (cls == -1). */
void fragml_model_metrics_class(const struct fragml_model *m, const struct fragml_dataset *ds,
				const uint8_t *part, int which, int cls, struct fragml_metrics *out);

/* Parse a threshold rule; 0 or -EINVAL with a message. */
int fragml_threshold_rule_check(const char *rule, struct fragml_err *err);

/* JSON objects for the report (docs/trainer.md).  Caller owns the result. */
struct json_object *fragml_metrics_json(const struct fragml_metrics *m);
struct json_object *fragml_train_report_json(const struct fragml_dataset *ds,
					     const struct fragml_train_opts *o,
					     const struct fragml_train_result *res);

const char *fragml_train_kind_name(enum fragml_train_kind k);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_TRAIN_H */
