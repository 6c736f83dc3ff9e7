/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The feature path: every feature of model/fragml_features.h that two
 * programs compute is computed here, once, from plain numbers.  The observe
 * programs and the collector (fragml_features.bpf.h: tracepoints, kernel
 * structures read with CO-RE) and the enforcing policy (fragml_policy.bpf.c:
 * the patched kernel's hook contexts) gather those numbers their own way and
 * call the same builder, so a model sees one definition of each feature in
 * either mode.  The registry's obs/enf columns say which side computes what.
 *
 * The rate features read the shared state of fragml_task_state.bpf.h (the
 * per-process windows and the system-wide fragml_glob) without writing it:
 * the observe programs roll the windows when they count, the policy only
 * reads, and both see the same value at the same instant.
 */
#ifndef FRAGML_VEC_BPF_H
#define FRAGML_VEC_BPF_H

#include "fragml_abi.h"
#include "fragml_task_state.bpf.h"

#define FRAGML_NSEC_PER_SEC	1000000000ULL
#define FRAGML_HPAGE_ORDER	9		/* PMD order on x86-64 and arm64 4K */
#define FRAGML_HPAGE_PAGES	(1ULL << FRAGML_HPAGE_ORDER)

static __always_inline __s32 fragml_cap(__u64 v)
{
	return v > FRAGML_FEAT_MAX ? FRAGML_FEAT_MAX : (__s32)v;
}

/* floor(log2(v)), 0 for v <= 1 */
static __always_inline __s32 fragml_log2(__u64 v)
{
	__s32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* Parts per 1024 of `whole`, capped to the feature range. */
static __always_inline __s32 fragml_ppk(__u64 part, __u64 whole)
{
	if (!whole)
		return part ? FRAGML_FEAT_MAX : 0;
	return fragml_cap(part * 1024 / whole);
}

/*
 * The kernel's unusable_free_index() at order 9, per 1024: the share of the
 * free pages that lie in blocks smaller than 2 MB.  0 when nothing is free,
 * as the kernel's own index.
 */
static __always_inline __s32 fragml_unusable_ppk(__u64 free_pages, __u64 free_huge)
{
	__u64 usable = free_huge * FRAGML_HPAGE_PAGES;

	if (!free_pages)
		return 0;
	if (usable > free_pages)
		usable = free_pages;
	return (__s32)((free_pages - usable) * 1024 / free_pages);
}

/*
 * Events per second over the last second of a window pair that the writer
 * rolls every second (fragml_task_get(), fragml_glob_get()).  Read without
 * rolling: a window a writer would roll now counts as the full last second.
 */
static __always_inline __s32 fragml_rate_at(__u32 prev, __u32 cur, __u64 win_start, __u64 now)
{
	__u64 el = now - win_start;

	if (el >= 2 * FRAGML_NSEC_PER_SEC)
		return 0;
	if (el >= FRAGML_NSEC_PER_SEC)
		return fragml_cap(cur);
	return fragml_cap(cur + (__u64)prev * (FRAGML_NSEC_PER_SEC - el) / FRAGML_NSEC_PER_SEC);
}

/* System-wide fallback rate; missing when no observe program counts them. */
static __always_inline __s32 fragml_extfrag_rate_of(const struct fragml_glob *g, __u64 now)
{
	if (!g || !g->win_start)
		return FRAGML_MISSING;
	return fragml_rate_at(g->extfrag_prev, g->extfrag_cur, g->win_start, now);
}

/* Share of recent compactions that failed (decayed counts), per 1024.  Read
 * without rolling, as for the rates: counts a writer would halve now (its
 * window is over) are read halved, so a reader that rolls and one that only
 * peeks see the same value (found by policy.compaction_vectors_agree). */
static __always_inline __s32 fragml_compact_fail_of(const struct fragml_glob *g, __u64 now)
{
	__u32 ok, fail, n;

	if (!g)
		return FRAGML_MISSING;
	ok = g->compact_ok;
	fail = g->compact_fail;
	if (now - g->win_start >= FRAGML_NSEC_PER_SEC) {
		ok >>= 1;
		fail >>= 1;
	}
	n = ok + fail;
	return n ? (__s32)((__u64)fail * 1024 / n) : FRAGML_MISSING;
}

/* ---- THP fault ---- */

/* What a THP decision knows of its fault (zero = unknown). */
struct fragml_thp_in {
	__u64 vma_start, vma_end;
	__u64 anon_rss;		/* resident anonymous pages of the process */
	__u64 node_free_pages;	/* buddy free pages of the node */
	__u64 node_free_huge;	/* free 2 MB blocks of the node */
	__u32 gfp;		/* 0: not known at this point (observe mode) */
	__u8 vma_found;
	__u8 huge_advised;
	__u8 region_in_vma;
	__u8 have_rss;
	__u8 have_node;
};

static __always_inline void fragml_vec_thp(struct fragml_vec *v, __u64 now,
					   const struct fragml_thp_in *in,
					   const struct fragml_task_state *t,
					   const struct fragml_glob *g)
{
	v->f[FRAGML_F_ORDER] = FRAGML_HPAGE_ORDER;
	if (in->gfp)
		v->f[FRAGML_F_GFP_BITS] = in->gfp & FRAGML_GFP_BITS_MASK;
	v->f[FRAGML_F_EXTFRAG_RATE] = fragml_extfrag_rate_of(g, now);
	v->f[FRAGML_F_COMPACT_FAIL_PPK] = fragml_compact_fail_of(g, now);
	if (in->vma_found) {
		v->f[FRAGML_F_VMA_PAGES_LOG2] = fragml_log2((in->vma_end - in->vma_start) >> 12);
		v->f[FRAGML_F_VMA_HUGE_ADVISED] = in->huge_advised;
		v->f[FRAGML_F_REGION_IN_VMA] = in->region_in_vma;
	}
	if (in->have_rss)
		v->f[FRAGML_F_MM_RSS_LOG2] = fragml_log2(in->anon_rss);
	if (t) {
		v->f[FRAGML_F_TASK_ALLOC_RATE] = fragml_rate_at(t->pages_prev, t->pages_cur,
								t->win_start, now);
		v->f[FRAGML_F_TASK_THP_RATE] = fragml_rate_at(t->thp_prev, t->thp_cur,
							      t->win_start, now);
		v->f[FRAGML_F_TASK_DENSITY_PPK] = fragml_task_density_ppk(t);
	}
	if (in->have_node) {
		v->f[FRAGML_F_FREE_HUGE_BLOCKS] = fragml_cap(in->node_free_huge);
		v->f[FRAGML_F_UNUSABLE_PPK] = fragml_unusable_ppk(in->node_free_pages,
								  in->node_free_huge);
	}
}

/* ---- compaction ---- */

struct fragml_cmp_in {
	__u64 free_pages;	/* the zone's (the node's for proactive compaction) */
	__u64 free_huge;
	__s32 order;		/* -1: whole-zone/node proactive compaction */
	__s32 frag_index;	/* the kernel's fragmentation index (per 1000) */
	__s32 prio;		/* 0 sync-full .. 2 async; < 0 unknown */
	__s32 defer_shift;	/* < 0 unknown */
	__u8 kthread;
	__u8 kcompactd;		/* not a direct compaction */
	__u8 have_zone;
};

static __always_inline void fragml_vec_compaction(struct fragml_vec *v, __u64 now,
						  const struct fragml_cmp_in *in,
						  const struct fragml_glob *g)
{
	v->f[FRAGML_F_ORDER] = in->order;
	v->f[FRAGML_F_IS_KTHREAD] = in->kthread;
	v->f[FRAGML_F_EXTFRAG_RATE] = fragml_extfrag_rate_of(g, now);
	v->f[FRAGML_F_COMPACT_FAIL_PPK] = fragml_compact_fail_of(g, now);
	v->f[FRAGML_F_COMPACT_PRIO] = in->prio >= 0 ? in->prio : FRAGML_MISSING;
	v->f[FRAGML_F_IS_KCOMPACTD] = in->kcompactd;
	if (in->defer_shift >= 0)
		v->f[FRAGML_F_COMPACT_DEFER] = in->defer_shift;
	if (in->have_zone) {
		v->f[FRAGML_F_FREE_HUGE_BLOCKS] = fragml_cap(in->free_huge);
		v->f[FRAGML_F_UNUSABLE_PPK] = fragml_unusable_ppk(in->free_pages, in->free_huge);
		v->f[FRAGML_F_ZONE_FREE_LOG2] = fragml_log2(in->free_pages);
		/* no index for a whole-zone compaction (order -1) */
		if (in->order >= 0)
			v->f[FRAGML_F_FRAG_INDEX] = in->frag_index;
	}
}

#endif /* FRAGML_VEC_BPF_H */
