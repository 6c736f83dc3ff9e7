/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, dataset stage: read the collector's CSV (docs/dataset.md),
 * preprocess it and split it by workload and by time.  No XGBoost here, so
 * `fragml analyze` can use it; training lives in fragml_train.h.
 *
 * CSV: a header row, then one row per event.  Required columns:
 *   ts_ns, workload, hook, class, source, <features...>, label
 * The feature columns are the ones between `source` and `label`; each must be a
 * registered feature name (fragml_features.h) and every registered feature must
 * have a column (when `hook` is given: every feature computed at that hook
 * in some mode).  Other columns outside that span (the auxiliary columns after
 * `label`) are ignored.  `class` values that are not allocation classes (the
 * compaction file's zone names, `-`) read as FRAGML_CLASS_UNKNOWN.  An empty cell is a missing
 * value (FRAGML_MISSING).  Every feature value must be an integer with
 * |x| <= FRAGML_FEAT_MAX (2^24 - 1) so that XGBoost's float32 holds it exactly;
 * a larger value is refused with the line, column and value.
 *
 * Errors follow fragml_error.h; messages name the file, line and column.
 */
#ifndef FRAGML_DATASET_H
#define FRAGML_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "fragml_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAGML_CLASS_UNKNOWN	0xff

/* Rows in columns.  x is row-major, FRAGML_MAX_FEATURES values per row indexed
 * by feature id (the layout fragml_model_eval() takes), FRAGML_MISSING where a
 * feature is missing or not registered. */
struct fragml_dataset {
	size_t n_rows, cap;
	int32_t *x;
	uint8_t *label;		/* 0 .. FRAGML_MAX_ACTIONS-1 */
	uint8_t *hook;		/* enum fragml_hook */
	uint8_t *cls;		/* enum fragml_alloc_class or FRAGML_CLASS_UNKNOWN */
	uint64_t *ts_ns;
	uint32_t *workload;	/* index into workloads[] */
	uint32_t *source;	/* index into sources[] */
	char **workloads;
	unsigned int n_workloads;
	char **sources;
	unsigned int n_sources;
	unsigned int n_labels;	/* max label seen + 1 */
	uint64_t *site;		/* allocation site id of the `site` column (0: none or no column) */
	uint8_t *outlived;	/* the `label` column as read (the lifetime at T), also when
				 * fragml_read_opts.label_column trains on another label */
	uint64_t has_column;	/* bit = feature id that had a column */
	struct fragml_name_index *name_index; /* private: hash tables of workloads[], sources[] */
};

struct fragml_read_opts {
	int hook;		/* keep only rows of this hook; -1 keeps all */
	int allow_missing_columns; /* a registered feature without a column is all-missing */
	/* NULL: the label is the `label` column.  Else the name of an auxiliary
	 * column holding another label (`pollutes`, `life_class`; docs/dataset.md):
	 * label = (value >= label_min); rows whose cell is empty (censored) are skipped. */
	const char *label_column;
	int label_min;
};

void fragml_dataset_init(struct fragml_dataset *ds);
void fragml_dataset_free(struct fragml_dataset *ds);

/* Append the rows of one CSV file (call again to read several).  On error the
 * dataset keeps the rows it had before the call. */
int fragml_dataset_read_csv(struct fragml_dataset *ds, const char *path,
			    const struct fragml_read_opts *opts, struct fragml_err *err);

/* Append one row (generators and tests).  feat has FRAGML_MAX_FEATURES entries. */
int fragml_dataset_add_row(struct fragml_dataset *ds, uint64_t ts_ns, const char *workload,
			   unsigned int hook, unsigned int cls, const char *source,
			   const int32_t *feat, unsigned int label, struct fragml_err *err);

/* Write the dataset back as collector CSV (all registered features). */
int fragml_dataset_write_csv(const struct fragml_dataset *ds, const char *path,
			     struct fragml_err *err);

/* Float32 exactness: every present value v satisfies (int32_t)(float)v == v and
 * |v| <= FRAGML_FEAT_MAX.  Returns 0 or -ERANGE naming the first offender. */
int fragml_dataset_check_float32(const struct fragml_dataset *ds, struct fragml_err *err);

/* Set feature ids not in `keep` (bit mask by id) to FRAGML_MISSING in every row:
 * the kernel passes MISSING for features a hook does not compute. */
void fragml_dataset_mask_features(struct fragml_dataset *ds, uint64_t keep);

/* Feature mask (bit = id) of one hook: the features computed at `hook` in
 * running mode `mode` (FRAGML_MODE_*), or with mode < 0 those computed in
 * every mode that evaluates the hook (a model that loads anywhere). */
uint64_t fragml_hook_feature_mask(unsigned int hook, int mode);

/* Allocation class names: fragml_class_name() of fragml_model.h. */
/* System (kernel-owned) classes: everything but anon and pagecache. */
int fragml_class_is_system(unsigned int cls);

/* ---- splitting: by workload and by time, never by shuffling rows ---- */
enum fragml_part {
	FRAGML_PART_TRAIN = 0,
	FRAGML_PART_VAL,	/* threshold choice, early stopping */
	FRAGML_PART_TEST,	/* in-distribution: later in time, seen workloads */
	FRAGML_PART_CROSS,	/* held-out workloads, never seen in training */
	FRAGML_NR_PARTS,
};

struct fragml_split_opts {
	/* Comma-separated workloads held out for the cross-workload test.  NULL:
	 * hold out automatically (every 4th workload in name order, counted from
	 * the last, when there are >= 2 workloads); "" holds out none. */
	const char *test_workloads;
	double val_frac;	/* per seen workload, by time: default 0.15 */
	double test_frac;	/* per seen workload, by time: default 0.20 */
};

/* part[i] receives the part of row i.  Within each seen workload rows are
 * ordered by ts_ns (ties by row order): the first 1-val-test share trains, the
 * next val_frac validates, the last test_frac is the in-distribution test. */
int fragml_dataset_split(const struct fragml_dataset *ds, const struct fragml_split_opts *o,
			 uint8_t *part, struct fragml_err *err);

const char *fragml_part_name(unsigned int part);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_DATASET_H */
