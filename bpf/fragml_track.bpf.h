/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tracking core: allocation tracking and source identification, with three
 * output modes.  The includer defines exactly one of
 *   FRAGML_OBSERVE  shadow decisions counted per model version; identification
 *                   maps pinned for `fragml top` (fragml_observe.bpf.c)
 *   FRAGML_COLLECT  ring-buffer records for the labelled datasets
 *                   (fragml_collect.bpf.c, model/fragml_collect_events.h)
 *   FRAGML_FEED     ring-buffer records of the identification feed, the lifetime
 *                   model evaluated but not counted (fragml_feed.bpf.c,
 *                   model/fragml_feed_events.h)
 * and FRAGML_IDENT_PIN to the pinning attribute of the identification maps (or
 * to nothing).  Every mode takes the same paths: the sampling of allocations,
 * the live-page map and its filter (task_long_ppk), the pending slab page named
 * by the next slab object, the per-process state freed at exit.  The programs
 * more than one mode attaches are defined once, at the end of this file, and
 * named fragml_<mode>_<what> (fragml_observe_alloc, fragml_collect_alloc, ...:
 * the loader, the pinned links and the docs use these names).
 */
#ifndef FRAGML_TRACK_BPF_H
#define FRAGML_TRACK_BPF_H

#if defined(FRAGML_OBSERVE) + defined(FRAGML_COLLECT) + defined(FRAGML_FEED) != 1
#error "define exactly one of FRAGML_OBSERVE, FRAGML_COLLECT, FRAGML_FEED"
#endif

#include "fragml_features.bpf.h"
#include "fragml_collect_events.h"
#ifdef FRAGML_OBSERVE
#include "fragml_vaudit.bpf.h"
#endif
#ifdef FRAGML_FEED
#include "fragml_feed_events.h"
#endif

/*
 * A page's key in fragml_live, its filter and fragml_blocks: the `struct page *`
 * as a number in the tp_btf/raw_tp programs of observe and collect, the pfn in
 * the feed (its classic tracepoints carry the pfn, which its records name).
 * FRAGML_KEY_BLOCK_SHIFT turns a key into its pageblock: sizeof(struct page) is
 * 64 on every 64-bit config fragml supports and vmemmap is 1 GB aligned, so the
 * 512 pages of a pageblock are 1 << 15 bytes of struct page.
 */
#ifdef FRAGML_FEED
#define FRAGML_KEY_BLOCK_SHIFT	FRAGML_HPAGE_ORDER
#else
#define FRAGML_KEY_BLOCK_SHIFT	(FRAGML_HPAGE_ORDER + 6)
#endif

/* Settings fixed at load time (the observe programs keep the sampled defaults). */
#ifndef FRAGML_TRACK_SAMPLE_SHIFT
#define FRAGML_TRACK_SAMPLE_SHIFT 4
#endif
#ifndef FRAGML_LIVE_SAMPLE_SHIFT
#define FRAGML_LIVE_SAMPLE_SHIFT 2
#endif
#ifndef FRAGML_SLAB_SAMPLE_SHIFT
#define FRAGML_SLAB_SAMPLE_SHIFT 4
#endif
/*
 * Track 1 in 2^track_sample_shift unmovable/reclaimable allocations (0..20; the
 * feed reports them).  Of those, follow 1 in 2^live_sample_shift (0..7) to their
 * free (fallbacks always): the hash insert and delete are the costliest part of
 * a sampled allocation, and outside fallbacks lifetimes only feed the
 * task_long_ppk feature.  Count 1 in 2^slab_sample_shift slab objects per source.
 * The observe programs keep the defaults as compile-time constants: the JIT
 * loads a .rodata value from memory even where the verifier knows it, and on
 * the hot paths that load is a page touch of its own (docs/performance.md).
 */
#ifdef FRAGML_OBSERVE
#define track_sample_shift	FRAGML_TRACK_SAMPLE_SHIFT
#define live_sample_shift	FRAGML_LIVE_SAMPLE_SHIFT
#define slab_sample_shift	FRAGML_SLAB_SAMPLE_SHIFT
#else
const volatile __u32 track_sample_shift = FRAGML_TRACK_SAMPLE_SHIFT;
const volatile __u32 live_sample_shift = FRAGML_LIVE_SAMPLE_SHIFT;
const volatile __u32 slab_sample_shift = FRAGML_SLAB_SAMPLE_SHIFT;
#endif
const volatile __u64 lifetime_T_ns = FRAGML_OBSERVE_LIFETIME_T_NS;
const volatile __u32 want_stacks = 0;
/* What the loader asked for (docs/operator.md, "Kernel memory").  A path that
 * is off is dead code for the verifier, and its maps are not created:
 *   want_ident  source identification: fragml_src, fragml_src_slab, fragml_blocks
 *               (`fragml top`, `fragml report`, the collector)
 *   want_live   follow sampled allocations to their free (fragml_live and its
 *               filter): the task_long_ppk feature and the collector's lifetimes */
const volatile __u32 want_ident = 1;
const volatile __u32 want_live = 1;
/* fragml_track_filter slots - 1 (a power of two, sized to the machine's pageblocks) */
#define FRAGML_FILTER_SLOTS	65536	/* compiled-in default */
const volatile __u32 filter_mask = FRAGML_FILTER_SLOTS - 1;

/* fragml-collect --pid / --cgroup (0: everyone), and a process left out (the
 * feed's publisher: its own sends would feed the feed).  The observe programs
 * keep all three 0, so the verifier drops the checks from their hot paths. */
const volatile __u32 filter_tgid = 0;
const volatile __u64 filter_memcg_ino = 0;	/* memory cgroup directory inode (= kernfs id) */
const volatile __u32 exclude_tgid = 0;

/* Set by the collector for vmemmap calibration (loader/collect.c). */
volatile __u32 calib_tgid;
volatile __u64 calib_page;

/* Sized by the loader to a share of RAM (--track-pages); elements are allocated
 * when a page is tracked and freed with it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, __u64);			/* the page's key (above) */
	__type(value, struct fragml_live);
	FRAGML_IDENT_PIN	/* fragml report judges the pages still alive */
} fragml_live SEC(".maps");

/*
 * Counting filter in front of fragml_live: tracked pages per pageblock slot
 * ((key >> FRAGML_KEY_BLOCK_SHIFT) & filter_mask; the loader sizes it to the machine's
 * pageblocks, so there is no aliasing up to the largest pfn it saw).
 * mm_page_free runs on every freed page; a free in a slot with no tracked page
 * (almost every free of anonymous or page-cache memory) returns after one
 * inlined array access instead of a hash lookup.  Aliasing only costs lookups.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_FILTER_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} fragml_track_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fragml_src_key);
	__type(value, struct fragml_src_val);
	FRAGML_IDENT_PIN
} fragml_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fragml_slab_key);
	__type(value, struct fragml_slab_val);
	FRAGML_IDENT_PIN
} fragml_src_slab SEC(".maps");

/* At most one entry per pageblock of the machine (the loader sets max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* key >> FRAGML_KEY_BLOCK_SHIFT: the pageblock */
	__type(value, struct fragml_block_val);
	FRAGML_IDENT_PIN
} fragml_blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
	FRAGML_IDENT_PIN
} fragml_stats SEC(".maps");

/*
 * A slab page allocated on this CPU whose cache is not known yet: the next
 * slab object of the same thread within 1 ms names it.  The feed keeps the
 * page's record here until then (sent unnamed when that does not come).
 */
struct fragml_pending_slab {
	__u64 page;	/* its key; 0: nothing pending */
	__u64 ts;
	__u32 tid;
	__u32 rng;	/* per-CPU xorshift32 state: slab sampling without a helper call */
#ifdef FRAGML_FEED
	struct fragml_feed_ev ev;
#endif
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_pending_slab);
} fragml_pending_slab SEC(".maps");

/* Records built here rather than on the stack (fragml_on_alloc(),
 * fragml_src_get()): a new source's first value, a page about to be followed
 * and the block it pollutes.  The allocation programs' frame must stay below
 * what a tail call to a compiled model version allows (256 bytes with the
 * caller's). */
struct fragml_track_scratch {
	struct fragml_src_val src;
	struct fragml_live lv;
	struct fragml_block_val nb;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_track_scratch);
} fragml_track_scratch SEC(".maps");

static __always_inline struct fragml_track_scratch *fragml_track_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fragml_track_scratch, &zero);
}

/* The pending slab page is kept for identification, and for the feed's records. */
#ifdef FRAGML_FEED
#define FRAGML_WANT_PENDING	1
#else
#define FRAGML_WANT_PENDING	want_ident
#endif

#if defined(FRAGML_COLLECT) || defined(FRAGML_FEED)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by the loader */
} fragml_events SEC(".maps");
#endif

#ifdef FRAGML_COLLECT
/* Compaction run in progress, per thread (begin -> end): the collector's
 * compaction rows.  One element per running compaction. */
struct fragml_compact_run {
	__u64 t0;
	struct fragml_vec v;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct fragml_compact_run);
} fragml_compact_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__uint(value_size, FRAGML_STACK_DEPTH * sizeof(__u64));
} fragml_stackmap SEC(".maps");

/* 2 MB regions already seen: (tgid, region); max_entries set by the collector */
struct fragml_region_key {
	__u32 tgid;
	__u32 pad;
	__u64 region;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct fragml_region_key);
	__type(value, __u8);
} fragml_regions SEC(".maps");
#endif

static __always_inline void fragml_stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fragml_stats, &idx);

	if (c)
		*c += 1;
}

/* Is `task` (of process `tgid`) one to leave out: the excluded process, or not
 * one the collector was asked to follow?  The cgroup filter matches the task's
 * memory cgroup or one of its 7 nearest ancestors (cgroup v1 memory hierarchy
 * or v2). */
static __always_inline int fragml_task_skipped(struct task_struct *task, __u32 tgid)
{
	struct cgroup_subsys_state *css;
	int id;

	if (exclude_tgid && tgid == exclude_tgid)
		return 1;
	if (filter_tgid && tgid != filter_tgid)
		return 1;
	if (!filter_memcg_ino)
		return 0;
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 1;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	css = BPF_CORE_READ(task, cgroups, subsys[id & 15]);
	for (int i = 0; i < 8 && css; i++) {
		if (BPF_CORE_READ(css, cgroup, kn, id) == filter_memcg_ino)
			return 0;
		css = BPF_CORE_READ(css, parent);
	}
	return 1;
}

/* The hot-path form: nothing to run when no filter is set (observe). */
static __always_inline int fragml_skip(struct task_struct *task, __u32 tgid)
{
	return (filter_tgid || filter_memcg_ino || exclude_tgid) && fragml_task_skipped(task, tgid);
}

#if defined(FRAGML_COLLECT) || defined(FRAGML_FEED)
/*
 * Ring fill (bytes) from which a record wakes the reader: below it records
 * are committed without a wakeup and the reader drains the ring in bulk on its
 * own timer; at or above it one record forces a wakeup (the reader fell
 * behind), once until the reader has consumed again.
 * 0 (the feed): the kernel's default, a wakeup whenever the reader had caught
 * up, which at tens of thousands of records per second is one wakeup for
 * every one or two records (docs/performance.md, "Stress").
 */
const volatile __u64 ringbuf_wakeup_bytes = 0;
/* Consumer position + 1 at the last forced wakeup: one wakeup per drain.
 * A wakeup is an irq_work (an interrupt on this CPU); one per record while
 * the reader is being scheduled would slow the machine that starves it. */
__u64 ringbuf_woken_at;

/* Commit a record of fragml_reserve(). */
static __always_inline void fragml_submit(void *e)
{
	__u64 flags = 0, cons;

	if (ringbuf_wakeup_bytes) {
		flags = BPF_RB_NO_WAKEUP;
		if (bpf_ringbuf_query(&fragml_events, BPF_RB_AVAIL_DATA) >= ringbuf_wakeup_bytes) {
			/* racing CPUs may both wake it: harmless */
			cons = bpf_ringbuf_query(&fragml_events, BPF_RB_CONS_POS) + 1;
			if (cons != ringbuf_woken_at) {
				ringbuf_woken_at = cons;
				flags = BPF_RB_FORCE_WAKEUP;
			}
		}
	}
	bpf_ringbuf_submit(e, flags);
}
#endif

static __always_inline void *fragml_reserve(__u64 size)
{
#if defined(FRAGML_COLLECT) || defined(FRAGML_FEED)
	void *p = bpf_ringbuf_reserve(&fragml_events, size, 0);

	if (!p)
		fragml_stat(FRAGML_STAT_LOST);	/* reported by the collector and the publisher */
	return p;
#else
	return NULL;
#endif
}

static __always_inline struct fragml_src_val *fragml_src_get(struct fragml_src_key *k,
							   struct task_struct *task, __u64 now)
{
	struct fragml_src_val *s;

	if (!want_ident)
		return NULL;
	s = bpf_map_lookup_elem(&fragml_src, k);
	if (!s) {
		struct fragml_track_scratch *ts = fragml_track_scratch_get();
		struct fragml_src_val *init = ts ? &ts->src : NULL;

		if (!init)
			return NULL;
		__builtin_memset(init, 0, sizeof(*init));
		bpf_get_current_comm(init->comm, sizeof(init->comm));
		init->cgroup = bpf_get_current_cgroup_id();
		bpf_map_update_elem(&fragml_src, k, init, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&fragml_src, k);
		if (!s)
			return NULL;
	}
	s->last_ts = now;
	return s;
}

/* The verifier forbids arithmetic on a trusted page pointer: copy it out as a number. */
static __always_inline __u64 fragml_page_key(struct page *page)
{
	__u64 key = 0;

	bpf_probe_read_kernel(&key, sizeof(key), &page);
	return key;
}

static __always_inline __u64 fragml_block_of(__u64 key)
{
	return key >> FRAGML_KEY_BLOCK_SHIFT;
}

static __always_inline __u32 *fragml_filter_slot(__u64 key)
{
	__u32 i = fragml_block_of(key) & filter_mask;

	return bpf_map_lookup_elem(&fragml_track_filter, &i);
}

/* A THP fault: an order-9 movable allocation inside a user fault. */
static __always_inline int fragml_on_thp_alloc(void *ctx, struct task_struct *task, __u32 tgid)
{
	struct fragml_task_state *t;
	struct fragml_src_key sk;
	struct fragml_src_val *src;
	__u64 fault_addr, now;

	fault_addr = fragml_fault_addr();
	if (!fault_addr)
		return 0;
	now = bpf_ktime_get_ns();
#ifdef FRAGML_OBSERVE
	/* a process's first tracked event creates its state: the policy, which
	 * decided before, saw none (its rate features missing) */
	bool had_state = bpf_map_lookup_elem(&fragml_task_state, &tgid) != NULL;
#endif
	t = fragml_task_get(tgid, now);
#ifdef FRAGML_OBSERVE
	{
		/* the shadow of the policy's decision: the vector as it was
		 * before this huge page was taken (fragml_thp_features()) */
		struct fragml_vec *v = fragml_scratch_vec();

		if (v) {
			struct fragml_result res;

			fragml_thp_features(v, now, had_state ? t : NULL, fault_addr, 1);
			fragml_vaudit_note(FRAGML_HOOK_THP_FAULT, FRAGML_VAUDIT_OBSERVE, tgid,
					   fault_addr >> (12 + FRAGML_HPAGE_ORDER), v);
			fragml_decide_observed(fragml_tc_thp_al(ctx), FRAGML_HOOK_THP_FAULT, v, &res);
		}
	}
#endif
	fragml_note_alloc(t, 512, 1);
	sk.tgid = tgid;
	sk.cls = FRAGML_CLASS_ANON;
	src = fragml_src_get(&sk, task, now);
	if (src)
		src->thp_faults++;
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_thp *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_THP;
			e->h.tgid = tgid;
			e->h.ts = now;
			e->addr = fault_addr;
			fragml_submit(e);
		}
	}
#endif
	return 0;
}

#ifdef FRAGML_FEED
/* Send the feed record waiting in `ps`, with the name of slab cache `s` if given. */
static __always_inline void fragml_feed_send_pending(struct fragml_pending_slab *ps,
						     struct kmem_cache *s)
{
	struct fragml_feed_ev *e;

	ps->page = 0;
	if (s)
		bpf_probe_read_kernel_str(ps->ev.slab, sizeof(ps->ev.slab), BPF_CORE_READ(s, name));
	e = fragml_reserve(sizeof(*e));
	if (!e)
		return;
	__builtin_memcpy(e, &ps->ev, sizeof(*e));
	fragml_submit(e);
}

/* The feed's record of one reported allocation (model/fragml_feed_events.h). */
static __always_inline void fragml_feed_fill(struct fragml_feed_ev *e, __u64 now, __u64 pfn,
					     __u32 tgid, __u32 cls, __u32 weight,
					     const struct fragml_result *res, unsigned int order,
					     int mt, int extfrag, int fallback_mt, int change_owner,
					     int kthread)
{
	e->ts = now;
	e->pfn = pfn;
	e->cgroup = bpf_get_current_cgroup_id();
	e->score = res->score;
	e->tgid = tgid;
	e->model_version = res->version;
	e->weight = weight;
	e->cls = cls;
	e->action = res->action;
	e->flags = (extfrag ? FRAGML_ALLOC_F_EXTFRAG : 0) |
		   (extfrag && change_owner > 0 ? FRAGML_ALLOC_F_CLAIM : 0) |
		   (kthread ? FRAGML_ALLOC_F_KTHREAD : 0);
	e->order = order;
	e->mt = mt;
	e->block_mt = extfrag ? fallback_mt : mt;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->slab[0] = 0;
}
#endif

/*
 * One page allocation (mm_page_alloc, or the mm_page_alloc_extfrag fallback).
 * `page` is the struct page (observe, collect); the feed passes NULL and the
 * `pfn` instead, the key of its pages.
 * Movable allocations only feed THP detection (order 9) and calibration; the
 * feed skips them (they cannot pin a pageblock).  Unmovable and reclaimable
 * ones are sampled: 1 in 2^track_sample_shift is classed, counted for its
 * source (scaled by 2^shift), decided (observe), recorded (collect, feed) and
 * tracked to its free; fallbacks (extfrag) always are.  Everything that is
 * not sampled returns before the first helper call: this program runs on
 * every page allocation of the machine (docs/performance.md).
 */
static __always_inline int fragml_on_alloc(void *ctx, struct page *page, __u64 pfn,
					   unsigned int order, __u32 gfp, int mt, int extfrag,
					   int fallback_mt, int change_owner, __u64 now)
{
	struct task_struct *task;
	__u64 pg;
	__u32 tgid, tid, scale = 1, rnd;
	int kthread, follow = 1;
	struct fragml_task_state *t = NULL;
	struct fragml_pending_slab *ps = NULL;
	struct fragml_src_key sk;
	struct fragml_src_val *src;
	struct fragml_vec *v;
	__u64 fault_addr = 0, site = 0, path;
	struct fragml_site_life *sl, *pl;
	__u32 pred = 0;

#ifdef FRAGML_FEED
	if (mt == MIGRATE_MOVABLE)
		return 0;	/* the hot path: the feed reports what can pin a pageblock */
#endif
	if (!extfrag && mt == MIGRATE_MOVABLE) {
		/* the hot path: an order-0 movable page outside calibration
		 * (only the collector calibrates: no .bss read elsewhere) */
#ifdef FRAGML_COLLECT
		if (order != FRAGML_HPAGE_ORDER && !calib_tgid)
			return 0;
#else
		if (order != FRAGML_HPAGE_ORDER)
			return 0;
#endif
		task = bpf_get_current_task_btf();
		if (fragml_is_kthread(task))
			return 0;
		tgid = task->tgid;
#ifdef FRAGML_COLLECT
		if (calib_tgid && tgid == calib_tgid && order == 0)
			calib_page = fragml_page_key(page);
#endif
		if (order != FRAGML_HPAGE_ORDER || fragml_skip(task, tgid))
			return 0;
		return fragml_on_thp_alloc(ctx, task, tgid);
	}
	if (!extfrag && (track_sample_shift > 0 || live_sample_shift > 0)) {
		/* low bits: sampled (shift <= 20); bits 24..30: followed */
		rnd = bpf_get_prandom_u32();
		if (rnd & ((1U << (track_sample_shift & 31)) - 1))
			return 0;	/* not sampled */
		scale = 1U << (track_sample_shift & 31);
		follow = !((rnd >> 24) & ((1U << (live_sample_shift & 7)) - 1));
	}
	task = bpf_get_current_task_btf();
	if (!now)
		now = bpf_ktime_get_ns();	/* a helper call: the fallback hook passes its own */
	tgid = task->tgid;	/* direct loads of current, not bpf_get_current_pid_tgid() */
	tid = task->pid;
	kthread = fragml_is_kthread(task);
	if (kthread)
		tgid = 0;
	if (fragml_skip(task, tgid))
		return 0;
#ifdef FRAGML_FEED
	pg = pfn;
#else
	pg = fragml_page_key(page);
#endif
	if (!extfrag && want_ident) {
		/* the extfrag hook already tracked this page a moment ago */
		__u32 *slot = fragml_filter_slot(pg);
		struct fragml_live *old = slot && *slot ? bpf_map_lookup_elem(&fragml_live, &pg) : NULL;

		if (old && old->in_mixed_block && now - old->ts < 1000000)
			return 0;
	}
	if (mt == MIGRATE_MOVABLE)
		fault_addr = fragml_fault_addr();	/* a movable fallback: anon or page cache */
	else if (fragml_sites_wanted())
		site = fragml_site_id(ctx, kthread, extfrag);
	/* one lookup of the site's entry and of its path's: for the features
	 * and the counts */
	sl = site ? bpf_map_lookup_elem(&fragml_site_life, &site) : NULL;
	path = fragml_site_path(site);
	pl = path ? bpf_map_lookup_elem(&fragml_site_life, &path) : NULL;
	if (!kthread) {
		t = fragml_task_get(tgid, now);
		fragml_note_alloc(t, scale << (order & 15), 0);
	}
	sk.tgid = tgid;
	sk.cls = fragml_alloc_class(ctx, mt, fault_addr, gfp, order);
	src = fragml_src_get(&sk, task, now);
	if (src) {
		src->pages += (__u64)scale << (order & 15);
		if (extfrag) {
			src->extfrag++;
			src->extfrag_claim += change_owner > 0;
		}
	}
	if (FRAGML_WANT_PENDING) {
		__u32 zero = 0;

		ps = bpf_map_lookup_elem(&fragml_pending_slab, &zero);
#ifdef FRAGML_FEED
		/* a record still waiting for its cache name: it is not coming */
		if (ps && ps->page && (sk.cls == FRAGML_CLASS_SLAB || now - ps->ts > 1000000))
			fragml_feed_send_pending(ps, NULL);
#endif
		if (ps && sk.cls == FRAGML_CLASS_SLAB) {
			ps->page = pg;
			ps->ts = now;
			ps->tid = tid;
		}
	}

	v = fragml_scratch_vec();
	if (!v)
		return 0;
	fragml_lifetime_features(v, now, t, order, gfp, mt, extfrag ? fallback_mt : FRAGML_MISSING,
				 extfrag ? change_owner : FRAGML_MISSING, sk.cls, kthread, sl, pl, task);
#ifdef FRAGML_OBSERVE
	{
		struct fragml_result res;

		/* extfrag is a constant in each program: it references one array */
		long tc = extfrag ? fragml_tc_life_ef(ctx) : fragml_tc_life_al(ctx);

		if (fragml_decide_via(tc, FRAGML_HOOK_LIFETIME, v, &res) >= 0) {
			/* scaled like pages: estimates of all allocations' decisions */
			if (src) {
				src->decided += scale;
				src->predicted_long += res.action == FRAGML_LIFETIME_LONG ? scale : 0;
			}
			/* the process's predicted share: task_pred_long_ppk at
			 * the placement and fallback hooks of the policy */
			if (t && mt != MIGRATE_MOVABLE)
				fragml_task_note_pred(t, res.action == FRAGML_LIFETIME_LONG);
			/* judged at the page's free (fragml_on_free); movable
			 * pages are not what the label means (a page that keeps
			 * a block from being free or movable): not judged */
			if (mt != MIGRATE_MOVABLE)
				pred = res.action == FRAGML_LIFETIME_LONG ? FRAGML_PRED_LONG :
									    FRAGML_PRED_SHORT;
		}
	}
#endif
	struct fragml_track_scratch *fs = follow && want_live ? fragml_track_scratch_get() : NULL;

	if (fs) {
		struct fragml_live *lv = &fs->lv;
		int tracked;

		__builtin_memset(lv, 0, sizeof(*lv));
		lv->ts = now;
		lv->src = sk;
		lv->order = order;
		lv->alloc_mt = mt;
		lv->site = site;
		lv->pred = pred;

		if (extfrag && want_ident) {
			__u64 blk = fragml_block_of(pg);
			struct fragml_block_val *b = bpf_map_lookup_elem(&fragml_blocks, &blk);

			if (!b) {
				struct fragml_block_val *nb = &fs->nb;

				__builtin_memset(nb, 0, sizeof(*nb));
				nb->src = sk;
				nb->alloc_mt = mt;
				nb->fallback_mt = fallback_mt;
				nb->claimed = change_owner > 0;
				nb->ts = now;
				if (!bpf_map_update_elem(&fragml_blocks, &blk, nb, BPF_NOEXIST) && src) {
					src->blocks_polluted++;
					if (mt != MIGRATE_MOVABLE)
						src->huge_blocked++;
				}
				b = bpf_map_lookup_elem(&fragml_blocks, &blk);
			}
			if (b && b->src.tgid == sk.tgid && b->src.cls == sk.cls) {
				__sync_fetch_and_add(&b->live, 1);
				lv->in_mixed_block = 1;
			}
		}
		/* a new page, or one whose free was missed (replaced) */
		if (!bpf_map_update_elem(&fragml_live, &pg, lv, BPF_NOEXIST)) {
			__u32 *slot = fragml_filter_slot(pg);

			if (slot)
				__sync_fetch_and_add(slot, 1);
			tracked = 1;
		} else {
			tracked = !bpf_map_update_elem(&fragml_live, &pg, lv, BPF_EXIST);
		}
		if (tracked) {
			fragml_stat(FRAGML_STAT_TRACKED);
			fragml_site_note_alloc(site, sl, path);
			fragml_site_note_alloc(path, pl, 0);
		} else {
			fragml_stat(FRAGML_STAT_TRACK_FULL);
		}
	}
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_alloc *e = fragml_reserve(sizeof(*e));

		if (!e)
			return 0;
		e->h.type = FRAGML_EV_ALLOC;
		e->h.tgid = tgid;
		e->h.ts = now;
		e->page = pg;
		e->cgroup = bpf_get_current_cgroup_id();
		e->order = order;
		e->gfp = gfp;
		e->mt = mt;
		e->block_mt = extfrag ? fallback_mt : mt;
		e->cls = sk.cls;
		e->flags = (extfrag ? FRAGML_ALLOC_F_EXTFRAG : 0) | (kthread ? FRAGML_ALLOC_F_KTHREAD : 0);
		/* skip the program, bpf_trace_runN and __traceiter_* frames: 16 real ones */
		e->stack_id = want_stacks ? bpf_get_stackid(ctx, &fragml_stackmap,
							    3 & BPF_F_SKIP_FIELD_MASK) : -1;
		e->pad = 0;
		e->site = site;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		__builtin_memcpy(&e->v, v, sizeof(e->v));
		fragml_submit(e);
	}
#endif
#ifdef FRAGML_FEED
	{
		struct fragml_result res;
		struct fragml_feed_ev *e;

		fragml_evaluate(FRAGML_HOOK_LIFETIME, v, &res);
		if (ps && sk.cls == FRAGML_CLASS_SLAB) {
			/* waits for its cache name (fragml_on_slab_obj) */
			fragml_feed_fill(&ps->ev, now, pfn, tgid, sk.cls, scale, &res, order, mt,
					 extfrag, fallback_mt, change_owner, kthread);
		} else {
			e = fragml_reserve(sizeof(*e));
			if (!e)
				return 0;
			fragml_feed_fill(e, now, pfn, tgid, sk.cls, scale, &res, order, mt,
					 extfrag, fallback_mt, change_owner, kthread);
			fragml_submit(e);
		}
	}
#endif
	return 0;
}

/* mm_page_free of the page with key `pg`: raw_tp in observe and collect, so the
 * struct page * arrives as a plain number (no helper); the pfn in the feed. */
static __always_inline int fragml_on_free(__u64 pg)
{
	__u32 *slot = fragml_filter_slot(pg);
	struct fragml_live *lv;
	struct fragml_task_state *t;
	__u64 now;
	int lived_long;

	if (!want_live)
		return 0;
	if (!slot || !*slot)
		return 0;	/* the hot path: no tracked page in this pageblock slot */
	lv = bpf_map_lookup_elem(&fragml_live, &pg);
	if (!lv)
		return 0;
	now = bpf_ktime_get_ns();
	lived_long = now - lv->ts >= lifetime_T_ns;
	/* the online correction of the site lifetime table */
	fragml_site_note_fate(lv->site, lived_long);
	if (lv->src.tgid) {
		t = bpf_map_lookup_elem(&fragml_task_state, &lv->src.tgid);
		if (t) {
			if (lived_long)
				t->long_cnt++;
			else
				t->short_cnt++;
		}
	}
	if (want_ident && lv->pred) {
		/* the model's precision per source (fragml report) */
		struct fragml_src_val *s = bpf_map_lookup_elem(&fragml_src, &lv->src);

		if (s)
			s->fate[FRAGML_FATE(lv->pred == FRAGML_PRED_LONG, lived_long) & 3]++;
	}
	if (want_ident && lv->in_mixed_block) {
		__u64 blk = fragml_block_of(pg);
		struct fragml_block_val *b = bpf_map_lookup_elem(&fragml_blocks, &blk);

		/* plain read-modify-write: a racing pair at worst leaves one stale block */
		if (b && b->live)
			b->live--;
		if (b && !b->live) {
			struct fragml_src_val *s = bpf_map_lookup_elem(&fragml_src, &b->src);

			if (s) {
				s->blocks_polluted--;
				if (b->alloc_mt != MIGRATE_MOVABLE)
					s->huge_blocked--;
			}
			bpf_map_delete_elem(&fragml_blocks, &blk);
		}
	}
	if (!bpf_map_delete_elem(&fragml_live, &pg) && *slot)
		__sync_fetch_and_add(slot, -1);	/* XADD: no fetch_sub before -mcpu=v3 */
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_free *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_FREE;
			e->h.tgid = 0;
			e->h.ts = now;
			e->page = pg;
			fragml_submit(e);
		}
	}
#endif
	return 0;
}

/* A slab object was allocated: name a pending slab page (the feed sends its
 * record now); count the object for its source (1 in 2^slab_sample_shift,
 * scaled).  Runs on every slab allocation of the machine: the unsampled,
 * not-pending case returns after an inlined per-CPU lookup and a xorshift step
 * in the value it found, with no helper call and, in observe mode, no .rodata
 * read (the sampling shift is a constant there). */
static __always_inline int fragml_on_slab_obj(struct kmem_cache *s, __u32 kmalloc_size)
{
	__u64 id, now = 0;
	__u32 zero = 0, tgid;
	struct fragml_pending_slab *ps;
	struct task_struct *task;
	int pending = 0;
	__u64 pend_page = 0;

#ifndef FRAGML_OBSERVE
	if (!FRAGML_WANT_PENDING)
		return 0;
#endif	/* observe: the loader loads this program only with identification */
	ps = bpf_map_lookup_elem(&fragml_pending_slab, &zero);
	if (ps && ps->page) {
		id = bpf_get_current_pid_tgid();
		if (ps->tid == (__u32)id) {
			now = bpf_ktime_get_ns();
			pending = now - ps->ts < 1000000;	/* 1 ms: same allocation path */
			pend_page = ps->page;
#ifdef FRAGML_FEED
			fragml_feed_send_pending(ps, pending ? s : NULL);
#endif
			ps->page = 0;
		}
	}
	if (!pending && slab_sample_shift > 0 && ps) {
		__u32 x = ps->rng ? ps->rng : 0x9e3779b9;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		ps->rng = x;
		if (x & ((1U << (slab_sample_shift & 31)) - 1))
			return 0;
	}
	if (!want_ident)
		return 0;
	if (!pending && !s)
		return 0;
	task = bpf_get_current_task_btf();
	tgid = task->tgid;
#ifndef FRAGML_COLLECT
	(void)pend_page;
#endif
	if (fragml_is_kthread(task))
		tgid = 0;
	if (!pending && fragml_skip(task, tgid))
		return 0;
	if (s) {
		struct fragml_slab_key k = { .tgid = tgid, .cache = (__u64)s };
		struct fragml_slab_val *sv = bpf_map_lookup_elem(&fragml_src_slab, &k);
		__u32 n = 1U << (slab_sample_shift & 31);

		if (!sv) {
			struct fragml_slab_val init = { .sample = n };

			bpf_probe_read_kernel_str(init.name, sizeof(init.name), BPF_CORE_READ(s, name));
			init.obj_size = BPF_CORE_READ(s, object_size);
			bpf_get_current_comm(init.comm, sizeof(init.comm));
			bpf_map_update_elem(&fragml_src_slab, &k, &init, BPF_NOEXIST);
			sv = bpf_map_lookup_elem(&fragml_src_slab, &k);
		}
		if (sv) {
			if (pending)
				sv->pages++;
			else {
				sv->objs += n;
				sv->bytes += (__u64)n * sv->obj_size;
			}
		}
	}
#ifdef FRAGML_COLLECT
	if (pending) {
		struct fragml_ev_slab *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_SLAB;
			e->h.tgid = tgid;
			e->h.ts = now;
			e->page = pend_page;
			e->name[0] = 0;
			if (s) {
				bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(s, name));
				e->obj_size = BPF_CORE_READ(s, object_size);
				e->flags = 0;
			} else {
				e->obj_size = kmalloc_size;
				e->flags = FRAGML_ALLOC_F_KMALLOC;
			}
			fragml_submit(e);
		}
	}
#endif
	return 0;
}

#ifdef FRAGML_COLLECT
/* A moment a free 2 MB block was needed and missing (FRAGML_EV_NEED);
 * `in_fault`: only inside a user fault of a followed task. */
static __always_inline void fragml_note_need(__u32 kind, int order, int in_fault)
{
	struct fragml_ev_need *e;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (in_fault) {
		struct task_struct *task = bpf_get_current_task_btf();

		if (fragml_is_kthread(task) || !fragml_fault_addr() || fragml_skip(task, tgid))
			return;
	}
	e = fragml_reserve(sizeof(*e));
	if (!e)
		return;
	e->h.type = FRAGML_EV_NEED;
	e->h.tgid = tgid;
	e->h.ts = bpf_ktime_get_ns();
	e->kind = kind;
	e->order = order;
	fragml_submit(e);
}
#endif

static __always_inline int fragml_on_compaction_begin(void *ctx, struct compact_control *cc)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fragml_vec *v = fragml_scratch_vec();

	if (!v)
		return 0;
	if (fragml_skip(bpf_get_current_task_btf(),
			fragml_is_kthread(bpf_get_current_task_btf()) ? 0 :
			bpf_get_current_pid_tgid() >> 32))
		return 0;
	fragml_compaction_features(v, now, cc, fragml_is_kthread(bpf_get_current_task_btf()));
#ifdef FRAGML_OBSERVE
	{
		struct fragml_result res;

		/* the audit's key (a zone walk) only while it runs */
		if (fragml_vaudit_on_now() && BPF_CORE_READ(cc, direct_compaction))
			fragml_vaudit_compaction(FRAGML_VAUDIT_OBSERVE,
						 fragml_zone_idx(BPF_CORE_READ(cc, zone)),
						 BPF_CORE_READ(cc, order), v);

		fragml_decide_observed(fragml_tc_compact(ctx), FRAGML_HOOK_COMPACTION, v, &res);
	}
#endif
#ifdef FRAGML_COLLECT
	{
		struct fragml_compact_run init = {}, *run;

		bpf_map_update_elem(&fragml_compact_runs, &tid, &init, BPF_ANY);
		run = bpf_map_lookup_elem(&fragml_compact_runs, &tid);
		if (!run)
			return 0;
		run->t0 = now;
		__builtin_memcpy(&run->v, v, sizeof(run->v));
	}
#else
	(void)tid;
#endif
	return 0;
}

static __always_inline int fragml_on_compaction_end(struct compact_control *cc, int status)
{
	__u64 now = bpf_ktime_get_ns();
	int success = status == bpf_core_enum_value(enum compact_result, COMPACT_SUCCESS);

	fragml_note_compaction(now, success);
	fragml_stat(FRAGML_STAT_COMPACT);
#ifdef FRAGML_COLLECT
	{
		__u64 id = bpf_get_current_pid_tgid();
		__u32 tid = (__u32)id;
		struct fragml_compact_run *run = bpf_map_lookup_elem(&fragml_compact_runs, &tid);
		struct fragml_ev_compact *e;
		struct fragml_zone_info zi;
		struct zone *z = BPF_CORE_READ(cc, zone);

		if (!run)
			return 0;
		e = fragml_reserve(sizeof(*e));
		if (e) {
			e->h.type = FRAGML_EV_COMPACT;
			e->h.tgid = id >> 32;
			e->h.ts = now;
			e->t0 = run->t0;
			e->status = status;
			e->success = success;
			e->free_huge_after = fragml_zone_read(z, &zi) ? -1 : fragml_cap(fragml_free_huge(&zi));
			e->kthread = fragml_is_kthread(bpf_get_current_task_btf());
			bpf_probe_read_kernel_str(e->zone, sizeof(e->zone), BPF_CORE_READ(z, name));
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			__builtin_memcpy(&e->v, &run->v, sizeof(e->v));
			fragml_submit(e);
		}
		bpf_map_delete_elem(&fragml_compact_runs, &tid);
	}
#endif
	return 0;
}

/* sched_process_exit: free the per-process state with the process
 * (fragml_task_state); the collector records the end of a process. */
static __always_inline int fragml_on_exit(struct task_struct *task)
{
	fragml_task_exit(task);
#ifdef FRAGML_COLLECT
	if (BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid)) {
		struct fragml_ev_hdr *e = fragml_reserve(sizeof(*e));

		if (!e)
			return 0;
		e->type = FRAGML_EV_EXIT;
		e->tgid = BPF_CORE_READ(task, tgid);
		e->ts = bpf_ktime_get_ns();
		fragml_submit(e);
	}
#endif
	return 0;
}

/*
 * ---- The programs more than one mode attaches ----
 * FRAGML_PROG(what, args...) is BPF_PROG named fragml_<mode>_<what>; the
 * name is expanded before BPF_PROG pastes it.
 */
#if defined(FRAGML_OBSERVE)
#define FRAGML_PROG_NAME(what)	fragml_observe_##what
#elif defined(FRAGML_COLLECT)
#define FRAGML_PROG_NAME(what)	fragml_collect_##what
#else
#define FRAGML_PROG_NAME(what)	fragml_feed_##what
#endif
#define FRAGML_PROG(what, args...)	___FRAGML_PROG(FRAGML_PROG_NAME(what), ##args)
#define ___FRAGML_PROG(name, args...)	BPF_PROG(name, ##args)

#if defined(FRAGML_OBSERVE) || defined(FRAGML_COLLECT)
SEC("tp_btf/mm_page_alloc")
int FRAGML_PROG(alloc, struct page *page, unsigned int order, gfp_t gfp, int mt)
{
	if (!page) {
#ifdef FRAGML_COLLECT
		/* a huge page a user fault asked for and did not get: the
		 * `pollutes` label's need moments (docs/dataset.md) */
		if (order == FRAGML_HPAGE_ORDER && mt == MIGRATE_MOVABLE)
			fragml_note_need(FRAGML_NEED_THP_FALLBACK, order, 1);
#endif
		return 0;
	}
	return fragml_on_alloc(ctx, page, 0, order, gfp, mt, 0, 0, 0, 0);
}

SEC("tp_btf/mm_page_alloc_extfrag")
int FRAGML_PROG(extfrag, struct page *page, int alloc_order, int fallback_order, int alloc_mt,
		int fallback_mt)
{
	__u64 now = bpf_ktime_get_ns();

	fragml_stat(FRAGML_STAT_EXTFRAG);
	fragml_note_extfrag(now);
	/* whole block taken: the partial claims of try_to_claim_block are not visible here */
	return fragml_on_alloc(ctx, page, 0, alloc_order, 0, alloc_mt, 1, fallback_mt,
			       fallback_order >= FRAGML_HPAGE_ORDER, now);
}

/* raw_tp: the page arrives as a number, usable as a key without a helper call */
SEC("raw_tp/mm_page_free")
int FRAGML_PROG(free, __u64 page, unsigned int order)
{
	return fragml_on_free(page);
}

SEC("tp_btf/mm_compaction_begin")
int FRAGML_PROG(compact_begin, struct compact_control *cc)
{
	return fragml_on_compaction_begin(ctx, cc);
}

SEC("tp_btf/mm_compaction_end")
int FRAGML_PROG(compact_end, struct compact_control *cc, unsigned long zone_start,
		unsigned long zone_end, bool sync, int status)
{
	return fragml_on_compaction_end(cc, status);
}
#endif

SEC("tp_btf/kmem_cache_alloc")
int FRAGML_PROG(slab, unsigned long call_site, const void *ptr, struct kmem_cache *s)
{
	return fragml_on_slab_obj(s, 0);
}

SEC("tp_btf/sched_process_exit")
int FRAGML_PROG(exit, struct task_struct *task)
{
	return fragml_on_exit(task);
}

#endif /* FRAGML_TRACK_BPF_H */
