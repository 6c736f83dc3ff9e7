/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the training stage (libfragml-train), between its files:
 *   train.c           options, the rows of a hook, fitting the XGBoost booster, fragml_train()
 *   train_compile.c   XGBoost JSON -> fragml model, and the check of that reading
 *   train_threshold.c decision thresholds of ordinal models
 *   train_metrics.c   metrics of the integer model
 *   train_report.c    the JSON training report
 * Not installed; the names are not exported by libfragml-train.so (its version
 * script exports fragml_* only).
 */
#ifndef FRAGML_TRAIN_INTERNAL_H
#define FRAGML_TRAIN_INTERNAL_H

#include <xgboost/c_api.h>

#include "fragml_train.h"

/* Run an XGBoost call; on failure set err (with XGBoost's message) and goto out. */
#define XGB(call) do { \
		if ((call) != 0) { \
			ret = fragml_err_set(err, -EIO, "xgboost: %s: %s", #call, XGBGetLastError()); \
			goto out; \
		} \
	} while (0)

struct scored {
	int64_t score;	/* binary-view score: higher = more positive */
	uint8_t pos;
};

/* Per-row evaluation of the compiled model. */
struct row_eval {
	int64_t score;		/* binary view */
	uint8_t action;
};

/* Float twin of a compiled node, for checking our reading of XGBoost's JSON. */
struct fnode {
	float cond;	/* split threshold (float32, as XGBoost compares) */
	double leaf;
};

/* What train_compile() read besides the model. */
struct train_compiled {
	struct fnode *fn;		/* FRAGML_MAX_NODES, caller-allocated */
	double base[FRAGML_MAX_ACTIONS];	/* base margins */
};

int train_cmp_scored(const void *a, const void *b);
double train_ratio(size_t a, size_t b);
void train_eval_rows(const struct fragml_model *m, const struct fragml_dataset *ds,
		     struct row_eval *ev);
void train_metrics_of(const struct fragml_model *m, const struct fragml_dataset *ds,
		      const uint8_t *part, int which, int cls_filter,
		      const struct row_eval *ev, struct scored *tmp, struct fragml_metrics *out);
/* xs[0..xn): the rows to choose on, scored (o->threshold_xfit); NULL: the
 * validation rows scored by m. */
int train_thresholds(struct fragml_model *m, const struct fragml_dataset *ds, const uint8_t *part,
		     const size_t *rows, size_t n_rows, const struct fragml_train_opts *o,
		     const struct scored *xs, size_t xn,
		     struct fragml_train_result *res, struct fragml_err *err);
DMatrixHandle train_dmatrix(const struct fragml_dataset *ds, const size_t *rows, size_t n,
			    const int *fid, unsigned int ncol, int *rc);
int train_compile(BoosterHandle b, const struct fragml_train_opts *o, unsigned int n_class,
		  const int *fid, unsigned int ncol, struct train_compiled *tc,
		  struct fragml_train_result *res, struct fragml_err *err);
int train_parity(BoosterHandle b, const struct fragml_dataset *ds, const uint8_t *part,
		 const size_t *rows, size_t n_rows, const int *fid, unsigned int ncol,
		 unsigned int n_class, const struct train_compiled *tc,
		 struct fragml_train_result *res, struct fragml_err *err);

#endif /* FRAGML_TRAIN_INTERNAL_H */
