/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Feature computation of the observe programs, the collector and the feed:
 * the numbers they read from tracepoints and kernel structures, handed to the
 * builders of fragml_vec.bpf.h, and the lifetime features only they compute,
 * so a model sees the same numbers in shadow mode and in the training CSV.
 * The struct_ops policy (fragml_policy.bpf.c) does not include this file: it
 * gathers its numbers from the context the kernel passes to its callbacks and
 * calls the same builders (the fallback and placement features are its own).
 *
 * Only CO-RE reads of types present in 6.12 and 6.18; fields that differ are
 * guarded with bpf_core_field_exists().  No ksyms of data symbols: the host
 * kernels have no CONFIG_KALLSYMS_ALL.
 *
 * The maps below are private to each BPF object, but for those an includer
 * asks to pin by name: FRAGML_PIN_SITES (fragml_sites) and
 * FRAGML_PIN_SITE_LIFE (fragml_site_life), defined before including.
 */
#ifndef FRAGML_FEATURES_BPF_H
#define FRAGML_FEATURES_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "fragml_abi.h"
#include "fragml_collect_events.h"
#include "fragml_kdefs.bpf.h"
#include "fragml_switch.bpf.h"
#include "fragml_task_state.bpf.h"
#include "fragml_vec.bpf.h"

#define FRAGML_NR_ORDERS	11
#define FRAGML_PF_EXITING	0x00000004	/* PF_EXITING, stable since 2.6 */
/* FRAGML_STACK_DEPTH (fragml_collect_events.h): registered sites sit within ~10 frames */
/* An allocation belongs to a user fault of the same thread at most one jiffy
 * after it (1-2 ms at HZ=1000, 4-8 ms at HZ=250).  Jiffies, not ktime: the
 * fault program runs on every 4 KB fault and bpf_jiffies64() is inlined by the
 * verifier while bpf_ktime_get_ns() is a helper call (a pvclock read in a VM). */
#define FRAGML_FAULT_CTX_JIFFIES 1

/* Per-thread context of the most recent user page fault, and the 2 MB
 * region the thread is faulting in (THP density, fragml_fault_note()). */
struct fragml_fault_ctx {
	__u64 jiffies;
	__u64 addr;
	__u64 region;		/* addr >> 21 of the region being touched */
	__u32 touched;		/* faults in it so far */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_site_table);
#ifdef FRAGML_PIN_SITES
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} fragml_sites SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fragml_fault_ctx);
} fragml_fault_ctx SEC(".maps");

/* Per-thread cache of recent (gfp, order, migratetype) -> class: a thread that
 * allocates with the same flags again is almost always on the same path, so
 * the stack is walked only on a miss and on 1 in 16 hits (revalidation). */
#define FRAGML_CLS_SLOTS	4
struct fragml_cls_cache {
	__u32 key[FRAGML_CLS_SLOTS];
	__u8 cls[FRAGML_CLS_SLOTS];
	__u32 hits;
	__u32 next;
};
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fragml_cls_cache);
} fragml_cls_cache SEC(".maps");

struct fragml_stack_buf {
	__u64 ip[FRAGML_STACK_DEPTH];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_stack_buf);
} fragml_stack_scratch SEC(".maps");

/*
 * ---- the allocation site and its lifetime table ----
 * A site is where an unmovable or reclaimable page allocation comes from: a
 * hash of the FRAGML_SITE_HASH_FRAMES return addresses outside the page
 * allocator's entry function (__alloc_frozen_pages_noprof, or
 * __alloc_pages_noprof before 6.15), as offsets from _text (KASLR moves the
 * kernel by whole 2 MB units: the offsets are stable across boots of one
 * build; a module frame contributes its offset in its page), folded with the
 * process image (the thread group leader's comm; nothing for kernel threads).
 * The same hash without the process image is the site's kernel path (the fork
 * path's page tables, a pipe write's buffer, whatever the process): its
 * record, in the same table under its own key, reaches a process the table
 * has not seen yet (path_long_ppk).
 * A slab page's cache is not known at its allocation: its frames reach the
 * slab's caller, which names the cache in almost every case.  Computed only
 * on the sampled path (one bpf_get_stack() there), never on the others.
 */
#define FRAGML_SITE_FRAMES	12	/* read at mm_page_alloc: the entry is 2-3 frames deep */
#define FRAGML_SITE_FRAMES_FB	20	/* at a fallback: rmqueue's frames come first */
#define FRAGML_SITE_HASH_FRAMES	8

/* _text and the allocator's entry function, set by the loader before the
 * load from its one pass over /proc/kallsyms (fragml_kaddrs(): a __ksym
 * extern would make libbpf parse the whole file again for every object);
 * 0 = not known, no site. */
const volatile __u64 fragml_ksym_text = 0;
const volatile __u64 fragml_ksym_alloc_entry = 0;

/* Return address of the mm_page_alloc tracepoint's call in the allocator's
 * entry, learnt at the first sampled allocation: a fallback's stack holds an
 * earlier return address of the same function (its get_page_from_freelist()
 * call), found as the innermost frame in [entry, this]. */
__u64 fragml_site_entry_ret;

struct fragml_site_buf {
	__u64 ip[32];
	__u64 path;	/* fragml_site_id()'s second answer: the kernel path's key */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_site_buf);
} fragml_site_scratch SEC(".maps");

/* The site lifetime table (model/fragml_collect_events.h): an entry is
 * allocated when a site is first seen (an LRU map would preallocate all
 * 8192, ~700 KB of unmovable memory, more than the rest of observe mode);
 * a site beyond 8192 gets none and its feature stays missing.  Pinned in
 * observe mode for `fragml-load --site-table` and `fragml status`. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FRAGML_SITE_TABLE_MAX);
	__type(key, __u64);
	__type(value, struct fragml_site_life);
#ifdef FRAGML_PIN_SITE_LIFE
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} fragml_site_life SEC(".maps");

/*
 * Sites cost a stack walk per tracked allocation (≈ 2–3 µs, docs/performance.md):
 * the observe programs compute them only while fragml_site_want[0] is set,
 * which the loader does while the published lifetime model splits on
 * site_long_ppk or after a site table was loaded (loader/load.c).  The
 * collector and the feed always compute them (the `site` column).
 */
#ifdef FRAGML_PIN_SITE_LIFE
FRAGML_SWITCH_MAP(fragml_site_want);

static __always_inline bool fragml_sites_wanted(void)
{
	return fragml_switch_get(&fragml_site_want);
}
#else
static __always_inline bool fragml_sites_wanted(void)
{
	return true;
}
#endif

static __always_inline __u64 fragml_site_mix(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * Site id of the allocation being traced (0: none found).  `fallback`: at
 * mm_page_alloc_extfrag rather than mm_page_alloc.  A global function, like
 * fragml_alloc_class() and fragml_thp_features(): the verifier checks it once
 * per program instead of once per state its caller reaches the call in (the
 * lifetime hooks' branches multiplied their unrolled loops: see "Load time"
 * in docs/performance.md).
 */
__noinline __u64 fragml_site_id(void *ctx __arg_ctx, int kthread, int fallback)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 entry = fragml_ksym_alloc_entry, text = fragml_ksym_text;
	__u64 hi = fragml_site_entry_ret, h = 0x6a09e667f3bcc909ULL;
	struct fragml_site_buf *st;
	__u32 zero = 0;
	long n;
	int at = -1;

	if (!entry || (fallback && !hi))
		return 0;
	if (!fallback)
		hi = entry + 0x4000;	/* the first frame in the entry function */
	st = bpf_map_lookup_elem(&fragml_site_scratch, &zero);
	if (!st)
		return 0;
	st->path = 0;
	n = bpf_get_stack(ctx, st->ip, (fallback ? FRAGML_SITE_FRAMES_FB : FRAGML_SITE_FRAMES) * 8, 0);
	if (n <= 0)
		return 0;
	n /= 8;
#pragma unroll
	for (int i = 0; i < FRAGML_SITE_FRAMES_FB; i++) {
		if (i < n && st->ip[i] >= entry && st->ip[i] <= hi) {
			at = i;
			break;
		}
	}
	if (at < 0)
		return 0;
	if (!fallback && !fragml_site_entry_ret)
		fragml_site_entry_ret = st->ip[at];
	/* the entry's own frame differs between the two tracepoints: not hashed */
#pragma unroll
	for (int j = 1; j <= FRAGML_SITE_HASH_FRAMES; j++) {
		int i = at + j;
		__u64 ip, off;

		if (i >= n)
			break;
		ip = st->ip[i & 31];
		off = ip - text;
		h = fragml_site_mix(h, text && off < (1ULL << 30) ? off : 0xffffULL << 48 | (ip & 0xfff));
	}
	/* the path's key: salted, never equal to a kernel thread's site */
	st->path = fragml_site_mix(h, FRAGML_PATH_SALT) | 1;
	if (!kthread) {
		struct task_struct *gl = task->group_leader;
		__u64 c[2] = {};

		bpf_probe_read_kernel(c, sizeof(c), gl->comm);
		h = fragml_site_mix(fragml_site_mix(h, c[0]), c[1]);
	}
	return h ? h : 1;
}

/* The kernel path of the site fragml_site_id() just returned on this CPU. */
static __always_inline __u64 fragml_site_path(__u64 site)
{
	__u32 zero = 0;
	struct fragml_site_buf *st = site ? bpf_map_lookup_elem(&fragml_site_scratch, &zero) : NULL;

	return st ? st->path : 0;
}

/* site_long_ppk from the site's table entry (NULL: site unseen or none). */
static __always_inline __s32 fragml_site_long_ppk(const struct fragml_site_life *s)
{
	__u32 n;

	if (!s)
		return FRAGML_MISSING;
	n = s->long_cnt + s->short_cnt;
	if (n < FRAGML_SITE_MIN_KNOWN)
		return FRAGML_MISSING;
	return (__s32)((__u64)s->long_cnt * 1024 / n);
}

/* A tracked (followed) allocation from `site` (a site's or a path's key);
 * `s` its entry as looked up for the feature (NULL: create it now, a site's
 * entry pointing to its `path`, a path's to none). */
static __always_inline void fragml_site_note_alloc(__u64 site, struct fragml_site_life *s,
						   __u64 path)
{
	if (!site)
		return;
	if (s && path && !s->path)
		s->path = path;	/* seeded by fragml-load --site-table: no path yet */
	if (!s) {
		struct fragml_site_life init = {
			.path = path, .flags = path ? 0 : FRAGML_SITE_F_PATH,
		};

		bpf_map_update_elem(&fragml_site_life, &site, &init, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&fragml_site_life, &site);
		if (!s)
			return;
	}
	__sync_fetch_and_add(&s->allocs, 1);
}

/* The online correction: a tracked page of `site` was freed, after T or not.
 * Plain increments (a lost one under a race is a sample, not a leak); past
 * FRAGML_SITE_DECAY fates the counts halve, so recent fates outweigh a
 * trained prior that the machine no longer follows. */
static __always_inline void fragml_site_count_fate(struct fragml_site_life *s, int outlived)
{
	if (outlived)
		s->long_cnt++;
	else
		s->short_cnt++;
	if (s->long_cnt + s->short_cnt > FRAGML_SITE_DECAY) {
		s->long_cnt >>= 1;
		s->short_cnt >>= 1;
	}
}

/* ... and the same fate for the site's kernel path (its entry's `path`). */
static __always_inline void fragml_site_note_fate(__u64 site, int outlived)
{
	struct fragml_site_life *s = site ? bpf_map_lookup_elem(&fragml_site_life, &site) : NULL;
	__u64 path;

	if (!s)
		return;
	fragml_site_count_fate(s, outlived);
	path = s->path;
	s = path ? bpf_map_lookup_elem(&fragml_site_life, &path) : NULL;
	if (s)
		fragml_site_count_fate(s, outlived);
}

static __always_inline struct fragml_glob *fragml_glob_get(__u64 now)
{
	struct fragml_glob *g = fragml_glob_peek();

	if (g && now - g->win_start >= FRAGML_NSEC_PER_SEC) {
		/* one lost window is fine: rates are features, not accounting */
		g->extfrag_prev = now - g->win_start >= 2 * FRAGML_NSEC_PER_SEC ? 0 : g->extfrag_cur;
		g->extfrag_cur = 0;
		g->compact_ok >>= 1;
		g->compact_fail >>= 1;
		g->win_start = now;
	}
	return g;
}

static __always_inline struct fragml_task_state *fragml_task_get(__u32 tgid, __u64 now)
{
	struct fragml_task_state *t = bpf_map_lookup_elem(&fragml_task_state, &tgid);

	if (!t) {
		struct fragml_task_state init = { .win_start = now };

		/* an exiting thread may still allocate after sched_process_exit
		 * dropped its process's entry (newer kernels): do not recreate it */
		if (bpf_get_current_task_btf()->flags & FRAGML_PF_EXITING)
			return NULL;

		bpf_map_update_elem(&fragml_task_state, &tgid, &init, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&fragml_task_state, &tgid);
		if (!t)
			return NULL;
	}
	if (now - t->win_start >= FRAGML_NSEC_PER_SEC) {
		int stale = now - t->win_start >= 2 * FRAGML_NSEC_PER_SEC;

		t->pages_prev = stale ? 0 : t->pages_cur;
		t->thp_prev = stale ? 0 : t->thp_cur;
		t->pages_cur = 0;
		t->thp_cur = 0;
		t->win_start = now;
	}
	return t;
}

/* sched_process_exit of `task`: drop its process's state with its last thread
 * (the tracepoint runs after exit_mm(): that thread allocates no more). */
static __always_inline void fragml_task_exit(struct task_struct *task)
{
	__u32 tgid;

	/* direct loads through the tracepoint's BTF pointer, no probe-read helper */
	if (task->signal->live.counter)
		return;
	tgid = task->tgid;
	bpf_map_delete_elem(&fragml_task_state, &tgid);
}

/* Account `pages` allocated by the process of `t`: fragml_on_alloc() calls this for
 * its huge pages, its fallbacks and its sampled unmovable and reclaimable pages
 * (scaled); order-0 movable pages return before it and are not counted. */
static __always_inline void fragml_note_alloc(struct fragml_task_state *t, __u32 pages, int thp)
{
	if (!t)
		return;
	t->pages_cur += pages;
	if (thp)
		t->thp_cur++;
}

static __always_inline void fragml_note_extfrag(__u64 now)
{
	struct fragml_glob *g = fragml_glob_get(now);

	if (g)
		__sync_fetch_and_add(&g->extfrag_cur, 1);
}

static __always_inline __s32 fragml_extfrag_rate(__u64 now)
{
	return fragml_extfrag_rate_of(fragml_glob_get(now), now);
}

static __always_inline void fragml_note_compaction(__u64 now, int success)
{
	struct fragml_glob *g = fragml_glob_get(now);

	if (!g)
		return;
	if (success)
		g->compact_ok++;
	else
		g->compact_fail++;
}


static __always_inline int fragml_is_kthread(struct task_struct *task)
{
	/* a trusted BTF pointer (current, or a tp_btf argument): a direct load, no helper */
	return !!(task->flags & PF_KTHREAD);
}

/* ---- fault context: user faults recorded per thread ---- */

/*
 * Every user page fault (observe programs and collector alike): remember it
 * for the allocations it makes, and count it for the THP density feature.
 * The thread counts faults in the 2 MB region it is touching; when it moves
 * to another region, the finished one goes to its process's state (one hash
 * lookup per region, not per fault).  A region the thread comes back to
 * counts again: density is of the runs of faults, per region.
 */
static __always_inline void fragml_fault_note(__u64 addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fragml_fault_ctx *c;
	__u64 region = addr >> (12 + FRAGML_HPAGE_ORDER);

	c = bpf_task_storage_get(&fragml_fault_ctx, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return;
	c->jiffies = bpf_jiffies64();
	c->addr = addr;
	if (region != c->region) {
		if (c->touched) {
			struct fragml_task_state *t = fragml_task_get(task->tgid, bpf_ktime_get_ns());

			if (t) {
				t->regions++;
				t->touched += c->touched > 512 ? 512 : c->touched;
			}
		}
		c->region = region;
		c->touched = 0;
	}
	c->touched++;
}

/* Address of the user fault this thread is handling, or 0. */
static __always_inline __u64 fragml_fault_addr(void)
{
	struct fragml_fault_ctx *c = bpf_task_storage_get(&fragml_fault_ctx,
							  bpf_get_current_task_btf(), NULL, 0);

	if (!c || bpf_jiffies64() - c->jiffies > FRAGML_FAULT_CTX_JIFFIES)
		return 0;
	return c->addr;
}

/* ---- allocation class (docs/identification.md) ---- */
/* Class of the innermost stack frame inside a registered site, or -1. */
static __always_inline int fragml_site_lookup(const struct fragml_site_table *tb, __u64 ip)
{
	__u32 lo = 0, hi = tb->n;

	if (hi > FRAGML_MAX_SITES)
		hi = FRAGML_MAX_SITES;
	for (int i = 0; i < 7 && lo < hi; i++) {	/* 2^7 > FRAGML_MAX_SITES */
		__u32 mid = (lo + hi) / 2;
		const struct fragml_site *s = &tb->s[mid & (FRAGML_MAX_SITES - 1)];

		if (ip < s->start)
			hi = mid;
		else if (ip >= s->end)
			lo = mid + 1;
		else
			return s->cls;
	}
	return -1;
}

/*
 * Class of a page allocation.  Movable: anonymous when the thread is inside a
 * user fault, else page cache.  Unmovable/reclaimable: the innermost kernel
 * stack frame inside a registered call site (allocate_slab -> slab,
 * __pte_alloc -> pagetable, ...); without a match: kernel.
 */
struct fragml_walk_ctx {
	const struct fragml_site_table *tb;
	const struct fragml_stack_buf *st;
	long n;
	__u32 cls;
};

/* One frame per bpf_loop iteration: the verifier checks this body once instead
 * of 16 unrolled binary searches (which hit the 1M-instruction limit in the
 * larger programs that include this header). */
static long fragml_walk_frame(__u64 i, void *data)
{
	struct fragml_walk_ctx *w = data;
	int cls;

	if (i >= (__u64)w->n || i >= FRAGML_STACK_DEPTH)
		return 1;
	cls = fragml_site_lookup(w->tb, w->st->ip[i & (FRAGML_STACK_DEPTH - 1)]);
	if (cls >= 0) {
		w->cls = cls;
		return 1;
	}
	return 0;
}

static __always_inline __u32 fragml_alloc_class_walk(void *ctx)
{
	struct fragml_walk_ctx w = { .cls = FRAGML_CLASS_KERNEL };
	struct fragml_stack_buf *st;
	__u32 zero = 0;
	long n;

	w.tb = bpf_map_lookup_elem(&fragml_sites, &zero);
	st = bpf_map_lookup_elem(&fragml_stack_scratch, &zero);
	if (!w.tb || !w.tb->n || !st)
		return FRAGML_CLASS_KERNEL;
	n = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
	if (n <= 0)
		return FRAGML_CLASS_KERNEL;
	w.st = st;
	w.n = n / 8;
	bpf_loop(FRAGML_STACK_DEPTH, fragml_walk_frame, &w, 0);
	return w.cls;
}

/*
 * Class of a page allocation.  Movable: anonymous when the thread is inside a
 * user fault, else page cache.  Unmovable/reclaimable: the innermost kernel
 * stack frame inside a registered call site (fragml_alloc_class_walk), cached
 * per thread by (gfp, order, migratetype) and revalidated on 1 hit in 16.
 * A global function (see fragml_site_id()).
 */
__noinline __u32 fragml_alloc_class(void *ctx __arg_ctx, int migratetype, __u64 fault_addr,
				    __u32 gfp, __u32 order)
{
	struct fragml_cls_cache *cc;
	__u32 key, cls;

	if (migratetype == MIGRATE_MOVABLE)
		return fault_addr ? FRAGML_CLASS_ANON : FRAGML_CLASS_PAGECACHE;
	key = (gfp & FRAGML_GFP_BITS_MASK) | (order & 15) << 24 | (migratetype & 7) << 28 | 1U << 31;
	cc = bpf_task_storage_get(&fragml_cls_cache, bpf_get_current_task_btf(), NULL,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (cc) {
		cc->hits++;
#pragma unroll
		for (int i = 0; i < FRAGML_CLS_SLOTS; i++)
			if (cc->key[i] == key && (cc->hits & 15))
				return cc->cls[i];
	}
	cls = fragml_alloc_class_walk(ctx);
	if (cc) {
		int slot = -1;

#pragma unroll
		for (int i = 0; i < FRAGML_CLS_SLOTS; i++)
			if (cc->key[i] == key)
				slot = i;
		if (slot < 0)
			slot = cc->next++ & (FRAGML_CLS_SLOTS - 1);
		cc->key[slot & (FRAGML_CLS_SLOTS - 1)] = key;
		cc->cls[slot & (FRAGML_CLS_SLOTS - 1)] = cls;
	}
	return cls;
}

/* ---- zone state ---- */

/*
 * Node 0, reached without data ksyms:
 * task -> memory cgroup -> per-node lruvec -> pglist_data.
 */
static __always_inline struct pglist_data *fragml_main_node(__u64 now)
{
	struct fragml_glob *g = fragml_glob_get(now);
	struct task_struct *task;
	struct mem_cgroup *memcg;
	struct mem_cgroup_per_node *pn;
	struct pglist_data *pgdat;
	int id;

	if (g && g->node)
		return (struct pglist_data *)g->node;
	if (!bpf_core_field_exists(struct lruvec, pgdat) ||
	    !bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return NULL;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	task = bpf_get_current_task_btf();
	memcg = (struct mem_cgroup *)BPF_CORE_READ(task, cgroups, subsys[id & 15]);
	if (!memcg)
		return NULL;
	pn = BPF_CORE_READ(memcg, nodeinfo[0]);
	if (!pn)
		return NULL;
	pgdat = BPF_CORE_READ(pn, lruvec.pgdat);
	if (g && pgdat)
		g->node = (__u64)pgdat;
	return pgdat;
}

struct fragml_zone_info {
	__u64 nr_free[FRAGML_NR_ORDERS];
	__u64 free_pages;	/* from the buddy counts */
	__u64 blocks_total;
};

/*
 * nr_free of order `o` of zone `z`.  Not BPF_CORE_READ(z, free_area[o].nr_free):
 * with a variable index CO-RE relocates free_area[0] and adds o times the
 * *build's* sizeof(struct free_area), which differs between kernels with the
 * number of migratetypes (6.18 with CMA and isolation: 104 bytes; the 6.12
 * guest: 72), so every order above 0 read the wrong word on the guest (found
 * by policy.feature_vectors_agree).  The stride is relocated here.
 */
static __always_inline __u64 fragml_nr_free(struct zone *z, int o)
{
	__u32 stride = bpf_core_type_size(struct free_area);
	__u64 off = bpf_core_field_offset(struct zone, free_area) + (__u64)o * stride +
		    bpf_core_field_offset(struct free_area, nr_free);
	__u64 n = 0;

	bpf_probe_read_kernel(&n, sizeof(n), (void *)z + off);
	return n;
}

static __always_inline int fragml_zone_read(struct zone *z, struct fragml_zone_info *zi)
{
	zi->free_pages = 0;
	zi->blocks_total = 0;
	if (!z)
		return -1;
#pragma unroll
	for (int o = 0; o < FRAGML_NR_ORDERS; o++) {
		zi->nr_free[o] = fragml_nr_free(z, o);
		zi->free_pages += zi->nr_free[o] << o;
		zi->blocks_total += zi->nr_free[o];
	}
	return 0;
}

/*
 * The whole node: the buddy counts of every populated zone summed, which is
 * what the THP-fault hook of the patched kernel passes (node_free_pages,
 * node_free_huge), so a model sees the same quantity in observe and enforce
 * mode, and small machines whose memory is all in DMA32 are covered.
 */
static __always_inline int fragml_node_counts(struct pglist_data *pgdat, __u64 *free_pages,
					      __u64 *free_huge)
{
	/* stride and offset relocated too: struct zone differs between kernels */
	__u32 zsize = bpf_core_type_size(struct zone);
	__u32 zoff = bpf_core_field_offset(struct pglist_data, node_zones);
	int nz = zsize ? bpf_core_field_size(struct pglist_data, node_zones) / zsize : 0;
	__u64 free = 0, huge = 0;

	if (!pgdat)
		return -1;
	for (int i = 0; i < 6; i++) {
		struct zone *z = (struct zone *)((void *)pgdat + zoff + (__u64)i * zsize);

		if (i >= nz)
			break;
		if (!BPF_CORE_READ(z, present_pages))
			continue;
#pragma unroll
		for (int o = 0; o < FRAGML_NR_ORDERS; o++) {
			__u64 n = fragml_nr_free(z, o);

			free += n << o;
			if (o >= FRAGML_HPAGE_ORDER)
				huge += n << (o - FRAGML_HPAGE_ORDER);
		}
	}
	*free_pages = free;
	*free_huge = huge;
	return 0;
}

/* The index of zone `z` in its node (ZONE_DMA 0, ZONE_DMA32 1, ...), as the
 * kernel's zone_idx(); 0xff if not found.  Stride relocated, as above. */
static __always_inline __u32 fragml_zone_idx(struct zone *z)
{
	struct pglist_data *pgdat = BPF_CORE_READ(z, zone_pgdat);
	__u32 zsize = bpf_core_type_size(struct zone);
	__u32 zoff = bpf_core_field_offset(struct pglist_data, node_zones);

	for (int i = 0; i < 6; i++)
		if ((void *)pgdat + zoff + (__u64)i * zsize == (void *)z)
			return i;
	return 0xff;
}

/* free order >= 9 blocks, counted in 2 MB units */
static __always_inline __u64 fragml_free_huge(const struct fragml_zone_info *zi)
{
	__u64 n = 0;

#pragma unroll
	for (int o = FRAGML_HPAGE_ORDER; o < FRAGML_NR_ORDERS; o++)
		n += zi->nr_free[o] << (o - FRAGML_HPAGE_ORDER);
	return n;
}

/* Kernel's __fragmentation_index() (per 1000; -1000 when a block is free). */
static __always_inline __s32 fragml_frag_index(const struct fragml_zone_info *zi, int order)
{
	__u64 suitable = 0, requested;

	if (order < 0 || order >= FRAGML_NR_ORDERS || !zi->blocks_total)
		return order < 0 ? FRAGML_MISSING : 0;
#pragma unroll
	for (int o = 0; o < FRAGML_NR_ORDERS; o++)
		if (o >= order)
			suitable += zi->nr_free[o] << (o - order);
	if (suitable)
		return -1000;
	requested = 1ULL << order;
	return 1000 - (__s32)((1000 + zi->free_pages * 1000 / requested) / zi->blocks_total);
}

/* mm_rss_log2's input at every hook the observe side computes it: the
 * resident anonymous pages of the task's process, -1 without an mm (a
 * kernel thread).  MM_ANONPAGES = 1; a percpu_counter since 6.2: its
 * global part is enough.  Direct loads through a trusted task pointer. */
static __always_inline __s64 fragml_task_anon_rss(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	__s64 rss;

	if (!mm)
		return -1;
	rss = mm->rss_stat[1].count;
	return rss > 0 ? rss : 0;
}

/* ---- per-hook feature vectors ---- */

/* Lifetime hook: an allocation that may pin a pageblock, for the ones
 * fragml_on_alloc() samples (every fallback, 1 in 2^track_sample_shift others). */
static __always_inline void fragml_lifetime_features(struct fragml_vec *v, __u64 now,
						     struct fragml_task_state *t, int order,
						     __u32 gfp, int mt, int fallback_mt,
						     int change_owner, __u32 cls, int is_kthread,
						     const struct fragml_site_life *site,
						     const struct fragml_site_life *path,
						     struct task_struct *task)
{
	__s64 rss = is_kthread ? -1 : fragml_task_anon_rss(task);
	__u64 start;

	v->f[FRAGML_F_ORDER] = order;
	v->f[FRAGML_F_MIGRATETYPE] = mt;
	v->f[FRAGML_F_FALLBACK_MT] = fallback_mt;	/* MISSING unless a fallback */
	v->f[FRAGML_F_ALLOC_CLASS] = cls;
	v->f[FRAGML_F_GFP_BITS] = gfp & FRAGML_GFP_BITS_MASK;
	v->f[FRAGML_F_IS_KTHREAD] = is_kthread;
	v->f[FRAGML_F_EXTFRAG_RATE] = fragml_extfrag_rate(now);
	v->f[FRAGML_F_CHANGE_OWNER] = change_owner;	/* MISSING unless a fallback */
	v->f[FRAGML_F_SITE_LONG_PPK] = fragml_site_long_ppk(site);
	v->f[FRAGML_F_PATH_LONG_PPK] = fragml_site_long_ppk(path);
	/* the owner's age and size: a page-table or socket page lives about as
	 * long as the process (the mapping, the connection) it serves; direct
	 * loads through current (start_time: CLOCK_MONOTONIC ns, as `now`) */
	start = is_kthread ? task->start_time : task->group_leader->start_time;
	v->f[FRAGML_F_TASK_AGE_LOG2] = fragml_log2(now > start ? (now - start) / 1000000 : 0);
	if (rss >= 0)
		v->f[FRAGML_F_MM_RSS_LOG2] = fragml_log2(rss);
	if (t) {
		v->f[FRAGML_F_TASK_ALLOC_RATE] = fragml_rate_at(t->pages_prev, t->pages_cur,
								t->win_start, now);
		v->f[FRAGML_F_TASK_LONG_PPK] = fragml_task_long_ppk(t);
	}
}

/* The THP-fault builder's inputs: per CPU, not on the stack, which the
 * allocation programs' frame and the builder's share (512 bytes in all on
 * 6.12, where a tracing program has no private stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_thp_in);
} fragml_thp_scratch SEC(".maps");

struct fragml_vma_info {
	__u64 start, end, flags;
	int found;
};

static long fragml_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct fragml_vma_info *vi = data;

	vi->start = BPF_CORE_READ(vma, vm_start);
	vi->end = BPF_CORE_READ(vma, vm_end);
	vi->flags = BPF_CORE_READ(vma, vm_flags);
	vi->found = 1;
	return 0;
}

#define FRAGML_VM_HUGEPAGE	0x20000000ULL	/* VM_HUGEPAGE, stable */
#define FRAGML_HPAGE_SIZE	(1ULL << (12 + FRAGML_HPAGE_ORDER))

/* THP-fault hook: at a user fault on `addr` (the collector, before the
 * allocation) or at the huge page it allocated (observe, `allocated` set:
 * the node's counts are taken back to before it, where the policy decided).
 * The allocation's gfp is not known at the fault: gfp_bits is an
 * enforce-mode feature of this hook.  A global function (see
 * fragml_site_id()): `v` and `t` may be NULL as far as the verifier knows.
 */
__noinline int fragml_thp_features(struct fragml_vec *v, __u64 now,
				   struct fragml_task_state *t, __u64 addr, int allocated)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fragml_vma_info vi = {};
	struct fragml_thp_in *in;
	__u32 zero = 0;
	__u64 region = addr & ~(FRAGML_HPAGE_SIZE - 1);
	__s64 rss;

	in = bpf_map_lookup_elem(&fragml_thp_scratch, &zero);
	if (!in)
		return 0;
	__builtin_memset(in, 0, sizeof(*in));
	bpf_find_vma(task, addr, fragml_vma_cb, &vi, 0);
	if (vi.found) {
		in->vma_found = 1;
		in->vma_start = vi.start;
		in->vma_end = vi.end;
		in->huge_advised = !!(vi.flags & FRAGML_VM_HUGEPAGE);
		in->region_in_vma = region >= vi.start && region + FRAGML_HPAGE_SIZE <= vi.end;
	}
	rss = fragml_task_anon_rss(task);
	if (rss >= 0) {
		in->anon_rss = rss;
		in->have_rss = 1;
	}
	if (!fragml_node_counts(fragml_main_node(now), &in->node_free_pages, &in->node_free_huge)) {
		/* taking a 2 MB page from an order >= 9 block removes one 2 MB
		 * unit whatever the block's order */
		if (allocated) {
			in->node_free_pages += FRAGML_HPAGE_PAGES;
			in->node_free_huge += 1;
		}
		in->have_node = 1;
	}
	if (v)
		fragml_vec_thp(v, now, in, t, fragml_glob_get(now));
	return 0;
}

/* Compaction hook: at mm_compaction_begin of one zone. */
static __always_inline void fragml_compaction_features(struct fragml_vec *v, __u64 now,
						       struct compact_control *cc, int is_kthread)
{
	struct zone *z = BPF_CORE_READ(cc, zone);
	struct fragml_cmp_in in = { .prio = -1, .defer_shift = -1 };
	struct fragml_zone_info zi;
	int mode = BPF_CORE_READ(cc, mode);	/* enum migrate_mode */

	in.order = BPF_CORE_READ(cc, order);
	in.kthread = is_kthread;
	in.kcompactd = !BPF_CORE_READ(cc, direct_compaction);
	/* enum compact_priority back from what compact_zone_order() derived
	 * from it: ASYNC runs async; SYNC_FULL and SYNC_LIGHT both run
	 * sync-light, SYNC_FULL alone ignoring the skip hints (not whole_zone:
	 * compact_zone() sets that too when its cached scanner is at the
	 * zone's start).  kcompactd's proactive compaction also ignores them;
	 * the policy is asked about it as SYNC_LIGHT. */
	if (mode == MIGRATE_ASYNC)
		in.prio = COMPACT_PRIO_ASYNC;
	else if (mode == MIGRATE_SYNC_LIGHT)
		in.prio = !in.kcompactd && BPF_CORE_READ(cc, ignore_skip_hint) ?
			  COMPACT_PRIO_SYNC_FULL : COMPACT_PRIO_SYNC_LIGHT;
	else if (mode == MIGRATE_SYNC)
		in.prio = COMPACT_PRIO_SYNC_FULL;
	if (bpf_core_field_exists(z->compact_defer_shift))
		in.defer_shift = BPF_CORE_READ(z, compact_defer_shift);
	if (!fragml_zone_read(z, &zi)) {
		in.free_pages = zi.free_pages;
		in.free_huge = fragml_free_huge(&zi);
		in.frag_index = fragml_frag_index(&zi, in.order);
		in.have_zone = 1;
	}
	fragml_vec_compaction(v, now, &in, fragml_glob_get(now));
}

#endif /* FRAGML_FEATURES_BPF_H */
