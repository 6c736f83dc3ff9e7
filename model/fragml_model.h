/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, model stage: the single owner of the model.bin format
 * (docs/model-format.md).  Parse and validate, build and write, and the
 * reference evaluator that the in-kernel evaluator must match bit for bit.
 *
 * Memory: a struct fragml_model is a plain value (no pointers, ~66 KiB); the
 * caller owns it (stack, static or malloc).  Functions are reentrant; a model
 * may be evaluated from many threads at once.  Errors: see fragml_error.h.
 */
#ifndef FRAGML_MODEL_H
#define FRAGML_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "fragml_abi.h"
#include "fragml_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fragml_model {
	uint8_t  hook;			/* enum fragml_hook */
	uint8_t  output;		/* enum fragml_output_kind */
	uint8_t  n_actions;		/* 2 .. FRAGML_MAX_ACTIONS */
	uint8_t  max_depth;		/* deepest root-to-leaf path, computed */
	uint16_t schema;		/* feature-schema version */
	uint16_t n_trees;
	uint16_t n_nodes;
	uint32_t crc32;			/* of the serialized file (set by parse/serialize) */
	int32_t  base[FRAGML_MAX_ACTIONS];		/* Q15.16 */
	int32_t  thresholds[FRAGML_MAX_ACTIONS - 1];	/* Q15.16, ascending (ORDINAL) */
	struct fragml_tree trees[FRAGML_MAX_TREES];
	struct fragml_node nodes[FRAGML_MAX_NODES];
};

/* Size in bytes of the serialized model. */
size_t fragml_model_file_size(const struct fragml_model *m);

/*
 * Parse and fully validate a serialized model.  `what` names the source in
 * messages (a file name).  On failure *m is unspecified and err says which
 * field broke which rule, e.g. "model.bin: node 17: left child 9000 out of
 * range (n_nodes 40)".
 */
int fragml_model_parse(struct fragml_model *m, const void *buf, size_t len,
		       const char *what, struct fragml_err *err);

/* Read + parse a file. */
int fragml_model_read_file(struct fragml_model *m, const char *path,
			   struct fragml_err *err);

/*
 * Validate an in-memory model (the same rules as parse; also computes
 * max_depth).  Call before serializing a model you built.
 */
int fragml_model_validate(struct fragml_model *m, const char *what,
			  struct fragml_err *err);

/* Serialize (validates first). Returns bytes written or negative errno. */
int fragml_model_serialize(struct fragml_model *m, void *buf, size_t cap,
			   struct fragml_err *err);

/* Serialize and write atomically (temp file + rename). */
int fragml_model_write_file(struct fragml_model *m, const char *path,
			    struct fragml_err *err);

/* Reference evaluator: the in-kernel result, computed in userspace. */
struct fragml_eval_out {
	uint32_t action;
	int64_t  score;				/* see struct fragml_result */
	int64_t  scores[FRAGML_MAX_ACTIONS];	/* per class (ARGMAX) or [0] (ORDINAL) */
};
uint32_t fragml_model_eval(const struct fragml_model *m, const int32_t *feat,
			   struct fragml_eval_out *out);

/*
 * The tree paths behind one decision (`fragml explain`): per tree every split
 * taken (feature, its value, the threshold, the direction) and the leaf; the
 * scores are the base scores plus the leaf values summed per class.  A model
 * that passed validation never needs more than FRAGML_MAX_DEPTH steps.
 */
struct fragml_explain_step {
	uint16_t node;
	uint16_t feature;	/* feature id */
	int32_t  x;		/* the vector's value (FRAGML_MISSING: missing) */
	int32_t  threshold;	/* x < threshold goes left */
	uint8_t  left;		/* went left */
	uint8_t  missing;	/* x was missing: the node's default direction */
};
struct fragml_explain_tree {
	uint8_t  cls;		/* action this tree scores (ARGMAX); 0 for ORDINAL */
	uint8_t  n_steps;
	uint16_t leaf;		/* node index of the leaf reached */
	int32_t  leaf_value;	/* Q15.16 */
	struct fragml_explain_step steps[FRAGML_MAX_DEPTH];
};
struct fragml_explain {
	unsigned int n_trees;
	uint32_t action;
	int64_t  score;				/* as fragml_eval_out.score */
	int64_t  scores[FRAGML_MAX_ACTIONS];	/* base + leaves, per class */
	struct fragml_explain_tree trees[FRAGML_MAX_TREES];
};
uint32_t fragml_model_explain(const struct fragml_model *m, const int32_t *feat,
			      struct fragml_explain *x);

/* SHA-256 (OpenSSL libcrypto) as 64 lowercase hex digits + NUL. */
#define FRAGML_SHA256_HEX 65
int fragml_sha256_hex(const void *buf, size_t len, char hex[FRAGML_SHA256_HEX]);
/* SHA-256 of the model's file bytes (the format has exactly one serialization
 * per model, so this equals `sha256sum model.bin`). */
int fragml_model_sha256(const struct fragml_model *m, char hex[FRAGML_SHA256_HEX],
			struct fragml_err *err);

/*
 * Split node `n` as one unsigned compare, the form the kernel walk and the
 * generated native code use: go left iff (uint32_t)(x + *bias) < return value,
 * for every x including FRAGML_MISSING (which then goes to its default side).
 */
uint32_t fragml_split_ukey(const struct fragml_node *n, uint32_t *bias);

/* Fixed-point helpers (round to nearest, saturating at FRAGML_LEAF_MAX). */
int32_t fragml_fixed_from_double(double v);
double fragml_fixed_to_double(int64_t v);

/* Names. Return NULL for unknown values. */
const char *fragml_hook_name(unsigned int hook);
/* Every hook's name, in id order, for messages and help texts (test_model checks it). */
#define FRAGML_HOOK_LIST	"lifetime, thp_fault, compaction, fallback, placement"
int fragml_hook_from_name(const char *name);		/* -EINVAL if unknown */
const char *fragml_action_name(unsigned int hook, unsigned int action);
unsigned int fragml_hook_n_actions(unsigned int hook);
/* Allocation class names ("anon", ...: enum fragml_alloc_class). */
const char *fragml_class_name(unsigned int cls);
int fragml_class_from_name(const char *name);		/* -EINVAL if unknown */

/* Feature registry access (from fragml_features.h). */
struct fragml_feature_desc {
	int id;
	const char *name;
	const char *unit;
	int scale;
	unsigned int hooks;		/* FRAGML_HOOKBIT mask: obs | enf */
	unsigned int obs;		/* hooks the observe programs / collector compute it at */
	unsigned int enf;		/* hooks the enforcing policy computes it at */
	const char *desc;
};
const struct fragml_feature_desc *fragml_feature_by_id(int id);
const struct fragml_feature_desc *fragml_feature_by_name(const char *name);
/* Iterate: returns the i-th registered feature, NULL past the end. */
const struct fragml_feature_desc *fragml_feature_at(unsigned int i);
/* Running modes (FRAGML_MODE_OBSERVE, FRAGML_MODE_ENFORCE of fragml_abi.h). */
const char *fragml_mode_name(unsigned int mode);
/* Is `hook` evaluated at all in `mode`? */
bool fragml_hook_evaluated(unsigned int hook, unsigned int mode);
/* Does the program that evaluates `hook` in `mode` compute feature `d`? */
bool fragml_feature_computed(const struct fragml_feature_desc *d, unsigned int hook,
			     unsigned int mode);
/* Mask (bit = feature id) of the features `hook` computes in `mode`. */
uint64_t fragml_hook_mode_features(unsigned int hook, unsigned int mode);
/* 0 when every split of `m` is on a feature its hook computes in `mode`;
 * else an error naming the first one that is not. */
int fragml_model_check_mode(const struct fragml_model *m, unsigned int mode, struct fragml_err *err);

/*
 * Site lifetime tables (docs/trainer.md "Site table"): what fragml-train learnt per
 * allocation site, written beside model.bin and loaded by `fragml-load
 * --site-table` into the observe programs' fragml_site_life map.  Text:
 *   # fragml site lifetime table v1
 *   site,allocs,long,short
 *   <16 hex digits>,<allocs>,<long>,<short>      one line per site, no duplicates
 * with 1 <= long + short <= allocs <= 2^31 - 1 and at most FRAGML_SITE_TABLE_MAX lines.
 */
#define FRAGML_SITE_TABLE_MAGIC	"# fragml site lifetime table v1"
struct fragml_site_count {
	uint64_t site;
	uint32_t allocs, long_cnt, short_cnt;
};
struct fragml_site_counts {
	size_t n, cap;
	struct fragml_site_count *e;
};
/* Read and validate a whole file; on error `t` is empty and err names file, line, column. */
int fragml_site_table_read(const char *path, struct fragml_site_counts *t, struct fragml_err *err);
/* Write `t` sorted by site. */
int fragml_site_table_write(const char *path, struct fragml_site_counts *t, struct fragml_err *err);
/* Count one row of site `site` (outlived: it lived >= T). */
int fragml_site_counts_add(struct fragml_site_counts *t, uint64_t site, int outlived);
void fragml_site_counts_free(struct fragml_site_counts *t);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_MODEL_H */
