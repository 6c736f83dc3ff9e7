/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fragml feature registry: the single list of model inputs, shared by the BPF
 * programs (which compute them) and userspace (collector, trainer, loader,
 * reference evaluator).  Fixed-width types only; no libc.
 *
 * Every feature is a signed 32-bit integer in [FRAGML_FEAT_MIN, FRAGML_FEAT_MAX]
 * so that XGBoost's float32 represents it exactly (|x| < 2^24).  A feature that
 * a hook cannot compute is FRAGML_MISSING and follows the node's default
 * direction.  docs/features.md mirrors this table; a selftest checks they agree.
 *
 * Bump FRAGML_SCHEMA_VERSION whenever an ID changes meaning or a hook stops
 * computing a feature: models carry the schema they were trained on and
 * the loader refuses a model whose schema the running programs do not implement.
 */
#ifndef FRAGML_FEATURES_H
#define FRAGML_FEATURES_H

#define FRAGML_SCHEMA_VERSION	1
#define FRAGML_MAX_FEATURES	64		/* size of a feature vector */
#define FRAGML_MISSING		(-2147483647 - 1)	/* INT32_MIN */
#define FRAGML_FEAT_MAX		16777215	/* 2^24 - 1 */
#define FRAGML_FEAT_MIN		(-16777215)
#define FRAGML_GFP_BITS_MASK	0xffffff	/* gfp_bits: the low 24 bits of the gfp flags */

/* Decision points.  Values are stable: they are stored in model files. */
enum fragml_hook {
	FRAGML_HOOK_LIFETIME	= 0,	/* is this allocation long-lived (fragmenting)? */
	FRAGML_HOOK_THP_FAULT	= 1,	/* huge page at this fault, and stall for it? */
	FRAGML_HOOK_COMPACTION	= 2,	/* run this compaction attempt? */
	FRAGML_HOOK_FALLBACK	= 3,	/* fall back into another migratetype now? */
	FRAGML_HOOK_PLACEMENT	= 4,	/* which foreign pageblock a fallback takes */
	FRAGML_NR_HOOKS		= 5,
};

/* Actions per hook (a model's output index). */
enum fragml_lifetime_action {
	FRAGML_LIFETIME_SHORT	= 0,
	FRAGML_LIFETIME_LONG	= 1,	/* predicted to pin its pageblock */
};
enum fragml_thp_action {
	FRAGML_THP_DECLINE	= 0,	/* 4 KB pages */
	FRAGML_THP_NO_COMPACT	= 1,	/* huge page only if one is free */
	FRAGML_THP_COMPACT	= 2,	/* huge page, direct compaction allowed */
	FRAGML_THP_DEFAULT	= 3,	/* whatever the kernel would do */
};
enum fragml_compaction_action {
	FRAGML_COMPACT_SKIP	= 0,
	FRAGML_COMPACT_RUN	= 1,
};
enum fragml_fallback_action {
	FRAGML_FALLBACK_NOW	= 0,	/* take pages from another migratetype now */
	FRAGML_FALLBACK_DEFER	= 1,	/* reclaim and compact whole pageblocks first */
	FRAGML_FALLBACK_COMPACT	= 2,	/* compact one whole pageblock first, no reclaim */
};
enum fragml_placement_action {
	FRAGML_PLACE_DEFAULT	= 0,	/* the kernel's rule for this block */
	FRAGML_PLACE_CLAIM	= 1,	/* claim the whole block for the allocation's type */
	FRAGML_PLACE_SKIP	= 2,	/* not this block: look at the next candidate */
	FRAGML_PLACE_STEAL	= 3,	/* claim no block: take the smallest free page */
};

/* Allocation classes (value of FRAGML_F_ALLOC_CLASS). */
enum fragml_alloc_class {
	FRAGML_CLASS_ANON	= 0,
	FRAGML_CLASS_PAGECACHE	= 1,
	FRAGML_CLASS_SLAB	= 2,
	FRAGML_CLASS_PAGETABLE	= 3,
	FRAGML_CLASS_KSTACK	= 4,
	FRAGML_CLASS_NET	= 5,
	FRAGML_CLASS_PIPE	= 6,
	FRAGML_CLASS_KERNEL	= 7,	/* other kernel allocations */
	FRAGML_NR_CLASSES	= 8,
};

/* Migratetypes, numbered as the kernel's enum migratetype (the values of the
 * migratetype features and of the records' mt; bpf/fragml_core.bpf.c checks
 * them against the kernel's BTF). */
enum fragml_migratetype {
	FRAGML_MT_UNMOVABLE	= 0,
	FRAGML_MT_MOVABLE	= 1,
	FRAGML_MT_RECLAIMABLE	= 2,
};

#define FRAGML_HOOKBIT(h)	(1u << (h))
#define FRAGML_H_LT		FRAGML_HOOKBIT(FRAGML_HOOK_LIFETIME)
#define FRAGML_H_THP		FRAGML_HOOKBIT(FRAGML_HOOK_THP_FAULT)
#define FRAGML_H_CMP		FRAGML_HOOKBIT(FRAGML_HOOK_COMPACTION)
#define FRAGML_H_FB		FRAGML_HOOKBIT(FRAGML_HOOK_FALLBACK)
#define FRAGML_H_PL		FRAGML_HOOKBIT(FRAGML_HOOK_PLACEMENT)

/*
 * Which program computes a hook's features depends on the running mode:
 *   observe mode  the observe programs (and the collector, which runs the
 *                 same code) evaluate lifetime, thp_fault and compaction;
 *                 fallback and placement are not evaluated at all;
 *   enforce mode  the struct_ops policy of the patched kernel evaluates
 *                 thp_fault, compaction, fallback and placement; lifetime
 *                 stays with the observe programs.
 */
#define FRAGML_OBSERVE_HOOKS	(FRAGML_H_LT | FRAGML_H_THP | FRAGML_H_CMP)
#define FRAGML_ENFORCE_HOOKS	(FRAGML_H_THP | FRAGML_H_CMP | FRAGML_H_FB | FRAGML_H_PL)

/*
 * X(ID, ENUM, "name", "unit", scale, obs, enf, "description")
 *   scale: the integer is the physical quantity multiplied by `scale`
 *          (1 for counts and enums; 1024 for ratios in parts per 1024).
 *   obs:   hooks at which the observe programs and the collector compute it
 *          (bpf/fragml_features.bpf.h, bpf/fragml_vec.bpf.h);
 *   enf:   hooks at which the enforcing policy computes it
 *          (bpf/fragml_policy.bpf.c, the same builders).
 *   Everywhere else the vector holds FRAGML_MISSING.  The loader refuses a
 *   model that splits on a feature its hook does not compute in the running
 *   mode; the trainer does not train on one.
 */
#define FRAGML_FEATURES(X) \
	X(0,  ORDER,		"order",		"log2 pages",	1,    FRAGML_H_LT|FRAGML_H_THP|FRAGML_H_CMP, FRAGML_H_THP|FRAGML_H_CMP|FRAGML_H_FB|FRAGML_H_PL, "allocation or compaction order") \
	X(1,  MIGRATETYPE,	"migratetype",		"enum",		1,    FRAGML_H_LT, FRAGML_H_FB|FRAGML_H_PL, "requested migratetype: 0 unmovable, 1 movable, 2 reclaimable") \
	X(2,  FALLBACK_MT,	"fallback_mt",		"enum",		1,    FRAGML_H_LT, FRAGML_H_PL, "migratetype of the pageblock the page came from on a fallback (placement: of the candidate block), else missing") \
	X(3,  ALLOC_CLASS,	"alloc_class",		"enum",		1,    FRAGML_H_LT, 0, "allocation class (enum fragml_alloc_class)") \
	X(4,  GFP_BITS,		"gfp_bits",		"bitmask",	1,    FRAGML_H_LT, FRAGML_H_THP|FRAGML_H_FB, "gfp flags, low 24 bits") \
	X(5,  IS_KTHREAD,	"is_kthread",		"bool",		1,    FRAGML_H_LT|FRAGML_H_CMP, FRAGML_H_CMP|FRAGML_H_FB, "allocating task is a kernel thread") \
	X(6,  TASK_ALLOC_RATE,	"task_alloc_rate",	"pages/s",	1,    FRAGML_H_LT|FRAGML_H_THP, FRAGML_H_THP, "pages the allocating process took in the last second (capped)") \
	X(7,  EXTFRAG_RATE,	"extfrag_rate",		"events/s",	1,    FRAGML_H_LT|FRAGML_H_THP|FRAGML_H_CMP, FRAGML_H_THP|FRAGML_H_CMP, "system-wide migratetype fallbacks in the last second (capped)") \
	X(8,  CHANGE_OWNER,	"change_owner",		"bool",		1,    FRAGML_H_LT, 0, "fallback claimed the whole pageblock, else missing") \
	X(9,  SLAB_OBJ_LOG2,	"slab_obj_log2",	"log2 bytes",	1,    0, 0, "object size of the slab cache, for slab pages, else missing") \
	X(10, TASK_LONG_PPK,	"task_long_ppk",	"per 1024",	1024, FRAGML_H_LT, FRAGML_H_PL, "share of this process's recent unmovable pages still allocated after T (placement: of the requesting process, from observe mode)") \
	X(11, SITE_LONG_PPK,	"site_long_ppk",	"per 1024",	1024, FRAGML_H_LT, 0, "share of the allocation site's tracked pages that outlived T (site lifetime table: trained, corrected online); missing for a movable page, an unseen site or fewer than 8 known fates; no enforce-mode hook computes it") \
	X(12, TASK_PRED_LONG_PPK, "task_pred_long_ppk", "per 1024", 1024, 0, FRAGML_H_FB|FRAGML_H_PL, "share of the requesting process's recent sampled unmovable/reclaimable allocations that the published lifetime model predicted long-lived (observe mode's lifetime decisions); missing below 8 decisions or without a lifetime model") \
	X(13, TASK_AGE_LOG2,	"task_age_log2",	"log2 ms",	1,    FRAGML_H_LT, 0, "time since the allocating process started (a kernel thread: since the thread started), in ms") \
	X(14, PATH_LONG_PPK,	"path_long_ppk",	"per 1024",	1024, FRAGML_H_LT, 0, "share of the tracked pages of the allocation's kernel path (its site without the process image: every process's) that outlived T (online); missing for a movable page, an unseen path or fewer than 8 known fates; no enforce-mode hook computes it") \
	X(16, VMA_PAGES_LOG2,	"vma_pages_log2",	"log2 pages",	1,    FRAGML_H_THP, FRAGML_H_THP, "size of the faulting VMA") \
	X(17, VMA_HUGE_ADVISED,	"vma_huge_advised",	"bool",		1,    FRAGML_H_THP, FRAGML_H_THP, "VMA has MADV_HUGEPAGE") \
	X(18, REGION_IN_VMA,	"region_in_vma",	"bool",		1,    FRAGML_H_THP, FRAGML_H_THP, "the aligned 2 MB region lies wholly inside the VMA") \
	X(19, MM_RSS_LOG2,	"mm_rss_log2",		"log2 pages",	1,    FRAGML_H_LT|FRAGML_H_THP, FRAGML_H_THP, "resident anonymous pages of the process (missing for a kernel thread)") \
	X(20, TASK_THP_RATE,	"task_thp_rate",	"faults/s",	1,    FRAGML_H_THP, FRAGML_H_THP, "huge-page faults of the process in the last second (capped)") \
	X(21, TASK_DENSITY_PPK,	"task_density_ppk",	"per 1024",	1024, FRAGML_H_THP, FRAGML_H_THP, "mean touched share of the 2 MB regions the process's threads have left") \
	X(22, FREE_HUGE_BLOCKS,	"free_huge_blocks",	"blocks",	1,    FRAGML_H_THP|FRAGML_H_CMP, FRAGML_H_THP|FRAGML_H_CMP|FRAGML_H_FB, "free blocks of order >= 9: the node at a THP fault, the zone at compaction and fallback") \
	X(23, UNUSABLE_PPK,	"unusable_ppk",		"per 1024",	1024, FRAGML_H_THP|FRAGML_H_CMP, FRAGML_H_THP|FRAGML_H_CMP|FRAGML_H_FB, "unusable free space index at order 9") \
	X(24, COMPACT_FAIL_PPK,	"compact_fail_ppk",	"per 1024",	1024, FRAGML_H_THP|FRAGML_H_CMP, FRAGML_H_THP|FRAGML_H_CMP, "share of recent compactions that failed") \
	X(32, COMPACT_PRIO,	"compact_prio",		"enum",		1,    FRAGML_H_CMP, FRAGML_H_CMP, "compaction priority (0 sync-full .. 2 async)") \
	X(33, ZONE_FREE_LOG2,	"zone_free_log2",	"log2 pages",	1,    FRAGML_H_CMP, FRAGML_H_CMP|FRAGML_H_FB|FRAGML_H_PL, "free pages in the zone") \
	X(34, FRAG_INDEX,	"frag_index",		"per 1000",	1000, FRAGML_H_CMP, FRAGML_H_CMP, "extfrag index at the requested order (-1000 when enough free)") \
	X(35, IS_KCOMPACTD,	"is_kcompactd",		"bool",		1,    FRAGML_H_CMP, FRAGML_H_CMP, "proactive/background compaction rather than direct") \
	X(36, COMPACT_DEFER,	"compact_defer",	"count",	1,    FRAGML_H_CMP, FRAGML_H_CMP, "zone compact_defer_shift") \
	X(40, CAN_RECLAIM,	"can_reclaim",		"bool",		1,    0, FRAGML_H_FB, "the allocation may wait for direct reclaim and compaction (the kernel honours defer)") \
	X(41, ATOMIC,		"atomic",		"bool",		1,    0, FRAGML_H_FB, "the allocation cannot enter direct reclaim (GFP_ATOMIC, GFP_NOWAIT)") \
	X(42, FILE_PPK,		"file_ppk",		"per 1024",	1024, 0, FRAGML_H_FB, "file LRU pages of the zone per managed page") \
	X(43, ANON_PPK,		"anon_ppk",		"per 1024",	1024, 0, FRAGML_H_FB, "anonymous LRU pages of the zone per managed page") \
	X(44, FREE_WMARK_PPK,	"free_wmark_ppk",	"per 1024",	1024, 0, FRAGML_H_FB, "free pages of the zone per page of its high watermark (capped)") \
	X(45, NOFRAG_ZONE,	"nofrag_zone",		"bool",		1,    0, FRAGML_H_FB, "the kernel itself avoids fallback in this zone (ZONE_NORMAL above DMA32)") \
	X(46, BLOCK_FREE,	"block_free",		"pages",	1,    0, FRAGML_H_PL, "free pages in the candidate pageblock") \
	X(47, BLOCK_MOVABLE,	"block_movable",	"pages",	1,    0, FRAGML_H_PL, "movable (LRU or movable-ops) pages in the candidate pageblock") \
	X(48, BLOCK_FOREIGN,	"block_foreign",	"pages",	1,    0, FRAGML_H_PL, "pages of the candidate pageblock neither free nor movable: how mixed it already is") \
	X(49, FREE_ORDER,	"free_order",		"log2 pages",	1,    0, FRAGML_H_PL, "order of the free page the allocator found in the candidate pageblock") \
	X(50, KERNEL_CLAIMS,	"kernel_claims",	"bool",		1,    0, FRAGML_H_PL, "the kernel's own rule would claim the candidate pageblock (half of it free or compatible)")

enum fragml_feature_id {
#define FRAGML_X_ENUM(id, e, n, u, s, o, f, d) FRAGML_F_##e = id,
	FRAGML_FEATURES(FRAGML_X_ENUM)
#undef FRAGML_X_ENUM
};

#endif /* FRAGML_FEATURES_H */
