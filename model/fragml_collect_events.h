/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ring-buffer records of the collector (bpf/fragml_collect.bpf.c -> loader/collect_label.c)
 * and the identification map layouts (pinned by the observe programs, read by
 * `fragml top`).  Fixed-width types only; userspace includes <linux/types.h> first.
 */
#ifndef FRAGML_COLLECT_EVENTS_H
#define FRAGML_COLLECT_EVENTS_H

#include "fragml_abi.h"
#include "fragml_alloc_flags.h"

/* Frames of a kernel call stack: the collector's fragml_stackmap (--stacks; values of
 * FRAGML_STACK_DEPTH u64) and the class walk of bpf/fragml_features.bpf.h. */
#define FRAGML_STACK_DEPTH	16

enum fragml_ev_type {
	FRAGML_EV_ALLOC = 1,	/* tracked allocation (lifetime row) */
	FRAGML_EV_FREE,		/* a tracked page was freed */
	FRAGML_EV_SLAB,		/* the cache of a tracked slab page */
	FRAGML_EV_FAULT,	/* a user page fault (4 KB granularity) */
	FRAGML_EV_REGION,	/* first fault in a 2 MB region (thp_fault row) */
	FRAGML_EV_THP,		/* order-9 allocation in a user fault */
	FRAGML_EV_EXIT,		/* a process exited */
	FRAGML_EV_COMPACT,	/* one compaction run ended (compaction row) */
	FRAGML_EV_NEED,		/* a THP fault fell back, or a compaction was deferred */
};

/* FRAGML_EV_NEED kinds: moments a free 2 MB block was needed and missing
 * (the `pollutes` label, docs/dataset.md).  Failed compactions are the
 * compaction records themselves. */
enum fragml_need_kind {
	FRAGML_NEED_THP_FALLBACK = 1,	/* order-9 movable allocation in a user fault returned no page */
	FRAGML_NEED_COMPACT_DEFERRED,	/* mm_compaction_deferred */
};



struct fragml_ev_hdr {
	__u32 type;
	__u32 tgid;
	__u64 ts;
};

struct fragml_ev_need {
	struct fragml_ev_hdr h;
	__u32 kind;		/* enum fragml_need_kind */
	__s32 order;
};

struct fragml_ev_alloc {
	struct fragml_ev_hdr h;
	__u64 page;		/* struct page *: unique per pfn (vmemmap) */
	__u64 cgroup;
	__u32 order;
	__u32 gfp;
	__s32 mt;
	__s32 block_mt;		/* pageblock migratetype the page came from */
	__u32 cls;
	__u32 flags;		/* FRAGML_ALLOC_F_* */
	__s32 stack_id;		/* -1 without --stacks */
	__u32 pad;
	__u64 site;		/* allocation site id (fragml_site_id()); 0: none */
	char comm[16];
	struct fragml_vec v;
};

struct fragml_ev_free {
	struct fragml_ev_hdr h;
	__u64 page;
};

struct fragml_ev_slab {
	struct fragml_ev_hdr h;
	__u64 page;
	__u32 obj_size;
	__u32 flags;		/* FRAGML_ALLOC_F_KMALLOC: name is empty, obj_size is the kmalloc size */
	char name[32];
};

struct fragml_ev_fault {
	struct fragml_ev_hdr h;
	__u64 addr;
};

struct fragml_ev_region {
	struct fragml_ev_hdr h;
	__u64 region;
	char comm[16];
	struct fragml_vec v;
};

struct fragml_ev_thp {
	struct fragml_ev_hdr h;
	__u64 addr;
};

struct fragml_ev_compact {
	struct fragml_ev_hdr h;
	__u64 t0;		/* begin */
	__s32 status;		/* enum compact_result, as the running kernel numbers it */
	__s32 success;		/* status == COMPACT_SUCCESS */
	__s32 free_huge_after;
	__u32 kthread;
	char zone[16];
	char comm[16];
	struct fragml_vec v;
};

/* ---- identification maps (pinned under the pin directory by the observe programs) ---- */

struct fragml_src_key {
	__u32 tgid;		/* 0 for kernel threads with no process */
	__u32 cls;		/* enum fragml_alloc_class */
};

struct fragml_src_val {
	char comm[16];
	__u64 cgroup;
	__u64 pages;		/* unmovable/reclaimable pages allocated (plus THP faults for anon) */
	__u64 extfrag;		/* allocations that fell back to another migratetype's pageblock */
	__u64 extfrag_claim;	/* ... and claimed the whole block */
	__u64 decided;		/* lifetime-model decisions made for this source */
	__u64 predicted_long;	/* ... that predicted long-lived (fragmenting) */
	__s64 blocks_polluted;	/* pageblocks now mixed by this source's live fallbacks */
	__s64 huge_blocked;	/* ... of them pinned by unmovable/reclaimable pages */
	__u64 thp_faults;	/* order-9 allocations in user faults */
	__u64 last_ts;
	/* followed pages freed, by the lifetime model's prediction at their
	 * allocation and their lifetime (>= T: long): index FRAGML_FATE() */
	__u64 fate[4];
};

/* fate[] index: predicted long (0/1), lived at least T (0/1) */
#define FRAGML_FATE(pred_long, lived_long)	((pred_long) * 2 + (lived_long))

struct fragml_slab_key {
	__u32 tgid;
	__u32 pad;
	__u64 cache;		/* struct kmem_cache * */
};

struct fragml_slab_val {
	char name[32];
	__u32 obj_size;
	__u32 sample;		/* objs/bytes are scaled by this already */
	__u64 objs;
	__u64 bytes;
	__u64 pages;		/* slab pages grown for this cache by this task */
	char comm[16];
};

/* T of "long-lived": the collector's default (--lifetime sets its own), the
 * observe programs' and the feed's.  One T for the label the shipped lifetime
 * model is trained on (make collect-apps collects at 2 s), for the features
 * counted against T in the kernel (task_long_ppk, site_long_ppk,
 * path_long_ppk) and for the live judgement of its predictions. */
#define FRAGML_LIFETIME_T_S		2
#define FRAGML_OBSERVE_LIFETIME_T_NS	(FRAGML_LIFETIME_T_S * 1000000000ULL)

#define FRAGML_PRED_SHORT	1
#define FRAGML_PRED_LONG	2

/* Value of fragml_live (key: struct page *): one tracked page still allocated;
 * read by the pageblock scan (loader/pageblock.c). */
struct fragml_live {
	__u64 ts;
	struct fragml_src_key src;
	__u32 order;
	__s32 alloc_mt;
	__u32 in_mixed_block;	/* counted in a fragml_blocks entry */
	__u32 pred;		/* the lifetime model's answer at allocation:
				 * 0 none, FRAGML_PRED_SHORT, FRAGML_PRED_LONG */
	__u64 site;		/* allocation site id: its fate goes to fragml_site_life */
};

/*
 * The site lifetime table, fragml_site_life (key: __u64 site id, see
 * fragml_site_id() in bpf/fragml_features.bpf.h; not the call-site -> class
 * table fragml_sites below): per allocation site, the tracked pages and their
 * fates.  Seeded by `fragml-load --site-table` from what fragml-train learnt
 * (FRAGML_SITE_F_TRAINED), updated by the tracking core at every tracked free.
 */
struct fragml_site_life {
	__u32 allocs;		/* tracked allocations (seeded: long + short) */
	__u32 long_cnt;		/* fates known: lived >= T */
	__u32 short_cnt;	/* fates known: freed before T */
	__u32 flags;		/* FRAGML_SITE_F_* */
	__u64 path;		/* a site's entry: its kernel path's key (0: a path's entry) */
};
#define FRAGML_SITE_F_TRAINED	1	/* the entry was seeded from a site table */
#define FRAGML_SITE_F_PATH	2	/* a kernel path's entry: every process's pages of it */
#define FRAGML_PATH_SALT	0x7061746800000000ULL	/* a path's key: its hash mixed with this */
#define FRAGML_SITE_MIN_KNOWN	8	/* known fates before site_long_ppk is given */
#define FRAGML_SITE_DECAY	4096	/* past this many known fates, the counts halve */

/* Call-site table filled by userspace from /proc/kallsyms (fragml_sites_fill()):
 * one value holding `n` ranges sorted by start, so a lookup is one map access
 * plus a bounded binary search per stack frame. */
#define FRAGML_MAX_SITES	64	/* power of two: indices are masked */
struct fragml_site {
	__u64 start;
	__u64 end;
	__u32 cls;		/* enum fragml_alloc_class */
	__u32 pad;
};
struct fragml_site_table {
	__u32 n;
	__u32 pad;
	struct fragml_site s[FRAGML_MAX_SITES];
};

/* Per pageblock made mixed by a fallback (key: struct page * of any page >> 15). */
struct fragml_block_val {
	struct fragml_src_key src;
	__s32 alloc_mt;
	__s32 fallback_mt;
	__u32 live;		/* tracked pages of the source still allocated in the block */
	__u32 claimed;
	__u64 ts;
};

/* fragml_stats: per-CPU array indices */
enum fragml_stat {
	FRAGML_STAT_LOST = 0,	/* ring-buffer records dropped (ring full) */
	FRAGML_STAT_TRACK_FULL,	/* tracked allocations not stored (table full) */
	FRAGML_STAT_ALLOCS,	/* page allocations seen */
	FRAGML_STAT_TRACKED,	/* ... tracked */
	FRAGML_STAT_EXTFRAG,
	FRAGML_STAT_FAULTS,
	FRAGML_STAT_COMPACT,
	FRAGML_NR_STATS = 8,
};

#endif /* FRAGML_COLLECT_EVENTS_H */
