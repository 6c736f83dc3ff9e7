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

/* ---- in-kernel layout: one value of a 1-entry array map per model version ----
 *
 * Not the file layout: the loader packs a validated model into this form
 * (loader/load.c, fragml_blob_pack) so that the kernel walk needs no index
 * scaling, masking or sign extension and a version stays under 64 KiB.
 *
 * knode[] holds 8-byte entries addressed by byte offset.  A split entry is
 * { thr, meta }; a leaf is one s32 value: a pair of sibling leaves shares one
 * entry (left value, right value), any other leaf has an entry of its own.
 * Split semantics (docs/model-format.md) become one unsigned compare:
 *   u = (u32)(x + 0x80000000 - dflt_right);   go left iff u < thr
 * (thr is the transformed threshold; a missing x, INT32_MIN, maps to 0 or to
 * 0xffffffff, which sends it to its default side).  Children: left at
 * byte offset `left`, right at `left + 4` (pair) or `left + 8`.
 */
#define FRAGML_KERNEL_ABI	2	/* fragml_info.abi: layout of struct fragml_blob */
#define FRAGML_KNODES		8064	/* 8-byte entries per version; every valid model fits */

/* knode meta bits */
#define FRAGML_KN_LEFT_MASK	0xffffu	/* byte offset of the left child in knode[] */
#define FRAGML_KN_FB_SHIFT	16	/* 8 bits: feature * 4 | pair << 1 | dflt_right */
#define FRAGML_KN_DFLT_RIGHT	0x1u	/* in fb: a missing value goes right */
#define FRAGML_KN_PAIR		0x2u	/* in fb: both children are leaves in one entry */
#define FRAGML_KN_LLEAF_SHIFT	24	/* left child is a leaf */
#define FRAGML_KN_RLEAF_SHIFT	25	/* right child is a leaf */

struct fragml_knode {
	__u32 thr;	/* split: transformed threshold; leaf entry: s32 value(s) */
	__u32 meta;	/* split: FRAGML_KN_*; leaf entry: second value of a pair, or 0 */
};

/* tree[] entries */
#define FRAGML_KT_OFF_MASK	0xffffu	/* byte offset of the root in knode[] */
#define FRAGML_KT_LEAF		0x10000u	/* the root is a leaf */
#define FRAGML_KT_CLS_SHIFT	24	/* action the tree scores (ARGMAX) */

#define FRAGML_COUNTER_ROWS	16	/* counters kept for the last 16 versions */
#define FRAGML_SITE_TABLE_MAX	8192	/* entries of the site lifetime table fragml_site_life */

struct fragml_blob {
	__u32 version;		/* assigned by the loader, monotonic, never 0 */
	__u32 crc32;		/* of the model file: identifies it in `status` */
	__u8  hook;
	__u8  output;
	__u8  n_actions;
	__u8  max_depth;
	__u16 n_trees;
	__u16 n_nodes;		/* nodes of the model file */
	__u16 schema;
	__u16 counter_row;	/* version % FRAGML_COUNTER_ROWS */
	__u16 n_knodes;		/* entries of knode[] in use */
	__u16 reserved;
	__s32 base[FRAGML_MAX_ACTIONS];
	__s32 thresholds[FRAGML_MAX_ACTIONS - 1];
	__u32 reserved2;
	char  sha256[72];		/* of the model file, hex + NUL (FRAGML_SHA256_HEX) */
	__u32 tree[FRAGML_MAX_TREES];	/* FRAGML_KT_* */
	struct fragml_knode knode[FRAGML_KNODES];
};

/* fragml_counters: per-CPU array, index = counter_index(hook, row, action). */
#define FRAGML_COUNTER_INDEX(hook, row, action) \
	((((hook) * FRAGML_COUNTER_ROWS) + (row)) * FRAGML_MAX_ACTIONS + (action))
#define FRAGML_NR_COUNTERS \
	(FRAGML_NR_HOOKS * FRAGML_COUNTER_ROWS * FRAGML_MAX_ACTIONS)

/* fragml_shadow: per-CPU array, index = hook * FRAGML_MAX_ACTIONS + action:
 * decisions of the observe programs at hooks the policy decides (enforce mode). */
#define FRAGML_SHADOW_INDEX(hook, action)	((hook) * FRAGML_MAX_ACTIONS + (action))
#define FRAGML_NR_SHADOW			(FRAGML_NR_HOOKS * FRAGML_MAX_ACTIONS)

/* The enforcing policy's canary and scope (bpf/fragml_policy.bpf.c, loader/canary.c).
 * fragml_canary_cnt: per-CPU array, decisions per (hook, live action, candidate action). */
#define FRAGML_CANARY_INDEX(hook, live, cand) \
	(((hook) * FRAGML_MAX_ACTIONS + (live)) * FRAGML_MAX_ACTIONS + (cand))
#define FRAGML_NR_CANARY	(FRAGML_NR_HOOKS * FRAGML_MAX_ACTIONS * FRAGML_MAX_ACTIONS)
/* fragml_scope: the cgroup ids a scope names, at most this many */
#define FRAGML_SCOPE_MAX	16

/* fragml_vaudit (bpf/fragml_vaudit.bpf.h): the vector each side built for
 * one decision, while the audit is on.  `where`: the 2 MB region (address
 * >> 21) of a THP fault. */
#define FRAGML_VAUDIT_OBSERVE	0
#define FRAGML_VAUDIT_POLICY	1
#define FRAGML_VAUDIT_MAX	4096
struct fragml_vaudit_key {
	__u32 hook;
	__u32 side;		/* FRAGML_VAUDIT_* */
	__u32 tgid;
	__u32 pad;
	__u64 where;
};

/* fragml_info: 1-entry array describing the running programs. */
#define FRAGML_MODE_OBSERVE	0
#define FRAGML_MODE_ENFORCE	1
struct fragml_info {
	__u32 schema;		/* FRAGML_SCHEMA_VERSION the programs were built with */
	__u32 abi;		/* FRAGML_KERNEL_ABI */
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
#define FRAGML_TEST_F_EMPTY	0x4	/* fetch the vector only: the harness's own cost */
#define FRAGML_TEST_F_COMPILED	0x8	/* through the hook's compiled program when one is
					 * published (fragml_test_batch_rt), else the map
					 * evaluator: what a hook does */
struct fragml_test_ctx {
	__u32 hook;
	__u32 first;		/* first vector index in fragml_test_vecs */
	__u32 count;		/* vectors to evaluate */
	__u32 repeat;		/* passes over the vectors (>= 1) */
	__u32 flags;
	__u32 evaluated;	/* out */
	__u64 elapsed_ns;	/* out: time spent in the evaluation loop */
};

/*
 * Compiled model versions (loader/compile.c): per published version, fragml
 * generates a BPF program from the validated model (one compare-and-jump
 * sequence per tree, the leaf sums, the decision, the count) and puts it in a
 * program array the hooks tail-call through.  Its input and output: the
 * caller's per-CPU struct fragml_cio (the vector at offset 0, the result
 * after it); it returns the action.
 */
struct fragml_cio {
	struct fragml_vec v;
	struct fragml_result r;
};

/* Arguments of `fragml_test_batch_rt` (raw_tp test run: u64 args, read-only),
 * and what it writes back into fragml_test_stat. */
enum { FRAGML_RT_HOOK, FRAGML_RT_FIRST, FRAGML_RT_COUNT, FRAGML_RT_REPEAT, FRAGML_RT_FLAGS,
       FRAGML_RT_NARGS };
struct fragml_test_stat {
	__s32 ret;		/* 0, or -errno as fragml_eval_batch returns */
	__u32 evaluated;
	__u32 compiled;		/* decisions the compiled program made */
	__u32 reserved;
	__u64 elapsed_ns;
};

#endif /* FRAGML_ABI_H */
