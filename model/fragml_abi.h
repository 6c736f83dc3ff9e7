/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fragml ABI shared by BPF programs and userspace: model-format limits and
 * records (docs/model-format.md), the in-kernel model layout stored in BPF maps,
 * decision counters and the test-run context.  Fixed-width types only.
 *
 * Userspace includes <linux/types.h> first; BPF gets __u32 & co from vmlinux.h.
 */
#ifndef FRAGML_ABI_H
#define FRAGML_ABI_H

#include "fragml_features.h"

/* ---- model file format (little-endian; see docs/model-format.md) ---- */
#define FRAGML_MODEL_MAGIC	0x4d475246u	/* "FRGM" */
#define FRAGML_FORMAT_VERSION	1
#define FRAGML_HDR_SIZE		96
#define FRAGML_MAX_DEPTH	12	/* edges from root to deepest leaf */
#define FRAGML_MAX_TREES	64
#define FRAGML_MAX_NODES	8192	/* power of two: BPF masks node indices */
#define FRAGML_MAX_ACTIONS	8
#define FRAGML_LEAF_SHIFT	16	/* leaf values, base scores, thresholds: Q15.16 */
#define FRAGML_LEAF_MAX		(1 << 30)	/* |leaf| and |base| bound: sums fit s64 */

enum fragml_output_kind {
	FRAGML_OUT_ORDINAL = 0,	/* action = #{ i : score >= threshold[i] } */
	FRAGML_OUT_ARGMAX  = 1,	/* one score per action (tree class), first max wins */
};

/* node.info bits */
#define FRAGML_NODE_FEAT_MASK	0x03ffu	/* feature id of a split node */
#define FRAGML_NODE_DEFAULT_LEFT 0x4000u	/* a missing feature goes left */
#define FRAGML_NODE_LEAF	0x8000u

/* 8-byte node.  Split: `x < value` goes to `left`, else to `left + 1`. */
struct fragml_node {
	__u16 info;
	__u16 left;
	__s32 value;	/* split: integer threshold; leaf: Q15.16 leaf value */
};

/* 4-byte per-tree record. */
struct fragml_tree {
	__u16 root;
	__u8  cls;	/* action this tree scores (ARGMAX); 0 for ORDINAL */
	__u8  reserved;
};

/* ---- in-kernel layout: one value of a 1-entry array map per model version ---- */
#define FRAGML_COUNTER_ROWS	16	/* counters kept for the last 16 versions */

struct fragml_blob {
	__u32 version;		/* assigned by the loader, monotonic, never 0 */
	__u32 crc32;		/* of the model file: identifies it in `status` */
	__u8  hook;
	__u8  output;
	__u8  n_actions;
	__u8  max_depth;
	__u16 n_trees;
	__u16 n_nodes;
	__u16 schema;
	__u16 counter_row;	/* version % FRAGML_COUNTER_ROWS */
	__s32 base[FRAGML_MAX_ACTIONS];
	__s32 thresholds[FRAGML_MAX_ACTIONS - 1];
	__u32 reserved;
	struct fragml_tree trees[FRAGML_MAX_TREES];
	struct fragml_node nodes[FRAGML_MAX_NODES];
};

/* fragml_counters: per-CPU array, index = counter_index(hook, row, action). */
#define FRAGML_COUNTER_INDEX(hook, row, action) \
	((((hook) * FRAGML_COUNTER_ROWS) + (row)) * FRAGML_MAX_ACTIONS + (action))
#define FRAGML_NR_COUNTERS \
	(FRAGML_NR_HOOKS * FRAGML_COUNTER_ROWS * FRAGML_MAX_ACTIONS)

/* fragml_info: 1-entry array describing the running programs. */
#define FRAGML_MODE_OBSERVE	0
#define FRAGML_MODE_ENFORCE	1
struct fragml_info {
	__u32 schema;		/* FRAGML_SCHEMA_VERSION the programs were built with */
	__u32 abi;		/* FRAGML_FORMAT_VERSION */
	__u32 next_version;	/* next model version the loader hands out */
	__u32 mode;		/* FRAGML_MODE_* */
	__u32 prev_version[FRAGML_NR_HOOKS];	/* rollback target, 0 = none */
};

/* Feature vector as stored in maps. */
struct fragml_vec {
	__s32 f[FRAGML_MAX_FEATURES];
};

/* One evaluation's result (test runs, shadow logs). */
struct fragml_result {
	__u32 version;		/* model version that decided; 0 = no model loaded */
	__u32 action;
	__s64 score;		/* ORDINAL: summed score; ARGMAX: winning score (Q.16) */
};

/* Context of the `fragml_eval_batch` syscall program (BPF_PROG_TEST_RUN). */
#define FRAGML_TEST_VECS	4096
#define FRAGML_TEST_F_COUNT	0x1	/* count decisions like a real hook */
#define FRAGML_TEST_F_NORESULT	0x2	/* don't store results (benchmark) */
struct fragml_test_ctx {
	__u32 hook;
	__u32 first;		/* first vector index in fragml_test_vecs */
	__u32 count;		/* vectors to evaluate */
	__u32 repeat;		/* passes over the vectors (>= 1) */
	__u32 flags;
	__u32 evaluated;	/* out */
	__u64 elapsed_ns;	/* out: time spent in the evaluation loop */
};

#endif /* FRAGML_ABI_H */
