/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, analysis stage: summaries of a recorded dataset (label balance,
 * per class / workload / source, per feature) and drift between two datasets
 * (population stability index and two-sample Kolmogorov-Smirnov per
 * feature), plus gnuplot scripts for the figures.  Behind `fragml analyze`.
 * Uses the dataset stage (fragml_dataset.h) only: no XGBoost.
 *
 * Memory: results are owned by the caller and freed with the *_free()
 * functions; they do not point into the dataset.
 * Thread safety: no shared state; one result per thread.
 * Errors: fragml_error.h.
 */
#ifndef FRAGML_ANALYZE_H
#define FRAGML_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fragml_dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_ANALYZE_MAX_FEATURES	64

struct fragml_feature_summary {
	int id;
	char name[32];
	uint64_t present, missing;
	double min, max, mean, stddev, p50, p90;
	double mean_label[2];		/* mean of present values in rows of label 0 / label >= 1 */
};

struct fragml_group_summary {		/* one class, workload or source */
	char name[64];
	uint64_t rows, positives;	/* positives: label >= 1 */
};

struct fragml_analysis {
	int hook;
	uint64_t rows;
	unsigned int n_labels;
	uint64_t label_rows[8];		/* rows per label value (FRAGML_MAX_ACTIONS <= 8) */
	unsigned int n_classes, n_workloads, n_sources;
	struct fragml_group_summary *classes, *workloads, *sources;	/* by rows, descending */
	unsigned int n_features;
	struct fragml_feature_summary feat[FRAGML_ANALYZE_MAX_FEATURES];	/* the hook's features */
};

/*
 * Summarise the rows of `hook` (-1: the hook with most rows).  -ENODATA when
 * the dataset has no row of that hook.
 */
int fragml_analyze(const struct fragml_dataset *ds, int hook, struct fragml_analysis *a,
		   struct fragml_err *err);
void fragml_analysis_free(struct fragml_analysis *a);

struct fragml_feature_drift {
	int id;
	char name[32];
	double psi;			/* population stability index, reference = A (10 bins + missing) */
	double ks;			/* max |CDF_A - CDF_B| over present values */
	double ks_crit;			/* KS critical value at alpha = 0.01 for these sizes */
	double missing_a, missing_b;	/* share of rows missing the feature */
	bool drifted;			/* psi >= psi_threshold, or ks > max(ks_crit, ks_min) */
};

struct fragml_drift_opts {
	double psi_threshold;		/* 0: 0.2 (the usual "significant shift") */
	double ks_min;			/* 0: 0.1 (ignore tiny but significant shifts of huge sets) */
};

struct fragml_drift {
	int hook;
	uint64_t rows_a, rows_b;
	double positive_a, positive_b;	/* label >= 1 share */
	unsigned int n_features, n_drifted;
	struct fragml_feature_drift feat[FRAGML_ANALYZE_MAX_FEATURES];
};

/* Drift of B against A (the reference) over the features of `hook` (-1: as
 * fragml_analyze picks it on A).  Features missing in every row of both are
 * skipped. */
int fragml_drift_compute(const struct fragml_dataset *a, const struct fragml_dataset *b, int hook,
			 const struct fragml_drift_opts *o, struct fragml_drift *d,
			 struct fragml_err *err);

/* Reports: text for people, or one JSON object. `d` may be NULL. */
int fragml_analysis_print(FILE *out, const char *name, const struct fragml_analysis *a,
			  const struct fragml_drift *d, unsigned int top, bool json,
			  struct fragml_err *err);

/*
 * Write gnuplot scripts (*.gp) and their data (*.dat) into `outdir` (created
 * if missing): labels.gp (label balance per class), sources.gp (top sources,
 * positive rate), features.gp (per-feature histograms by label) and, with B,
 * drift.gp (PSI and KS per feature).  Each script writes the PNG of its name
 * when run by `gnuplot` inside outdir.  The names of the scripts written are
 * appended to `scripts` (up to max, NUL-terminated names of 32 bytes);
 * returns their number.
 */
int fragml_analyze_plots(const char *outdir, const struct fragml_dataset *a,
			 const struct fragml_analysis *an, const struct fragml_dataset *b,
			 const struct fragml_drift *d, char scripts[][32], int max,
			 struct fragml_err *err);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_ANALYZE_H */
